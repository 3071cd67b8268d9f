/**
 * The Orchestrator's two list queries on large tables, median and p95 latency:
 * - logs: one page (100 rows, newest first) plus the total count, for one process over a one-day
 *   window, as GET /api/logs asks it (`listLogs` + `countLogs` together), over N log rows of
 *   20 processes spread over 30 days;
 * - queues: `listQueues` (every queue with its count per status) over N elements in 50 queues.
 * Baseline: the same SQL text sent through the bare driver on one connection (what the store's
 * query building, pooling and decoding add). Rows are generated on the server (generate_series,
 * MariaDB's sequence engine, a recursive CTE), then the tables are analyzed.
 */
import { sql } from 'kysely';
import { countLogs, listLogs } from '../../src/db/store/logs.js';
import { listQueues } from '../../src/db/store/queues.js';
import { benchDatabase, DIALECT_LABEL, fmt, median, progress, quantile, rawDb, timed, type LiveDialect, type RawDb, type Row } from './common.js';

const SPAN_SECONDS = 30 * 24 * 3600;
const START = '2024-01-01 00:00:00';
const CHUNK = 100_000;

/** Inserts rows first..last (1-based) generated on the server from the sequence number g. */
async function generate(raw: RawDb, dialect: LiveDialect, table: 'Logs' | 'Queues', total: number, label: string): Promise<void> {
  const step = SPAN_SECONDS / total;
  for (let first = 1; first <= total; first += CHUNK) {
    const last = Math.min(total, first + CHUNK - 1);
    const g = dialect === 'mysql' ? 'seq' : 'g';
    const status = `CASE ${g} % 20 WHEN 0 THEN 'NEW' WHEN 1 THEN 'NEW' WHEN 2 THEN 'IN_PROGRESS' WHEN 3 THEN 'FAILED' WHEN 4 THEN 'FAILED' WHEN 5 THEN 'ABANDONED' ELSE 'DONE' END`;
    const level = `CASE ${g} % 3 WHEN 0 THEN 'TRACE' WHEN 1 THEN 'INFO' ELSE 'ERROR' END`;
    if (dialect === 'postgres') {
      const time = `timestamp '${START}' + g * interval '${step} seconds'`;
      await raw.query(
        table === 'Logs'
          ? `INSERT INTO "Logs" (id, log_time, log_level, process_name, log_message) SELECT gen_random_uuid(), ${time}, (${level})::loglevel, 'process-' || (g % 20), 'message number ' || g FROM generate_series(${first}, ${last}) g`
          : `INSERT INTO "Queues" (id, queue_name, status, data, reference, created_date, created_by) SELECT gen_random_uuid(), 'queue-' || (g % 50), (${status})::queuestatus, '{"n":' || g || '}', 'ref-' || g, ${time}, 'bench' FROM generate_series(${first}, ${last}) g`,
      );
    } else if (dialect === 'mysql') {
      const time = `TIMESTAMP '${START}' + INTERVAL (seq * ${Math.round(step * 1_000_000)}) MICROSECOND`;
      const id = `LOWER(MD5(CONCAT(seq, RAND())))`;
      await raw.query(
        table === 'Logs'
          ? `INSERT INTO \`Logs\` (id, log_time, log_level, process_name, log_message) SELECT ${id}, ${time}, ${level}, CONCAT('process-', seq % 20), CONCAT('message number ', seq) FROM seq_${first}_to_${last}`
          : `INSERT INTO \`Queues\` (id, queue_name, status, data, reference, created_date, created_by) SELECT ${id}, CONCAT('queue-', seq % 50), ${status}, CONCAT('{"n":', seq, '}'), CONCAT('ref-', seq), ${time}, 'bench' FROM seq_${first}_to_${last}`,
      );
    } else {
      const time = `strftime('%Y-%m-%d %H:%M:%f', '${START}', '+' || (g * ${step}) || ' seconds') || '000'`;
      const series = `WITH RECURSIVE s(g) AS (SELECT ${first} UNION ALL SELECT g + 1 FROM s WHERE g < ${last})`;
      await raw.query(
        table === 'Logs'
          ? `INSERT INTO "Logs" (id, log_time, log_level, process_name, log_message) ${series} SELECT lower(hex(randomblob(16))), ${time}, ${level}, 'process-' || (g % 20), 'message number ' || g FROM s`
          : `INSERT INTO "Queues" (id, queue_name, status, data, reference, created_date, created_by) ${series} SELECT lower(hex(randomblob(16))), 'queue-' || (g % 50), ${status}, '{"n":' || g || '}', 'ref-' || g, ${time}, 'bench' FROM s`,
      );
    }
    if (last % 500_000 === 0 || last === total) progress(`${label}: ${fmt(last)} rows generated`);
  }
  if (dialect === 'postgres') await raw.query(`VACUUM ANALYZE "${table}"`);
  else if (dialect === 'mysql') await raw.query(`ANALYZE TABLE \`${table}\``);
  else await raw.query('ANALYZE');
}

/** Alternates ours and the baseline, `runs` times each after 3 warm-up rounds (the dashboard bench uses it too). */
export async function compare(runs: number, ours: (i: number) => Promise<unknown>, base: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 3; i++) {
    await ours(i);
    await base(i);
  }
  const o: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    o.push((await timed(() => ours(i)))[0]);
    b.push((await timed(() => base(i)))[0]);
  }
  return { o, b };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

export async function benchLogsList(dialect: LiveDialect, total: number, runs: number): Promise<Row[]> {
  const bench = await benchDatabase(dialect);
  const raw = await rawDb(dialect, bench.store);
  const label = `logs list ${DIALECT_LABEL[dialect]} ${fmt(total)}`;
  try {
    const { store } = bench;
    await generate(raw, dialect, 'Logs', total, label);
    const filterOf = (i: number) => {
      const day = 1 + ((i * 7) % 28);
      return { processName: `process-${i % 20}`, from: new Date(`2024-01-${pad(day)}T00:00:00`), to: new Date(`2024-01-${pad(day + 1)}T00:00:00`) };
    };
    const enc = (d: Date) => store.dialect.encodeDate(d);
    let matched = 0;
    const { o, b } = await compare(
      runs,
      async (i) => {
        const f = filterOf(i);
        const [page, count] = await Promise.all([listLogs(store, { ...f, limit: 100 }), countLogs(store, f)]);
        if (page.length === 0) throw new Error('the logs list found nothing');
        matched = count;
      },
      async (i) => {
        const f = filterOf(i);
        const where = `WHERE log_time >= ? AND log_time <= ? AND process_name = ?`;
        const params = [enc(f.from), enc(f.to), f.processName];
        await raw.query(`SELECT * FROM ${raw.q('Logs')} ${where} ORDER BY log_time DESC, id DESC LIMIT 100`, params);
        await raw.query(`SELECT count(*) AS n FROM ${raw.q('Logs')} ${where}`, params);
      },
    );
    progress(`${label}: median ${fmt(median(o))} ms (bare ${fmt(median(b))} ms), ${matched} rows match one filter`);
    const common = { bench: 'logs list (page + count)', dialect: DIALECT_LABEL[dialect], size: `${fmt(total)} logs`, unit: 'ms', baselineName: 'same SQL, bare driver' };
    return [
      { ...common, metric: 'median', ours: median(o), baseline: median(b), ratio: median(o) / median(b), target: '< 50 ms', met: median(o) < 50, note: `~${fmt(matched)} rows match` },
      { ...common, metric: 'p95', ours: quantile(o, 0.95), baseline: quantile(b, 0.95), ratio: quantile(o, 0.95) / quantile(b, 0.95), target: '', met: null },
    ];
  } finally {
    await raw.close();
    await bench.close();
  }
}

export async function benchQueueList(dialect: LiveDialect, total: number, runs: number): Promise<Row[]> {
  const bench = await benchDatabase(dialect);
  const raw = await rawDb(dialect, bench.store);
  const label = `queue list ${DIALECT_LABEL[dialect]} ${fmt(total)}`;
  try {
    const { store } = bench;
    await generate(raw, dialect, 'Queues', total, label);
    const compiled = store.db
      .selectFrom('Queues')
      .select(['queue_name', 'status', sql<number>`count(*)`.as('n')])
      .groupBy(['queue_name', 'status'])
      .compile().sql;
    const { o, b } = await compare(
      runs,
      async () => {
        const queues = await listQueues(store);
        if (queues.length !== 50) throw new Error(`listQueues found ${queues.length} queues`);
      },
      () => raw.query(compiled.replace(/\$\d+/g, '?')),
    );
    progress(`${label}: median ${fmt(median(o))} ms (bare ${fmt(median(b))} ms)`);
    const common = { bench: 'queue list with counts', dialect: DIALECT_LABEL[dialect], size: `${fmt(total)} elements, 50 queues`, unit: 'ms', baselineName: 'same SQL, bare driver' };
    return [
      { ...common, metric: 'median', ours: median(o), baseline: median(b), ratio: median(o) / median(b), target: '< 200 ms', met: median(o) < 200 },
      { ...common, metric: 'p95', ours: quantile(o, 0.95), baseline: quantile(b, 0.95), ratio: quantile(o, 0.95) / quantile(b, 0.95), target: '', met: null },
    ];
  } finally {
    await raw.close();
    await bench.close();
  }
}
