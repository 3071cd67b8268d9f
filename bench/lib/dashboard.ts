/**
 * The dashboard's queries on large tables, median latency: what needs attention (failed jobs of
 * the last day, queue backlogs, stale In Progress elements, triggers, Schedulers, incidents: the
 * route's own readAttention), runs per hour by outcome and queue activity per hour, each over
 * the last day and the last week. N jobs and N queue elements (50 queues) are spread over the
 * 30 days before now, generated on the server. Baseline: one count of the jobs that ended in
 * the same window through the bare driver, the least any per-window read must do, so the ratio
 * says what bucketing and the other reads add.
 */
import { countQueueActivity, countRunsPerHour, hourBoundaries, readAttention } from '../../src/db/store/dashboard.js';
import { formatNaive } from '../../src/time/clock.js';
import { benchDatabase, DIALECT_LABEL, fmt, median, progress, rawDb, type LiveDialect, type RawDb, type Row } from './common.js';
import { compare } from './lists.js';

const SPAN_SECONDS = 30 * 24 * 3600;
const CHUNK = 100_000;

/** A time `seconds` (an SQL expression) after `start`, in each dialect's own date arithmetic. */
export function timeAfter(dialect: LiveDialect, start: string, seconds: string): string {
  if (dialect === 'postgres') return `(timestamp '${start}' + (${seconds}) * interval '1 second')`;
  if (dialect === 'mysql') return `(TIMESTAMP '${start}' + INTERVAL ROUND((${seconds}) * 1000000) MICROSECOND)`;
  return `(strftime('%Y-%m-%d %H:%M:%f', '${start}', '+' || (${seconds}) || ' seconds') || '000')`;
}

/** (Exported for ad-hoc query plans.) N jobs (1 in 20 Failed, 1 in 20 Killed, the rest Done, each 60 s long) and N elements, over the 30 days before now. */
export async function generate(raw: RawDb, dialect: LiveDialect, total: number, label: string): Promise<void> {
  const start = formatNaive(new Date(Date.now() - SPAN_SECONDS * 1000)).slice(0, 19);
  const step = SPAN_SECONDS / total;
  const g = dialect === 'mysql' ? 'seq' : 'g';
  const at = (offset: number) => timeAfter(dialect, start, `${g} * ${step} + ${offset}`);
  const jobStatus = `CASE ${g} % 20 WHEN 0 THEN 'FAILED' WHEN 1 THEN 'KILLED' ELSE 'DONE' END`;
  const elementStatus = `CASE ${g} % 20 WHEN 0 THEN 'NEW' WHEN 1 THEN 'NEW' WHEN 2 THEN 'IN_PROGRESS' WHEN 3 THEN 'FAILED' WHEN 4 THEN 'FAILED' WHEN 5 THEN 'ABANDONED' ELSE 'DONE' END`;
  const started = `CASE WHEN ${g} % 20 < 2 THEN NULL ELSE ${at(30)} END`;
  const ended = `CASE WHEN ${g} % 20 < 3 THEN NULL ELSE ${at(90)} END`;
  const cast = (expr: string, type: string) => (dialect === 'postgres' ? `(${expr})::${type}` : expr);
  const concat = (...parts: string[]) => (dialect === 'mysql' ? `CONCAT(${parts.join(', ')})` : parts.join(' || '));
  const id = dialect === 'postgres' ? 'gen_random_uuid()' : dialect === 'mysql' ? 'LOWER(MD5(CONCAT(seq, RAND())))' : 'lower(hex(randomblob(16)))';
  for (let first = 1; first <= total; first += CHUNK) {
    const last = Math.min(total, first + CHUNK - 1);
    const from = dialect === 'postgres' ? `FROM generate_series(${first}, ${last}) g` : dialect === 'mysql' ? `FROM seq_${first}_to_${last}` : 'FROM s';
    const series = dialect === 'sqlite' ? `WITH RECURSIVE s(g) AS (SELECT ${first} UNION ALL SELECT g + 1 FROM s WHERE g < ${last}) ` : '';
    await raw.query(
      `INSERT INTO ${raw.q('Jobs')} (id, process_name, scheduler_name, start_time, end_time, status) ${series}SELECT ${id}, ${concat("'process-'", `(${g} % 20)`)}, 'BENCH', ${at(0)}, ${at(60)}, ${cast(jobStatus, 'jobstatus')} ${from}`,
    );
    await raw.query(
      `INSERT INTO ${raw.q('Queues')} (id, queue_name, status, reference, created_date, start_date, end_date, created_by) ${series}SELECT ${id}, ${concat("'queue-'", `(${g} % 50)`)}, ${cast(elementStatus, 'queuestatus')}, ${concat("'ref-'", g)}, ${at(0)}, ${started}, ${ended}, 'bench' ${from}`,
    );
    if (last % 500_000 === 0 || last === total) progress(`${label}: ${fmt(last)} jobs and elements generated`);
  }
  if (dialect === 'postgres') await raw.query('VACUUM ANALYZE');
  else if (dialect === 'mysql') await raw.query('ANALYZE TABLE `Jobs`, `Queues`');
  else await raw.query('ANALYZE');
}

export async function benchDashboard(dialect: LiveDialect, total: number, runs: number): Promise<Row[]> {
  const bench = await benchDatabase(dialect);
  const raw = await rawDb(dialect, bench.store);
  const label = `dashboard ${DIALECT_LABEL[dialect]} ${fmt(total)}`;
  try {
    const { store } = bench;
    await generate(raw, dialect, total, label);
    const at = new Date();
    const queries: { name: string; days: number; run: () => Promise<unknown> }[] = [
      { name: 'needs attention', days: 1, run: () => readAttention(store, at) },
      { name: 'runs per hour, day', days: 1, run: () => countRunsPerHour(store, hourBoundaries(at, 24)) },
      { name: 'runs per hour, week', days: 7, run: () => countRunsPerHour(store, hourBoundaries(at, 168)) },
      { name: 'queue activity, day', days: 1, run: () => countQueueActivity(store, hourBoundaries(at, 24)) },
      { name: 'queue activity, week', days: 7, run: () => countQueueActivity(store, hourBoundaries(at, 168)) },
    ];
    const rows: Row[] = [];
    for (const q of queries) {
      const bounds = hourBoundaries(at, q.days * 24);
      const params = [store.dialect.encodeDate(bounds[0]!), store.dialect.encodeDate(bounds.at(-1)!)];
      const { o, b } = await compare(runs, q.run, () => raw.query(`SELECT count(*) AS n FROM ${raw.q('Jobs')} WHERE end_time >= ? AND end_time < ?`, params));
      progress(`${label}: ${q.name} median ${fmt(median(o))} ms (bare count ${fmt(median(b))} ms)`);
      rows.push({
        bench: `dashboard: ${q.name}`,
        dialect: DIALECT_LABEL[dialect],
        size: `${fmt(total)} jobs + ${fmt(total)} elements`,
        metric: 'median',
        unit: 'ms',
        ours: median(o),
        baselineName: `count of jobs ended in the ${q.days === 1 ? 'day' : 'week'}, bare driver`,
        baseline: median(b),
        ratio: median(o) / median(b),
        target: '< 500 ms',
        met: median(o) < 500,
      });
    }
    return rows;
  } finally {
    await raw.close();
    await bench.close();
  }
}
