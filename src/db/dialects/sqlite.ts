import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import type { ConnectionConfig } from '../../config/connection-string.js';
import { formatNaive } from '../../time/clock.js';
import type { Database } from '../types.js';
import { CLAIM_GUARD_MARK, type ColumnType, type Dialect } from './dialect.js';
import { dateFromDatabase, uuidFromDatabase, uuidToHex } from './encoding.js';
import { isPrepared, markPrepared } from './prepared.js';
import { FileLockedSqliteDialect } from './sqlite-file-lock.js';
import { newElementsOfQueue } from './queue-probe.js';
import { fitsInCharacters } from './text-length.js';
import { dropNotNullInCreate, rebuildSqliteTable } from './sqlite-rebuild.js';
import { sqliteTrackingSql, trackingTriggerNames } from './change-tracking.js';

/**
 * How long a writer waits for the file lock before SQLite gives up with "database is locked".
 * The Orchestrator, a Scheduler and robots share one file; writes are short, so waiting is right.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 30_000;

const ENUM_WIDTH = { loglevel: 5, queuestatus: 11, triggerstatus: 7, triggertype: 9, jobstatus: 7 } as const;

/** Opens the file with WAL (readers never block the writer) and a busy timeout. */
export function openSqliteFile(filename: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(filename, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  if (filename !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  // WAL with synchronous=NORMAL is durable across application crashes, the case that matters here.
  db.pragma('synchronous = NORMAL');
  keepMarkedStatements(db);
  return db;
}

/** Keeps the statements marked by `prepared` compiled (SQLite re-prepares one itself after a schema change). */
function keepMarkedStatements(db: BetterSqlite3.Database): void {
  const prepare = db.prepare.bind(db);
  const kept = new Map<string, BetterSqlite3.Statement>();
  db.prepare = ((source: string) => {
    if (!isPrepared(source)) return prepare(source);
    let statement = kept.get(source);
    if (!statement) kept.set(source, (statement = prepare(source)));
    return statement;
  }) as typeof db.prepare;
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  maxBindParams: 32_766,
  maxRowsPerInsert: 5000,
  paging: 'limit-offset',
  textFit: fitsInCharacters,

  createKysely(config: ConnectionConfig): Kysely<Database> {
    const filename = config.filename ?? ':memory:';
    // Other stores of this process on the same file queue in-process (see sqlite-file-lock.ts).
    const dialect = new FileLockedSqliteDialect({ database: async () => openSqliteFile(filename) }, filename, SQLITE_BUSY_TIMEOUT_MS);
    return new Kysely<Database>({ dialect });
  },

  quote: (identifier) => `"${identifier.replace(/"/g, '""')}"`,

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
        return 'BOOLEAN';
      case 'datetime':
        return 'DATETIME';
      case 'enum':
        return `VARCHAR(${ENUM_WIDTH[type.name]})`;
    }
  },

  encodeUuid: uuidToHex,
  decodeUuid: uuidFromDatabase,
  // better-sqlite3 binds neither booleans nor dates: SQLAlchemy stores 0/1 and naive text.
  encodeBool: (value) => (value ? 1 : 0),
  encodeDate: formatNaive,
  roundDate: (value) => value,
  decodeDate: dateFromDatabase,

  addColumnSql: (table, definition) => `ALTER TABLE "${table}" ADD COLUMN ${definition}`,
  dropIndexSql: (_table, index) => `DROP INDEX "${index}"`,
  // ALTER TABLE cannot drop a constraint here: the table is rebuilt with its rows, indexes and triggers.
  dropNotNull: (table, column) => (db) => rebuildSqliteTable(db, table, (create) => dropNotNullInCreate(create, column)),
  createEnumTypeSql: () => [],
  // SQLAlchemy stores enums as VARCHAR on SQLite, without a CHECK: any name fits already.
  extendEnumSql: () => [],

  async listTables(db) {
    const result = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listColumns(db, table) {
    const result = await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listNotNullColumns(db, table) {
    const result = await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table}) WHERE "notnull" = 1`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listIndexes(db, table) {
    const result = await sql<{ name: string }>`SELECT name FROM pragma_index_list(${table})`.execute(db);
    return result.rows.map((row) => row.name);
  },
  // RAISE takes a string literal only before SQLite 3.47, and the Python tools' sqlite3 (3.40 on
  // Debian 12, 3.45 in Python 3.12 for Windows) parses every trigger when it opens the file: an
  // expression there would make the whole database unreadable to them. So the message names the
  // kind of row, not the row; the statement the client sent names it.
  claimGuardSql: ({ name, table, column, to, from, stamp, others, noun, holder }) => [
    `CREATE TRIGGER "${name}" BEFORE UPDATE OF "${column}", "${stamp}" ON "${table}" FOR EACH ROW\n` +
      `WHEN NEW."${column}" = '${to}' AND OLD."${column}" <> '${from}' AND NOT (OLD."${column}" = '${to}' AND NEW."${stamp}" IS OLD."${stamp}" AND (${others.map((c) => `NEW."${c}" IS NOT OLD."${c}"`).join(' OR ')}))\n` +
      `BEGIN SELECT RAISE(ABORT, '${CLAIM_GUARD_MARK}the ${noun} is no longer ${from}: another ${holder} has it'); END`,
  ],
  // SQLite keeps no row count; sqlite_stat1 exists only after an ANALYZE nobody runs here.
  estimateRows: async () => undefined,
  listEnumValues: async () => undefined,

  async claimQueueElement(db, { queueName, reference, startDate }) {
    // One UPDATE holds SQLite's single write lock from the choice to the change: no other
    // writer can take the same element in between.
    // Robots run it once per element: prepared once per connection.
    const claim = sql<Record<string, unknown>>`
      UPDATE "Queues" SET status = 'IN_PROGRESS', start_date = ${startDate}
      WHERE id = (
        SELECT id FROM "Queues"
        WHERE queue_name = ${queueName} AND status = 'NEW'
        ${reference === undefined ? sql`` : sql`AND reference = ${reference}`}
        -- Oldest first, as the Python client orders; ties (one bulk insert) by id, which the
        -- index carries after created_date (oo-015-claim-order): no sort, and the Python
        -- client's ORDER BY created_date reads the same order from it.
        ORDER BY created_date, id LIMIT 1
      )
      RETURNING *`;
    const result = await db.executeQuery(markPrepared(claim.compile(db)));
    return result.rows[0];
  },

  // SQLite has no notification between processes; Schedulers see changes by their due-time timer and poll.
  newElementsSql: (queueName, limit) => newElementsOfQueue(queueName, limit, { newStatus: 'equality', paging: 'limit-offset' }),
  notifyExpression: () => undefined,
  // Changes when another connection (another process, or another store of this one) commits.
  changeProbeSql: () => sql`PRAGMA data_version`,
  trackingTriggers: trackingTriggerNames('sqlite'),
  trackingSql: sqliteTrackingSql,
  async listTriggers(db) {
    const result = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'trigger'`.execute(db);
    return result.rows.map((row) => row.name);
  },
  carryHeartbeat: () => undefined,
};
