/**
 * The Scheduler's probes of queues (the poll's "has this queue a New element" and the batch count
 * behind min_batch_size) on live SQLite, PostgreSQL and MariaDB, with statistics that lure a
 * planner away from the (queue_name, status, created_date) index: few queues, one of them a large
 * backlog nobody watches, a watched one with a long history of Done elements and none New. Each
 * probe must answer right and read Queues through that index, in the plan the Scheduler gets (on
 * PostgreSQL the generic plan of a prepared statement), never by scanning the table.
 */
import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../src/db/open.js';
import { bulkCreateQueueElements } from '../src/db/store/queues.js';
import { batchStatement, createTrigger, pollStatement, pollTriggers } from '../src/db/store/triggers.js';
import { LIVE_DIALECTS, type LiveDialect } from './helpers/databases.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const INDEX = 'ix_Queues_queue_name_status_created_date';
const BACKLOG = 40_000;

/** How each access to Queues in a statement's plan reads it: the index it uses, or 'scan'. */
type Access = { how: 'index' | 'scan'; index?: string };

async function queuesAccess(live: TestStore, statement: CompiledQuery): Promise<Access[]> {
  const { store } = live;
  if (store.dialect.name === 'postgres') {
    // The generic plan, which a prepared statement settles on after five runs, plans a
    // parameter without its value: the case the estimates get wrong.
    const client = new pg.Client(live.url);
    await client.connect();
    try {
      const values = statement.parameters.map((v) => (typeof v === 'number' ? String(v) : `'${String(v).replaceAll("'", "''")}'`));
      await client.query(`PREPARE probe AS ${statement.sql}`);
      await client.query('SET plan_cache_mode = force_generic_plan');
      const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) EXECUTE probe${values.length ? `(${values.join(', ')})` : ''}`);
      const found: Access[] = [];
      const walk = (node: Record<string, unknown>) => {
        if (node['Relation Name'] === 'Queues') found.push(/Index/.test(String(node['Node Type'])) ? { how: 'index', index: String(node['Index Name']) } : { how: 'scan' });
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk((rows[0]!['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]!.Plan);
      return found;
    } finally {
      await client.end();
    }
  }
  if (store.dialect.name === 'mysql') {
    const { rows } = await store.db.executeQuery(CompiledQuery.raw(`EXPLAIN ${statement.sql}`, [...statement.parameters]));
    return (rows as { table: string; type: string; key: string | null }[])
      .filter((r) => r.table === 'e')
      .map((r) => (r.type === 'ALL' || r.type === 'index' || !r.key ? { how: 'scan' } : { how: 'index', index: r.key }));
  }
  const { rows } = await store.db.executeQuery(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${statement.sql}`, [...statement.parameters]));
  return (rows as { detail: string }[])
    .map((r) => r.detail)
    .filter((d) => /^(SCAN|SEARCH) e\b/.test(d))
    .map((d) => (d.startsWith('SEARCH') ? { how: 'index', index: /INDEX (\S+)/.exec(d)?.[1] } : { how: 'scan' }));
}

describe.each(LIVE_DIALECTS)('queue probes on %s', (dialect: LiveDialect) => {
  let live: TestStore;
  let store: Store;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    live = await openTestStore(dialect);
    store = live.store;
    // q-0 needs 1, q-1 2, q-2 3 New elements, and so on.
    for (let i = 0; i < 6; i++) {
      ids[`q-${i}`] = await createTrigger(store, { type: 'QUEUE', triggerName: `t-${i}`, processName: `p-${i}`, processPath: 'p.py', queueName: `q-${i}`, minBatchSize: 1 + (i % 3) });
    }
    const many = Array.from({ length: BACKLOG }, (_, n) => ({ reference: `r-${n}` }));
    await bulkCreateQueueElements(store, 'backlog', many);
    await bulkCreateQueueElements(store, 'q-0', many);
    await store.db.updateTable('Queues').set({ status: 'DONE' }).where('queue_name', '=', 'q-0').execute();
    await bulkCreateQueueElements(store, 'q-1', [{ reference: 'a' }, { reference: 'b' }]);
    await bulkCreateQueueElements(store, 'q-2', [{ reference: 'a' }, { reference: 'b' }]);
    if (dialect === 'postgres') await sql`VACUUM ANALYZE "Queues"`.execute(store.db);
    else if (dialect === 'mysql') await sql`ANALYZE TABLE \`Queues\``.execute(store.db);
    else await sql`ANALYZE`.execute(store.db);
  }, 120_000);
  afterAll(() => live?.close());

  it('the poll finds exactly the queue triggers whose batch is there (q-1: 2 of 2; not q-0: Done only; not q-2: 2 of 3)', async () => {
    const { due } = await pollTriggers(store, new Date());
    expect(due.map((t) => t.id)).toEqual([ids['q-1']]);
  });

  it('the poll reads Queues only through the (queue_name, status, created_date) index', async () => {
    const access = await queuesAccess(live, pollStatement(store, new Date()));
    expect(access.length, 'accesses to Queues in the plan').toBeGreaterThan(0);
    expect(access).toEqual(access.map(() => ({ how: 'index', index: INDEX })));
  });

  it.each(['q-0', 'q-2', 'backlog'])('the batch count of %s reads Queues only through that index', async (queue) => {
    const access = await queuesAccess(live, batchStatement(store, queue, 3));
    expect(access.length, 'accesses to Queues in the plan').toBeGreaterThan(0);
    expect(access).toEqual(access.map(() => ({ how: 'index', index: INDEX })));
  });
});
