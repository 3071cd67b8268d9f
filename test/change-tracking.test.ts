/**
 * Change tracking (oo-014): database triggers count every change that can make a queue trigger
 * due, whoever writes it, so an idle poll reads one sum instead of probing every queue; an
 * element inserted with plain SQL (as the Python client writes it) is still seen by the next
 * poll, and starts its trigger within one poll. The same assertions on every live dialect.
 */
import { join } from 'node:path';
import { sql, type CompiledQuery } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../src/db/dialects/encoding.js';
import type { Store } from '../src/db/open.js';
import { checkSchema, checkSchemaInUse, upgradeDatabase } from '../src/db/schema/upgrade.js';
import { createQueueElement, setQueueElementStatus } from '../src/db/store/queues.js';
import { claimTrigger, createTrigger, getTrigger, pollTriggers, type QueueWatch } from '../src/db/store/triggers.js';
import { LIVE_DIALECTS } from './helpers/databases.js';
import { readEvents, resetTables, ROBOTS, startScheduler, tempDir, waitFor } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const ROBOT_MJS = join(ROBOTS, 'robot.mjs');
/** The Scheduler's poll in the end-to-end test: a start must come within one of these. */
const POLL_SECONDS = 3;
/** What a loaded 2-core machine may add to a start (process spawn, node start-up). */
const SLACK_MS = 4000;

/** The store, recording the text of every statement its polls send. */
function recording(store: Store): { store: Store; statements: string[] } {
  const statements: string[] = [];
  const db = new Proxy(store.db, {
    get(target, property, receiver) {
      if (property === 'executeQuery') {
        return (query: CompiledQuery) => {
          statements.push(query.sql);
          return target.executeQuery(query);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: { ...store, db }, statements };
}

/** An element inserted as the Python client's create_queue_element inserts it: one plain INSERT of every column, no notification. */
async function insertLikePython(store: Store, queueName: string, reference: string): Promise<void> {
  const { db, dialect } = store;
  const q = (name: string) => sql.id(name);
  await sql`INSERT INTO ${sql.table('Queues')} (${q('id')}, ${q('queue_name')}, ${q('status')}, ${q('data')}, ${q('reference')}, ${q('created_date')}, ${q('start_date')}, ${q('end_date')}, ${q('message')}, ${q('created_by')})
    VALUES (${dialect.encodeUuid(newId())}, ${queueName}, ${'NEW'}, ${null}, ${reference}, ${dialect.encodeDate(new Date())}, ${null}, ${null}, ${null}, ${null})`.execute(db);
}

const mentionsQueues = (text: string) => /\bQueues\b/.test(text);

describe.each(LIVE_DIALECTS)('change tracking on %s', (dialect) => {
  let live: TestStore;
  beforeAll(async () => {
    live = await openTestStore(dialect);
  });
  afterAll(() => live?.close());
  beforeEach(() => resetTables(live.store));

  it('an idle poll is one statement that probes no queue, however many queue triggers there are', async () => {
    const { store } = live;
    for (let i = 0; i < 30; i++) {
      const queueName = `history-${i}`;
      await createTrigger(store, { type: 'QUEUE', triggerName: `q-${i}`, processName: 'p', processPath: ROBOT_MJS, queueName });
      const element = await createQueueElement(store, queueName, { reference: 'done' });
      await setQueueElementStatus(store, element.id, 'DONE');
    }
    const watch: QueueWatch = {};
    const { store: watched, statements } = recording(store);
    expect((await pollTriggers(watched, new Date(), new Date(), undefined, watch)).due).toEqual([]);
    // The first poll probes every queue trigger once (and learns the counters' sum).
    expect(statements.some(mentionsQueues)).toBe(true);
    for (let tick = 0; tick < 3; tick++) {
      statements.length = 0;
      expect((await pollTriggers(watched, new Date(), new Date(), undefined, watch)).due).toEqual([]);
      expect(statements).toHaveLength(1);
      expect(statements.filter(mentionsQueues)).toEqual([]);
    }
  });

  it('sees, at the next poll, an element inserted with plain SQL, a trigger set back to Idle and an element set back to New', async () => {
    const { store } = live;
    const queueName = `plain-${newId()}`;
    const id = await createTrigger(store, { type: 'QUEUE', triggerName: 'consumer', processName: 'p', processPath: ROBOT_MJS, queueName });
    const watch: QueueWatch = {};
    const poll = async () => (await pollTriggers(store, new Date(), new Date(), undefined, watch)).due.map((t) => t.triggerName);
    expect(await poll()).toEqual([]);
    expect(await poll()).toEqual([]);

    await insertLikePython(store, queueName, 'python');
    expect(await poll()).toEqual(['consumer']);
    expect(await claimTrigger(store, { id, type: 'QUEUE', queueName, minBatchSize: 1 })).toBe(true);
    expect(await poll()).toEqual([]);

    // The robot takes the element, and its run ends; both in plain SQL.
    const { db, dialect } = store;
    await sql`UPDATE ${sql.table('Queues')} SET ${sql.id('status')} = ${'IN_PROGRESS'} WHERE ${sql.id('queue_name')} = ${queueName}`.execute(db);
    await sql`UPDATE ${sql.table('Triggers')} SET ${sql.id('process_status')} = ${'IDLE'} WHERE ${sql.id('id')} = ${dialect.encodeUuid(id)}`.execute(db);
    expect(await poll()).toEqual([]);
    expect(await poll()).toEqual([]);

    // An element set back to New (a retry) makes the trigger due again.
    await sql`UPDATE ${sql.table('Queues')} SET ${sql.id('status')} = ${'NEW'} WHERE ${sql.id('queue_name')} = ${queueName}`.execute(db);
    expect(await poll()).toEqual(['consumer']);
    // Still due (not started by anyone): the next poll probes again and still finds it.
    expect(await poll()).toEqual(['consumer']);
  });

  it('a queue trigger left Idle with New elements (blocked here) is found again by every poll until it starts', async () => {
    const { store } = live;
    const queueName = `waiting-${newId()}`;
    await createTrigger(store, { type: 'QUEUE', triggerName: 'waiting', processName: 'p', processPath: ROBOT_MJS, queueName });
    await createQueueElement(store, queueName, { reference: 'one' });
    const watch: QueueWatch = {};
    for (let tick = 0; tick < 3; tick++) expect((await pollTriggers(store, new Date(), new Date(), undefined, watch)).due.map((t) => t.triggerName)).toEqual(['waiting']);
  });

  it('the schema check reports missing tracking triggers, and upgrade puts them back', async () => {
    const { store } = live;
    const drop = dialect === 'postgres' ? 'DROP TRIGGER oo_track_queues_insert ON "Queues"' : 'DROP TRIGGER oo_track_queues_insert';
    await sql.raw(drop).execute(store.db);
    for (const check of [await checkSchema(store.db, store.dialect), await checkSchemaInUse(store.db, store.dialect)]) {
      expect(check).toMatchObject({ current: false, firstStep: 'create change-tracking triggers (missing: oo_track_queues_insert)' });
    }
    const result = await upgradeDatabase(store.db, store.dialect);
    expect(result.steps).toEqual(['create change-tracking triggers (missing: oo_track_queues_insert)']);
    expect((await checkSchema(store.db, store.dialect)).current).toBe(true);
    // And it counts again.
    const queueName = `back-${newId()}`;
    await createTrigger(store, { type: 'QUEUE', triggerName: 'back', processName: 'p', processPath: ROBOT_MJS, queueName });
    const watch: QueueWatch = {};
    await pollTriggers(store, new Date(), new Date(), undefined, watch);
    await insertLikePython(store, queueName, 'again');
    expect((await pollTriggers(store, new Date(), new Date(), undefined, watch)).due.map((t) => t.triggerName)).toEqual(['back']);
  });

  it('a Scheduler starts the queue trigger of an element inserted with plain SQL within one poll', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const queueName = `e2e-${newId()}`;
    const id = await createTrigger(store, { type: 'QUEUE', triggerName: 'e2e', processName: 'e2e', processPath: ROBOT_MJS, processArgs: JSON.stringify({ file }), isBlocking: false, queueName, minBatchSize: 1 });
    const s = startScheduler({ connectionString: url, intervalSeconds: POLL_SECONDS });
    try {
      // Settled: the first polls have probed the queue and found nothing.
      await waitFor('the heartbeat', async () => (await store.db.selectFrom('Schedulers').select('machine_name').execute()).length > 0);
      const added = Date.now();
      await insertLikePython(store, queueName, 'e2e');
      const started = await waitFor('the robot to start', () => readEvents(file).find((e) => e.name === 'e2e' && e.event === 'start')?.time, POLL_SECONDS * 1000 + SLACK_MS * 3);
      expect(started - added).toBeLessThan(POLL_SECONDS * 1000 + SLACK_MS);
      expect((await getTrigger(store, id)).lastRun).not.toBeNull();
    } finally {
      await s.stop();
    }
  });
});
