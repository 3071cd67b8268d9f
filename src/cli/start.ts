/**
 * `start`: the Quick start's main job on the embedded SQLite default. It creates (once) a
 * database file and an encryption key in the working folder and brings the schema up to date.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateKey, validateKey } from '../crypto/fernet.js';
import { InputError } from '../errors.js';
import { createConsoleLog } from '../scheduler/console-log.js';
import { Scheduler } from '../scheduler/loop.js';
import { action } from './errors.js';
import { runOrchestrator } from './orchestrator.js';
import { runUpgrade } from './upgrade.js';

export const DEFAULT_FOLDER = '.openorchestrator';
export const DEFAULT_DATABASE = 'orchestrator.db';
export const KEY_FILE = 'key';

export interface LocalDefaults {
  connectionString: string;
  cryptoKey: string;
  keyPath: string;
  createdKey: boolean;
}

/** The embedded default: `<folder>/.openorchestrator/orchestrator.db` and a key file readable only by this user. */
export function ensureLocalDefaults(folder: string): LocalDefaults {
  const dir = resolve(folder, DEFAULT_FOLDER);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, KEY_FILE);
  let createdKey = false;
  if (!existsSync(keyPath)) {
    writeFileSync(keyPath, `${generateKey()}\n`, { mode: 0o600, flag: 'wx' });
    createdKey = true;
  }
  chmodSync(keyPath, 0o600);
  const cryptoKey = readFileSync(keyPath, 'utf8').trim();
  validateKey(cryptoKey);
  return { connectionString: `sqlite+pysqlite:///${join(dir, DEFAULT_DATABASE)}`, cryptoKey, keyPath, createdKey };
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('the Quick start: set up the embedded SQLite default in this folder (database and key, created once), bring it up to date and start the Orchestrator on it')
    .option('--folder <path>', 'where .openorchestrator/ lives', '.')
    .option('--setup-only', 'only create/upgrade the database and key; do not start the Orchestrator')
    .option('--port <port>', 'port for the Orchestrator (default: a free one)', '0')
    .option('--no-browser', 'do not open a browser')
    .option('--no-scheduler', 'do not run a local Scheduler beside the Orchestrator')
    .action(
      action(async (options: { folder: string; setupOnly?: boolean; port: string; browser: boolean; scheduler: boolean }) => {
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
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`--port must be a number from 0 to 65535, got "${options.port}"`);
        console.log('');
        await runOrchestrator(
          { port, connectionString: defaults.connectionString, cryptoKey: defaults.cryptoKey, browser: options.browser },
          (line) => console.log(line),
        );
        if (options.scheduler) {
          // A newcomer should see a trigger they create actually run: one Scheduler on this machine.
          const scheduler = new Scheduler(
            { connectionString: defaults.connectionString, cryptoKey: defaults.cryptoKey, intervalSeconds: 2 },
            createConsoleLog({ secrets: [defaults.cryptoKey] }),
          );
          console.log(`a local Scheduler runs here too, as machine "${scheduler.options.machineName}": triggers you create run on this machine`);
          scheduler.run().catch((error: unknown) => console.error(`error: the local Scheduler stopped: ${(error as Error).message}`));
        }
      }),
    );
}
