/**
 * Scheduler dispatch latency at the default 6 s poll interval, due or changed -> the robot's
 * first statement, while `idle` other triggers (due in 2099) sit in the table:
 *
 * - time-based (every dialect): single triggers made due a little later than one poll ahead,
 *   so a poll has seen them; the due-time timer must start them, not the next poll;
 * - change through our store (PostgreSQL): a trigger created due now;
 * - queue element through the robot API (PostgreSQL): OrchestratorConnection.createQueueElement
 *   into the queue of an Idle queue trigger;
 * - queue element with the Python client's SQL (every dialect): the INSERT SQLAlchemy sends for
 *   the Python OrchestratorConnection's create_queue_element, on a bare driver connection, in
 *   its own transaction; on PostgreSQL the database's change tracking (oo-014) notifies, so
 *   p95 < 200 ms, elsewhere the next poll's one-sum change check sees it: within one poll (and
 *   the start's own 300 ms);
 * - behind our back (PostgreSQL): both trigger rows inserted with plain SQL; the database's
 *   change tracking notifies (it did not before oo-014, when only the poll could see it).
 * Every wake-up on PostgreSQL comes from the database's triggers: our code sends none.
 *
 * Changes are made at random points of the poll cycle. Two end points: the robot process
 * started (the Scheduler's spawn, the target) and the robot's first statement (that
 * plus node's own start-up). Baseline: starting the same robot directly with spawn(), to its
 * 'spawn' event and to its first statement, in the same run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrchestratorConnection } from '../../src/connection/orchestrator-connection.js';
import { generateKey } from '../../src/crypto/fernet.js';
import { newId } from '../../src/db/dialects/encoding.js';
import type { Store } from '../../src/db/open.js';
import { getQueueElements, setQueueElementStatus } from '../../src/db/store/queues.js';
import { createTrigger, type NewTrigger } from '../../src/db/store/triggers.js';
import { createConsoleLog } from '../../src/scheduler/console-log.js';
import { Scheduler } from '../../src/scheduler/loop.js';
import { DEFAULT_INTERVAL_SECONDS } from '../../src/scheduler/options.js';
import { benchDatabase, DIALECT_LABEL, fmt, median, progress, quantile, rawDb, sleep, type LiveDialect, type Row } from './common.js';

const ROBOT = fileURLToPath(new URL('../../test/fixtures/robots/robot.mjs', import.meta.url));
const POLL_MS = DEFAULT_INTERVAL_SECONDS * 1000;
/** A due trigger's start, claim to process started (p95): the time-based target. */
const START_MS = 300;

/** The time of the robot's first line, once it has written it. */
function firstStatement(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const time = Number(readFileSync(file, 'utf8').split('\n')[0]!.split(' ')[2]);
  return Number.isFinite(time) && time > 0 ? time : undefined;
}

async function waitForStart(file: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const time = firstStatement(file);
    if (time !== undefined) return time;
    if (Date.now() > deadline) throw new Error(`the robot writing ${file} did not start within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** A latency to the process start and to the robot's first statement. */
interface Latency {
  spawned: number;
  first: number;
}

async function bareSpawn(dir: string, runs: number): Promise<Latency[]> {
  const out: Latency[] = [];
  for (let i = 0; i < runs; i++) {
    const file = join(dir, `bare-${i}`);
    const start = Date.now();
    let spawned = 0;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [ROBOT, 'bare', '', '', JSON.stringify({ file }), ''], { stdio: 'ignore' });
      child.on('spawn', () => (spawned = Date.now()));
      child.on('error', reject);
      child.on('close', () => resolve());
    });
    out.push({ spawned: spawned - start, first: firstStatement(file)! - start });
  }
  return out;
}

/** When the Scheduler logged each trigger's process as started, by trigger name. */
const spawnedAt = new Map<string, number>();

function recordSpawn(line: string): void {
  const entry = JSON.parse(line) as { event?: string; message?: string };
  const name = entry.event === 'started' ? /^"([^"]+)" runs:/.exec(entry.message ?? '')?.[1] : undefined;
  if (name) spawnedAt.set(name, Date.now());
}

async function latency(name: string, file: string, from: number, timeoutMs: number): Promise<Latency> {
  const first = await waitForStart(file, timeoutMs);
  return { spawned: (spawnedAt.get(name) ?? first) - from, first: first - from };
}

const robotTrigger = (name: string, file: string, extra: Partial<NewTrigger> = {}): NewTrigger =>
  ({ type: 'SINGLE', nextRun: new Date(), triggerName: name, processName: name, processPath: ROBOT, processArgs: JSON.stringify({ file }), isBlocking: false, ...extra }) as NewTrigger;

/** Single triggers due just over one poll from now, staggered; latency from each due time. */
async function timeBased(store: Store, dir: string, runs: number): Promise<Latency[]> {
  const first = Date.now() + POLL_MS + 1000;
  const planned: { name: string; file: string; due: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const file = join(dir, `timed-${i}`);
    const due = first + i * 700 + Math.random() * 500;
    await createTrigger(store, robotTrigger(`timed-${i}`, file, { nextRun: new Date(due) }));
    planned.push({ name: `timed-${i}`, file, due });
  }
  const out: Latency[] = [];
  for (const { name, file, due } of planned) out.push(await latency(name, file, due, POLL_MS * 3 + (due - Date.now())));
  return out;
}

/** A trigger due now, created through the store at a random point of the poll cycle. */
async function storeChanges(store: Store, dir: string, runs: number): Promise<Latency[]> {
  const out: Latency[] = [];
  for (let i = 0; i < runs; i++) {
    await sleep(200 + Math.random() * 800);
    const file = join(dir, `created-${i}`);
    const at = Date.now();
    await createTrigger(store, robotTrigger(`created-${i}`, file, { nextRun: new Date(at - 1) }));
    out.push(await latency(`created-${i}`, file, at, POLL_MS * 3));
  }
  return out;
}

/** An element added through the robot API to the queue of its own Idle queue trigger. */
async function queueArrivals(store: Store, url: string, dir: string, runs: number): Promise<Latency[]> {
  const oc = new OrchestratorConnection({ processName: 'bench-producer', connectionString: url, cryptoKey: generateKey() });
  const out: Latency[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const file = join(dir, `queued-${i}`);
      const queueName = `bench-${i}`;
      // The robot stays a while, so its element can be set Done before its trigger is Idle
      // again (the robot works no element itself); otherwise the trigger would start again.
      await createTrigger(store, robotTrigger(`queued-${i}`, file, { type: 'QUEUE', queueName, minBatchSize: 1, processArgs: JSON.stringify({ file, sleepMs: 1000 }) }));
      await sleep(200 + Math.random() * 800);
      const at = Date.now();
      await oc.createQueueElement(queueName, { reference: `r-${i}` });
      out.push(await latency(`queued-${i}`, file, at, POLL_MS * 3));
      for (const element of await getQueueElements(store, queueName)) await setQueueElementStatus(store, element.id, 'DONE');
    }
  } finally {
    await oc.close();
  }
  return out;
}

/**
 * An element inserted as the Python client inserts it (SQLAlchemy's INSERT of every column, in
 * a transaction of its own, on a connection of its own) into the queue of an Idle queue trigger.
 */
async function pythonArrivals(bench: Awaited<ReturnType<typeof benchDatabase>>, dir: string, runs: number, gapMs: number): Promise<Latency[]> {
  const { store } = bench;
  const raw = await rawDb(bench.dialect, store);
  const out: Latency[] = [];
  const params = bench.dialect === 'postgres' ? ['$1::UUID', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9', '$10'] : Array.from({ length: 10 }, () => '?');
  const insert = `INSERT INTO ${raw.q('Queues')} (id, queue_name, status, data, reference, created_date, start_date, end_date, message, created_by) VALUES (${params.join(', ')})`;
  try {
    for (let i = 0; i < runs; i++) {
      const file = join(dir, `python-${i}`);
      const queueName = `python-${i}`;
      await createTrigger(store, robotTrigger(`python-${i}`, file, { type: 'QUEUE', queueName, minBatchSize: 1, processArgs: JSON.stringify({ file, sleepMs: 1000 }) }));
      await sleep(200 + Math.random() * gapMs);
      const at = Date.now();
      await raw.transaction(async () => {
        await raw.query(insert, [store.dialect.encodeUuid(newId()), queueName, 'NEW', null, `r-${i}`, store.dialect.encodeDate(new Date()), null, null, null, null]);
      });
      out.push(await latency(`python-${i}`, file, at, POLL_MS * 3));
      for (const element of await getQueueElements(store, queueName)) await setQueueElementStatus(store, element.id, 'DONE');
    }
  } finally {
    await raw.close();
  }
  return out;
}

/** Both trigger rows inserted with plain SQL, as another program would. */
async function behindOurBack(store: Store, dir: string, runs: number): Promise<Latency[]> {
  const { db, dialect } = store;
  const out: Latency[] = [];
  for (let i = 0; i < runs; i++) {
    await sleep(200 + Math.random() * 800);
    const file = join(dir, `plain-${i}`);
    const id = dialect.encodeUuid(newId());
    const at = Date.now();
    await db
      .insertInto('Triggers')
      .values({ id, trigger_name: `plain-${i}`, process_name: `plain-${i}`, last_run: null, process_path: ROBOT, process_args: JSON.stringify({ file }), process_status: 'IDLE', is_git_repo: dialect.encodeBool(false), git_branch: null, is_blocking: dialect.encodeBool(false), type: 'SINGLE', scheduler_whitelist: '[]', priority: 0 })
      .execute();
    await db.insertInto('Single_Triggers').values({ id, next_run: dialect.encodeDate(new Date(at - 1000)) }).execute();
    out.push(await latency(`plain-${i}`, file, at, POLL_MS * 3));
  }
  return out;
}

export async function benchDispatch(dialect: LiveDialect, runs: number, idle: number): Promise<Row[]> {
  const bench = await benchDatabase(dialect);
  const { store } = bench;
  const dir = mkdtempSync(join(tmpdir(), 'oo-bench-'));
  const label = `dispatch ${DIALECT_LABEL[dialect]} ${idle} idle triggers`;
  const far = new Date('2099-01-01T00:00:00');
  for (let i = 0; i < idle; i++) {
    await createTrigger(store, { type: 'SINGLE', nextRun: far, triggerName: `idle-${i}`, processName: `idle-${i}`, processPath: ROBOT, processArgs: '{}', isBlocking: false });
  }
  spawnedAt.clear();
  const log = createConsoleLog({ json: true, write: recordSpawn });
  const scheduler = new Scheduler({ connectionString: bench.url, cryptoKey: generateKey(), machineName: 'bench', intervalSeconds: DEFAULT_INTERVAL_SECONDS, workDir: dir }, log);
  const running = scheduler.run();
  const measured: { what: string; values: Latency[]; target: number; metric: 'p95' | 'max' }[] = [];
  try {
    await sleep(1500);
    measured.push({ what: 'time-based trigger (due-time timer)', values: await timeBased(store, dir, runs), target: START_MS, metric: 'p95' });
    if (dialect === 'postgres') {
      measured.push({ what: 'trigger created through the store (database notification)', values: await storeChanges(store, dir, runs), target: 200, metric: 'p95' });
      measured.push({ what: 'queue element through the robot API (database notification)', values: await queueArrivals(store, bench.url, dir, runs), target: 200, metric: 'p95' });
      measured.push({ what: "queue element with the Python client's SQL (database notification)", values: await pythonArrivals(bench, dir, runs, 800), target: 200, metric: 'p95' });
      measured.push({ what: 'trigger inserted with plain SQL (database notification)', values: await behindOurBack(store, dir, runs), target: 200, metric: 'p95' });
    } else {
      // No notifications: the next poll's change check (SQLite: its change probe too). An element
      // added just after a poll waits one whole interval for it, then starts as a due trigger does.
      measured.push({ what: "queue element with the Python client's SQL (change check)", values: await pythonArrivals(bench, dir, Math.max(3, Math.round(runs / 2)), POLL_MS), target: POLL_MS + START_MS, metric: 'max' });
    }
  } finally {
    scheduler.stop();
    await running;
  }
  const bare = await bareSpawn(dir, runs);
  rmSync(dir, { recursive: true, force: true });
  await bench.close();
  const bareSpawned = bare.map((b) => b.spawned);
  const bareFirst = bare.map((b) => b.first);
  const rows: Row[] = [];
  for (const { what, values, target, metric } of measured) {
    const spawned = values.map((v) => v.spawned);
    const first = values.map((v) => v.first);
    const ours = metric === 'p95' ? quantile(spawned, 0.95) : Math.max(...spawned);
    const bareOurs = metric === 'p95' ? quantile(bareSpawned, 0.95) : Math.max(...bareSpawned);
    progress(`${label}, ${what}: process started ${metric} ${fmt(ours)} ms (median ${fmt(median(spawned))}), first statement p95 ${fmt(quantile(first, 0.95))} ms; bare spawn p95 ${fmt(quantile(bareSpawned, 0.95))} / ${fmt(quantile(bareFirst, 0.95))} ms`);
    const common = { bench: `dispatch (${DEFAULT_INTERVAL_SECONDS} s poll): ${what}`, dialect: DIALECT_LABEL[dialect], size: `${idle} idle triggers, ${values.length} runs`, unit: 'ms' };
    rows.push({ ...common, metric: `${metric} to process start`, ours, baselineName: 'bare spawn, to its spawn event', baseline: bareOurs, ratio: ours / bareOurs, target: `< ${target} ms`, met: ours < target });
    rows.push({ ...common, metric: 'median to process start', ours: median(spawned), baselineName: 'bare spawn, to its spawn event', baseline: median(bareSpawned), ratio: median(spawned) / median(bareSpawned), target: '', met: null });
    rows.push({ ...common, metric: 'p95 to first statement', ours: quantile(first, 0.95), baselineName: 'bare spawn, to first statement', baseline: quantile(bareFirst, 0.95), ratio: quantile(first, 0.95) / quantile(bareFirst, 0.95), target: '', met: null });
  }
  return rows;
}
