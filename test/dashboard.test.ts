/**
 * The dashboard on live SQLite, PostgreSQL and MariaDB: its store queries (hour buckets counted
 * in SQL over naive datetimes) and its route, first on an empty database, then on real rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../src/db/open.js';
import { countQueueActivity, countRunsPerHour, hourBoundaries, listFailedJobs } from '../src/db/store/dashboard.js';
import { buildOrchestrator } from '../src/orchestrator/server.js';
import { SEED, minutesAgo, seedDashboard, type DashboardSeed } from './helpers/dashboard-data.js';
import { LIVE_DIALECTS, type LiveDialect } from './helpers/databases.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

describe('hourBoundaries', () => {
  it('ends with the hour after now and makes one bucket per hour', () => {
    const at = new Date(2026, 0, 5, 10, 42, 7);
    const b = hourBoundaries(at, 24);
    expect(b).toHaveLength(25);
    expect(b.at(-1)).toEqual(new Date(2026, 0, 5, 11, 0, 0));
    expect(b[0]).toEqual(new Date(2026, 0, 4, 11, 0, 0));
  });

  it('refuses more than a week of hours in one line', () => {
    expect(() => hourBoundaries(new Date(), 169)).toThrow(/hours/);
  });
});

describe.each(LIVE_DIALECTS)('dashboard on %s', (dialect: LiveDialect) => {
  let live: TestStore;
  let store: Store;
  let app: FastifyInstance;
  let seed: DashboardSeed;

  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url, headers: { host: '127.0.0.1', 'x-openorchestrator-request': '1' } });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };

  beforeAll(async () => {
    live = await openTestStore(dialect);
    store = live.store;
    ({ app } = await buildOrchestrator({ connectionString: live.url }));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await live?.close();
  });

  it('shows nothing needing attention and all-zero charts on an empty database', async () => {
    const attention = await get('/api/dashboard');
    expect(attention.status).toBe(200);
    expect(attention.body).toMatchObject({ failedJobs: [], lateTriggers: [], offlineSchedulers: [], queues: [], staleElements: [], openIncidents: [] });
    const runs = await get('/api/dashboard/runs?days=7');
    expect((runs.body.buckets as unknown[]).length).toBe(168);
    expect((runs.body.buckets as { done: number; failed: number; killed: number }[]).every((b) => b.done + b.failed + b.killed === 0)).toBe(true);
    const queues = await get('/api/dashboard/queues');
    expect((queues.body.buckets as { backlog: number }[]).every((b) => b.backlog === 0)).toBe(true);
  });

  it('lists the failed job, the late trigger, the offline Scheduler, the backlog and the stale element', async () => {
    seed = await seedDashboard(store);
    const { status, body } = await get('/api/dashboard?lateMinutes=5&backlog=100&oldNewMinutes=60');
    expect(status).toBe(200);
    expect(body.failedJobs).toEqual([expect.objectContaining({ id: seed.failedJobId, processName: SEED.failedProcess })]);
    expect(body.lateTriggers).toEqual([expect.objectContaining({ id: seed.lateTriggerId, triggerName: SEED.lateTrigger, minutesLate: expect.any(Number) })]);
    expect((body.lateTriggers as { minutesLate: number }[])[0]!.minutesLate).toBeGreaterThanOrEqual(29);
    expect(body.offlineSchedulers).toEqual([expect.objectContaining({ machineName: SEED.offlineScheduler })]);
    expect(body.queues).toEqual([expect.objectContaining({ queueName: SEED.queue, newCount: SEED.backlog, backlog: true, old: true })]);
    expect(body.staleElements).toEqual([expect.objectContaining({ id: seed.staleElementId, queueName: SEED.queue, reference: 'STUCK-1' })]);
    // a higher backlog threshold: listed, but no longer flagged
    const calm = await get('/api/dashboard?backlog=1000&oldNewMinutes=600');
    expect(calm.body.queues).toEqual([expect.objectContaining({ backlog: false, old: false })]);
  });

  it('counts runs per hour by outcome in SQL, each run in the hour it ended', async () => {
    const boundaries = hourBoundaries(new Date(), 24);
    const buckets = await countRunsPerHour(store, boundaries);
    expect(buckets).toHaveLength(24);
    const total = (k: 'done' | 'failed' | 'killed') => buckets.reduce((n, b) => n + b[k], 0);
    expect({ done: total('done'), failed: total('failed'), killed: total('killed') }).toEqual({ done: SEED.done, failed: 1, killed: 1 });
    const failedEnd = (await listFailedJobs(store, minutesAgo(24 * 60)))[0]!.endTime.getTime();
    const failedBucket = buckets.findIndex((b, i) => b.start.getTime() <= failedEnd && failedEnd < boundaries[i + 1]!.getTime());
    expect(buckets[failedBucket]!.failed).toBe(1);
    const route = await get('/api/dashboard/runs?days=1');
    expect((route.body.buckets as { failed: number }[]).map((b) => b.failed)).toEqual(buckets.map((b) => b.failed));
    expect(await listFailedJobs(store, minutesAgo(60))).toEqual([]);
  });

  it('counts finished elements per hour and works the backlog back from now', async () => {
    const buckets = await countQueueActivity(store, hourBoundaries(new Date(), 24), SEED.queue);
    expect(buckets.reduce((n, b) => n + b.finished, 0)).toBe(SEED.finished);
    // 150 New + 1 In Progress now; created 7 and 3 hours ago, none since.
    expect(buckets.at(-1)!.backlog).toBe(SEED.backlog + 1);
    expect(buckets.reduce((n, b) => n + b.created, 0)).toBe(SEED.backlog + SEED.finished + 1);
    expect(buckets[0]!.backlog).toBe(0);
    const other = await get(`/api/dashboard/queues?days=7&queueName=${encodeURIComponent('no-such-queue')}`);
    expect((other.body.buckets as { created: number }[]).every((b) => b.created === 0)).toBe(true);
  });

  it('refuses a period other than a day or a week in one line', async () => {
    const { status, body } = await get('/api/dashboard/runs?days=3');
    expect(status).toBe(400);
    expect(String(body.error)).toMatch(/days/);
    expect(String(body.error)).not.toMatch(/\n/);
  });
});
