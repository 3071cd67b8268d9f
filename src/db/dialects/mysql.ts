import { createPool, type PoolConnection, type PoolOptions } from 'mysql2';
import { Kysely, MysqlDialect, sql } from 'kysely';
import { DEFAULT_POOL_SIZE, type ConnectionConfig } from '../../config/connection-string.js';
import { formatNaive } from '../../time/clock.js';
import { ALL_TABLE_NAMES, ENUM_VALUES } from '../schema/tables.js';
import type { Database } from '../types.js';
import { CLAIM_GUARD_MARK, type ColumnType, type Dialect } from './dialect.js';
import { dateFromDatabase, uuidFromDatabase, uuidToHex } from './encoding.js';
import { claimQueueElementMysql } from './mysql-claim.js';
import { isPrepared } from './prepared.js';
import { connectTimeoutMs, nodeTlsOptions } from './tls.js';
import { newElementsOfQueue } from './queue-probe.js';
import { fitsInCharacters } from './text-length.js';
import { mysqlTrackingSql, trackingTriggerNames } from './change-tracking.js';

/**
 * With lower_case_table_names=1 (the default on Windows) the server stores `Triggers` as
 * `triggers`; queries still work, as names are compared without case. Maps such a catalog name
 * back to ours, so that `upgrade` recognises the tables it or the Python tool made.
 */
export function mysqlTableName(name: string, foldsCase: boolean): string {
  if (!foldsCase) return name;
  return ALL_TABLE_NAMES.find((known) => known.toLowerCase() === name.toLowerCase()) ?? name;
}

/** `table_name` names `table`, also where the server stored it in lower case. */
const tableIs = (table: string) => sql`(table_name = ${table} OR (@@lower_case_table_names = 1 AND table_name = ${table.toLowerCase()}))`;

/**
 * mysql2's pool options for `config`; reads the TLS files it names (call it when opening).
 * mysql2 refuses a server without TLS when `ssl` is set, so asking for TLS fails closed.
 */
export function mysqlPoolConfig(config: ConnectionConfig): PoolOptions {
  const tls = nodeTlsOptions(config.tls, { cert: 'ssl_cert', key: 'ssl_key' });
  return {
    host: config.host,
    port: config.port ?? 3306,
    ...(config.host === undefined && config.query.unix_socket ? { socketPath: config.query.unix_socket } : {}),
    database: config.database,
    user: config.user,
    password: config.password,
    connectionLimit: config.poolSize ?? DEFAULT_POOL_SIZE,
    // A person's small pool in team mode keeps at most one connection while nobody uses it.
    ...(config.poolSize !== undefined ? { maxIdle: 1 } : {}),
    connectTimeout: connectTimeoutMs(config),
    // Naive DATETIME values stay text; the store parses them as local time.
    dateStrings: true,
    charset: 'utf8mb4',
    // mysql2 makes its own identity check from `verifyIdentity`, not from checkServerIdentity.
    ...(tls ? { ssl: { ...tls, verifyIdentity: config.tls?.mode === 'verify-full' } } : {}),
  };
}

type QueryFunction = (...args: unknown[]) => unknown;

/**
 * Runs the statements marked by `prepared` through mysql2's `execute`: prepared on the server once
 * per connection (mysql2 keeps them in a per-connection cache), then only their parameters travel.
 */
function executeMarkedStatements(connection: PoolConnection): void {
  const target = connection as unknown as { query: QueryFunction; execute: QueryFunction };
  const query = target.query.bind(connection);
  const execute = target.execute.bind(connection);
  target.query = (...args) => (args.length === 3 && isPrepared(args[0]) && Array.isArray(args[1]) && typeof args[2] === 'function' ? execute(...args) : query(...args));
}

export const mysqlDialect: Dialect = {
  name: 'mysql',
  maxBindParams: 65_535,
  maxRowsPerInsert: 5000,
  paging: 'limit-offset',
  textFit: fitsInCharacters,

  createKysely(config: ConnectionConfig): Kysely<Database> {
    const pool = createPool(mysqlPoolConfig(config));
    // mysql2 listens for a pooled connection's 'error' only once; a connection that the server
    // dropped (a restart) can emit it again when the next command meets it, and an unheard
    // 'error' would crash the process. The failing command itself reports the error.
    pool.on('connection', (connection) => {
      connection.on('error', () => undefined);
      executeMarkedStatements(connection);
    });
    return new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  },

  quote: (identifier) => `\`${identifier.replace(/`/g, '``')}\``,

  columnType(type: ColumnType): string {
    switch (type.kind) {
      case 'uuid':
        return 'CHAR(32)';
      case 'string':
      case 'text':
        return `VARCHAR(${type.length})`;
      case 'integer':
        return 'INTEGER';
      case 'boolean':
        return 'BOOL';
      case 'datetime':
        // Plain DATETIME drops fractions of a second; new databases keep them (SCHEMA.md).
        return 'DATETIME(6)';
      case 'enum':
        return `ENUM(${ENUM_VALUES[type.name].map((v) => `'${v}'`).join(',')})`;
    }
  },

  encodeUuid: uuidToHex,
  decodeUuid: uuidFromDatabase,
  encodeBool: (value) => (value ? 1 : 0),
  encodeDate: formatNaive,
  roundDate: (value) => value,
  decodeDate: dateFromDatabase,

  addColumnSql: (table, definition) => `ALTER TABLE \`${table}\` ADD COLUMN ${definition}`,
  dropIndexSql: (table, index) => `DROP INDEX \`${index}\` ON \`${table}\``,
  // MODIFY restates the whole column: its type as the Python tools made it, and its default.
  dropNotNull: (table, column, type, defaultSql) => [
    `ALTER TABLE \`${table}\` MODIFY \`${column}\` ${mysqlDialect.columnType(type)} NULL${defaultSql === undefined ? '' : ` DEFAULT ${defaultSql}`}`,
  ],
  createEnumTypeSql: () => [],
  extendEnumSql: (_name, table, column, nullable, values) => [
    `ALTER TABLE \`${table}\` MODIFY COLUMN \`${column}\` ENUM(${values.map((v) => `'${v}'`).join(',')}) ${nullable ? 'NULL' : 'NOT NULL'}`,
  ],

  async listTables(db) {
    const result = await sql<{ name: string; folds: number | string }>`
      SELECT table_name AS name, @@lower_case_table_names AS folds
      FROM information_schema.tables WHERE table_schema = DATABASE()`.execute(db);
    return result.rows.map((row) => mysqlTableName(row.name, Number(row.folds) === 1));
  },
  async listColumns(db, table) {
    const result = await sql<{ name: string }>`
      SELECT column_name AS name FROM information_schema.columns
      WHERE table_schema = DATABASE() AND ${tableIs(table)}`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listNotNullColumns(db, table) {
    const result = await sql<{ name: string }>`
      SELECT column_name AS name FROM information_schema.columns
      WHERE table_schema = DATABASE() AND ${tableIs(table)} AND is_nullable = 'NO'`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listIndexes(db, table) {
    // statistics has one row per indexed column; DISTINCT gives one per index.
    const result = await sql<{ name: string }>`
      SELECT DISTINCT index_name AS name FROM information_schema.statistics
      WHERE table_schema = DATABASE() AND ${tableIs(table)}`.execute(db);
    return result.rows.map((row) => row.name);
  },
  // No UPDATE OF on MySQL: the IF decides for every update of the table, with no query. SIGNAL
  // keeps 128 characters of message, so the names are cut to fit. Error 1644 is an
  // OperationalError to PyMySQL and mysqlclient, which the Python Scheduler's loop outlives.
  claimGuardSql: ({ name, table, column, to, from, stamp, others, noun, key, detail, holder }) => {
    const tail = ` is ', OLD.\`${column}\`, ': another ${holder} has it'`;
    const named =
      detail === undefined
        ? `'${CLAIM_GUARD_MARK}${noun} "', LEFT(OLD.\`${key}\`, 50), '"${tail}`
        : `'${CLAIM_GUARD_MARK}${noun} ', OLD.\`${key}\`, ' (', LEFT(COALESCE(OLD.\`${detail}\`, 'no ${detail}'), 24), ')${tail}`;
    return [
      `CREATE TRIGGER \`${name}\` BEFORE UPDATE ON \`${table}\` FOR EACH ROW\n` +
        `BEGIN\n` +
        `  DECLARE refusal VARCHAR(128);\n` +
        `  IF NEW.\`${column}\` = '${to}' AND OLD.\`${column}\` <> '${from}' AND NOT (OLD.\`${column}\` = '${to}' AND NEW.\`${stamp}\` <=> OLD.\`${stamp}\` AND NOT (${others.map((c) => `NEW.\`${c}\` <=> OLD.\`${c}\``).join(' AND ')})) THEN\n` +
        `    SET refusal = CONCAT(${named});\n` +
        `    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = refusal;\n` +
        `  END IF;\n` +
        `END`,
    ];
  },
  async estimateRows(db, table) {
    const result = await sql<{ n: number | string | null }>`
      SELECT table_rows AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND ${tableIs(table)}`.execute(db);
    const n = result.rows[0]?.n;
    return n === null || n === undefined ? undefined : Number(n);
  },
  async listEnumValues(db, _name, table, column) {
    const result = await sql<{ type: string }>`
      SELECT column_type AS type FROM information_schema.columns
      WHERE table_schema = DATABASE() AND ${tableIs(table)} AND column_name = ${column}`.execute(db);
    const type = result.rows[0]?.type;
    if (type === undefined || !/^enum\(/i.test(type)) return undefined;
    return [...type.matchAll(/'((?:[^']|'')*)'/g)].map((m) => (m[1] ?? '').replace(/''/g, "'"));
  },

  // Lives in its own file: the reference case needs more than one statement (see there).
  claimQueueElement: claimQueueElementMysql,

  // MySQL and MariaDB have no notification; Schedulers see changes by their due-time timer and poll.
  newElementsSql: (queueName, limit) => newElementsOfQueue(queueName, limit, { newStatus: 'equality', forceIndex: true, paging: 'limit-offset' }),
  notifyExpression: () => undefined,
  // No counter of commits is cheaper than the poll: see docs/scheduler.md.
  changeProbeSql: () => undefined,
  trackingTriggers: trackingTriggerNames('mysql'),
  trackingSql: mysqlTrackingSql,
  async listTriggers(db) {
    // information_schema shows only the triggers of tables the login holds the TRIGGER privilege
    // on: a login without it on the whole database (the Scheduler's, a robot's) cannot tell.
    const grantee = sql`CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')`;
    const privileged = await sql<{ n: number }>`
      SELECT (SELECT count(*) FROM information_schema.user_privileges WHERE grantee = ${grantee} AND privilege_type = 'TRIGGER')
           + (SELECT count(*) FROM information_schema.schema_privileges WHERE grantee = ${grantee} AND privilege_type = 'TRIGGER' AND DATABASE() LIKE table_schema) AS n`.execute(db);
    if (Number(privileged.rows[0]?.n ?? 0) === 0) return undefined;
    const result = await sql<{ name: string }>`
      SELECT trigger_name AS name FROM information_schema.triggers WHERE trigger_schema = DATABASE()`.execute(db);
    return result.rows.map((row) => row.name);
  },
  carryHeartbeat: () => undefined,
};
