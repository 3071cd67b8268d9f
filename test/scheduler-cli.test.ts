/**
 * `openorchestrator scheduler` as a process: JSON lines without secrets, and clean stops on
 * SIGTERM (wait for the robot) and a second SIGINT (kill it, record Killed).
 */
import { chownSync, existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLatestJobOfTrigger } from '../src/db/store/jobs.js';
import { listLogs } from '../src/db/store/logs.js';
import { createTrigger, getTrigger } from '../src/db/store/triggers.js';
import { KEY, ROBOTS, spawnCliScheduler, tempDir, waitFor, waitForEndedJob, waitForRunningJob } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const ROBOT_MJS = join(ROBOTS, 'robot.mjs');
const PASSWORD = 'pw-never-printed';

describe('openorchestrator scheduler (CLI)', () => {
  let live: TestStore;
  let url: string;
  beforeAll(async () => {
    live = await openTestStore('postgres');
    // The test server trusts local logins, so any password works; it must never be printed.
    url = live.url.replace('postgresql+psycopg2://postgres@', `postgresql+psycopg2://postgres:${PASSWORD}@`);
  });
  afterAll(() => live?.close());

  const due = (name: string, args: object) =>
    createTrigger(live.store, { type: 'SINGLE', nextRun: new Date(Date.now() - 1000), triggerName: name, processName: name, processPath: ROBOT_MJS, processArgs: JSON.stringify(args), isBlocking: false });

  it('prints JSON lines without secrets and, on SIGTERM, waits for the running robot before it exits', async () => {
    const id = await due('cli-wait', { sleepMs: 1500 });
    const cli = spawnCliScheduler(['--json', '--interval', '0.2', '--machine-name', 'cli-one', '--work-dir', tempDir()], { OpenOrchestratorConnString: url, OpenOrchestratorKey: KEY });
    await waitForRunningJob(live.store, id);
    cli.signal('SIGTERM');
    expect(await cli.exited).toBe(0);
    const job = await getLatestJobOfTrigger(live.store, id);
    expect(job?.status).toBe('DONE');
    expect((await getTrigger(live.store, id)).status).toBe('DONE');
    const output = cli.stdout() + cli.stderr();
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(KEY);
    const lines = cli.stdout().trim().split('\n').map((line) => JSON.parse(line) as { event: string; time: string; message: string });
    expect(lines.map((l) => l.event)).toEqual(expect.arrayContaining(['started', 'claimed', 'started', 'stopping', 'done', 'stopped']));
    expect(lines[0]!.message).toContain('postgres:***@');
    expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
  });

  it('on a second SIGINT kills the running robot, records it as Killed and exits', async () => {
    const id = await due('cli-kill', { sleepMs: 60_000 });
    const cli = spawnCliScheduler(['--connection-string', url, '--key', KEY, '--interval', '0.2', '--machine-name', 'cli-two', '--kill-grace', '0.5', '--work-dir', tempDir()]);
    await waitForRunningJob(live.store, id);
    cli.signal('SIGINT');
    await waitFor('the stop notice', () => cli.stdout().includes('stopping'));
    cli.signal('SIGINT');
    expect(await cli.exited).toBe(0);
    const job = await waitForEndedJob(live.store, id, 5000);
    expect(job.status).toBe('KILLED');
    expect((await getTrigger(live.store, id)).status).toBe('KILLED');
    expect((await listLogs(live.store, { jobId: job.id }))[0]?.message).toMatch(/killed because the Scheduler on cli-two was stopped/);
    expect(cli.stdout()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}Scheduler "cli-two" started on postgresql\+psycopg2:\/\/postgres:\*\*\*@/);
    expect(cli.stdout() + cli.stderr()).not.toContain(PASSWORD);
  });

  it('refuses, in one line, a work folder that is a symbolic link or another user\'s, before touching anything', async () => {
    const home = tempDir('oo-victim-');
    writeFileSync(join(home, 'precious.txt'), 'keep');
    const workDir = tempDir();
    symlinkSync(home, join(workDir, 'cli-link'));
    let cli = spawnCliScheduler(['--machine-name', 'cli-link', '--work-dir', workDir], { OpenOrchestratorConnString: url, OpenOrchestratorKey: KEY });
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toBe(`error: the Scheduler's machine folder ${join(workDir, 'cli-link')} is a symbolic link, so it is not used: remove it or give another --work-dir\n`);
    expect(existsSync(join(home, 'precious.txt'))).toBe(true);
    const planted = tempDir();
    chownSync(planted, 65534, 65534);
    cli = spawnCliScheduler(['--machine-name', 'cli-owner', '--work-dir', planted], { OpenOrchestratorConnString: url, OpenOrchestratorKey: KEY });
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toMatch(/^error: the Scheduler's work folder .* belongs to another user \(uid 65534, this Scheduler runs as uid \d+\), so it is not used: remove it or give another --work-dir\n$/);
  });

  it('refuses --secrets-in-env-only with --secrets-in-argv in one line', async () => {
    const cli = spawnCliScheduler(['--secrets-in-env-only', '--secrets-in-argv', '--work-dir', tempDir()], { OpenOrchestratorConnString: url, OpenOrchestratorKey: KEY });
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toBe('error: --secrets-in-env-only and --secrets-in-argv contradict each other: give one of them\n');
  });

  it('fails in one line when the key is missing', async () => {
    const cli = spawnCliScheduler([], { OpenOrchestratorConnString: url, OpenOrchestratorKey: '' });
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toBe('error: give --key or --key-file, or set OpenOrchestratorKey\n');
  });
});
