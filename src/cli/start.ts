/**
 * `start`: the Quick start's main job on the embedded SQLite default. It creates (once) a
 * database file and an encryption key in the working folder, brings the schema up to date, and
 * runs the Orchestrator with a local Scheduler beside it until stopped.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateKey, validateKey } from '../crypto/fernet.js';
import type { RunningOrchestrator } from '../orchestrator/server.js';
import { createConsoleLog } from '../scheduler/console-log.js';
import { Monitor } from '../monitor/monitor.js';
import { Scheduler } from '../scheduler/loop.js';
import { action } from './errors.js';
import { DEFAULT_PORT, PORT_ENV, defaultPort, parsePort, runOrchestrator } from './orchestrator.js';
import { onParentGone, onStopSignals } from './signals.js';
import { runUpgrade } from './upgrade.js';

export const DEFAULT_FOLDER = '.openorchestrator';
export const DEFAULT_DATABASE = 'orchestrator.db';
export const KEY_FILE = 'key';
/** The local Scheduler's work folder (git clones, robot dependencies), inside the private folder. */
export const WORK_FOLDER = 'work';
/** How often `start`'s monitor passes: quicker than a standalone monitor's 30 s, for a first look. */
export const START_MONITOR_INTERVAL_SECONDS = 10;

export interface LocalDefaults {
  connectionString: string;
  cryptoKey: string;
  keyPath: string;
  createdKey: boolean;
  workDir: string;
}

/** The embedded default: `<folder>/.openorchestrator/orchestrator.db` and a key file, both readable only by this user. */
export function ensureLocalDefaults(folder: string): LocalDefaults {
  const dir = resolve(folder, DEFAULT_FOLDER);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Also when the folder was there already (or made under a loose umask): the key and the
  // database are for this user only.
  chmodSync(dir, 0o700);
  const keyPath = join(dir, KEY_FILE);
  let createdKey = false;
  if (!existsSync(keyPath)) {
    writeFileSync(keyPath, `${generateKey()}\n`, { mode: 0o600, flag: 'wx' });
    createdKey = true;
  }
  chmodSync(keyPath, 0o600);
  const cryptoKey = readFileSync(keyPath, 'utf8').trim();
  validateKey(cryptoKey);
  const database = join(dir, DEFAULT_DATABASE);
  // Created here, so SQLite never makes it under the umask; SQLite gives its -wal and -shm files
  // the database file's mode.
  closeSync(openSync(database, 'a', 0o600));
  for (const file of [database, `${database}-wal`, `${database}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  return { connectionString: `sqlite+pysqlite:///${database}`, cryptoKey, keyPath, createdKey, workDir: join(dir, WORK_FOLDER) };
}

/**
 * Stops `start` as the Scheduler stops: the first signal stops claiming and waits for the
 * running robots (the web server stays up meanwhile, so their end can be watched), the second
 * kills them (recorded as Killed), the third exits at once. Every outcome is recorded before
 * the process exits. The monitor stops with the first signal.
 *
 * Under npm, when the process that started this one ends without passing a signal on (a process
 * manager stopping `npm start` under a shell that keeps signals to itself), it is a first stop
 * too, but the web server closes at once: nobody is left to watch, and the port is free again.
 */
export function stopTogether(
  server: RunningOrchestrator,
  local: { scheduler: Scheduler; done: Promise<void> } | undefined,
  monitor?: { monitor: Monitor; done: Promise<void> },
): void {
  let stopped: Promise<void> | undefined;
  let stopping = false;
  let schedulerEnded = local === undefined;
  void local?.done.then(() => (schedulerEnded = true));
  const finish = () => {
    stopped ??= (async () => {
      await local?.done;
      await monitor?.done;
      await server.close().catch(() => undefined);
      process.exit(0);
    })();
  };
  const exitNow = (signal: NodeJS.Signals) => {
    console.error(`${signal} a third time: exiting without waiting`);
    process.exit(130);
  };
  onStopSignals((count) => {
    if (local && !schedulerEnded) {
      if (count === 1 && local.scheduler.runningCount > 0) console.log('the Orchestrator stays up until the local Scheduler has stopped');
      local.scheduler.stop();
    }
    stopping = true;
    monitor?.monitor.stop();
    finish();
  }, exitNow);
  // Only under npm (`npm start`, `npx`): `nohup openorchestrator start &` must outlive its shell.
  if (process.env.npm_lifecycle_event === undefined) return;
  onParentGone(() => {
    // Its reader may be gone with it: a failed write must not end this process before the robots'
    // outcomes are recorded.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    console.log('the process that started this one has ended: the web server closes, no new runs start, running robots are waited for');
    void server.close().catch(() => undefined);
    if (!stopping) local?.scheduler.stop();
    stopping = true;
    monitor?.monitor.stop();
    finish();
  });
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('the Quick start: set up the embedded SQLite default in this folder (database and key, created once), bring it up to date and start the Orchestrator, a local Scheduler and a monitor on it (Ctrl+C: wait for running robots; twice: kill them)')
    .option('--folder <path>', 'where .openorchestrator/ lives', '.')
    .option('--setup-only', 'only create/upgrade the database and key; do not start the Orchestrator')
    .option('--port <port>', `port for the Orchestrator (default: ${DEFAULT_PORT} or $${PORT_ENV}, or a free one when taken; 0: a free one)`)
    .option('--no-browser', 'do not open a browser')
    .option('--no-scheduler', 'do not run a local Scheduler beside the Orchestrator')
    .option('--no-monitor', 'do not run the monitor (alert rules, queue retries) beside the Orchestrator')
    .option('--metrics', "also serve Prometheus metrics at /metrics on the Orchestrator's address: its own, the local Scheduler's and the monitor's")
    .action(
      action(async (options: { folder: string; setupOnly?: boolean; port?: string; browser: boolean; scheduler: boolean; monitor: boolean; metrics?: boolean }) => {
        // Every flag is checked before anything is written.
        const port = options.port === undefined ? undefined : parsePort(options.port, '--port');
        if (port === undefined) defaultPort(); // $OpenOrchestratorPort too
        const defaults = ensureLocalDefaults(options.folder);
        if (defaults.createdKey) {
          console.log(`created a new encryption key in ${defaults.keyPath} (readable only by you).`);
          console.log('keep a copy somewhere safe: credentials stored with it cannot be read without it.');
        }
        await runUpgrade(defaults.connectionString, (line) => console.log(line));
        console.log('');
        console.log('the database is ready. robots and tools reach it with:');
        console.log(`  export OpenOrchestratorConnString='${defaults.connectionString}'`);
        console.log(`  export OpenOrchestratorKey="$(cat ${defaults.keyPath})"`);
        if (options.setupOnly) return;
        console.log('');
        const server = await runOrchestrator(
          { port, connectionString: defaults.connectionString, cryptoKey: defaults.cryptoKey, browser: options.browser, metrics: options.metrics },
          (line) => console.log(line),
        );
        let local: { scheduler: Scheduler; done: Promise<void> } | undefined;
        if (options.scheduler) {
          // A newcomer should see a trigger they create actually run: one Scheduler on this machine.
          const scheduler = new Scheduler(
            { connectionString: defaults.connectionString, cryptoKey: defaults.cryptoKey, intervalSeconds: 2, workDir: defaults.workDir },
            createConsoleLog({ secrets: [defaults.cryptoKey] }),
          );
          console.log(`a local Scheduler runs here too, as machine "${scheduler.options.machineName}": triggers you create run on this machine`);
          const done = scheduler.run().catch((error: unknown) => console.error(`error: the local Scheduler stopped: ${(error as Error).message}`));
          local = { scheduler, done };
        }
        let watch: { monitor: Monitor; done: Promise<void> } | undefined;
        if (options.monitor) {
          // Alert rules made in the UI are evaluated (and queue retries run) without another command.
          const monitor = new Monitor(
            { connectionString: defaults.connectionString, cryptoKey: defaults.cryptoKey, name: `monitor@${hostname()}`, intervalSeconds: START_MONITOR_INTERVAL_SECONDS },
            createConsoleLog({ secrets: [defaults.cryptoKey] }),
          );
          console.log(`a monitor runs here too, every ${START_MONITOR_INTERVAL_SECONDS} s: alert rules fire and queue retries happen (--no-monitor leaves it out)`);
          const done = monitor.run().catch((error: unknown) => console.error(`error: the monitor stopped: ${(error as Error).message}`));
          watch = { monitor, done };
        }
        stopTogether(server, local, watch);
      }),
    );
}
