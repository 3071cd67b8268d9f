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
 * Each side drains a fresh copy of the same seeded queue. The ceiling runs before and after ours
 * and the ratio is against their mean, so a burst of load from elsewhere on the machine shifts
 * both sides. Duplicates (an element handed out twice) are counted on both sides. On PostgreSQL,
 * at the small size, pg-boss 10 doing fetch (batch 1) + complete stays as an extra row.
 *
 * Where the time of a claim goes (driver, Kysely, store; statements per claim): bench/claim-profile.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type BetterSqlite3 from 'better-sqlite3';
import mysql from 'mysql2/promise';
import PgBoss from 'pg-boss';
import { mysqlPoolConfig } from '../../src/db/dialects/mysql.js';
import { openSqliteFile } from '../../src/db/dialects/sqlite.js';
import { closeStore } from '../../src/db/open.js';
import { bulkCreateQueueElements, getNextQueueElement, listQueues, setQueueElementStatus } from '../../src/db/store/queues.js';
import { formatNaive, now } from '../../src/time/clock.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { benchDatabase, DIALECT_LABEL, fmt, progress, timed, type BenchDatabase, type LiveDialect, type Row } from './common.js';

const QUEUE = 'bench';
/** The ratio the issue asks for (ours / ceiling); 0.7 is the aim. */
const TARGET_RATIO = 0.5;

/** One drain: its rate and the correctness counts. */
interface Drain {
  rate: number;
  /** elements handed out more than once */
  duplicates: number;
  /** seeded elements not Done afterwards */
  notDone: number;
}

async function seeded(dialect: LiveDialect, count: number): Promise<BenchDatabase> {
  const bench = await benchDatabase(dialect);
  await bulkCreateQueueElements(bench.store, QUEUE, Array.from({ length: count }, (_, i) => ({ reference: `ref-${i}`, data: `{"n":${i}}` })));
  return bench;
}

async function notDone(bench: BenchDatabase, count: number): Promise<number> {
  const counts = (await listQueues(bench.store)).find((q) => q.queueName === QUEUE)?.counts;
  return count - (counts?.DONE ?? 0);
}

/** Hands out ids and counts the ones seen before. */
function duplicateCounter() {
  const seen = new Set<string>();
  let duplicates = 0;
  return {
    see(id: string) {
      if (seen.has(id)) duplicates++;
      seen.add(id);
    },
    get duplicates() {
      return duplicates;
    },
  };
}

/** Ours: W Stores, each claiming and finishing one element at a time until the queue is empty. */
async function ours(dialect: LiveDialect, workers: number, count: number, label: string): Promise<Drain> {
  const bench = await seeded(dialect, count);
  try {
    const stores = Array.from({ length: workers }, () => bench.open());
    // Connect every worker before the clock starts.
    await Promise.all(stores.map((s) => listQueues(s).then(() => undefined, () => undefined)));
    const counter = duplicateCounter();
    let done = 0;
    const [ms] = await timed(() =>
      Promise.all(
        stores.map(async (store) => {
          for (;;) {
            const element = await getNextQueueElement(store, QUEUE);
            if (!element) return;
            counter.see(element.id);
            await setQueueElementStatus(store, element.id, 'DONE');
            if (++done % Math.max(1, Math.floor(count / 4)) === 0) progress(`${label}: ours ${fmt(done)} done`);
          }
        }),
      ),
    );
    for (const s of stores) await closeStore(s).catch(() => undefined);
    return { rate: (count / ms) * 1000, duplicates: counter.duplicates, notDone: await notDone(bench, count) };
  } finally {
    await bench.close();
  }
}

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
 * pgbench, -M prepared, W clients, ceil(N/W) transactions each on a queue of exactly that many
 * elements (every claim then finds one: a claim that found none would end its client). A claim
 * handing out an element twice would leave fewer Done elements than transactions.
 */
async function pgbenchCeiling(workers: number, count: number): Promise<Drain> {
  const perClient = Math.ceil(count / workers);
  const total = perClient * workers;
  const bench = await seeded('postgres', total);
  const dir = mkdtempSync(join(tmpdir(), 'oo-pgbench-'));
  try {
    const script = join(dir, 'claim.sql');
    writeFileSync(script, PGBENCH_SCRIPT);
    const c = bench.store.config;
    const args = ['-n', '-M', 'prepared', '-c', String(workers), '-j', String(Math.min(workers, cpus().length)), '-t', String(perClient), '-f', script];
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

/** mysql2 `execute` (prepared on the server once per connection): the statements of our MariaDB claim. */
async function mysqlCeiling(workers: number, count: number): Promise<Drain> {
  const bench = await seeded('mysql', count);
  const { connectionLimit: _limit, ...options } = mysqlPoolConfig(bench.store.config);
  const connections = await Promise.all(Array.from({ length: workers }, () => mysql.createConnection(options)));
  try {
    const counter = duplicateCounter();
    const [ms] = await timed(() =>
      Promise.all(
        connections.map(async (conn) => {
          for (;;) {
            await conn.query('BEGIN');
            const [picked] = await conn.execute<mysql.RowDataPacket[]>(
              "SELECT id FROM `Queues` WHERE queue_name = ? AND status = 'NEW' ORDER BY created_date LIMIT 1 FOR UPDATE SKIP LOCKED",
              [QUEUE],
            );
            const id = picked[0]?.id as string | undefined;
            if (id === undefined) {
              await conn.query('COMMIT');
              return;
            }
            await conn.execute("UPDATE `Queues` SET status = 'IN_PROGRESS', start_date = ? WHERE id = ?", [formatNaive(now()), id]);
            await conn.execute('SELECT * FROM `Queues` WHERE id = ?', [id]);
            await conn.query('COMMIT');
            counter.see(id);
            await conn.execute('UPDATE `Queues` SET `status` = ?, `end_date` = ? WHERE `id` = ?', ['DONE', formatNaive(now()), id]);
          }
        }),
      ),
    );
    return { rate: (count / ms) * 1000, duplicates: counter.duplicates, notDone: await notDone(bench, count) };
  } finally {
    for (const conn of connections) await conn.end().catch(() => undefined);
    await bench.close();
  }
}

/**
 * better-sqlite3 on W connections, statements prepared once. The driver is synchronous, so the
 * workers take turns at each await, as W Stores in one process do.
 */
async function sqliteCeiling(workers: number, count: number): Promise<Drain> {
  const bench = await seeded('sqlite', count);
  const connections: BetterSqlite3.Database[] = [];
  try {
    for (let i = 0; i < workers; i++) connections.push(openSqliteFile(bench.store.config.filename!));
    const counter = duplicateCounter();
    const [ms] = await timed(() =>
      Promise.all(
        connections.map(async (db) => {
          const claim = db.prepare(`UPDATE "Queues" SET status = 'IN_PROGRESS', start_date = ?
            WHERE id = (SELECT id FROM "Queues" WHERE queue_name = ? AND status = 'NEW' ORDER BY created_date LIMIT 1)
            RETURNING *`);
          const finish = db.prepare('UPDATE "Queues" SET "status" = ?, "end_date" = ? WHERE "id" = ?');
          for (;;) {
            const row = claim.get(formatNaive(now()), QUEUE) as { id: string } | undefined;
            if (!row) return;
            counter.see(row.id);
            await Promise.resolve();
            finish.run('DONE', formatNaive(now()), row.id);
            await Promise.resolve();
          }
        }),
      ),
    );
    return { rate: (count / ms) * 1000, duplicates: counter.duplicates, notDone: await notDone(bench, count) };
  } finally {
    for (const db of connections) db.close();
    await bench.close();
  }
}

const CEILING: Record<LiveDialect, { name: string; run: (workers: number, count: number) => Promise<Drain> }> = {
  postgres: { name: 'pgbench -M prepared, same SQL', run: pgbenchCeiling },
  mysql: { name: 'mysql2 execute, same SQL', run: mysqlCeiling },
  sqlite: { name: 'better-sqlite3 prepared, same SQL', run: sqliteCeiling },
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

/**
 * Ours against the ceiling (ceiling, ours, ceiling); on PostgreSQL up to 2,000 elements also
 * pg-boss, for at most `pgBossBudgetMs`.
 *
 * @example await benchClaim('postgres', 8, 2000);
 */
export async function benchClaim(dialect: LiveDialect, workers: number, count: number, pgBossBudgetMs = 45_000): Promise<Row[]> {
  const label = `claim ${DIALECT_LABEL[dialect]} ${workers} workers ${fmt(count)}`;
  const ceiling = CEILING[dialect];
  progress(`${label}: ceiling (${ceiling.name})`);
  const before = await ceiling.run(workers, count);
  const mine = await ours(dialect, workers, count, label);
  progress(`${label}: ceiling again`);
  const after = await ceiling.run(workers, count);
  const baseline = (before.rate + after.rate) / 2;
  const ratio = mine.rate / baseline;
  const ceilingDuplicates = before.duplicates + after.duplicates;
  const ceilingNotDone = before.notDone + after.notDone;
  progress(
    `${label}: ours ${fmt(mine.rate)}/s, ceiling ${fmt(before.rate)}/s and ${fmt(after.rate)}/s, ratio ${ratio.toFixed(2)}; ` +
      `duplicates ours ${mine.duplicates} ceiling ${ceilingDuplicates}, not done ours ${mine.notDone} ceiling ${ceilingNotDone}`,
  );
  const correct = mine.duplicates === 0 && mine.notDone === 0;
  const rows: Row[] = [
    {
      bench: `claim, ${workers} workers`,
      dialect: DIALECT_LABEL[dialect],
      size: `${fmt(count)} elements`,
      metric: 'claims/s',
      unit: '/s',
      ours: mine.rate,
      baselineName: ceiling.name,
      baseline,
      ratio,
      target: `>= ${TARGET_RATIO}x ceiling, 0 dup`,
      met: correct && ratio >= TARGET_RATIO,
      note:
        `ceiling ${fmt(before.rate)}/s before, ${fmt(after.rate)}/s after ours; ` +
        `duplicates ours ${mine.duplicates}, ceiling ${ceilingDuplicates}; not done ours ${mine.notDone}, ceiling ${ceilingNotDone}`,
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
      ours: mine.rate,
      baselineName: 'pg-boss 10 fetch+complete',
      baseline: boss.rate,
      ratio: mine.rate / boss.rate,
      target: '>= 1x pg-boss',
      met: correct && mine.rate >= boss.rate,
      note: boss.done < count ? `pg-boss stopped after ${fmt(boss.done)} jobs (time budget)` : undefined,
    });
  }
  return rows;
}
