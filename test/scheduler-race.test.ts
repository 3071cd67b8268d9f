/**
 * Four Scheduler processes against one PostgreSQL database and 200 due triggers: every trigger
 * runs exactly once (the claim is one conditional UPDATE).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listJobs } from '../src/db/store/jobs.js';
import { listSchedulers } from '../src/db/store/schedulers.js';
import { createTrigger, listTriggers } from '../src/db/store/triggers.js';
import { KEY, ROBOTS, spawnCliScheduler, tempDir, waitFor, type CliScheduler } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const TRIGGERS = 200;

describe('four Schedulers racing on PostgreSQL', () => {
  let live: TestStore;
  const clis: CliScheduler[] = [];
  beforeAll(async () => {
    live = await openTestStore('postgres');
  });
  afterAll(async () => {
    for (const cli of clis) cli.signal('SIGKILL');
    await live?.close();
  });

  it(`runs each of ${TRIGGERS} due triggers exactly once`, async () => {
    const { store, url } = live;
    const dir = tempDir();
    const file = join(dir, 'runs');
    for (let i = 1; i <= 4; i++) {
      clis.push(spawnCliScheduler(['--interval', '0.1', '--machine-name', `racer-${i}`, '--work-dir', dir], { OpenOrchestratorConnString: url, OpenOrchestratorKey: KEY }));
    }
    await waitFor('four heartbeats', async () => (await listSchedulers(store)).length === 4, 30_000);
    const dueAt = new Date(Date.now() + 1000);
    const ids = new Set<string>();
    for (let i = 0; i < TRIGGERS; i++) {
      // Half blocking (one at a time per Scheduler), half not: both kinds race for the claim.
      ids.add(
        await createTrigger(store, { type: 'SINGLE', nextRun: dueAt, triggerName: `race-${i}`, processName: `race-${i}`, processPath: join(ROBOTS, 'race.sh'), processArgs: file, isBlocking: i % 2 === 0 }),
      );
    }
    await waitFor('every trigger to be done', async () => (await listTriggers(store)).every((t) => t.status === 'DONE'), 90_000);
    const jobs = await listJobs(store, { limit: 10_000 });
    expect(jobs).toHaveLength(TRIGGERS);
    expect(new Set(jobs.map((j) => j.triggerId))).toEqual(ids);
    expect(jobs.every((j) => j.status === 'DONE')).toBe(true);
    const runs = readFileSync(file, 'utf8').trim().split('\n');
    expect(runs).toHaveLength(TRIGGERS);
    expect(new Set(runs)).toEqual(ids);
    const perScheduler = new Map<string, number>();
    for (const job of jobs) perScheduler.set(job.schedulerName, (perScheduler.get(job.schedulerName) ?? 0) + 1);
    console.log('runs per Scheduler:', Object.fromEntries(perScheduler));
    for (const cli of clis) cli.signal('SIGTERM');
    expect(await Promise.all(clis.map((c) => c.exited))).toEqual([0, 0, 0, 0]);
  });
});
