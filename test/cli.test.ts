import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateKey } from '../src/crypto/fernet.js';
import { runCli } from './helpers/cli.js';

const ROOT = new URL('..', import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), 'oo-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openorchestrator CLI', () => {
  it('prints its version and help', async () => {
    const version = await runCli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await runCli(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['start', 'upgrade', 'key']) expect(help.stdout).toContain(command);
    const upgradeHelp = await runCli(['upgrade', '--help']);
    expect(upgradeHelp.stdout).toContain('connection-string');
  });

  it('prints a new valid key each time', async () => {
    const a = (await runCli(['key'])).stdout.trim();
    const b = (await runCli(['key'])).stdout.trim();
    expect(() => validateKey(a)).not.toThrow();
    expect(a).not.toBe(b);
  });

  it('upgrades step by step, and a second run changes nothing', async () => {
    const url = `sqlite+pysqlite:///${join(dir, 'cli.db')}`;
    const first = await runCli(['upgrade', url]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/\[1\/\d+\] /);
    expect(first.stdout).toContain('create table Triggers');
    expect(first.stdout).toMatch(/done: empty -> 1c87ed320c78\+oo-/);
    const second = await runCli(['upgrade', url]);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('already up to date');
    expect(second.stdout).not.toContain('[1/');
  });

  it('takes the connection string from OpenOrchestratorConnString', async () => {
    const url = `sqlite:///${join(dir, 'env.db')}`;
    const result = await runCli(['upgrade'], { env: { OpenOrchestratorConnString: url } });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('create table Logs');
  });

  it.each([
    ['no connection string', ['upgrade'], /no database given/],
    ['malformed URL', ['upgrade', 'postgresql//user:s3cretPW@host/db'], /connection string/i],
    ['unknown dialect', ['upgrade', 'redis://user:s3cretPW@host/0'], /redis/],
    ['unreachable server', ['upgrade', 'postgresql://user:s3cretPW@127.0.0.1:1/db'], /connection refused/],
    ['unknown subcommand', ['frobnicate'], /unknown command/],
  ])('fails with one clear line for %s, never showing the password', async (_name, args, pattern) => {
    const result = await runCli(args, { env: { OpenOrchestratorConnString: '' } });
    expect(result.status).not.toBe(0);
    // A password on the command line draws a warning first (test/cli-database-flags.test.ts); then the error.
    const errors = result.stderr.trim().split('\n').filter((line) => !line.startsWith('warning: '));
    expect(errors[0] ?? '').toMatch(pattern);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.stderr + result.stdout).not.toContain('s3cretPW');
  });

  it('start sets up the embedded default once, with a key only the user can read', async () => {
    const first = await runCli(['start', '--setup-only', '--folder', dir]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('created a new encryption key');
    const keyPath = join(dir, '.openorchestrator', 'key');
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyPath, 'utf8').trim();
    expect(() => validateKey(key)).not.toThrow();
    expect(first.stdout).not.toContain(key);
    const second = await runCli(['start', '--setup-only', '--folder', dir]);
    expect(second.status).toBe(0);
    expect(second.stdout).not.toContain('created a new encryption key');
    expect(second.stdout).toContain('already up to date');
    expect(readFileSync(keyPath, 'utf8').trim()).toBe(key);
  });

  it('start (the Quick start) starts the Orchestrator and a local Scheduler on the embedded default; it answers, serves metrics when asked and stops on SIGTERM', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'oo-start-'));
    const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}src/cli/main.ts`, 'start', '--folder', folder, '--no-browser', '--port', '0', '--metrics'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 30_000);
        child.stdout.on('data', () => {
          const match = /Orchestrator running at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.on('exit', () => reject(new Error(`exited early:\n${output}`)));
      });
      expect(output).toContain('created a new encryption key');
      const status = (await (await fetch(`${url}api/settings`)).json()) as { connected: boolean; dialect: string; needsUpgrade: boolean; hasKey: boolean };
      expect(status).toMatchObject({ connected: true, dialect: 'sqlite', needsUpgrade: false, hasKey: true });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
      // The local Scheduler beside it beats into the same database.
      expect(output).toContain('a local Scheduler runs here too');
      let schedulers: { machineName: string; online: boolean }[] = [];
      for (let i = 0; i < 50 && schedulers.length === 0; i++) {
        schedulers = (await (await fetch(`${url}api/schedulers`)).json()) as typeof schedulers;
        if (schedulers.length === 0) await new Promise((r) => setTimeout(r, 200));
      }
      expect(schedulers).toHaveLength(1);
      expect(schedulers[0]!.online).toBe(true);
      // One registry in one process: the Orchestrator's /metrics has the Scheduler's and the monitor's too.
      const metrics = await fetch(`${url}metrics`);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await metrics.text();
      for (const name of ['openorchestrator_jobs_started_total', 'openorchestrator_purged_rows_total', 'openorchestrator_queue_new_elements']) expect(text).toContain(`# TYPE ${name} `);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(folder, { recursive: true, force: true });
    }
    expect(child.exitCode === 0 || child.signalCode === 'SIGTERM').toBe(true);
  });

  it('scheduler refuses a database that was never upgraded, in one line', async () => {
    const empty = join(dir, 'never-upgraded.db');
    const key = (await runCli(['key'])).stdout.trim();
    const result = await runCli(['scheduler', '--connection-string', `sqlite:///${empty}`, '--interval', '0.2', '--work-dir', join(dir, 'work')], { env: { OpenOrchestratorKey: key } });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('error: the database has no OpenOrchestrator tables yet: run `openorchestrator upgrade` on it once to create them');
  });

  it('start checks every flag before it writes anything', async () => {
    const folder = join(dir, 'bad-port');
    const result = await runCli(['start', '--folder', folder, '--port', 'abc', '--no-browser']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('error: --port must be a number from 0 to 65535 (0: any free port), got "abc"');
    expect(existsSync(join(folder, '.openorchestrator'))).toBe(false);
  });

  it('start makes .openorchestrator/ private (0700) and the database 0600, also when the folder was there already', async () => {
    const folder = join(dir, 'loose');
    mkdirSync(join(folder, '.openorchestrator'), { recursive: true, mode: 0o755 });
    const result = await runCli(['start', '--setup-only', '--folder', folder]);
    expect(result.status).toBe(0);
    expect(statSync(join(folder, '.openorchestrator')).mode & 0o777).toBe(0o700);
    expect(statSync(join(folder, '.openorchestrator', 'orchestrator.db')).mode & 0o777).toBe(0o600);
  });

  it('the Orchestrator takes its default port, a free one when that is taken (said in one line), and refuses a --port that is taken', async () => {
    const busy = await occupy();
    const port = (busy.address() as { port: number }).port;
    try {
      const fallback = await startOrchestratorCli([], { OpenOrchestratorPort: String(port) });
      expect(fallback.output).toContain(`port ${port} is taken: using `);
      const used = Number(/using (\d+) instead/.exec(fallback.output)?.[1]);
      expect(used).not.toBe(port);
      expect(fallback.output).toContain(`Orchestrator running at http://127.0.0.1:${used}/`);
      await fallback.stop();

      const taken = await runCli(['orchestrator', '--no-browser', '--port', String(port)], { env: { OpenOrchestratorConnString: '' } });
      expect(taken.status).toBe(1);
      expect(taken.stderr.trim()).toBe(`error: port ${port} is taken on 127.0.0.1: choose another with --port, or --port 0 for any free one`);
    } finally {
      busy.close();
    }
    // Free again: the default port is the one used, so a bookmark keeps working.
    const again = await startOrchestratorCli([], { OpenOrchestratorPort: String(port) });
    expect(again.output).toContain(`Orchestrator running at http://127.0.0.1:${port}/`);
    expect(again.output).not.toContain('is taken');
    await again.stop();
  });

  it('with --host 0.0.0.0 prints the addresses teammates can open, not 0.0.0.0', async () => {
    const token = 'team-token-123';
    const team = await startOrchestratorCli(['--host', '0.0.0.0', '--token', token], { OpenOrchestratorPort: '0' });
    await team.stop();
    const port = Number(/running at http:\/\/127\.0\.0\.1:(\d+)\//.exec(team.output)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(team.output).not.toContain('0.0.0.0');
    const addresses = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);
    if (addresses.length === 0) expect(team.output).toContain('no network address found on this machine');
    for (const address of addresses) expect(team.output).toContain(`http://${address}:${port}/#token=${token}`);
  });
});

/** A listener on a free port of 127.0.0.1, to make that port taken. */
function occupy(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** `orchestrator --no-browser ...` until it prints "press Ctrl+C to stop"; stop() sends SIGINT and waits for its exit. */
async function startOrchestratorCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ output: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}src/cli/main.ts`, 'orchestrator', '--no-browser', ...args], {
    cwd: ROOT,
    env: { ...process.env, OpenOrchestratorConnString: '', OpenOrchestratorToken: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => output.includes('press Ctrl+C to stop') && resolve());
    void exited.then(() => reject(new Error(`exited early:\n${output}`)));
  });
  const result = {
    output,
    async stop() {
      child.kill('SIGINT');
      await exited;
    },
  };
  return result;
}
