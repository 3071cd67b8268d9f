/**
 * Robot processes: start one (in its own process group on POSIX, so its whole tree can be
 * killed), collect its stderr within a bound, hand its output on as it comes, learn when it
 * ends, and kill its tree.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BoundedText } from './bounded-text.js';
import { now } from '../time/clock.js';
import { LaunchError } from './launch-error.js';

/** Characters of stderr kept from the beginning and from the end of a robot's output. */
export const STDERR_HEAD = 3500;
export const STDERR_TAIL = 3500;

/** After the robot exits, how long to wait for its output to close (a grandchild may hold it). */
const OUTPUT_DRAIN_MS = 1000;

export interface ProcessSpec {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** a readable name of what runs it, for the error when it cannot start */
  runner: string;
  /** Windows: pass `args` as they are (already quoted for cmd.exe) */
  windowsVerbatimArguments?: boolean;
  /** every chunk the process writes to its stdout or stderr, as it comes */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
}

export interface ProcessEnd {
  /** exit code, or null when a signal ended it */
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  endedAt: Date;
}

export class RobotProcess {
  readonly pid: number;
  /** resolves once when the process has ended */
  readonly ended: Promise<ProcessEnd>;
  #child: ChildProcess;
  #killTimer: NodeJS.Timeout | undefined;

  constructor(child: ChildProcess, ended: Promise<ProcessEnd>) {
    this.#child = child;
    this.pid = child.pid!;
    this.ended = ended;
    void ended.then(() => {
      if (this.#killTimer) clearTimeout(this.#killTimer);
    });
  }

  /**
   * Ends the whole process tree. POSIX: SIGTERM to the process group, SIGKILL to it after
   * `graceMs` (sent even if the robot itself already ended, for children that ignored SIGTERM).
   * Windows: `taskkill /T /F`.
   */
  killTree(graceMs: number): void {
    if (process.platform === 'win32') {
      spawn('taskkill', ['/PID', String(this.pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on('error', () => undefined);
      return;
    }
    signalGroup(this.pid, 'SIGTERM');
    if (this.#killTimer) return;
    this.#killTimer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
    // If the robot ended already, the timer still fires for the rest of the group; it must not
    // keep the Scheduler alive beyond that.
    void this.ended.then(() => {
      if (this.#killTimer) {
        clearTimeout(this.#killTimer);
        this.#killTimer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), Math.min(graceMs, 2000)).unref();
      }
    });
  }

  get exitCode(): number | null {
    return this.#child.exitCode;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/**
 * Starts a process and resolves once it runs; rejects with LaunchError when it cannot start
 * (missing interpreter or file, no permission to execute).
 */
export function startProcess(spec: ProcessSpec): Promise<RobotProcess> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: process.platform !== 'win32',
        windowsHide: true,
        windowsVerbatimArguments: spec.windowsVerbatimArguments ?? false,
      });
    } catch (error) {
      reject(new LaunchError(`could not start ${spec.runner}: ${(error as Error).message}`));
      return;
    }
    const stderr = new BoundedText(STDERR_HEAD, STDERR_TAIL);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr.append(chunk);
      spec.onOutput?.('stderr', chunk);
    });
    child.stderr?.on('error', () => undefined);
    // Read always, so a robot that prints a lot never blocks on a full pipe.
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => spec.onOutput?.('stdout', chunk));
    child.stdout?.on('error', () => undefined);

    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined && child.exitCode === null) return; // a kill or pipe error after it started
      const reason =
        error.code === 'ENOENT'
          ? `${spec.command} was not found (is it installed and on the PATH?)`
          : error.code === 'EACCES'
            ? `${spec.command} may not be executed (permission denied; is it executable?)`
            : error.message;
      reject(new LaunchError(`could not start ${spec.runner}: ${reason}`));
    });
    child.once('spawn', () => {
      const ended = new Promise<ProcessEnd>((done) => {
        child.once('exit', (code, signal) => {
          const endedAt = now();
          const open = [child.stdout, child.stderr].filter((stream) => stream && !stream.readableEnded && !stream.destroyed);
          let waiting = open.length;
          const finish = () => done({ code, signal, stderr: stderr.toString(), endedAt });
          if (waiting === 0) return finish();
          const timer = setTimeout(() => {
            for (const stream of open) stream?.destroy();
            finish();
          }, OUTPUT_DRAIN_MS);
          for (const stream of open) {
            stream?.once('close', () => {
              if (--waiting > 0) return;
              clearTimeout(timer);
              finish();
            });
          }
        });
      });
      resolve(new RobotProcess(child, ended));
    });
  });
}
