import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Tarn from 'tarn';
import type * as Tedious from 'tedious';
import { Kysely, MssqlDialect, sql } from 'kysely';
import { DEFAULT_POOL_SIZE, describeConnection, type ConnectionConfig } from '../../config/connection-string.js';
import { ConnectionStringError, DatabaseError } from '../../errors.js';
import { formatNaive } from '../../time/clock.js';
import type { Database } from '../types.js';
import { CLAIM_GUARD_MARK, type ColumnType, type Dialect } from './dialect.js';
import { canonicalUuid, dateFromDatabase, uuidFromDatabase } from './encoding.js';
import { odbcKysely, type OdbcQuery } from './odbc.js';
import { connectTimeoutMs } from './tls.js';
import { newElementsOfQueue } from './queue-probe.js';
import { fitsInUtf16Units } from './text-length.js';

// Loaded when a SQL Server database is opened, not when the program starts: every robot
// imports the dialects, and most never talk to SQL Server.
const load = createRequire(import.meta.url);

const ENUM_WIDTH = { loglevel: 5, queuestatus: 11, triggerstatus: 7, triggertype: 9, jobstatus: 7 } as const;

/**
 * tedious's options for `config`. `config.tls` carries ODBC's Encrypt/TrustServerCertificate:
 * `off` encrypts the login only (as ODBC's Encrypt=no), `encrypt` trusts any certificate,
 * `verify-full` checks the chain and the host name (strict adds TDS 8).
 */
export function tediousConfig(config: ConnectionConfig): Tedious.ConnectionConfiguration {
  const mode = config.tls?.mode ?? 'verify-full';
  return {
    server: config.host ?? 'localhost',
    authentication: { type: 'default', options: { userName: config.user, password: config.password } },
    options: {
      database: config.database,
      // A named instance (host\\INSTANCE) is found through the SQL Browser; tedious takes a port or an instance, not both.
      ...(config.mssql?.instanceName ? { instanceName: config.mssql.instanceName } : { port: config.port ?? 1433 }),
      // Naive local datetimes: tedious must not shift them to UTC.
      useUTC: false,
      encrypt: config.tls?.strict ? 'strict' : mode !== 'off',
      // With Encrypt=no only the login is encrypted, and ODBC does not check that certificate.
      trustServerCertificate: mode === 'encrypt' || mode === 'off',
      connectTimeout: connectTimeoutMs(config),
    },
  };
}

/** SQL Server's own databases: a login whose default database is one of them lands there. */
export const SYSTEM_DATABASES: readonly string[] = ['master', 'msdb', 'tempdb', 'model'];

/**
 * The refusal of a connection that landed in a system database (a DSN or login without a
 * database lands in the login's default one, usually master), or undefined for any other.
 *
 * @example
 *   systemDatabaseRefusal('master', parseConnectionString('mssql+pyodbc://oo:pw@oo_dsn'));
 *   // 'database error (mssql via ODBC DSN "oo_dsn" (user oo)): this connection landed in SQL Server's system database master, ...'
 */
export function systemDatabaseRefusal(name: unknown, config: ConnectionConfig): string | undefined {
  const database = typeof name === 'string' ? name.trim() : '';
  if (!SYSTEM_DATABASES.includes(database.toLowerCase())) return undefined;
  const fix =
    config.odbc?.dsn !== undefined
      ? `add Database=<name> to the data source "${config.odbc.dsn}" (odbc.ini, or the ODBC Data Source Administrator on Windows)`
      : config.odbc !== undefined && config.host === undefined
        ? 'add Database=<name> to odbc_connect'
        : 'write the database after the host, e.g. mssql+pyodbc://user:password@host:1433/<name>?driver=...';
  return `database error (${describeConnection(config)}): this connection landed in SQL Server's system database ${database}, where OpenOrchestrator creates and changes no tables: ${fix}, or give the login that default database`;
}

/** Refuses the connection when it landed in a system database; runs once per new connection. */
async function refuseSystemDatabase(query: OdbcQuery, config: ConnectionConfig): Promise<void> {
  const rows = await query('SELECT DB_NAME() AS name');
  const refusal = systemDatabaseRefusal(rows[0]?.name, config);
  if (refusal !== undefined) throw new DatabaseError(refusal);
}

/**
 * tedious's connections, each checked once logged in: the same check as over ODBC, through a
 * plain tedious request before Kysely hands the connection to anyone.
 */
function checkedTediousConnection(tedious: typeof Tedious, config: ConnectionConfig): Tedious.Connection {
  const connection = new tedious.Connection(tediousConfig(config));
  const connect = connection.connect.bind(connection);
  const query: OdbcQuery = (text) =>
    new Promise((resolve, reject) => {
      const rows: Record<string, unknown>[] = [];
      const request = new tedious.Request(text, (error) => (error ? reject(error) : resolve(rows)));
      request.on('row', (columns: { metadata: { colName: string }; value: unknown }[]) => rows.push(Object.fromEntries(columns.map((c) => [c.metadata.colName, c.value]))));
      connection.execSql(request);
    });
  connection.connect = (callback?: (error?: Error) => void) =>
    connect((error?: Error) => {
      if (error) return callback?.(error);
      refuseSystemDatabase(query, config).then(
        () => callback?.(),
        (refusal: unknown) => {
          // The refusal first: closing ends the connection, which Kysely reports in general words.
          callback?.(refusal as Error);
          connection.close();
        },
      );
    });
  return connection;
}

/**
 * Why a Windows integrated login (`Trusted_Connection=Yes`) cannot be made here, or undefined
 * when it can be tried. On Windows the ODBC driver logs in as the user running the program
 * (SSPI); elsewhere a driver's integrated login is Kerberos (Microsoft's ODBC Driver 17/18 and
 * FreeTDS both), which needs a ticket: without one the attempt could only fail, or worse.
 *
 * @example
 *   integratedLoginUnavailable('linux', () => false); // 'this connection string asks for a Windows integrated login ...'
 */
export function integratedLoginUnavailable(platform: string = process.platform, hasTicket: () => boolean = kerberosTicket): string | undefined {
  if (platform === 'win32' || hasTicket()) return undefined;
  return (
    `this connection string asks for a Windows integrated login (it has no user name), which on ${platform} is Kerberos, and this user has no Kerberos ticket ` +
    '(klist -s finds none): run kinit user@YOUR.DOMAIN first and use Microsoft\'s ODBC Driver 18 for SQL Server (msodbcsql18), ' +
    'or log in with a SQL login: mssql+pyodbc://user:password@dsnname, or mssql+pyodbc://user:password@server:1433/database?driver=ODBC+Driver+18+for+SQL+Server'
  );
}

/** Whether this user holds a Kerberos ticket: `klist -s`, or without klist the default file cache. */
function kerberosTicket(): boolean {
  const klist = spawnSync('klist', ['-s'], { stdio: 'ignore', timeout: 5_000 });
  if (klist.error === undefined) return klist.status === 0;
  const cache = process.env.KRB5CCNAME ?? `FILE:/tmp/krb5cc_${process.getuid?.() ?? 0}`;
  if (/^FILE:/i.test(cache)) return existsSync(cache.slice(5));
  // Another cache type (KEYRING, KCM, ...) cannot be read without klist: the driver will tell.
  return cache.includes(':') || existsSync(cache);
}

/**
 * `sql` with each `?` placeholder replaced by the T-SQL literal of its parameter, for ODBC drivers
 * that cannot describe parameters (FreeTDS). Text becomes `N'...'` with `'` doubled, T-SQL's one
 * escape; numbers, NULL and `0x` bytes as written. Placeholders count only outside literals,
 * quoted names and comments, and a count that differs from the parameters is refused, never guessed.
 *
 * @example
 *   inlineTsqlParameters("SELECT [a?] FROM t WHERE x = ? AND y = ?", ["it's", 5]); // "SELECT [a?] FROM t WHERE x = N'it''s' AND y = 5"
 */
export function inlineTsqlParameters(text: string, parameters: readonly unknown[]): string {
  let out = '';
  let used = 0;
  let i = 0;
  while (i < text.length) {
    const end = skipQuotedOrComment(text, i);
    if (end > i) {
      out += text.slice(i, end);
      i = end;
    } else if (text[i] === '?') {
      if (used >= parameters.length) throw new DatabaseError(`a statement has more ? placeholders than its ${parameters.length} parameters`);
      out += tsqlLiteral(parameters[used++]);
      i += 1;
    } else {
      out += text[i];
      i += 1;
    }
  }
  if (used !== parameters.length) throw new DatabaseError(`a statement has ${used} ? placeholders for ${parameters.length} parameters`);
  return out;
}

/** The end of the literal, quoted name or comment starting at `i` (T-SQL's rules), or `i`. */
function skipQuotedOrComment(text: string, i: number): number {
  const c = text[i];
  if (c === "'" || c === '"' || c === '[') {
    const close = c === '[' ? ']' : c;
    for (let j = i + 1; ; ) {
      const k = text.indexOf(close, j);
      if (k < 0) return text.length;
      if (text[k + 1] !== close) return k + 1;
      j = k + 2; // a doubled closing character is part of the text
    }
  }
  if (c === '-' && text[i + 1] === '-') {
    const k = text.indexOf('\n', i);
    return k < 0 ? text.length : k;
  }
  if (c === '/' && text[i + 1] === '*') {
    // T-SQL block comments nest.
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      if (text[j] === '/' && text[j + 1] === '*') {
        depth += 1;
        j += 1;
      } else if (text[j] === '*' && text[j + 1] === '/') {
        depth -= 1;
        j += 1;
        if (depth === 0) return j + 1;
      }
    }
    return text.length;
  }
  return i;
}

function tsqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') return value < 0n ? `(${value})` : String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DatabaseError(`the number ${value} cannot be stored in SQL Server`);
    // In parentheses, so that a minus sign after another never makes a comment (--).
    return value < 0 ? `(${value})` : String(value);
  }
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex')}`;
  if (typeof value === 'string') {
    if (value.includes('\0')) throw new DatabaseError('text with a NUL character cannot be sent through this ODBC driver (it cannot bind parameters)');
    const body = value.replace(/'/g, "''");
    // SQL Server reads a backslash right before a line break inside a literal as a line
    // continuation and drops both, so such a backslash ends one literal and the line break starts
    // the next. The first is NVARCHAR(MAX), or the concatenation would be cut at 4,000 characters.
    const parts = body.split(/(?<=\\)(?=\r?\n)/);
    if (parts.length === 1) return `N'${body}'`;
    return `(${parts.map((part, n) => (n === 0 ? `CAST(N'${part}' AS NVARCHAR(MAX))` : `N'${part}'`)).join(' + ')})`;
  }
  throw new DatabaseError(`a value of type ${typeof value} cannot be sent through this ODBC driver`);
}

/** SQL Server's DATETIME reads at most three digits of a second from text; the ISO form reads the same in every language setting. */
function odbcDateText(date: Date): string {
  return formatNaive(date).slice(0, 23).replace(' ', 'T');
}

/** tedious's factor between milliseconds and DATETIME's 1/300 s ticks. */
const MS_PER_TICK = 3 + 1 / 3;

/**
 * A Date as a DATETIME keeps it: tedious sends the milliseconds of the day as whole 1/300 s
 * ticks (.012 -> 4 ticks) and reads ticks back as rounded milliseconds (4 ticks -> .013).
 * The same arithmetic as tedious, so the result is exactly what a round trip returns.
 */
export function roundToDatetime(value: Date): Date {
  const msOfDay = ((value.getHours() * 60 + value.getMinutes()) * 60 + value.getSeconds()) * 1000 + value.getMilliseconds();
  const kept = Math.round(Math.round(msOfDay / MS_PER_TICK) * MS_PER_TICK);
  return new Date(value.getTime() + (kept - msOfDay));
}

export const mssqlDialect: Dialect = {
  name: 'mssql',
  maxBindParams: 2_000, // SQL Server's hard limit is 2100 parameters per request
  maxRowsPerInsert: 1_000, // SQL Server's limit for a VALUES list
  paging: 'offset-fetch',
  textFit: fitsInUtf16Units,

  createKysely(config: ConnectionConfig): Kysely<Database> {
    // The transport: ODBC for a DSN, odbc_connect or a Windows login; tedious over TCP otherwise.
    if (config.odbc !== undefined) {
      const unavailable = config.odbc.trustedConnection ? integratedLoginUnavailable() : undefined;
      if (unavailable !== undefined) throw new ConnectionStringError(unavailable);
      return odbcKysely('mssql', {
        connectionString: config.odbc.connectionString,
        loginTimeoutSeconds: Math.ceil(connectTimeoutMs(config) / 1000),
        onConnect: (query) => refuseSystemDatabase(query, config),
        formatDate: odbcDateText,
        inlineParameters: inlineTsqlParameters,
      });
    }
    const tarn = load('tarn') as typeof Tarn;
    const tedious = load('tedious') as typeof Tedious;
    return new Kysely<Database>({
      dialect: new MssqlDialect({
        // propagateCreateError: a refused connection fails the query at once; tarn would
        // otherwise retry until its 30 s acquire timeout and report only "timeout".
        tarn: { ...tarn, options: { min: 0, max: config.poolSize ?? DEFAULT_POOL_SIZE, propagateCreateError: true } },
        tedious: { ...tedious, connectionFactory: () => checkedTediousConnection(tedious, config) },
      }),
    });
  },

  quote: (identifier) => `[${identifier.replace(/]/g, ']]')}]`,

  columnType(type: ColumnType): string {
    switch (type.kind) {
      case 'uuid':
        return 'UNIQUEIDENTIFIER';
      case 'string':
      case 'text':
        // NVARCHAR keeps characters outside the server's code page (SCHEMA.md allows it for new databases).
        return type.length > 4000 ? 'NVARCHAR(max)' : `NVARCHAR(${type.length})`;
      case 'integer':
        return 'INTEGER';
      case 'boolean':
        return 'BIT';
      case 'datetime':
        return 'DATETIME';
      case 'enum':
        return `VARCHAR(${ENUM_WIDTH[type.name]})`;
    }
  },

  encodeUuid: canonicalUuid,
  decodeUuid: uuidFromDatabase,
  encodeBool: (value) => value,
  encodeDate: (value) => value,
  roundDate: roundToDatetime,
  decodeDate: dateFromDatabase,

  addColumnSql: (table, definition) => `ALTER TABLE [${table}] ADD ${definition}`,
  dropIndexSql: (table, index) => `DROP INDEX [${index}] ON [${table}]`,
  // ALTER COLUMN restates the type: VARCHAR(n), as SQLAlchemy made the Python tools' text
  // columns (our NVARCHAR is for tables we create). A DEFAULT constraint stays bound.
  dropNotNull: (table, column, type) => [`ALTER TABLE [${table}] ALTER COLUMN [${column}] ${type.kind === 'string' ? `VARCHAR(${type.length})` : mssqlDialect.columnType(type)} NULL`],
  createEnumTypeSql: () => [],
  extendEnumSql: () => [],

  async listTables(db) {
    const result = await sql<{ name: string }>`
      SELECT TABLE_NAME AS name FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = SCHEMA_NAME()`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listColumns(db, table) {
    const result = await sql<{ name: string }>`
      SELECT COLUMN_NAME AS name FROM INFORMATION_SCHEMA.COLUMNS
      WHERE TABLE_SCHEMA = SCHEMA_NAME() AND TABLE_NAME = ${table}`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listNotNullColumns(db, table) {
    const result = await sql<{ name: string }>`
      SELECT COLUMN_NAME AS name FROM INFORMATION_SCHEMA.COLUMNS
      WHERE TABLE_SCHEMA = SCHEMA_NAME() AND TABLE_NAME = ${table} AND IS_NULLABLE = 'NO'`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listIndexes(db, table) {
    // A heap's row in sys.indexes has no name; OBJECT_ID needs the schema-qualified, quoted name.
    const result = await sql<{ name: string }>`
      SELECT name FROM sys.indexes
      WHERE object_id = OBJECT_ID(QUOTENAME(SCHEMA_NAME()) + '.' + QUOTENAME(${table})) AND name IS NOT NULL`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listTriggers(db) {
    const result = await sql<{ name: string }>`
      SELECT t.name FROM sys.triggers t JOIN sys.objects o ON o.object_id = t.parent_id WHERE o.schema_id = SCHEMA_ID()`.execute(db);
    return result.rows.map((row) => row.name);
  },
  // No BEFORE triggers: an AFTER trigger looks at the rows the statement changed and THROWs,
  // which rolls the statement (and its transaction) back. Error 50000 reaches ODBC as SQLSTATE
  // 42000, a ProgrammingError to pyodbc, which the Python Scheduler's loop outlives.
  claimGuardSql: ({ name, table, column, to, from, stamp, others, noun, key, detail, holder }) => {
    const named =
      detail === undefined
        ? `N'${CLAIM_GUARD_MARK}${noun} "', d.[${key}], N'"'`
        : `N'${CLAIM_GUARD_MARK}${noun} ', LOWER(CONVERT(NVARCHAR(36), d.[${key}])), N' (', COALESCE(d.[${detail}], N'no ${detail}'), N')'`;
    return [
      `CREATE TRIGGER [${name}] ON [${table}] AFTER UPDATE AS\n` +
        `BEGIN\n` +
        `  SET NOCOUNT ON;\n` +
        `  IF NOT (UPDATE([${column}]) OR UPDATE([${stamp}])) RETURN;\n` +
        `  DECLARE @refusal NVARCHAR(2048);\n` +
        `  SELECT TOP 1 @refusal = CONCAT(${named}, N' is ', d.[${column}], N': another ${holder} has it')\n` +
        `  FROM inserted i JOIN deleted d ON d.[id] = i.[id]\n` +
        `  WHERE i.[${column}] = '${to}' AND d.[${column}] <> '${from}' AND NOT (d.[${column}] = '${to}'\n` +
        `    AND NOT EXISTS (SELECT i.[${stamp}] EXCEPT SELECT d.[${stamp}]) AND EXISTS (SELECT ${others.map((o) => `i.[${o}]`).join(', ')} EXCEPT SELECT ${others.map((o) => `d.[${o}]`).join(', ')}));\n` +
        `  IF @refusal IS NOT NULL THROW 50000, @refusal, 1;\n` +
        `END`,
    ];
  },
  async estimateRows(db, table) {
    // The heap's or clustered index's partitions hold every row once.
    const result = await sql<{ n: number | string | null }>`
      SELECT SUM(p.rows) AS n FROM sys.partitions p
      WHERE p.object_id = OBJECT_ID(QUOTENAME(SCHEMA_NAME()) + '.' + QUOTENAME(${table})) AND p.index_id IN (0, 1)`.execute(db);
    const n = result.rows[0]?.n;
    return n === null || n === undefined ? undefined : Number(n);
  },
  listEnumValues: async () => undefined,

  async claimQueueElement(db, { queueName, reference, startDate }) {
    // READPAST skips rows other sessions hold; UPDLOCK keeps the chosen row until the UPDATE.
    const result = await sql<Record<string, unknown>>`
      WITH next AS (
        SELECT TOP (1) * FROM [Queues] WITH (ROWLOCK, UPDLOCK, READPAST)
        WHERE queue_name = ${queueName} AND status = 'NEW'
        ${reference === undefined ? sql`` : sql`AND reference = ${reference}`}
        -- Oldest first, ties by id: DATETIME keeps 1/300 s, so elements written a few ms apart
        -- tie, and every claimer must take them in the same order.
        ORDER BY created_date, id
      )
      UPDATE next SET status = 'IN_PROGRESS', start_date = ${startDate}
      OUTPUT inserted.*`.execute(db);
    return result.rows[0];
  },

  // Not used: SQL Server has no LISTEN/NOTIFY (Service Broker is a different, heavier thing).
  newElementsSql: (queueName, limit) => newElementsOfQueue(queueName, limit, { newStatus: 'equality', paging: 'offset-fetch' }),
  notifyExpression: () => undefined,
  changeProbeSql: () => undefined,
  // No change tracking: the Scheduler probes every queue trigger on each poll.
  trackingTriggers: [],
  trackingSql: () => [],
  carryHeartbeat: () => undefined,
};
