/**
 * Retention under load: N old log rows (40 to 60 days old, a 100-character message each,
 * generated on the server) are purged by the monitor's purge (LOGS kept 30 days, its default
 * batches and pause) while W robots, each on a Store of its own, log, add an element, claim it
 * and finish it in a loop. Baseline: the same robots for BASELINE_SECONDS just before, without
 * the purge. Figures: the robots' write latency p99 during the purge against the baseline
 * (target at most 2x), their throughput, the rows purged per second and the longest batch.
 */
import type { Store } from '../../src/db/open.js';
import { createLog } from '../../src/db/store/logs.js';
import { createQueueElement, getNextQueueElement, setQueueElementStatus } from '../../src/db/store/queues.js';
import { saveRetention } from '../../src/db/store/retention.js';
import { purgeExpired } from '../../src/monitor/retention.js';
import { formatNaive } from '../../src/time/clock.js';
import { benchDatabase, DIALECT_LABEL, fmt, progress, quantile, rawDb, timed, type LiveDialect, type RawDb, type Row } from './common.js';
import { timeAfter } from './dashboard.js';

const CHUNK = 250_000;
const BASELINE_SECONDS = 30;
const DAY_SECONDS = 86_400;

/** N log rows spread over the 20 days from 60 to 40 days before now, in chunks of one INSERT ... SELECT. */
async function generateOldLogs(raw: RawDb, dialect: LiveDialect, total: number, label: string): Promise<number> {
  const start = formatNaive(new Date(Date.now() - 60 * DAY_SECONDS * 1000)).slice(0, 19);
  const step = (20 * DAY_SECONDS) / total;
  const g = dialect === 'mysql' ? 'seq' : 'g';
  const id = dialect === 'postgres' ? 'gen_random_uuid()' : dialect === 'mysql' ? "REPLACE(UUID(), '-', '')" : 'lower(hex(randomblob(16)))';
  const level = dialect === 'postgres' ? "'INFO'::loglevel" : "'INFO'";
  const processName = dialect === 'mysql' ? `CONCAT('robot-', ${g} % 100)` : `'robot-' || (${g} % 100)`;
  const message = dialect === 'mysql' ? "REPEAT('x', 100)" : dialect === 'postgres' ? "repeat('x', 100)" : "printf('%.100c', 'x')";
  const [ms] = await timed(async () => {
    for (let first = 1; first <= total; first += CHUNK) {
      const last = Math.min(total, first + CHUNK - 1);
      const from = dialect === 'postgres' ? `FROM generate_series(${first}, ${last}) g` : dialect === 'mysql' ? `FROM seq_${first}_to_${last}` : 'FROM s';
      const series = dialect === 'sqlite' ? `WITH RECURSIVE s(g) AS (SELECT ${first} UNION ALL SELECT g + 1 FROM s WHERE g < ${last}) ` : '';
      await raw.query(
        `INSERT INTO ${raw.q('Logs')} (id, log_time, log_level, process_name, log_message) ${series}SELECT ${id}, ${timeAfter(dialect, start, `${g} * ${step}`)}, ${level}, ${processName}, ${message} ${from}`,
      );
      if (last % 1_000_000 === 0 || last === total) progress(`${label}: ${fmt(last)} old log rows generated`);
    }
  });
  if (dialect === 'postgres') await raw.query('VACUUM ANALYZE "Logs"');
  else if (dialect === 'mysql') await raw.query('ANALYZE TABLE `Logs`');
  else await raw.query('ANALYZE');
  return total / (ms / 1000);
}

interface Load {
  latencies: number[];
  ops: number;
  seconds: number;
}

/**
 * W robots writing until `until` resolves: each round logs a line, adds an element, claims it and
 * finishes it (four writes, each timed). SQLite answers synchronously, so each round ends with a
 * turn of the event loop, as separate robot processes would leave the purge its turn.
 */
async function robotsWriting(stores: Store[], until: Promise<unknown>): Promise<Load> {
  const latencies: number[] = [];
  let done = false;
  void until.finally(() => (done = true));
  const began = performance.now();
  const time = async (fn: () => Promise<unknown>) => {
    const start = performance.now();
    await fn();
    latencies.push(performance.now() - start);
  };
  await Promise.all(
    stores.map(async (store, i) => {
      const queue = `bench-${i}`;
      while (!done) {
        await time(() => createLog(store, { level: 'INFO', processName: `robot-${i}`, message: 'working on an element' }));
        await time(() => createQueueElement(store, queue, { reference: 'r' }));
        let element: { id: string } | undefined;
        await time(async () => (element = await getNextQueueElement(store, queue)));
        const id = element?.id;
        if (id) await time(() => setQueueElementStatus(store, id, 'DONE'));
        await new Promise((resolve) => setImmediate(resolve));
      }
    }),
  );
  return { latencies, ops: latencies.length, seconds: (performance.now() - began) / 1000 };
}

export async function benchRetention(dialect: LiveDialect, total: number, robots: number): Promise<Row[]> {
  const bench = await benchDatabase(dialect);
  const raw = await rawDb(dialect, bench.store);
  const label = `retention ${DIALECT_LABEL[dialect]} ${fmt(total)}`;
  try {
    const loadRate = await generateOldLogs(raw, dialect, total, label);
    const stores = Array.from({ length: robots }, () => bench.open());
    progress(`${label}: ${robots} robots for ${BASELINE_SECONDS} s without the purge`);
    const baseline = await robotsWriting(stores, new Promise((resolve) => setTimeout(resolve, BASELINE_SECONDS * 1000)));
    await saveRetention(bench.store, { scope: 'LOGS', keepDays: 30 });
    const batches: number[] = [];
    let purged = 0;
    progress(`${label}: ${robots} robots while the monitor purges`);
    const purging = timed(() =>
      purgeExpired(bench.open(), {
        onBatch: (_scope, rows, ms) => {
          batches.push(ms);
          purged += rows;
          if (purged % 500_000 < rows) progress(`${label}: ${fmt(purged)} rows purged`);
        },
      }),
    );
    const during = await robotsWriting(stores, purging);
    const [purgeMs, reports] = await purging;
    const deleted = reports.reduce((sum, r) => sum + r.deleted, 0);
    if (deleted !== total) throw new Error(`the purge deleted ${deleted} rows of ${total}`);
    const left = Number((await raw.query(`SELECT count(*) AS n FROM ${raw.q('Logs')}`))[0]!.n);
    const rate = deleted / (purgeMs / 1000);
    const p99 = quantile(during.latencies, 0.99);
    const p99Base = quantile(baseline.latencies, 0.99);
    const size = `${fmt(total)} old logs, ${robots} robots`;
    const note = `purge ${(purgeMs / 1000).toFixed(0)} s, ${batches.length} batches of ${fmt(total / batches.length)}, longest ${fmt(Math.max(...batches))} ms, median ${fmt(quantile(batches, 0.5))} ms; ${fmt(left)} robot rows left`;
    progress(`${label}: p99 ${fmt(p99)} ms during against ${fmt(p99Base)} ms without; ${fmt(rate)} rows/s; ${note}`);
    const row = (metric: string, unit: string, ours: number, baselineName: string, base: number, ratio: number, target: string, met: boolean | null): Row => ({
      bench: 'retention purge',
      dialect: DIALECT_LABEL[dialect],
      size,
      metric,
      unit,
      ours,
      baselineName,
      baseline: base,
      ratio,
      target,
      met,
      note,
    });
    return [
      row('robot write p99 during the purge', 'ms', p99, 'the same load without it', p99Base, p99 / p99Base, '<= 2x', p99 / p99Base <= 2),
      row('robot writes per second during the purge', '/s', during.ops / during.seconds, 'the same load without it', baseline.ops / baseline.seconds, (during.ops / during.seconds) / (baseline.ops / baseline.seconds), '', null),
      row('rows purged per second', '/s', rate, 'bulk load of the same rows', loadRate, rate / loadRate, '', null),
    ];
  } finally {
    await raw.close();
    await bench.close();
  }
}
