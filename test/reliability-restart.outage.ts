/**
 * Database restarts under load (PostgreSQL, then MariaDB): 8 robot processes work a queue and
 * 2 Schedulers run 40 triggers while the server restarts. Robots' calls fail with one clear
 * line and the robots retry them (a claim or a status change is safe to repeat); the
 * Schedulers reconnect; afterwards the counts add up: no element was handed out twice, every
 * element is Done except those whose claim committed while its reply was lost (left In
 * Progress, counted), and every trigger ran exactly once.
 *
 * Restarts the shared servers, so it runs only in vitest.outage.config.ts, alone, after the
 * main suite. Whatever happens, both servers are running again at the end.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../src/crypto/fernet.js';
import { listJobs } from '../src/db/store/jobs.js';
import { bulkCreateQueueElements, listQueues } from '../src/db/store/queues.js';
import { createTrigger, listTriggers } from '../src/db/store/triggers.js';
import { bundles, robotArgv, spawnNode, WORKER } from './helpers/reliability.js';
import { ROBOTS, sleep, startScheduler, tempDir, waitFor, type RunningScheduler } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const ELEMENTS = 400;
const TRIGGERS = 40;
const KEY = generateKey();

const succeeds = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
};
const postgresUp = () => succeeds('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']);
const mariadbUp = () => succeeds('mysqladmin', ['-uroot', 'ping']);
const PG_VERSION = readdirSync('/etc/postgresql')[0]!;
const startMariadb = () => execFileSync('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd'], { stdio: 'ignore', timeout: 30_000 });

const SERVERS = {
  postgres: {
    restart: () => execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', PG_VERSION, 'main', 'restart'], { stdio: 'ignore', timeout: 60_000 }),
    up: postgresUp,
    start: () => execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', PG_VERSION, 'main', 'start'], { stdio: 'ignore', timeout: 60_000 }),
  },
  mysql: {
    restart: () => {
      execFileSync('mysqladmin', ['-uroot', 'shutdown'], { stdio: 'ignore', timeout: 60_000 });
      startMariadb();
    },
    up: mariadbUp,
    start: startMariadb,
  },
} as const;

async function ensureRunning(): Promise<void> {
  for (const server of Object.values(SERVERS)) {
    if (!server.up()) {
      try {
        server.start();
      } catch {
        // starting already; wait below
      }
    }
    await waitFor('the database server to accept connections', () => server.up(), 60_000);
  }
}

afterAll(ensureRunning);

describe.each(['postgres', 'mysql'] as const)('a %s restart under load', (dialect) => {
  let live: TestStore;
  const schedulers: RunningScheduler[] = [];
  beforeAll(async () => {
    await ensureRunning();
    live = await openTestStore(dialect);
  });
  afterAll(async () => {
    await ensureRunning();
    await Promise.all(schedulers.map((s) => s.stop(2000).catch(() => undefined)));
    await live?.close();
  });

  it('robots retry safely, Schedulers reconnect, counts add up', { timeout: 150_000 }, async () => {
    const { store, url } = live;
    const { lib } = await bundles();
    await bulkCreateQueueElements(store, 'outage', Array.from({ length: ELEMENTS }, (_, i) => ({ reference: `r${i}` })));
    const file = join(tempDir(), 'runs');
    const ids = new Set<string>();
    for (let i = 0; i < TRIGGERS; i++) {
      // Due over the next 6 s: some before the restart, some during, some after.
      const due = new Date(Date.now() + i * 150);
      ids.add(await createTrigger(store, { type: 'SINGLE', nextRun: due, triggerName: `t${i}`, processName: `t${i}`, processPath: join(ROBOTS, 'race.sh'), processArgs: file, isBlocking: false }));
    }
    for (let i = 0; i < 2; i++) schedulers.push(startScheduler({ connectionString: url, intervalSeconds: 0.2, maxBackoffSeconds: 1 }));
    const robots = Array.from({ length: 8 }, (_, i) =>
      spawnNode(WORKER, robotArgv(`robot-${i}`, url, KEY, { bundle: lib, queue: 'outage', workMs: 40, retryForMs: 90_000 }), { timeoutMs: 130_000 }),
    );
    const doneLines = () => robots.reduce((n, r) => n + (r.stdout().match(/^done /gm)?.length ?? 0), 0);
    await waitFor('a quarter of the queue to be done', () => doneLines() >= ELEMENTS / 4, 60_000);
    const restartedAt = Date.now();
    try {
      SERVERS[dialect].restart();
    } finally {
      await ensureRunning();
    }
    console.log(`${dialect}: restarted in ${Date.now() - restartedAt} ms with ${doneLines()} elements done`);

    const results = await Promise.all(robots.map((r) => r.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const errors = results.flatMap((r) => r.stderr.split('\n').filter(Boolean));
    // Every failure a robot saw was one clear line naming the database, never a stack trace.
    for (const line of errors) expect(line).toMatch(/^error DatabaseError: .*(database|server|connection)/i);
    const claimed = results.flatMap((r) => r.stdout.split('\n').filter((l) => l.startsWith('claimed ')).map((l) => l.slice(8)));
    expect(new Set(claimed).size).toBe(claimed.length);

    await waitFor('every trigger to be done', async () => (await listTriggers(store)).every((t) => t.status === 'DONE'), 60_000);
    const counts = (await listQueues(store))[0]!.counts;
    // A claim that committed while its reply was lost is In Progress with no robot: the only
    // way an element is not Done; its robot never saw it, so it is not among the claimed.
    expect(counts.NEW).toBe(0);
    expect(counts.DONE).toBe(claimed.length);
    expect(counts.DONE + counts.IN_PROGRESS).toBe(ELEMENTS);
    expect(counts.IN_PROGRESS).toBeLessThanOrEqual(8);
    const jobs = await listJobs(store, { limit: 1000 });
    expect(jobs).toHaveLength(TRIGGERS);
    expect(new Set(jobs.map((j) => j.triggerId))).toEqual(ids);
    const runs = readFileSync(file, 'utf8').trim().split('\n');
    expect(runs.sort()).toEqual([...ids].sort());
    console.log(`${dialect}: ${errors.length} robot errors (retried), ${counts.IN_PROGRESS} claims lost in flight, jobs ${jobs.map((j) => j.status).filter((s) => s !== 'DONE').length} not Done`);
    await sleep(0);
  });
});
