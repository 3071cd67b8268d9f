/**
 * The Scheduler suite: the Scheduler against live SQLite and PostgreSQL, with real robot processes (Python, node,
 * TypeScript through tsx) and real local git repositories.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getLatestJobOfTrigger, listJobs, startJob } from '../../src/db/store/jobs.js';
import { listLogs } from '../../src/db/store/logs.js';
import { createQueueElement } from '../../src/db/store/queues.js';
import { listSchedulers } from '../../src/db/store/schedulers.js';
import { createTrigger, getTrigger, transitionTriggerStatus, type NewTrigger } from '../../src/db/store/triggers.js';
import { machineFolder } from '../../src/scheduler/work-dir.js';
import { type SuiteDialect } from './databases.js';
import {
  isAlive,
  KEY,
  makeGitRepo,
  readEvents,
  resetTables,
  ROBOTS,
  sleep,
  startScheduler,
  tempDir,
  commitSymlinks,
  waitFor,
  waitForEndedJob,
  waitForRunningJob,
} from './scheduler.js';
import { openTestStore, type TestStore } from './stores.js';

const ARGV_PY = join(ROBOTS, 'argv.py');
const ROBOT_MJS = join(ROBOTS, 'robot.mjs');
const LOGGER_TS = join(ROBOTS, 'logger.ts');
const QUEUE_WORKER_TS = join(ROBOTS, 'queue-worker.ts');
const ARGV_CONNECTION_TS = join(ROBOTS, 'argv-connection.ts');
const ARGV_PY_TEXT = readFileSync(ARGV_PY, 'utf8');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ago = (ms: number) => new Date(Date.now() - ms);
const soon = (ms: number) => new Date(Date.now() + ms);
/** A cron expression that is never due again during a test (Jan 1st, 00:00). */
const YEARLY = '0 0 1 1 *';

/** The Scheduler suite on one dialect; each dialect has its own test file so they run in parallel. */
export function schedulerSuite(dialect: SuiteDialect): void {
  describe(`Scheduler on ${dialect}`, () => {
    let live: TestStore;
    let tmp: string;
    const robot = (name: string, args: object, extra: Partial<NewTrigger> = {}): NewTrigger =>
      ({ type: 'SINGLE', nextRun: ago(1000), triggerName: name, processName: name, processPath: ROBOT_MJS, processArgs: JSON.stringify(args), isBlocking: false, ...extra }) as NewTrigger;

    beforeAll(async () => {
      live = await openTestStore(dialect);
    });
    afterAll(() => live?.close());
    beforeEach(async () => {
      await resetTables(live.store);
      tmp = tempDir();
    });

    it('runs a single trigger when due and not before; a Python robot gets the argv protocol', async () => {
      const { store, url } = live;
      const out = join(tmp, 'argv.json');
      const dueAt = soon(1500);
      const py = await createTrigger(store, { type: 'SINGLE', nextRun: dueAt, triggerName: 'py argv', processName: 'py-argv', processPath: ARGV_PY, processArgs: out, isBlocking: false });
      const s = startScheduler({ connectionString: url });
      try {
        await sleep(700);
        expect(await getLatestJobOfTrigger(store, py)).toBeUndefined();
        expect((await getTrigger(store, py)).status).toBe('IDLE');
        const job = await waitForEndedJob(store, py);
        expect(job.status).toBe('DONE');
        expect(job.startTime.getTime()).toBeGreaterThanOrEqual(dueAt.getTime());
        expect(job.schedulerName).toBe(s.scheduler.options.machineName);
        const seen = JSON.parse(readFileSync(out, 'utf8')) as { argv: string[]; env: Record<string, string> };
        // The 3.0 protocol: seven values in sys.argv, the job id (this run's Jobs row) last.
        expect(seen.argv).toEqual(['py-argv', url, KEY, out, py, job.id]);
        expect(seen.argv[5]).toMatch(UUID);
        expect(seen.env).toMatchObject({ OpenOrchestratorConnString: url, OpenOrchestratorKey: KEY, OpenOrchestratorJobId: job.id, OpenOrchestratorTriggerId: py, OpenOrchestratorProcessName: 'py-argv', OpenOrchestratorProcessArgs: out });
        const trigger = await getTrigger(store, py);
        expect(trigger.status).toBe('DONE');
        expect(trigger.lastRun).not.toBeNull();

        const row = (await listSchedulers(store)).find((r) => r.machineName === s.scheduler.options.machineName);
        expect(row?.latestTrigger).toBe('py argv');
        expect(row?.latestTriggerTime).not.toBeNull();
      } finally {
        await s.stop();
      }
    });

    it('runs a scheduled trigger when due, moves next_run to the next cron time and returns it to Idle', async () => {
      const { store, url } = live;
      const file = join(tmp, 'events');
      const due = await createTrigger(store, { ...robot('every minute', { file }), type: 'SCHEDULED', cronExpr: '* * * * *', nextRun: ago(500) } as NewTrigger);
      const later = await createTrigger(store, { ...robot('later', { file }), type: 'SCHEDULED', cronExpr: '* * * * *', nextRun: soon(3_600_000) } as NewTrigger);
      const s = startScheduler({ connectionString: url });
      try {
        const job = await waitForEndedJob(store, due);
        expect(job.status).toBe('DONE');
        await sleep(500);
        const trigger = await getTrigger(store, due);
        expect(trigger.status).toBe('IDLE');
        if (trigger.type !== 'SCHEDULED') throw new Error('type');
        const startedMinute = Math.floor(job.startTime.getTime() / 60_000) * 60_000;
        expect(trigger.nextRun.getTime()).toBe(startedMinute + 60_000);
        expect((await listJobs(store)).filter((j) => j.triggerId === due)).toHaveLength(1);
        expect(await getLatestJobOfTrigger(store, later)).toBeUndefined();
      } finally {
        await s.stop();
      }
    });

    it('runs a queue trigger only when its queue holds min_batch_size New elements', async () => {
      const { store, url } = live;
      const id = await createTrigger(store, { ...robot('q', {}), type: 'QUEUE', queueName: 'inbox', minBatchSize: 2 } as NewTrigger);
      await createQueueElement(store, 'inbox', { reference: 'one' });
      const s = startScheduler({ connectionString: url });
      try {
        await sleep(700);
        expect(await getLatestJobOfTrigger(store, id)).toBeUndefined();
        const second = await createQueueElement(store, 'inbox', { reference: 'two' });
        // This robot works no element, so the trigger is due again after each run: look at the first.
        const job = await waitFor('a finished run', async () => (await listJobs(store)).filter((j) => j.triggerId === id && j.status !== 'RUNNING').pop());
        expect(job.status).toBe('DONE');
        expect(job.startTime.getTime()).toBeGreaterThanOrEqual(second.createdDate.getTime());
      } finally {
        await s.stop();
      }
    });

    it('starts by priority, then Single > Scheduled > Queue, then the earliest due', async () => {
      const { store, url } = live;
      const file = join(tmp, 'events');
      const blocking = (name: string, extra: object) => ({ ...robot(name, { file }), isBlocking: true, ...extra }) as NewTrigger;
      await createQueueElement(store, 'orders', {});
      await createQueueElement(store, 'urgent', {});
      await createTrigger(store, blocking('single-late', { nextRun: ago(5_000) }));
      await createTrigger(store, blocking('single-early', { nextRun: ago(10_000) }));
      await createTrigger(store, blocking('scheduled', { type: 'SCHEDULED', cronExpr: YEARLY, nextRun: ago(60_000) }));
      await createTrigger(store, blocking('queue', { type: 'QUEUE', queueName: 'orders', minBatchSize: 1, processPath: QUEUE_WORKER_TS, processArgs: JSON.stringify({ queue: 'orders', file }) }));
      await createTrigger(store, blocking('queue-urgent', { type: 'QUEUE', queueName: 'urgent', minBatchSize: 1, priority: 5, processPath: QUEUE_WORKER_TS, processArgs: JSON.stringify({ queue: 'urgent', file }) }));
      await createTrigger(store, blocking('single-low', { nextRun: ago(120_000), priority: -1 }));
      const s = startScheduler({ connectionString: url });
      try {
        await waitFor('six runs', () => readEvents(file).filter((e) => e.event === 'start').length >= 6, 30_000);
        const order = readEvents(file).filter((e) => e.event === 'start').map((e) => e.name);
        expect(order).toEqual(['queue-urgent', 'single-early', 'single-late', 'scheduled', 'queue', 'single-low']);
      } finally {
        await s.stop();
      }
    });

    it('starts a blocking trigger only when nothing runs here, and nothing while it runs', async () => {
      const { store, url } = live;
      const file = join(tmp, 'events');
      const first = await createTrigger(store, robot('nb-first', { file, sleepMs: 1200 }, { priority: 2 }));
      const block = await createTrigger(store, robot('blocking', { file, sleepMs: 1200 }, { priority: 1, isBlocking: true }));
      const beside = await createTrigger(store, robot('nb-beside', { file, sleepMs: 300 }, { priority: 0 }));
      const s = startScheduler({ connectionString: url });
      try {
        const blockingJob = await waitForRunningJob(store, block);
        // Due while the blocking robot runs: must wait for it.
        const during = await createTrigger(store, robot('nb-during', { file }, { nextRun: new Date() }));
        const jobs = await Promise.all([first, block, beside, during].map((id) => waitForEndedJob(store, id)));
        const [firstJob, blockJob, besideJob, duringJob] = jobs as [typeof jobs[0], typeof jobs[0], typeof jobs[0], typeof jobs[0]];
        expect(jobs.every((j) => j.status === 'DONE')).toBe(true);
        expect(blockingJob.id).toBe(blockJob.id);
        // The non-blocking ones ran side by side; the blocking one started after both ended.
        expect(besideJob.startTime.getTime()).toBeLessThan(firstJob.endTime!.getTime());
        expect(blockJob.startTime.getTime()).toBeGreaterThanOrEqual(firstJob.endTime!.getTime());
        expect(blockJob.startTime.getTime()).toBeGreaterThanOrEqual(besideJob.endTime!.getTime());
        expect(duringJob.startTime.getTime()).toBeGreaterThanOrEqual(blockJob.endTime!.getTime());
      } finally {
        await s.stop();
      }
    });

    it('honours whitelists, and --exclusive runs only triggers that whitelist this machine', async () => {
      const { store, url } = live;
      const file = join(tmp, 'events');
      const me = `me-${dialect}`;
      const other = await createTrigger(store, robot('for-other', { file }, { schedulerWhitelist: ['other-pc'] }));
      const mine = await createTrigger(store, robot('for-me', { file }, { schedulerWhitelist: ['other-pc', me] }));
      const anyone = await createTrigger(store, robot('for-anyone', { file }));
      let s = startScheduler({ connectionString: url, machineName: me });
      try {
        await waitForEndedJob(store, mine);
        await waitForEndedJob(store, anyone);
        await sleep(400);
        expect(await getLatestJobOfTrigger(store, other)).toBeUndefined();
      } finally {
        await s.stop();
      }
      const mine2 = await createTrigger(store, robot('for-me-2', { file }, { schedulerWhitelist: [me] }));
      const anyone2 = await createTrigger(store, robot('for-anyone-2', { file }));
      s = startScheduler({ connectionString: url, machineName: me, exclusive: true });
      try {
        expect((await waitForEndedJob(store, mine2)).status).toBe('DONE');
        await sleep(400);
        expect(await getLatestJobOfTrigger(store, anyone2)).toBeUndefined();
        expect(await getLatestJobOfTrigger(store, other)).toBeUndefined();
      } finally {
        await s.stop();
      }
    });

    it('pauses a trigger set to Pausing once its run ends', async () => {
      const { store, url } = live;
      const id = await createTrigger(store, { ...robot('pausable', { sleepMs: 1000 }), type: 'SCHEDULED', cronExpr: YEARLY, nextRun: ago(1000) } as NewTrigger);
      const s = startScheduler({ connectionString: url });
      try {
        await waitForRunningJob(store, id);
        expect(await transitionTriggerStatus(store, id, ['RUNNING'], 'PAUSING')).toBe(true);
        expect((await waitForEndedJob(store, id)).status).toBe('DONE');
        expect((await getTrigger(store, id)).status).toBe('PAUSED');
      } finally {
        await s.stop();
      }
    });

    it('kills the whole process tree of a trigger set to Killing and marks it Killed', async () => {
      const { store, url } = live;
      const file = join(tmp, 'events');
      const id = await createTrigger(store, robot('killable', { file, sleepMs: 120_000, grandchild: true }));
      const s = startScheduler({ connectionString: url });
      try {
        await waitForRunningJob(store, id);
        const [robotPid, grandchildPid] = await waitFor('the pids', () => existsSync(`${file}.pids`) && (JSON.parse(readFileSync(`${file}.pids`, 'utf8')) as [number, number]));
        expect(isAlive(robotPid) && isAlive(grandchildPid)).toBe(true);
        expect(await transitionTriggerStatus(store, id, ['RUNNING'], 'KILLING')).toBe(true);
        const job = await waitForEndedJob(store, id);
        expect(job.status).toBe('KILLED');
        expect((await getTrigger(store, id)).status).toBe('KILLED');
        await waitFor('the tree to be gone', () => !isAlive(robotPid) && !isAlive(grandchildPid), 5000);
        const logs = await listLogs(store, { jobId: job.id });
        expect(logs[0]?.message).toMatch(/killed on request/);
      } finally {
        await s.stop();
      }
    });

    it('fails runs that cannot start or exit non-zero, with an Error log saying what failed', async () => {
      const { store, url } = live;
      const emptyRepo = makeGitRepo({ main: { 'README.md': 'no robot here\n' } });
      const ids = {
        exit: await createTrigger(store, robot('exits-3', { exitCode: 3, stderr: 'x'.repeat(99) + '\n', stderrRepeat: 200 })),
        path: await createTrigger(store, robot('bad-path', {}, { processPath: join(tmp, 'missing', 'robot.py') })),
        clone: await createTrigger(store, robot('bad-clone', {}, { processPath: join(tmp, 'no-such-repo'), isGitRepo: true })),
        entry: await createTrigger(store, robot('no-entry', {}, { processPath: emptyRepo, isGitRepo: true })),
        python: await createTrigger(store, robot('no-python', {}, { processPath: ARGV_PY })),
      };
      const s = startScheduler({ connectionString: url, python: join(tmp, 'no-python3') });
      try {
        const expected: Record<keyof typeof ids, RegExp> = {
          exit: /^process "exits-3" \(trigger "exits-3"\) exited with code 3; its error output:\nSTDERR-BEGIN\nx{99}[\s\S]*characters left out[\s\S]*STDERR-END$/,
          path: /could not start process "bad-path".*: process path not found: .*missing\/robot\.py/,
          clone: /could not start process "bad-clone".*: git clone of .*no-such-repo failed \(exit code 128\)/,
          entry: /could not start process "no-entry".*: the repository .* has no main\.py, main\.ts or main\.js/,
          python: /could not start process "no-python".*: could not start Python \(.*no-python3\): .*no-python3 was not found/,
        };
        for (const [key, id] of Object.entries(ids) as [keyof typeof ids, string][]) {
          const job = await waitForEndedJob(store, id);
          expect(job.status, key).toBe('FAILED');
          expect((await getTrigger(store, id)).status, key).toBe('FAILED');
          const logs = await listLogs(store, { jobId: job.id });
          expect(logs.map((l) => l.level), key).toEqual(['ERROR']);
          expect(logs[0]!.message, key).toMatch(expected[key]);
          expect(logs[0]!.message.length).toBeLessThanOrEqual(8000);
        }
        expect(readdirSync(machineFolder(s.scheduler.options.workDir, s.scheduler.options.machineName))).toEqual([]);
      } finally {
        await s.stop();
      }
    });

    it('clones a git trigger (branch, shallow, by file:// URL), runs the first main.py breadth-first and removes the clone after', async () => {
      const { store, url } = live;
      const out = join(tmp, 'argv.json');
      const repo = makeGitRepo({
        main: { 'main.py': 'import sys\nsys.exit(7)\n' },
        release: { 'main.ts': 'process.exit(8);\n', 'robot/main.py': ARGV_PY_TEXT, 'robot/deeper/main.py': 'import sys\nsys.exit(9)\n' },
      });
      const id = await createTrigger(store, robot('from-git', {}, { processPath: `file://${repo}`, isGitRepo: true, gitBranch: 'release', processArgs: out }));
      const s = startScheduler({ connectionString: url });
      try {
        const job = await waitForEndedJob(store, id);
        expect(job.status).toBe('DONE');
        const seen = JSON.parse(readFileSync(out, 'utf8')) as { argv: string[]; script: string; cwd: string };
        expect(seen.argv).toEqual(['from-git', url, KEY, out, id, job.id]);
        const root = machineFolder(s.scheduler.options.workDir, s.scheduler.options.machineName);
        expect(seen.script).toBe(join(root, job.id, 'robot', 'main.py'));
        expect(seen.cwd).toBe(join(root, job.id, 'robot'));
        await waitFor('the clone to be removed', () => !existsSync(join(root, job.id)));
      } finally {
        await s.stop();
      }
    });

    it('with --secrets-in-env-only passes empty connection string and key in argv, the values in the environment; a TypeScript robot logs with its job id', async () => {
      const { store, url } = live;
      const out = join(tmp, 'argv.json');
      const py = await createTrigger(store, robot('py-env', {}, { processPath: ARGV_PY, processArgs: out }));
      const ts = await createTrigger(store, robot('ts-env', {}, { processPath: LOGGER_TS, processArgs: 'x' }));
      const s = startScheduler({ connectionString: url, secretsInEnvOnly: true });
      try {
        const pyJob = await waitForEndedJob(store, py);
        const seen = JSON.parse(readFileSync(out, 'utf8')) as { argv: string[]; env: Record<string, string> };
        expect(seen.argv).toEqual(['py-env', '', '', out, py, pyJob.id]);
        expect(seen.env).toMatchObject({ OpenOrchestratorConnString: url, OpenOrchestratorKey: KEY });
        const tsJob = await waitForEndedJob(store, ts);
        expect(tsJob.status).toBe('DONE');
        const logs = await listLogs(store, { processName: 'ts-env' });
        expect(logs.map((l) => [l.message, l.jobId])).toEqual([['hello from ts-env (args: x)', tsJob.id]]);
      } finally {
        await s.stop();
      }
    });

    it('keeps the connection string and key off the command line of a TypeScript robot by default (it connects through the environment); --secrets-in-argv puts them back', async () => {
      const { store, url } = live;
      const hidden = join(tmp, 'hidden.json');
      const shown = join(tmp, 'shown.json');
      const id = await createTrigger(store, robot('ts-argv', {}, { processPath: ARGV_CONNECTION_TS, processArgs: hidden }));
      let s = startScheduler({ connectionString: url });
      try {
        const job = await waitForEndedJob(store, id);
        expect(job.status).toBe('DONE');
        const seen = JSON.parse(readFileSync(hidden, 'utf8')) as { argv: string[] };
        // process.argv[3] and [4] (the robot's argv[1] and [2]) are empty; the positions stay.
        expect(seen.argv).toEqual(['ts-argv', '', '', hidden, id, job.id]);
        expect((await listLogs(store, { jobId: job.id })).map((l) => l.message)).toEqual(['connected as ts-argv']);
      } finally {
        await s.stop();
      }
      const again = await createTrigger(store, robot('ts-argv-shown', {}, { processPath: ARGV_CONNECTION_TS, processArgs: shown }));
      s = startScheduler({ connectionString: url, secretsInArgv: true });
      try {
        const job = await waitForEndedJob(store, again);
        expect(job.status).toBe('DONE');
        expect((JSON.parse(readFileSync(shown, 'utf8')) as { argv: string[] }).argv).toEqual(['ts-argv-shown', url, KEY, shown, again, job.id]);
      } finally {
        await s.stop();
      }
    });

    it('fails a repository whose folders link to themselves (a -> .) and has no entry, at once, and keeps beating meanwhile', async () => {
      const { store, url } = live;
      const repo = makeGitRepo({ main: { 'README.md': 'links only\n' } });
      // With three links to "." a search that follows links has 3^40 paths to walk.
      commitSymlinks(repo, { a: '.', b: '.', c: '.', 'deep/up': '..' });
      const id = await createTrigger(store, robot('link-loop', {}, { processPath: `file://${repo}`, isGitRepo: true }));
      const s = startScheduler({ connectionString: url });
      const beat = async () => (await listSchedulers(store)).find((r) => r.machineName === s.scheduler.options.machineName)?.lastUpdate.getTime();
      try {
        const job = await waitForEndedJob(store, id);
        expect(job.status).toBe('FAILED');
        const logs = await listLogs(store, { jobId: job.id });
        expect(logs.map((l) => [l.level, l.message])).toEqual([['ERROR', expect.stringMatching(/could not start process "link-loop".*: the repository .* has no main\.py, main\.ts or main\.js \(searched 10 folder levels deep; links to folders are not followed\)$/)]]);
        const afterFailure = await waitFor('a heartbeat', beat);
        await waitFor('a later heartbeat', async () => ((await beat()) ?? 0) > afterFailure);
      } finally {
        await s.stop();
      }
    });

    it('at start-up marks its own stale running jobs failed and removes leftover job folders', async () => {
      const { store, url } = live;
      const machineName = `stale-${dialect}`;
      const workDir = tempDir('oo-work-');
      const leftover = join(machineFolder(workDir, machineName), 'left-by-a-crash');
      mkdirSync(join(leftover, 'sub'), { recursive: true });
      const id = await createTrigger(store, robot('stale', {}, { nextRun: soon(3_600_000) }));
      await transitionTriggerStatus(store, id, ['IDLE'], 'RUNNING');
      const jobId = await startJob(store, { processName: 'stale', schedulerName: machineName, triggerId: id });
      await sleep(20);
      const foreign = await startJob(store, { processName: 'stale', schedulerName: 'another-machine', triggerId: id });
      const s = startScheduler({ connectionString: url, machineName, workDir });
      try {
        const job = await waitFor('the stale job to end', async () => (await listJobs(store)).find((j) => j.id === jobId && j.status !== 'RUNNING'));
        expect(job.status).toBe('FAILED');
        // The trigger's latest run is the other machine's, so the trigger stays with it.
        expect((await getTrigger(store, id)).status).toBe('RUNNING');
        expect((await listJobs(store)).find((j) => j.id === foreign)?.status).toBe('RUNNING');
        expect((await listLogs(store, { jobId }))[0]?.message).toMatch(/stopped while this job was running/);
        expect(existsSync(leftover)).toBe(false);
      } finally {
        await s.stop();
      }
    });

    it('at start-up releases the trigger of its own stale job', async () => {
      const { store, url } = live;
      const machineName = `stale2-${dialect}`;
      const id = await createTrigger(store, robot('stale-own', {}, { nextRun: soon(3_600_000) }));
      await transitionTriggerStatus(store, id, ['IDLE'], 'RUNNING');
      await startJob(store, { processName: 'stale-own', schedulerName: machineName, triggerId: id });
      const s = startScheduler({ connectionString: url, machineName });
      try {
        await waitFor('the trigger to leave Running', async () => (await getTrigger(store, id)).status === 'FAILED');
      } finally {
        await s.stop();
      }
    });
  });
}
