/**
 * `upgrade`: brings an empty database, or one made by the Python OpenOrchestrator at any of its
 * revisions, to the schema of SCHEMA.md. Each step looks at what the database has and does only
 * what is missing, so a second run changes nothing and a half-finished run can be resumed.
 */
import { sql, type Kysely } from 'kysely';
import { SchemaError } from '../../errors.js';
import { now } from '../../time/clock.js';
import type { ClaimGuard, Dialect, EnumName } from '../dialects/dialect.js';
import { RETIRED_COUNTERS_SQL } from '../dialects/change-tracking.js';
import type { Database } from '../types.js';
import { addColumnSql, createIndexSql, createTableSql } from './ddl.js';
import {
  AUDIT,
  CLAIM_GUARDS,
  CLAIM_ORDER_INDEX,
  ENUM_VALUES,
  EXTRA_INDEXES,
  GIT_BRANCH,
  JOBS,
  JOBS_TRIGGER_ID,
  LOGS_JOB_ID,
  MIGRATIONS_TABLE,
  OPERATIONS_INDEXES,
  DASHBOARD_INDEXES,
  SCALE_INDEXES,
  DAILY_TABLES,
  JOB_OUTPUT,
  MONITORS,
  RETENTION,
  RETENTION_INDEXES,
  OPERATIONS_TABLES,
  PRIORITY,
  QUEUE_CHANGES,
  RUN_REQUESTS,
  SCHEDULERS,
  SCHEDULER_WHITELIST,
  TRIGGERS,
  UPSTREAM_HEAD,
  UPSTREAM_TABLES,
  type IndexDef,
  type TableDef,
} from './tables.js';

/** Python OpenOrchestrator's alembic revisions, oldest first (1c87ed320c78 is 3.0.0). */
export const UPSTREAM_REVISIONS = ['b67b7649b282', '526b6edac328', '90d46abd44a3', '9698388a0709', '1c87ed320c78'] as const;

/**
 * Our own migrations, oldest first, recorded in `oo_migrations`. oo-001 and oo-002 once created
 * Jobs and Logs.job_id before upstream 3.0 did the same; they are still recorded so that the
 * list only ever grows.
 */
export const OWN_MIGRATIONS = ['oo-001-jobs', 'oo-002-logs-job-id', 'oo-003-indexes', 'oo-004-jobs-trigger-id', 'oo-005-run-requests', 'oo-006-operations', 'oo-007-dashboard', 'oo-008-scale', 'oo-009-job-output', 'oo-010-retention', 'oo-011-audit', 'oo-012-whitelist-nullable', 'oo-013-claim-guard', 'oo-014-change-tracking', 'oo-015-claim-order', 'oo-016-timed-tracking', 'oo-017-slot-counters'] as const;

/** Every table this program knows, upstream first, in creation order. */
const KNOWN_TABLES: TableDef[] = [...UPSTREAM_TABLES, JOBS, RUN_REQUESTS, ...OPERATIONS_TABLES, ...DAILY_TABLES, RETENTION, AUDIT, QUEUE_CHANGES];

/** Columns whose type is an enum: their accepted values are completed on every upgrade. */
const ENUM_COLUMNS = KNOWN_TABLES.flatMap((table) =>
  table.columns.flatMap((column) =>
    column.type.kind === 'enum' ? [{ name: column.type.name, table: table.name, column: column.name, nullable: column.nullable }] : [],
  ),
);

/** One thing upgrade does: a line for the user and the statements that do it. */
export interface UpgradeStep {
  description: string;
  statements: string[];
  /** our migration this step completes, recorded in oo_migrations once its statements ran */
  records?: string;
  /** run instead of `statements` where no fixed SQL can do it (SQLite's table rebuild) */
  run?: (db: Kysely<Database>) => Promise<void>;
}

export interface SchemaState {
  tables: Set<string>;
  /** alembic_version.version_num, or undefined when the table is missing or empty */
  upstreamRevision?: string;
  ownMigrations: Set<string>;
}

/**
 * What `upgrade` plans from: the state plus the parts of the catalog it changes. Only tables
 * that exist have entries.
 */
export interface SchemaCatalog extends SchemaState {
  columns: Map<string, Set<string>>;
  indexes: Map<string, Set<string>>;
  /**
   * Values each enum accepts today: per type on PostgreSQL (a missing type has no entry or
   * []), per column on MySQL; no entry where enums are plain text (SQLite, MSSQL, Oracle).
   */
  enumValues: Map<EnumName, string[]>;
  /** NOT NULL columns of the tables whose nullability upgrade changes (Triggers), where read */
  notNull?: Map<string, Set<string>>;
  /** names of the database triggers in the schema (change tracking's among them, oo-014); undefined where the login cannot see them all */
  triggers: Set<string> | undefined;
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

/** Reads the state and, for the tables that exist, their columns, indexes and enum values. */
export async function readCatalog(db: Kysely<Database>, dialect: Dialect): Promise<SchemaCatalog> {
  const state = await readSchemaState(db, dialect);
  const triggers = await dialect.listTriggers(db);
  const catalog: SchemaCatalog = { ...state, columns: new Map(), indexes: new Map(), enumValues: new Map(), triggers: triggers && new Set(triggers) };
  for (const table of KNOWN_TABLES) {
    if (!state.tables.has(table.name)) continue;
    catalog.columns.set(table.name, new Set(await dialect.listColumns(db, table.name)));
    catalog.indexes.set(table.name, new Set(await dialect.listIndexes(db, table.name)));
  }
  if (state.tables.has(TRIGGERS.name)) catalog.notNull = new Map([[TRIGGERS.name, new Set(await dialect.listNotNullColumns(db, TRIGGERS.name))]]);
  for (const { name, table, column } of ENUM_COLUMNS) {
    // PostgreSQL enums are types that exist without a table; elsewhere they live in a column.
    if (dialect.name !== 'postgres' && !state.tables.has(table)) continue;
    const values = await dialect.listEnumValues(db, name, table, column);
    if (values !== undefined) catalog.enumValues.set(name, values);
  }
  return catalog;
}

/** The steps that would bring the database to the current schema, without running them. */
export async function planUpgrade(db: Kysely<Database>, dialect: Dialect): Promise<UpgradeStep[]> {
  const catalog = await readCatalog(db, dialect);
  assertKnownRevision(catalog);
  return computeSteps(dialect, catalog);
}

/** A catalog of a database with no tables. */
export function emptyCatalog(): SchemaCatalog {
  return { tables: new Set(), ownMigrations: new Set(), columns: new Map(), indexes: new Map(), enumValues: new Map(), triggers: new Set() };
}

/** Where a database stands, as every part that opens one checks it at connect. */
export interface SchemaCheck {
  /** e.g. `1c87ed320c78+oo-005-run-requests`, `9698388a0709`, `empty` */
  revision: string;
  /** true when `upgrade` would change nothing */
  current: boolean;
  /** what `upgrade` would do first, when not current */
  firstStep?: string;
}

/**
 * The Orchestrator's (and upgrade's) check, with the admin login that sees every table: reads
 * the catalog and tells whether the schema is what this program needs. "Current" means
 * `upgrade` would plan no step, so a half-upgraded database (a Jobs table without trigger_id, a
 * missing index) is not current whatever its revision says. Throws SchemaError for a database
 * that a newer program changed.
 */
export async function checkSchema(db: Kysely<Database>, dialect: Dialect): Promise<SchemaCheck> {
  const catalog = await readCatalog(db, dialect);
  assertKnownRevision(catalog);
  const steps = computeSteps(dialect, catalog);
  return { revision: describeRevision(catalog), current: steps.length === 0, firstStep: steps[0]?.description };
}

/** Columns of ours that the Scheduler and robots write, checked where they can see the table. */
const COLUMNS_IN_USE: { table: string; column: string; step: string }[] = [
  { table: JOBS.name, column: JOBS_TRIGGER_ID.name, step: 'add column Jobs.trigger_id (which trigger started a job)' },
  { table: 'Logs', column: LOGS_JOB_ID.name, step: 'add column Logs.job_id (upstream revision 1c87ed320c78)' },
];

/**
 * The check of the parts that use a database but may not see all of it (the Scheduler, under a
 * least-privilege login, sees only the tables it has rights on): the recorded revision and
 * migrations, and the columns of ours that it writes. Throws SchemaError for a newer database.
 */
export async function checkSchemaInUse(db: Kysely<Database>, dialect: Dialect): Promise<SchemaCheck> {
  const state = await readSchemaState(db, dialect);
  assertKnownRevision(state);
  const revision = describeRevision(state);
  if (revision === 'empty') return { revision, current: false, firstStep: 'create every table' };
  if (state.upstreamRevision !== UPSTREAM_HEAD) return { revision, current: false, firstStep: `bring upstream revision ${state.upstreamRevision ?? 'none'} to ${UPSTREAM_HEAD}` };
  const missing = OWN_MIGRATIONS.find((m) => !state.ownMigrations.has(m));
  if (missing) return { revision, current: false, firstStep: `apply migration ${missing} of this program` };
  for (const { table, column, step } of COLUMNS_IN_USE) {
    if (!state.tables.has(table)) continue;
    if (!(await dialect.listColumns(db, table)).includes(column)) return { revision, current: false, firstStep: step };
  }
  // Without them an idle Scheduler would not see new elements (it polls only what they track);
  // where the login cannot see them (MySQL), the poll's periodic full probe is the safety net.
  const triggers = await dialect.listTriggers(db);
  const untracked = triggers ? missingTrackingTriggers(dialect, new Set(triggers)) : [];
  if (untracked.length > 0) {
    return { revision, current: false, firstStep: `create change-tracking triggers (missing: ${untracked.join(', ')})` };
  }
  return { revision, current: true };
}

/**
 * The one-line SchemaError for a database that is not current, naming what to do.
 *
 * @example
 *   const check = await checkSchema(store.db, store.dialect);
 *   if (!check.current) throw schemaNotCurrent(check);
 */
export function schemaNotCurrent(check: SchemaCheck): SchemaError {
  if (check.revision === 'empty') {
    return new SchemaError('the database has no OpenOrchestrator tables yet: run `openorchestrator upgrade` on it once to create them');
  }
  return new SchemaError(
    `the database schema (${check.revision}) is older than this program needs (it would first ${check.firstStep ?? 'complete the schema'}): run \`openorchestrator upgrade\` on it once (the Python tools keep working after it)`,
  );
}

/** The complete DDL for an empty database, in order (used for dialects tested by SQL text). */
export function freshSchemaSql(dialect: Dialect): string[] {
  return computeSteps(dialect, emptyCatalog()).flatMap((step) => step.statements);
}

/**
 * The steps from a database as `catalog` describes it to the current schema. Pure: the same
 * catalog always gives the same steps, so plans can be checked without a server.
 */
export function computeSteps(dialect: Dialect, catalog: SchemaCatalog): UpgradeStep[] {
  const steps: UpgradeStep[] = [];
  const has = (table: string) => catalog.tables.has(table);
  const q = dialect.quote;
  const isPostgres = dialect.name === 'postgres';
  const createTable = (table: TableDef, why: string): UpgradeStep => ({
    description: `create table ${table.name}${why}`,
    statements: [createTableSql(dialect, table), ...table.indexes.map((index) => createIndexSql(dialect, table.name, index))],
  });
  const missingIndexes = (table: string, indexes: IndexDef[]) => indexes.filter((index) => !catalog.indexes.get(table)?.has(index.name));

  // PostgreSQL enum types must exist before the tables that use them; missing values are added below.
  if (isPostgres) {
    for (const name of Object.keys(ENUM_VALUES) as EnumName[]) {
      if ((catalog.enumValues.get(name) ?? []).length === 0) {
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
  // Indexes of tables that exist but lack them: an early v1.x database, or a run interrupted
  // between CREATE TABLE and CREATE INDEX.
  for (const table of KNOWN_TABLES) {
    if (!has(table.name)) continue;
    for (const index of missingIndexes(table.name, table.indexes)) {
      steps.push({ description: `create index ${index.name} on ${table.name}`, statements: [createIndexSql(dialect, table.name, index)] });
    }
  }
  // 90d46abd44a3 and 9698388a0709 add columns to an existing Triggers table.
  if (has(TRIGGERS.name)) {
    const columns = catalog.columns.get(TRIGGERS.name) ?? new Set<string>();
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
  const extended = new Set<EnumName>();
  for (const { name, table, column, nullable } of ENUM_COLUMNS) {
    const current = catalog.enumValues.get(name);
    // A PostgreSQL type serves every column that uses it: extend it once.
    if (current === undefined || current.length === 0 || extended.has(name)) continue;
    const missing = ENUM_VALUES[name].filter((v) => !current.includes(v));
    if (missing.length === 0) continue;
    extended.add(name);
    // PostgreSQL appends values to the type; MySQL redefines the column with the old values
    // first, so the stored index of every existing value stays what it was.
    steps.push({
      description: `add ${missing.join(', ')} to enum ${name}${isPostgres ? '' : ` (${table}.${column})`}`,
      statements: dialect.extendEnumSql(name, table, column, nullable, isPostgres ? missing : [...current, ...missing]),
    });
  }
  // 1c87ed320c78 (3.0.0): Jobs and Logs.job_id. Our Jobs carries trigger_id and indexes beside
  // upstream's columns; a Jobs table that upstream made gets them under oo-004 below.
  if (!has(JOBS.name)) steps.push(createTable(JOBS, ' (upstream revision 1c87ed320c78)'));
  // Logs exists by now (created above from the base definition, which lacks job_id, if missing).
  if (!catalog.columns.get('Logs')?.has(LOGS_JOB_ID.name)) {
    steps.push({ description: 'add column Logs.job_id (upstream revision 1c87ed320c78)', statements: [addColumnSql(dialect, 'Logs', LOGS_JOB_ID)] });
  }
  // Stamped only once the shape is 3.0's, so that Python 3.0's own `alembic upgrade head` finds
  // nothing to do (it would fail creating Jobs and jobstatus a second time).
  if (catalog.upstreamRevision !== UPSTREAM_HEAD) {
    const statements = has('alembic_version')
      ? [`DELETE FROM ${q('alembic_version')}`]
      : [`CREATE TABLE ${q('alembic_version')} (\n  ${q('version_num')} ${dialect.columnType({ kind: 'string', length: 32 })} NOT NULL,\n  CONSTRAINT ${q('alembic_version_pkc')} PRIMARY KEY (${q('version_num')})\n)`];
    statements.push(`INSERT INTO ${q('alembic_version')} (${q('version_num')}) VALUES ('${UPSTREAM_HEAD}')`);
    steps.push({ description: `set upstream revision ${catalog.upstreamRevision ?? 'none'} -> ${UPSTREAM_HEAD}`, statements });
  }

  // Our own additions, recorded in oo_migrations.
  if (!has(MIGRATIONS_TABLE)) {
    steps.push({
      description: `create table ${MIGRATIONS_TABLE} (this program's migration record)`,
      statements: [
        `CREATE TABLE ${q(MIGRATIONS_TABLE)} (\n  ${q('name')} ${dialect.columnType({ kind: 'string', length: 100 })} NOT NULL,\n  ${q('applied_at')} ${dialect.columnType({ kind: 'datetime' })} NOT NULL,\n  PRIMARY KEY (${q('name')})\n)`,
      ],
    });
  }
  const done = catalog.ownMigrations;
  // Jobs and Logs.job_id are upstream's now (created above): these two only complete the record.
  if (!done.has('oo-001-jobs')) steps.push({ description: 'record table Jobs', statements: [], records: 'oo-001-jobs' });
  if (!done.has('oo-002-logs-job-id')) steps.push({ description: 'record column Logs.job_id', statements: [], records: 'oo-002-logs-job-id' });
  if (!done.has('oo-003-indexes')) {
    // Only the missing ones: a run interrupted between two CREATE INDEX must be repeatable.
    const missing = EXTRA_INDEXES.filter(({ table, index }) => missingIndexes(table, [index]).length > 0);
    steps.push({
      description: `create indexes ${EXTRA_INDEXES.map((i) => i.index.name).join(', ')}`,
      statements: missing.map(({ table, index }) => createIndexSql(dialect, table, index)),
      records: 'oo-003-indexes',
    });
  }
  // A Jobs table made by Python 3.0 lacks trigger_id; one this program made has it (or gets it
  // in CREATE TABLE above). Either way it is checked, not assumed, so a half-upgraded database
  // whose record says done still gets the column.
  if (has(JOBS.name) && !catalog.columns.get(JOBS.name)?.has(JOBS_TRIGGER_ID.name)) {
    steps.push({
      description: 'add column Jobs.trigger_id (which trigger started a job)',
      statements: [addColumnSql(dialect, JOBS.name, JOBS_TRIGGER_ID)],
      ...(done.has('oo-004-jobs-trigger-id') ? {} : { records: 'oo-004-jobs-trigger-id' }),
    });
  } else if (!done.has('oo-004-jobs-trigger-id')) {
    steps.push({ description: 'record column Jobs.trigger_id', statements: [], records: 'oo-004-jobs-trigger-id' });
  }
  if (!has(RUN_REQUESTS.name)) {
    steps.push({ ...createTable(RUN_REQUESTS, ' ("run now" requests of queue triggers)'), ...(done.has('oo-005-run-requests') ? {} : { records: 'oo-005-run-requests' }) });
  } else if (!done.has('oo-005-run-requests')) {
    steps.push({ description: `record table ${RUN_REQUESTS.name}`, statements: [], records: 'oo-005-run-requests' });
  }
  steps.push(...operationsSteps(dialect, catalog, missingIndexes));
  // oo-007-dashboard: the indexes the dashboard's throughput chart and the stale test read.
  steps.push(...indexSteps(dialect, catalog, missingIndexes, DASHBOARD_INDEXES, 'oo-007-dashboard', 'record the dashboard index'));
  steps.push(...indexSteps(dialect, catalog, missingIndexes, SCALE_INDEXES, 'oo-008-scale', 'record the scale indexes'));
  steps.push(...tableSteps(dialect, catalog, [{ table: JOB_OUTPUT, purpose: "robots' output" }, { table: MONITORS, purpose: 'monitor heartbeats' }], 'oo-009-job-output', 'record the job output and monitor tables'));
  steps.push(...retentionSteps(dialect, catalog, missingIndexes));
  // oo-011-audit: who changed what through the Orchestrator.
  steps.push(...tableSteps(dialect, catalog, [{ table: AUDIT, purpose: 'changes made through the Orchestrator' }], 'oo-011-audit', 'record the audit table'));
  steps.push(...whitelistNullableSteps(dialect, catalog));
  steps.push(...claimGuardSteps(dialect, catalog));
  steps.push(...trackingSteps(dialect, catalog));
  steps.push(...claimOrderSteps(dialect, catalog, missingIndexes));
  return steps;
}

/** The server default the 2.0.0/2.0.1 migration gave Triggers.scheduler_whitelist; it may stay. */
const WHITELIST_2_0_DEFAULT = "'[]'";

/**
 * oo-012-whitelist-nullable: the 2.0.0/2.0.1 migration made Triggers.scheduler_whitelist NOT
 * NULL, and both Python branches write NULL for a trigger without a whitelist, so the Python
 * tools cannot create triggers there. Relaxed to nullable (3.0's fresh shape), every row kept;
 * this program still writes '[]'. Checked, not assumed: a column already nullable is left alone.
 */
function whitelistNullableSteps(dialect: Dialect, catalog: SchemaCatalog): UpgradeStep[] {
  const migration = 'oo-012-whitelist-nullable';
  const steps: UpgradeStep[] = [];
  if (catalog.notNull?.get(TRIGGERS.name)?.has(SCHEDULER_WHITELIST.name)) {
    const change = dialect.dropNotNull(TRIGGERS.name, SCHEDULER_WHITELIST.name, SCHEDULER_WHITELIST.type, WHITELIST_2_0_DEFAULT);
    steps.push({
      description: 'make Triggers.scheduler_whitelist nullable (made NOT NULL by Python 2.0.0/2.0.1; its tools write NULL)',
      ...(typeof change === 'function' ? { statements: [], run: change } : { statements: change }),
    });
  }
  if (!catalog.ownMigrations.has(migration)) {
    const last = steps.at(-1);
    if (last) last.records = migration;
    else steps.push({ description: 'record the nullable scheduler whitelist', statements: [], records: migration });
  }
  return steps;
}

/**
 * oo-013-claim-guard: the database triggers of CLAIM_GUARDS, planned from the catalog, not the
 * record: a later upstream migration that rebuilds Queues or Triggers (SQLite's batch mode)
 * drops them, and the next `upgrade` (and the schema check, which plans the same) sees it.
 */
function claimGuardSteps(dialect: Dialect, catalog: SchemaCatalog): UpgradeStep[] {
  const recorded = catalog.ownMigrations.has('oo-013-claim-guard');
  // A login that cannot see the triggers (MySQL without TRIGGER) goes by the record.
  const missing = (guard: ClaimGuard) => {
    if (!catalog.tables.has(guard.table)) return true;
    return catalog.triggers === undefined ? !recorded : !catalog.triggers.has(guard.name);
  };
  const steps: UpgradeStep[] = CLAIM_GUARDS.filter(missing).map((guard) => ({
    description: `${recorded ? 'restore' : 'create'} claim guard ${guard.name} on ${guard.table} (${guard.column} becomes ${guard.to} only from ${guard.from}${recorded ? '; something dropped it' : ''})`,
    statements: dialect.claimGuardSql(guard),
  }));
  if (!recorded) {
    const last = steps.at(-1);
    if (last) last.records = 'oo-013-claim-guard';
    else steps.push({ description: 'record the claim guards', statements: [], records: 'oo-013-claim-guard' });
  }
  return steps;
}

/**
 * oo-014-change-tracking: the counters table and the database triggers that bump it
 * (src/db/dialects/change-tracking.ts). Triggers are found by name in the catalog: when any is
 * missing (dropped by hand, or lost when a table was rebuilt), all are put back.
 * oo-016-timed-tracking: the same triggers count changes to single and scheduled triggers too
 * (so an idle poll reads only the counters). oo-017-slot-counters: one counter per connection
 * slot instead of per queue (so the counters' sum costs the same however many queues there are),
 * and oo-014's per-queue rows deleted. Each is made anew once on a database that had oo-014's
 * triggers; the remake always makes the newest triggers.
 */
function trackingSteps(dialect: Dialect, catalog: SchemaCatalog): UpgradeStep[] {
  const steps = tableSteps(dialect, catalog, [{ table: QUEUE_CHANGES, purpose: 'change counters the idle Scheduler reads' }], 'oo-014-change-tracking', 'record the change tracking');
  const timed = 'oo-016-timed-tracking';
  const slots = 'oo-017-slot-counters';
  const hasTimed = catalog.ownMigrations.has(timed);
  const recordTimed: UpgradeStep = { description: 'record the tracking of timed triggers', statements: [], records: timed };
  const recordSlots: UpgradeStep = { description: 'record the per-connection change counters', statements: [], records: slots };
  const tracks = dialect.trackingTriggers.length > 0;
  if (catalog.ownMigrations.has('oo-014-change-tracking') && !catalog.ownMigrations.has(slots)) {
    if (!tracks) return [...steps, ...(hasTimed ? [] : [recordTimed]), recordSlots];
    // Every trigger is made again (they keep their names and change their bodies).
    const what = hasTimed ? 'one counter per connection, not per queue' : 'changes to single and scheduled triggers counted too, one counter per connection';
    return [
      ...steps,
      { description: `remake change-tracking triggers (${what})`, statements: dialect.trackingSql(), ...(hasTimed ? {} : { records: timed }) },
      { description: 'delete the per-queue change counters (counted per connection now)', statements: [RETIRED_COUNTERS_SQL], records: slots },
    ];
  }
  // Unseen triggers are taken as there once recorded; before that, creating them is the plan
  // (and a login that may not create them gets the database's one-line refusal).
  const unseen = catalog.ownMigrations.has('oo-014-change-tracking') ? [] : [...dialect.trackingTriggers];
  const missing = catalog.triggers ? missingTrackingTriggers(dialect, catalog.triggers) : unseen;
  if (missing.length > 0) {
    const which = missing.length === dialect.trackingTriggers.length ? '' : ` (missing: ${missing.join(', ')})`;
    const step: UpgradeStep = { description: `create change-tracking triggers${which}`, statements: dialect.trackingSql() };
    // Recorded once the triggers exist: the table's step (or the record-only step) comes first.
    const record = steps.find((s) => s.records);
    if (record) {
      delete record.records;
      step.records = 'oo-014-change-tracking';
    }
    steps.push(step);
  }
  // On a database without oo-014, the triggers made above are oo-016's and oo-017's already.
  if (steps.some((s) => s.records === 'oo-014-change-tracking')) {
    if (!hasTimed) steps.push(recordTimed);
    if (!catalog.ownMigrations.has(slots)) steps.push(recordSlots);
  }
  return steps;
}

/** The change-tracking triggers a dialect needs that `present` lacks (names compared case-insensitively). */
export function missingTrackingTriggers(dialect: Dialect, present: ReadonlySet<string>): string[] {
  const have = new Set([...present].map((name) => name.toLowerCase()));
  return dialect.trackingTriggers.filter((name) => !have.has(name));
}

/**
 * oo-010-retention: the table of retention periods and the indexes the purge's batches are
 * chosen through. Self-contained like operationsSteps: only what is missing, the last step
 * planned records the migration.
 */
function retentionSteps(dialect: Dialect, catalog: SchemaCatalog, missingIndexes: (table: string, indexes: IndexDef[]) => IndexDef[]): UpgradeStep[] {
  const steps: UpgradeStep[] = [];
  if (!catalog.tables.has(RETENTION.name)) {
    steps.push({ description: `create table ${RETENTION.name} (how long history is kept)`, statements: [createTableSql(dialect, RETENTION)] });
  }
  steps.push(...indexSteps(dialect, catalog, missingIndexes, RETENTION_INDEXES, 'oo-010-retention', 'record the retention table'));
  return steps;
}

/**
 * A migration that only adds indexes: one step per missing index, the last of them recording
 * the migration (or a step that only records it, when every index is there already), so an
 * interrupted run is completed and recorded by the next one.
 */
function indexSteps(
  dialect: Dialect,
  catalog: SchemaCatalog,
  missingIndexes: (table: string, indexes: IndexDef[]) => IndexDef[],
  indexes: { table: string; index: IndexDef }[],
  migration: (typeof OWN_MIGRATIONS)[number],
  recordDescription: string,
): UpgradeStep[] {
  const steps: UpgradeStep[] = indexes.filter(({ table, index }) => missingIndexes(table, [index]).length > 0).map(({ table, index }) => ({
    description: `create index ${index.name} on ${table}`,
    statements: [createIndexSql(dialect, table, index)],
  }));
  if (!catalog.ownMigrations.has(migration)) {
    const last = steps.at(-1);
    if (last) last.records = migration;
    else steps.push({ description: recordDescription, statements: [], records: migration });
  }
  return steps;
}

/**
 * A migration that only creates tables of ours: one step per missing table (with its indexes),
 * the last of them recording the migration, as indexSteps does.
 */
function tableSteps(dialect: Dialect, catalog: SchemaCatalog, tables: { table: TableDef; purpose: string }[], migration: (typeof OWN_MIGRATIONS)[number], recordDescription: string): UpgradeStep[] {
  const steps: UpgradeStep[] = tables
    .filter(({ table }) => !catalog.tables.has(table.name))
    .map(({ table, purpose }) => ({
      description: `create table ${table.name} (${purpose})`,
      statements: [createTableSql(dialect, table), ...table.indexes.map((index) => createIndexSql(dialect, table.name, index))],
    }));
  if (!catalog.ownMigrations.has(migration)) {
    const last = steps.at(-1);
    if (last) last.records = migration;
    else steps.push({ description: recordDescription, statements: [], records: migration });
  }
  return steps;
}

/** Why each table of oo-006-operations exists, as upgrade reports it. */
const OPERATIONS_PURPOSE: Record<string, string> = {
  oo_queue_settings: 'queue retry settings',
  oo_element_attempts: 'queue element attempts',
  oo_element_events: 'queue element history',
  oo_alert_channels: 'alert channels',
  oo_alert_rules: 'alert rules',
  oo_alert_incidents: 'alert incidents',
  oo_alert_notifications: 'alert notification outbox',
};

/**
 * oo-006-operations: the tables of retries and alerts and the Jobs index the "job failed" rule
 * reads. Only what is missing is planned; the last step planned records the migration, so an
 * interrupted run is completed (and recorded) by the next one.
 */
function operationsSteps(dialect: Dialect, catalog: SchemaCatalog, missingIndexes: (table: string, indexes: IndexDef[]) => IndexDef[]): UpgradeStep[] {
  const steps: UpgradeStep[] = [];
  for (const table of OPERATIONS_TABLES) {
    if (catalog.tables.has(table.name)) continue;
    steps.push({
      description: `create table ${table.name} (${OPERATIONS_PURPOSE[table.name] ?? 'operations'})`,
      statements: [createTableSql(dialect, table), ...table.indexes.map((index) => createIndexSql(dialect, table.name, index))],
    });
  }
  for (const { table, index } of OPERATIONS_INDEXES) {
    if (missingIndexes(table, [index]).length === 0) continue;
    steps.push({ description: `create index ${index.name} on ${table}`, statements: [createIndexSql(dialect, table, index)] });
  }
  if (!catalog.ownMigrations.has('oo-006-operations')) {
    const last = steps.at(-1);
    if (last) last.records = 'oo-006-operations';
    else steps.push({ description: 'record the operations tables', statements: [], records: 'oo-006-operations' });
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
  const before = await readCatalog(db, dialect);
  assertKnownRevision(before);
  const steps = computeSteps(dialect, before);
  const total = steps.length;
  for (const [i, step] of steps.entries()) {
    onStep(`[${i + 1}/${total}] ${step.description}`);
    // DDL is not transactional on MySQL and Oracle, so statements run one by one; each step
    // re-reads the catalog when planned, which makes an interrupted run safe to repeat.
    for (const statement of step.statements) await sql.raw(statement).execute(db);
    if (step.run) await step.run(db);
    if (step.records) {
      await db.insertInto('oo_migrations').values({ name: step.records, applied_at: dialect.encodeDate(now()) }).execute();
    }
  }
  const after = await readSchemaState(db, dialect);
  return { from: describeRevision(before), to: describeRevision(after), steps: steps.map((s) => s.description) };
}

/**
 * oo-015-claim-order: the claim index gets `id` after created_date (CLAIM_ORDER_INDEX), so equal
 * created_dates (one bulk insert) are taken in id order without a sort of the ties (PostgreSQL
 * sorted 10,000 tied rows on every claim: 2.8 ms instead of 0.04). Where oo-003 makes the index
 * in this same run it is made so already; elsewhere it is remade (dropped, then created: a run
 * interrupted in between creates it next time).
 */
function claimOrderSteps(dialect: Dialect, catalog: SchemaCatalog, missingIndexes: (table: string, indexes: IndexDef[]) => IndexDef[]): UpgradeStep[] {
  const migration = 'oo-015-claim-order';
  if (catalog.ownMigrations.has(migration)) return [];
  const { table, index } = CLAIM_ORDER_INDEX;
  const exists = missingIndexes(table, [index]).length === 0;
  if (!exists && !catalog.ownMigrations.has('oo-003-indexes')) return [{ description: 'record the claim order index', statements: [], records: migration }];
  return [
    {
      description: `${exists ? 'remake' : 'create'} index ${index.name} on ${table} with id after created_date (one claim order for equal times, without a sort)`,
      statements: [...(exists ? [dialect.dropIndexSql(table, index.name)] : []), createIndexSql(dialect, table, index)],
      records: migration,
    },
  ];
}
