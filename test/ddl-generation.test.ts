/**
 * MSSQL and Oracle without servers: the DDL `upgrade` would run (fresh, and planned from old
 * Python states through the pure `computeSteps`), and the SQL the store's queries compile to.
 */
import { DummyDriver, Kysely, MssqlAdapter, MssqlIntrospector, MssqlQueryCompiler, type CompiledQuery } from 'kysely';
import { OracleAdapter, OracleIntrospector, OracleQueryCompiler } from 'kysely-oracledb';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConnectionString } from '../src/config/connection-string.js';
import type { Dialect, EnumName } from '../src/db/dialects/dialect.js';
import { mssqlDialect } from '../src/db/dialects/mssql.js';
import { mysqlDialect, mysqlTableName } from '../src/db/dialects/mysql.js';
import { OracleNamingPlugin, oracleDialect } from '../src/db/dialects/oracle.js';
import { postgresDialect } from '../src/db/dialects/postgres.js';
import type { Store } from '../src/db/open.js';
import { CLAIM_GUARDS, DAILY_TABLES, DASHBOARD_INDEXES, OPERATIONS_INDEXES, OPERATIONS_TABLES, RETENTION, RETENTION_INDEXES, SCALE_INDEXES } from '../src/db/schema/tables.js';
import { computeSteps, emptyCatalog, freshSchemaSql, type SchemaCatalog } from '../src/db/schema/upgrade.js';
import { auditChoices, countAudit, listAudit, recordAudit } from '../src/db/store/audit.js';
import { createConstant, listConstants } from '../src/db/store/constants.js';
import { listJobs, startJob } from '../src/db/store/jobs.js';
import { createLog, lastErrorsOfJobs, listLogs } from '../src/db/store/logs.js';
import { countQueueActivity, countRunsPerHour, hourBoundaries, readTableSizes } from '../src/db/store/dashboard.js';
import { deleteExpiredBatch, listRetention, saveRetention, selectExpiredBatch } from '../src/db/store/retention.js';
import { listQueueBacklogs } from '../src/db/store/health.js';
import {
  bulkCreateQueueElements,
  createQueueElement,
  getNextQueueElement,
  getQueueElements,
  listElementsStartedBetween,
  listInProgressPastTimeout,
  listStaleInProgress,
  retryStaleInProgress,
} from '../src/db/store/queues.js';
import { heartbeat, listSchedulers } from '../src/db/store/schedulers.js';
import { appendJobOutput, listJobOutput } from '../src/db/store/job-output.js';
import { listMonitors, monitorBeat } from '../src/db/store/monitors.js';
import { createTrigger, listDueTriggers, listTriggers, setTriggerStatus } from '../src/db/store/triggers.js';
import type { Database } from '../src/db/types.js';
import { CONTRACT_ENUMS, CONTRACT_TABLES } from './helpers/contract.js';

const HEAD = '1c87ed320c78';
const width = (name: string) => Math.max(...CONTRACT_ENUMS[name]!.map((v) => v.length));
const createTable = (statements: string[], quoted: string) => statements.find((s) => s.startsWith(`CREATE TABLE ${quoted} (`));

const INITIAL_TRIGGER_COLUMNS = [
  ...['id', 'trigger_name', 'process_name', 'last_run', 'process_path'],
  ...['process_args', 'process_status', 'is_git_repo', 'is_blocking', 'type'],
];
const INITIAL_TABLES = ['Constants', 'Credentials', 'Logs', 'Queues', 'Triggers', 'Single_Triggers', 'Scheduled_Triggers', 'Queue_Triggers'];

/** A database the Python tool made at b67b7649b282 (or, without alembic_version, v1.x). */
function pythonCatalog(options: { alembic?: string; queueIndexes?: boolean; enums?: Partial<Record<string, string[]>> }): SchemaCatalog {
  const catalog = emptyCatalog();
  for (const table of INITIAL_TABLES) catalog.tables.add(table);
  if (options.alembic) {
    catalog.tables.add('alembic_version');
    catalog.upstreamRevision = options.alembic;
  }
  catalog.columns.set('Triggers', new Set(INITIAL_TRIGGER_COLUMNS));
  catalog.columns.set('Logs', new Set(['id', 'log_time', 'log_level', 'process_name', 'log_message']));
  catalog.indexes.set('Queues', new Set(options.queueIndexes === false ? [] : ['ix_Queues_created_date', 'ix_Queues_queue_name']));
  for (const [name, values] of Object.entries(options.enums ?? {})) catalog.enumValues.set(name as EnumName, values!);
  return catalog;
}

/**
 * A database the 2.0.0/2.0.1 migrations made and Python 3.0 upgraded: stamped 3.0.0, every
 * upstream column, but scheduler_whitelist NOT NULL (the catalog as readCatalog fills it).
 */
function python201Catalog(): SchemaCatalog {
  const catalog = pythonCatalog({ alembic: HEAD });
  for (const table of ['Schedulers', 'Jobs']) catalog.tables.add(table);
  catalog.columns.set('Triggers', new Set([...INITIAL_TRIGGER_COLUMNS, 'scheduler_whitelist', 'priority', 'git_branch']));
  catalog.columns.set('Logs', new Set(['id', 'log_time', 'log_level', 'process_name', 'log_message', 'job_id']));
  catalog.columns.set('Jobs', new Set(['id', 'process_name', 'scheduler_name', 'start_time', 'end_time', 'status']));
  catalog.notNull = new Map([['Triggers', new Set(['id', 'trigger_name', 'scheduler_whitelist', 'priority'])]]);
  return catalog;
}

/** Upstream 3.0.0's additions, planned before the stamp. */
const JOBS_STEPS = ['create table Jobs (upstream revision 1c87ed320c78)', 'add column Logs.job_id (upstream revision 1c87ed320c78)'];
const OWN_STEPS = [
  "create table oo_migrations (this program's migration record)",
  'record table Jobs',
  'record column Logs.job_id',
  'create indexes ix_Logs_log_time, ix_Logs_process_name_log_time, ix_Logs_job_id, ix_Queues_queue_name_status_created_date',
  'record column Jobs.trigger_id',
  'create table oo_run_requests ("run now" requests of queue triggers)',
  'create table oo_queue_settings (queue retry settings)',
  'create table oo_element_attempts (queue element attempts)',
  'create table oo_element_events (queue element history)',
  'create table oo_alert_channels (alert channels)',
  'create table oo_alert_rules (alert rules)',
  'create table oo_alert_incidents (alert incidents)',
  'create table oo_alert_notifications (alert notification outbox)',
  'create index ix_Jobs_end_time on Jobs',
  'create index ix_Queues_end_date on Queues',
  'create index ix_Jobs_status_start_time on Jobs',
  'create index ix_Jobs_end_start_status on Jobs',
  'create index ix_Jobs_status_end_time on Jobs',
  'create index ix_Queues_status_start_date on Queues',
  'create index ix_Single_Triggers_next_run on Single_Triggers',
  'create index ix_Scheduled_Triggers_next_run on Scheduled_Triggers',
  "create table oo_job_output (robots' output)",
  'create table oo_monitors (monitor heartbeats)',
  'create table oo_retention (how long history is kept)',
  'create index ix_Queues_queue_name_end_date on Queues',
  'create index ix_oo_events_event_at on oo_element_events',
  'create index ix_oo_incidents_cleared_at on oo_alert_incidents',
  'create table oo_audit (changes made through the Orchestrator)',
  'record the nullable scheduler whitelist',
  'create claim guard oo_claim_guard_queues on Queues (status becomes IN_PROGRESS only from NEW)',
  'create claim guard oo_claim_guard_triggers on Triggers (process_status becomes RUNNING only from IDLE)',
  // No change-tracking triggers on SQL Server and Oracle: their Scheduler probes every queue.
  'create table oo_queue_changes (change counters the idle Scheduler reads)',
  'record the tracking of timed triggers',
  'record the per-connection change counters',
  'record the claim order index',
];

describe('MSSQL DDL', () => {
  const statements = freshSchemaSql(mssqlDialect);

  it('creates the operations tables with T-SQL types and the unique incidents key', () => {
    expect(statements).toContain('CREATE UNIQUE INDEX [ux_oo_incidents_open_key] ON [oo_alert_incidents] ([open_key])');
    expect(createTable(statements, '[oo_element_attempts]')).toContain('[element_id] UNIQUEIDENTIFIER NOT NULL');
    expect(createTable(statements, '[oo_alert_rules]')).toContain('[enabled] BIT NOT NULL');
    expect(statements).toContain('CREATE INDEX [ix_Jobs_end_time] ON [Jobs] ([end_time])');
    expect(statements).toContain('CREATE INDEX [ix_Queues_status_start_date] ON [Queues] ([status], [start_date])');
    expect(statements).toContain('CREATE INDEX [ix_Scheduled_Triggers_next_run] ON [Scheduled_Triggers] ([next_run])');
  });

  it('creates the tables of oo-009-job-output: output lines keyed by job and line number, monitor heartbeats', () => {
    expect(createTable(statements, '[oo_job_output]')).toBe(
      [
        'CREATE TABLE [oo_job_output] (',
        '  [job_id] UNIQUEIDENTIFIER NOT NULL,',
        '  [seq] INTEGER NOT NULL,',
        '  [stream] NVARCHAR(6) NOT NULL,',
        '  [line_time] DATETIME NOT NULL,',
        '  [line_text] NVARCHAR(1000) NULL,',
        '  PRIMARY KEY ([job_id], [seq])',
        ')',
      ].join('\n'),
    );
    expect(createTable(statements, '[oo_monitors]')).toContain('[name] NVARCHAR(100) NOT NULL');
    expect(createTable(statements, '[oo_monitors]')).toContain('PRIMARY KEY ([name])');
  });

  it('creates the retention table with a two-column key and the purge\'s indexes', () => {
    expect(createTable(statements, '[oo_retention]')).toBe(
      [
        'CREATE TABLE [oo_retention] (',
        '  [scope] NVARCHAR(20) NOT NULL,',
        '  [queue_name] NVARCHAR(100) NOT NULL,',
        '  [keep_days] INTEGER NOT NULL,',
        '  [archive] BIT NOT NULL,',
        '  [changed_at] DATETIME NOT NULL,',
        '  PRIMARY KEY ([scope], [queue_name])',
        ')',
      ].join('\n'),
    );
    expect(statements).toContain('CREATE INDEX [ix_Queues_queue_name_end_date] ON [Queues] ([queue_name], [end_date])');
    expect(statements).toContain('CREATE INDEX [ix_oo_events_event_at] ON [oo_element_events] ([event_at])');
    expect(statements).toContain('CREATE INDEX [ix_oo_incidents_cleared_at] ON [oo_alert_incidents] ([cleared_at])');
  });

  it('creates every table, with [..] quoting only', () => {
    for (const table of Object.keys(CONTRACT_TABLES)) expect(createTable(statements, `[${table}]`), table).toBeDefined();
    // The claim guard's message quotes the trigger's name in its text; names are bracketed there too.
    for (const statement of statements) expect(statement.replace(/N'[^']*'/g, "N''")).not.toMatch(/["`]/);
    expect(statements.some((s) => s.startsWith('CREATE TYPE'))).toBe(false);
  });

  it('uses UNIQUEIDENTIFIER, BIT, DATETIME, NVARCHAR(n) and VARCHAR(longest enum name)', () => {
    expect(createTable(statements, '[Triggers]')).toBe(
      [
        'CREATE TABLE [Triggers] (',
        '  [id] UNIQUEIDENTIFIER NOT NULL,',
        '  [trigger_name] NVARCHAR(100) NOT NULL,',
        '  [process_name] NVARCHAR(100) NOT NULL,',
        '  [last_run] DATETIME NULL,',
        '  [process_path] NVARCHAR(250) NOT NULL,',
        '  [process_args] NVARCHAR(1000) NULL,',
        `  [process_status] VARCHAR(${width('triggerstatus')}) NOT NULL,`,
        '  [is_git_repo] BIT NOT NULL,',
        '  [is_blocking] BIT NOT NULL,',
        `  [type] VARCHAR(${width('triggertype')}) NOT NULL,`,
        '  [scheduler_whitelist] NVARCHAR(250) NULL,',
        '  [priority] INTEGER DEFAULT 0 NOT NULL,',
        '  [git_branch] NVARCHAR(100) NULL,',
        '  PRIMARY KEY ([id])',
        ')',
      ].join('\n'),
    );
    const logs = createTable(statements, '[Logs]')!;
    expect(logs).toContain(`[log_level] VARCHAR(${width('loglevel')}) NOT NULL`);
    // NVARCHAR stops at 4000; 8000 characters need (max).
    expect(logs).toContain('[log_message] NVARCHAR(max) NOT NULL');
    expect(createTable(statements, '[Queues]')).toContain(`[status] VARCHAR(${width('queuestatus')}) NOT NULL`);
    expect(createTable(statements, '[Jobs]')).toContain(`[status] VARCHAR(${width('jobstatus')}) NOT NULL`);
    expect(createTable(statements, '[Single_Triggers]')).toContain('FOREIGN KEY ([id]) REFERENCES [Triggers] ([id])');
    expect(statements).toContain('CREATE INDEX [ix_Queues_queue_name] ON [Queues] ([queue_name])');
    expect(statements).toContain(`INSERT INTO [alembic_version] ([version_num]) VALUES ('${HEAD}')`);
    // Adding Logs.job_id on a fresh database uses T-SQL's ADD without COLUMN.
    expect(statements).toContain('ALTER TABLE [Logs] ADD [job_id] UNIQUEIDENTIFIER NULL');
  });

  it('guards claims with AFTER UPDATE triggers that THROW a line naming the element or trigger', () => {
    const queues = statements.find((s) => s.startsWith('CREATE TRIGGER [oo_claim_guard_queues]'))!;
    expect(queues).toContain('ON [Queues] AFTER UPDATE AS');
    expect(queues).toContain('IF NOT (UPDATE([status]) OR UPDATE([start_date])) RETURN;');
    expect(queues).toContain("WHERE i.[status] = 'IN_PROGRESS' AND d.[status] <> 'NEW' AND NOT (d.[status] = 'IN_PROGRESS'");
    // The held row may be edited (its claim time kept, another column changed), never claimed again.
    expect(queues).toContain('AND NOT EXISTS (SELECT i.[start_date] EXCEPT SELECT d.[start_date]) AND EXISTS (SELECT i.[queue_name], i.[data], i.[reference], i.[created_date], i.[end_date], i.[message], i.[created_by] EXCEPT SELECT d.[queue_name]');
    expect(queues).toContain("CONCAT(N'claim guard: queue element ', LOWER(CONVERT(NVARCHAR(36), d.[id])), N' (', COALESCE(d.[reference], N'no reference'), N')', N' is ', d.[status], N': another robot has it')");
    expect(queues).toContain('IF @refusal IS NOT NULL THROW 50000, @refusal, 1;');
    const triggers = statements.find((s) => s.startsWith('CREATE TRIGGER [oo_claim_guard_triggers]'))!;
    expect(triggers).toContain("WHERE i.[process_status] = 'RUNNING' AND d.[process_status] <> 'IDLE'");
    expect(triggers).toContain("CONCAT(N'claim guard: trigger \"', d.[trigger_name], N'\"', N' is ', d.[process_status], N': another Scheduler has it')");
    // CREATE TRIGGER must be alone in its batch: one statement each, nothing before it.
    expect(statements.filter((s) => s.includes('CREATE TRIGGER'))).toEqual([queues, triggers]);
  });

  it('plans the upgrade of a Python database at b67b7649b282', () => {
    const steps = computeSteps(mssqlDialect, pythonCatalog({ alembic: 'b67b7649b282' }));
    expect(steps.map((s) => s.description)).toEqual([
      'create table Schedulers (upstream revision 526b6edac328)',
      'add column Triggers.scheduler_whitelist (upstream revision 90d46abd44a3)',
      'add column Triggers.priority (upstream revision 90d46abd44a3)',
      'add column Triggers.git_branch (upstream revision 9698388a0709)',
      ...JOBS_STEPS,
      `set upstream revision b67b7649b282 -> ${HEAD}`,
      ...OWN_STEPS,
    ]);
    const sql = steps.flatMap((s) => s.statements);
    expect(sql).toContain('ALTER TABLE [Triggers] ADD [scheduler_whitelist] NVARCHAR(250) NULL');
    expect(sql).toContain('ALTER TABLE [Triggers] ADD [priority] INTEGER DEFAULT 0 NOT NULL');
    expect(sql).toContain('ALTER TABLE [Triggers] ADD [git_branch] NVARCHAR(100) NULL');
    expect(sql).toContain('DELETE FROM [alembic_version]');
    expect(sql.some((s) => /ADD COLUMN/.test(s))).toBe(false);
    expect(sql.some((s) => s.startsWith('CREATE TABLE [Triggers]'))).toBe(false);
  });

  it('relaxes the whitelist 2.0.0/2.0.1 made NOT NULL, keeping its VARCHAR type and its default constraint', () => {
    const step = computeSteps(mssqlDialect, python201Catalog()).find((s) => s.records === 'oo-012-whitelist-nullable')!;
    expect(step.description).toMatch(/^make Triggers.scheduler_whitelist nullable/);
    expect(step.statements).toEqual(['ALTER TABLE [Triggers] ALTER COLUMN [scheduler_whitelist] VARCHAR(250) NULL']);
    // A fresh database has it nullable already: only the record.
    expect(computeSteps(mssqlDialect, emptyCatalog()).find((s) => s.records === 'oo-012-whitelist-nullable')).toMatchObject({ statements: [] });
  });
});

describe('Oracle DDL', () => {
  const statements = freshSchemaSql(oracleDialect);

  it('keeps the names of the operations tables within 30 characters (Oracle before 12.2) and makes the incidents key unique', () => {
    const names = [...OPERATIONS_TABLES, ...OPERATIONS_INDEXES.map((i) => ({ name: i.index.name, columns: [], indexes: [] }))].flatMap((t) => [
      t.name,
      ...t.columns.map((c) => c.name),
      ...t.indexes.map((i) => i.name),
    ]);
    expect(names.filter((name) => name.length > 30)).toEqual([]);
    expect(statements).toContain('CREATE UNIQUE INDEX "UX_OO_INCIDENTS_OPEN_KEY" ON "OO_ALERT_INCIDENTS" ("OPEN_KEY")');
    expect(createTable(statements, '"OO_ALERT_CHANNELS"')).toContain('"SETTINGS" VARCHAR2(4000 CHAR) NOT NULL');
    expect(createTable(statements, '"OO_ALERT_CHANNELS"')).toContain('"ENABLED" SMALLINT NOT NULL');
  });

  it('keeps the names of the indexes of oo-006 to oo-008 within 30 characters, and creates those of oo-008-scale', () => {
    const names = [...OPERATIONS_INDEXES, ...DASHBOARD_INDEXES, ...SCALE_INDEXES].map((i) => i.index.name);
    expect(names.filter((name) => name.length > 30)).toEqual([]);
    expect(statements).toContain('CREATE INDEX "ix_Jobs_end_start_status" ON "Jobs" ("END_TIME", "START_TIME", "STATUS")');
    expect(statements).toContain('CREATE INDEX "ix_Queues_status_start_date" ON "Queues" ("STATUS", "START_DATE")');
    expect(statements).toContain('CREATE INDEX "ix_Single_Triggers_next_run" ON "Single_Triggers" ("NEXT_RUN")');
    expect(statements).toContain('CREATE INDEX "ix_Scheduled_Triggers_next_run" ON "Scheduled_Triggers" ("NEXT_RUN")');
  });

  it('creates the tables of oo-009-job-output within 30 characters, an empty line being NULL', () => {
    const names = [...DAILY_TABLES].flatMap((t) => [t.name, ...t.columns.map((c) => c.name), ...t.indexes.map((i) => i.name)]);
    expect(names.filter((name) => name.length > 30)).toEqual([]);
    expect(createTable(statements, '"OO_JOB_OUTPUT"')).toBe(
      [
        'CREATE TABLE "OO_JOB_OUTPUT" (',
        '  "JOB_ID" CHAR(32) NOT NULL,',
        '  "SEQ" INTEGER NOT NULL,',
        '  "STREAM" VARCHAR2(6 CHAR) NOT NULL,',
        '  "LINE_TIME" DATE NOT NULL,',
        '  "LINE_TEXT" VARCHAR2(1000 CHAR) NULL,',
        '  PRIMARY KEY ("JOB_ID", "SEQ")',
        ')',
      ].join('\n'),
    );
    expect(createTable(statements, '"OO_MONITORS"')).toContain('"LAST_BEAT" DATE NOT NULL');
  });

  it('keeps the names of oo-010-retention within 30 characters and creates its table and indexes', () => {
    const names = [RETENTION.name, ...RETENTION.columns.map((c) => c.name), ...RETENTION_INDEXES.map((i) => i.index.name)];
    expect(names.filter((name) => name.length > 30)).toEqual([]);
    expect(createTable(statements, '"OO_RETENTION"')).toContain('PRIMARY KEY ("SCOPE", "QUEUE_NAME")');
    expect(createTable(statements, '"OO_RETENTION"')).toContain('"ARCHIVE" SMALLINT NOT NULL');
    expect(statements).toContain('CREATE INDEX "ix_Queues_queue_name_end_date" ON "Queues" ("QUEUE_NAME", "END_DATE")');
    expect(statements).toContain('CREATE INDEX "IX_OO_EVENTS_EVENT_AT" ON "OO_ELEMENT_EVENTS" ("EVENT_AT")');
  });

  it('keeps the case of table names and upper-cases lowercase names, as SQLAlchemy does', () => {
    for (const table of Object.keys(CONTRACT_TABLES)) {
      const quoted = table === table.toLowerCase() ? `"${table.toUpperCase()}"` : `"${table}"`;
      expect(createTable(statements, quoted), table).toBeDefined();
    }
    expect(createTable(statements, '"ALEMBIC_VERSION"')).toContain('"VERSION_NUM" VARCHAR2(32 CHAR) NOT NULL');
    expect(statements).toContain('CREATE INDEX "ix_Queues_queue_name" ON "Queues" ("QUEUE_NAME")');
    expect(statements).toContain(`INSERT INTO "ALEMBIC_VERSION" ("VERSION_NUM") VALUES ('${HEAD}')`);
    // oracledb refuses an SQL statement that ends with a semicolon; a PL/SQL block (the claim
    // guard's trigger) needs its `END;`.
    for (const statement of statements.filter((s) => !s.startsWith('CREATE OR REPLACE TRIGGER'))) expect(statement).not.toMatch(/;\s*$/);
  });

  it('uses CHAR(32), VARCHAR2(n CHAR), SMALLINT, DATE and a CLOB for log_message', () => {
    expect(createTable(statements, '"Triggers"')).toBe(
      [
        'CREATE TABLE "Triggers" (',
        '  "ID" CHAR(32) NOT NULL,',
        '  "TRIGGER_NAME" VARCHAR2(100 CHAR) NOT NULL,',
        '  "PROCESS_NAME" VARCHAR2(100 CHAR) NOT NULL,',
        '  "LAST_RUN" DATE NULL,',
        '  "PROCESS_PATH" VARCHAR2(250 CHAR) NOT NULL,',
        '  "PROCESS_ARGS" VARCHAR2(1000 CHAR) NULL,',
        `  "PROCESS_STATUS" VARCHAR2(${width('triggerstatus')} CHAR) NOT NULL,`,
        '  "IS_GIT_REPO" SMALLINT NOT NULL,',
        '  "IS_BLOCKING" SMALLINT NOT NULL,',
        `  "TYPE" VARCHAR2(${width('triggertype')} CHAR) NOT NULL,`,
        '  "SCHEDULER_WHITELIST" VARCHAR2(250 CHAR) NULL,',
        '  "PRIORITY" INTEGER DEFAULT 0 NOT NULL,',
        '  "GIT_BRANCH" VARCHAR2(100 CHAR) NULL,',
        '  PRIMARY KEY ("ID")',
        ')',
      ].join('\n'),
    );
    // VARCHAR2(8000 CHAR) needs MAX_STRING_SIZE=EXTENDED, which a standard Oracle lacks.
    expect(createTable(statements, '"Logs"')).toContain('"LOG_MESSAGE" CLOB NOT NULL');
    expect(createTable(statements, '"Single_Triggers"')).toContain('FOREIGN KEY ("ID") REFERENCES "Triggers" ("ID")');
    expect(statements).toContain('ALTER TABLE "Logs" ADD ("JOB_ID" CHAR(32) NULL)');
  });

  it('guards claims with BEFORE UPDATE OF triggers whose WHEN decides and RAISE_APPLICATION_ERROR names the row', () => {
    const queues = statements.find((s) => s.startsWith('CREATE OR REPLACE TRIGGER "OO_CLAIM_GUARD_QUEUES"'))!;
    expect(queues).toContain('BEFORE UPDATE OF STATUS, START_DATE ON "Queues" FOR EACH ROW');
    expect(queues).toContain("WHEN (NEW.STATUS = 'IN_PROGRESS' AND OLD.STATUS <> 'NEW' AND NOT (OLD.STATUS = 'IN_PROGRESS' AND DECODE(NEW.START_DATE, OLD.START_DATE, 0, 1) = 0 AND (DECODE(NEW.QUEUE_NAME, OLD.QUEUE_NAME, 0, 1) + ");
    expect(queues).toContain("RAISE_APPLICATION_ERROR(-20001, 'claim guard: queue element ' || :OLD.ID || ' (' || NVL(:OLD.REFERENCE, 'no reference') || ')' || ' is ' || :OLD.STATUS || ': another robot has it');");
    expect(queues.endsWith('END;')).toBe(true);
    const triggers = statements.find((s) => s.startsWith('CREATE OR REPLACE TRIGGER "OO_CLAIM_GUARD_TRIGGERS"'))!;
    expect(triggers).toContain('BEFORE UPDATE OF PROCESS_STATUS, LAST_RUN ON "Triggers" FOR EACH ROW');
    expect(triggers).toContain(`'claim guard: trigger "' || :OLD.TRIGGER_NAME || '"' || ' is ' || :OLD.PROCESS_STATUS || ': another Scheduler has it'`);
    // Oracle before 12.2 allows 30 characters in a name.
    expect(CLAIM_GUARDS.filter((g) => g.name.length > 30)).toEqual([]);
  });

  it('plans the upgrade of a v1.x Python database (no alembic_version, no queue indexes)', () => {
    const steps = computeSteps(oracleDialect, pythonCatalog({ queueIndexes: false }));
    expect(steps.map((s) => s.description)).toEqual([
      'create table Schedulers (upstream revision 526b6edac328)',
      'create index ix_Queues_queue_name on Queues',
      'create index ix_Queues_created_date on Queues',
      'add column Triggers.scheduler_whitelist (upstream revision 90d46abd44a3)',
      'add column Triggers.priority (upstream revision 90d46abd44a3)',
      'add column Triggers.git_branch (upstream revision 9698388a0709)',
      ...JOBS_STEPS,
      `set upstream revision none -> ${HEAD}`,
      ...OWN_STEPS,
    ]);
    const sql = steps.flatMap((s) => s.statements);
    expect(sql).toContain('ALTER TABLE "Triggers" ADD ("SCHEDULER_WHITELIST" VARCHAR2(250 CHAR) NULL)');
    expect(sql).toContain('ALTER TABLE "Triggers" ADD ("PRIORITY" INTEGER DEFAULT 0 NOT NULL)');
    expect(sql).toContain('CREATE INDEX "ix_Queues_created_date" ON "Queues" ("CREATED_DATE")');
    expect(sql.some((s) => s.startsWith('CREATE TABLE "ALEMBIC_VERSION"'))).toBe(true);
    expect(sql.some((s) => s.startsWith('DELETE'))).toBe(false);
  });

  it('relaxes the whitelist 2.0.0/2.0.1 made NOT NULL', () => {
    const step = computeSteps(oracleDialect, python201Catalog()).find((s) => s.records === 'oo-012-whitelist-nullable')!;
    expect(step.statements).toEqual(['ALTER TABLE "Triggers" MODIFY ("SCHEDULER_WHITELIST" NULL)']);
  });
});

describe('enum completion planned from a catalog', () => {
  it('appends the missing values to a PostgreSQL type and creates the missing type', () => {
    const enums = {
      loglevel: CONTRACT_ENUMS.loglevel!,
      queuestatus: ['NEW', 'IN_PROGRESS', 'DONE', 'FAILED'],
      triggerstatus: ['IDLE', 'RUNNING', 'FAILED', 'DONE', 'PAUSED', 'PAUSING'],
      triggertype: CONTRACT_ENUMS.triggertype!,
    };
    const steps = computeSteps(postgresDialect, pythonCatalog({ alembic: HEAD, enums }));
    const enumSteps = steps.filter((s) => /enum/.test(s.description));
    expect(enumSteps).toEqual([
      { description: 'create enum type jobstatus', statements: ["CREATE TYPE jobstatus AS ENUM ('RUNNING', 'DONE', 'FAILED', 'KILLED')"] },
      { description: 'add ABANDONED to enum queuestatus', statements: ["ALTER TYPE queuestatus ADD VALUE IF NOT EXISTS 'ABANDONED'"] },
      {
        description: 'add KILLING, KILLED to enum triggerstatus',
        statements: ["ALTER TYPE triggerstatus ADD VALUE IF NOT EXISTS 'KILLING'", "ALTER TYPE triggerstatus ADD VALUE IF NOT EXISTS 'KILLED'"],
      },
    ]);
  });

  it('redefines a MySQL ENUM column with its current values first, in their order', () => {
    const steps = computeSteps(mysqlDialect, pythonCatalog({ alembic: HEAD, enums: { triggerstatus: ['RUNNING', 'IDLE', 'PAUSED'] } }));
    expect(steps.filter((s) => /enum/.test(s.description))).toEqual([
      {
        description: 'add FAILED, DONE, PAUSING, KILLING, KILLED to enum triggerstatus (Triggers.process_status)',
        statements: ["ALTER TABLE `Triggers` MODIFY COLUMN `process_status` ENUM('RUNNING','IDLE','PAUSED','FAILED','DONE','PAUSING','KILLING','KILLED') NOT NULL"],
      },
    ]);
  });
});

describe('MySQL catalog names under lower_case_table_names=1 (the Windows default)', () => {
  it('maps folded names back to the contract spelling, and leaves other names alone', () => {
    expect(['triggers', 'single_triggers', 'alembic_version', 'oo_migrations', 'jobs', 'other'].map((n) => mysqlTableName(n, true))).toEqual([
      'Triggers',
      'Single_Triggers',
      'alembic_version',
      'oo_migrations',
      'Jobs',
      'other',
    ]);
    // Where the server keeps case, `triggers` is not our table.
    expect(mysqlTableName('triggers', false)).toBe('triggers');
  });
});

describe.each([
  ['mssql', mssqlDialect, 'mssql+pyodbc://u:p@host:1433/db'],
  ['oracle', oracleDialect, 'oracle+oracledb://u:p@host:1521/?service_name=ORCL'],
] as const)('queries compiled for %s', (name, dialect, url) => {
  const db = dialect.createKysely(parseConnectionString(url));
  afterAll(() => db.destroy());

  it('compiles a select and an insert without a server', () => {
    const select = db.selectFrom('Queues').selectAll().where('queue_name', '=', 'invoices').orderBy('created_date').compile();
    const insert = db.insertInto('Constants').values({ name: 'a', value: 'b', changed_at: new Date(2024, 0, 1) }).compile();
    if (name === 'mssql') {
      expect(select.sql).toBe('select * from "Queues" where "queue_name" = @1 order by "created_date"');
      expect(insert.sql).toBe('insert into "Constants" ("name", "value", "changed_at") values (@1, @2, @3)');
    } else {
      // SQLAlchemy's Oracle names: lowercase columns are stored upper-case, tables keep case.
      expect(select.sql).toBe('select * from "Queues" where "QUEUE_NAME" = :1 order by "CREATED_DATE"');
      expect(insert.sql).toBe('insert into "Constants" ("NAME", "VALUE", "CHANGED_AT") values (:1, :2, :3)');
    }
    expect(select.parameters).toEqual(['invoices']);
  });
});

/** A Store whose queries compile with `dialect` and are recorded instead of sent anywhere. */
function recordingStore(dialect: Dialect, queries: CompiledQuery[]): Store {
  const log = (event: { level: string; query: CompiledQuery }) => void queries.push(event.query);
  const db =
    dialect.name === 'mssql'
      ? new Kysely<Database>({
          dialect: {
            createAdapter: () => new MssqlAdapter(),
            createDriver: () => new DummyDriver(),
            createIntrospector: (k) => new MssqlIntrospector(k),
            createQueryCompiler: () => new MssqlQueryCompiler(),
          },
          log,
        })
      : new Kysely<Database>({
          dialect: {
            createAdapter: () => new OracleAdapter(),
            createDriver: () => new DummyDriver(),
            createIntrospector: (k) => new OracleIntrospector(k),
            createQueryCompiler: () => new OracleQueryCompiler(),
          },
          plugins: [new OracleNamingPlugin()],
          log,
        });
  return { db, dialect, config: parseConnectionString(dialect.name === 'mssql' ? 'mssql+pyodbc://u:p@h/db' : 'oracle+oracledb://u:p@h:1521/?service_name=S') };
}

/** Runs a store call against a server that answers every query with no rows. */
async function attempt(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch {
    // "not found" and the like: only the SQL sent matters here.
  }
}

describe.each([
  ['mssql', mssqlDialect],
  ['oracle', oracleDialect],
] as const)('store SQL for %s', (name, dialect) => {
  const queries: CompiledQuery[] = [];
  const store = recordingStore(dialect, queries);
  const id = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
  const calls: Record<string, () => Promise<unknown>> = {
    createTrigger: () => createTrigger(store, { type: 'SCHEDULED', triggerName: 't', processName: 'p', processPath: 'p.py', cronExpr: '* * * * *' }),
    listTriggers: () => listTriggers(store),
    listDueTriggers: () => listDueTriggers(store),
    setTriggerStatus: () => setTriggerStatus(store, id, 'KILLING'),
    createQueueElement: () => createQueueElement(store, 'q', { reference: 'r' }),
    bulkCreateQueueElements: () => bulkCreateQueueElements(store, 'q', [{ reference: 'a' }, { reference: 'b' }]),
    getNextQueueElementPeek: () => getNextQueueElement(store, 'q', { setStatus: false }),
    getNextQueueElementClaim: () => getNextQueueElement(store, 'q'),
    getQueueElements: () => getQueueElements(store, 'q', { limit: 10, offset: 20 }),
    createLog: () => createLog(store, { level: 'INFO', processName: 'p', message: 'm' }),
    listLogs: () => listLogs(store, { limit: 10, offset: 20 }),
    startJob: () => startJob(store, { processName: 'p', schedulerName: 's' }),
    listJobs: () => listJobs(store, { limit: 10 }),
    createConstant: () => createConstant(store, 'c', 'v'),
    listConstants: () => listConstants(store),
    heartbeat: () => heartbeat(store, 'PC1'),
    listSchedulers: () => listSchedulers(store),
    listStaleInProgress: () => listStaleInProgress(store, { limit: 100 }),
    listStaleInProgressOfQueue: () => listStaleInProgress(store, { queueName: 'q' }),
    retryStaleInProgress: () => retryStaleInProgress(store, [id]),
    listInProgressPastTimeout: () => listInProgressPastTimeout(store, 'q', new Date(2026, 0, 1)),
    listQueueBacklogs: () => listQueueBacklogs(store),
    listQueueBacklogsOfQueue: () => listQueueBacklogs(store, 'q'),
    countRunsPerHour: () => countRunsPerHour(store, hourBoundaries(new Date(2026, 0, 5, 10), 168)),
    countQueueActivity: () => countQueueActivity(store, hourBoundaries(new Date(2026, 0, 5, 10), 24)),
    countQueueActivityOfQueue: () => countQueueActivity(store, hourBoundaries(new Date(2026, 0, 5, 10), 24), 'q'),
    appendJobOutput: () => appendJobOutput(store, id, [1, 2].map((seq) => ({ seq, stream: 'stdout' as const, at: new Date(2026, 0, 1), text: `line ${seq}` }))),
    listJobOutput: () => listJobOutput(store, id, { afterSeq: 5, limit: 100 }),
    lastErrorsOfJobs: () => lastErrorsOfJobs(store, [id]),
    listElementsStartedBetween: () => listElementsStartedBetween(store, 'q', new Date(2026, 0, 1), new Date(2026, 0, 2)),
    monitorBeat: () => monitorBeat(store, 'monitor-1', 30, new Date(2026, 0, 1)),
    listMonitors: () => listMonitors(store),
    listRetention: () => listRetention(store),
    saveRetention: () => saveRetention(store, { scope: 'QUEUE_ELEMENTS', queueName: 'q', keepDays: 30, archive: true }),
    selectExpiredLogs: () => selectExpiredBatch(store, { scope: 'LOGS', cutoff: new Date(2026, 0, 1) }, new Date(2025, 0, 1), 2000, true),
    selectExpiredElements: () => selectExpiredBatch(store, { scope: 'QUEUE_ELEMENTS', cutoff: new Date(2026, 0, 1), exceptQueues: ['a', 'b'] }, undefined, 2000),
    selectExpiredIncidents: () => selectExpiredBatch(store, { scope: 'INCIDENTS', cutoff: new Date(2026, 0, 1) }, undefined, 2000),
    deleteExpiredElements: () => deleteExpiredBatch(store, { scope: 'QUEUE_ELEMENTS', cutoff: new Date(2026, 0, 1), queueName: 'q' }, Array.from({ length: 1500 }, () => store.dialect.encodeUuid(id))),
    readTableSizes: () => readTableSizes(store),
    recordAudit: () => recordAudit(store, { login: 'alice', action: 'trigger.update', target: id, clientAddress: '10.0.0.5', before: '{}', after: '{}' }),
    listAudit: () => listAudit(store, { login: 'alice', action: 'trigger', from: new Date(2026, 0, 1), to: new Date(2026, 0, 2), offset: 100, limit: 50 }),
    countAudit: () => countAudit(store, { action: 'trigger.update' }),
    auditChoices: () => auditChoices(store),
  };

  it.each(Object.keys(calls))(`%s compiles to ${name} SQL`, async (call) => {
    queries.length = 0;
    await attempt(calls[call]!);
    expect(queries.length, 'queries sent').toBeGreaterThan(0);
    for (const { sql } of queries) {
      // Neither T-SQL nor Oracle has LIMIT: they page with TOP / OFFSET ... FETCH.
      expect(sql).not.toMatch(/\blimit\b/i);
      expect(sql).not.toMatch(/`/);
      if (name === 'oracle') {
        // Oracle has no multi-row VALUES (before 23ai) and no AS before a table alias.
        expect(sql).not.toMatch(/values\s*\([^)]*\)\s*,\s*\(/i);
        expect(sql).not.toMatch(/from\s+"[^"]+"\s+as\s+"/i);
        // A lowercase quoted name would miss the upper-case column SQLAlchemy made (an alias
        // after AS only names a result key, so it may keep its case).
        for (const match of sql.matchAll(/"([^"]+)"/g)) {
          if (/\bas\s*$/i.test(sql.slice(0, match.index))) continue;
          expect(match[1]).not.toMatch(/^[a-z0-9_]+$/);
        }
      }
    }
  });
});
