import type { Expression, Kysely, RawBuilder } from 'kysely';
import type { ConnectionConfig, DialectName } from '../../config/connection-string.js';
import type { Database } from '../types.js';
import type { TextFit } from './text-length.js';

/**
 * The logical column types of SCHEMA.md. Each dialect maps them to its physical type; the
 * mapping is the only place where "what does a UUID look like on MySQL" is decided.
 */
export type ColumnType =
  | { kind: 'uuid' }
  | { kind: 'string'; length: number }
  | { kind: 'text'; length: number } // long text: VARCHAR(n) where allowed, a LOB where n is too large
  | { kind: 'integer' }
  | { kind: 'boolean' }
  | { kind: 'datetime' }
  | { kind: 'enum'; name: EnumName };

export type EnumName = 'loglevel' | 'queuestatus' | 'triggerstatus' | 'triggertype' | 'jobstatus';

/**
 * A claim guard (migration oo-013-claim-guard): a database trigger that lets `column` of a `table`
 * row become `to` only from `from`, so a client that claims by a read and then an unconditional
 * UPDATE (the Python client) cannot take a row another one holds. A write to a row already at
 * `to` passes only as an edit: its `stamp` (the claim time) unchanged and one of `others`
 * changed. One that stamps it anew, or changes nothing (a second claim in the same tick of a
 * column that keeps whole seconds), is refused. Where the database can tell which columns a
 * statement names, writes that name neither `column` nor `stamp` are not looked at. The
 * refusal's message starts with CLAIM_GUARD_MARK and names the row by `key` (and `detail`).
 */
export interface ClaimGuard {
  /** the database trigger's name (and on PostgreSQL its function's) */
  name: string;
  table: 'Queues' | 'Triggers';
  column: string;
  to: string;
  from: string;
  stamp: string;
  /** the row's other columns, whose change makes a write to a held row an edit */
  others: readonly string[];
  /** how the message names the row: `queue element <id> (<reference>)`, `trigger "<trigger_name>"` */
  noun: string;
  key: string;
  detail?: string;
  /** who holds the row when the guard refuses: `another <holder> has it` */
  holder: string;
}

/** The start of every claim guard's message: how the program recognises the refusal. */
export const CLAIM_GUARD_MARK = 'claim guard: ';

/** The claim guard's line in a driver error (from CLAIM_GUARD_MARK to the end of that line), or undefined. */
export function claimGuardRefusal(error: unknown): string | undefined {
  const message = String((error as { message?: unknown } | undefined)?.message ?? '');
  const at = message.indexOf(CLAIM_GUARD_MARK);
  return at < 0 ? undefined : message.slice(at).split('\n')[0]!.trim();
}

/** A row claimed from a queue, in the database's own encoding (decoded by the store). */
export type RawRow = Record<string, unknown>;

export interface ClaimQueueElementArgs {
  queueName: string;
  reference?: string;
  /** the encoded start date to write */
  startDate: unknown;
}

/**
 * Everything that differs between databases. The store reads the same for every dialect and
 * calls these for encoding values and for the few statements that cannot be written portably.
 */
export interface Dialect {
  readonly name: DialectName;
  /** The most bind parameters one statement may carry (SQLite 32766, MSSQL 2100, ...). */
  readonly maxBindParams: number;
  /** The most rows one INSERT may list (Oracle before 23ai takes a single VALUES row). */
  readonly maxRowsPerInsert: number;
  /**
   * How a page of rows is asked for: `LIMIT n OFFSET m`, or the standard
   * `OFFSET m ROWS FETCH NEXT n ROWS ONLY` (SQL Server and Oracle know only the latter).
   */
  readonly paging: 'limit-offset' | 'offset-fetch';
  /**
   * How this database's text columns count length (text-length.ts): characters, SQL Server's
   * UTF-16 code units, Oracle's characters within 4000 bytes. Every length check of the store uses it.
   */
  readonly textFit: TextFit;

  /** Opens a Kysely instance. Drivers connect lazily, on the first query. */
  createKysely(config: ConnectionConfig): Kysely<Database>;

  /** Quotes a table or column name, keeping its case. */
  quote(identifier: string): string;
  /** The physical SQL type for a column in a database created by this program. */
  columnType(type: ColumnType): string;

  encodeUuid(id: string): string;
  decodeUuid(value: unknown): string;
  encodeBool(value: boolean): unknown;
  encodeDate(value: Date): unknown;
  /**
   * The instant as this database keeps a datetime parameter (SQL Server's DATETIME: 1/300 s;
   * elsewhere the parameter keeps the millisecond). A "due" decision rounds "now" with it on
   * both sides, in SQL and in code, so both decide the same whatever the column keeps.
   */
  roundDate(value: Date): Date;
  decodeDate(value: unknown): Date;

  /** `ALTER TABLE ... ADD` one column, given its full definition (`name TYPE NULL ...`). */
  addColumnSql(table: string, columnDefinition: string): string;
  /** `DROP INDEX` in this dialect's form (MySQL and SQL Server name the table). */
  dropIndexSql(table: string, index: string): string;
  /**
   * Makes a NOT NULL column nullable, keeping its type, its default and every row. The column is
   * one the Python tools made (`type` as they declare it). ALTER statements, or where ALTER
   * cannot (SQLite) a function that rebuilds the table with its rows, indexes and triggers.
   */
  dropNotNull(table: string, column: string, type: ColumnType, defaultSql: string | undefined): string[] | ((db: Kysely<Database>) => Promise<void>);
  /** Statements to run before tables that use enum types are created (PostgreSQL's CREATE TYPE). */
  createEnumTypeSql(name: EnumName, values: readonly string[]): string[];
  /** Statements that make an enum column (or type) accept `values`, keeping the values it has. */
  extendEnumSql(name: EnumName, table: string, column: string, nullable: boolean, values: readonly string[]): string[];

  /** Names of the tables in the connected schema. */
  listTables(db: Kysely<Database>): Promise<string[]>;
  /** Column names of one table. */
  listColumns(db: Kysely<Database>, table: string): Promise<string[]>;
  /** Names of the columns of one table that are NOT NULL. */
  listNotNullColumns(db: Kysely<Database>, table: string): Promise<string[]>;
  /**
   * Index names of one table (the primary key's own index may be among them). `upgrade` reads
   * them so that an index a half-finished run or an old Python version left out is created.
   */
  listIndexes(db: Kysely<Database>, table: string): Promise<string[]>;
  /** The statements that install one claim guard on a table that has none of that name. */
  claimGuardSql(guard: ClaimGuard): string[];
  /**
   * The table's row count from the database's statistics (cheap, approximate: PostgreSQL's
   * pg_class.reltuples, MySQL's information_schema.TABLES.TABLE_ROWS, SQL Server's
   * sys.partitions, Oracle's NUM_ROWS), or undefined where it keeps none (SQLite, a table
   * never analyzed): the caller then counts.
   */
  estimateRows(db: Kysely<Database>, table: string): Promise<number | undefined>;
  /** Values an enum column accepts today, or undefined where the column is plain text. */
  listEnumValues(db: Kysely<Database>, name: EnumName, table: string, column: string): Promise<string[] | undefined>;

  /**
   * Atomically moves the oldest New element of a queue to In Progress and returns it, so that
   * concurrent robots never receive the same element.
   */
  claimQueueElement(db: Kysely<Database>, args: ClaimQueueElementArgs): Promise<RawRow | undefined>;

  /**
   * At most `limit` New elements of one queue (a value, or a column of the outer query), as a
   * parenthesised subquery of their `status` that reads them through the `(queue_name, status,
   * created_date)` index whatever the planner estimates: the Scheduler probes every watched queue
   * on every poll, and a plan that scans instead costs the whole table each time. Shapes per
   * dialect in queue-probe.ts.
   */
  newElementsSql(queueName: string | Expression<string>, limit: number): RawBuilder<{ status: string }>;

  /**
   * An SQL expression that tells listening Schedulers that something changed (PostgreSQL's
   * pg_notify, which a transaction delivers at its commit), or undefined where the database
   * has none. An expression, so a write can carry it in its RETURNING.
   */
  notifyExpression(channel: string, payload: string): RawBuilder<unknown> | undefined;
  /**
   * A statement far cheaper than a poll whose one value changes whenever another connection
   * commits (SQLite's data_version), for databases without notifications; undefined where no
   * such statement is cheaper than the poll itself (docs/scheduler.md has the figures).
   */
  changeProbeSql(): RawBuilder<unknown> | undefined;
  /**
   * The database triggers of change tracking (oo-014, change-tracking.ts): their names (empty
   * where the dialect does not track, and the Scheduler probes every queue trigger instead) and
   * the statements that (re)create them all.
   */
  readonly trackingTriggers: readonly string[];
  trackingSql(): string[];
  /**
   * Names of the database triggers in the connected schema, of every table (`upgrade` puts back
   * a claim guard or change-tracking trigger that is gone), or undefined where this login cannot
   * see them all (MySQL shows only those of tables it holds the TRIGGER privilege on).
   */
  listTriggers(db: Kysely<Database>): Promise<string[] | undefined>;
  /**
   * `statement` carrying the Scheduler's heartbeat (an UPDATE of its Schedulers row), so that a
   * tick that beats is still one statement and one transaction; undefined where a read cannot
   * carry a write (all but PostgreSQL). Its rows are the statement's, each with `beats` (1, or 0
   * when the row is gone), and one row of nulls but `beats` when the statement found none.
   */
  carryHeartbeat(statement: Expression<unknown>, machineName: string, stamp: unknown): RawBuilder<{ beats: unknown }> | undefined;
}
