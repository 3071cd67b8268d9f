import type { Command } from 'commander';
import { redactConnectionString } from '../config/connection-string.js';
import { closeStore, openStore, toDatabaseError } from '../db/open.js';
import { upgradeDatabase } from '../db/schema/upgrade.js';
import { databaseOptions, requireDatabase, type DatabaseFlags } from './database-flags.js';
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
  const command = program
    .command('upgrade')
    .description('create all tables on an empty database, or upgrade one made by any version of OpenOrchestrator (Python or TypeScript); safe to run again');
  databaseOptions(command).action(
    action(async (argument: string | undefined, flags: DatabaseFlags) => {
      const { connectionString } = requireDatabase(argument, flags);
      await runUpgrade(connectionString, (line) => console.log(line));
    }),
  );
}
