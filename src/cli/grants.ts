/** `openorchestrator grants`: the statements that give a login the rights of a role. */
import type { Command } from 'commander';
import { sql } from 'kysely';
import { currentNamespace, existingObjects } from '../access/probe.js';
import { parseRoles, ROLE_SUMMARY } from '../access/rights.js';
import { grantStatements, SQLITE_EXPLANATION, tablesNeeded, type GrantDialect, type GrantOptions } from '../access/statements.js';
import { parseConnectionString } from '../config/connection-string.js';
import { closeStore, openStore, toDatabaseError } from '../db/open.js';
import { InputError } from '../errors.js';
import { databaseOptions, requireDatabase, type DatabaseFlags } from './database-flags.js';
import { action } from './errors.js';

const DIALECT_NAMES: Record<string, GrantDialect | 'sqlite'> = {
  sqlite: 'sqlite',
  postgres: 'postgres',
  postgresql: 'postgres',
  mysql: 'mysql',
  mariadb: 'mysql',
  mssql: 'mssql',
  sqlserver: 'mssql',
  oracle: 'oracle',
};

export interface GrantsCommandOptions {
  role: string;
  user?: string;
  schema?: string;
  database?: string;
  apply?: boolean;
}

/**
 * Prints (or with `apply`, runs) the statements. `target` is a connection string (the tables and
 * names are then read from that database) or a dialect name (statements for a database at the
 * current schema).
 */
export async function runGrants(target: string, options: GrantsCommandOptions, print: (line: string) => void): Promise<void> {
  const roles = parseRoles(options.role);
  const byName = DIALECT_NAMES[target.trim().toLowerCase()];
  const isUrl = byName === undefined;
  const dialect = byName ?? parseConnectionString(target).dialect;
  if (dialect === 'sqlite') {
    print(SQLITE_EXPLANATION);
    return;
  }
  const user = options.user ?? `oo_${roles.join('_')}`;
  const base: GrantOptions = { dialect, roles, user, database: options.database, schema: options.schema };
  if (!isUrl) {
    if (options.apply) throw new InputError('--apply needs a connection string (of a login that may grant rights), not a dialect name');
    printStatements(base, print, `-- for a database at the current schema (give a connection string to read the actual one)`);
    return;
  }
  const store = openStore(target);
  try {
    const namespace = await currentNamespace(store);
    const existing = await existingObjects(store);
    const missing = tablesNeeded(roles).filter((table) => !existing.tables.has(table));
    if (missing.length > 0) {
      throw new InputError(`the database lacks ${missing.join(', ')}: run \`openorchestrator upgrade\` as the admin login first, then grant the ${roles.join(' + ')} rights`);
    }
    const full: GrantOptions = {
      ...base,
      database: options.database ?? namespace.database,
      schema: options.schema ?? namespace.schema,
      existingTables: existing.tables,
      existingEnumTypes: existing.enumTypes,
    };
    if (!options.apply) {
      printStatements(full, print);
      return;
    }
    const statements = grantStatements(full);
    for (const statement of statements) await sql.raw(statement).execute(store.db);
    print(`granted ${roles.join(' + ')} to ${user}: ${statements.length} statement(s) run`);
  } catch (error) {
    throw toDatabaseError(error, store.config);
  } finally {
    await closeStore(store);
  }
}

function printStatements(options: GrantOptions, print: (line: string) => void, note?: string): void {
  const statements = grantStatements(options);
  for (const role of options.roles) print(`-- ${role}: ${ROLE_SUMMARY[role]}`);
  print(`-- the login ${options.user} must exist already (create it with its password yourself)`);
  if (note) print(note);
  for (const statement of statements) print(`${statement};`);
}

export function registerGrants(program: Command): void {
  const command = program
    .command('grants')
    .description('print (or with --apply, run) the statements that give a database login exactly the rights of a role: admin, scheduler, robot or viewer')
    .requiredOption('--role <role>', 'admin, scheduler, robot or viewer; several joined by a comma (scheduler,robot: a Scheduler passes its login on to the robots it starts)')
    .option('--user <name>', 'the login to grant to (MySQL: name or name@host); default oo_<role>')
    .option('--schema <name>', 'PostgreSQL/SQL Server: the schema of the tables; Oracle: the owner of the tables')
    .option('--database <name>', 'the database (default: the one the connection string names)')
    .option('--apply', 'run the statements on the database the connection string names (as a login that may grant)');
  // The database comes the way every command takes it (argument, flag, file, environment; a
  // password on the command line draws the one warning); the argument may name a dialect instead.
  databaseOptions(command)
    .addHelpText('after', '\nInstead of a connection string, the argument may name a dialect (postgresql, mysql, mariadb, mssql, oracle, sqlite): the statements for a database at the current schema.')
    .action(
      action(async (argument: string | undefined, options: GrantsCommandOptions & DatabaseFlags) => {
        const dialectNamed = argument !== undefined && DIALECT_NAMES[argument.trim().toLowerCase()] !== undefined;
        const target = dialectNamed ? argument : requireDatabase(argument, options).connectionString;
        await runGrants(target, options, (line) => console.log(line));
      }),
    );
}
