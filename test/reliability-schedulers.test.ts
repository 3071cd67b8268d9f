/**
 * Four Schedulers (each its own connection pool, in this process to save start-up time; the
 * CLI-process race on PostgreSQL is test/scheduler-race.test.ts) and 500 due triggers, on
 * PostgreSQL and MariaDB: every trigger runs exactly once, one job each, every job Done.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listJobs } from '../src/db/store/jobs.js';
import { createTrigger, listTriggers } from '../src/db/store/triggers.js';
import { ROBOTS, startScheduler, tempDir, waitFor, type RunningScheduler } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const TRIGGERS = 500;

describe.each(['postgres', 'mysql'] as const)('four Schedulers, %s', (dialect) => {
  let live: TestStore;
  const schedulers: RunningScheduler[] = [];
  beforeAll(async () => {
    live = await openTestStore(dialect);
  });
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.stop(2000).catch(() => undefined)));
    await live?.close();
  });

  it(`run each of ${TRIGGERS} due triggers exactly once`, { timeout: 120_000 }, async () => {
    const { store, url } = live;
    const dir = tempDir();
    const file = join(dir, 'runs');
    const ids = new Set<string>();
    const dueAt = new Date(Date.now() - 1000);
    for (let i = 0; i < TRIGGERS; i++) {
      ids.add(
        await createTrigger(store, {
          type: 'SINGLE',
          nextRun: dueAt,
          triggerName: `t-${i}`,
          processName: `t-${i}`,
          processPath: join(ROBOTS, 'race.sh'),
          processArgs: file,
          isBlocking: i % 5 === 0,
        }),
      );
    }
    // All four start against a full table at once.
    for (let i = 1; i <= 4; i++) schedulers.push(startScheduler({ connectionString: url, machineName: `racer-${i}`, intervalSeconds: 0.05 }));
    await waitFor('every trigger to be done', async () => (await listTriggers(store)).every((t) => t.status === 'DONE'), 110_000);
    const jobs = await listJobs(store, { limit: 10_000 });
    expect(jobs).toHaveLength(TRIGGERS);
    expect(new Set(jobs.map((j) => j.triggerId))).toEqual(ids);
    expect(jobs.filter((j) => j.status !== 'DONE')).toEqual([]);
    const runs = readFileSync(file, 'utf8').trim().split('\n');
    expect(runs).toHaveLength(TRIGGERS);
    expect(new Set(runs)).toEqual(ids);
    const perScheduler: Record<string, number> = {};
    for (const job of jobs) perScheduler[job.schedulerName] = (perScheduler[job.schedulerName] ?? 0) + 1;
    console.log(`${dialect}: runs per Scheduler`, perScheduler);
    expect(Object.keys(perScheduler).length).toBeGreaterThan(1);
  });
});
