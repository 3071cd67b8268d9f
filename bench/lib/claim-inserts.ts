/**
 * Claims while elements arrive (issue 24): W workers claim and finish `count` elements of one
 * queue through the store, as robots do, while one producer adds elements to the same queue one
 * by one through the robot API (each insert fires the change-tracking triggers of oo-014, which
 * bump the queue's counter row) and, in between, in bulk. The claimers must not wait for the
 * producer: claims (New -> In progress) never touch the counters.
 *
 * Measured twice on the same server in the same run: the storm alone (baseline), then the storm
 * with the producer. Figures: claims per second (ratio baseline/ours, so more than 1 reads
 * "slower"), and the claimers' lock waits, sampled every 2 ms from the server (PostgreSQL:
 * pg_stat_activity rows of claim statements waiting on a Lock; MariaDB: information_schema
 * INNODB_TRX rows in LOCK WAIT running a claim statement).
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { closeStore, type Store } from '../../src/db/open.js';
import { bulkCreateQueueElements, createQueueElement, getNextQueueElement, setQueueElementStatus } from '../../src/db/store/queues.js';
import { benchDatabase, DIALECT_LABEL, fmt, mysqlConfig, pgConfig, progress, sleep, type BenchDatabase, type Row } from './common.js';

const QUEUE = 'storm';

interface Storm {
  claimsPerSecond: number;
  /** samples in which at least one claim statement waited on a lock */
  claimerLockSamples: number;
  samples: number;
  inserted: number;
}

/** Counts, every 2 ms until stopped, the samples where a claimer waits on a lock. */
function sampleLockWaits(bench: BenchDatabase): { stop(): Promise<{ waits: number; samples: number }> } {
  let stopped = false;
  let waits = 0;
  let samples = 0;
  const database = bench.store.config.database!;
  const done = (async () => {
    if (bench.dialect === 'postgres') {
      const client = new pg.Client(pgConfig(bench.store));
      await client.connect();
      try {
        while (!stopped) {
          const { rows } = await client.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE 'UPDATE "Queues"%'`,
            [database],
          );
          samples++;
          if (Number(rows[0]!.n) > 0) waits++;
          await sleep(2);
        }
      } finally {
        await client.end();
      }
    } else {
      const connection = await mysql.createConnection(mysqlConfig(bench.store));
      try {
        while (!stopped) {
          const [rows] = await connection.query(
            `SELECT count(*) AS n FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
             WHERE p.DB = ? AND t.trx_state = 'LOCK WAIT' AND (t.trx_query LIKE 'select%for update%' OR t.trx_query LIKE 'update%')`,
            [database],
          );
          samples++;
          if (Number((rows as { n: number }[])[0]!.n) > 0) waits++;
          await sleep(2);
        }
      } finally {
        await connection.end();
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return { waits, samples };
    },
  };
}

async function storm(dialect: 'postgres' | 'mysql', workers: number, count: number, produce: boolean): Promise<Storm> {
  const bench = await benchDatabase(dialect);
  try {
    await bulkCreateQueueElements(bench.store, QUEUE, Array.from({ length: count }, (_, i) => ({ reference: `seed-${i}`, data: '{}' })));
    const stores: Store[] = Array.from({ length: workers }, () => bench.open());
    const producer = bench.open();
    for (const s of [...stores, producer]) await s.db.selectFrom('Queues').select('id').limit(1).execute();
    let claimed = 0;
    let inserted = 0;
    let finished = false;
    const sampler = sampleLockWaits(bench);
    const started = performance.now();
    const produced = (async () => {
      if (!produce) return;
      for (let i = 0; !finished; i++) {
        // Mostly one by one, as robots add work; every 50th a bulk insert of 100, as a loader does.
        if (i % 50 === 49) {
          await bulkCreateQueueElements(producer, QUEUE, Array.from({ length: 100 }, (_, k) => ({ reference: `bulk-${i}-${k}` })));
          inserted += 100;
        } else {
          await createQueueElement(producer, QUEUE, { reference: `one-${i}` });
          inserted++;
        }
      }
    })();
    await Promise.all(
      stores.map(async (store) => {
        while (claimed < count) {
          const element = await getNextQueueElement(store, QUEUE);
          if (!element) break;
          claimed++;
          await setQueueElementStatus(store, element.id, 'DONE');
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    finished = true;
    await produced;
    const { waits, samples } = await sampler.stop();
    for (const s of stores) await closeStore(s);
    return { claimsPerSecond: claimed / seconds, claimerLockSamples: waits, samples, inserted };
  } finally {
    await bench.close();
  }
}

/**
 * @example
 *   const rows = await benchClaimWhileInserting('postgres', 8, 5000);
 */
export async function benchClaimWhileInserting(dialect: 'postgres' | 'mysql', workers: number, count: number): Promise<Row[]> {
  const alone = await storm(dialect, workers, count, false);
  const busy = await storm(dialect, workers, count, true);
  const label = `claims while inserting ${DIALECT_LABEL[dialect]}`;
  progress(
    `${label}: alone ${fmt(alone.claimsPerSecond)} claims/s (lock waits in ${alone.claimerLockSamples}/${alone.samples} samples); with the producer ${fmt(busy.claimsPerSecond)} claims/s, ${busy.inserted} inserted (lock waits in ${busy.claimerLockSamples}/${busy.samples} samples)`,
  );
  const common = { bench: 'claims while elements arrive (change tracking)', dialect: DIALECT_LABEL[dialect], size: `${workers} workers, ${fmt(count)} claims` };
  return [
    {
      ...common,
      metric: 'claim rate, storm alone / with a producer',
      unit: 'claims/s',
      ours: busy.claimsPerSecond,
      baselineName: 'the same storm without the producer',
      baseline: alone.claimsPerSecond,
      ratio: alone.claimsPerSecond / busy.claimsPerSecond,
      target: '',
      met: null,
      note: `${busy.inserted} elements inserted meanwhile (one by one, every 50th a bulk of 100)`,
    },
    {
      ...common,
      metric: "samples with a claimer waiting on a lock (every 2 ms)",
      unit: 'samples',
      ours: busy.claimerLockSamples,
      baselineName: 'the same storm without the producer',
      baseline: alone.claimerLockSamples,
      ratio: busy.claimerLockSamples / Math.max(1, alone.claimerLockSamples),
      target: 'no more than alone',
      met: busy.claimerLockSamples <= alone.claimerLockSamples,
      note: `of ${busy.samples} samples (alone: ${alone.samples})`,
    },
  ];
}
