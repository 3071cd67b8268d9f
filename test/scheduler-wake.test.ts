/**
 * Waking the Scheduler without waiting for the poll: PostgreSQL notifications that the
 * database's change tracking (oo-014) sends for every writer (store, robot API, plain SQL),
 * SQLite's change probe, the due-time timer on every live dialect, the poll as the safety net
 * while the listener is down, a dropped listener, and two Schedulers woken together. Real databases, real
 * robot processes; the poll interval is 30 s wherever a run must start without it.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OrchestratorConnection } from '../src/connection/orchestrator-connection.js';
import { newId } from '../src/db/dialects/encoding.js';
import { closeStore, openStore } from '../src/db/open.js';
import { listJobs } from '../src/db/store/jobs.js';
import { getQueueElement } from '../src/db/store/queues.js';
import { createTrigger, getTrigger, transitionTriggerStatus, type NewTrigger } from '../src/db/store/triggers.js';
import { LISTENER_APPLICATION_NAME } from '../src/scheduler/loop.js';
import { LIVE_DIALECTS } from './helpers/databases.js';
import { openPooledPostgres, type PooledPostgres } from './helpers/pgbouncer.js';
import { KEY, readEvents, resetTables, ROBOTS, startScheduler, tempDir, waitFor, waitForEndedJob, type RunningScheduler } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const ROBOT_MJS = join(ROBOTS, 'robot.mjs');
const QUEUE_WORKER_TS = join(ROBOTS, 'queue-worker.ts');
/** Long enough that a run started by the poll could not pass for one started by a wake-up. */
const SLOW_POLL_SECONDS = 30;
/** A wake-up must start the robot well within this (a loaded 2-core machine included). */
const PROMPT_MS = 5000;

const robot = (name: string, file: string, extra: Partial<NewTrigger> = {}): NewTrigger =>
  ({ type: 'SINGLE', nextRun: new Date(Date.now() - 1000), triggerName: name, processName: name, processPath: ROBOT_MJS, processArgs: JSON.stringify({ file }), isBlocking: false, ...extra }) as NewTrigger;

/** When the robot wrote its first line (its own clock, ms). */
function startedAt(file: string, name: string): Promise<number> {
  return waitFor(`robot "${name}" to start`, () => readEvents(file).find((e) => e.name === name && e.event === 'start')?.time, 20_000);
}

const hasLine = (s: RunningScheduler, event: string, text = '') => s.lines.some((line) => line.includes(`"${event}"`) && line.includes(text));
const waitForLine = (s: RunningScheduler, event: string, text = '') => waitFor(`the Scheduler to log ${event} ${text}`, () => hasLine(s, event, text));

/** Waits until the Scheduler listens and has finished its first tick. */
async function waitUntilListening(live: TestStore, s: RunningScheduler): Promise<number> {
  await waitForLine(s, 'wake-listening');
  return waitFor('the listening connection', () => listenerPid(live, s.scheduler.options.machineName));
}

/** The backend pid of a Scheduler's listening connection, found by its application_name. */
async function listenerPid(live: TestStore, machineName: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: postgresUrl(live) });
  await client.connect();
  try {
    const result = await client.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
      [`${LISTENER_APPLICATION_NAME} ${machineName}`],
    );
    return result.rows[0]?.pid;
  } finally {
    await client.end();
  }
}

/** The test database as a URL the bare pg driver reads. */
const postgresUrl = (live: TestStore) => live.url.replace(/^postgresql\+\w+:/, 'postgresql:');

async function adminQuery(live: TestStore, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl(live).replace(/\/[^/]*$/, '/postgres') });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe.each(LIVE_DIALECTS)('due-time timer on %s', (dialect) => {
  let live: TestStore;
  beforeAll(async () => {
    live = await openTestStore(dialect);
  });
  afterAll(() => live?.close());

  it('starts a single trigger at its due time, not at the next poll', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const due = new Date(Date.now() + 1500);
    const id = await createTrigger(store, robot('timed', file, { nextRun: due }));
    const s = startScheduler({ connectionString: url, intervalSeconds: SLOW_POLL_SECONDS });
    try {
      const started = await startedAt(file, 'timed');
      expect(started).toBeGreaterThanOrEqual(due.getTime());
      expect(started - due.getTime()).toBeLessThan(PROMPT_MS);
      expect((await waitForEndedJob(store, id)).status).toBe('DONE');
    } finally {
      await s.stop();
    }
  });
});

describe('wake on change (SQLite change probe)', () => {
  let live: TestStore;
  beforeAll(async () => {
    live = await openTestStore('sqlite');
  });
  afterAll(() => live?.close());

  it('starts a trigger another connection created without waiting for the poll', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const s = startScheduler({ connectionString: url, intervalSeconds: SLOW_POLL_SECONDS });
    try {
      await waitFor('the first tick', () => s.lines.some((line) => line.includes('"started"')));
      await waitFor('the heartbeat', async () => (await store.db.selectFrom('Schedulers').select('machine_name').execute()).length > 0);
      const created = Date.now();
      await createTrigger(store, robot('probed', file));
      expect((await startedAt(file, 'probed')) - created).toBeLessThan(PROMPT_MS);
    } finally {
      await s.stop();
    }
  });
});

describe('wake on change (PostgreSQL notifications)', () => {
  let live: TestStore;
  beforeAll(async () => {
    live = await openTestStore('postgres');
  });
  afterAll(() => live?.close());
  beforeEach(() => resetTables(live.store));

  it('starts a trigger created through the store at once, and kills one set to Killing at once', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const s = startScheduler({ connectionString: url, intervalSeconds: SLOW_POLL_SECONDS });
    try {
      await waitUntilListening(live, s);
      const created = Date.now();
      const id = await createTrigger(store, robot('created', file));
      expect((await startedAt(file, 'created')) - created).toBeLessThan(PROMPT_MS);
      await waitForEndedJob(store, id);

      const long = await createTrigger(store, robot('long', file, { processArgs: JSON.stringify({ file, sleepMs: 120_000 }) }));
      await startedAt(file, 'long');
      await waitFor('the long run to be Running', async () => (await getTrigger(store, long)).status === 'RUNNING');
      const killed = Date.now();
      expect(await transitionTriggerStatus(store, long, ['RUNNING'], 'KILLING')).toBe(true);
      const job = await waitForEndedJob(store, long, PROMPT_MS * 2);
      expect(job.status).toBe('KILLED');
      expect(Date.now() - killed).toBeLessThan(PROMPT_MS + s.scheduler.options.killGraceSeconds * 1000);
    } finally {
      await s.stop();
    }
  });

  it('starts a queue trigger at once when a robot adds an element through the robot API', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const s = startScheduler({ connectionString: url, intervalSeconds: SLOW_POLL_SECONDS });
    const oc = new OrchestratorConnection({ processName: 'producer', connectionString: url, cryptoKey: KEY });
    try {
      const queueName = `q-${newId()}`;
      await createTrigger(store, robot('consumer', file, { type: 'QUEUE', queueName, minBatchSize: 1 }));
      await waitUntilListening(live, s);
      const added = Date.now();
      await oc.createQueueElement(queueName, { reference: 'one' });
      expect((await startedAt(file, 'consumer')) - added).toBeLessThan(PROMPT_MS);
    } finally {
      await oc.close();
      await s.stop();
    }
  });

  it('starts a queue trigger at once when an element is inserted with plain SQL (the database notifies)', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const s = startScheduler({ connectionString: url, intervalSeconds: SLOW_POLL_SECONDS });
    const client = new pg.Client({ connectionString: postgresUrl(live) });
    await client.connect();
    try {
      const queueName = `q-${newId()}`;
      await createTrigger(store, robot('python-fed', file, { type: 'QUEUE', queueName, minBatchSize: 1 }));
      await waitUntilListening(live, s);
      const added = Date.now();
      // The statement the Python client's create_queue_element sends (SQLAlchemy, psycopg2), in its transaction.
      await client.query('BEGIN');
      await client.query(
        'INSERT INTO "Queues" (id, queue_name, status, data, reference, created_date, start_date, end_date, message, created_by) VALUES ($1::UUID, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
        [newId(), queueName, 'NEW', null, 'from python', new Date(), null, null, null, null],
      );
      await client.query('COMMIT');
      expect((await startedAt(file, 'python-fed')) - added).toBeLessThan(PROMPT_MS);
    } finally {
      await client.end();
      await s.stop();
    }
  });

  it('starts a trigger inserted with plain SQL at once (the database notifies)', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const s = startScheduler({ connectionString: url, intervalSeconds: SLOW_POLL_SECONDS });
    try {
      await waitUntilListening(live, s);
      const id = newId();
      const inserted = Date.now();
      const { db, dialect } = store;
      // What another program would write: the two rows, and no NOTIFY.
      await db
        .insertInto('Triggers')
        .values({
          id: dialect.encodeUuid(id),
          trigger_name: 'plain',
          process_name: 'plain',
          last_run: null,
          process_path: ROBOT_MJS,
          process_args: JSON.stringify({ file }),
          process_status: 'IDLE',
          is_git_repo: false,
          git_branch: null,
          is_blocking: false,
          type: 'SINGLE',
          scheduler_whitelist: '[]',
          priority: 0,
        })
        .execute();
      await db.insertInto('Single_Triggers').values({ id: dialect.encodeUuid(id), next_run: dialect.encodeDate(new Date(Date.now() - 1000)) }).execute();
      expect((await startedAt(file, 'plain')) - inserted).toBeLessThan(PROMPT_MS);
      expect((await waitForEndedJob(store, id)).status).toBe('DONE');
    } finally {
      await s.stop();
    }
  });

  it('after the listening connection is dropped: reconnects, and notifications start runs again', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const s = startScheduler({ connectionString: url, intervalSeconds: SLOW_POLL_SECONDS });
    try {
      const first = await waitUntilListening(live, s);
      await adminQuery(live, `SELECT pg_terminate_backend(${first})`);
      await waitForLine(s, 'wake-lost', 'polling every 30 s');
      await waitForLine(s, 'wake-listening', 'again');
      const second = await waitFor('a new listening connection', () => listenerPid(live, s.scheduler.options.machineName));
      expect(second).not.toBe(first);
      expect(s.lines.filter((line) => line.includes('"wake-lost"'))).toHaveLength(1);
      const created = Date.now();
      await createTrigger(store, robot('after-drop', file));
      expect((await startedAt(file, 'after-drop')) - created).toBeLessThan(PROMPT_MS);
    } finally {
      await s.stop();
    }
  });

  it('while the listener cannot reconnect, the poll starts what changed; then it listens again', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const database = new URL(postgresUrl(live)).pathname.slice(1);
    const s = startScheduler({ connectionString: url, intervalSeconds: 1, maxBackoffSeconds: 1 });
    try {
      const first = await waitUntilListening(live, s);
      // Connections already open stay; new ones (the listener's reconnection) are refused.
      await adminQuery(live, `ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
      try {
        await adminQuery(live, `SELECT pg_terminate_backend(${first})`);
        await waitForLine(s, 'wake-lost');
        const id = await createTrigger(store, robot('while-down', file));
        await startedAt(file, 'while-down');
        expect((await waitForEndedJob(store, id)).status).toBe('DONE');
        expect(hasLine(s, 'wake-listening', 'again')).toBe(false);
      } finally {
        await adminQuery(live, `ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
      }
      await waitForLine(s, 'wake-listening', 'again');
      expect(await waitFor('a new listening connection', () => listenerPid(live, s.scheduler.options.machineName))).not.toBe(first);
    } finally {
      await s.stop();
    }
  });

  it('two Schedulers woken by the same notifications start each trigger exactly once', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const a = startScheduler({ connectionString: url, intervalSeconds: SLOW_POLL_SECONDS });
    const b = startScheduler({ connectionString: url, intervalSeconds: SLOW_POLL_SECONDS });
    try {
      await waitUntilListening(live, a);
      await waitUntilListening(live, b);
      const names = Array.from({ length: 6 }, (_, i) => `twice-${i}`);
      const created = Date.now();
      const ids = await Promise.all(names.map((name) => createTrigger(store, robot(name, file))));
      for (const name of names) expect((await startedAt(file, name)) - created).toBeLessThan(PROMPT_MS * 2);
      for (const id of ids) expect((await waitForEndedJob(store, id)).status).toBe('DONE');
      for (const name of names) {
        expect(readEvents(file).filter((e) => e.name === name && e.event === 'start')).toHaveLength(1);
        expect(await listJobs(store, { processName: name })).toHaveLength(1);
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('through PgBouncer in transaction mode', () => {
  let pooled: PooledPostgres;
  beforeAll(async () => {
    pooled = await openPooledPostgres();
  });
  afterAll(() => pooled?.close());

  it('notifications cannot arrive, so the Scheduler says so once and polls; Scheduler and robots work through it', async () => {
    const store = openStore(pooled.bouncer.url);
    const oc = new OrchestratorConnection({ processName: 'producer', connectionString: pooled.bouncer.url, cryptoKey: KEY });
    const s = startScheduler({ connectionString: pooled.bouncer.url, intervalSeconds: 1 });
    try {
      const file = join(tempDir(), 'events');
      const queueName = `q-${newId()}`;
      const id = await createTrigger(store, robot('worker', file, { type: 'QUEUE', queueName, minBatchSize: 1, processPath: QUEUE_WORKER_TS, processArgs: JSON.stringify({ queue: queueName, file }) }));
      await waitForLine(s, 'wake-unsupported');
      const element = await oc.createQueueElement(queueName, { reference: 'through the pooler' });
      await waitFor('the robot to work the element through PgBouncer', async () => (await getQueueElement(store, element.id)).status === 'DONE', 30_000);
      expect((await waitForEndedJob(store, id)).status).toBe('DONE');
      expect(hasLine(s, 'wake-listening')).toBe(false);
      expect(s.lines.filter((line) => line.includes('"wake-unsupported"'))).toHaveLength(1);
      expect(hasLine(s, 'database-unavailable')).toBe(false);
    } finally {
      await s.stop();
      await oc.close();
      await closeStore(store);
    }
  });
});
