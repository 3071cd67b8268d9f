/**
 * `start`: the Quick start's main job on the embedded SQLite default. It creates (once) a
 * database file and an encryption key in the working folder, brings the schema up to date, and
 * runs the Orchestrator with a local Scheduler beside it until stopped.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateKey, validateKey } from '../crypto/fernet.js';
import type { RunningOrchestrator } from '../orchestrator/server.js';
import { createConsoleLog } from '../scheduler/console-log.js';
import { Scheduler } from '../scheduler/loop.js';
import { action } from './errors.js';
import { DEFAULT_PORT, PORT_ENV, defaultPort, parsePort, runOrchestrator } from './orchestrator.js';
import { onStopSignals } from './signals.js';
import { runUpgrade } from './upgrade.js';

export const DEFAULT_FOLDER = '.openorchestrator';
export const DEFAULT_DATABASE = 'orchestrator.db';
export const KEY_FILE = 'key';
/** The local Scheduler's work folder (git clones, robot dependencies), inside the private folder. */
export const WORK_FOLDER = 'work';

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
 * the process exits.
 */
export function stopTogether(server: RunningOrchestrator, local: { scheduler: Scheduler; done: Promise<void> } | undefined): void {
  let stopped: Promise<void> | undefined;
  let schedulerEnded = local === undefined;
  void local?.done.then(() => (schedulerEnded = true));
  const exitNow = (signal: NodeJS.Signals) => {
    console.error(`${signal} a third time: exiting without waiting`);
    process.exit(130);
  };
  onStopSignals((count) => {
    if (local && !schedulerEnded) {
      if (count === 1 && local.scheduler.runningCount > 0) console.log('the Orchestrator stays up until the local Scheduler has stopped');
      local.scheduler.stop();
    }
    stopped ??= (async () => {
      await local?.done;
      await server.close().catch(() => undefined);
      process.exit(0);
    })();
  }, exitNow);
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('the Quick start: set up the embedded SQLite default in this folder (database and key, created once), bring it up to date and start the Orchestrator and a local Scheduler on it (Ctrl+C: wait for running robots; twice: kill them)')
    .option('--folder <path>', 'where .openorchestrator/ lives', '.')
    .option('--setup-only', 'only create/upgrade the database and key; do not start the Orchestrator')
    .option('--port <port>', `port for the Orchestrator (default: ${DEFAULT_PORT} or $${PORT_ENV}, or a free one when taken; 0: a free one)`)
    .option('--no-browser', 'do not open a browser')
    .option('--no-scheduler', 'do not run a local Scheduler beside the Orchestrator')
    .action(
      action(async (options: { folder: string; setupOnly?: boolean; port?: string; browser: boolean; scheduler: boolean }) => {
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
          { port, connectionString: defaults.connectionString, cryptoKey: defaults.cryptoKey, browser: options.browser },
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
        stopTogether(server, local);
      }),
    );
}
