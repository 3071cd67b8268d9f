/**
 * The ODBC transport: Kysely over the npm package `odbc` (bindings to the system's ODBC driver
 * manager: unixODBC on Linux, the one built into Windows). It carries the SQL a dialect writes to
 * whatever ODBC driver the connection string names (a DSN names its own driver, server, database
 * and encryption). The SQL is the dialect's, the same as over the dialect's own Node driver; only
 * the placeholders are ODBC's `?`. Transport × dialect: which bytes, and how they travel.
 *
 * Production sends SQL Server's ODBC forms through it (a DSN, `odbc_connect`, Windows login);
 * the tests prove it with the other dialects' ODBC drivers against live servers (psqlODBC,
 * MariaDB Connector/ODBC, SQLite's), which is why it knows their query compilers too.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type * as Odbc from 'odbc';
import type * as Tarn from 'tarn';
import {
  CompiledQuery,
  Kysely,
  MssqlAdapter,
  MssqlIntrospector,
  MssqlQueryCompiler,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect as KyselyDialect,
  type DialectAdapter,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { DialectName } from '../../config/connection-string.js';
import { formatNaive } from '../../time/clock.js';
import type { Database } from '../types.js';

// Loaded when an ODBC connection is opened: most installations never need it.
const load = createRequire(import.meta.url);

/** The dialects whose SQL the transport can carry (Oracle has its own driver only). */
export type OdbcSqlDialect = Exclude<DialectName, 'oracle'>;

/**
 * What one ODBC connection runs: `sql` with `?` placeholders and plain parameters. Given to the
 * `onConnect` check, which runs before a new connection serves anything.
 */
export type OdbcQuery = (sql: string, parameters?: readonly unknown[]) => Promise<Record<string, unknown>[]>;

export interface OdbcTransportOptions {
  /** the ODBC connection string; holds the password: never logged */
  connectionString: string;
  /** seconds a login may take (the driver's SQL_ATTR_LOGIN_TIMEOUT) */
  loginTimeoutSeconds: number;
  /** connections kept open at most (default 10, as the other dialects' pools) */
  maxConnections?: number;
  /** runs once on each new connection; a throw refuses the connection (and fails the query that wanted it) */
  onConnect?: (query: OdbcQuery) => Promise<void>;
  /**
   * How a Date parameter is written (ODBC binds text): SQL Server's DATETIME reads at most
   * three digits of a second, and the others take the naive text the store writes.
   */
  formatDate?: (date: Date) => string;
  /**
   * For drivers without SQLDescribeParam (FreeTDS), which the `odbc` package calls for every `?`:
   * writes the statement's parameters into it as the dialect's literals. Used only on a
   * connection whose driver lacks that function; without it such a driver fails every
   * statement with parameters.
   */
  inlineParameters?: (sql: string, parameters: readonly unknown[]) => string;
}

/** ODBC placeholders: `?` where the dialect's own driver numbers them (`@1`, `$1`). */
class OdbcMssqlQueryCompiler extends MssqlQueryCompiler {
  protected override getCurrentParameterPlaceholder(): string {
    return '?';
  }
}
class OdbcPostgresQueryCompiler extends PostgresQueryCompiler {
  protected override getCurrentParameterPlaceholder(): string {
    return '?';
  }
}

const SQL: Record<OdbcSqlDialect, { adapter: () => DialectAdapter; compiler: () => QueryCompiler; introspector: (db: Kysely<unknown>) => DatabaseIntrospector }> = {
  mssql: { adapter: () => new MssqlAdapter(), compiler: () => new OdbcMssqlQueryCompiler(), introspector: (db) => new MssqlIntrospector(db) },
  postgres: { adapter: () => new PostgresAdapter(), compiler: () => new OdbcPostgresQueryCompiler(), introspector: (db) => new PostgresIntrospector(db) },
  mysql: { adapter: () => new MysqlAdapter(), compiler: () => new MysqlQueryCompiler(), introspector: (db) => new MysqlIntrospector(db) },
  sqlite: { adapter: () => new SqliteAdapter(), compiler: () => new SqliteQueryCompiler(), introspector: (db) => new SqliteIntrospector(db) },
};

/**
 * A Kysely instance that speaks `dialect`'s SQL over ODBC. Connects lazily, on the first query.
 *
 * @example
 *   const db = odbcKysely('mssql', { connectionString: 'DSN=oo_dsn;UID=oo;PWD=pw', loginTimeoutSeconds: 15 });
 */
export function odbcKysely(dialect: OdbcSqlDialect, options: OdbcTransportOptions): Kysely<Database> {
  const sql = SQL[dialect];
  const kyselyDialect: KyselyDialect = {
    createAdapter: sql.adapter,
    createDriver: () => new OdbcDriver(options),
    createQueryCompiler: sql.compiler,
    createIntrospector: sql.introspector,
  };
  return new Kysely<Database>({ dialect: kyselyDialect });
}

/**
 * Whether `error` came from the ODBC driver manager or a driver. Such errors carry the
 * driver's diagnostics: `code` (the SQLSTATE), `number` (the server's own error number, as
 * tedious names it) and the driver's message; `connecting` when it happened while logging in.
 */
export function isOdbcError(error: unknown): error is OdbcError {
  return error instanceof OdbcError;
}

/** A failure the ODBC layer reported, with its first diagnostic record. */
export class OdbcError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly number: number,
    readonly connecting: boolean,
  ) {
    super(message);
    this.name = 'OdbcError';
  }
}

/** SQLSTATEs after which a connection is gone and must not go back to the pool. */
const CONNECTION_LOST = /^(?:08|HYT01)/;

/** The package's errors (`odbcErrors`, its own message says only "[odbc] Error ...") as an OdbcError. */
function odbcError(error: unknown, connecting: boolean): Error {
  const records = (error as { odbcErrors?: { state?: unknown; code?: unknown; message?: unknown }[] } | undefined)?.odbcErrors;
  const first = Array.isArray(records) ? records[0] : undefined;
  if (first === undefined) return error instanceof Error ? error : new Error(String(error));
  // The first record is the cause; the rest repeat it in general words ("Unable to connect to data source").
  const message = String(first.message ?? '').split('\n')[0] ?? '';
  return new OdbcError(message, String(first.state ?? ''), Number(first.code ?? 0), connecting);
}

type OdbcModule = typeof Odbc;

class OdbcDriver implements Driver {
  readonly #options: OdbcTransportOptions;
  #pool: Tarn.Pool<OdbcConnection> | undefined;

  constructor(options: OdbcTransportOptions) {
    this.#options = options;
  }

  async init(): Promise<void> {
    const odbc = load('odbc') as OdbcModule;
    const { Pool } = load('tarn') as typeof Tarn;
    const options = this.#options;
    this.#pool = new Pool<OdbcConnection>({
      min: 0,
      max: options.maxConnections ?? 10,
      // A refused login fails the query at once instead of retrying to the acquire timeout.
      propagateCreateError: true,
      create: async () => {
        let raw: Odbc.Connection;
        try {
          raw = await odbc.connect({ connectionString: options.connectionString, loginTimeout: options.loginTimeoutSeconds });
        } catch (error) {
          throw odbcError(error, true);
        }
        const connection = new OdbcConnection(raw, options.formatDate ?? formatNaive);
        try {
          if (options.inlineParameters !== undefined && !(await describesParameters(raw))) connection.inline = options.inlineParameters;
          await options.onConnect?.((text, parameters) => connection.rows(text, parameters ?? []));
        } catch (error) {
          await connection.close();
          throw error;
        }
        return connection;
      },
      destroy: (connection) => connection.close(),
      // A connection whose link broke is replaced rather than handed out again.
      validate: (connection) => !connection.lost,
    });
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#pool === undefined) throw new Error('the ODBC pool is not initialised');
    return this.#pool.acquire().promise;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await (connection as OdbcConnection).begin(settings);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as OdbcConnection).commit();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as OdbcConnection).rollback();
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    this.#pool?.release(connection as OdbcConnection);
  }

  async destroy(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.destroy();
  }
}

/** Whether the driver has SQLDescribeParam: the driver manager says IM001 ("does not support this function") when not. */
async function describesParameters(raw: Odbc.Connection): Promise<boolean> {
  try {
    await raw.query('SELECT ? AS p', [1]);
    return true;
  } catch (error) {
    const converted = odbcError(error, false);
    if (isOdbcError(converted) && converted.code === 'IM001') return false;
    throw converted;
  }
}

const ISOLATION: Record<string, keyof OdbcModule> = {
  'read uncommitted': 'SQL_TXN_READ_UNCOMMITTED',
  'read committed': 'SQL_TXN_READ_COMMITTED',
  'repeatable read': 'SQL_TXN_REPEATABLE_READ',
  serializable: 'SQL_TXN_SERIALIZABLE',
};

/** SQL_BIT: drivers hand it over as the text '1' or '0'. */
const SQL_BIT = -7;

class OdbcConnection implements DatabaseConnection {
  readonly #raw: Odbc.Connection;
  readonly #formatDate: (date: Date) => string;
  lost = false;
  /** set when the driver cannot describe parameters: they travel inside the statement */
  inline: ((sql: string, parameters: readonly unknown[]) => string) | undefined;

  constructor(raw: Odbc.Connection, formatDate: (date: Date) => string) {
    this.#raw = raw;
    this.#formatDate = formatDate;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#run(compiled.sql, compiled.parameters);
    const rows = this.#decode(result) as R[];
    // SQLRowCount: rows an INSERT, UPDATE or DELETE touched (-1 where a driver cannot tell).
    return result.count >= 0 ? { rows, numAffectedRows: BigInt(result.count) } : { rows };
  }

  // eslint-disable-next-line require-yield -- no caller streams; a clear refusal beats a silent full fetch
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported over ODBC');
  }

  /** Runs `sql` and returns its rows decoded; for the connect check. */
  async rows(sql: string, parameters: readonly unknown[]): Promise<Record<string, unknown>[]> {
    return this.#decode(await this.#run(sql, parameters));
  }

  async begin(settings: TransactionSettings): Promise<void> {
    await this.#call(async () => {
      const level = settings.isolationLevel === undefined ? undefined : ISOLATION[settings.isolationLevel];
      if (level !== undefined) await this.#raw.setIsolationLevel((load('odbc') as OdbcModule)[level] as number);
      await this.#raw.beginTransaction();
    });
  }

  async commit(): Promise<void> {
    await this.#call(() => this.#raw.commit());
  }

  async rollback(): Promise<void> {
    await this.#call(() => this.#raw.rollback());
  }

  async close(): Promise<void> {
    try {
      await this.#raw.close();
    } catch {
      // Closing a connection whose server is gone fails; it is gone either way.
    }
  }

  async #run(sql: string, parameters: readonly unknown[]): Promise<Odbc.Result<Record<string, unknown>>> {
    const values = parameters.map((value) => this.#encode(value));
    const inline = this.inline;
    if (values.length > 0 && inline !== undefined) return this.#call(() => this.#raw.query<Record<string, unknown>>(inline(sql, values)));
    return this.#call(() => (values.length === 0 ? this.#raw.query<Record<string, unknown>>(sql) : this.#raw.query<Record<string, unknown>>(sql, values as (string | number)[])));
  }

  async #call<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      const converted = odbcError(error, false);
      if (isOdbcError(converted) && CONNECTION_LOST.test(converted.code)) this.lost = true;
      throw converted;
    }
  }

  /** ODBC binds text, numbers and null; the dialects also hand over booleans and Dates. */
  #encode(value: unknown): unknown {
    if (value === undefined) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (value instanceof Date) return this.#formatDate(value);
    if (typeof value === 'bigint') return value.toString();
    return value;
  }

  /** Plain row objects: BIT as boolean, BIGINT as a number when it fits (as text when not). */
  #decode(result: Odbc.Result<Record<string, unknown>>): Record<string, unknown>[] {
    const bits = (result.columns ?? []).filter((column) => column.dataType === SQL_BIT).map((column) => column.name);
    return Array.from(result, (row) => {
      const out: Record<string, unknown> = { ...row };
      for (const [key, value] of Object.entries(out)) {
        if (typeof value === 'bigint') out[key] = Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
      }
      for (const name of bits) if (out[name] !== null && out[name] !== undefined) out[name] = out[name] === true || String(out[name]) === '1';
      return out;
    });
  }
}

/**
 * The Driver line of a data source in the odbc.ini files unixODBC reads (the user's: $ODBCINI or
 * ~/.odbc.ini, then the system's: $ODBCSYSINI/odbc.ini or /etc/odbc.ini), or undefined.
 */
function dataSourceDriver(dsn: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  const files = [process.env.ODBCINI ?? join(homedir(), '.odbc.ini'), join(process.env.ODBCSYSINI ?? '/etc', 'odbc.ini')];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    let inSection = false;
    for (const line of text.split(/\r?\n/)) {
      const section = /^\s*\[(.*)\]\s*$/.exec(line);
      if (section) inSection = (section[1] ?? '').trim().toLowerCase() === dsn.toLowerCase();
      const driver = inSection ? /^\s*driver\s*=\s*(.*?)\s*$/i.exec(line)?.[1] : undefined;
      if (driver) return driver;
    }
  }
  return undefined;
}

/**
 * The one line for an ODBC failure: what the driver manager or driver said, and for the usual
 * setup mistakes (a DSN that does not exist, a driver that is not installed, a refused login or
 * certificate) what to fix. `target` names the DSN or driver the connection string gave.
 *
 * @example
 *   odbcFailure(error, { dsn: 'oo_dsn' });
 *   // 'the ODBC data source "oo_dsn" does not exist (... Data source name not found ...); define it in odbc.ini ...'
 */
export function odbcFailure(error: OdbcError, target: { dsn?: string; driver?: string }): string {
  const said = error.message;
  const where = process.platform === 'win32' ? 'in the ODBC Data Source Administrator (odbcad32.exe)' : 'in odbc.ini (`odbcinst -j` shows which files unixODBC reads; `odbcinst -q -s` lists the DSNs)';
  const install =
    process.platform === 'win32'
      ? 'install Microsoft ODBC Driver 18 (or 17) for SQL Server'
      : 'install it (Debian/Ubuntu: msodbcsql18 from Microsoft\'s package repository, or tdsodbc for FreeTDS) and check `odbcinst -q -d`';
  if (error.code === 'IM002') {
    // unixODBC says "data source not found" also when the DSN is there but its driver is not.
    const driver = target.dsn === undefined ? undefined : dataSourceDriver(target.dsn);
    if (driver !== undefined) return `the ODBC data source "${target.dsn}" names the driver "${driver}", which is not installed (${said}); ${install}, or change the data source's Driver line`;
    if (target.dsn !== undefined) return `the ODBC data source "${target.dsn}" does not exist (${said}); define it ${where}, or fix the name in the connection string`;
    return `the ODBC driver manager found no data source and no driver (${said}); name the driver with ?driver=... (or DRIVER={...} in odbc_connect), or a DSN`;
  }
  // unixODBC: "Can't open lib 'X' : file not found" (01000); Windows: IM003 "Specified driver could not be loaded".
  const lib = /Can't open lib '([^']*)'/.exec(said)?.[1];
  if (lib !== undefined || error.code === 'IM003') {
    const name = target.driver ?? lib ?? 'it names';
    const via = target.dsn !== undefined ? ` (named by the data source "${target.dsn}")` : '';
    return `the ODBC driver "${name}"${via} is not installed or cannot be loaded (${said}); ${install}, or name an installed driver`;
  }
  // SQLSTATE 28000; FreeTDS reports SQL Server's "Login failed" (error 18456) as 42000.
  if (error.code === '28000' || (error.connecting && (error.number === 18456 || /Login failed/i.test(said)))) {
    return `the server refused this login (${said}); check the user name and password in the connection string${target.dsn === undefined ? '' : ` and those the data source "${target.dsn}" gives`}`;
  }
  if (/certificate|SSL Provider|TLS|ssl/i.test(said) && error.connecting) {
    return `the ODBC driver refused the server's TLS certificate (${said}); install the CA that signed it on this machine, or add TrustServerCertificate=yes to accept it unchecked (Encrypt=no for a server without TLS)`;
  }
  if (error.connecting && /^(?:08|HYT00)/.test(error.code)) {
    const of = target.dsn !== undefined ? `the server the data source "${target.dsn}" names` : 'the server';
    return `could not reach ${of} (${said}); check its host, port and firewall, and that it is running`;
  }
  return said;
}
