/**
 * Fleet: what idle Schedulers cost the database. N simulated Schedulers, each the real
 * Scheduler (src/scheduler/loop.ts) with its own Store and so its own pool (the pool size is
 * fixed at 10 in the dialects; an idle Scheduler holds one pool connection, plus its LISTEN
 * connection on PostgreSQL: the rows say how many), idle at the default 6 s poll interval,
 * hosted in 4 child processes (bench/lib/fleet-host.ts) so one event loop is not the
 * bottleneck, against a database holding a realistic set of triggers: 200 idle triggers, of
 * which 60 queue triggers on queues with history but no New element (issue 24), 5 single
 * triggers and the rest scheduled triggers due in hours, and 1k rows each in Logs and Queues.
 * Four tasks per server, each on its own database, so a failure (another session restarting
 * the server, say) costs only its rows:
 *
 * - sizes: 10, 50, 100 and the largest fleet the connection limit allows (max_connections,
 *   minus the reserved slots, minus what is connected now, minus HEADROOM for the other
 *   sessions on these shared servers), measured after the first size shows what one Scheduler
 *   holds; the sizes that do not fit are skipped and said so;
 * - via PgBouncer (PostgreSQL): 500 Schedulers through a real PgBouncer in transaction mode
 *   (test/helpers/pgbouncer.ts), where LISTEN cannot work and each Scheduler polls;
 * - growth: two fleets of 50 Schedulers (or half of what fits each) side by side in the same
 *   window, one on a database with 1k rows each in Logs and Queues, one on a database with 1M
 *   (generated on the server, as dashboard.ts and lists.ts do), so the machine's changing load
 *   weighs on both alike;
 * - queue triggers: the same side by side, 10 against 60 queue triggers among the 200 (1k rows):
 *   an idle tick must not grow with the number of queue triggers (issue 24, change tracking).
 *
 * Each figure is taken over a steady window that starts once every Scheduler has finished a
 * first tick and the start-up connections have closed, and on PostgreSQL once every Scheduler
 * has had WARM_TICKS ticks (its named statements past their first, freshly planned runs: a
 * Scheduler runs for days, and those first ~100 s are not what it costs). Database CPU comes
 * from the server's
 * process accounting, in two ways:
 * - own connections (the target's figure): only the backends (PostgreSQL, pg_stat_activity)
 *   or threads (MariaDB, information_schema.PROCESSLIST.TID) serving connections to the bench's
 *   database, their on-CPU time from /proc/<pid>[/task/<tid>]/schedstat in ns. What the fleet's
 *   statements cost the server; other sessions do not move it, and no idle subtraction is
 *   needed (an idle connection costs nothing). Background work (WAL writer, checkpointer,
 *   InnoDB purge) is not in it;
 * - server-wide: PostgreSQL, every child of the postmaster (schedstat, since utime+stime would
 *   round each of ~100 processes to 10 ms) plus the postmaster's cutime+cstime for the children
 *   that exited during the window (minus what they had used before it); MariaDB, mariadbd's
 *   utime+stime from /proc/<pid>/stat (ticks of `getconf CLK_TCK`). Minus an idle-server window
 *   of the same task. Everything else the server does counts too, so on these shared servers
 *   (other test runs) this figure is noise and only informational; on a quiet server it adds
 *   the background work to the first.
 * Per tick: divided by the ticks the hosts counted in the window (each Scheduler's tick()).
 * Statements per tick: counted in the driver (pg Client.query, mysql2 query/execute); the
 * server's counter is in the note (PostgreSQL: xact_commit + xact_rollback of the bench's
 * database, which a backend flushes only together with table statistics, so `SELECT 1` hardly
 * shows; MariaDB: Questions, server-wide).
 *
 * Baseline: as many bare connections, each sending `SELECT 1` and sleeping one poll interval,
 * hosted and measured the same way: the floor of one round trip per tick, so the ratio says
 * how many such round trips an idle tick costs. Growth's baseline is the same fleet at 1k
 * rows. Targets (issue 13): at most 0.5 ms database CPU per idle tick, at most 1.1x from 1k
 * to 1M rows.
 *
 * Cleanup: a host process ends when its IPC channel closes (the bench finished, failed or was
 * killed); on SIGINT/SIGTERM the hosts and PgBouncer are killed; databases are dropped.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { generateKey } from '../../src/crypto/fernet.js';
import { createTrigger } from '../../src/db/store/triggers.js';
import { resolveTsxLoader } from '../../src/scheduler/entry.js';
import { heartbeatEveryMs } from '../../src/scheduler/loop.js';
import { DEFAULT_INTERVAL_SECONDS } from '../../src/scheduler/options.js';
import { formatNaive } from '../../src/time/clock.js';
import { startPgBouncer, type Bouncer } from '../../test/helpers/pgbouncer.js';
import { benchDatabase, DIALECT_LABEL, fmt, mysqlConfig, pgConfig, progress, rawDb, sleep, type BenchDatabase, type RawDb, type Row } from './common.js';
import type { HostAnswer, HostCounts, HostRequest } from './fleet-host.js';

export type FleetDialect = 'postgres' | 'mysql';

const HOST = fileURLToPath(new URL('./fleet-host.ts', import.meta.url));
const ROBOT = fileURLToPath(new URL('../../test/fixtures/robots/robot.mjs', import.meta.url));
const HOSTS = 4;
const CANDIDATE_SIZES = [10, 50, 100];
const BOUNCER_SIZE = 500;
const GROWTH_SIZE = 50;
/** Connections left free for other sessions (other test runs share these servers). */
const HEADROOM = 40;
const TARGET_TICK_MS = 0.5;
const TARGET_GROWTH = 1.1;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const NS_PER_TICK = 1e9 / CLK_TCK;
const INTERVAL_MS = DEFAULT_INTERVAL_SECONDS * 1000;
/**
 * Ticks after which a Scheduler on PostgreSQL is measured as it runs for days. PostgreSQL plans a
 * named statement afresh on each of its first five runs before it settles on the cached plan; the
 * poll runs every tick and the poll that carries the heartbeat every third, so its sixth run is
 * tick 16. Those first ticks cost 2-3x a settled one (docs/performance.md).
 */
const WARM_TICKS = 17;
/**
 * After the last first tick: pg-pool closes a connection idle for 10 s (a Scheduler's start
 * briefly uses two: its first tick and the listener's proof notification), and a listener
 * behind PgBouncer gives up after 5 s.
 */
const SETTLE_MS: Record<FleetDialect, number> = { postgres: 11_000, mysql: 2_000 };

interface FleetPlan {
  windowMs: number;
  rows: { small: number; large: number };
  bouncerSize: number;
}

// ---------------------------------------------------------------------------------------------
// Process accounting (/proc)

interface ProcStat {
  state: string;
  ppid: number;
  /** utime + stime, ns */
  ownNs: number;
  /** cutime + cstime (children that exited and were waited for), ns */
  childrenNs: number;
}

function readStat(path: string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0]!, ppid: Number(f[1]), ownNs: (Number(f[11]) + Number(f[12])) * NS_PER_TICK, childrenNs: (Number(f[13]) + Number(f[14])) * NS_PER_TICK };
}

/** On-CPU time of one task in ns (the scheduler's own sum, not rounded to clock ticks). */
function runtimeNs(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** CPU used so far by a set of processes, and by those of them that have exited. */
interface CpuReading {
  live: Map<number, number>;
  exitedNs: number;
}

/** ns used between two readings: living processes' growth, plus the exited ones' time after `a`. */
function cpuBetween(a: CpuReading, b: CpuReading): number {
  let ns = b.exitedNs - a.exitedNs;
  for (const [pid, used] of b.live) ns += used - (a.live.get(pid) ?? 0);
  // An exited child's whole life landed in exitedNs; what it had used before `a` is not ours.
  for (const [pid, used] of a.live) if (!b.live.has(pid)) ns -= used;
  return ns;
}

function postgresServerCpu(postmaster: number): CpuReading {
  const self = readStat(`/proc/${postmaster}/stat`);
  if (!self) throw new Error(`the PostgreSQL postmaster (pid ${postmaster}) is gone: the server stopped or restarted during the measurement`);
  const live = new Map<number, number>([[postmaster, runtimeNs(`/proc/${postmaster}/schedstat`) ?? self.ownNs]]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(`/proc/${entry}/stat`);
    if (stat?.ppid !== postmaster || stat.state === 'Z') continue;
    const ns = runtimeNs(`/proc/${entry}/schedstat`);
    if (ns !== undefined) live.set(Number(entry), ns);
  }
  return { live, exitedNs: self.childrenNs };
}

function processCpu(pid: number): CpuReading {
  const stat = readStat(`/proc/${pid}/stat`);
  if (!stat) throw new Error(`the database server process (pid ${pid}) is gone: the server stopped or restarted during the measurement`);
  return { live: new Map([[pid, stat.ownNs]]), exitedNs: 0 };
}

function assertLocal(pid: number, name: string): void {
  const comm = (() => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  })();
  if (comm !== name) throw new Error(`the fleet bench reads the database server's CPU time from /proc: run it on the server's machine (pid ${pid} is not ${name} here)`);
}

/** Accepted client connections of a local listener on `port` (IPv4), from /proc/net/tcp. */
function establishedTo(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => {
      const f = line.trim().split(/\s+/);
      return f[1]?.endsWith(`:${hex}`) && f[3] === '01';
    }).length;
}

// ---------------------------------------------------------------------------------------------
// The server side: what one database server reports

interface Probe {
  serverCpu(): CpuReading;
  /** on-CPU ns of each connection to `database` now, by connection */
  connectionCpu(database: string): Promise<Map<string, number>>;
  /** whether a connection first seen in a window started in it (its whole time is the fleet's) */
  freshConnections: boolean;
  /** statements the server counted (PostgreSQL: in `database`; MariaDB: all) */
  serverStatements(database: string): Promise<number>;
  /** connections to `database` now */
  connections(database: string): Promise<number>;
  /** how many more connections may be opened, keeping HEADROOM free */
  spareConnections(): Promise<number>;
  close(): Promise<void>;
}

async function postgresProbe(bench: BenchDatabase): Promise<Probe> {
  const admin = new pg.Client({ ...pgConfig(bench.store), database: 'postgres' });
  await admin.connect();
  const one = async <T>(text: string, params: unknown[] = []) => (await admin.query(text, params)).rows[0] as T;
  const { pid } = await one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const postmaster = readStat(`/proc/${pid}/stat`)?.ppid ?? -1;
  assertLocal(postmaster, 'postgres');
  return {
    serverCpu: () => postgresServerCpu(postmaster),
    async connectionCpu(database) {
      const rows = (await admin.query("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'", [database])).rows as { pid: number }[];
      const out = new Map<string, number>();
      for (const row of rows) {
        const ns = runtimeNs(`/proc/${row.pid}/schedstat`);
        if (ns !== undefined) out.set(String(row.pid), ns);
      }
      return out;
    },
    freshConnections: true,
    serverStatements: async (database) => Number((await one<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [database])).n),
    connections: async (database) => Number((await one<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'", [database])).n),
    async spareConnections() {
      const row = await one<{ max: number; reserved: number; used: string }>(
        "SELECT current_setting('max_connections')::int AS max, current_setting('superuser_reserved_connections')::int AS reserved, (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS used",
      );
      return row.max - row.reserved - Number(row.used) - HEADROOM;
    },
    close: () => admin.end(),
  };
}

async function mysqlProbe(bench: BenchDatabase): Promise<Probe> {
  const admin = await mysql.createConnection({ ...mysqlConfig(bench.store), database: 'mysql' });
  const rows = async <T>(text: string, params: unknown[] = []) => (await admin.query(text, params))[0] as T[];
  const [own] = await rows<{ TID: number }>('SELECT TID FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()');
  if (own?.TID === undefined) throw new Error('this MariaDB does not show thread ids (information_schema.PROCESSLIST.TID): the fleet bench needs MariaDB 10.x or later');
  const status = (() => {
    try {
      return readFileSync(`/proc/${own.TID}/status`, 'utf8');
    } catch {
      return '';
    }
  })();
  const server = Number(/^Tgid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
  assertLocal(server, 'mariadbd');
  const statusValue = async (name: string) => Number((await rows<{ Value: string }>('SHOW GLOBAL STATUS LIKE ?', [name]))[0]?.Value ?? NaN);
  return {
    serverCpu: () => processCpu(server),
    async connectionCpu(database) {
      const out = new Map<string, number>();
      for (const row of await rows<{ ID: number; TID: number }>('SELECT ID, TID FROM information_schema.PROCESSLIST WHERE DB = ?', [database])) {
        const ns = runtimeNs(`/proc/${server}/task/${row.TID}/schedstat`);
        if (ns !== undefined) out.set(`${row.ID}:${row.TID}`, ns);
      }
      return out;
    },
    // A new connection may run on a cached thread whose earlier work is not the fleet's.
    freshConnections: false,
    serverStatements: () => statusValue('Questions'),
    connections: async (database) => Number((await rows<{ n: number }>('SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?', [database]))[0]!.n),
    async spareConnections() {
      const [row] = await rows<{ max: number }>('SELECT @@max_connections AS max');
      return row!.max - (await statusValue('Threads_connected')) - HEADROOM;
    },
    close: () => admin.end(),
  };
}

// ---------------------------------------------------------------------------------------------
// The hosts

/** A request without its id (Omit over each member of the union). */
type HostRequestBody = HostRequest extends infer R ? (R extends HostRequest ? Omit<R, 'id'> : never) : never;

/** Child processes that sigkill with `kill()` when the bench is interrupted. */
const interruptKills = new Set<() => void>();

function onInterrupt(signal: NodeJS.Signals): void {
  for (const kill of interruptKills) kill();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

class Hosts {
  readonly #children: ChildProcess[];
  readonly #pending = new Map<number, { resolve(counts: HostCounts): void; reject(error: Error): void }>();
  #next = 1;
  readonly #kill = () => {
    for (const child of this.#children) child.kill('SIGKILL');
  };

  private constructor(children: ChildProcess[]) {
    this.#children = children;
    interruptKills.add(this.#kill);
  }

  /** Starts `count` host processes and waits until each has loaded. */
  static async spawn(count: number): Promise<Hosts> {
    const loader = resolveTsxLoader();
    const children: ChildProcess[] = [];
    const hosts = new Hosts(children);
    const loaded: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const child = fork(HOST, [], { execArgv: ['--import', loader], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      children.push(child);
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
      loaded.push(
        new Promise<void>((resolve, reject) => {
          const early = () => reject(new Error(`a fleet host exited while loading: ${stderr.trim().split('\n').at(-1) ?? ''}`));
          child.once('exit', early);
          child.once('message', () => {
            child.off('exit', early);
            resolve();
          });
        }),
      );
      child.on('message', (answer: HostAnswer) => {
        const waiting = hosts.#pending.get(answer.id);
        if (!waiting) return;
        hosts.#pending.delete(answer.id);
        if ('error' in answer) waiting.reject(new Error(`fleet host: ${answer.error}`));
        else waiting.resolve(answer.counts);
      });
      child.on('exit', (code, signal) => {
        for (const [id, waiting] of hosts.#pending) {
          hosts.#pending.delete(id);
          waiting.reject(new Error(`a fleet host exited (${code ?? signal}): ${stderr.trim().split('\n').at(-1) ?? ''}`));
        }
      });
    }
    try {
      await Promise.all(loaded);
    } catch (error) {
      await hosts.close();
      throw error;
    }
    return hosts;
  }

  #ask(child: ChildProcess, request: HostRequestBody, timeoutMs = 30_000): Promise<HostCounts> {
    const id = this.#next++;
    return new Promise<HostCounts>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`a fleet host did not answer "${request.kind}" within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (counts) => {
          clearTimeout(timer);
          resolve(counts);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send({ ...request, id } as HostRequest);
    });
  }

  /** Spreads the members named over the hosts, round-robin. */
  async start(mode: 'scheduler' | 'bare', url: string, names: string[], cryptoKey: string, workDir: string): Promise<void> {
    await Promise.all(this.#children.map((child, i) => this.#ask(child, { kind: 'start', mode, url, names: names.filter((_, j) => j % this.#children.length === i), cryptoKey, workDir, warmTicks: WARM_TICKS })));
  }

  async counts(): Promise<HostCounts> {
    const all = await Promise.all(this.#children.map((child) => this.#ask(child, { kind: 'counts' })));
    return all.reduce((sum, c) => ({ members: sum.members + c.members, ready: sum.ready + c.ready, warm: sum.warm + c.warm, ticks: sum.ticks + c.ticks, statements: sum.statements + c.statements, problems: [...sum.problems, ...c.problems] }), {
      members: 0,
      ready: 0,
      warm: 0,
      ticks: 0,
      statements: 0,
      problems: [],
    });
  }

  /** Waits until every member has finished its first tick (`warm`: WARM_TICKS ticks); fails on the first problem a host reports. */
  async waitReady(timeoutMs: number, what: 'ready' | 'warm' = 'ready'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await this.counts();
      assertNoProblems(c);
      if (c[what] >= c.members) return;
      const ticks = what === 'ready' ? 'a first tick' : `${WARM_TICKS} ticks`;
      if (Date.now() > deadline) throw new Error(`only ${c[what]} of ${c.members} fleet members finished ${ticks} within ${timeoutMs / 1000} s`);
      await sleep(250);
    }
  }

  /** Stops every member (the hosts stay, their counts start again). */
  async clear(): Promise<void> {
    await Promise.all(this.#children.filter((c) => c.connected).map((child) => this.#ask(child, { kind: 'stop' }, 60_000).catch(() => undefined)));
  }

  /** Stops every member, then the processes (killed if they do not leave). */
  async close(): Promise<void> {
    await this.clear();
    await Promise.all(
      this.#children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        if (child.connected) child.disconnect();
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    interruptKills.delete(this.#kill);
  }
}

function assertNoProblems(c: HostCounts): void {
  if (c.problems.length > 0) throw new Error(`the fleet reported a problem: ${c.problems[0]}`);
}

// ---------------------------------------------------------------------------------------------
// Windows

interface Window {
  seconds: number;
  members: number;
  serverNs: number;
  connectionNs: number;
  /** connections seen only at the start or only at the end of the window */
  churn: number;
  ticks: number;
  statements: number;
  serverStatements: number;
  connections: number;
  /** PgBouncer's own CPU, when the fleet goes through it */
  bouncerNs?: number;
  bouncerClients?: number;
}

function connectionsBetween(a: Map<string, number>, b: Map<string, number>, fresh: boolean): { ns: number; churn: number } {
  let ns = 0;
  let churn = 0;
  for (const [key, used] of b) {
    const before = a.get(key);
    if (before !== undefined) ns += used - before;
    else {
      churn++;
      if (fresh) ns += used;
    }
  }
  for (const key of a.keys()) if (!b.has(key)) churn++;
  return { ns, churn };
}

const NO_COUNTS: HostCounts = { members: 0, ready: 0, warm: 0, ticks: 0, statements: 0, problems: [] };

/** One fleet in a window: its hosts (none for the idle server) and the database it uses. */
interface Part {
  hosts?: Hosts;
  database: string;
}

/**
 * One window over one or more fleets at once (the growth runs two side by side): each part's
 * own connections and counts, the server-wide time shared.
 */
async function measureWindows(probe: Probe, parts: Part[], ms: number, bouncer?: Bouncer): Promise<Window[]> {
  const look = async () => ({
    counts: await Promise.all(parts.map((p) => p.hosts?.counts() ?? NO_COUNTS)),
    server: probe.serverCpu(),
    bouncer: bouncer ? runtimeNs(`/proc/${bouncer.pid}/schedstat`) : undefined,
    connections: await Promise.all(parts.map((p) => probe.connectionCpu(p.database))),
    statements: await Promise.all(parts.map((p) => probe.serverStatements(p.database))),
    at: performance.now(),
  });
  const a = await look();
  await sleep(ms);
  const b = await look();
  const seconds = (b.at - a.at) / 1000;
  const serverNs = cpuBetween(a.server, b.server);
  return Promise.all(
    parts.map(async (part, i) => {
      const c0 = a.counts[i]!;
      const c1 = b.counts[i]!;
      assertNoProblems(c1);
      const own = connectionsBetween(a.connections[i]!, b.connections[i]!, probe.freshConnections);
      return {
        seconds,
        members: c1.members,
        serverNs,
        connectionNs: own.ns,
        churn: own.churn,
        ticks: c1.ticks - c0.ticks,
        statements: c1.statements - c0.statements,
        serverStatements: b.statements[i]! - a.statements[i]!,
        connections: await probe.connections(part.database),
        ...(bouncer && a.bouncer !== undefined && b.bouncer !== undefined ? { bouncerNs: b.bouncer - a.bouncer, bouncerClients: establishedTo(bouncer.port) } : {}),
      };
    }),
  );
}

/** Connections to `database` once the count has stopped moving (closed ones take a moment to go). */
async function steadyConnections(probe: Probe, database: string): Promise<number> {
  let last = await probe.connections(database);
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const now = await probe.connections(database);
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** A window's figures per tick and per second, the idle server's rate taken off the server-wide one. */
interface Figures {
  size: number;
  serverTickMs: number;
  serverPerSecondMs: number;
  connectionTickMs: number;
  statementsPerTick: number;
  serverStatementsPerTick: number;
  connectionsPerMember: number;
  ticksPerMemberInterval: number;
  bouncerTickMs?: number;
  churn: number;
}

function figures(w: Window, idle: Window, connectionsBefore: number): Figures {
  const extraNs = w.serverNs - (idle.serverNs / idle.seconds) * w.seconds;
  const ticks = Math.max(1, w.ticks);
  return {
    size: w.members,
    serverTickMs: extraNs / ticks / 1e6,
    serverPerSecondMs: extraNs / w.seconds / 1e6,
    connectionTickMs: w.connectionNs / ticks / 1e6,
    statementsPerTick: w.statements / ticks,
    serverStatementsPerTick: w.serverStatements / ticks,
    connectionsPerMember: ((w.bouncerClients ?? w.connections) - connectionsBefore) / Math.max(1, w.members),
    ticksPerMemberInterval: w.ticks / Math.max(1, w.members) / (w.seconds / DEFAULT_INTERVAL_SECONDS),
    ...(w.bouncerNs !== undefined ? { bouncerTickMs: w.bouncerNs / ticks / 1e6 } : {}),
    churn: w.churn,
  };
}

function describe(label: string, f: Figures): string {
  return (
    `${label}: ${f.size} members, server ${fmt(f.serverTickMs)} ms/tick (${fmt(f.serverPerSecondMs)} ms/s over idle), own connections ${fmt(f.connectionTickMs)} ms/tick, ` +
    `${fmt(f.statementsPerTick)} statements/tick (server counted ${fmt(f.serverStatementsPerTick)}), ${fmt(f.connectionsPerMember)} connections each, ` +
    `${fmt(f.ticksPerMemberInterval)} ticks per member per interval${f.bouncerTickMs !== undefined ? `, PgBouncer ${fmt(f.bouncerTickMs)} ms/tick` : ''}${f.churn ? `, ${f.churn} connections came or went` : ''}`
  );
}

// ---------------------------------------------------------------------------------------------
// Data

/** Triggers in an idle fleet's database. */
const TRIGGERS = 200;
/** Queue triggers among them, by default: the issue's team (issue 24). */
const QUEUE_TRIGGERS = 60;
/** Queue names in the generated rows; the first HISTORY_QUEUES hold only Done and Failed elements. */
const QUEUE_NAMES = 100;
const HISTORY_QUEUES = 60;

/** Triggers an idle fleet sees: none due for hours, `queues` queue triggers on queues with history but no New element. */
async function seedTriggers(bench: BenchDatabase, queues: number): Promise<void> {
  if (queues > HISTORY_QUEUES) throw new Error(`the fleet's rows have ${HISTORY_QUEUES} queues with history only; ${queues} queue triggers would find New elements`);
  const hours = (h: number) => new Date(Date.now() + h * 3_600_000);
  const common = { processPath: ROBOT, processArgs: '{}', isBlocking: false };
  for (let i = 0; i < TRIGGERS - queues - 5; i++) {
    await createTrigger(bench.store, { ...common, type: 'SCHEDULED', triggerName: `scheduled-${i}`, processName: `process-${i}`, cronExpr: `${(i * 7) % 60} 3 * * *`, nextRun: hours(3 + i / 4) });
  }
  for (let i = 0; i < queues; i++) {
    await createTrigger(bench.store, { ...common, type: 'QUEUE', triggerName: `queue-${i}`, processName: `worker-${i}`, queueName: `fleet-queue-${i}`, minBatchSize: 1 + (i % 3) });
  }
  for (let i = 0; i < 5; i++) {
    await createTrigger(bench.store, { ...common, type: 'SINGLE', triggerName: `single-${i}`, processName: `once-${i}`, nextRun: hours(2 + i) });
  }
}

/**
 * Rows first..last of Logs and Queues, generated on the server: logs of 20 processes, elements
 * in 100 queues; the 60 queues a trigger may watch hold only Done and Failed elements (so the
 * fleet stays idle), the others every status. Ids count up (the row number in hex), so the inserts
 * append to the primary key: random ids made MariaDB take 13 minutes for 1M rows on a busy
 * server (InnoDB clusters rows by primary key), where this takes about one.
 */
async function seedRows(raw: RawDb, dialect: FleetDialect, first: number, last: number, label: string): Promise<void> {
  const start = formatNaive(new Date(Date.now() - 30 * 24 * 3_600_000)).slice(0, 19);
  const step = 2.5; // seconds between rows: 1M rows span the 30 days
  const g = dialect === 'mysql' ? 'seq' : 'g';
  const level = `CASE ${g} % 3 WHEN 0 THEN 'TRACE' WHEN 1 THEN 'INFO' ELSE 'ERROR' END`;
  const status = `CASE WHEN ${g} % ${QUEUE_NAMES} < ${HISTORY_QUEUES} THEN (CASE WHEN ${g} % 20 = 3 THEN 'FAILED' ELSE 'DONE' END) ELSE (CASE ${g} % 20 WHEN 0 THEN 'NEW' WHEN 1 THEN 'NEW' WHEN 2 THEN 'IN_PROGRESS' WHEN 3 THEN 'FAILED' WHEN 5 THEN 'ABANDONED' ELSE 'DONE' END) END`;
  const chunk = 100_000;
  for (let a = first; a <= last; a += chunk) {
    const b = Math.min(last, a + chunk - 1);
    if (dialect === 'postgres') {
      const time = `timestamp '${start}' + g * interval '${step} seconds'`;
      const from = `FROM generate_series(${a}, ${b}) g`;
      await raw.query(`INSERT INTO "Logs" (id, log_time, log_level, process_name, log_message) SELECT lpad(to_hex(g), 32, '0')::uuid, ${time}, (${level})::loglevel, 'process-' || (g % 20), 'message number ' || g ${from}`);
      await raw.query(`INSERT INTO "Queues" (id, queue_name, status, data, reference, created_date, created_by) SELECT lpad(to_hex(g), 32, '0')::uuid, 'fleet-queue-' || (g % ${QUEUE_NAMES}), (${status})::queuestatus, '{"n":' || g || '}', 'ref-' || g, ${time}, 'bench' ${from}`);
    } else {
      const time = `TIMESTAMP '${start}' + INTERVAL (seq * ${step * 1_000_000}) MICROSECOND`;
      const id = "LPAD(LOWER(HEX(seq)), 32, '0')";
      const from = `FROM seq_${a}_to_${b}`;
      await raw.query(`INSERT INTO \`Logs\` (id, log_time, log_level, process_name, log_message) SELECT ${id}, ${time}, ${level}, CONCAT('process-', seq % 20), CONCAT('message number ', seq) ${from}`);
      await raw.query(`INSERT INTO \`Queues\` (id, queue_name, status, data, reference, created_date, created_by) SELECT ${id}, CONCAT('fleet-queue-', seq % ${QUEUE_NAMES}), ${status}, CONCAT('{"n":', seq, '}'), CONCAT('ref-', seq), ${time}, 'bench' ${from}`);
    }
    if (b % 500_000 === 0 || b === last) progress(`${label}: ${fmt(b)} rows each in Logs and Queues`);
  }
  if (dialect === 'postgres') {
    await raw.query('VACUUM ANALYZE "Logs"');
    await raw.query('VACUUM ANALYZE "Queues"');
    // The dirty pages are written now, not by the checkpointer during the next window.
    await raw.query('CHECKPOINT');
  } else {
    await raw.query('ANALYZE TABLE `Logs`, `Queues`');
  }
}

// ---------------------------------------------------------------------------------------------
// Phases

interface Context {
  dialect: FleetDialect;
  hosts: Hosts;
  bench: BenchDatabase;
  raw: RawDb;
  probe: Probe;
  plan: FleetPlan;
  cryptoKey: string;
  workDir: string;
  label: string;
}

const databaseOf = (bench: BenchDatabase) => bench.store.config.database!;

/**
 * Waits until every member has had a first tick and the start-up connections have closed; on
 * PostgreSQL, until every Scheduler has had WARM_TICKS ticks (its named statements settled on
 * their cached plans).
 */
async function settle(ctx: Context, hosts: Hosts, mode: 'scheduler' | 'bare'): Promise<void> {
  await hosts.waitReady(INTERVAL_MS + 120_000);
  await sleep(mode === 'scheduler' ? SETTLE_MS[ctx.dialect] : 1000);
  if (mode === 'scheduler' && ctx.dialect === 'postgres') await hosts.waitReady(WARM_TICKS * INTERVAL_MS + 120_000, 'warm');
}

/**
 * Grows one fleet through `sizes` (each step adds members, waits for their first tick and the
 * settling, then measures a window). `more` may extend the list once the first size is measured.
 */
async function grow(ctx: Context, mode: 'scheduler' | 'bare', url: string, prefix: string, sizes: number[], idle: Window, more?: (first: Figures) => Promise<number[]>, bouncer?: Bouncer): Promise<Figures[]> {
  const database = databaseOf(ctx.bench);
  // What the bench itself holds in its database, before the fleet (a fleet just stopped takes a moment to go).
  const before = bouncer ? 0 : await steadyConnections(ctx.probe, database);
  const { hosts } = ctx;
  const out: Figures[] = [];
  try {
    let started = 0;
    const list = [...sizes];
    for (let i = 0; i < list.length; i++) {
      const size = list[i]!;
      let w: Window;
      try {
        const names = Array.from({ length: size - started }, (_, k) => `${prefix}-${started + k}`);
        await hosts.start(mode, url, names, ctx.cryptoKey, ctx.workDir);
        started = size;
        await settle(ctx, hosts, mode);
        [w] = (await measureWindows(ctx.probe, [{ hosts, database }], ctx.plan.windowMs, bouncer)) as [Window];
      } catch (error) {
        // A larger size failing (other sessions took the connections meanwhile, say) leaves the sizes measured so far.
        if (i === 0) throw error;
        progress(`${ctx.label}: stopped growing at ${size}: ${(error as Error).message}`);
        break;
      }
      const f = figures(w, idle, before);
      progress(describe(`${ctx.label}, ${mode === 'scheduler' ? 'Schedulers' : 'bare SELECT 1'}`, f));
      out.push(f);
      if (i === 0 && more) list.push(...(await more(f)));
    }
  } finally {
    await hosts.clear();
  }
  return out;
}

/** The largest fleet the server's connection limit allows now (HEADROOM left free), `per` connections each. */
async function largestFleet(ctx: Context, running: number, per: number): Promise<number> {
  return running + Math.floor((await ctx.probe.spareConnections()) / Math.max(1, per));
}

/** The sizes after the first that fit the server's connection limit, given what one member holds. */
async function sizesThatFit(ctx: Context, first: Figures, quick: boolean): Promise<number[]> {
  const largest = await largestFleet(ctx, first.size, first.connectionsPerMember);
  const fit = CANDIDATE_SIZES.filter((s) => s > first.size && s <= largest && !quick);
  const skipped = CANDIDATE_SIZES.filter((s) => s > largest);
  const last = fit.at(-1) ?? first.size;
  if (largest >= last * 1.2) fit.push(largest);
  progress(
    `${ctx.label}: ${fmt(first.connectionsPerMember)} connections per Scheduler; the connection limit (${HEADROOM} left free) allows ${largest} Schedulers${skipped.length ? `; skipping ${skipped.join(', ')}` : ''}; sizes ${[first.size, ...fit].join(', ')}`,
  );
  return fit;
}

const BENCH = `fleet: idle Schedulers (${DEFAULT_INTERVAL_SECONDS} s poll)`;
const BARE = 'bare connections, SELECT 1 per interval';
const NOISY = 'informational: other sessions on the server count too';

function cpuRows(dialectLabel: string, ours: Figures[], bare: Figures[], idle: Window): Row[] {
  const rows: Row[] = [];
  const idleRate = idle.serverNs / idle.seconds / 1e6;
  for (const o of ours) {
    const b = bare.find((x) => x.size === o.size);
    if (!b) continue;
    const common = { bench: BENCH, dialect: dialectLabel, size: `${o.size} Schedulers`, baselineName: BARE };
    const bouncer = o.bouncerTickMs !== undefined ? `; PgBouncer itself ${fmt(o.bouncerTickMs)} ms/tick (bare ${fmt(b.bouncerTickMs ?? NaN)})` : '';
    rows.push({ ...common, metric: 'DB CPU per idle tick, own connections', unit: 'ms', ours: o.connectionTickMs, baseline: b.connectionTickMs, ratio: o.connectionTickMs / b.connectionTickMs, target: `<= ${TARGET_TICK_MS} ms`, met: o.connectionTickMs <= TARGET_TICK_MS, note: `${fmt(o.connectionsPerMember)} connections per Scheduler${bouncer}` });
    rows.push({ ...common, metric: 'DB CPU per idle tick, server-wide', unit: 'ms', ours: o.serverTickMs, baseline: b.serverTickMs, ratio: o.serverTickMs / b.serverTickMs, target: '', met: null, note: `${NOISY}; minus the idle server's ${fmt(idleRate)} ms/s` });
    rows.push({ ...common, metric: 'DB CPU per second, server-wide', unit: 'ms/s', ours: o.serverPerSecondMs, baseline: b.serverPerSecondMs, ratio: o.serverPerSecondMs / b.serverPerSecondMs, target: '', met: null, note: NOISY });
    rows.push({ ...common, metric: 'statements per tick', unit: '', ours: o.statementsPerTick, baseline: b.statementsPerTick, ratio: o.statementsPerTick / b.statementsPerTick, target: '', met: null, note: `counted in the driver; the server counted ${fmt(o.serverStatementsPerTick)} (bare ${fmt(b.serverStatementsPerTick)})` });
  }
  return rows;
}

/**
 * A window is one whole heartbeat period (the Schedulers beat together, on the first tick after
 * each :00, :20 and :40), so each holds one beat per member: a 15 s window held one or two, and
 * the figure moved with where the window fell.
 */
const WINDOW_MS = heartbeatEveryMs(DEFAULT_INTERVAL_SECONDS);

function fleetPlan(quick: boolean): FleetPlan {
  return quick ? { windowMs: WINDOW_MS, rows: { small: 1_000, large: 100_000 }, bouncerSize: 200 } : { windowMs: WINDOW_MS, rows: { small: 1_000, large: 1_000_000 }, bouncerSize: BOUNCER_SIZE };
}

/**
 * A New element in each of `count` queues no trigger watches, in one statement: before
 * oo-017-slot-counters each such queue kept its own change counters (the table, and the sum an
 * idle tick reads, grew with them).
 */
async function seedOtherQueues(raw: RawDb, dialect: FleetDialect, count: number): Promise<void> {
  if (dialect === 'postgres') {
    await raw.query(`INSERT INTO "Queues" (id, queue_name, status, reference, created_date, created_by) SELECT gen_random_uuid(), 'other-queue-' || g, 'NEW', 'ref-' || g, now(), 'bench' FROM generate_series(1, ${count}) g`);
  } else {
    await raw.query(`INSERT INTO \`Queues\` (id, queue_name, status, reference, created_date, created_by) SELECT REPLACE(UUID(), '-', ''), CONCAT('other-queue-', seq), 'NEW', CONCAT('ref-', seq), NOW(), 'bench' FROM seq_1_to_${count}`);
  }
}

/** A fresh database with the fleet's triggers (`queues` of them queue triggers), `rows` rows each in Logs and Queues and a New element in each of `otherQueues` unwatched queues. */
async function fleetDatabase(dialect: FleetDialect, rows: number, label: string, queues = QUEUE_TRIGGERS, otherQueues = 0): Promise<{ bench: BenchDatabase; raw: RawDb }> {
  const bench = await benchDatabase(dialect);
  try {
    const raw = await rawDb(dialect, bench.store);
    try {
      await seedTriggers(bench, queues);
      await seedRows(raw, dialect, 1, rows, label);
      if (otherQueues > 0) await seedOtherQueues(raw, dialect, otherQueues);
      return { bench, raw };
    } catch (error) {
      await raw.close();
      throw error;
    }
  } catch (error) {
    await bench.close();
    throw error;
  }
}

/** A fleet database at the small row count, the hosts, the probe, and the cleanup, around `fn`. */
async function withFleet<T>(dialect: FleetDialect, quick: boolean, label: string, fn: (ctx: Context) => Promise<T>, queues = QUEUE_TRIGGERS): Promise<T> {
  const plan = fleetPlan(quick);
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  const workDir = mkdtempSync(join(tmpdir(), 'oo-fleet-'));
  // The hosts load (tsx, 1-2 s of CPU each) while the database is made.
  const spawning = Hosts.spawn(HOSTS);
  // A failure to start is reported where it is awaited, not as an unhandled rejection meanwhile.
  spawning.catch(() => undefined);
  let made: { bench: BenchDatabase; raw: RawDb } | undefined;
  let probe: Probe | undefined;
  let hosts: Hosts | undefined;
  try {
    made = await fleetDatabase(dialect, plan.rows.small, label, queues);
    probe = dialect === 'postgres' ? await postgresProbe(made.bench) : await mysqlProbe(made.bench);
    hosts = await spawning;
    return await fn({ dialect, hosts, ...made, probe, plan, cryptoKey: generateKey(), workDir, label });
  } finally {
    await (hosts ?? (await spawning.catch(() => undefined)))?.close();
    await probe?.close().catch(() => undefined);
    await made?.raw.close().catch(() => undefined);
    await made?.bench.close();
    rmSync(workDir, { recursive: true, force: true });
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

async function idleWindow(ctx: Context): Promise<Window> {
  const [idle] = await measureWindows(ctx.probe, [{ database: databaseOf(ctx.bench) }], ctx.plan.windowMs);
  progress(`${ctx.label}: idle server ${fmt(idle!.serverNs / idle!.seconds / 1e6)} ms CPU/s over ${fmt(idle!.seconds)} s`);
  return idle!;
}

/**
 * Fleets of 10, 50, 100 and the largest that fits, each beside as many bare connections.
 *
 * @example
 *   const rows = await benchFleetSizes('mysql', false);
 */
export async function benchFleetSizes(dialect: FleetDialect, quick: boolean): Promise<Row[]> {
  return withFleet(dialect, quick, `fleet ${DIALECT_LABEL[dialect]}`, async (ctx) => {
    const idle = await idleWindow(ctx);
    const ours = await grow(ctx, 'scheduler', ctx.bench.url, 'fleet', [CANDIDATE_SIZES[0]!], idle, (first) => sizesThatFit(ctx, first, quick));
    const bare = await grow(
      ctx,
      'bare',
      ctx.bench.url,
      'bare',
      ours.map((f) => f.size),
      idle,
    );
    return cpuRows(DIALECT_LABEL[dialect], ours, bare, idle);
  });
}

/** 500 Schedulers (quick: 200) through PgBouncer in transaction mode, beside as many bare connections through it. */
export async function benchFleetBouncer(quick: boolean): Promise<Row[]> {
  const dialectLabel = `${DIALECT_LABEL.postgres} via PgBouncer`;
  return withFleet('postgres', quick, `fleet ${dialectLabel}`, async (ctx) => {
    const size = ctx.plan.bouncerSize;
    // Each Scheduler's start holds up to three client connections for a moment (pool, listener, the proof).
    const bouncer = await startPgBouncer(ctx.bench.url, { maxClientConn: size * 3 + 50 });
    const kill = () => process.kill(bouncer.pid, 'SIGKILL');
    interruptKills.add(kill);
    try {
      const idle = await idleWindow(ctx);
      const ours = await grow(ctx, 'scheduler', bouncer.url, 'bouncer', [size], idle, undefined, bouncer);
      const bare = await grow(ctx, 'bare', bouncer.url, 'bare', [size], idle, undefined, bouncer);
      return cpuRows(dialectLabel, ours, bare, idle);
    } finally {
      await bouncer.stop();
      interruptKills.delete(kill);
    }
  });
}

/** Connections one idle Scheduler holds: the pool's one, and PostgreSQL's listener. */
const PER_SCHEDULER: Record<FleetDialect, number> = { postgres: 2, mysql: 1 };
/** The growth compares own connections only: no idle window (the server-wide figure is not reported). */
const NO_IDLE: Window = { seconds: 1, members: 0, serverNs: 0, connectionNs: 0, churn: 0, ticks: 0, statements: 0, serverStatements: 0, connections: 0 };

/**
 * Two fleets side by side, measured in the same windows: one on a database with 1k rows each
 * in Logs and Queues, one on a database with 1M (quick: 100k). Side by side, the machine's
 * changing load (other sessions, cache pressure) weighs on both alike, where two runs minutes
 * apart differed by 20% at the same size. Each fleet has 50 Schedulers (or half of what fits).
 */
export async function benchFleetGrowth(dialect: FleetDialect, quick: boolean): Promise<Row[]> {
  const { rows } = fleetPlan(quick);
  return sideBySide(dialect, quick, {
    label: `fleet growth ${DIALECT_LABEL[dialect]}`,
    bench: 'fleet: idle tick cost, Logs and Queues grown',
    large: { rows: rows.large, queues: QUEUE_TRIGGERS, name: `${fmt(rows.large)} rows` },
    small: { name: `${fmt(rows.small)} rows`, baseline: `same fleet beside it, ${fmt(rows.small)} rows each` },
    size: `${fmt(rows.small)} vs ${fmt(rows.large)} rows, ${QUEUE_TRIGGERS} of ${TRIGGERS} triggers on queues`,
  });
}

/**
 * Two fleets side by side as benchFleetGrowth runs them, one on a database with 10 queue
 * triggers, one with 60 (of the 200 idle triggers), 1k rows each: an idle tick must cost the same.
 */
export async function benchFleetQueueTriggers(dialect: FleetDialect, quick: boolean): Promise<Row[]> {
  const { rows } = fleetPlan(quick);
  return sideBySide(
    dialect,
    quick,
    {
      label: `fleet queue triggers ${DIALECT_LABEL[dialect]}`,
      bench: 'fleet: idle tick cost, more queue triggers',
      large: { rows: rows.small, queues: QUEUE_TRIGGERS, name: `${QUEUE_TRIGGERS} queue triggers` },
      small: { name: '10 queue triggers', baseline: 'same fleet beside it, 10 of the 200 triggers on queues' },
      size: `10 vs ${QUEUE_TRIGGERS} of ${TRIGGERS} triggers on queues, ${fmt(rows.small)} rows`,
    },
    10,
  );
}

/** Queues written to, beside the fleet's, in benchFleetQueueNames. */
const OTHER_QUEUES = 2_000;

/**
 * Two fleets side by side as benchFleetGrowth runs them, one on a database where elements were
 * also added to 2,000 queues no trigger watches: the change counters, and so an idle tick, must
 * cost the same (they are per connection since oo-017, not per queue).
 */
export async function benchFleetQueueNames(dialect: FleetDialect, quick: boolean): Promise<Row[]> {
  const { rows } = fleetPlan(quick);
  return sideBySide(dialect, quick, {
    label: `fleet queue names ${DIALECT_LABEL[dialect]}`,
    bench: 'fleet: idle tick cost, more queues written to',
    large: { rows: rows.small, queues: QUEUE_TRIGGERS, otherQueues: OTHER_QUEUES, name: `${fmt(OTHER_QUEUES)} more queues` },
    small: { name: 'the fleet\'s queues only', baseline: `same fleet beside it, no other queues` },
    size: `${fmt(OTHER_QUEUES)} more queues with a New element, ${QUEUE_TRIGGERS} of ${TRIGGERS} triggers on queues, ${fmt(rows.small)} rows`,
  });
}

interface SideBySide {
  label: string;
  bench: string;
  /** the measured fleet's database */
  large: { rows: number; queues: number; otherQueues?: number; name: string };
  /** the baseline fleet's (the withFleet database) */
  small: { name: string; baseline: string };
  size: string;
}

async function sideBySide(dialect: FleetDialect, quick: boolean, spec: SideBySide, smallQueues = QUEUE_TRIGGERS): Promise<Row[]> {
  return withFleet(dialect, quick, spec.label, async (ctx) => {
    const large = await fleetDatabase(dialect, spec.large.rows, `${ctx.label}, ${spec.large.name}`, spec.large.queues, spec.large.otherQueues);
    const second = await Hosts.spawn(HOSTS);
    try {
      const size = Math.min(GROWTH_SIZE, Math.floor((await largestFleet(ctx, 0, PER_SCHEDULER[dialect])) / 2));
      if (size < CANDIDATE_SIZES[0]!) throw new Error(`the server has room for only ${size * 2} Schedulers beside other sessions`);
      const fleets = [
        { hosts: ctx.hosts, bench: ctx.bench, name: spec.small.name, prefix: 'small' },
        { hosts: second, bench: large.bench, name: spec.large.name, prefix: 'large' },
      ];
      const before = await Promise.all(fleets.map((f) => steadyConnections(ctx.probe, databaseOf(f.bench))));
      const names = (prefix: string) => Array.from({ length: size }, (_, k) => `${prefix}-${k}`);
      await Promise.all(fleets.map((f) => f.hosts.start('scheduler', f.bench.url, names(f.prefix), ctx.cryptoKey, ctx.workDir)));
      await Promise.all(fleets.map((f) => settle(ctx, f.hosts, 'scheduler')));
      // One window twice as long as the others: the ratio has no baseline run to lean on.
      const windows = await measureWindows(
        ctx.probe,
        fleets.map((f) => ({ hosts: f.hosts, database: databaseOf(f.bench) })),
        ctx.plan.windowMs * 2,
      );
      const [small, big] = fleets.map((f, i) => {
        const figure = figures(windows[i]!, NO_IDLE, before[i]!);
        progress(describe(`${ctx.label}, ${f.name}`, figure));
        return figure;
      });
      await Promise.all(fleets.map((f) => f.hosts.clear()));
      const ratio = big!.connectionTickMs / small!.connectionTickMs;
      return [
        {
          bench: spec.bench,
          dialect: DIALECT_LABEL[dialect],
          size: `${size} + ${size} Schedulers, ${spec.size}`,
          metric: 'DB CPU per idle tick, own connections',
          unit: 'ms',
          ours: big!.connectionTickMs,
          baselineName: spec.small.baseline,
          baseline: small!.connectionTickMs,
          ratio,
          target: `<= ${TARGET_GROWTH}x and <= ${TARGET_TICK_MS} ms`,
          met: ratio <= TARGET_GROWTH && big!.connectionTickMs <= TARGET_TICK_MS && small!.connectionTickMs <= TARGET_TICK_MS,
          note: `${fmt(small!.statementsPerTick)} / ${fmt(big!.statementsPerTick)} statements per tick`,
        },
      ];
    } finally {
      await second.close();
      await large.raw.close().catch(() => undefined);
      await large.bench.close();
    }
  }, smallQueues);
}
