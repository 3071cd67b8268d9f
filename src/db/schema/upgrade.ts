/**
 * `upgrade`: brings an empty database, or one made by the Python OpenOrchestrator at any of its
 * revisions, to the schema of SCHEMA.md. Each step looks at what the database has and does only
 * what is missing, so a second run changes nothing and a half-finished run can be resumed.
 */
import { sql, type Kysely } from 'kysely';
import { SchemaError } from '../../errors.js';
import { now } from '../../time/clock.js';
import type { Dialect, EnumName } from '../dialects/dialect.js';
import type { Database } from '../types.js';
import { addColumnSql, createIndexSql, createTableSql } from './ddl.js';
import {
  ENUM_VALUES,
  EXTRA_INDEXES,
  GIT_BRANCH,
  JOBS,
  LOGS_JOB_ID,
  MIGRATIONS_TABLE,
  PRIORITY,
  SCHEDULERS,
  SCHEDULER_WHITELIST,
  TRIGGERS,
  UPSTREAM_HEAD,
  UPSTREAM_TABLES,
  type TableDef,
} from './tables.js';

/** Python OpenOrchestrator's alembic revisions, oldest first. */
export const UPSTREAM_REVISIONS = ['b67b7649b282', '526b6edac328', '90d46abd44a3', '9698388a0709'] as const;

/** Our own migrations, oldest first, recorded in `oo_migrations`. */
export const OWN_MIGRATIONS = ['oo-001-jobs', 'oo-002-logs-job-id', 'oo-003-indexes'] as const;

/** Columns whose type is an enum: their accepted values are completed on every upgrade. */
const ENUM_COLUMNS: { name: EnumName; table: string; column: string }[] = [
  { name: 'loglevel', table: 'Logs', column: 'log_level' },
  { name: 'queuestatus', table: 'Queues', column: 'status' },
  { name: 'triggerstatus', table: 'Triggers', column: 'process_status' },
  { name: 'triggertype', table: 'Triggers', column: 'type' },
  { name: 'jobstatus', table: 'Jobs', column: 'status' },
];

/** One thing upgrade does: a line for the user and the statements that do it. */
export interface UpgradeStep {
  description: string;
  statements: string[];
  /** our migration this step completes, recorded in oo_migrations once its statements ran */
  records?: string;
}

export interface SchemaState {
  tables: Set<string>;
  /** alembic_version.version_num, or undefined when the table is missing or empty */
  upstreamRevision?: string;
  ownMigrations: Set<string>;
}

export interface UpgradeResult {
  from: string;
  to: string;
  steps: string[];
}

/** What the database has now, read from its catalog. */
export async function readSchemaState(db: Kysely<Database>, dialect: Dialect): Promise<SchemaState> {
  const tables = new Set(await dialect.listTables(db));
  let upstreamRevision: string | undefined;
  if (tables.has('alembic_version')) {
    const rows = await db.selectFrom('alembic_version').select('version_num').execute();
    upstreamRevision = rows[0]?.version_num;
  }
  const ownMigrations = new Set<string>();
  if (tables.has(MIGRATIONS_TABLE)) {
    for (const row of await db.selectFrom('oo_migrations').select('name').execute()) ownMigrations.add(row.name);
  }
  return { tables, upstreamRevision, ownMigrations };
}

/** A short name for where a database stands, e.g. `9698388a0709+oo-003-indexes`, or `empty`. */
export function describeRevision(state: SchemaState): string {
  if (![...state.tables].some((t) => UPSTREAM_TABLES.some((u) => u.name === t))) return 'empty';
  const upstream = state.upstreamRevision ?? 'pre-alembic (v1.x)';
  const own = OWN_MIGRATIONS.filter((m) => state.ownMigrations.has(m)).at(-1);
  return own ? `${upstream}+${own}` : upstream;
}

/** Refuses a database that a newer program has changed in ways this one does not know. */
export function assertKnownRevision(state: SchemaState): void {
  const upstream = state.upstreamRevision;
  if (upstream !== undefined && !(UPSTREAM_REVISIONS as readonly string[]).includes(upstream)) {
    throw new SchemaError(
      `the database is at schema revision ${upstream}, which is newer than this program knows (up to ${UPSTREAM_HEAD}); upgrade openorchestrator before using this database`,
    );
  }
  const unknown = [...state.ownMigrations].filter((m) => !(OWN_MIGRATIONS as readonly string[]).includes(m));
  if (unknown.length > 0) {
    throw new SchemaError(
      `the database has migration ${unknown[0]}, which is newer than this program knows (up to ${OWN_MIGRATIONS.at(-1)}); upgrade openorchestrator before using this database`,
    );
  }
}

/** True when the database has everything this program needs. */
export function isCurrent(state: SchemaState): boolean {
  return state.upstreamRevision === UPSTREAM_HEAD && OWN_MIGRATIONS.every((m) => state.ownMigrations.has(m));
}

/**
 * The steps that would bring the database to the current schema, without running them.
 * Columns and enum values are read from the catalog for the tables that exist.
 */
export async function planUpgrade(db: Kysely<Database>, dialect: Dialect): Promise<UpgradeStep[]> {
  const state = await readSchemaState(db, dialect);
  assertKnownRevision(state);
  const columnsOf = async (table: string) => new Set(state.tables.has(table) ? await dialect.listColumns(db, table) : []);
  const enumValues = async (name: EnumName, table: string, column: string) =>
    state.tables.has(table) || dialect.name === 'postgres' ? dialect.listEnumValues(db, name, table, column) : undefined;
  return computeSteps(dialect, state, columnsOf, enumValues);
}

/** The complete DDL for an empty database, in order (used for dialects tested by SQL text). */
export async function freshSchemaSql(dialect: Dialect): Promise<string[]> {
  const state: SchemaState = { tables: new Set(), ownMigrations: new Set() };
  const steps = await computeSteps(dialect, state, async () => new Set(), async () => (dialect.name === 'postgres' ? [] : undefined));
  return steps.flatMap((step) => step.statements);
}

async function computeSteps(
  dialect: Dialect,
  state: SchemaState,
  columnsOf: (table: string) => Promise<Set<string>>,
  enumValues: (name: EnumName, table: string, column: string) => Promise<string[] | undefined>,
): Promise<UpgradeStep[]> {
  const steps: UpgradeStep[] = [];
  const has = (table: string) => state.tables.has(table);
  const isPostgres = dialect.name === 'postgres';
  const createTable = (table: TableDef, why: string): UpgradeStep => ({
    description: `create table ${table.name}${why}`,
    statements: [createTableSql(dialect, table), ...table.indexes.map((index) => createIndexSql(dialect, table.name, index))],
  });

  // PostgreSQL enum types must exist before the tables that use them; missing values are added below.
  if (isPostgres) {
    for (const name of Object.keys(ENUM_VALUES) as EnumName[]) {
      const values = await enumValues(name, '', '');
      if (values !== undefined && values.length === 0) {
        steps.push({ description: `create enum type ${name}`, statements: dialect.createEnumTypeSql(name, ENUM_VALUES[name]) });
      }
    }
  }

  // Revision b67b7649b282 (or a pre-alembic v1.x database): the base tables.
  for (const table of UPSTREAM_TABLES) {
    if (table === SCHEDULERS || has(table.name)) continue;
    steps.push(createTable(table, ''));
  }
  // 526b6edac328
  if (!has(SCHEDULERS.name)) steps.push(createTable(SCHEDULERS, ' (upstream revision 526b6edac328)'));
  // 90d46abd44a3 and 9698388a0709 add columns to an existing Triggers table.
  if (has(TRIGGERS.name)) {
    const columns = await columnsOf(TRIGGERS.name);
    for (const [column, revision] of [
      [SCHEDULER_WHITELIST, '90d46abd44a3'],
      [PRIORITY, '90d46abd44a3'],
      [GIT_BRANCH, '9698388a0709'],
    ] as const) {
      if (!columns.has(column.name)) {
        steps.push({
          description: `add column Triggers.${column.name} (upstream revision ${revision})`,
          statements: [addColumnSql(dialect, TRIGGERS.name, column)],
        });
      }
    }
  }
  // The Python migrations never added KILLING/KILLED (and old databases may lack ABANDONED and
  // PAUSING): without them, killing or pausing a robot fails on PostgreSQL and MySQL.
  for (const { name, table, column } of ENUM_COLUMNS) {
    if (!has(table) && !isPostgres) continue;
    const current = await enumValues(name, table, column);
    if (current === undefined || current.length === 0) continue;
    const missing = ENUM_VALUES[name].filter((v) => !current.includes(v));
    if (missing.length === 0) continue;
    const all = [...current, ...missing];
    steps.push({
      description: `add ${missing.join(', ')} to enum ${name}${isPostgres ? '' : ` (${table}.${column})`}`,
      statements: dialect.extendEnumSql(name, table, column, false, isPostgres ? missing : all),
    });
  }
  if (state.upstreamRevision !== UPSTREAM_HEAD) {
    const q = dialect.quote;
    const statements = has('alembic_version')
      ? [`DELETE FROM ${q('alembic_version')}`]
      : [`CREATE TABLE ${q('alembic_version')} (\n  ${q('version_num')} ${dialect.columnType({ kind: 'string', length: 32 })} NOT NULL,\n  CONSTRAINT ${q('alembic_version_pkc')} PRIMARY KEY (${q('version_num')})\n)`];
    statements.push(`INSERT INTO ${q('alembic_version')} (${q('version_num')}) VALUES ('${UPSTREAM_HEAD}')`);
    steps.push({ description: `set upstream revision ${state.upstreamRevision ?? 'none'} -> ${UPSTREAM_HEAD}`, statements });
  }

  // Our own additions, recorded in oo_migrations.
  const q = dialect.quote;
  if (!has(MIGRATIONS_TABLE)) {
    steps.push({
      description: `create table ${MIGRATIONS_TABLE} (this program's migration record)`,
      statements: [
        `CREATE TABLE ${q(MIGRATIONS_TABLE)} (\n  ${q('name')} ${dialect.columnType({ kind: 'string', length: 100 })} NOT NULL,\n  ${q('applied_at')} ${dialect.columnType({ kind: 'datetime' })} NOT NULL,\n  PRIMARY KEY (${q('name')})\n)`,
      ],
    });
  }
  const done = state.ownMigrations;
  if (!done.has('oo-001-jobs')) {
    const step = has(JOBS.name) ? { description: 'record table Jobs', statements: [] } : createTable(JOBS, ' (job history)');
    steps.push({ ...step, records: 'oo-001-jobs' });
  }
  if (!done.has('oo-002-logs-job-id')) {
    const hasColumn = (await columnsOf('Logs')).has(LOGS_JOB_ID.name);
    steps.push({
      description: 'add column Logs.job_id (which job wrote a log)',
      statements: hasColumn ? [] : [addColumnSql(dialect, 'Logs', LOGS_JOB_ID)],
      records: 'oo-002-logs-job-id',
    });
  }
  if (!done.has('oo-003-indexes')) {
    steps.push({
      description: `create indexes ${EXTRA_INDEXES.map((i) => i.index.name).join(', ')}`,
      statements: EXTRA_INDEXES.map(({ table, index }) => createIndexSql(dialect, table, index)),
      records: 'oo-003-indexes',
    });
  }
  return steps;
}

/**
 * Runs `upgrade`: plans, then executes step by step, telling `onStep` before each one.
 *
 * @example
 *   await upgradeDatabase(db, dialect, (line) => console.log(line));
 */
export async function upgradeDatabase(
  db: Kysely<Database>,
  dialect: Dialect,
  onStep: (line: string) => void = () => undefined,
): Promise<UpgradeResult> {
  const before = await readSchemaState(db, dialect);
  assertKnownRevision(before);
  const steps = await planUpgrade(db, dialect);
  const total = steps.length;
  for (const [i, step] of steps.entries()) {
    onStep(`[${i + 1}/${total}] ${step.description}`);
    // DDL is not transactional on MySQL and Oracle, so statements run one by one; each step
    // re-reads the catalog when planned, which makes an interrupted run safe to repeat.
    for (const statement of step.statements) await sql.raw(statement).execute(db);
    if (step.records) {
      await db.insertInto('oo_migrations').values({ name: step.records, applied_at: dialect.encodeDate(now()) }).execute();
    }
  }
  const after = await readSchemaState(db, dialect);
  return { from: describeRevision(before), to: describeRevision(after), steps: steps.map((s) => s.description) };
}
