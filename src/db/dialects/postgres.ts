import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { DEFAULT_POOL_SIZE, type ConnectionConfig } from '../../config/connection-string.js';
import { formatNaive } from '../../time/clock.js';
import type { Database } from '../types.js';
import { CLAIM_GUARD_MARK, type ColumnType, type Dialect } from './dialect.js';
import { canonicalUuid, dateFromDatabase, uuidFromDatabase } from './encoding.js';
import { isPrepared, markPrepared, statementName } from './prepared.js';
import { connectTimeoutMs, nodeTlsOptions } from './tls.js';
import { newElementsOfQueue } from './queue-probe.js';
import { fitsInCharacters } from './text-length.js';
import { postgresTrackingSql, trackingTriggerNames } from './change-tracking.js';

const TIMESTAMP_WITHOUT_TIME_ZONE = 1114;

// Naive timestamps stay text until the store parses them as local time; pg's default would
// parse them too, but keeping one parser for every dialect keeps one behaviour.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === TIMESTAMP_WITHOUT_TIME_ZONE ? (value: string) => value : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * pg's pool options for `config`; reads the TLS files it names (call it when opening).
 * libpq ignores sslmode on a Unix socket, and so does this.
 */
export function postgresPoolConfig(config: ConnectionConfig): pg.PoolConfig {
  const socket = config.host?.startsWith('/') ?? false;
  const ssl = socket ? undefined : nodeTlsOptions(config.tls, { cert: 'sslcert', key: 'sslkey' });
  return {
    host: config.host,
    port: config.port ?? 5432,
    database: config.database,
    user: config.user,
    password: config.password,
    max: config.poolSize ?? DEFAULT_POOL_SIZE,
    // A server that does not answer (a network partition, not a refusal) must not hang a
    // Scheduler tick or an HTTP request forever.
    connectionTimeoutMillis: connectTimeoutMs(config),
    keepAlive: true,
    types,
    ...(ssl ? { ssl } : {}),
  };
}

/** After these a connection stops naming statements: its named statement is missing, taken or changed shape. */
const STATEMENT_LOST = new Set(['26000', '42P05', '0A000']);

type QueryFunction = (...args: unknown[]) => Promise<pg.QueryResult>;

/**
 * Runs the statements marked by `prepared` as named statements on this connection (parsed and
 * planned once). Only on a direct connection: through a pooler in transaction mode (PgBouncer
 * before 1.21) a statement prepared on one server connection is missing on the next, so a client
 * names statements only when the server sees its own socket (inet_client_port() is our port).
 */
function prepareMarkedStatements(client: pg.PoolClient): void {
  const plain = client.query.bind(client) as QueryFunction;
  let direct: Promise<boolean> | undefined;
  const isDirect = () =>
    (direct ??= plain('SELECT inet_client_port() AS port').then(
      (result) => {
        const local = (client as unknown as { connection?: { stream?: { localPort?: number } } }).connection?.stream?.localPort;
        return typeof local === 'number' && Number((result.rows[0] as { port?: unknown } | undefined)?.port) === local;
      },
      () => false,
    ));
  let inTransaction = false;
  const query: QueryFunction = async (...args) => {
    const [text, values] = args;
    if (typeof text === 'string') {
      if (/^\s*(begin|start transaction)\b/i.test(text)) inTransaction = true;
      else if (/^\s*(commit|rollback)\b/i.test(text)) inTransaction = false;
    }
    if (args.length !== 2 || !isPrepared(text) || !Array.isArray(values) || !(await isDirect())) return plain(...args);
    try {
      return await plain({ name: statementName(text), text, values });
    } catch (error) {
      if (!STATEMENT_LOST.has((error as { code?: string }).code ?? '')) throw error;
      // e.g. "cached plan must not change result type" after an upgrade added a column: this
      // connection stops naming statements; outside a transaction nothing was spoiled, so the
      // statement runs again at once, unnamed.
      direct = Promise.resolve(false);
      if (inTransaction) throw error;
      return plain(text, values);
    }
  };
  (client as unknown as { query: QueryFunction }).query = query;
}

export const postgresDialect: Dialect = {
  name: 'postgres',
  maxBindParams: 65_535,
  maxRowsPerInsert: 5000,
  paging: 'limit-offset',
  textFit: fitsInCharacters,

  createKysely(config: ConnectionConfig): Kysely<Database> {
    const pool = new pg.Pool(postgresPoolConfig(config));
    // An idle client that loses its server (restart, network) emits 'error' on the pool; without
    // a listener Node would exit. The next query reconnects.
    pool.on('error', () => undefined);
    // A client in use when the server goes away also emits 'error' (after failing its query,
    // which reports the error to the caller); pg-pool listens only on idle clients, so without
    // this the process would crash on a database restart.
    pool.on('connect', (client) => {
      client.on('error', () => undefined);
      prepareMarkedStatements(client);
    });
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  },

  quote: (identifier) => `"${identifier.replace(/"/g, '""')}"`,

  columnType(type: ColumnType): string {
    switch (type.kind) {
      case 'uuid':
        return 'UUID';
      case 'string':
      case 'text':
        return `VARCHAR(${type.length})`;
      case 'integer':
        return 'INTEGER';
      case 'boolean':
        return 'BOOLEAN';
      case 'datetime':
        return 'TIMESTAMP WITHOUT TIME ZONE';
      case 'enum':
        return type.name;
    }
  },

  encodeUuid: canonicalUuid,
  decodeUuid: uuidFromDatabase,
  encodeBool: (value) => value,
  encodeDate: formatNaive,
  roundDate: (value) => value,
  decodeDate: dateFromDatabase,

  addColumnSql: (table, definition) => `ALTER TABLE "${table}" ADD COLUMN ${definition}`,
  dropIndexSql: (_table, index) => `DROP INDEX "${index}"`,
  dropNotNull: (table, column) => [`ALTER TABLE "${table}" ALTER COLUMN "${column}" DROP NOT NULL`],
  createEnumTypeSql: (name, values) => [`CREATE TYPE ${name} AS ENUM (${values.map((v) => `'${v}'`).join(', ')})`],
  extendEnumSql: (name, _table, _column, _nullable, values) => values.map((v) => `ALTER TYPE ${name} ADD VALUE IF NOT EXISTS '${v}'`),

  async listTables(db) {
    const result = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`.execute(db);
    return result.rows.map((row) => row.table_name);
  },
  async listColumns(db, table) {
    const result = await sql<{ column_name: string }>`
      SELECT column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ${table}`.execute(db);
    return result.rows.map((row) => row.column_name);
  },
  async listNotNullColumns(db, table) {
    const result = await sql<{ column_name: string }>`
      SELECT column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ${table} AND is_nullable = 'NO'`.execute(db);
    return result.rows.map((row) => row.column_name);
  },
  async listIndexes(db, table) {
    const result = await sql<{ indexname: string }>`
      SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ${table}`.execute(db);
    return result.rows.map((row) => row.indexname);
  },
  // The WHEN clause decides without calling the function, so a permitted write costs no PL/pgSQL
  // call. SQLSTATE 55000 (object not in prerequisite state) is an OperationalError to psycopg, the
  // class the Python Scheduler's loop catches and outlives. EXECUTE PROCEDURE: PostgreSQL 10 too.
  claimGuardSql: ({ name, table, column, to, from, stamp, noun, key, detail, holder }) => [
    `CREATE OR REPLACE FUNCTION "${name}"() RETURNS trigger LANGUAGE plpgsql AS $guard$\n` +
      `BEGIN\n` +
      `  RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = format('${CLAIM_GUARD_MARK}${noun} ${detail === undefined ? '"%s"' : '%s (%s)'} is %s: another ${holder} has it', ` +
      `OLD."${key}", ${detail === undefined ? '' : `coalesce(OLD."${detail}", 'no ${detail}'), `}OLD."${column}");\n` +
      `END\n$guard$`,
    `CREATE TRIGGER "${name}" BEFORE UPDATE OF "${column}", "${stamp}" ON "${table}" FOR EACH ROW\n` +
      `WHEN (NEW."${column}" = '${to}' AND OLD."${column}" <> '${from}' AND NOT (OLD."${column}" = '${to}' AND NEW."${stamp}" IS NOT DISTINCT FROM OLD."${stamp}" AND NEW IS DISTINCT FROM OLD))\n` +
      `EXECUTE PROCEDURE "${name}"()`,
  ],
  async estimateRows(db, table) {
    // -1 until the table's first ANALYZE (autovacuum runs one once it has grown).
    const result = await sql<{ n: number }>`
      SELECT c.reltuples AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE s.nspname = current_schema() AND c.relname = ${table} AND c.relkind = 'r'`.execute(db);
    const n = Number(result.rows[0]?.n ?? -1);
    return n >= 0 ? Math.round(n) : undefined;
  },
  async listEnumValues(db, name) {
    // Only the type in our schema: another schema of the same server may hold an older copy,
    // and unqualified CREATE TYPE / column types resolve to current_schema() too.
    const result = await sql<{ enumlabel: string }>`
      SELECT e.enumlabel FROM pg_enum e
      JOIN pg_type t ON t.oid = e.enumtypid
      JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typname = ${name} AND n.nspname = current_schema()
      ORDER BY e.enumsortorder`.execute(db);
    return result.rows.map((row) => row.enumlabel);
  },

  async claimQueueElement(db, { queueName, reference, startDate }) {
    // SKIP LOCKED: concurrent robots each lock a different row instead of queueing on one.
    // Robots run it once per element: prepared once per connection.
    const claim = sql<Record<string, unknown>>`
      UPDATE "Queues" SET status = 'IN_PROGRESS', start_date = ${startDate}
      WHERE id = (
        SELECT id FROM "Queues"
        WHERE queue_name = ${queueName} AND status = 'NEW'
        ${reference === undefined ? sql`` : sql`AND reference = ${reference}`}
        -- Oldest first, as the Python client orders; ties (one bulk insert, or a clock that keeps
        -- less than the write's precision) by id, so every claimer takes them in the same order.
        -- The index yields the rows in created_date order; an incremental sort orders only the ties.
        ORDER BY created_date, id LIMIT 1
        FOR UPDATE SKIP LOCKED
      )
      RETURNING *`;
    const result = await db.executeQuery(markPrepared(claim.compile(db)));
    return result.rows[0];
  },

  newElementsSql: (queueName, limit) => newElementsOfQueue(queueName, limit, { newStatus: 'range', paging: 'limit-offset' }),
  notifyExpression: (channel, payload) => sql`pg_notify(${channel}, ${payload})`,
  // Not needed: notifications (notifyExpression) carry changes.
  changeProbeSql: () => undefined,
  trackingTriggers: trackingTriggerNames('postgres'),
  trackingSql: postgresTrackingSql,
  async listTriggers(db) {
    const result = await sql<{ name: string }>`
      SELECT t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE s.nspname = current_schema() AND NOT t.tgisinternal`.execute(db);
    return result.rows.map((row) => row.name);
  },
  // A beat in its own statement cost an idle backend three wake-ups instead of one: the UPDATE,
  // then the poll, then 10 s later a timer to flush the table statistics that two transactions
  // within a second leave pending. And its commit waited for its own WAL flush (an fdatasync),
  // which a heartbeat does not need: one lost in a crash is replaced by the next within seconds,
  // and readers see it at once either way. set_config(..., true) lasts to the end of this
  // transaction only, also through PgBouncer.
  carryHeartbeat: (statement, machineName, stamp) =>
    sql<{ beats: unknown }>`WITH beat AS (UPDATE "Schedulers" SET last_update = ${stamp} WHERE machine_name = ${machineName} AND set_config('synchronous_commit', 'off', true) IS NOT NULL RETURNING 1) SELECT b.beats, p.* FROM (${statement}) p RIGHT JOIN (SELECT count(*) AS beats FROM beat) b ON true`,
};
