/**
 * "Create and run now" is one request (issue 22): the trigger is created already due, in the
 * same transaction as its "run now", while a real Scheduler polls every 100 ms beside the
 * Orchestrator. Before, the UI created the trigger due now and then called run-now: a Scheduler
 * that claimed it in between made that second call fail ("it is Running"), and pressing again
 * failed on the duplicate name. Each of SQLite, PostgreSQL and MariaDB runs the same assertions.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listJobs } from '../src/db/store/jobs.js';
import { listRunRequests } from '../src/db/store/run-requests.js';
import { getTrigger } from '../src/db/store/triggers.js';
import { REQUEST_HEADER, buildOrchestrator } from '../src/orchestrator/server.js';
import { KEY, ROBOTS, startScheduler, waitFor, type RunningScheduler } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';
import type { LiveDialect } from './helpers/databases.js';

const ROUNDS = 8;

describe.each<LiveDialect>(['sqlite', 'postgres', 'mysql'])('create and run now on %s, with a Scheduler polling every 100 ms', (dialect) => {
  let live: TestStore;
  let app: FastifyInstance;
  let scheduler: RunningScheduler;

  beforeAll(async () => {
    live = await openTestStore(dialect);
    ({ app } = await buildOrchestrator({ connectionString: live.url, cryptoKey: KEY }));
    scheduler = startScheduler({ connectionString: live.url, intervalSeconds: 0.1, machineName: `race-${dialect}` });
  });
  afterAll(async () => {
    await scheduler?.stop();
    await app?.close();
    await live?.close();
  });

  const post = async (body: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/api/triggers', headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
  };

  it('answers 201 for every type each time, and each trigger runs exactly once', async () => {
    const robot = `${ROBOTS}hello.mjs`;
    const made: { id: string; type: string }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const common = { processPath: robot, isBlocking: false, runNow: true };
      const replies = await Promise.all([
        // A single trigger needs no time of its own when it runs now.
        post({ ...common, type: 'SINGLE', triggerName: `single-${round}`, processName: `single-${round}` }),
        // A far cron time: only the run asked for can happen within the test.
        post({ ...common, type: 'SCHEDULED', triggerName: `cron-${round}`, processName: `cron-${round}`, cronExpr: '0 3 1 1 *' }),
        // An empty queue with a batch size it never reaches: only the request makes it due.
        post({ ...common, type: 'QUEUE', triggerName: `queue-${round}`, processName: `queue-${round}`, queueName: `empty-${round}`, minBatchSize: 5 }),
      ]);
      for (const reply of replies) {
        expect(reply.status, JSON.stringify(reply.body)).toBe(201);
        made.push({ id: reply.body.id as string, type: reply.body.type as string });
      }
    }
    await waitFor(
      'every trigger to have run',
      async () => {
        const jobs = await listJobs(live.store, { limit: 1000 });
        return made.every((t) => jobs.some((j) => j.triggerId === t.id && j.status === 'DONE'));
      },
      60_000,
    );
    // Once and only once each: no second run from a leftover request or a next run left in the past.
    await waitFor('the Scheduler to be idle', () => scheduler.scheduler.runningCount === 0);
    const jobs = await listJobs(live.store, { limit: 1000 });
    for (const t of made) expect(jobs.filter((j) => j.triggerId === t.id), t.type).toHaveLength(1);
    expect(await listRunRequests(live.store)).toEqual([]);
    for (const t of made.filter((m) => m.type === 'SCHEDULED')) {
      const trigger = (await getTrigger(live.store, t.id)) as { nextRun: Date; status: string };
      expect(trigger.status).toBe('IDLE');
      expect(trigger.nextRun.getTime()).toBeGreaterThan(Date.now());
    }
  });

  it('refuses runNow on an edit, in one line, and a single trigger without a time still needs one', async () => {
    const made = await post({ type: 'SINGLE', triggerName: 'later', processName: 'later', processPath: 'x.py', nextRun: '2031-01-01T07:00', schedulerWhitelist: ['NOBODY'] });
    expect(made.status).toBe(201);
    const res = await app.inject({
      method: 'PUT',
      url: `/api/triggers/${made.body.id as string}`,
      headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', 'content-type': 'application/json' },
      payload: JSON.stringify({ type: 'SINGLE', triggerName: 'later', processName: 'later', processPath: 'x.py', nextRun: '2031-01-01T07:00', runNow: true }),
    });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: 'runNow applies only when a trigger is created; use POST /api/triggers/{id}/run-now' });
    const timeless = await post({ type: 'SINGLE', triggerName: 'timeless', processName: 'timeless', processPath: 'x.py' });
    expect(timeless).toEqual({ status: 400, body: { error: 'nextRun is required for a single trigger: when should it run?' } });
  });
});
