/**
 * The statements that give a database login the rights of one or more roles (rights.ts), per
 * dialect. Names are checked against a strict pattern and quoted; no other text from the user
 * enters a statement. Creating the login itself (and its password) stays with the DBA, so no
 * password ever passes through this program.
 */
import type { DialectName } from '../config/connection-string.js';
import { oracleIdentifier } from '../db/dialects/oracle.js';
import { ALL_TABLE_NAMES, ENUM_VALUES } from '../db/schema/tables.js';
import { InputError } from '../errors.js';
import { mergeRoles, ROLE_RIGHTS, type Role, type TableRights } from './rights.js';

export type GrantDialect = Exclude<DialectName, 'sqlite'>;

export interface GrantOptions {
  dialect: GrantDialect;
  roles: readonly Role[];
  /** the login; on MySQL/MariaDB `name` or `name@host` (host `%` when not given) */
  user: string;
  /** PostgreSQL: the database to CONNECT to; MySQL: the database the tables live in (required) */
  database?: string;
  /** PostgreSQL/MSSQL: the schema of the tables (public / dbo); Oracle: the owner of the tables (required) */
  schema?: string;
  /**
   * Tables that exist (read from a live database); without it the statements are for a database
   * at the current schema. PostgreSQL's admin ownership transfers use it to skip missing tables.
   */
  existingTables?: ReadonlySet<string>;
  /** PostgreSQL enum types that exist (same purpose) */
  existingEnumTypes?: ReadonlySet<string>;
}

export const SQLITE_EXPLANATION =
  'SQLite has no logins: whoever can read and write the database file can do everything. Control access with file permissions (e.g. chmod 600 and a dedicated account), or use PostgreSQL, MySQL/MariaDB, SQL Server or Oracle for separate admin, scheduler and robot logins.';

const NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const HOST = /^[A-Za-z0-9_.%:-]{1,255}$/;

function checkName(what: string, name: string | undefined): string {
  if (name === undefined || !NAME.test(name)) {
    throw new InputError(`${what} must be a plain name (letters, digits, _ and $, starting with a letter or _, at most 63 characters); got ${JSON.stringify(name ?? '')}`);
  }
  return name;
}

/** Splits `name@host` for MySQL. */
export function mysqlAccount(user: string): { name: string; host: string } {
  const at = user.lastIndexOf('@');
  const name = checkName('the login name', at < 0 ? user : user.slice(0, at));
  const host = at < 0 ? '%' : user.slice(at + 1);
  if (!HOST.test(host)) throw new InputError(`the login's host must be a host name, an address or %; got ${JSON.stringify(host)}`);
  return { name, host };
}

/** The privilege list of one table, e.g. `SELECT, INSERT, UPDATE ("a", "b"), DELETE`. */
function privilegeList(entry: TableRights, quoteColumn: (c: string) => string, columnSelect: boolean): string {
  const parts: string[] = [];
  if (entry.select === true || (entry.select && !columnSelect)) parts.push('SELECT');
  else if (entry.select) parts.push(`SELECT (${entry.select.map(quoteColumn).join(', ')})`);
  if (entry.insert) parts.push('INSERT');
  if (entry.update) parts.push(entry.update.length === 0 ? 'UPDATE' : `UPDATE (${entry.update.map(quoteColumn).join(', ')})`);
  if (entry.delete) parts.push('DELETE');
  return parts.join(', ');
}

const dq = (name: string) => `"${name.replace(/"/g, '""')}"`;
const bq = (name: string) => `\`${name.replace(/`/g, '``')}\``;
const sb = (name: string) => `[${name.replace(/]/g, ']]')}]`;

/** The data rights of the roles, admin meaning every table in full. */
function dataRights(roles: readonly Role[]): TableRights[] {
  return roles.includes('admin') ? [...ROLE_RIGHTS.admin] : mergeRoles(roles);
}

/**
 * The statements, in the order they must run.
 *
 * @example
 *   grantStatements({ dialect: 'postgres', roles: ['robot'], user: 'oo_robot', database: 'orchestrator' })
 */
export function grantStatements(options: GrantOptions): string[] {
  if (options.roles.length === 0) throw new InputError('give a role: admin, scheduler, robot or viewer');
  switch (options.dialect) {
    case 'postgres':
      return postgres(options);
    case 'mysql':
      return mysql(options);
    case 'mssql':
      return mssql(options);
    case 'oracle':
      return oracle(options);
    default:
      throw new InputError(`no grants for dialect ${String(options.dialect)}`);
  }
}

function postgres(options: GrantOptions): string[] {
  const user = dq(checkName('the login name', options.user));
  const schema = checkName('the schema', options.schema ?? 'public');
  const table = (name: string) => `${dq(schema)}.${dq(name)}`;
  const out: string[] = [];
  const admin = options.roles.includes('admin');
  if (options.database !== undefined) out.push(`GRANT CONNECT${admin ? ', TEMPORARY' : ''} ON DATABASE ${dq(checkName('the database', options.database))} TO ${user}`);
  if (admin) {
    // `upgrade` alters tables and enum types, which PostgreSQL allows their owner only: the admin
    // login owns the schema's objects (it owns them anyway when its own `upgrade` created them).
    out.push(`GRANT USAGE, CREATE ON SCHEMA ${dq(schema)} TO ${user}`);
    for (const name of ALL_TABLE_NAMES) {
      if (!options.existingTables || options.existingTables.has(name)) out.push(`ALTER TABLE ${table(name)} OWNER TO ${user}`);
    }
    for (const type of Object.keys(ENUM_VALUES)) {
      if (!options.existingEnumTypes || options.existingEnumTypes.has(type)) out.push(`ALTER TYPE ${dq(schema)}.${dq(type)} OWNER TO ${user}`);
    }
    return out;
  }
  // Enum types need no USAGE grant: PostgreSQL checks it only when a type is named in DDL.
  out.push(`GRANT USAGE ON SCHEMA ${dq(schema)} TO ${user}`);
  for (const entry of dataRights(options.roles)) out.push(`GRANT ${privilegeList(entry, dq, true)} ON TABLE ${table(entry.table)} TO ${user}`);
  return out;
}

function mysql(options: GrantOptions): string[] {
  const { name, host } = mysqlAccount(options.user);
  const account = `'${name}'@'${host}'`;
  if (options.database === undefined) throw new InputError('MySQL/MariaDB grants name the database: give a connection string, or --database NAME');
  const database = bq(checkName('the database', options.database));
  if (options.roles.includes('admin')) {
    // No DROP: `upgrade` never drops a table, so neither may the admin login. TRIGGER: the claim
    // guard (oo-013) and the change tracking (oo-014).
    return [`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES, TRIGGER ON ${database}.* TO ${account}`];
  }
  return dataRights(options.roles).map((entry) => `GRANT ${privilegeList(entry, bq, true)} ON ${database}.${bq(entry.table)} TO ${account}`);
}

function mssql(options: GrantOptions): string[] {
  const name = checkName('the login name', options.user);
  const user = sb(name);
  const schema = sb(checkName('the schema', options.schema ?? 'dbo'));
  // The server login must exist; this makes it a user of the connected database.
  const out = [`IF DATABASE_PRINCIPAL_ID(N'${name}') IS NULL CREATE USER ${user} FOR LOGIN ${user}`];
  if (options.roles.includes('admin')) {
    // ALTER on the schema (needed to create and change tables in it) includes DROP there: SQL Server has no finer right.
    out.push(`GRANT CREATE TABLE TO ${user}`);
    out.push(`GRANT ALTER, REFERENCES, SELECT, INSERT, UPDATE, DELETE ON SCHEMA::${schema} TO ${user}`);
    return out;
  }
  for (const entry of dataRights(options.roles)) out.push(`GRANT ${privilegeList(entry, sb, true)} ON ${schema}.${sb(entry.table)} TO ${user}`);
  return out;
}

function oracle(options: GrantOptions): string[] {
  const user = checkName('the login name', options.user).toUpperCase();
  const owner = checkName('the owner of the tables (--schema)', options.schema).toUpperCase();
  const table = (name: string) => `${owner}.${dq(oracleIdentifier(name))}`;
  const column = (name: string) => dq(oracleIdentifier(name));
  if (options.roles.includes('admin')) {
    if (user !== owner) {
      throw new InputError(`on Oracle the admin login is the owner of the tables: run the admin grants for ${owner} (--user ${owner}), or give --schema ${user} to make ${user} the owner`);
    }
    // CREATE TRIGGER: the claim guard (oo-013-claim-guard) on the owner's own tables.
    return [`GRANT CREATE SESSION, CREATE TABLE, CREATE TRIGGER TO ${user}`, `ALTER USER ${user} QUOTA UNLIMITED ON USERS`];
  }
  const out = [`GRANT CREATE SESSION TO ${user}`];
  for (const entry of dataRights(options.roles)) {
    // Oracle grants SELECT per table only, not per column.
    out.push(`GRANT ${privilegeList(entry, column, false)} ON ${table(entry.table)} TO ${user}`);
  }
  // The program names tables without an owner; private synonyms make the owner's tables visible under those names.
  for (const entry of dataRights(options.roles)) {
    out.push(`CREATE OR REPLACE SYNONYM ${user}.${dq(oracleIdentifier(entry.table))} FOR ${table(entry.table)}`);
  }
  return out;
}

/** Tables a non-admin role needs to exist before its grants can run. */
export function tablesNeeded(roles: readonly Role[]): string[] {
  return roles.includes('admin') ? [] : mergeRoles(roles).map((entry) => entry.table);
}
