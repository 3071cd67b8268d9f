import type { Command } from 'commander';
import { readEnvironment } from '../config/environment.js';
import { redactConnectionString } from '../config/connection-string.js';
import { InputError } from '../errors.js';
import { closeStore, openStore, toDatabaseError } from '../db/open.js';
import { upgradeDatabase } from '../db/schema/upgrade.js';
import { action } from './errors.js';

/** Creates or upgrades the database, printing each step; shared by `upgrade` and `start`. */
export async function runUpgrade(connectionString: string, print: (line: string) => void): Promise<void> {
  const store = openStore(connectionString);
  try {
    print(`upgrading ${redactConnectionString(connectionString)}`);
    const result = await upgradeDatabase(store.db, store.dialect, print);
    print(result.steps.length === 0 ? `already up to date (${result.to})` : `done: ${result.from} -> ${result.to}`);
  } catch (error) {
    throw toDatabaseError(error, store.config);
  } finally {
    await closeStore(store);
  }
}

export function registerUpgrade(program: Command): void {
  program
    .command('upgrade')
    .description('create all tables on an empty database, or upgrade one made by any version of OpenOrchestrator (Python or TypeScript); safe to run again')
    .argument('[connection-string]', 'SQLAlchemy-style URL, e.g. sqlite+pysqlite:///orchestrator.db (default: $OpenOrchestratorConnString)')
    .action(
      action(async (connectionString?: string) => {
        const url = connectionString ?? readEnvironment().connectionString;
        if (!url) throw new InputError('give a connection string, e.g. `openorchestrator upgrade sqlite+pysqlite:///orchestrator.db`, or set OpenOrchestratorConnString');
        await runUpgrade(url, (line) => console.log(line));
      }),
    );
}
