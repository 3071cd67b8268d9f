/** Runs the `openorchestrator` command from source, as a user would, and captures its output. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Asynchronous on purpose: a synchronous spawn blocks the test worker's event loop for the whole
 * run, and on a loaded machine vitest's own messages to the worker then time out.
 *
 * @example
 *   const { status, stdout } = await runCli(['--version']);
 */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}src/cli/main.ts`, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export interface RunningCli {
  pid: number;
  stdout(): string;
  stderr(): string;
  /** sends SIGTERM (or `signal`) */
  stop(signal?: NodeJS.Signals): void;
  /** resolves with the exit code */
  exited: Promise<number | null>;
}

/**
 * A long-running `openorchestrator` command (monitor, scheduler) as its own process, from source.
 *
 * @example
 *   const cli = spawnCli(['monitor', '--json'], { OpenOrchestratorConnString: url });
 *   cli.stop(); expect(await cli.exited).toBe(0);
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}src/cli/main.ts`, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { pid: child.pid!, stdout: () => out, stderr: () => err, stop: (signal = 'SIGTERM') => child.kill(signal), exited };
}
