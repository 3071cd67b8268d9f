/**
 * Stopping `start` (the Orchestrator with its local Scheduler) as a user does: Ctrl+C once waits
 * for the running robot and records it Done, twice kills it and records it Killed; under `npm
 * start`, the terminal's SIGINT to the whole process group plus npm's forwarded copy count as one.
 *
 * Runs the shipped command (test/helpers/quick-start.ts): build dist/ first with
 * `npx tsc -p tsconfig.build.json` (npm install does, through `prepare`).
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeStore } from '../src/db/open.js';
import { getLatestJobOfTrigger } from '../src/db/store/jobs.js';
import { createTrigger, getTrigger } from '../src/db/store/triggers.js';
import { quickStart, removeQuickStartFolders, type QuickStart } from './helpers/quick-start.js';
import { isAlive, ROBOTS, waitFor, waitForRunningJob } from './helpers/scheduler.js';

const WAIT_FOR_FILE = join(ROBOTS, 'wait-for-file.mjs');

type Started = QuickStart;

afterAll(removeQuickStartFolders);

/** Starts `start` (directly, or through `npm start` in a process group of its own), waits for its local Scheduler. */
const startQuickStart = (viaNpm: boolean, scriptShell = 'bash') => quickStart({ viaNpm, scriptShell });

/** A single trigger due now whose robot runs until `release` exists; resolves once its job runs. */
async function runningRobot(started: Started): Promise<{ triggerId: string; release: string }> {
  const release = join(started.folder, 'release');
  const triggerId = await createTrigger(started.store, {
    type: 'SINGLE',
    nextRun: new Date(Date.now() - 1000),
    triggerName: 'waits',
    processName: 'waits',
    processPath: WAIT_FOR_FILE,
    processArgs: release,
    isBlocking: false,
  });
  await waitForRunningJob(started.store, triggerId);
  return { triggerId, release };
}

async function outcome(started: Started, triggerId: string): Promise<{ job?: string; trigger: string }> {
  const job = await getLatestJobOfTrigger(started.store, triggerId);
  const trigger = await getTrigger(started.store, triggerId);
  return { job: job?.status, trigger: trigger.status };
}

/** The pid of the node process that runs `start` for this test's folder (npm's child, or sh's). */
function startPid(folder: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('start') && args.includes(folder) && args.some((a) => a.endsWith('openorchestrator.js'))) return Number(entry);
    } catch {
      // the process has ended meanwhile
    }
  }
  return undefined;
}

/** True while something accepts connections on the Orchestrator's port. */
function serving(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

describe('start stops like the Scheduler', () => {
  it('first SIGINT: claims nothing more, waits for the running robot, records it Done and exits by itself', async () => {
    const started = await startQuickStart(false);
    try {
      const { triggerId, release } = await runningRobot(started);
      started.child.kill('SIGINT');
      await waitFor('the stopping line', () => /stopping: no new runs; waiting for 1 running process/.test(started.output()));
      expect(started.child.exitCode).toBeNull();
      writeFileSync(release, '');
      expect(await started.exited).toBe(0);
      expect(await outcome(started, triggerId)).toEqual({ job: 'DONE', trigger: 'DONE' });
      expect(started.output()).toContain('the Orchestrator stays up until the local Scheduler has stopped');
    } finally {
      started.child.kill('SIGKILL');
      await closeStore(started.store);
    }
  });

  it('second SIGINT: kills the running robot, records it Killed and exits', async () => {
    const started = await startQuickStart(false);
    try {
      const { triggerId } = await runningRobot(started);
      started.child.kill('SIGINT');
      await waitFor('the stopping line', () => /stopping: no new runs/.test(started.output()));
      started.child.kill('SIGINT');
      expect(await started.exited).toBe(0);
      expect(await outcome(started, triggerId)).toEqual({ job: 'KILLED', trigger: 'KILLED' });
      expect(started.output()).toMatch(/"waits" was killed/);
    } finally {
      started.child.kill('SIGKILL');
      await closeStore(started.store);
    }
  });

  it('npm start: Ctrl+C (SIGINT to the whole process group, which npm forwards once more) is one stop; the robot is not in that group', async () => {
    const started = await startQuickStart(true);
    const group = started.child.pid!;
    try {
      const { triggerId, release } = await runningRobot(started);
      const robotPid = Number(await waitFor('the robot to run', () => /"waits" runs: .* pid=(\d+)/.exec(started.output())?.[1]));
      process.kill(-group, 'SIGINT');
      await waitFor('the stopping line', () => /stopping: no new runs; waiting for 1 running process/.test(started.output()));
      expect(isAlive(robotPid)).toBe(true);
      writeFileSync(release, '');
      // npm ends itself with the signal it got once its script has ended, whatever the exit code.
      await started.exited;
      expect(await outcome(started, triggerId)).toEqual({ job: 'DONE', trigger: 'DONE' });
      expect(started.output()).not.toMatch(/was killed|killing/);
    } finally {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // the group has ended
      }
      await closeStore(started.store);
    }
  });

  describe('a signal to npm\'s pid alone, as a process manager sends it', () => {
    /** `npm start` with a robot running; the pids of npm and node, and the Orchestrator's port. */
    async function underNpm(scriptShell: string) {
      const started = await startQuickStart(true, scriptShell);
      const { triggerId, release } = await runningRobot(started);
      const port = Number(new URL(started.baseUrl).port);
      const node = await waitFor('the node process', () => startPid(started.folder));
      return { started, triggerId, release, port, node, npm: started.child.pid! };
    }

    /** After the stop: a trigger due now is not claimed, the robot's end is recorded, node is gone. */
    async function stopsCleanly(run: Awaited<ReturnType<typeof underNpm>>) {
      const { started, triggerId, release, node } = run;
      const late = await createTrigger(started.store, { type: 'SINGLE', nextRun: new Date(), triggerName: 'too late', processName: 'too-late', processPath: WAIT_FOR_FILE, processArgs: release, isBlocking: false });
      expect(isAlive(node)).toBe(true); // waiting for its robot
      writeFileSync(release, '');
      await waitFor('node to exit', () => !isAlive(node), 30_000);
      expect(await outcome(started, triggerId)).toEqual({ job: 'DONE', trigger: 'DONE' });
      expect(await getLatestJobOfTrigger(started.store, late)).toBeUndefined();
    }

    it('SIGTERM under Debian\'s sh (which keeps it): node sees npm go, closes its port at once, claims nothing, waits for the robot and records it', async () => {
      const run = await underNpm('sh');
      try {
        process.kill(run.npm, 'SIGTERM');
        await waitFor('the port to close', async () => !(await serving(run.port)), 15_000);
        expect(run.started.output()).toContain('the process that started this one has ended');
        await stopsCleanly(run);
      } finally {
        if (isAlive(run.node)) process.kill(run.node, 'SIGKILL');
        await closeStore(run.started.store);
      }
    });

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${signal} where npm passes it on (a shell that execs, as bash): one gentle stop, the robot recorded, node gone`, async () => {
        const run = await underNpm('bash');
        try {
          process.kill(run.npm, signal);
          await waitFor('the stopping line', () => /stopping: no new runs; waiting for 1 running process/.test(run.started.output()));
          await stopsCleanly(run);
          expect(run.started.output()).not.toMatch(/was killed|killing/);
          expect(await serving(run.port)).toBe(false);
        } finally {
          if (isAlive(run.node)) process.kill(run.node, 'SIGKILL');
          await closeStore(run.started.store);
        }
      });
    }
  });
});
