/**
 * The flags the long-running subcommands (`scheduler`, `monitor`) share: the database and key,
 * from the flags or the environment, and durations in seconds.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { readEnvironment } from '../config/environment.js';
import { InputError } from '../errors.js';

export interface DatabaseFlags {
  connectionString?: string;
  key?: string;
  keyFile?: string;
}

/**
 * The connection string and key: `--connection-string`, `--key` or `--key-file`, else
 * `OpenOrchestratorConnString` / `OpenOrchestratorKey`. A connection string is required; an
 * unreadable key file is a one-line error naming it.
 *
 * @example
 *   const { connectionString, cryptoKey } = resolveDatabaseFlags(flags);
 */
export function resolveDatabaseFlags(flags: DatabaseFlags): { connectionString: string; cryptoKey?: string } {
  const env = readEnvironment();
  const connectionString = flags.connectionString ?? env.connectionString;
  if (!connectionString) throw new InputError('give --connection-string or set OpenOrchestratorConnString');
  return { connectionString, cryptoKey: flags.key ?? readKeyFile(flags.keyFile) ?? env.cryptoKey };
}

function readKeyFile(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new InputError(`cannot read the key file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); give the path of a file holding the key`);
  }
}

/**
 * A commander parser for a number of seconds above 0.
 *
 * @example
 *   .option('--interval <seconds>', 'seconds between polls', secondsOption('6'), 6)
 */
export function secondsOption(example: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number of seconds above 0, e.g. ${example} or 0.5`);
    return n;
  };
}
