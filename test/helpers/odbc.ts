/**
 * ODBC data sources defined by a test, and stores that reach the live test servers through them.
 *
 * The DSNs live in an odbc.ini of the test's own, in a temporary folder, which unixODBC reads as
 * the user's data sources through ODBCINI; the drivers are the machine's (odbcinst.ini, installed
 * by .ci/run: odbc-postgresql, odbc-mariadb, libsqliteodbc, tdsodbc). Set ODBCINI before the first
 * ODBC connection of the process: vitest runs each test file in a process of its own.
 *
 * Production sends only SQL Server through ODBC; there is no SQL Server here, so these stores pair
 * the ODBC transport with the PostgreSQL, MySQL and SQLite dialects (transport × dialect, see
 * src/db/dialects/odbc.ts) to prove the transport itself against real drivers and servers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pyodbcTarget, parseConnectionString } from '../../src/config/connection-string.js';
import { closeStore, type Store } from '../../src/db/open.js';
import { dialectFor } from '../../src/db/dialects/index.js';
import { odbcKysely, type OdbcTransportOptions } from '../../src/db/dialects/odbc.js';
import type { LiveDialect, TestDatabase } from './databases.js';

export interface OdbcIni {
  /** the odbc.ini file ODBCINI names */
  file: string;
  /** removes the folder and restores ODBCINI */
  remove(): void;
}

/**
 * Writes `sources` as an odbc.ini and points ODBCINI at it.
 *
 * @example
 *   const ini = defineDataSources({ oo_pg: { Driver: 'PostgreSQL Unicode', Servername: '127.0.0.1', Database: 'oo' } });
 */
export function defineDataSources(sources: Record<string, Record<string, string>>): OdbcIni {
  const dir = mkdtempSync(join(tmpdir(), 'oo-odbc-'));
  const file = join(dir, 'odbc.ini');
  const text = Object.entries(sources)
    .map(([name, keys]) => `[${name}]\n${Object.entries(keys).map(([key, value]) => `${key} = ${value}`).join('\n')}\n`)
    .join('\n');
  writeFileSync(file, text);
  const before = process.env.ODBCINI;
  process.env.ODBCINI = file;
  return {
    file,
    remove: () => {
      if (before === undefined) delete process.env.ODBCINI;
      else process.env.ODBCINI = before;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The data source for a test database: the server, database and login it names, with the
 * settings the store needs from each driver (PostgreSQL booleans as SQL_BIT, MariaDB's matched
 * rather than changed row count, as mysql2 reports it; SQLite's busy timeout).
 */
export function dataSourceFor(database: TestDatabase): Record<string, string> {
  const url = parseConnectionString(database.url);
  switch (database.dialect) {
    case 'postgres':
      return { Driver: 'PostgreSQL Unicode', Servername: url.host ?? '127.0.0.1', Port: String(url.port ?? 5432), Database: url.database ?? '', Username: url.user ?? '', BoolsAsChar: '0' };
    case 'mysql':
      return { Driver: 'MariaDB Unicode', Server: url.host ?? '127.0.0.1', Port: String(url.port ?? 3306), Database: url.database ?? '', User: url.user ?? '', Option: '2' };
    case 'sqlite':
      return { Driver: 'SQLite3', Database: url.filename ?? '', Timeout: '30000' };
  }
}

/**
 * A Store on `database` through the DSN `dsn`, with the dialect of the database and the ODBC
 * connection string pyodbc would make from `mssql+pyodbc://user:password@dsn`.
 *
 * @example
 *   const store = openOdbcStore(pg, 'oo_pg', { user: 'postgres' });
 */
export function openOdbcStore(
  database: TestDatabase,
  dsn: string,
  login: { user?: string; password?: string } = {},
  options: Partial<OdbcTransportOptions> = {},
): Store {
  const dialect: LiveDialect = database.dialect;
  const odbc = pyodbcTarget({ host: dsn, user: login.user, password: login.password, query: {} });
  const config = { ...parseConnectionString(database.url), nodeDriver: 'odbc', host: dsn, odbc };
  return { db: odbcKysely(dialect, { connectionString: odbc.connectionString, loginTimeoutSeconds: 10, ...options }), dialect: dialectFor(dialect), config };
}

export { closeStore };
