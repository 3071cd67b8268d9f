/**
 * Change tracking (oo-014, oo-016, oo-017): database triggers count every change that can make a trigger
 * due, whoever writes it, so an idle poll reads one sum instead of the trigger tables and every
 * queue; an element, a trigger or a next run written with plain SQL (as the Python tools write
 * them) is still seen by the next poll, a timed trigger falling due with no write at all is
 * found in time, and an element starts its trigger within one poll. The same assertions on every
 * live dialect.
 */
import { join } from 'node:path';
import { sql, type CompiledQuery } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SLOT_KEY, TRACKING_SLOTS } from '../src/db/dialects/change-tracking.js';
import { newId } from '../src/db/dialects/encoding.js';
import type { Store } from '../src/db/open.js';
import { checkSchema, checkSchemaInUse, upgradeDatabase } from '../src/db/schema/upgrade.js';
import { createQueueElement, setQueueElementStatus } from '../src/db/store/queues.js';
import { listSchedulers } from '../src/db/store/schedulers.js';
import { claimTrigger, createTrigger, getTrigger, pollTriggers, type ChangeWatch } from '../src/db/store/triggers.js';
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
const mentionsTriggerTables = (text: string) => /\b(Triggers|Single_Triggers|Scheduled_Triggers|Queue_Triggers|oo_run_requests)\b/.test(text);
const inHours = (hours: number) => new Date(Date.now() + hours * 3_600_000);
const DELETE_PER_QUEUE = 'delete the per-queue change counters (counted per connection now)';

/** The schema check names `steps[0]` first and upgrade runs exactly `steps`; upgraded again whatever happened, so later tests (and files) find the whole tracking. */
async function expectUpgrade(store: Store, steps: string[]): Promise<void> {
  expect(await checkSchema(store.db, store.dialect)).toMatchObject({ current: false, firstStep: steps[0] });
  try {
    expect((await upgradeDatabase(store.db, store.dialect)).steps).toEqual(steps);
  } finally {
    await upgradeDatabase(store.db, store.dialect);
  }
}

describe.each(LIVE_DIALECTS)('change tracking on %s', (dialect) => {
  let live: TestStore;
  beforeAll(async () => {
    live = await openTestStore(dialect);
  });
  afterAll(() => live?.close());
  beforeEach(() => resetTables(live.store));

  it('an idle poll is one statement that reads only the change counters, however many triggers there are', async () => {
    const { store } = live;
    for (let i = 0; i < 10; i++) {
      await createTrigger(store, { type: 'SCHEDULED', triggerName: `s-${i}`, processName: 'p', processPath: ROBOT_MJS, cronExpr: '0 3 * * *', nextRun: inHours(3 + i) });
      await createTrigger(store, { type: 'SINGLE', triggerName: `o-${i}`, processName: 'p', processPath: ROBOT_MJS, nextRun: inHours(2 + i) });
    }
    for (let i = 0; i < 30; i++) {
      const queueName = `history-${i}`;
      await createTrigger(store, { type: 'QUEUE', triggerName: `q-${i}`, processName: 'p', processPath: ROBOT_MJS, queueName });
      const element = await createQueueElement(store, queueName, { reference: 'done' });
      await setQueueElementStatus(store, element.id, 'DONE');
    }
    const watch: ChangeWatch = {};
    const { store: watched, statements } = recording(store);
    expect((await pollTriggers(watched, new Date(), new Date(), undefined, watch)).due).toEqual([]);
    // The first poll probes every queue trigger once (and learns the counters' sum).
    expect(statements.some(mentionsQueues)).toBe(true);
    for (let tick = 0; tick < 3; tick++) {
      statements.length = 0;
      expect((await pollTriggers(watched, new Date(), new Date(), undefined, watch)).due).toEqual([]);
      expect(statements).toHaveLength(1);
      expect(statements.filter(mentionsQueues)).toEqual([]);
      expect(statements.filter(mentionsTriggerTables)).toEqual([]);
    }
  });

  it('keeps at most one counter row per connection slot, however many queues are written: the sum moves by one per tracked write', async () => {
    const { store } = live;
    const counters = () => store.db.selectFrom('oo_queue_changes').select(['queue_name', 'slot', 'changes']).execute();
    const sum = async () => (await counters()).reduce((total, row) => total + Number(row.changes), 0);
    const before = await sum();
    for (let i = 0; i < 40; i++) await insertLikePython(store, `many-${i}`, 'one');
    const rows = await counters();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(store.dialect.name === 'sqlite' ? 1 : TRACKING_SLOTS);
    expect(rows.filter((row) => row.queue_name !== SLOT_KEY)).toEqual([]);
    expect(await sum()).toBe(before + 40);
  });

  it('an idle tick that beats lands its heartbeat without reading the trigger tables (in its one statement on PostgreSQL)', async () => {
    const { store } = live;
    const carries = store.dialect.carryHeartbeat(sql`SELECT 1`, 'PC-QUIET', store.dialect.encodeDate(new Date())) !== undefined;
    expect(carries).toBe(store.dialect.name === 'postgres');
    const beatAt = async () => (await listSchedulers(store)).find((row) => row.machineName === 'PC-QUIET')?.lastUpdate.getTime() ?? 0;
    const watch: ChangeWatch = {};
    // The first poll reads the trigger tables; its beat inserts the row.
    await pollTriggers(store, new Date(), new Date(), 'PC-QUIET', watch);
    let last = await beatAt();
    expect(last).toBeGreaterThan(0);
    const { store: watched, statements } = recording(store);
    for (let tick = 0; tick < 3; tick++) {
      await waitFor('the clock to pass the last beat', () => Date.now() > last + 2);
      statements.length = 0;
      expect((await pollTriggers(watched, new Date(), new Date(), 'PC-QUIET', watch)).due).toEqual([]);
      expect(statements).toHaveLength(carries ? 1 : 2);
      expect(statements.filter(mentionsTriggerTables)).toEqual([]);
      const now = await beatAt();
      expect(now).toBeGreaterThan(last);
      last = now;
    }
  });

  it('sees, at the next poll, a timed trigger written with plain SQL: created, its next run moved, enabled again', async () => {
    const { store } = live;
    const { db, dialect } = store;
    const idle = await createTrigger(store, { type: 'SINGLE', triggerName: 'later', processName: 'p', processPath: ROBOT_MJS, nextRun: inHours(5) });
    const watch: ChangeWatch = {};
    const poll = async () => (await pollTriggers(store, new Date(), new Date(), undefined, watch)).due.map((t) => t.triggerName).sort();
    expect(await poll()).toEqual([]);
    expect(await poll()).toEqual([]);

    // Its next run moved to a minute ago, as the Python Orchestrator's edit writes it.
    const past = dialect.encodeDate(new Date(Date.now() - 60_000));
    await sql`UPDATE ${sql.table('Single_Triggers')} SET ${sql.id('next_run')} = ${past} WHERE ${sql.id('id')} = ${dialect.encodeUuid(idle)}`.execute(db);
    expect(await poll()).toEqual(['later']);
    await sql`UPDATE ${sql.table('Triggers')} SET ${sql.id('process_status')} = ${'PAUSED'} WHERE ${sql.id('id')} = ${dialect.encodeUuid(idle)}`.execute(db);
    expect(await poll()).toEqual([]);
    expect(await poll()).toEqual([]);

    // A trigger created as the Python Orchestrator creates one: its Triggers row, then its Single_Triggers row.
    const id = newId();
    await sql`INSERT INTO ${sql.table('Triggers')} (${sql.id('id')}, ${sql.id('trigger_name')}, ${sql.id('process_name')}, ${sql.id('process_path')}, ${sql.id('process_status')}, ${sql.id('type')}, ${sql.id('is_git_repo')}, ${sql.id('is_blocking')}, ${sql.id('priority')})
      VALUES (${dialect.encodeUuid(id)}, ${'python'}, ${'p'}, ${ROBOT_MJS}, ${'IDLE'}, ${'SINGLE'}, ${0}, ${0}, ${0})`.execute(db);
    expect(await poll()).toEqual([]);
    await sql`INSERT INTO ${sql.table('Single_Triggers')} (${sql.id('id')}, ${sql.id('next_run')}) VALUES (${dialect.encodeUuid(id)}, ${past})`.execute(db);
    expect(await poll()).toEqual(['python']);

    // Enabled again (paused -> Idle), its next run long past: due at the next poll.
    await sql`DELETE FROM ${sql.table('Single_Triggers')} WHERE ${sql.id('id')} = ${dialect.encodeUuid(id)}`.execute(db);
    await sql`DELETE FROM ${sql.table('Triggers')} WHERE ${sql.id('id')} = ${dialect.encodeUuid(id)}`.execute(db);
    expect(await poll()).toEqual([]);
    expect(await poll()).toEqual([]);
    await sql`UPDATE ${sql.table('Triggers')} SET ${sql.id('process_status')} = ${'IDLE'} WHERE ${sql.id('id')} = ${dialect.encodeUuid(idle)}`.execute(db);
    expect(await poll()).toEqual(['later']);
  });

  it('a timed trigger that falls due with no write at all is read in time: by the poll whose horizon reaches its next run', async () => {
    const { store } = live;
    const start = Date.now();
    const nextRun = new Date(start + 60_000);
    await createTrigger(store, { type: 'SINGLE', triggerName: 'soon', processName: 'p', processPath: ROBOT_MJS, nextRun });
    await createTrigger(store, { type: 'SCHEDULED', triggerName: 'nightly', processName: 'p', processPath: ROBOT_MJS, cronExpr: '0 3 * * *', nextRun: inHours(6) });
    const watch: ChangeWatch = {};
    const { store: watched, statements } = recording(store);
    // Polls as a Scheduler's clock would run them (every 6 s, looking 6 s ahead), without waiting.
    const pollAt = (ms: number) => pollTriggers(watched, new Date(start + ms), new Date(start + ms + 6_000), undefined, watch);
    expect(await pollAt(0)).toEqual({ due: [] });
    for (const ms of [6_000, 12_000, 48_000]) {
      statements.length = 0;
      expect(await pollAt(ms)).toEqual({ due: [] });
      expect(statements.filter(mentionsTriggerTables)).toEqual([]);
    }
    // 54 s: the next run falls within this poll's horizon: the tables are read and the timer armed.
    statements.length = 0;
    expect((await pollAt(54_000)).nextTimedRun).toEqual(store.dialect.roundDate(nextRun));
    expect(statements.filter(mentionsTriggerTables)).toHaveLength(1);
    expect((await pollAt(60_000)).due.map((t) => t.triggerName)).toEqual(['soon']);
  });

  it('sees, at the next poll, an element inserted with plain SQL, a trigger set back to Idle and an element set back to New', async () => {
    const { store } = live;
    const queueName = `plain-${newId()}`;
    const id = await createTrigger(store, { type: 'QUEUE', triggerName: 'consumer', processName: 'p', processPath: ROBOT_MJS, queueName });
    const watch: ChangeWatch = {};
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
    const watch: ChangeWatch = {};
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
    const watch: ChangeWatch = {};
    await pollTriggers(store, new Date(), new Date(), undefined, watch);
    await insertLikePython(store, queueName, 'again');
    expect((await pollTriggers(store, new Date(), new Date(), undefined, watch)).due.map((t) => t.triggerName)).toEqual(['back']);
  });

  it('upgrade from oo-015 remakes the tracking so timed triggers count (oo-016-timed-tracking)', async () => {
    const { store } = live;
    const { db, dialect } = store;
    // The database as oo-014 left it: no counting of the timed tables (PostgreSQL: notify-only triggers there).
    for (const name of ['oo_track_single_triggers_insert', 'oo_track_single_triggers_update', 'oo_track_scheduled_triggers_insert', 'oo_track_scheduled_triggers_update']) {
      const table = name.includes('single') ? 'Single_Triggers' : 'Scheduled_Triggers';
      await sql.raw(dialect.name === 'postgres' ? `DROP TRIGGER ${name} ON "${table}"` : `DROP TRIGGER ${name}`).execute(db);
    }
    if (dialect.name === 'postgres') {
      await sql.raw('CREATE TRIGGER oo_track_single_triggers AFTER INSERT OR UPDATE ON "Single_Triggers" FOR EACH ROW EXECUTE FUNCTION oo_track_timed_trigger()').execute(db);
      await sql.raw('CREATE TRIGGER oo_track_scheduled_triggers AFTER INSERT OR UPDATE ON "Scheduled_Triggers" FOR EACH ROW EXECUTE FUNCTION oo_track_timed_trigger()').execute(db);
    }
    await sql`DELETE FROM oo_migrations WHERE name IN (${'oo-016-timed-tracking'}, ${'oo-017-slot-counters'})`.execute(db);
    await expectUpgrade(store, ['remake change-tracking triggers (changes to single and scheduled triggers counted too, one counter per connection)', DELETE_PER_QUEUE]);
    const present = [...((await store.dialect.listTriggers(db)) ?? [])].map((name) => name.toLowerCase());
    expect(store.dialect.trackingTriggers.filter((name) => !present.includes(name))).toEqual([]);
    expect(present.filter((name) => ['oo_track_single_triggers', 'oo_track_scheduled_triggers'].includes(name))).toEqual([]);
    // And a next run moved by plain SQL is seen by the next poll.
    const id = await createTrigger(store, { type: 'SINGLE', triggerName: 'moved', processName: 'p', processPath: ROBOT_MJS, nextRun: inHours(4) });
    const watch: ChangeWatch = {};
    await pollTriggers(store, new Date(), new Date(), undefined, watch);
    await sql`UPDATE ${sql.table('Single_Triggers')} SET ${sql.id('next_run')} = ${dialect.encodeDate(new Date(Date.now() - 1000))} WHERE ${sql.id('id')} = ${dialect.encodeUuid(id)}`.execute(db);
    expect((await pollTriggers(store, new Date(), new Date(), undefined, watch)).due.map((t) => t.triggerName)).toEqual(['moved']);
  });

  it('upgrade from oo-016 counts per connection and deletes the per-queue counters (oo-017-slot-counters); a plain insert is still seen', async () => {
    const { store } = live;
    const { db } = store;
    const queueName = `after-${newId()}`;
    await createTrigger(store, { type: 'QUEUE', triggerName: 'after', processName: 'p', processPath: ROBOT_MJS, queueName });
    // oo-014's rows: one per queue and slot.
    await db.insertInto('oo_queue_changes').values([{ queue_name: queueName, slot: 0, changes: 5 }, { queue_name: 'other', slot: 3, changes: 9 }]).execute();
    await sql`DELETE FROM oo_migrations WHERE name = ${'oo-017-slot-counters'}`.execute(db);
    await expectUpgrade(store, ['remake change-tracking triggers (one counter per connection, not per queue)', DELETE_PER_QUEUE]);
    expect(await checkSchema(db, store.dialect)).toMatchObject({ current: true });
    expect((await db.selectFrom('oo_queue_changes').select('queue_name').execute()).filter((row) => row.queue_name !== SLOT_KEY)).toEqual([]);
    const watch: ChangeWatch = {};
    await pollTriggers(store, new Date(), new Date(), undefined, watch);
    await insertLikePython(store, queueName, 'after');
    expect((await pollTriggers(store, new Date(), new Date(), undefined, watch)).due.map((t) => t.triggerName)).toEqual(['after']);
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
