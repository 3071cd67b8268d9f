/**
 * `start`: the Quick start's main job on the embedded SQLite default. It creates (once) a
 * database file and an encryption key in the working folder and brings the schema up to date.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateKey, validateKey } from '../crypto/fernet.js';
import { action } from './errors.js';
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
    .description('set up the embedded SQLite default in this folder (database and key, created once) and bring it up to date')
    .option('--folder <path>', 'where .openorchestrator/ lives', '.')
    .action(
      action(async (options: { folder: string }) => {
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
      }),
    );
}
