import { createRequire } from 'node:module';
import type * as Tarn from 'tarn';
import type * as Tedious from 'tedious';
import { Kysely, MssqlDialect, sql } from 'kysely';
import { DEFAULT_POOL_SIZE, type ConnectionConfig } from '../../config/connection-string.js';
import type { Database } from '../types.js';
import type { ColumnType, Dialect } from './dialect.js';
import { canonicalUuid, dateFromDatabase, uuidFromDatabase } from './encoding.js';
import { connectTimeoutMs } from './tls.js';
import { newElementsOfQueue } from './queue-probe.js';

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

export const mssqlDialect: Dialect = {
  name: 'mssql',
  maxBindParams: 2_000, // SQL Server's hard limit is 2100 parameters per request
  maxRowsPerInsert: 1_000, // SQL Server's limit for a VALUES list
  paging: 'offset-fetch',

  createKysely(config: ConnectionConfig): Kysely<Database> {
    const tarn = load('tarn') as typeof Tarn;
    const tedious = load('tedious') as typeof Tedious;
    return new Kysely<Database>({
      dialect: new MssqlDialect({
        // propagateCreateError: a refused connection fails the query at once; tarn would
        // otherwise retry until its 30 s acquire timeout and report only "timeout".
        tarn: { ...tarn, options: { min: 0, max: config.poolSize ?? DEFAULT_POOL_SIZE, propagateCreateError: true } },
        tedious: { ...tedious, connectionFactory: () => new tedious.Connection(tediousConfig(config)) },
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
  decodeDate: dateFromDatabase,

  addColumnSql: (table, definition) => `ALTER TABLE [${table}] ADD ${definition}`,
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
  async listIndexes(db, table) {
    // A heap's row in sys.indexes has no name; OBJECT_ID needs the schema-qualified, quoted name.
    const result = await sql<{ name: string }>`
      SELECT name FROM sys.indexes
      WHERE object_id = OBJECT_ID(QUOTENAME(SCHEMA_NAME()) + '.' + QUOTENAME(${table})) AND name IS NOT NULL`.execute(db);
    return result.rows.map((row) => row.name);
  },
  listEnumValues: async () => undefined,

  async claimQueueElement(db, { queueName, reference, startDate }) {
    // READPAST skips rows other sessions hold; UPDLOCK keeps the chosen row until the UPDATE.
    const result = await sql<Record<string, unknown>>`
      WITH next AS (
        SELECT TOP (1) * FROM [Queues] WITH (ROWLOCK, UPDLOCK, READPAST)
        WHERE queue_name = ${queueName} AND status = 'NEW'
        ${reference === undefined ? sql`` : sql`AND reference = ${reference}`}
        -- created_date alone, as the Python client orders: the index yields the first row
        -- directly instead of sorting every New element on each claim.
        ORDER BY created_date
      )
      UPDATE next SET status = 'IN_PROGRESS', start_date = ${startDate}
      OUTPUT inserted.*`.execute(db);
    return result.rows[0];
  },

  // Not used: SQL Server has no LISTEN/NOTIFY (Service Broker is a different, heavier thing).
  newElementsSql: (queueName, limit) => newElementsOfQueue(queueName, limit, { newStatus: 'equality', paging: 'offset-fetch' }),
  notifyExpression: () => undefined,
  changeProbeSql: () => undefined,
  carryHeartbeat: () => undefined,
};
