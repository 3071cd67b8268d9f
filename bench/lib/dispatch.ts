/**
 * Scheduler dispatch latency: from a trigger becoming due (its next_run) to the robot's first
 * statement, with a 1 s tick, while `idle` other triggers (due in 2099) sit in the table. Due
 * times fall at random points of the tick, so the figure includes the wait for the next tick
 * (0.5 s on average by design) plus the claim and the process start.
 * Baseline: starting the same robot directly with spawn() (the process start alone), p95.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKey } from '../../src/crypto/fernet.js';
import { getLatestJobOfTrigger } from '../../src/db/store/jobs.js';
import { createTrigger } from '../../src/db/store/triggers.js';
import { Scheduler } from '../../src/scheduler/loop.js';
import { benchDatabase, DIALECT_LABEL, fmt, median, progress, quantile, sleep, type LiveDialect, type Row } from './common.js';

const ROBOT = fileURLToPath(new URL('../../test/fixtures/robots/robot.mjs', import.meta.url));

const firstStatement = (file: string) => Number(readFileSync(file, 'utf8').split('\n')[0]!.split(' ')[2]);

async function bareSpawn(dir: string, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const file = join(dir, `bare-${i}`);
    const start = Date.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [ROBOT, 'bare', '', '', JSON.stringify({ file }), ''], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', () => resolve());
    });
    out.push(firstStatement(file) - start);
  }
  return out;
}

export async function benchDispatch(dialect: LiveDialect, runs: number, idle: number): Promise<Row[]> {
  const bench = await benchDatabase(dialect);
  const { store } = bench;
  const dir = mkdtempSync(join(tmpdir(), 'oo-bench-'));
  const label = `dispatch ${DIALECT_LABEL[dialect]} ${idle} idle triggers`;
  const far = new Date('2099-01-01T00:00:00');
  for (let i = 0; i < idle; i++) {
    await createTrigger(store, { type: 'SINGLE', nextRun: far, triggerName: `idle-${i}`, processName: `idle-${i}`, processPath: ROBOT, processArgs: '{}', isBlocking: false });
  }
  const scheduler = new Scheduler({ connectionString: bench.url, cryptoKey: generateKey(), machineName: 'bench', intervalSeconds: 1, workDir: dir });
  const running = scheduler.run();
  const started: number[] = [];
  try {
    await sleep(1500);
    for (let i = 0; i < runs; i++) {
      const file = join(dir, `run-${i}`);
      const due = new Date(Date.now() + 300 + Math.random() * 1000);
      const id = await createTrigger(store, { type: 'SINGLE', nextRun: due, triggerName: `bench-${i}`, processName: `bench-${i}`, processPath: ROBOT, processArgs: JSON.stringify({ file }), isBlocking: false });
      for (;;) {
        const job = await getLatestJobOfTrigger(store, id);
        if (job && job.status !== 'RUNNING') {
          started.push(firstStatement(file) - due.getTime());
          break;
        }
        await sleep(50);
      }
    }
  } finally {
    scheduler.stop();
    await running;
  }
  const bare = await bareSpawn(dir, runs);
  rmSync(dir, { recursive: true, force: true });
  await bench.close();
  progress(`${label}: p95 ${fmt(quantile(started, 0.95))} ms, median ${fmt(median(started))} ms; bare spawn p95 ${fmt(quantile(bare, 0.95))} ms`);
  const common = { bench: 'scheduler dispatch (1 s tick)', dialect: DIALECT_LABEL[dialect], size: `${idle} idle triggers, ${runs} runs`, unit: 'ms', baselineName: 'bare spawn of the robot' };
  return [
    { ...common, metric: 'p95', ours: quantile(started, 0.95), baseline: quantile(bare, 0.95), ratio: quantile(started, 0.95) / quantile(bare, 0.95), target: '< 1500 ms', met: quantile(started, 0.95) < 1500 },
    { ...common, metric: 'median', ours: median(started), baseline: median(bare), ratio: median(started) / median(bare), target: '', met: null },
  ];
}
