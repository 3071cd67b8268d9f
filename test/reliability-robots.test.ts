/**
 * Robots under load and robots that die:
 * - 32 robot processes (plain Node, the bundled library) work one queue to the end on SQLite,
 *   PostgreSQL and MariaDB: every element is claimed exactly once and ends Done; none is lost,
 *   none stays In Progress.
 * - A robot killed mid-element under the Scheduler: its element stays In Progress, its job is
 *   Failed, and the Orchestrator lists the element as stale and puts it back to New.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../src/crypto/fernet.js';
import { getLatestJobOfTrigger } from '../src/db/store/jobs.js';
import { bulkCreateQueueElements, getQueueElement, listQueues, listStaleInProgress } from '../src/db/store/queues.js';
import { createTrigger } from '../src/db/store/triggers.js';
import { REQUEST_HEADER, buildOrchestrator } from '../src/orchestrator/server.js';
import { LIVE_DIALECTS } from './helpers/databases.js';
import { bundles, robotArgv, spawnNode, WORKER } from './helpers/reliability.js';
import { startScheduler, waitFor, waitForEndedJob } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const ROBOTS = 32;
const ELEMENTS = 640;
const KEY = generateKey();

let lib: string;
beforeAll(async () => {
  ({ lib } = await bundles());
});

describe.each(LIVE_DIALECTS)('32 robot processes on one queue (%s)', (dialect) => {
  let live: TestStore;
  beforeAll(async () => {
    live = await openTestStore(dialect);
  });
  afterAll(() => live?.close());

  it(`process each of ${ELEMENTS} elements exactly once`, async () => {
    const { store, url } = live;
    await bulkCreateQueueElements(store, 'load', Array.from({ length: ELEMENTS }, (_, i) => ({ reference: `r${i}`, data: `{"i":${i}}` })));
    const robots = Array.from({ length: ROBOTS }, (_, i) =>
      spawnNode(WORKER, robotArgv(`robot-${i}`, url, KEY, { bundle: lib, queue: 'load' }), { timeoutMs: 50_000 }),
    );
    const results = await Promise.all(robots.map((r) => r.done));
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const claimed = results.flatMap((r) => r.stdout.split('\n').filter((l) => l.startsWith('claimed ')).map((l) => l.slice(8)));
    const done = results.flatMap((r) => r.stdout.split('\n').filter((l) => l.startsWith('done ')));
    expect(claimed).toHaveLength(ELEMENTS);
    expect(new Set(claimed).size).toBe(ELEMENTS);
    expect(done).toHaveLength(ELEMENTS);
    const [queue] = await listQueues(store);
    expect(queue!.counts).toEqual({ NEW: 0, IN_PROGRESS: 0, DONE: ELEMENTS, FAILED: 0, ABANDONED: 0 });
    console.log(`${dialect}: ${results.filter((r) => r.stdout.includes('claimed')).length} of ${ROBOTS} robots got work`);
  });
});

describe('a robot killed mid-element (PostgreSQL, under the Scheduler)', () => {
  let live: TestStore;
  beforeAll(async () => {
    live = await openTestStore('postgres');
  });
  afterAll(() => live?.close());

  it('leaves its element In Progress and its job Failed; the Orchestrator lists it as stale and retries it', async () => {
    const { store, url } = live;
    await bulkCreateQueueElements(store, 'fragile', [{ reference: 'a' }, { reference: 'b' }]);
    const s = startScheduler({ connectionString: url, cryptoKey: KEY });
    try {
      const id = await createTrigger(store, {
        type: 'SINGLE',
        nextRun: new Date(Date.now() - 1000),
        triggerName: 'dies',
        processName: 'dies',
        processPath: WORKER,
        processArgs: JSON.stringify({ bundle: lib, queue: 'fragile', hang: true }),
        isBlocking: false,
      });
      // The hanging robot has claimed one element: while its job runs, nothing is stale.
      const running = await waitFor('the robot to claim', async () => {
        const job = await getLatestJobOfTrigger(store, id);
        const counts = (await listQueues(store))[0]!.counts;
        return job?.status === 'RUNNING' && counts.IN_PROGRESS === 1 ? job : undefined;
      });
      expect(await listStaleInProgress(store)).toEqual([]);
      // Kill the robot itself (not through the Orchestrator): the Scheduler sees it die.
      const pid = Number(await waitFor('the robot pid', () => findPid(join(WORKER), running.id)));
      process.kill(pid, 'SIGKILL');
      const job = await waitForEndedJob(store, id);
      expect(job.status).toBe('FAILED');
      const stale = await listStaleInProgress(store, { queueName: 'fragile' });
      expect(stale).toHaveLength(1);
      expect(stale[0]!.status).toBe('IN_PROGRESS');

      const { app } = await buildOrchestrator({ connectionString: url, cryptoKey: KEY });
      try {
        const listed = await app.inject({ method: 'GET', url: '/api/queues/stale-in-progress?queueName=fragile', headers: { host: '127.0.0.1' } });
        expect(listed.statusCode).toBe(200);
        expect((JSON.parse(listed.body) as Array<{ id: string }>).map((e) => e.id)).toEqual([stale[0]!.id]);
        const retried = await app.inject({
          method: 'POST',
          url: '/api/queue-elements/retry-stale',
          headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', 'content-type': 'application/json' },
          payload: JSON.stringify({ ids: [stale[0]!.id] }),
        });
        expect(JSON.parse(retried.body)).toEqual({ retried: 1 });
      } finally {
        await app.close();
      }
      const element = await getQueueElement(store, stale[0]!.id);
      expect(element).toMatchObject({ status: 'NEW', startDate: null });
      expect(await listStaleInProgress(store)).toEqual([]);
    } finally {
      await s.stop();
    }
  });
});

/** The pid of the robot process whose environment names this job. */
async function findPid(script: string, jobId: string): Promise<number | undefined> {
  const { readdirSync, readFileSync } = await import('node:fs');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(script)) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(jobId)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
