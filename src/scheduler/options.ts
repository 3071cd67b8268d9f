/** What a Scheduler is started with, and the defaults the CLI and the docs share. */
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.js';

export interface SchedulerOptions {
  /** SQLAlchemy-style URL of the central database */
  connectionString: string;
  /** the Fernet key robots receive */
  cryptoKey: string;
  /** this worker's name in `Schedulers` and in trigger whitelists (default: the host name) */
  machineName?: string;
  /** seconds between ticks (default 6, as the Python Scheduler; fractions allowed) */
  intervalSeconds?: number;
  /** run only triggers whose whitelist names this machine */
  exclusive?: boolean;
  /** where git triggers are cloned (one folder per job, under a folder per machine name) */
  workDir?: string;
  /** the command that runs `.py` entries */
  python?: string;
  /** keep the connection string and key off every robot's command line (environment only) */
  secretsInEnvOnly?: boolean;
  /**
   * also put them on the command line of `.js`/`.ts` robots (by default only Python and other
   * robots get them there; ours read the environment)
   */
  secretsInArgv?: boolean;
  /** seconds between asking a process tree to stop (SIGTERM) and forcing it (SIGKILL) */
  killGraceSeconds?: number;
  /** seconds a git clone (and a robot's `npm ci`) may take */
  cloneTimeoutSeconds?: number;
  /** install git robots' npm dependencies without running any install script (`npm ci --ignore-scripts`) */
  ignoreScripts?: boolean;
  /** the longest wait between reconnection attempts while the database is unreachable */
  maxBackoffSeconds?: number;
  /** start with polling paused (running processes are still watched) */
  paused?: boolean;
}

export const DEFAULT_INTERVAL_SECONDS = 6;
export const DEFAULT_KILL_GRACE_SECONDS = 10;
export const DEFAULT_CLONE_TIMEOUT_SECONDS = 600;
export const DEFAULT_MAX_BACKOFF_SECONDS = 60;

export const defaultPython = (): string => (process.platform === 'win32' ? 'python' : 'python3');
export const defaultWorkDir = (): string => join(tmpdir(), 'openorchestrator-scheduler');
export const defaultMachineName = (): string => hostname();

export type ResolvedOptions = Required<SchedulerOptions>;

export function resolveOptions(options: SchedulerOptions): ResolvedOptions {
  if (options.secretsInEnvOnly && options.secretsInArgv) throw new InputError('--secrets-in-env-only and --secrets-in-argv contradict each other: give one of them');
  return {
    connectionString: options.connectionString,
    cryptoKey: options.cryptoKey,
    machineName: options.machineName ?? defaultMachineName(),
    intervalSeconds: options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS,
    exclusive: options.exclusive ?? false,
    workDir: options.workDir ?? defaultWorkDir(),
    python: options.python ?? defaultPython(),
    secretsInEnvOnly: options.secretsInEnvOnly ?? false,
    secretsInArgv: options.secretsInArgv ?? false,
    killGraceSeconds: options.killGraceSeconds ?? DEFAULT_KILL_GRACE_SECONDS,
    cloneTimeoutSeconds: options.cloneTimeoutSeconds ?? DEFAULT_CLONE_TIMEOUT_SECONDS,
    ignoreScripts: options.ignoreScripts ?? false,
    maxBackoffSeconds: options.maxBackoffSeconds ?? DEFAULT_MAX_BACKOFF_SECONDS,
    paused: options.paused ?? false,
  };
}
