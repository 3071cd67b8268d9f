/**
 * Statements marked by `prepared` (the Scheduler's tick, the heartbeat) are prepared once per
 * connection, follow schema changes, and are never named through a pooler in transaction mode.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepared } from '../src/db/dialects/prepared.js';
import { closeStore, openStore, type Store } from '../src/db/open.js';
import { LIVE_DIALECTS } from './helpers/databases.js';
import { openPooledPostgres, type PooledPostgres } from './helpers/pgbouncer.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

/** A marked statement whose text is the same on every run. */
const readConstants = (store: Store) => store.db.executeQuery(prepared(store.db.selectFrom('Constants').selectAll().where('name', '>=', 'a').orderBy('name')));

/** How many times this connection's server prepared a statement (undefined where there is no server). */
async function serverPrepares(store: Store): Promise<number | undefined> {
  if (store.dialect.name === 'postgres') {
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE '%"Constants"%'`.execute(store.db);
    return Number(rows[0]!.n);
  }
  if (store.dialect.name === 'mysql') {
    const { rows } = await sql<{ Value: string }>`SHOW SESSION STATUS LIKE 'Com_stmt_prepare'`.execute(store.db);
    return Number(rows[0]!.Value);
  }
  return undefined;
}

describe.each(LIVE_DIALECTS)('prepared statements on %s', (dialect) => {
  let live: TestStore;
  let store: Store;
  beforeAll(async () => {
    live = await openTestStore(dialect);
    // Statements one after another reuse one pooled connection: the same server session.
    store = openStore(live.url);
    await store.db.insertInto('Constants').values({ name: 'alpha', value: '1', changed_at: store.dialect.encodeDate(new Date()) }).execute();
  });
  afterAll(async () => {
    await closeStore(store);
    await live?.close();
  });

  it('prepares a marked statement once per connection and answers right every time', async () => {
    const before = await serverPrepares(store);
    for (let i = 0; i < 5; i++) expect((await readConstants(store)).rows.map((row) => row.name)).toEqual(['alpha']);
    const after = await serverPrepares(store);
    if (before !== undefined && after !== undefined) {
      // PostgreSQL counts the named statements the session holds; MariaDB its prepares.
      expect(after - (dialect === 'postgres' ? 0 : before)).toBe(1);
    }
  });

  it('follows a column added while the statement is prepared, without an error', async () => {
    await readConstants(store);
    await sql`ALTER TABLE ${sql.table('Constants')} ADD ${sql.ref('note')} VARCHAR(20)`.execute(live.store.db);
    await live.store.db
      .updateTable('Constants')
      .set({ note: 'added' } as never)
      .execute();
    const { rows } = await readConstants(store);
    expect(rows).toHaveLength(1);
    expect((rows[0] as Record<string, unknown>).note).toBe('added');
    expect((await readConstants(store)).rows).toHaveLength(1);
  });
});

describe('prepared statements through PgBouncer in transaction mode', () => {
  let pooled: PooledPostgres;
  beforeAll(async () => {
    pooled = await openPooledPostgres();
  });
  afterAll(() => pooled?.close());

  it('are not named (the next transaction may meet another server connection), and every run answers', async () => {
    // More clients than the pooler's 5 server connections, inside transactions (where a missing
    // statement cannot be retried): a named statement would meet a server that never parsed it.
    const stores = Array.from({ length: 12 }, () => openStore(pooled.bouncer.url));
    try {
      await Promise.all(
        stores.map(async (store) => {
          for (let i = 0; i < 25; i++) {
            const rows = await store.db.transaction().execute(async (trx) => (await readConstants({ ...store, db: trx })).rows);
            expect(rows).toEqual([]);
          }
        }),
      );
    } finally {
      await Promise.all(stores.map((store) => closeStore(store)));
    }
  });
});
