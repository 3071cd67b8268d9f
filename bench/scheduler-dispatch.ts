/**
 * Dispatch latency of the Scheduler: the time from a trigger becoming due (its next_run) to
 * (a) the Scheduler's claim (the job's start_time) and (b) the robot's first statement, with the
 * default-like 1 s tick. Due times fall at random points of the tick, so the figure includes the
 * wait for the next tick (0.5 s on average by design) plus the claim and the process start.
 *
 *   npx tsx bench/scheduler-dispatch.ts [runs per database, default 12]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generateKey } from '../src/crypto/fernet.js';
import { closeStore, openStore } from '../src/db/open.js';
import { upgradeDatabase } from '../src/db/schema/upgrade.js';
import { getLatestJobOfTrigger } from '../src/db/store/jobs.js';
import { createTrigger } from '../src/db/store/triggers.js';
import { Scheduler } from '../src/scheduler/loop.js';

const ROBOT = fileURLToPath(new URL('../test/fixtures/robots/robot.mjs', import.meta.url));
const RUNS = Number(process.argv[2] ?? 12);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `mean ${mean.toFixed(0)} ms, median ${at(0.5).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms, max ${sorted[sorted.length - 1]!.toFixed(0)} ms`;
}

async function measure(label: string, url: string): Promise<void> {
  const store = openStore(url);
  await upgradeDatabase(store.db, store.dialect);
  const dir = mkdtempSync(join(tmpdir(), 'oo-bench-'));
  const scheduler = new Scheduler({ connectionString: url, cryptoKey: generateKey(), machineName: 'bench', intervalSeconds: 1, workDir: dir });
  const running = scheduler.run();
  const claim: number[] = [];
  const started: number[] = [];
  try {
    await sleep(1500);
    for (let i = 0; i < RUNS; i++) {
      const file = join(dir, `run-${i}`);
      const due = new Date(Date.now() + 300 + Math.random() * 1000);
      const id = await createTrigger(store, { type: 'SINGLE', nextRun: due, triggerName: `bench-${i}`, processName: `bench-${i}`, processPath: ROBOT, processArgs: JSON.stringify({ file }), isBlocking: false });
      for (;;) {
        const job = await getLatestJobOfTrigger(store, id);
        if (job && job.status !== 'RUNNING') {
          claim.push(job.startTime.getTime() - due.getTime());
          const first = Number(readFileSync(file, 'utf8').split('\n')[0]!.split(' ')[2]);
          started.push(first - due.getTime());
          break;
        }
        await sleep(50);
      }
    }
  } finally {
    scheduler.stop();
    await running;
    await closeStore(store);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${label}, 1 s tick, ${RUNS} runs`);
  console.log(`  due -> claimed (job start_time): ${stats(claim)}`);
  console.log(`  due -> robot's first statement:  ${stats(started)}`);
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'oo-bench-db-'));
await measure('SQLite', `sqlite+pysqlite:///${join(sqliteDir, 'bench.db')}`);
rmSync(sqliteDir, { recursive: true, force: true });

const admin = process.env.OO_TEST_POSTGRES ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const name = `oo_bench_${Date.now().toString(36)}`;
const client = new pg.Client({ connectionString: admin });
try {
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  try {
    await measure('PostgreSQL', admin.replace(/^postgresql:\/\//, 'postgresql+psycopg2://').replace(/\/[^/]*$/, `/${name}`));
  } finally {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
} catch (error) {
  console.log(`PostgreSQL skipped: ${(error as Error).message}`);
} finally {
  await client.end().catch(() => undefined);
}
