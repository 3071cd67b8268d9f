/**
 * How every command that opens the database takes it (`scheduler`, `monitor`, `orchestrator`,
 * `upgrade`, `grants`): the connection string as an argument or `--connection-string`, from a file
 * (`--connection-string-file`) or from `OpenOrchestratorConnString`; the key from `--key`,
 * `--key-file` or `OpenOrchestratorKey`. A secret given on the command line is visible to every
 * local user (`ps`, `/proc/<pid>/cmdline`): the command says so once, on stderr.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { parseConnectionString } from '../config/connection-string.js';
import { ENV_CONN_STRING, ENV_CRYPTO_KEY, readEnvironment } from '../config/environment.js';
import { connectionSecrets } from '../config/secrets.js';
import { InputError } from '../errors.js';

export interface DatabaseFlags {
  connectionString?: string;
  connectionStringFile?: string;
  key?: string;
  keyFile?: string;
  /** the Orchestrator's access token, when the command takes one: named in the same warning */
  token?: string;
}

/**
 * Adds the database's argument and options to `command`, and the key's when `keyHelp` says
 * what the key is for. The action receives the argument first, then the flags.
 *
 * @example
 *   databaseOptions(program.command('monitor'), 'encryption key, to read the Credentials channels log in with')
 *     .action(action(async (argument: string | undefined, flags: DatabaseFlags) => resolveDatabase(argument, flags)));
 */
export function databaseOptions(command: Command, keyHelp?: string): Command {
  command
    .argument('[connection-string]', `database URL, SQLAlchemy-style (default: $${ENV_CONN_STRING}); on the command line, \`ps\` shows its password to every local user`)
    .option('--connection-string <url>', 'the same, as a flag')
    .option('--connection-string-file <path>', 'read the connection string from this file');
  if (keyHelp) command.option('--key <key>', `${keyHelp} (default: $${ENV_CRYPTO_KEY})`).option('--key-file <path>', 'read the encryption key from this file');
  return command;
}

/**
 * The connection string and key, from the command line, a file or the environment (in that
 * order); undefined where none is given. Warns once on stderr when the command line holds a
 * secret. Giving the connection string twice, or an unreadable file, is a one-line InputError.
 */
export function resolveDatabase(argument: string | undefined, flags: DatabaseFlags): { connectionString?: string; cryptoKey?: string } {
  if (argument !== undefined && flags.connectionString !== undefined) {
    throw new InputError('the connection string is given twice (as the argument and with --connection-string): give it once');
  }
  const onCommandLine = argument ?? flags.connectionString;
  if (onCommandLine !== undefined && flags.connectionStringFile !== undefined) {
    throw new InputError('the connection string is given twice (on the command line and with --connection-string-file): give it once');
  }
  warnAboutCommandLineSecrets({ connectionString: onCommandLine, key: flags.key, token: flags.token });
  const env = readEnvironment();
  return {
    connectionString: onCommandLine ?? readSecretFile(flags.connectionStringFile, 'connection string') ?? env.connectionString,
    cryptoKey: flags.key ?? readSecretFile(flags.keyFile, 'key') ?? env.cryptoKey,
  };
}

/** resolveDatabase for a command that cannot run without a database. */
export function requireDatabase(argument: string | undefined, flags: DatabaseFlags): { connectionString: string; cryptoKey?: string } {
  const { connectionString, cryptoKey } = resolveDatabase(argument, flags);
  if (!connectionString) {
    throw new InputError(`no database given: set ${ENV_CONN_STRING}, or give --connection-string-file <path> or the connection string (e.g. sqlite+pysqlite:///orchestrator.db)`);
  }
  return { connectionString, cryptoKey };
}

function readSecretFile(path: string | undefined, what: string): string | undefined {
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new InputError(`cannot read the ${what} file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); give the path of a file holding the ${what}`);
  }
  if (text === '') throw new InputError(`the ${what} file ${path} is empty; write the ${what} into it`);
  return text;
}

function hasPassword(connectionString: string): boolean {
  try {
    return connectionSecrets(parseConnectionString(connectionString)).length > 0;
  } catch {
    // Not parseable (the command says so next), but a user:password@ is on the command line all the same.
    return /:\/\/[^/@:]*:[^/@]+@/.test(connectionString);
  }
}

const and = (items: string[]) => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/**
 * The one warning about secrets on the command line (`ps` shows a command line to every local
 * user), naming each and where it belongs instead; undefined when there is none.
 *
 * @example
 *   commandLineSecretsWarning({ key: 'k' }) // 'warning: this command line shows the key to every local user (...); instead set OpenOrchestratorKey (or give --key-file <path>)'
 */
export function commandLineSecretsWarning(given: { connectionString?: string; key?: string; token?: string }): string | undefined {
  const found: Array<[string, string]> = [];
  if (given.connectionString !== undefined && hasPassword(given.connectionString)) found.push(['the database password', `${ENV_CONN_STRING} (or give --connection-string-file <path>)`]);
  if (given.key) found.push(['the key', `${ENV_CRYPTO_KEY} (or give --key-file <path>)`]);
  if (given.token) found.push(['the access token', 'OpenOrchestratorToken']);
  if (found.length === 0) return undefined;
  return `warning: this command line shows ${and(found.map(([what]) => what))} to every local user (ps, /proc/<pid>/cmdline); instead set ${and(found.map(([, fix]) => fix))}`;
}

/** Writes commandLineSecretsWarning to stderr, if there is one. */
export function warnAboutCommandLineSecrets(given: { connectionString?: string; key?: string; token?: string }): void {
  const warning = commandLineSecretsWarning(given);
  if (warning) process.stderr.write(`${warning}\n`);
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
