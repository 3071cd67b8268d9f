/**
 * The store per domain, beyond what the robot API reaches: triggers and their claims, the
 * Scheduler's due list, heartbeats, jobs, queue summaries, constants and credentials. The same
 * assertions run on every live dialect.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeStore, openStore, type Store } from '../src/db/open.js';
import { generateKey } from '../src/crypto/fernet.js';
import { nextRun } from '../src/cron/cron.js';
import { InputError, NotFoundError } from '../src/errors.js';
import { createConstant, deleteConstant, getConstant, listConstants } from '../src/db/store/constants.js';
import { createCredential, deleteCredential, estimatePlainLength, getCredential, listCredentials } from '../src/db/store/credentials.js';
import { endJob, getJob, listJobs, startJob } from '../src/db/store/jobs.js';
import { createLog, listLogs } from '../src/db/store/logs.js';
import { bulkCreateQueueElements, countNewElements, createQueueElement, getNextQueueElement, listQueues, setQueueElementStatus, splitIntoStatements } from '../src/db/store/queues.js';
import { heartbeat, listSchedulers, recordLatestTrigger } from '../src/db/store/schedulers.js';
import {
  createTrigger,
  deleteTrigger,
  getTrigger,
  getTriggerByName,
  claimTrigger,
  listDueTriggers,
  listTriggers,
  pollTriggers,
  setNextRun,
  setTriggerStatus,
  transitionTriggerStatus,
  updateTrigger,
  type NewTrigger,
} from '../src/db/store/triggers.js';
import { listRunRequests, requestRun, runTriggerNow } from '../src/db/store/run-requests.js';
import { setClock } from '../src/time/clock.js';
import { SUITE_DIALECTS } from './helpers/databases.js';
import { reportMssqlNotRun } from './helpers/mssql.js';
import { countRows, openTestStore, type TestStore } from './helpers/stores.js';

const KEY = generateKey();
/** The smallest step every dialect keeps apart: 3 ticks of SQL Server's DATETIME (1/300 s). */
const TICK = 10;

reportMssqlNotRun('store');

describe.each(SUITE_DIALECTS)('store on %s', (dialect) => {
  let live: TestStore;
  let store: Store;
  let restoreClock: (() => void) | undefined;

  beforeAll(async () => {
    live = await openTestStore(dialect);
    store = live.store;
  });
  afterAll(async () => {
    await live?.close();
  });
  afterEach(() => {
    restoreClock?.();
    restoreClock = undefined;
  });

  /** `date` as this database keeps a time (SQL Server's DATETIME: 1/300 s), which is what reads return. */
  const kept = (date: Date): Date => store.dialect.roundDate(date);

  function freezeAt(date: Date): void {
    restoreClock?.();
    restoreClock = setClock(() => new Date(date));
  }

  /** The raw Triggers row and its sub-table row, as the Python side would read them. */
  async function rawTrigger(id: string) {
    const encoded = store.dialect.encodeUuid(id);
    const base = await store.db.selectFrom('Triggers').selectAll().where('id', '=', encoded).executeTakeFirst();
    const single = await store.db.selectFrom('Single_Triggers').selectAll().where('id', '=', encoded).executeTakeFirst();
    const scheduled = await store.db.selectFrom('Scheduled_Triggers').selectAll().where('id', '=', encoded).executeTakeFirst();
    const queue = await store.db.selectFrom('Queue_Triggers').selectAll().where('id', '=', encoded).executeTakeFirst();
    return { base, single, scheduled, queue };
  }

  describe('triggers', () => {
    it('creates a single trigger with every field', async () => {
      const runAt = new Date(2031, 2, 4, 5, 6, 7, 89);
      const id = await createTrigger(store, {
        type: 'SINGLE',
        triggerName: 'single-all',
        processName: 'Invoices',
        processPath: 'https://git.example/robots/invoices.git',
        processArgs: '{"mode": "full"}',
        isGitRepo: true,
        gitBranch: 'release',
        isBlocking: false,
        schedulerWhitelist: ['PC1', 'PC2'],
        priority: 7,
        nextRun: runAt,
      });
      expect(await getTrigger(store, id)).toEqual({
        id,
        type: 'SINGLE',
        triggerName: 'single-all',
        processName: 'Invoices',
        lastRun: null,
        processPath: 'https://git.example/robots/invoices.git',
        processArgs: '{"mode": "full"}',
        status: 'IDLE',
        isGitRepo: true,
        gitBranch: 'release',
        isBlocking: false,
        schedulerWhitelist: ['PC1', 'PC2'],
        priority: 7,
        nextRun: runAt,
      });
      const raw = await rawTrigger(id);
      expect(raw.base).toMatchObject({ type: 'SINGLE', process_status: 'IDLE', scheduler_whitelist: '["PC1", "PC2"]', priority: 7 });
      expect(Number(raw.base?.is_git_repo)).toBe(1);
      expect(Number(raw.base?.is_blocking)).toBe(0);
      expect(store.dialect.decodeDate(raw.single?.next_run).getTime()).toBe(kept(runAt).getTime());
      expect(raw.scheduled).toBeUndefined();
      expect(raw.queue).toBeUndefined();
    });

    it('creates a scheduled trigger, computing the next run from the cron expression', async () => {
      const at = new Date(2031, 0, 1, 10, 17, 30, 500);
      freezeAt(at);
      const id = await createTrigger(store, {
        type: 'SCHEDULED',
        triggerName: 'scheduled-all',
        processName: 'Reports',
        processPath: 'C:\\robots\\reports.py',
        cronExpr: '*/15 8-17 * * 1-5',
      });
      const trigger = await getTrigger(store, id);
      expect(trigger).toMatchObject({
        type: 'SCHEDULED',
        cronExpr: '*/15 8-17 * * 1-5',
        processArgs: null,
        isGitRepo: false,
        gitBranch: null,
        isBlocking: true,
        schedulerWhitelist: [],
        priority: 0,
        status: 'IDLE',
      });
      if (trigger.type !== 'SCHEDULED') throw new Error('wrong type');
      expect(trigger.nextRun.getTime()).toBe(kept(nextRun('*/15 8-17 * * 1-5', at)).getTime());
      expect(trigger.nextRun.getTime()).toBe(new Date(2031, 0, 1, 10, 30).getTime());
      const raw = await rawTrigger(id);
      // '[]', never NULL: 2.0.x databases have this column NOT NULL (SCHEMA.md).
      expect(raw.base?.scheduler_whitelist).toBe('[]');
      expect(raw.scheduled?.cron_expr).toBe('*/15 8-17 * * 1-5');

      const given = new Date(2031, 5, 1, 8, 0, 0, 1);
      const explicit = await createTrigger(store, {
        type: 'SCHEDULED',
        triggerName: 'scheduled-explicit',
        processName: 'Reports',
        processPath: 'reports.py',
        cronExpr: '0 8 * * *',
        nextRun: given,
      });
      expect((await getTrigger(store, explicit)) as { nextRun: Date }).toMatchObject({ nextRun: given });
      await expect(
        createTrigger(store, { type: 'SCHEDULED', triggerName: 'bad-cron', processName: 'x', processPath: 'x', cronExpr: '61 * * * *' }),
      ).rejects.toThrow(InputError);
    });

    it('creates a queue trigger', async () => {
      const id = await createTrigger(store, {
        type: 'QUEUE',
        triggerName: 'queue-all',
        processName: 'Worker',
        processPath: 'worker.py',
        queueName: 'invoices-in',
        minBatchSize: 25,
        priority: -3,
        schedulerWhitelist: ['PC9'],
      });
      expect(await getTrigger(store, id)).toMatchObject({ type: 'QUEUE', queueName: 'invoices-in', minBatchSize: 25, priority: -3, schedulerWhitelist: ['PC9'] });
      const raw = await rawTrigger(id);
      expect(raw.base?.type).toBe('QUEUE');
      expect(raw.base?.scheduler_whitelist).toBe('["PC9"]');
      expect(raw.queue).toMatchObject({ queue_name: 'invoices-in', min_batch_size: 25 });
      const defaults = await createTrigger(store, { type: 'QUEUE', triggerName: 'queue-defaults', processName: 'W', processPath: 'w.py', queueName: 'q' });
      expect(await getTrigger(store, defaults)).toMatchObject({ minBatchSize: 1, priority: 0 });
    });

    it('lists triggers by name and finds one by name', async () => {
      const names = (await listTriggers(store)).map((t) => t.triggerName);
      expect(names).toEqual([...names].sort());
      expect(names).toEqual(expect.arrayContaining(['queue-all', 'scheduled-all', 'single-all']));
      expect((await getTriggerByName(store, 'queue-all')).type).toBe('QUEUE');
      await expect(getTriggerByName(store, 'no-such-trigger')).rejects.toThrow('no trigger named "no-such-trigger"');
      const missing = randomUUID();
      await expect(getTrigger(store, missing)).rejects.toThrow(NotFoundError);
      await expect(getTrigger(store, missing)).rejects.toThrow(`no trigger with id ${missing}`);
    });

    it('refuses a name that is taken, on create and on update', async () => {
      const before = await countRows(store, 'Triggers');
      const clash = await createTrigger(store, { type: 'SINGLE', triggerName: 'single-all', processName: 'x', processPath: 'x', nextRun: new Date() }).catch((e: unknown) => e);
      expect(clash).toBeInstanceOf(InputError);
      expect((clash as Error).message).toBe('a trigger named "single-all" already exists; choose another name');
      expect(await countRows(store, 'Triggers')).toBe(before);

      const other = await getTriggerByName(store, 'queue-all');
      await expect(
        updateTrigger(store, other.id, { type: 'QUEUE', triggerName: 'single-all', processName: 'Worker', processPath: 'worker.py', queueName: 'invoices-in' }),
      ).rejects.toThrow('a trigger named "single-all" already exists; choose another name');
      expect((await getTrigger(store, other.id)).triggerName).toBe('queue-all');
    });

    it('updates every field of a trigger, keeping its type, status and last run', async () => {
      const id = await createTrigger(store, { type: 'SINGLE', triggerName: 'to-update', processName: 'a', processPath: 'a.py', nextRun: new Date(2030, 0, 1) });
      const lastRun = new Date(2030, 0, 1, 0, 0, 1, 2);
      expect(await transitionTriggerStatus(store, id, ['IDLE'], 'FAILED', { lastRun })).toBe(true);
      const changed: NewTrigger = {
        type: 'SINGLE',
        triggerName: 'updated',
        processName: 'b',
        processPath: 'b.py',
        processArgs: 'x y',
        isGitRepo: true,
        gitBranch: 'dev',
        isBlocking: false,
        schedulerWhitelist: ['M1'],
        priority: 2,
        nextRun: new Date(2030, 1, 2, 3, 4, 5, 6),
      };
      await updateTrigger(store, id, changed);
      const { type: _type, ...fields } = changed;
      expect(await getTrigger(store, id)).toEqual({ id, type: 'SINGLE', status: 'FAILED', lastRun, ...fields });

      // Keeping its own name is no clash.
      await updateTrigger(store, id, { ...changed, priority: 3 });
      expect((await getTrigger(store, id)).priority).toBe(3);

      await expect(updateTrigger(store, id, { type: 'QUEUE', triggerName: 'updated', processName: 'b', processPath: 'b.py', queueName: 'q' })).rejects.toThrow(
        "a trigger's type cannot change (it is SINGLE); delete it and create a new one",
      );
      const scheduled = await getTriggerByName(store, 'scheduled-all');
      await updateTrigger(store, scheduled.id, { type: 'SCHEDULED', triggerName: 'scheduled-all', processName: 'Reports', processPath: 'r.py', cronExpr: '0 3 * * *', nextRun: new Date(2031, 0, 2, 3) });
      expect((await rawTrigger(scheduled.id)).scheduled?.cron_expr).toBe('0 3 * * *');
      const queue = await getTriggerByName(store, 'queue-all');
      await updateTrigger(store, queue.id, { type: 'QUEUE', triggerName: 'queue-all', processName: 'Worker', processPath: 'worker.py', queueName: 'renamed', minBatchSize: 4 });
      expect((await rawTrigger(queue.id)).queue).toMatchObject({ queue_name: 'renamed', min_batch_size: 4 });
      await expect(updateTrigger(store, randomUUID(), changed)).rejects.toThrow(NotFoundError);
    });

    it('deletes both rows of a trigger of each type', async () => {
      for (const trigger of [
        { type: 'SINGLE', triggerName: 'del-single', processName: 'p', processPath: 'p', nextRun: new Date() },
        { type: 'SCHEDULED', triggerName: 'del-scheduled', processName: 'p', processPath: 'p', cronExpr: '* * * * *' },
        { type: 'QUEUE', triggerName: 'del-queue', processName: 'p', processPath: 'p', queueName: 'q' },
      ] as NewTrigger[]) {
        const id = await createTrigger(store, trigger);
        await deleteTrigger(store, id);
        expect(await rawTrigger(id)).toEqual({ base: undefined, single: undefined, scheduled: undefined, queue: undefined });
        await expect(deleteTrigger(store, id)).rejects.toThrow(`no trigger with id ${id}`);
      }
    });

    it('lets exactly one of 10 concurrent claims move a trigger from Idle to Running', async () => {
      const id = await createTrigger(store, { type: 'SINGLE', triggerName: 'race', processName: 'p', processPath: 'p', nextRun: new Date() });
      // Separate connections, so the claims really meet in the database.
      const stores = Array.from({ length: 10 }, () => openStore(live.url));
      try {
        const results = await Promise.all(stores.map((s) => transitionTriggerStatus(s, id, ['IDLE'], 'RUNNING')));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await getTrigger(store, id)).status).toBe('RUNNING');
        const again = await Promise.all(stores.map((s) => transitionTriggerStatus(s, id, ['IDLE'], 'RUNNING')));
        expect(again.filter(Boolean)).toHaveLength(0);
        const sameStore = await Promise.all(Array.from({ length: 10 }, () => transitionTriggerStatus(store, id, ['RUNNING', 'PAUSING'], 'IDLE')));
        expect(sameStore.filter(Boolean)).toHaveLength(1);
      } finally {
        await Promise.all(stores.map((s) => closeStore(s)));
      }
      expect(await transitionTriggerStatus(store, id, [], 'RUNNING')).toBe(false);
      await expect(transitionTriggerStatus(store, id, ['IDLE'], 'BOGUS' as 'IDLE')).rejects.toThrow(InputError);
      await setTriggerStatus(store, id, 'KILLED');
      expect((await rawTrigger(id)).base?.process_status).toBe('KILLED');
      await expect(setTriggerStatus(store, randomUUID(), 'IDLE')).rejects.toThrow(NotFoundError);
    });
  });

  describe('due triggers', () => {
    // A database of their own: the due list looks at every trigger.
    let due: TestStore;
    beforeAll(async () => {
      due = await openTestStore(dialect);
    });
    afterAll(async () => {
      await due?.close();
    });

    const at = new Date(2030, 6, 1, 12, 0, 0, 0);
    const before = (ms: number) => new Date(at.getTime() - ms);

    it('orders by priority, then Single > Scheduled > Queue, then the earliest due', async () => {
      const s = due.store;
      const make = async (trigger: NewTrigger) => createTrigger(s, trigger);
      const base = { processName: 'p', processPath: 'p.py' };
      await make({ ...base, type: 'QUEUE', triggerName: 'queue-p0', queueName: 'due-q', minBatchSize: 1 });
      await make({ ...base, type: 'SCHEDULED', triggerName: 'sched-p0-late', cronExpr: '* * * * *', nextRun: before(TICK) });
      await make({ ...base, type: 'SCHEDULED', triggerName: 'sched-p0-early', cronExpr: '* * * * *', nextRun: before(60_000) });
      await make({ ...base, type: 'SINGLE', triggerName: 'single-p0-late', nextRun: before(2 * TICK) });
      await make({ ...base, type: 'SINGLE', triggerName: 'single-p0-early', nextRun: before(3 * TICK) });
      await make({ ...base, type: 'QUEUE', triggerName: 'queue-p5', queueName: 'due-q', minBatchSize: 2, priority: 5 });
      await make({ ...base, type: 'SCHEDULED', triggerName: 'sched-p5', cronExpr: '* * * * *', nextRun: before(5 * TICK), priority: 5 });
      await make({ ...base, type: 'SINGLE', triggerName: 'single-m1', nextRun: before(86_400_000), priority: -1 });
      // Not due: in the future by the least the database keeps apart, or not Idle.
      await make({ ...base, type: 'SINGLE', triggerName: 'single-future', nextRun: new Date(at.getTime() + TICK), priority: 9 });
      await make({ ...base, type: 'SCHEDULED', triggerName: 'sched-future', cronExpr: '* * * * *', nextRun: new Date(at.getTime() + TICK), priority: 9 });
      const running = await make({ ...base, type: 'SINGLE', triggerName: 'single-running', nextRun: before(1), priority: 9 });
      await transitionTriggerStatus(s, running, ['IDLE'], 'RUNNING');
      const paused = await make({ ...base, type: 'QUEUE', triggerName: 'queue-paused', queueName: 'due-q', priority: 9 });
      await setTriggerStatus(s, paused, 'PAUSED');
      freezeAt(before(10_000));
      await bulkCreateQueueElements(s, 'due-q', [{}, {}]);

      const names = (await listDueTriggers(s, at)).map((t) => t.triggerName);
      expect(names).toEqual(['sched-p5', 'queue-p5', 'single-p0-early', 'single-p0-late', 'sched-p0-early', 'sched-p0-late', 'queue-p0', 'single-m1']);

      // Exactly at next_run is due; the default time is the clock's.
      freezeAt(new Date(at.getTime() + TICK));
      expect((await listDueTriggers(s)).map((t) => t.triggerName)).toEqual(expect.arrayContaining(['single-future', 'sched-future']));
      expect((await listDueTriggers(s)).map((t) => t.triggerName)).not.toContain('single-running');
    });

    it('makes a queue trigger due only when its queue holds at least min_batch_size New elements', async () => {
      const s = due.store;
      const id = await createTrigger(s, { type: 'QUEUE', triggerName: 'batch-3', processName: 'p', processPath: 'p', queueName: 'batch-q', minBatchSize: 3 });
      const isDue = async () => (await listDueTriggers(s, at)).some((t) => t.id === id);
      expect(await isDue()).toBe(false);
      await bulkCreateQueueElements(s, 'batch-q', [{}, {}]);
      // Elements of other queues and elements that are not New do not count.
      await bulkCreateQueueElements(s, 'other-q', [{}, {}, {}, {}]);
      const claimed = await createQueueElement(s, 'batch-q');
      await setQueueElementStatus(s, claimed.id, 'IN_PROGRESS');
      const done = await createQueueElement(s, 'batch-q');
      await setQueueElementStatus(s, done.id, 'DONE');
      expect(await countNewElements(s, 'batch-q')).toBe(2);
      expect(await isDue()).toBe(false);
      await createQueueElement(s, 'batch-q');
      expect(await countNewElements(s, 'batch-q')).toBe(3);
      expect(await isDue()).toBe(true);
      await getNextQueueElement(s, 'batch-q');
      expect(await isDue()).toBe(false);
    });

    it('moves a single or scheduled trigger out of the due list with setNextRun', async () => {
      const s = due.store;
      const id = await createTrigger(s, { type: 'SCHEDULED', triggerName: 'moved', processName: 'p', processPath: 'p', cronExpr: '0 * * * *', nextRun: before(1) });
      expect((await listDueTriggers(s, at)).some((t) => t.id === id)).toBe(true);
      const next = new Date(at.getTime() + 3_600_000);
      await setNextRun(s, id, 'SCHEDULED', next);
      expect((await listDueTriggers(s, at)).some((t) => t.id === id)).toBe(false);
      expect(((await getTrigger(s, id)) as { nextRun: Date }).nextRun.getTime()).toBe(kept(next).getTime());
    });
  });

  describe('run now', () => {
    // A database of its own: the due list looks at every trigger.
    let runs: TestStore;
    beforeAll(async () => {
      runs = await openTestStore(dialect);
    });
    afterAll(async () => {
      await runs?.close();
    });

    const at = new Date(2030, 6, 1, 12, 0, 0, 0);
    const later = new Date(2030, 11, 24, 18, 0, 0, 0);
    const base = { processName: 'p', processPath: 'p.py' };
    const dueIds = async (s: Store, when = at) => (await listDueTriggers(s, when)).map((t) => t.id);
    const requests = async (s: Store) => (await listRunRequests(s)).map((r) => r.triggerId);

    it('makes a single trigger due now, from Idle, Done, Failed and Killed; refuses Running, Pausing, Killing and Paused', async () => {
      const s = runs.store;
      const id = await createTrigger(s, { ...base, type: 'SINGLE', triggerName: 'now-single', nextRun: later });
      expect(await dueIds(s)).not.toContain(id);
      for (const from of ['IDLE', 'DONE', 'FAILED', 'KILLED'] as const) {
        await setTriggerStatus(s, id, from);
        await setNextRun(s, id, 'SINGLE', later);
        expect(await runTriggerNow(s, id, at)).toBe(true);
        const trigger = await getTrigger(s, id);
        expect(trigger).toMatchObject({ status: 'IDLE', nextRun: at });
        expect(await dueIds(s)).toContain(id);
      }
      expect(await claimTrigger(s, { id, type: 'SINGLE' }, at)).toBe(true);
      for (const from of ['RUNNING', 'PAUSING', 'KILLING', 'PAUSED'] as const) {
        // Running it is already, by the claim: set by hand from Running it would be a second claim.
        if (from !== 'RUNNING') await setTriggerStatus(s, id, from);
        await setNextRun(s, id, 'SINGLE', later);
        expect(await runTriggerNow(s, id, at)).toBe(false);
        expect(await getTrigger(s, id)).toMatchObject({ status: from, nextRun: later });
      }
      expect(await requests(s)).toEqual([]);
      await expect(runTriggerNow(s, randomUUID(), at)).rejects.toThrow(NotFoundError);
    });

    it('makes a scheduled trigger due now once; its cron expression stays', async () => {
      const s = runs.store;
      const id = await createTrigger(s, { ...base, type: 'SCHEDULED', triggerName: 'now-scheduled', cronExpr: '0 3 1 1 *', nextRun: later });
      await setTriggerStatus(s, id, 'FAILED');
      expect(await runTriggerNow(s, id, at)).toBe(true);
      expect(await getTrigger(s, id)).toMatchObject({ status: 'IDLE', nextRun: at, cronExpr: '0 3 1 1 *' });
      expect(await dueIds(s)).toContain(id);
      expect(await claimTrigger(s, { id, type: 'SCHEDULED' }, at)).toBe(true);
      expect(await requests(s)).toEqual([]);
    });

    it('runs a queue trigger once below its batch size: the request makes it due, the winning claim consumes it', async () => {
      const s = runs.store;
      const id = await createTrigger(s, { ...base, type: 'QUEUE', triggerName: 'now-queue', queueName: 'now-q', minBatchSize: 5 });
      await bulkCreateQueueElements(s, 'now-q', [{}, {}]);
      expect(await dueIds(s)).not.toContain(id);
      expect(await claimTrigger(s, { id, type: 'QUEUE', queueName: 'now-q', minBatchSize: 5 }, at)).toBe(false);

      await setTriggerStatus(s, id, 'DONE');
      expect(await runTriggerNow(s, id, at)).toBe(true);
      expect(await runTriggerNow(s, id, later)).toBe(true);
      expect(await listRunRequests(s)).toEqual([{ triggerId: id, requestedAt: at }]);
      const row = await s.db.selectFrom('oo_run_requests').selectAll().executeTakeFirstOrThrow();
      expect(s.dialect.decodeUuid(row.trigger_id)).toBe(id);
      expect((await getTrigger(s, id)).status).toBe('IDLE');
      expect(await dueIds(s)).toContain(id);

      // Separate connections, so the claims really meet in the database: one wins and consumes it.
      const stores = Array.from({ length: 6 }, () => openStore(runs.url));
      try {
        const won = await Promise.all(stores.map((other) => claimTrigger(other, { id, type: 'QUEUE', queueName: 'now-q', minBatchSize: 5 }, at)));
        expect(won.filter(Boolean)).toHaveLength(1);
      } finally {
        await Promise.all(stores.map((other) => closeStore(other)));
      }
      expect(await requests(s)).toEqual([]);
      expect((await getTrigger(s, id)).status).toBe('RUNNING');
      expect(await runTriggerNow(s, id, at)).toBe(false);
      expect(await requests(s)).toEqual([]);

      // Back in Idle, the trigger waits for its batch again.
      await transitionTriggerStatus(s, id, ['RUNNING'], 'IDLE');
      expect(await dueIds(s)).not.toContain(id);
      expect(await claimTrigger(s, { id, type: 'QUEUE', queueName: 'now-q', minBatchSize: 5 }, at)).toBe(false);

      // A paused trigger keeps a request it has; it runs once when enabled.
      await requestRun(s, id, at);
      await setTriggerStatus(s, id, 'PAUSED');
      expect(await runTriggerNow(s, id, at)).toBe(false);
      expect(await dueIds(s)).not.toContain(id);
      await setTriggerStatus(s, id, 'IDLE');
      expect(await dueIds(s)).toContain(id);
      expect(await claimTrigger(s, { id, type: 'QUEUE', queueName: 'now-q', minBatchSize: 5 }, at)).toBe(true);
      expect(await requests(s)).toEqual([]);
    });
  });

  describe('schedulers', () => {
    it('inserts a heartbeat once, then updates it', async () => {
      const first = new Date(2030, 2, 3, 4, 5, 6, 7);
      freezeAt(first);
      await heartbeat(store, 'PC-A');
      expect(await listSchedulers(store)).toEqual([{ machineName: 'PC-A', lastUpdate: kept(first), latestTrigger: null, latestTriggerTime: null }]);
      const second = new Date(first.getTime() + TICK);
      freezeAt(second);
      await heartbeat(store, 'PC-A');
      // Same stamp again: MySQL reports the row as unchanged, which must not read as missing.
      await heartbeat(store, 'PC-A');
      await recordLatestTrigger(store, 'PC-A', 'nightly');
      expect(await listSchedulers(store)).toEqual([{ machineName: 'PC-A', lastUpdate: kept(second), latestTrigger: 'nightly', latestTriggerTime: kept(second) }]);
      expect(await countRows(store, 'Schedulers')).toBe(1);
    });

    it('keeps one row when several processes beat for a new machine at once', async () => {
      const stores = Array.from({ length: 6 }, () => openStore(live.url));
      try {
        await Promise.all(stores.map((s) => heartbeat(s, 'PC-RACE')));
      } finally {
        await Promise.all(stores.map((s) => closeStore(s)));
      }
      expect((await listSchedulers(store)).map((r) => r.machineName)).toEqual(['PC-A', 'PC-RACE']);
    });

    it('beats with the poll: inserts the row, updates it, inserts it again when deleted, and polls the same triggers', async () => {
      const at = new Date(2030, 2, 3, 6, 0, 0, 0);
      const id = await createTrigger(store, { type: 'SINGLE', triggerName: 'beat-poll', processName: 'P', processPath: 'p.py', nextRun: new Date(at.getTime() - 60_000) });
      const beatOf = async (when: Date) => {
        freezeAt(when);
        const withBeat = await pollTriggers(store, when, new Date(when.getTime() + 6000), 'PC-POLL');
        const plain = await pollTriggers(store, when, new Date(when.getTime() + 6000));
        expect(withBeat).toEqual(plain);
        expect(withBeat.due.map((t) => t.id)).toContain(id);
        return (await listSchedulers(store)).filter((r) => r.machineName === 'PC-POLL').map((r) => r.lastUpdate);
      };
      try {
        expect(await beatOf(at)).toEqual([at]);
        const later = new Date(at.getTime() + 1500);
        expect(await beatOf(later)).toEqual([later]);
        await store.db.deleteFrom('Schedulers').where('machine_name', '=', 'PC-POLL').execute();
        const again = new Date(at.getTime() + 3000);
        expect(await beatOf(again)).toEqual([again]);
        // Nothing due: the beat still lands (on PostgreSQL the statement's one row of nulls).
        await deleteTrigger(store, id);
        freezeAt(new Date(at.getTime() + 4500));
        expect((await pollTriggers(store, new Date(at.getTime() + 4500), new Date(at.getTime() + 4500), 'PC-POLL')).due).toEqual([]);
        expect((await listSchedulers(store)).filter((r) => r.machineName === 'PC-POLL').map((r) => r.lastUpdate)).toEqual([new Date(at.getTime() + 4500)]);
      } finally {
        await deleteTrigger(store, id).catch(() => undefined);
        await store.db.deleteFrom('Schedulers').where('machine_name', '=', 'PC-POLL').execute();
      }
    });
  });

  describe('jobs', () => {
    it('starts and ends a job; the first outcome stays', async () => {
      const started = new Date(2030, 3, 4, 5, 6, 7, 8);
      freezeAt(started);
      const triggerId = randomUUID();
      const id = await startJob(store, { processName: 'Invoices', schedulerName: 'PC-A', triggerId });
      expect(await getJob(store, id)).toEqual({ id, processName: 'Invoices', schedulerName: 'PC-A', startTime: kept(started), endTime: null, status: 'RUNNING', triggerId });
      const ended = new Date(started.getTime() + 61_001);
      expect(await endJob(store, id, 'DONE', ended)).toBe(true);
      expect(await endJob(store, id, 'FAILED', new Date(ended.getTime() + TICK))).toBe(false);
      expect(await getJob(store, id)).toMatchObject({ status: 'DONE', endTime: kept(ended) });
      const raw = await store.db.selectFrom('Jobs').select('status').where('id', '=', store.dialect.encodeUuid(id)).executeTakeFirstOrThrow();
      expect(raw.status).toBe('DONE');

      freezeAt(new Date(started.getTime() + TICK));
      const other = await startJob(store, { processName: 'Reports', schedulerName: 'PC-B' });
      expect((await getJob(store, other)).triggerId).toBeNull();
      expect((await listJobs(store)).map((j) => j.id)).toEqual([other, id]);
      expect((await listJobs(store, { processName: 'Invoices' })).map((j) => j.id)).toEqual([id]);
      expect((await listJobs(store, { status: 'RUNNING' })).map((j) => j.id)).toEqual([other]);
      expect(await endJob(store, randomUUID(), 'DONE')).toBe(false);
      await expect(getJob(store, randomUUID())).rejects.toThrow(NotFoundError);
    });
  });

  describe('queues', () => {
    it('counts the elements of each queue per status', async () => {
      const s = (await openTestStore(dialect)) as TestStore;
      try {
        await bulkCreateQueueElements(s.store, 'beta', Array.from({ length: 7 }, () => ({})));
        await bulkCreateQueueElements(s.store, 'alpha', Array.from({ length: 3 }, () => ({})));
        const statuses = ['IN_PROGRESS', 'DONE', 'DONE', 'FAILED', 'ABANDONED'] as const;
        for (const status of statuses) {
          const element = await getNextQueueElement(s.store, 'beta');
          // In Progress it is already, by the claim (a second In Progress would be a second claim).
          if (status !== 'IN_PROGRESS') await setQueueElementStatus(s.store, element!.id, status);
        }
        expect(await listQueues(s.store)).toEqual([
          { queueName: 'alpha', counts: { NEW: 3, IN_PROGRESS: 0, DONE: 0, FAILED: 0, ABANDONED: 0 } },
          { queueName: 'beta', counts: { NEW: 2, IN_PROGRESS: 1, DONE: 2, FAILED: 1, ABANDONED: 1 } },
        ]);
      } finally {
        await s.close();
      }
    });

    it('splits bulk inserts by rows and by bytes', () => {
      const rows = Array.from({ length: 10 }, (_, i) => i);
      expect(splitIntoStatements(rows, 4, 1_000, () => 1).map((b) => b.length)).toEqual([4, 4, 2]);
      expect(splitIntoStatements(rows, 100, 25, () => 10).map((b) => b.length)).toEqual([2, 2, 2, 2, 2]);
      expect(splitIntoStatements([1], 100, 5, () => 10)).toEqual([[1]]);
      expect(splitIntoStatements([], 100, 5, () => 10)).toEqual([]);
    });
  });

  describe('logs', () => {
    it('lists logs newest first with filters', async () => {
      const jobId = randomUUID();
      const base = new Date(2030, 4, 5, 6, 7, 8, 9);
      for (let i = 0; i < 4; i++) {
        freezeAt(new Date(base.getTime() + i * TICK));
        await createLog(store, { level: i % 2 ? 'ERROR' : 'INFO', processName: 'log-list', message: `m${i}`, ...(i === 3 ? { jobId } : {}) });
      }
      const all = await listLogs(store, { processName: 'log-list' });
      expect(all.map((l) => l.message)).toEqual(['m3', 'm2', 'm1', 'm0']);
      expect(all[0]).toMatchObject({ level: 'ERROR', processName: 'log-list', jobId, logTime: kept(new Date(base.getTime() + 3 * TICK)) });
      expect((await listLogs(store, { processName: 'log-list', level: 'INFO' })).map((l) => l.message)).toEqual(['m2', 'm0']);
      expect((await listLogs(store, { jobId })).map((l) => l.message)).toEqual(['m3']);
      expect((await listLogs(store, { processName: 'log-list', from: new Date(base.getTime() + TICK), to: new Date(base.getTime() + 2 * TICK) })).map((l) => l.message)).toEqual(['m2', 'm1']);
      expect((await listLogs(store, { processName: 'log-list', offset: 1, limit: 2 })).map((l) => l.message)).toEqual(['m2', 'm1']);
      await expect(createLog(store, { level: 'WARN' as 'INFO', processName: 'x', message: 'x' })).rejects.toThrow('log level must be one of TRACE, INFO, ERROR');
    });
  });

  describe('constants', () => {
    it('creates, lists and deletes constants, refusing a name that is taken', async () => {
      const at = new Date(2030, 7, 8, 9, 10, 11, 12);
      freezeAt(at);
      await createConstant(store, 'c-b', 'two');
      await createConstant(store, 'c-a', '');
      await expect(createConstant(store, 'c-a', 'again')).rejects.toThrow('a constant named "c-a" already exists; choose another name or edit the existing one');
      expect(await getConstant(store, 'c-a')).toEqual({ name: 'c-a', value: '', changedAt: kept(at) });
      expect((await listConstants(store)).filter((c) => c.name.startsWith('c-'))).toEqual([
        { name: 'c-a', value: '', changedAt: kept(at) },
        { name: 'c-b', value: 'two', changedAt: kept(at) },
      ]);
      await expect(createConstant(store, 'c-long', 'v'.repeat(1001))).rejects.toThrow('constant value is 1001 characters long; the limit is 1000');
      await expect(createConstant(store, 'n'.repeat(101), 'v')).rejects.toThrow('constant name is 101 characters long; the limit is 100');
      await expect(createConstant(store, '', 'v')).rejects.toThrow('constant name must not be empty');
      await deleteConstant(store, 'c-a');
      await expect(getConstant(store, 'c-a')).rejects.toThrow(NotFoundError);
      await expect(deleteConstant(store, 'c-a')).rejects.toThrow('no constant named "c-a"');
      expect((await listConstants(store)).map((c) => c.name)).not.toContain('c-long');
    });
  });

  describe('credentials', () => {
    it('creates, lists (without passwords) and deletes credentials, refusing a name that is taken', async () => {
      await createCredential(store, KEY, 'cr-b', 'user-b', 'secret-b');
      await createCredential(store, KEY, 'cr-a', 'user-a', 'x'.repeat(100));
      await expect(createCredential(store, KEY, 'cr-a', 'u', 'p')).rejects.toThrow('a credential named "cr-a" already exists; choose another name or edit the existing one');
      expect((await getCredential(store, KEY, 'cr-a')).password).toBe('x'.repeat(100));

      const listed = (await listCredentials(store)).filter((c) => c.name.startsWith('cr-'));
      expect(listed.map((c) => [c.name, c.username])).toEqual([
        ['cr-a', 'user-a'],
        ['cr-b', 'user-b'],
      ]);
      for (const summary of listed) {
        expect(summary).not.toHaveProperty('password');
        const raw = await store.db.selectFrom('Credentials').select('password').where('name', '=', summary.name).executeTakeFirstOrThrow();
        expect(summary.encryptedLength).toBe(raw.password.length);
        expect(summary.decryptedLengthRange).toEqual(estimatePlainLength(raw.password.length));
      }
      // 100 bytes of password: a 228-character token, shown as "102-117 decrypted bytes".
      expect(listed[0]?.encryptedLength).toBe(228);
      expect(listed[0]?.decryptedLengthRange).toEqual([102, 117]);

      await expect(createCredential(store, KEY, 'cr-huge', 'u', 'p'.repeat(800))).rejects.toThrow(/credential password is too long/);
      await deleteCredential(store, 'cr-a');
      await expect(getCredential(store, KEY, 'cr-a')).rejects.toThrow('no credential named "cr-a"');
      await expect(deleteCredential(store, 'cr-a')).rejects.toThrow(NotFoundError);
      expect((await listCredentials(store)).map((c) => c.name)).not.toContain('cr-huge');
    });
  });
});

describe('the heartbeat carried by the poll on PostgreSQL', () => {
  let live: TestStore;
  beforeAll(async () => {
    live = await openTestStore('postgres');
  });
  afterAll(() => live?.close());

  it('is one prepared statement with the poll, and leaves the session waiting for its commits', async () => {
    const { store } = live;
    await heartbeat(store, 'PC-PG');
    // Statements one after another reuse the pool's one connection: the same server session.
    await pollTriggers(store, new Date(), new Date(), 'PC-PG');
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_prepared_statements WHERE statement ILIKE 'WITH beat AS (UPDATE "Schedulers"%union all%'`.execute(store.db);
    expect(Number(rows[0]!.n)).toBe(1);
    const setting = await sql<{ synchronous_commit: string }>`SHOW synchronous_commit`.execute(store.db);
    expect(setting.rows[0]!.synchronous_commit).toBe('on');
  });
});
