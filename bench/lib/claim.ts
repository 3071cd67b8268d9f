/**
 * Queue claiming against the database's own ceiling. W workers, each with its own Store (its own
 * connection, as robots have), drain N elements with `getNextQueueElement` +
 * `setQueueElementStatus(DONE)`. The ceiling, on the same server in the same run, issues the
 * same statements our claim issues on that dialect, as fast as the database lets it:
 *
 * - PostgreSQL: pgbench, W clients (-j min(W, cores)), a script of our claim UPDATE ... RETURNING
 *   and our Done UPDATE, `-M prepared` (named prepared statements), N transactions;
 * - MariaDB: mysql2 with `execute` (server-side prepared statements) on W connections, our
 *   claim's transaction (BEGIN, SELECT ... FOR UPDATE SKIP LOCKED, UPDATE, read back, COMMIT)
 *   and the Done UPDATE;
 * - SQLite: better-sqlite3 on W connections opened as ours are, the claim UPDATE ... RETURNING
 *   and the Done UPDATE prepared once, each in its own autocommit transaction as ours.
 *
 * Each side drains a fresh copy of the same seeded queue. The ceiling runs before and after each
 * drain of ours and that drain's ratio is against their mean, so a burst of load from elsewhere
 * on the machine shifts both sides; the row reports the median over the drains. Duplicates (an element handed out twice) are counted on both sides. On PostgreSQL,
 * at the small size, pg-boss 10 doing fetch (batch 1) + complete stays as an extra row.
 *
 * Where the time of a claim goes (driver, Kysely, store; statements per claim): bench/claim-profile.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import PgBoss from 'pg-boss';
import { mysqlPoolConfig } from '../../src/db/dialects/mysql.js';
import { openSqliteFile } from '../../src/db/dialects/sqlite.js';
import { closeStore, type Store } from '../../src/db/open.js';
import { bulkCreateQueueElements, getNextQueueElement, listQueues, setQueueElementStatus } from '../../src/db/store/queues.js';
import { formatNaive, now } from '../../src/time/clock.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { benchDatabase, DIALECT_LABEL, fmt, progress, timed, type BenchDatabase, type LiveDialect, type Row } from './common.js';

const QUEUE = 'bench';
/** The ratio the issue asks for (ours / ceiling); 0.7 is the aim. */
const TARGET_RATIO = 0.5;

/** One drain: its rate and the correctness counts. */
export interface Drain {
  rate: number;
  /** elements handed out more than once */
  duplicates: number;
  /** seeded elements not Done afterwards */
  notDone: number;
  /** this process's CPU time per claim while draining, µs (undefined: the drain ran elsewhere) */
  cpuPerClaim?: number;
}

/** One worker of a drain: `step` claims and finishes one element and returns its id, or undefined when the queue is empty. */
export interface Worker {
  step(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** How one side of the comparison claims: opens a worker (connected) on the seeded database. */
export type Side = (bench: BenchDatabase) => Promise<Worker>;

async function seeded(dialect: LiveDialect, count: number): Promise<BenchDatabase> {
  const bench = await benchDatabase(dialect);
  await bulkCreateQueueElements(bench.store, QUEUE, Array.from({ length: count }, (_, i) => ({ reference: `ref-${i}`, data: `{"n":${i}}` })));
  return bench;
}

async function notDone(bench: BenchDatabase, count: number): Promise<number> {
  const counts = (await listQueues(bench.store)).find((q) => q.queueName === QUEUE)?.counts;
  return count - (counts?.DONE ?? 0);
}

/**
 * W workers of `side` drain a fresh queue of `count` elements; the clock runs from the first
 * claim (every worker connected) to the last finish.
 */
export async function drain(dialect: LiveDialect, side: Side, workers: number, count: number): Promise<Drain> {
  const bench = await seeded(dialect, count);
  const opened: Worker[] = [];
  try {
    for (let i = 0; i < workers; i++) opened.push(await side(bench));
    const seen = new Set<string>();
    let duplicates = 0;
    const cpu = process.cpuUsage();
    const [ms] = await timed(() =>
      Promise.all(
        opened.map(async (worker) => {
          for (let id = await worker.step(); id !== undefined; id = await worker.step()) {
            if (seen.has(id)) duplicates++;
            seen.add(id);
          }
        }),
      ),
    );
    const used = process.cpuUsage(cpu);
    return { rate: (count / ms) * 1000, duplicates, notDone: await notDone(bench, count), cpuPerClaim: (used.user + used.system) / count };
  } finally {
    for (const worker of opened) await worker.close().catch(() => undefined);
    await bench.close();
  }
}

/**
 * A worker on a Store of its own (its own connection, as robots have), connected before the clock
 * starts: `make` returns its step.
 *
 * @example
 *   const side = storeSide((store) => async () => (await getNextQueueElement(store, QUEUE))?.id);
 */
export function storeSide(make: (store: Store) => () => Promise<string | undefined>): Side {
  return async (bench) => {
    const store = bench.open();
    await listQueues(store);
    return { step: make(store), close: () => closeStore(store) };
  };
}

/** Ours: through the store's claim and finish. */
export const oursSide: Side = storeSide((store) => async () => {
  const element = await getNextQueueElement(store, QUEUE);
  if (!element) return undefined;
  await setQueueElementStatus(store, element.id, 'DONE');
  return element.id;
});

/** The claim as our PostgreSQL dialect issues it, and the Done update as setQueueElementStatus does. */
const PGBENCH_SCRIPT = `UPDATE "Queues" SET status = 'IN_PROGRESS', start_date = :start
WHERE id = (
  SELECT id FROM "Queues"
  WHERE queue_name = :queue AND status = 'NEW'
  ORDER BY created_date LIMIT 1
  FOR UPDATE SKIP LOCKED
)
RETURNING * \\gset
UPDATE "Queues" SET status = :done, end_date = :start WHERE id = :id;
`;

/** The server's own pgbench (Debian puts one per major version), else the one on PATH. */
function pgbenchPath(): string {
  if (process.env.PGBENCH) return process.env.PGBENCH;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => join(root, v, 'bin', 'pgbench')).find((p) => existsSync(p));
  return found ?? 'pgbench';
}

/**
 * pgbench with W clients (-j min(W, cores)), ceil(N/W) transactions each on a queue of exactly
 * that many elements (every claim then finds one: a claim that found none would end its client).
 * A claim handing out an element twice would leave fewer Done elements than transactions.
 * `mode` is pgbench's -M: prepared (named statements, the ceiling) or extended (unnamed, what
 * node-postgres sends for a query without a name).
 */
export async function pgbench(workers: number, count: number, mode: 'prepared' | 'extended' = 'prepared'): Promise<Drain> {
  const perClient = Math.ceil(count / workers);
  const total = perClient * workers;
  const bench = await seeded('postgres', total);
  const dir = mkdtempSync(join(tmpdir(), 'oo-pgbench-'));
  try {
    const script = join(dir, 'claim.sql');
    writeFileSync(script, PGBENCH_SCRIPT);
    const c = bench.store.config;
    const args = ['-n', '-M', mode, '-c', String(workers), '-j', String(Math.min(workers, cpus().length)), '-t', String(perClient), '-f', script];
    args.push('-D', `start=${formatNaive(now())}`, '-D', `queue=${QUEUE}`, '-D', 'done=DONE');
    args.push('-h', c.host ?? '127.0.0.1', '-p', String(c.port ?? 5432), '-U', c.user ?? 'postgres', c.database!);
    const env = { ...process.env, ...(c.password ? { PGPASSWORD: c.password } : {}) };
    const { stdout } = await promisify(execFile)(pgbenchPath(), args, { env });
    const tps = /^tps = ([\d.]+) \(without initial connection time\)/m.exec(stdout);
    const processed = /^number of transactions actually processed: (\d+)\//m.exec(stdout);
    if (!tps || !processed) throw new Error(`cannot read pgbench's output: ${stdout.slice(0, 300)}`);
    const left = await notDone(bench, total);
    return { rate: Number(tps[1]), duplicates: Number(processed[1]) - (total - left), notDone: left };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await bench.close();
  }
}

/** Our MariaDB claim's statements (mysql-claim.ts, no reference) and the Done update. */
export const MYSQL_CLAIM = {
  pick: "SELECT id FROM `Queues` WHERE queue_name = ? AND status = 'NEW' ORDER BY created_date LIMIT 1 FOR UPDATE SKIP LOCKED",
  take: "UPDATE `Queues` SET status = 'IN_PROGRESS', start_date = ? WHERE id = ?",
  readBack: 'SELECT * FROM `Queues` WHERE id = ?',
  done: 'UPDATE `Queues` SET `status` = ?, `end_date` = ? WHERE `id` = ?',
};

/** A bare mysql2 connection with the session settings our pool uses (dateStrings, utf8mb4). */
export async function mysqlConnection(bench: BenchDatabase): Promise<mysql.Connection> {
  const { connectionLimit: _limit, ...options } = mysqlPoolConfig(bench.store.config);
  return mysql.createConnection(options);
}

/**
 * Our MariaDB claim's transaction and the Done update through bare mysql2: the pick as text, as
 * ours sends it, the rest `execute` (prepared on the server once per connection). A server-prepared
 * pick is no ceiling: 8 connections draining 3,000 elements read 263 index entries per claim with
 * it against none as text, and drained 512/s against 961/s (292 against 1,236 at 6,000).
 */
export const mysqlCeilingSide: Side = async (bench) => {
  const conn = await mysqlConnection(bench);
  return {
    async step() {
      await conn.query('BEGIN');
      const [picked] = await conn.query<mysql.RowDataPacket[]>(MYSQL_CLAIM.pick, [QUEUE]);
      const id = picked[0]?.id as string | undefined;
      if (id !== undefined) {
        await conn.execute(MYSQL_CLAIM.take, [formatNaive(now()), id]);
        await conn.execute(MYSQL_CLAIM.readBack, [id]);
      }
      await conn.query('COMMIT');
      if (id !== undefined) await conn.execute(MYSQL_CLAIM.done, ['DONE', formatNaive(now()), id]);
      return id;
    },
    close: () => conn.end(),
  };
};

/** Our SQLite claim (one autocommit UPDATE ... RETURNING) and the Done update. */
export const SQLITE_CLAIM = {
  claim: `UPDATE "Queues" SET status = 'IN_PROGRESS', start_date = ?
    WHERE id = (SELECT id FROM "Queues" WHERE queue_name = ? AND status = 'NEW' ORDER BY created_date LIMIT 1)
    RETURNING *`,
  done: 'UPDATE "Queues" SET "status" = ?, "end_date" = ? WHERE "id" = ?',
};

/**
 * better-sqlite3 on a connection opened as ours are (WAL, busy timeout, synchronous=NORMAL),
 * the statements prepared once (or, `prepareOnce` false, on every call as Kysely's driver does).
 * The driver is synchronous; the awaits let W workers of one process take turns as W Stores do.
 */
export function sqliteSide(prepareOnce = true): Side {
  return async (bench) => {
    const db = openSqliteFile(bench.store.config.filename!);
    const claim = db.prepare(SQLITE_CLAIM.claim);
    const done = db.prepare(SQLITE_CLAIM.done);
    return {
      async step() {
        const row = (prepareOnce ? claim : db.prepare(SQLITE_CLAIM.claim)).get(formatNaive(now()), QUEUE) as { id: string } | undefined;
        if (!row) return undefined;
        await Promise.resolve();
        (prepareOnce ? done : db.prepare(SQLITE_CLAIM.done)).run('DONE', formatNaive(now()), row.id);
        return row.id;
      },
      close: async () => {
        db.close();
      },
    };
  };
}

const CEILING: Record<LiveDialect, { name: string; run: (workers: number, count: number) => Promise<Drain> }> = {
  postgres: { name: 'pgbench -M prepared, same SQL', run: (w, n) => pgbench(w, n) },
  mysql: { name: 'mysql2, same SQL, pick as text', run: (w, n) => drain('mysql', mysqlCeilingSide, w, n) },
  sqlite: { name: 'better-sqlite3 prepared, same SQL', run: (w, n) => drain('sqlite', sqliteSide(), w, n) },
};

/**
 * pg-boss's rate. Its fetch slows down as its table fills (46/s with 20,000 jobs here, against
 * 270/s with 2,000), so the drain stops after `budgetMs` and the rate is over the jobs done.
 */
async function pgBossRate(workers: number, count: number, budgetMs: number): Promise<{ rate: number; done: number }> {
  const database = await createTestDatabase('postgres');
  const boss = new PgBoss({ connectionString: database.url.replace(/^postgresql\+psycopg2:/, 'postgresql:'), max: workers, supervise: false, schedule: false });
  boss.on('error', () => undefined);
  try {
    await boss.start();
    await boss.createQueue(QUEUE);
    for (let start = 0; start < count; start += 5000) {
      await boss.insert(Array.from({ length: Math.min(5000, count - start) }, (_, i) => ({ name: QUEUE, data: { invoice: start + i } })));
    }
    const seen = new Set<string>();
    const stopAt = Date.now() + budgetMs;
    const [ms] = await timed(() =>
      Promise.all(
        Array.from({ length: workers }, async () => {
          while (Date.now() < stopAt) {
            const [job] = await boss.fetch(QUEUE, { batchSize: 1 });
            if (!job) return;
            seen.add(job.id);
            await boss.complete(QUEUE, job.id);
          }
        }),
      ),
    );
    return { rate: (seen.size / ms) * 1000, done: seen.size };
  } finally {
    await boss.stop({ graceful: false, close: true, wait: true }).catch(() => undefined);
    await database.drop();
  }
}

/** pg-boss runs beside ours up to this many elements: its drain slows as its table fills. */
const PG_BOSS_MAX_ELEMENTS = 2_000;

/** Drains of ours at the small size, each between two of the ceiling; a big drain is long enough once. */
const roundsFor = (count: number) => (count <= 2_000 ? 3 : 1);

/**
 * Ours against the ceiling: ceiling, ours, ceiling, ours, ... ceiling. Each drain of ours is
 * compared with the mean of the ceiling drains either side of it; the row shows the drain with
 * the median ratio (its rate and that mean), the note every rate. On PostgreSQL up to 2,000 elements also pg-boss, for at most
 * `pgBossBudgetMs`.
 *
 * @example await benchClaim('postgres', 8, 2000);
 */
export async function benchClaim(dialect: LiveDialect, workers: number, count: number, pgBossBudgetMs = 45_000): Promise<Row[]> {
  const label = `claim ${DIALECT_LABEL[dialect]} ${workers} workers ${fmt(count)}`;
  const ceiling = CEILING[dialect];
  progress(`${label}: ceiling (${ceiling.name})`);
  const ceilings: Drain[] = [await ceiling.run(workers, count)];
  const mine: Drain[] = [];
  const pairs: Array<{ ours: number; ceiling: number; ratio: number }> = [];
  for (let round = 0; round < roundsFor(count); round++) {
    mine.push(await drain(dialect, oursSide, workers, count));
    ceilings.push(await ceiling.run(workers, count));
    const around = (ceilings.at(-2)!.rate + ceilings.at(-1)!.rate) / 2;
    pairs.push({ ours: mine.at(-1)!.rate, ceiling: around, ratio: mine.at(-1)!.rate / around });
    progress(`${label}: ours ${fmt(mine.at(-1)!.rate)}/s, ceiling ${fmt(ceilings.at(-2)!.rate)}/s before and ${fmt(ceilings.at(-1)!.rate)}/s after, ratio ${pairs.at(-1)!.ratio.toFixed(2)}`);
  }
  // The drain with the median ratio, so that the row's ours / baseline is its ratio.
  const middle = [...pairs].sort((a, b) => a.ratio - b.ratio)[Math.floor((pairs.length - 1) / 2)]!;
  const sum = (drains: Drain[], key: 'duplicates' | 'notDone') => drains.reduce((total, d) => total + d[key], 0);
  const ours = { rate: middle.ours, duplicates: sum(mine, 'duplicates'), notDone: sum(mine, 'notDone') };
  const ratio = middle.ratio;
  const correct = ours.duplicates === 0 && ours.notDone === 0;
  const counts = `duplicates ours ${ours.duplicates}, ceiling ${sum(ceilings, 'duplicates')}; not done ours ${ours.notDone}, ceiling ${sum(ceilings, 'notDone')}`;
  progress(`${label}: ratio ${ratio.toFixed(2)} (median of ${pairs.length}); ${counts}`);
  const rows: Row[] = [
    {
      bench: `claim, ${workers} workers`,
      dialect: DIALECT_LABEL[dialect],
      size: `${fmt(count)} elements`,
      metric: 'claims/s',
      unit: '/s',
      ours: ours.rate,
      baselineName: ceiling.name,
      baseline: middle.ceiling,
      ratio,
      target: `>= ${TARGET_RATIO}x ceiling, 0 dup`,
      met: correct && ratio >= TARGET_RATIO,
      note: `ours ${mine.map((d) => fmt(d.rate)).join(', ')}/s; ceiling ${ceilings.map((d) => fmt(d.rate)).join(', ')}/s (in run order); ${counts}`,
    },
  ];
  if (dialect === 'postgres' && count <= PG_BOSS_MAX_ELEMENTS) {
    progress(`${label}: pg-boss side by side (at most ${pgBossBudgetMs / 1000} s)`);
    const boss = await pgBossRate(workers, count, pgBossBudgetMs);
    rows.push({
      bench: `claim vs pg-boss, ${workers} workers`,
      dialect: DIALECT_LABEL[dialect],
      size: `${fmt(count)} elements`,
      metric: 'claims/s',
      unit: '/s',
      ours: ours.rate,
      baselineName: 'pg-boss 10 fetch+complete',
      baseline: boss.rate,
      ratio: ours.rate / boss.rate,
      target: '>= 1x pg-boss',
      met: correct && ours.rate >= boss.rate,
      note: boss.done < count ? `pg-boss stopped after ${fmt(boss.done)} jobs (time budget)` : undefined,
    });
  }
  return rows;
}
