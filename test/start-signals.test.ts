/**
 * Stopping `start` (the Orchestrator with its local Scheduler) as a user does: Ctrl+C once waits
 * for the running robot and records it Done, twice kills it and records it Killed; under `npm
 * start`, the terminal's SIGINT to the whole process group plus npm's forwarded copy count as one.
 *
 * Runs the shipped command (bin/openorchestrator.js over dist/): build it first with
 * `npx tsc -p tsconfig.build.json` (npm install does, through `prepare`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeStore, openStore, type Store } from '../src/db/open.js';
import { getLatestJobOfTrigger } from '../src/db/store/jobs.js';
import { createTrigger, getTrigger } from '../src/db/store/triggers.js';
import { isAlive, ROBOTS, waitFor, waitForRunningJob } from './helpers/scheduler.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'openorchestrator.js');
const WAIT_FOR_FILE = join(ROBOTS, 'wait-for-file.mjs');

interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  store: Store;
  folder: string;
}

const folders: string[] = [];
afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.build.json` first');
});

/** Starts `start` (directly, or through `npm start` in a process group of its own), waits for its local Scheduler. */
async function startQuickStart(viaNpm: boolean): Promise<Started> {
  const folder = mkdtempSync(join(tmpdir(), 'oo-start-signals-'));
  folders.push(folder);
  const env: NodeJS.ProcessEnv = { ...process.env, OpenOrchestratorPort: '0' };
  const flags = ['--no-browser', '--folder', folder];
  // bash as npm's script shell (the sh of macOS and Fedora) execs the command, so this process is
  // npm's own child and gets both the group's SIGINT and npm's copy; Debian's dash would stay in
  // between and take npm's copy itself.
  if (viaNpm) env.npm_config_script_shell = 'bash';
  const child = viaNpm
    ? spawn('npm', ['start', '--silent', '--', ...flags], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(process.execPath, [BIN, 'start', ...flags], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor('the local Scheduler to start', () => {
    if (gone) throw new Error(`start exited early:\n${output}`);
    return /Scheduler ".*" started on/.test(output);
  }, 60_000);
  const store = openStore(`sqlite+pysqlite:///${join(folder, '.openorchestrator', 'orchestrator.db')}`);
  return { child, output: () => output, exited, store, folder };
}

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
});
