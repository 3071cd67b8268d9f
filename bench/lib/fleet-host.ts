/**
 * One child process of the fleet benchmark (bench/lib/fleet.ts), started with
 * `node --import tsx` and driven over IPC. It hosts members of one kind:
 *
 * - `scheduler`: the real Scheduler (src/scheduler/loop.ts), each with its own Store (its own
 *   pool), at the default poll interval, started at a random point of one interval;
 * - `bare`: one bare driver connection each, sending `SELECT 1` and then sleeping one interval
 *   (the floor a tick could cost: one round trip).
 *
 * It counts ticks (bare: rounds) and the statements the drivers sent (pg's Client.query and
 * mysql2's Connection.query/execute, counted before they go out), and the first tick of each
 * member, so the parent knows when the fleet is up. `stop` ends every member and starts the
 * counts again (the host serves the next fleet). When the parent goes away (even killed), the
 * IPC channel closes and this process stops its members and exits.
 */
import { mkdirSync } from 'node:fs';
import mysql from 'mysql2';
import pg from 'pg';
import { parseConnectionString } from '../../src/config/connection-string.js';
import type { ConsoleLog } from '../../src/scheduler/console-log.js';
import { Scheduler } from '../../src/scheduler/loop.js';
import { DEFAULT_INTERVAL_SECONDS } from '../../src/scheduler/options.js';

/** What the parent asks; every request carries an id its answer repeats. */
export type HostRequest =
  | { id: number; kind: 'start'; mode: 'scheduler' | 'bare'; url: string; names: string[]; cryptoKey: string; workDir: string; warmTicks: number }
  | { id: number; kind: 'counts' }
  | { id: number; kind: 'stop' };

export interface HostCounts {
  /** members started so far */
  members: number;
  /** members that have finished their first tick (bare: first round) */
  ready: number;
  /** members that have finished the start request's `warmTicks` ticks (bare: rounds) */
  warm: number;
  ticks: number;
  statements: number;
  /** the first few problems (Scheduler warnings and errors, failed rounds), one line each */
  problems: string[];
}

export type HostAnswer = { id: number; counts: HostCounts } | { id: number; error: string };

const INTERVAL_MS = DEFAULT_INTERVAL_SECONDS * 1000;
/** Warnings that an idle Scheduler gives by design where it runs (PgBouncer cannot carry LISTEN). */
const EXPECTED_WARNINGS = new Set(['wake-unsupported']);

const counts: HostCounts = { members: 0, ready: 0, warm: 0, ticks: 0, statements: 0, problems: [] };

/** One Scheduler or bare connection; `stop` ends it and waits for the end. */
interface Member {
  stopped: boolean;
  stop(): Promise<void>;
}
let members: Member[] = [];
const timers = new Set<NodeJS.Timeout>();

function problem(line: string): void {
  if (counts.problems.length < 5) counts.problems.push(line);
}

// Counted in the driver: every statement of the Store, the listener and the bare connections.
const pgQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  counts.statements++;
  return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pgQuery;
const mysqlPrototype = mysql.Connection.prototype as unknown as Record<'query' | 'execute', (...a: unknown[]) => unknown>;
for (const method of ['query', 'execute'] as const) {
  const original = mysqlPrototype[method];
  mysqlPrototype[method] = function (this: unknown, ...args: unknown[]) {
    counts.statements++;
    return original.apply(this, args);
  };
}

let warmTicks = 1;

/** One member's tick (bare: round) number `own` is done. */
function counted(own: number): void {
  counts.ticks++;
  if (own === 1) counts.ready++;
  if (own === warmTicks) counts.warm++;
}

function later(ms: number, fn: () => void): void {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
}

function fleetLog(name: string): ConsoleLog {
  const report = (level: string) => (event: string, message: string) => {
    if (!EXPECTED_WARNINGS.has(event)) problem(`${name} ${level} ${event}: ${message}`);
  };
  return { debug: () => undefined, info: () => undefined, warn: report('warn'), error: report('error') };
}

function startScheduler(name: string, url: string, cryptoKey: string, workDir: string): void {
  const scheduler = new Scheduler({ connectionString: url, cryptoKey, machineName: name, intervalSeconds: DEFAULT_INTERVAL_SECONDS, workDir }, fleetLog(name));
  let own = 0;
  const tick = scheduler.tick.bind(scheduler);
  // The real tick, counted: run() calls this.tick(), which finds this own property first.
  scheduler.tick = async () => {
    await tick();
    counted(++own);
  };
  let running: Promise<void> | undefined;
  const member: Member = {
    stopped: false,
    async stop() {
      member.stopped = true;
      scheduler.stop();
      await running;
    },
  };
  members.push(member);
  later(Math.random() * INTERVAL_MS, () => {
    if (member.stopped) return;
    running = scheduler.run().catch((error: Error) => problem(`${name} stopped: ${error.message}`));
  });
}

/** A bare connection: connect, then `SELECT 1` and one interval's sleep, until stopped. */
function startBare(name: string, url: string): void {
  const config = parseConnectionString(url);
  const options = { host: config.host, port: config.port, user: config.user, password: config.password, database: config.database };
  let send: () => Promise<unknown>;
  let close: () => Promise<void>;
  if (config.dialect === 'postgres') {
    const client = new pg.Client(options);
    client.on('error', (error) => problem(`${name}: ${error.message}`));
    const connected = client.connect();
    send = async () => {
      await connected;
      return client.query('SELECT 1');
    };
    close = () => client.end().catch(() => undefined);
  } else {
    const connection = mysql.createConnection(options);
    connection.on('error', (error) => problem(`${name}: ${error.message}`));
    send = () => new Promise((resolve, reject) => connection.query('SELECT 1', (error, rows) => (error ? reject(error) : resolve(rows))));
    close = () => new Promise((resolve) => connection.end(() => resolve()));
  }
  let own = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  const member: Member = {
    stopped: false,
    async stop() {
      member.stopped = true;
      await inFlight;
      await close();
    },
  };
  members.push(member);
  const round = () => {
    if (member.stopped) return;
    inFlight = send()
      .then(() => counted(++own))
      .catch((error: Error) => problem(`${name}: ${error.message}`))
      .finally(() => later(INTERVAL_MS, round));
  };
  later(Math.random() * INTERVAL_MS, round);
}

/** Ends every member and starts the counts again (the host stays for the next fleet). */
async function stopAll(): Promise<void> {
  const ending = members;
  members = [];
  for (const member of ending) member.stopped = true;
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  await Promise.all(ending.map((member) => member.stop().catch(() => undefined)));
  Object.assign(counts, { members: 0, ready: 0, warm: 0, ticks: 0, statements: 0, problems: [] });
}

async function handle(request: HostRequest): Promise<HostAnswer> {
  if (request.kind === 'start') {
    mkdirSync(request.workDir, { recursive: true });
    warmTicks = request.warmTicks;
    for (const name of request.names) {
      if (request.mode === 'scheduler') startScheduler(name, request.url, request.cryptoKey, request.workDir);
      else startBare(name, request.url);
      counts.members++;
    }
  } else if (request.kind === 'stop') {
    await stopAll();
  }
  return { id: request.id, counts: { ...counts, problems: [...counts.problems] } };
}

process.on('message', (request: HostRequest) => {
  handle(request)
    .then((answer) => process.send?.(answer))
    .catch((error: Error) => process.send?.({ id: request.id, error: error.message }));
});

// The parent is gone (it finished, failed or was killed): stop and leave, whatever hangs.
process.on('disconnect', () => {
  setTimeout(() => process.exit(1), 10_000).unref();
  void stopAll().finally(() => process.exit(0));
});

process.send?.({ id: 0, counts });
