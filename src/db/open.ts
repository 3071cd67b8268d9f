/**
 * Opening a database from a connection string: the one place that joins the parser, the
 * dialect and the driver. Everything above works with a `Store`.
 */
import type { Kysely } from 'kysely';
import { assertDriverAvailable, describeConnection, parseConnectionString, type ConnectionConfig } from '../config/connection-string.js';
import { DatabaseError, isUserFacingError } from '../errors.js';
import { dialectFor, type Dialect } from './dialects/index.js';
import type { Database } from './types.js';

/** An open database: the query builder, its dialect and what it was opened with. */
export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  config: ConnectionConfig;
}

/**
 * Opens (lazily: drivers connect on the first query) the database a connection string names.
 *
 * @example
 *   const store = openStore('sqlite+pysqlite:///orchestrator.db');
 *   try { ... } finally { await closeStore(store); }
 */
export function openStore(connectionString: string): Store {
  const config = parseConnectionString(connectionString);
  assertDriverAvailable(config);
  const dialect = dialectFor(config.dialect);
  return { db: dialect.createKysely(config), dialect, config };
}

export async function closeStore(store: Store): Promise<void> {
  await store.db.destroy();
}

const DRIVER_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused; is the database server running and listening there?',
  ENOTFOUND: 'host not found; check the host name',
  ETIMEDOUT: 'connection timed out; check the host, port and firewall',
  ECONNRESET: 'the server closed the connection',
  '28P01': 'password authentication failed; check the user name and password',
  '28000': 'the server refused this login; check the user name and password',
  '3D000': 'the database does not exist; create it first',
  ER_ACCESS_DENIED_ERROR: 'access denied; check the user name and password',
  ER_BAD_DB_ERROR: 'the database does not exist; create it first',
  ER_DBACCESS_DENIED_ERROR: 'this login may not use that database',
  SQLITE_CANTOPEN: 'cannot open the SQLite file; check that its folder exists and is writable',
  SQLITE_BUSY: 'the SQLite file stayed locked by another process longer than the busy timeout',
  SQLITE_READONLY: 'the SQLite file is read-only for this user',
};

/**
 * Turns a driver error into a one-line DatabaseError that names the server but never the
 * password. User-facing errors of our own pass through unchanged.
 */
export function toDatabaseError(error: unknown, config: ConnectionConfig): Error {
  if (isUserFacingError(error)) return error;
  const err = error as { code?: string; message?: string };
  const where = describeConnection(config);
  const known = err.code ? DRIVER_CODES[err.code] : undefined;
  let detail = known ?? String(err.message ?? error).split('\n')[0] ?? 'unknown error';
  if (config.password) detail = detail.split(config.password).join('***');
  return new DatabaseError(`database error (${where}): ${detail}`);
}
