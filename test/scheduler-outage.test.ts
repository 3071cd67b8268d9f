/**
 * Database outage: PostgreSQL is stopped while a Scheduler runs a robot, the robot ends during
 * the outage, the server comes back. The Scheduler survives and records the outcome with the
 * time the robot really ended.
 *
 * This stops the shared PostgreSQL server, so it is not part of the parallel run: `npm test`
 * runs it afterwards on its own (vitest.outage.config.ts). Run it alone with
 * `npx vitest run --config vitest.outage.config.ts`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLatestJobOfTrigger } from '../src/db/store/jobs.js';
import { listSchedulers } from '../src/db/store/schedulers.js';
import { createTrigger, getTrigger } from '../src/db/store/triggers.js';
import { readEvents, ROBOTS, sleep, startScheduler, tempDir, waitFor, waitForRunningJob } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const VERSION = readdirSync('/etc/postgresql')[0]!;
const pgctl = (action: 'start' | 'stop') =>
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', ...(action === 'stop' ? ['-m', 'fast'] : []), VERSION, 'main', action], { stdio: 'pipe', timeout: 60_000 });
const isReady = () => {
  try {
    execFileSync('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Whatever happens, the shared server is up again afterwards. */
async function ensurePostgresRunning(): Promise<void> {
  if (!isReady()) {
    try {
      pgctl('start');
    } catch {
      // already starting; wait below
    }
  }
  await waitFor('PostgreSQL to accept connections', () => isReady(), 60_000);
}

describe('Scheduler through a PostgreSQL outage', () => {
  let live: TestStore;
  beforeAll(async () => {
    await ensurePostgresRunning();
    live = await openTestStore('postgres');
  });
  afterAll(async () => {
    await ensurePostgresRunning();
    await live?.close();
  });

  it('keeps watching its robot while the database is down and records the outcome when it is back', async () => {
    const { store, url } = live;
    const file = join(tempDir(), 'events');
    const id = await createTrigger(store, {
      type: 'SINGLE',
      nextRun: new Date(Date.now() - 1000),
      triggerName: 'through-outage',
      processName: 'through-outage',
      processPath: join(ROBOTS, 'robot.mjs'),
      processArgs: JSON.stringify({ file, sleepMs: 2000 }),
      isBlocking: false,
    });
    const s = startScheduler({ connectionString: url, intervalSeconds: 0.2, maxBackoffSeconds: 1 });
    let outageEnded = 0;
    try {
      await waitForRunningJob(store, id);
      pgctl('stop');
      try {
        await waitFor('the robot to end during the outage', () => readEvents(file).some((e) => e.event === 'end'), 10_000);
        await sleep(1000);
      } finally {
        outageEnded = Date.now();
        pgctl('start');
      }
      await waitFor('PostgreSQL to accept connections', () => isReady(), 60_000);
      const job = await waitFor('the outcome to be recorded', async () => {
        try {
          const latest = await getLatestJobOfTrigger(store, id);
          return latest?.status === 'DONE' ? latest : undefined;
        } catch {
          return undefined; // this test's own pool reconnects too
        }
      }, 30_000);
      const robotEnd = readEvents(file).find((e) => e.event === 'end')!.time;
      expect(job.endTime!.getTime()).toBeGreaterThanOrEqual(robotEnd - 50);
      expect(job.endTime!.getTime()).toBeLessThan(outageEnded);
      expect((await getTrigger(store, id)).status).toBe('DONE');
      const beat = (await listSchedulers(store)).find((r) => r.machineName === s.scheduler.options.machineName);
      expect(beat!.lastUpdate.getTime()).toBeGreaterThan(outageEnded - 1000);
      // The outcome is written inside the tick that then logs that the database is back.
      const events = () => s.lines.map((line) => (JSON.parse(line) as { event: string }).event);
      await waitFor('the database-back notice', () => events().includes('database-back'), 5000);
      expect(events()).toContain('database-unavailable');
    } finally {
      await ensurePostgresRunning();
      await s.stop();
    }
  });
});
