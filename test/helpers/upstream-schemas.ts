/**
 * Databases as the Python OpenOrchestrator (SQLAlchemy 2.0 + alembic) leaves them at each of
 * its revisions, written as the raw DDL SQLAlchemy emits on each dialect. Deliberately
 * independent of src/db/schema: these builders are what `upgrade` is tested against.
 *
 * Revisions (SCHEMA.md, "Upstream history"):
 * - `pre-alembic`: v1.x "Initialize Database" (create_all): no alembic_version, enums without
 *   ABANDONED / PAUSING.
 * - `b67b7649b282`: alembic's initial revision; triggerstatus has PAUSING but no KILLING/KILLED.
 * - `526b6edac328`: + Schedulers.
 * - `90d46abd44a3`: + Triggers.scheduler_whitelist, Triggers.priority (server default '0').
 * - `9698388a0709`: + Triggers.git_branch. The enums still lack KILLING/KILLED.
 * - `1c87ed320c78` (3.0.0): + Jobs (no trigger_id, no indexes; PostgreSQL gets the type
 *   jobstatus from CREATE TABLE), + Logs.job_id (no FK).
 *
 * `whitelistNotNull`: the 2.0.0/2.0.1 releases shipped 90d46abd44a3 with
 * `scheduler_whitelist VARCHAR(250) NOT NULL DEFAULT '[]'`; upstream later edited that migration
 * in place to nullable, so a database made by 2.0.x (and later upgraded by 3.0) keeps NOT NULL
 * while one made by 3.0 from scratch has NULL.
 *
 * Our own earlier release (`ts-0.1.0`): the DDL it generated, kept verbatim per dialect in
 * test/fixtures/schemas/, stamped 9698388a0709, with our Jobs and oo_migrations.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/db/types.js';
import type { LiveDialect } from './databases.js';

export type UpstreamRevision = 'pre-alembic' | 'b67b7649b282' | '526b6edac328' | '90d46abd44a3' | '9698388a0709' | '1c87ed320c78';
export const UPSTREAM_REVISIONS: UpstreamRevision[] = ['pre-alembic', 'b67b7649b282', '526b6edac328', '90d46abd44a3', '9698388a0709', '1c87ed320c78'];

/** A database as some release left it: an upstream revision, how 2.0.x made the whitelist, or ours. */
export interface Shape {
  label: string;
  revision: UpstreamRevision;
  /** made by the 2.0.0/2.0.1 migration: scheduler_whitelist NOT NULL DEFAULT '[]' */
  whitelistNotNull?: boolean;
  /** made by openorchestrator-ts 0.1.0 (stamped 9698388a0709, our Jobs, oo_migrations) */
  ours?: boolean;
}

/** Every shape `upgrade` must bring to the contract, oldest first. */
export const SHAPES: Shape[] = [
  { label: 'pre-alembic (v1.x)', revision: 'pre-alembic' },
  { label: 'b67b7649b282', revision: 'b67b7649b282' },
  { label: '526b6edac328', revision: '526b6edac328' },
  { label: '90d46abd44a3 as released in 2.0.0/2.0.1', revision: '90d46abd44a3', whitelistNotNull: true },
  { label: '90d46abd44a3 as edited upstream', revision: '90d46abd44a3' },
  { label: '9698388a0709', revision: '9698388a0709' },
  { label: '1c87ed320c78 (3.0.0 from scratch)', revision: '1c87ed320c78' },
  { label: '1c87ed320c78 (2.0.1 upgraded by 3.0.0)', revision: '1c87ed320c78', whitelistNotNull: true },
  { label: 'openorchestrator-ts 0.1.0', revision: '9698388a0709', ours: true },
];

type EnumType = { enum: string; values: string[] };
type OldType = 'uuid' | 'datetime' | 'boolean' | 'integer' | { varchar: number } | EnumType;

interface OldColumn {
  name: string;
  type: OldType;
  nullable: boolean;
  /** SQLAlchemy server_default, rendered quoted: DEFAULT '0' */
  serverDefault?: string;
}

interface OldTable {
  name: string;
  columns: OldColumn[];
  primaryKey: string;
  /** the sub-tables' id -> Triggers.id */
  referencesTriggers?: boolean;
  indexes: { name: string; column: string }[];
}

const V1_ENUMS = {
  loglevel: ['TRACE', 'INFO', 'ERROR'],
  queuestatus: ['NEW', 'IN_PROGRESS', 'DONE', 'FAILED'],
  triggerstatus: ['IDLE', 'RUNNING', 'FAILED', 'DONE', 'PAUSED'],
  triggertype: ['SINGLE', 'SCHEDULED', 'QUEUE'],
};
const ALEMBIC_ENUMS = {
  ...V1_ENUMS,
  queuestatus: [...V1_ENUMS.queuestatus, 'ABANDONED'],
  triggerstatus: [...V1_ENUMS.triggerstatus, 'PAUSING'],
};

/** The enum values a revision's database accepts (what `upgrade` must complete). */
export function upstreamEnums(revision: UpstreamRevision): Record<string, string[]> {
  return revision === 'pre-alembic' ? V1_ENUMS : ALEMBIC_ENUMS;
}

const c = (name: string, type: OldType, nullable = false, serverDefault?: string): OldColumn => ({ name, type, nullable, serverDefault });
const str = (n: number): OldType => ({ varchar: n });

/** The tables of the initial revision (and of v1.x), in alembic's creation order. */
function initialTables(enums: Record<string, string[]>): OldTable[] {
  const e = (name: string): OldType => ({ enum: name, values: enums[name]! });
  return [
    { name: 'Constants', primaryKey: 'name', indexes: [], columns: [c('name', str(100)), c('value', str(1000)), c('changed_at', 'datetime')] },
    {
      name: 'Credentials',
      primaryKey: 'name',
      indexes: [],
      columns: [c('name', str(100)), c('username', str(250)), c('password', str(1000)), c('changed_at', 'datetime')],
    },
    {
      name: 'Logs',
      primaryKey: 'id',
      indexes: [],
      columns: [c('id', 'uuid'), c('log_time', 'datetime'), c('log_level', e('loglevel')), c('process_name', str(100)), c('log_message', str(8000))],
    },
    {
      name: 'Queues',
      primaryKey: 'id',
      indexes: [
        { name: 'ix_Queues_created_date', column: 'created_date' },
        { name: 'ix_Queues_queue_name', column: 'queue_name' },
      ],
      columns: [
        c('id', 'uuid'),
        c('queue_name', str(100)),
        c('status', e('queuestatus')),
        c('data', str(2000), true),
        c('reference', str(100), true),
        c('created_date', 'datetime'),
        c('start_date', 'datetime', true),
        c('end_date', 'datetime', true),
        c('message', str(1000), true),
        c('created_by', str(100), true),
      ],
    },
    {
      name: 'Triggers',
      primaryKey: 'id',
      indexes: [],
      columns: [
        c('id', 'uuid'),
        c('trigger_name', str(100)),
        c('process_name', str(100)),
        c('last_run', 'datetime', true),
        c('process_path', str(250)),
        c('process_args', str(1000), true),
        c('process_status', e('triggerstatus')),
        c('is_git_repo', 'boolean'),
        c('is_blocking', 'boolean'),
        c('type', e('triggertype')),
      ],
    },
    {
      name: 'Queue_Triggers',
      primaryKey: 'id',
      referencesTriggers: true,
      indexes: [],
      columns: [c('id', 'uuid'), c('queue_name', str(200)), c('min_batch_size', 'integer')],
    },
    {
      name: 'Scheduled_Triggers',
      primaryKey: 'id',
      referencesTriggers: true,
      indexes: [],
      columns: [c('id', 'uuid'), c('cron_expr', str(200)), c('next_run', 'datetime')],
    },
    { name: 'Single_Triggers', primaryKey: 'id', referencesTriggers: true, indexes: [], columns: [c('id', 'uuid'), c('next_run', 'datetime')] },
  ];
}

const JOBS_3_0 = (jobstatus: string[]): OldTable => ({
  name: 'Jobs',
  primaryKey: 'id',
  indexes: [],
  columns: [
    c('id', 'uuid'),
    c('process_name', str(100)),
    c('scheduler_name', str(100)),
    c('start_time', 'datetime'),
    c('end_time', 'datetime', true),
    c('status', { enum: 'jobstatus', values: jobstatus }),
  ],
});
const JOBSTATUS = ['RUNNING', 'DONE', 'FAILED', 'KILLED'];

const SCHEDULERS: OldTable = {
  name: 'Schedulers',
  primaryKey: 'machine_name',
  indexes: [],
  columns: [c('machine_name', str(100)), c('last_update', 'datetime'), c('latest_trigger', str(100), true), c('latest_trigger_time', 'datetime', true)],
};

/** SQLAlchemy quotes mixed-case names only (and reserved words, none of which are used here). */
function quote(dialect: LiveDialect, name: string): string {
  if (name === name.toLowerCase()) return name;
  return dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}

function typeSql(dialect: LiveDialect, type: OldType): string {
  if (typeof type === 'object' && 'varchar' in type) return `VARCHAR(${type.varchar})`;
  if (typeof type === 'object') {
    if (dialect === 'postgres') return type.enum;
    if (dialect === 'mysql') return `ENUM(${type.values.map((v) => `'${v}'`).join(',')})`;
    return `VARCHAR(${Math.max(...type.values.map((v) => v.length))})`;
  }
  const types: Record<LiveDialect, Record<typeof type, string>> = {
    postgres: { uuid: 'UUID', datetime: 'TIMESTAMP WITHOUT TIME ZONE', boolean: 'BOOLEAN', integer: 'INTEGER' },
    mysql: { uuid: 'CHAR(32)', datetime: 'DATETIME', boolean: 'BOOL', integer: 'INTEGER' },
    sqlite: { uuid: 'CHAR(32)', datetime: 'DATETIME', boolean: 'BOOLEAN', integer: 'INTEGER' },
  };
  return types[dialect][type];
}

/** A column as SQLAlchemy renders it in CREATE TABLE (server default before NOT NULL). */
function columnSql(dialect: LiveDialect, column: OldColumn): string {
  const parts = [quote(dialect, column.name), typeSql(dialect, column.type)];
  if (column.serverDefault !== undefined) parts.push(`DEFAULT '${column.serverDefault}'`);
  if (!column.nullable) parts.push('NOT NULL');
  return parts.join(' ');
}

function createTableSql(dialect: LiveDialect, table: OldTable): string[] {
  const lines = table.columns.map((column) => `\t${columnSql(dialect, column)}`);
  lines.push(`\tPRIMARY KEY (${quote(dialect, table.primaryKey)})`);
  if (table.referencesTriggers) lines.push(`\tFOREIGN KEY(id) REFERENCES ${quote(dialect, 'Triggers')} (id)`);
  const create = `CREATE TABLE ${quote(dialect, table.name)} (\n${lines.join(', \n')}\n)`;
  const indexes = table.indexes.map((i) => `CREATE INDEX ${quote(dialect, i.name)} ON ${quote(dialect, table.name)} (${quote(dialect, i.column)})`);
  return [create, ...indexes];
}

/** alembic's op.add_column (MySQL puts DEFAULT after NOT NULL, as SQLAlchemy's MySQL DDL does). */
function addColumnSql(dialect: LiveDialect, table: string, column: OldColumn): string {
  let definition = columnSql(dialect, column);
  if (dialect === 'mysql' && column.serverDefault !== undefined) {
    definition = `${quote(dialect, column.name)} ${typeSql(dialect, column.type)} NOT NULL DEFAULT '${column.serverDefault}'`;
  }
  return `ALTER TABLE ${quote(dialect, table)} ADD COLUMN ${definition}`;
}

const REVISION_INDEX: Record<UpstreamRevision, number> = {
  'pre-alembic': 0,
  b67b7649b282: 1,
  '526b6edac328': 2,
  '90d46abd44a3': 3,
  '9698388a0709': 4,
  '1c87ed320c78': 5,
};

/** True when `revision` includes the changes of `than` (pre-alembic counts as the initial shape). */
export function atLeast(revision: UpstreamRevision, than: UpstreamRevision): boolean {
  return REVISION_INDEX[revision] >= REVISION_INDEX[than];
}

/**
 * The statements that build a database at `revision`, in the order the Python tool ran them:
 * the initial tables, then each alembic migration, then the alembic_version row.
 */
export function upstreamSchemaSql(dialect: LiveDialect, revision: UpstreamRevision, options: { whitelistNotNull?: boolean } = {}): string[] {
  const enums = upstreamEnums(revision);
  const statements: string[] = [];
  if (dialect === 'postgres') {
    for (const [name, values] of Object.entries(enums)) {
      statements.push(`CREATE TYPE ${name} AS ENUM (${values.map((v) => `'${v}'`).join(', ')})`);
    }
  }
  for (const table of initialTables(enums)) statements.push(...createTableSql(dialect, table));
  if (atLeast(revision, '526b6edac328')) statements.push(...createTableSql(dialect, SCHEDULERS));
  if (atLeast(revision, '90d46abd44a3')) {
    statements.push(
      addColumnSql(dialect, 'Triggers', options.whitelistNotNull ? c('scheduler_whitelist', str(250), false, '[]') : c('scheduler_whitelist', str(250), true)),
    );
    statements.push(addColumnSql(dialect, 'Triggers', c('priority', 'integer', false, '0')));
  }
  if (atLeast(revision, '9698388a0709')) statements.push(addColumnSql(dialect, 'Triggers', c('git_branch', str(100), true)));
  if (atLeast(revision, '1c87ed320c78')) {
    // op.create_table with sa.Enum(name='jobstatus') creates the PostgreSQL type first.
    if (dialect === 'postgres') statements.push(`CREATE TYPE jobstatus AS ENUM (${JOBSTATUS.map((v) => `'${v}'`).join(', ')})`);
    statements.push(...createTableSql(dialect, JOBS_3_0(JOBSTATUS)));
    statements.push(addColumnSql(dialect, 'Logs', c('job_id', 'uuid', true)));
  }
  if (revision !== 'pre-alembic') {
    statements.push('CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)');
    statements.push(`INSERT INTO alembic_version (version_num) VALUES ('${revision}')`);
  }
  return statements;
}

/** Builds the database at `revision` on the connected, empty database. */
export async function buildUpstreamSchema(db: Kysely<Database>, dialect: LiveDialect, revision: UpstreamRevision, options: { whitelistNotNull?: boolean } = {}): Promise<void> {
  for (const statement of upstreamSchemaSql(dialect, revision, options)) await sql.raw(statement).execute(db);
}

/** Our 0.1.0's DDL for `dialect`, as it generated it (test/fixtures/schemas/). */
export function ours010Sql(dialect: LiveDialect): string[] {
  const text = readFileSync(fileURLToPath(new URL(`../fixtures/schemas/openorchestrator-ts-0.1.0.${dialect}.sql`, import.meta.url)), 'utf8');
  return text
    .split(/;\n/)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}

/** Builds a database in `shape` (tables, bookkeeping, no rows) on the connected, empty database. */
export async function buildShape(db: Kysely<Database>, dialect: LiveDialect, shape: Shape): Promise<void> {
  if (!shape.ours) return buildUpstreamSchema(db, dialect, shape.revision, shape);
  for (const statement of ours010Sql(dialect)) await sql.raw(statement).execute(db);
  // 0.1.0 recorded each of its migrations after running its statements.
  for (const name of ['oo-001-jobs', 'oo-002-logs-job-id', 'oo-003-indexes']) {
    await sql`INSERT INTO oo_migrations (name, applied_at) VALUES (${name}, ${'2026-06-01 12:00:00.000000'})`.execute(db);
  }
}

/** True when the shape has Jobs and Logs.job_id (3.0.0, or ours). */
export const hasJobs = (shape: Shape): boolean => shape.ours === true || atLeast(shape.revision, '1c87ed320c78');

/** Ids of the rows `insertPythonRows` writes, in the canonical dashed form. */
export const PYTHON_IDS = {
  trigger: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
  queueElement: '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d',
  log: 'f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f',
  /** a finished job a Python 3.0 Scheduler wrote (no trigger_id) */
  doneJob: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  /** a job a Python 3.0 Scheduler on machine PC1 is running now */
  runningJob: '1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e',
};

/** A naive datetime as the Python side writes it: microseconds, dropped by MySQL's plain DATETIME. */
function pyDate(dialect: LiveDialect, text: string): string {
  return dialect === 'mysql' ? text.slice(0, 19) : text;
}

const pyId = (dialect: LiveDialect, id: string): string => (dialect === 'postgres' ? id : id.replace(/-/g, ''));
const pyBool = (dialect: LiveDialect, value: boolean): unknown => (dialect === 'postgres' ? value : value ? 1 : 0);

/**
 * Rows as the Python tool writes them at `revision`: a scheduled trigger, a queue element in
 * progress, a log, a constant and (from 526b6edac328) a scheduler heartbeat.
 */
export function pythonRows(dialect: LiveDialect, revision: UpstreamRevision, shape: Pick<Shape, 'ours'> = {}): Record<string, Record<string, unknown>[]> {
  const trigger: Record<string, unknown> = {
    id: pyId(dialect, PYTHON_IDS.trigger),
    trigger_name: 'Nightly report',
    process_name: 'report',
    last_run: pyDate(dialect, '2024-03-04 02:00:01.250000'),
    process_path: 'C:\\robots\\report.py',
    process_args: '--full',
    process_status: 'IDLE',
    is_git_repo: pyBool(dialect, true),
    is_blocking: pyBool(dialect, false),
    type: 'SCHEDULED',
  };
  if (atLeast(revision, '90d46abd44a3')) Object.assign(trigger, { scheduler_whitelist: '["PC1", "PC2"]', priority: 7 });
  if (atLeast(revision, '9698388a0709')) trigger.git_branch = 'main';
  const rows: Record<string, Record<string, unknown>[]> = {
    Triggers: [trigger],
    Scheduled_Triggers: [{ id: trigger.id, cron_expr: '0 2 * * *', next_run: pyDate(dialect, '2024-03-05 02:00:00.000000') }],
    Queues: [
      {
        id: pyId(dialect, PYTHON_IDS.queueElement),
        queue_name: 'invoices',
        status: 'IN_PROGRESS',
        data: '{"invoice": 17}',
        reference: 'INV-17',
        created_date: pyDate(dialect, '2024-03-04 09:15:30.123456'),
        start_date: pyDate(dialect, '2024-03-04 09:16:00.500000'),
        end_date: null,
        message: null,
        created_by: 'report',
      },
    ],
    Logs: [
      {
        id: pyId(dialect, PYTHON_IDS.log),
        log_time: pyDate(dialect, '2024-03-04 09:16:01.000001'),
        log_level: 'ERROR',
        process_name: 'report',
        log_message: 'Invoice 17: “ø” not found',
      },
    ],
    Constants: [{ name: 'greeting', value: 'hello', changed_at: pyDate(dialect, '2024-03-01 12:00:00.000000') }],
  };
  if (atLeast(revision, '526b6edac328')) {
    rows.Schedulers = [{ machine_name: 'PC1', last_update: pyDate(dialect, '2024-03-04 09:16:02.000000'), latest_trigger: 'Nightly report', latest_trigger_time: null }];
  }
  if (atLeast(revision, '1c87ed320c78') || shape.ours) {
    const job = (id: string, status: string, start: string, end: string | null) => ({
      id: pyId(dialect, id),
      process_name: 'report',
      scheduler_name: 'PC1',
      start_time: pyDate(dialect, start),
      end_time: end === null ? null : pyDate(dialect, end),
      status,
      // Python Schedulers write no trigger_id; our 0.1.0 always did.
      ...(shape.ours ? { trigger_id: pyId(dialect, PYTHON_IDS.trigger) } : {}),
    });
    rows.Jobs = [job(PYTHON_IDS.doneJob, 'DONE', '2024-03-04 02:00:01.250000', '2024-03-04 02:03:11.500000'), job(PYTHON_IDS.runningJob, 'RUNNING', '2024-03-05 02:00:00.750000', null)];
    rows.Logs![0]!.job_id = pyId(dialect, PYTHON_IDS.doneJob);
  }
  return rows;
}

/** Inserts `pythonRows` with plain parameterised INSERTs, parents first. */
export async function insertPythonRows(db: Kysely<Database>, dialect: LiveDialect, revision: UpstreamRevision, shape: Pick<Shape, 'ours'> = {}): Promise<void> {
  for (const [table, rows] of Object.entries(pythonRows(dialect, revision, shape))) {
    for (const row of rows) {
      const columns = Object.keys(row);
      const names = sql.raw(columns.map((name) => quote(dialect, name)).join(', '));
      const values = sql.join(columns.map((name) => row[name]));
      await sql`INSERT INTO ${sql.raw(quote(dialect, table))} (${names}) VALUES (${values})`.execute(db);
    }
  }
}

/**
 * The statements the Python tools (3.0.0's `create_single_trigger`, SQLAlchemy 2.0's ORM flush)
 * send to create a single trigger without a whitelist: every Triggers column in the model's
 * order, `scheduler_whitelist` and `git_branch` bound as NULL, then the Single_Triggers row.
 * On a database whose whitelist is NOT NULL (made by 2.0.0/2.0.1) the first one fails.
 */
export function pythonCreateSingleTrigger(dialect: LiveDialect, id: string, name: string): { sql: string; parameters: unknown[] }[] {
  const encodedId = pyId(dialect, id);
  return [
    {
      sql:
        `INSERT INTO ${quote(dialect, 'Triggers')} (id, trigger_name, process_name, last_run, process_path, process_args, process_status, is_git_repo, git_branch, is_blocking, scheduler_whitelist, priority, type) ` +
        `VALUES (${placeholders(dialect, 13)})`,
      parameters: [encodedId, name, 'report', null, 'C:\\robots\\report.py', '', 'IDLE', pyBool(dialect, false), null, pyBool(dialect, false), null, 0, 'SINGLE'],
    },
    {
      sql: `INSERT INTO ${quote(dialect, 'Single_Triggers')} (id, next_run) VALUES (${placeholders(dialect, 2)})`,
      parameters: [encodedId, pyDate(dialect, '2030-01-01 00:00:00.000000')],
    },
  ];
}

/** The driver's own placeholders, as psycopg2 / pymysql / sqlite3 receive the statement. */
function placeholders(dialect: LiveDialect, n: number): string {
  return Array.from({ length: n }, (_, i) => (dialect === 'postgres' ? `$${i + 1}` : '?')).join(', ');
}
