/**
 * Helpers for the Scheduler tests: a Scheduler in this process with a fast tick, waiting for
 * jobs, local git repositories, live-process checks.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKey } from '../../src/crypto/fernet.js';
import type { Store } from '../../src/db/open.js';
import { getLatestJobOfTrigger, type Job } from '../../src/db/store/jobs.js';
import { createConsoleLog } from '../../src/scheduler/console-log.js';
import { Scheduler } from '../../src/scheduler/loop.js';
import type { SchedulerOptions } from '../../src/scheduler/options.js';

export const ROBOTS = fileURLToPath(new URL('../fixtures/robots/', import.meta.url));
export const KEY = generateKey();

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined/false; throws after the timeout. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(40);
  }
}

/** The trigger's latest job once it has ended. */
export function waitForEndedJob(store: Store, triggerId: string, timeoutMs?: number): Promise<Job> {
  return waitFor(
    `the job of trigger ${triggerId} to end`,
    async () => {
      const job = await getLatestJobOfTrigger(store, triggerId);
      return job && job.status !== 'RUNNING' ? job : undefined;
    },
    timeoutMs,
  );
}

export function waitForRunningJob(store: Store, triggerId: string): Promise<Job> {
  return waitFor(`trigger ${triggerId} to start`, async () => getLatestJobOfTrigger(store, triggerId));
}

export const tempDir = (prefix = 'oo-sched-') => mkdtempSync(join(tmpdir(), prefix));

export interface RunningScheduler {
  scheduler: Scheduler;
  lines: string[];
  done: Promise<void>;
  /** stops (killing what still runs after `graceMs`) and waits for the end */
  stop(graceMs?: number): Promise<void>;
}

export function startScheduler(options: Partial<SchedulerOptions> & { connectionString: string }): RunningScheduler {
  const lines: string[] = [];
  const scheduler = new Scheduler(
    { cryptoKey: KEY, machineName: `test-${Math.random().toString(36).slice(2, 8)}`, intervalSeconds: 0.1, workDir: tempDir('oo-work-'), killGraceSeconds: 0.5, ...options },
    createConsoleLog({ json: true, verbose: true, write: (line) => lines.push(line) }),
  );
  const done = scheduler.run();
  done.catch(() => undefined);
  return {
    scheduler,
    lines,
    done,
    async stop(graceMs = 5000) {
      scheduler.stop();
      const timer = setTimeout(() => scheduler.stop(), graceMs);
      try {
        await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Empties the tables the Scheduler tests write. */
export async function resetTables(store: Store): Promise<void> {
  for (const table of ['Single_Triggers', 'Scheduled_Triggers', 'Queue_Triggers', 'Triggers', 'Jobs', 'Logs', 'Queues', 'Schedulers'] as const) {
    await store.db.deleteFrom(table).execute();
  }
}

/** A git repository with the given files committed on `branch` (and optionally more branches). */
export function makeGitRepo(branches: Record<string, Record<string, string | Buffer>>): string {
  const dir = tempDir('oo-repo-');
  const git = gitIn(dir);
  git('init', '--quiet', '--initial-branch', Object.keys(branches)[0]!);
  let first = true;
  for (const [branch, files] of Object.entries(branches)) {
    if (!first) git('checkout', '--quiet', '--orphan', branch);
    if (!first) git('rm', '-rf', '--quiet', '.');
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    git('add', '-A');
    git('commit', '--quiet', '-m', `files of ${branch}`);
    first = false;
  }
  return dir;
}

function gitIn(dir: string): (...args: string[]) => Buffer {
  return (...args) => execFileSync('git', args, { cwd: dir, stdio: 'pipe', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
}

/** Commits symbolic links (path -> target) on the current branch of a makeGitRepo repository. */
export function commitSymlinks(repo: string, links: Record<string, string>): void {
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    symlinkSync(target, join(repo, path));
  }
  const git = gitIn(repo);
  git('add', '-A');
  git('commit', '--quiet', '-m', 'symbolic links');
}

/** True while the process exists and is no zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    const state = readFileSync(stat, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The lines a robot.mjs fixture appended: [process name, event, time]. */
export function readEvents(file: string): Array<{ name: string; event: string; time: number }> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', event = '', time = '0'] = line.split(' ');
      return { name, event, time: Number(time) };
    });
}

export interface CliScheduler {
  pid: number;
  stdout(): string;
  stderr(): string;
  signal(signal: NodeJS.Signals): void;
  /** resolves with the exit code */
  exited: Promise<number | null>;
}

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** `openorchestrator scheduler ...` as a separate process, run from source as a user would. */
export function spawnCliScheduler(args: string[], env: NodeJS.ProcessEnv = {}): CliScheduler {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'scheduler', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { pid: child.pid!, stdout: () => out, stderr: () => err, signal: (s) => child.kill(s), exited };
}
