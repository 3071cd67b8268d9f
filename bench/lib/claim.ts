/**
 * Queue claiming: W concurrent workers (each with its own connection, as robots have) drain N
 * elements with `getNextQueueElement` + `setQueueElementStatus(DONE)`. Claims per second and
 * duplicates (an id handed out twice). Baselines, in the same run and on the same server:
 * on PostgreSQL pg-boss 10 doing the same fetch (batch 1) + complete with a pool of W
 * connections; on SQLite and MariaDB the round-trip floor (W connections each doing two trivial
 * `SELECT 1` per element: what any claim + finish must at least cost).
 */
import PgBoss from 'pg-boss';
import { closeStore, type Store } from '../../src/db/open.js';
import { bulkCreateQueueElements, getNextQueueElement, listQueues, setQueueElementStatus } from '../../src/db/store/queues.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { benchDatabase, DIALECT_LABEL, fmt, progress, rawDb, timed, type LiveDialect, type Row } from './common.js';

async function drain(stores: Store[], queue: string, total: number, onTick: (done: number) => void) {
  const seen = new Set<string>();
  let duplicates = 0;
  let done = 0;
  await Promise.all(
    stores.map(async (store) => {
      for (;;) {
        const element = await getNextQueueElement(store, queue);
        if (!element) return;
        if (seen.has(element.id)) duplicates++;
        seen.add(element.id);
        await setQueueElementStatus(store, element.id, 'DONE');
        if (++done % Math.max(1, Math.floor(total / 4)) === 0) onTick(done);
      }
    }),
  );
  return { claimed: seen.size + duplicates, duplicates };
}

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
    await boss.createQueue('bench');
    for (let start = 0; start < count; start += 5000) {
      await boss.insert(Array.from({ length: Math.min(5000, count - start) }, (_, i) => ({ name: 'bench', data: { invoice: start + i } })));
    }
    const seen = new Set<string>();
    const stopAt = Date.now() + budgetMs;
    const [ms] = await timed(() =>
      Promise.all(
        Array.from({ length: workers }, async () => {
          while (Date.now() < stopAt) {
            const [job] = await boss.fetch('bench', { batchSize: 1 });
            if (!job) return;
            seen.add(job.id);
            await boss.complete('bench', job.id);
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

async function roundTripFloor(dialect: LiveDialect, store: Store, workers: number, count: number): Promise<number> {
  const raws = await Promise.all(Array.from({ length: workers }, () => rawDb(dialect, store)));
  try {
    let left = count;
    const [ms] = await timed(() =>
      Promise.all(
        raws.map(async (raw) => {
          while (left-- > 0) {
            await raw.query('SELECT 1');
            await raw.query('SELECT 1');
          }
        }),
      ),
    );
    return (count / ms) * 1000;
  } finally {
    for (const raw of raws) await raw.close();
  }
}

export async function benchClaim(dialect: LiveDialect, workers: number, count: number, pgBossBudgetMs = 60_000): Promise<Row> {
  const bench = await benchDatabase(dialect);
  try {
    const label = `claim ${DIALECT_LABEL[dialect]} ${workers} workers ${fmt(count)}`;
    await bulkCreateQueueElements(bench.store, 'bench', Array.from({ length: count }, (_, i) => ({ reference: `ref-${i}`, data: `{"n":${i}}` })));
    const stores = Array.from({ length: workers }, () => bench.open());
    // Connect every worker before the clock starts.
    await Promise.all(stores.map((s) => listQueues(s).then(() => undefined, () => undefined)));
    const [ms, result] = await timed(() => drain(stores, 'bench', count, (d) => progress(`${label}: ${fmt(d)} done`)));
    for (const s of stores) await closeStore(s).catch(() => undefined);
    const counts = (await listQueues(bench.store))[0]!.counts;
    const lost = count - counts.DONE;
    const rate = (count / ms) * 1000;
    let baselineName: string;
    let baseline: number;
    let extra = '';
    if (dialect === 'postgres') {
      progress(`${label}: pg-boss side by side (at most ${pgBossBudgetMs / 1000} s)`);
      baselineName = 'pg-boss 10 fetch+complete';
      const boss = await pgBossRate(workers, count, pgBossBudgetMs);
      baseline = boss.rate;
      if (boss.done < count) extra = `; pg-boss stopped after ${fmt(boss.done)} jobs (time budget)`;
    } else {
      baselineName = 'round-trip floor (2x SELECT 1)';
      baseline = await roundTripFloor(dialect, bench.store, workers, count);
    }
    progress(`${label}: ${fmt(rate)}/s, ${baselineName} ${fmt(baseline)}/s, duplicates ${result.duplicates}, not done ${lost}`);
    const ratio = rate / baseline;
    const correct = result.duplicates === 0 && lost === 0 && result.claimed === count;
    return {
      bench: `claim, ${workers} workers`,
      dialect: DIALECT_LABEL[dialect],
      size: `${fmt(count)} elements`,
      metric: 'claims/s',
      unit: '/s',
      ours: rate,
      baselineName,
      baseline,
      ratio,
      target: dialect === 'postgres' ? '>= 1x pg-boss, 0 dup' : '0 duplicates',
      met: correct && (dialect !== 'postgres' || ratio >= 1),
      note: `duplicates ${result.duplicates}, not done ${lost}${extra}`,
    };
  } finally {
    await bench.close();
  }
}
