/**
 * `upgrade` on live SQLite, PostgreSQL and MariaDB: an empty database, each state the Python
 * OpenOrchestrator leaves behind (built with its own DDL in test/helpers/upstream-schemas.ts),
 * refusal of a newer database, and resuming an interrupted run.
 */
import { CompiledQuery, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchemaError } from '../src/errors.js';
import { closeStore, openStore, type Store } from '../src/db/open.js';
import { checkSchema, checkSchemaInUse, schemaNotCurrent, upgradeDatabase } from '../src/db/schema/upgrade.js';
import { CLAIM_GUARDS } from '../src/db/schema/tables.js';
import { listJobs } from '../src/db/store/jobs.js';
import { getConstant } from '../src/db/store/constants.js';
import { createLog, listLogs } from '../src/db/store/logs.js';
import { getQueueElement, setQueueElementStatus } from '../src/db/store/queues.js';
import { createTrigger, deleteTrigger, getTrigger, setTriggerStatus, updateTrigger } from '../src/db/store/triggers.js';
import { readAllRows, readCatalogSnapshot } from './helpers/catalog.js';
import { CONTRACT_ENUMS, CONTRACT_TABLES, expectedCatalogType } from './helpers/contract.js';
import { createTestDatabase, LIVE_DIALECTS, type LiveDialect, type TestDatabase } from './helpers/databases.js';
import { atLeast, buildShape, buildUpstreamSchema, hasJobs, insertPythonRows, pythonCreateSingleTrigger, pythonRows, PYTHON_IDS, SHAPES, type Shape } from './helpers/upstream-schemas.js';

const HEAD = '1c87ed320c78';
const LAST_OWN = 'oo-017-slot-counters';
const INDEXES_STEP = 'create indexes ix_Logs_log_time, ix_Logs_process_name_log_time, ix_Logs_job_id, ix_Queues_queue_name_status_created_date';
const RUN_REQUESTS_STEP = 'create table oo_run_requests ("run now" requests of queue triggers)';
/** oo-008-scale: the indexes of the dashboard, the monitor and the Scheduler at scale. */
const SCALE_STEPS = [
  'create index ix_Jobs_end_start_status on Jobs',
  'create index ix_Jobs_status_end_time on Jobs',
  'create index ix_Queues_status_start_date on Queues',
  'create index ix_Single_Triggers_next_run on Single_Triggers',
  'create index ix_Scheduled_Triggers_next_run on Scheduled_Triggers',
];
/** oo-009-job-output: what robots print, and the monitors' heartbeats. */
const JOB_OUTPUT_STEPS = ["create table oo_job_output (robots' output)", 'create table oo_monitors (monitor heartbeats)'];
/** oo-010-retention: the table of periods, then the indexes the purge's batches are read through. */
const RETENTION_STEPS = [
  'create table oo_retention (how long history is kept)',
  'create index ix_Queues_queue_name_end_date on Queues',
  'create index ix_oo_events_event_at on oo_element_events',
  'create index ix_oo_incidents_cleared_at on oo_alert_incidents',
];
/** oo-011-audit: the trail of changes made through the Orchestrator. */
const AUDIT_STEPS = ['create table oo_audit (changes made through the Orchestrator)'];
/** oo-012-whitelist-nullable: the column 2.0.0/2.0.1 made NOT NULL is relaxed; elsewhere only recorded. */
const RELAX_WHITELIST_STEP = 'make Triggers.scheduler_whitelist nullable (made NOT NULL by Python 2.0.0/2.0.1; its tools write NULL)';
const RECORD_WHITELIST_STEP = 'record the nullable scheduler whitelist';
/** oo-013-claim-guard: the database triggers that refuse a second claim. */
const GUARD_STEPS = [
  'create claim guard oo_claim_guard_queues on Queues (status becomes IN_PROGRESS only from NEW)',
  'create claim guard oo_claim_guard_triggers on Triggers (process_status becomes RUNNING only from IDLE)',
];
/** oo-014-change-tracking: the counters, then the database triggers that bump them (oo-016's and oo-017's already, so those are only recorded). */
const TRACKING_STEPS = [
  'create table oo_queue_changes (change counters the idle Scheduler reads)',
  'create change-tracking triggers',
  'record the tracking of timed triggers',
  'record the per-connection change counters',
];
/** oo-006-operations: its tables, then the Jobs index the "job failed" rule reads; then oo-007-dashboard's and oo-008-scale's indexes. */
const OPERATIONS_STEPS = [
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
  ...SCALE_STEPS,
  ...JOB_OUTPUT_STEPS,
  ...RETENTION_STEPS,
  ...AUDIT_STEPS,
];
/** oo-015-claim-order: the claim index made with id last by oo-003 in the same run, or remade where it exists. */
const RECORD_CLAIM_ORDER_STEP = 'record the claim order index';
const REMAKE_CLAIM_ORDER_STEP = 'remake index ix_Queues_queue_name_status_created_date on Queues with id after created_date (one claim order for equal times, without a sort)';
const whitelistStep = (shape: Shape) => (shape.whitelistNotNull ? RELAX_WHITELIST_STEP : RECORD_WHITELIST_STEP);
const OWN_STEPS = ["create table oo_migrations (this program's migration record)", 'record table Jobs', 'record column Logs.job_id', INDEXES_STEP];

const q = (dialect: LiveDialect, name: string) => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);

/** Runs upgrade and returns the lines it reported. */
/** Runs the Python tools' own INSERTs of a trigger without a whitelist (scheduler_whitelist NULL). */
async function pythonCreatesTrigger(store: Store, dialect: LiveDialect, id: string, name: string): Promise<void> {
  for (const statement of pythonCreateSingleTrigger(dialect, id, name)) await store.db.executeQuery(CompiledQuery.raw(statement.sql, statement.parameters));
}
const PYTHON_NEW_TRIGGER = '7e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b';

async function upgrade(store: Store): Promise<{ lines: string[]; result: Awaited<ReturnType<typeof upgradeDatabase>> }> {
  const lines: string[] = [];
  const result = await upgradeDatabase(store.db, store.dialect, (line) => lines.push(line));
  return { lines, result };
}

/** The steps upgrade must report from `shape` on `dialect`, in order. */
function expectedSteps(dialect: LiveDialect, shape: Shape): string[] {
  const revision = shape.revision;
  if (shape.ours) return [`set upstream revision 9698388a0709 -> ${HEAD}`, 'record column Jobs.trigger_id', RUN_REQUESTS_STEP, ...OPERATIONS_STEPS, whitelistStep(shape), ...GUARD_STEPS, ...TRACKING_STEPS, REMAKE_CLAIM_ORDER_STEP];
  const steps: string[] = [];
  const jobs = hasJobs(shape);
  if (dialect === 'postgres' && !jobs) steps.push('create enum type jobstatus');
  if (!atLeast(revision, '526b6edac328')) steps.push('create table Schedulers (upstream revision 526b6edac328)');
  if (jobs) steps.push('create index ix_Jobs_start_time on Jobs', 'create index ix_Jobs_process_name_start_time on Jobs');
  if (!atLeast(revision, '90d46abd44a3')) {
    steps.push('add column Triggers.scheduler_whitelist (upstream revision 90d46abd44a3)', 'add column Triggers.priority (upstream revision 90d46abd44a3)');
  }
  if (!atLeast(revision, '9698388a0709')) steps.push('add column Triggers.git_branch (upstream revision 9698388a0709)');
  if (dialect !== 'sqlite') {
    const where = (column: string) => (dialect === 'mysql' ? ` (${column})` : '');
    if (revision === 'pre-alembic') steps.push(`add ABANDONED to enum queuestatus${where('Queues.status')}`);
    const killing = revision === 'pre-alembic' ? 'PAUSING, KILLING, KILLED' : 'KILLING, KILLED';
    steps.push(`add ${killing} to enum triggerstatus${where('Triggers.process_status')}`);
  }
  if (!jobs) steps.push('create table Jobs (upstream revision 1c87ed320c78)', 'add column Logs.job_id (upstream revision 1c87ed320c78)');
  if (revision !== HEAD) steps.push(`set upstream revision ${revision === 'pre-alembic' ? 'none' : revision} -> ${HEAD}`);
  steps.push(...OWN_STEPS);
  steps.push(jobs ? 'add column Jobs.trigger_id (which trigger started a job)' : 'record column Jobs.trigger_id');
  return [...steps, RUN_REQUESTS_STEP, ...OPERATIONS_STEPS, whitelistStep(shape), ...GUARD_STEPS, ...TRACKING_STEPS, RECORD_CLAIM_ORDER_STEP];
}

/** Columns the upgrade adds to rows that existed before, with the values they must get. */
function addedColumns(table: string, shape: Shape): Record<string, unknown> {
  if (table === 'Logs') return hasJobs(shape) ? {} : { job_id: null };
  if (table === 'Jobs') return shape.ours ? {} : { trigger_id: null };
  if (table !== 'Triggers') return {};
  return {
    ...(atLeast(shape.revision, '90d46abd44a3') ? {} : { scheduler_whitelist: null, priority: 0 }),
    ...(atLeast(shape.revision, '9698388a0709') ? {} : { git_branch: null }),
  };
}

describe.each(LIVE_DIALECTS)('upgrade on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;

  beforeEach(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url);
  });

  afterEach(async () => {
    await closeStore(store);
    await database.drop();
  });

  it('creates everything on an empty database, numbering its steps; a second run reports and changes nothing', async () => {
    const first = await upgrade(store);
    expect(first.lines.length).toBeGreaterThan(10);
    first.lines.forEach((line, i) => expect(line).toMatch(new RegExp(`^\\[${i + 1}/${first.lines.length}\\] \\S`)));
    expect(first.lines.map((line) => line.replace(/^\[\d+\/\d+\] /, ''))).toEqual(first.result.steps);
    expect(first.result.steps).toContain('create table Triggers');
    expect(first.result).toMatchObject({ from: 'empty', to: `${HEAD}+${LAST_OWN}` });

    const catalog = await readCatalogSnapshot(store.db, dialect);
    expect(Object.keys(catalog.tables).sort()).toEqual(Object.keys(CONTRACT_TABLES).sort());
    const bookkeeping = await readAllRows(store.db, dialect, ['alembic_version', 'oo_migrations']);
    expect(bookkeeping.alembic_version).toEqual([{ version_num: HEAD }]);
    expect(bookkeeping.oo_migrations!.map((row) => row.name)).toEqual(['oo-001-jobs', 'oo-002-logs-job-id', 'oo-003-indexes', 'oo-004-jobs-trigger-id', 'oo-005-run-requests', 'oo-006-operations', 'oo-007-dashboard', 'oo-008-scale', 'oo-009-job-output', 'oo-010-retention', 'oo-011-audit', 'oo-012-whitelist-nullable', 'oo-013-claim-guard', 'oo-014-change-tracking', 'oo-015-claim-order', 'oo-016-timed-tracking', 'oo-017-slot-counters']);

    const second = await upgrade(store);
    expect(second.lines).toEqual([]);
    expect(second.result).toEqual({ from: `${HEAD}+${LAST_OWN}`, to: `${HEAD}+${LAST_OWN}`, steps: [] });
    expect(await readCatalogSnapshot(store.db, dialect)).toEqual(catalog);
    expect(await readAllRows(store.db, dialect, ['alembic_version', 'oo_migrations'])).toEqual(bookkeeping);
  });

  describe.each(SHAPES.map((shape) => [shape.label, shape] as const))('from a database made at %s', (_label, shape) => {
    const revision = shape.revision;
    it(`keeps every row, reaches ${HEAD} with our additions, accepts KILLING/KILLED, and a re-run does nothing`, async () => {
      await buildShape(store.db, dialect, shape);
      await insertPythonRows(store.db, dialect, revision, shape);
      const tables = Object.keys(pythonRows(dialect, revision, shape));
      const before = await readAllRows(store.db, dialect, tables);
      const setKilling = sql.raw(`UPDATE ${q(dialect, 'Triggers')} SET process_status = 'KILLING'`);
      // The builders reproduce the Python enums: without upgrade, PostgreSQL and MySQL refuse KILLING.
      if (dialect !== 'sqlite' && !shape.ours) await expect(setKilling.execute(store.db)).rejects.toThrow();
      // Where 2.0.x made the whitelist NOT NULL, the Python tools cannot create a trigger before upgrade.
      if (shape.whitelistNotNull && atLeast(revision, '9698388a0709')) {
        await expect(pythonCreatesTrigger(store, dialect, PYTHON_NEW_TRIGGER, 'from Python')).rejects.toThrow(/null/i);
      }
      const triggersBefore = (await readCatalogSnapshot(store.db, dialect)).tables.Triggers;

      const { result } = await upgrade(store);
      expect(result.steps).toEqual(expectedSteps(dialect, shape));
      expect(result.from).toBe(shape.ours ? '9698388a0709+oo-003-indexes' : revision === 'pre-alembic' ? 'pre-alembic (v1.x)' : revision);
      expect(result.to).toBe(`${HEAD}+${LAST_OWN}`);

      // Every row is still there with the same values; new columns got their defaults.
      const after = await readAllRows(store.db, dialect, tables);
      for (const table of tables) {
        expect(after[table], table).toEqual(before[table]!.map((row) => ({ ...row, ...addedColumns(table, shape) })));
      }
      // Python 3.0's `alembic upgrade head` compares this with its head and then has nothing to do.
      expect((await readAllRows(store.db, dialect, ['alembic_version'])).alembic_version).toEqual([{ version_num: HEAD }]);

      // The store reads what Python wrote.
      const mysqlDrops = dialect === 'mysql'; // plain DATETIME kept no fraction of a second
      const trigger = await getTrigger(store, PYTHON_IDS.trigger);
      expect(trigger).toMatchObject({
        triggerName: 'Nightly report',
        processPath: 'C:\\robots\\report.py',
        status: 'IDLE',
        isGitRepo: true,
        isBlocking: false,
        type: 'SCHEDULED',
        cronExpr: '0 2 * * *',
        schedulerWhitelist: atLeast(revision, '90d46abd44a3') ? ['PC1', 'PC2'] : [],
        priority: atLeast(revision, '90d46abd44a3') ? 7 : 0,
        gitBranch: atLeast(revision, '9698388a0709') ? 'main' : null,
      });
      expect(trigger.lastRun).toEqual(new Date(2024, 2, 4, 2, 0, 1, mysqlDrops ? 0 : 250));
      const element = await getQueueElement(store, PYTHON_IDS.queueElement);
      expect(element).toMatchObject({ queueName: 'invoices', status: 'IN_PROGRESS', reference: 'INV-17', data: '{"invoice": 17}', endDate: null });
      expect(element.createdDate).toEqual(new Date(2024, 2, 4, 9, 15, 30, mysqlDrops ? 0 : 123));
      expect((await getConstant(store, 'greeting')).value).toBe('hello');
      expect((await listLogs(store, { processName: 'report' })).map((log) => [log.level, log.message, log.jobId])).toEqual([
        ['ERROR', 'Invoice 17: “ø” not found', hasJobs(shape) ? PYTHON_IDS.doneJob : null],
      ]);
      if (hasJobs(shape)) {
        const jobs = await listJobs(store, { processName: 'report' });
        expect(jobs.map((job) => [job.id, job.status, job.schedulerName, job.triggerId])).toEqual([
          [PYTHON_IDS.runningJob, 'RUNNING', 'PC1', shape.ours ? PYTHON_IDS.trigger : null],
          [PYTHON_IDS.doneJob, 'DONE', 'PC1', shape.ours ? PYTHON_IDS.trigger : null],
        ]);
      }

      // The values Python never added are accepted now.
      await setTriggerStatus(store, PYTHON_IDS.trigger, 'KILLING');
      await setTriggerStatus(store, PYTHON_IDS.trigger, 'KILLED');
      await setTriggerStatus(store, PYTHON_IDS.trigger, 'PAUSING');
      expect((await getTrigger(store, PYTHON_IDS.trigger)).status).toBe('PAUSING');
      // The claim guard is in place: a Python robot's late claim of the element it holds is refused.
      for (const guard of CLAIM_GUARDS) expect(await store.dialect.listTriggers(store.db)).toContain(guard.name);
      const lateClaim = sql`UPDATE ${sql.table('Queues')} SET status = 'IN_PROGRESS', start_date = ${store.dialect.encodeDate(new Date())} WHERE id = ${store.dialect.encodeUuid(PYTHON_IDS.queueElement)}`;
      await expect(lateClaim.execute(store.db)).rejects.toThrow(/claim guard: .*another robot has it/);
      await setQueueElementStatus(store, PYTHON_IDS.queueElement, 'ABANDONED');
      expect((await getQueueElement(store, PYTHON_IDS.queueElement)).status).toBe('ABANDONED');

      // A trigger with an empty whitelist can be created and edited, also where 2.0.x made the column NOT NULL.
      const id = await createTrigger(store, { type: 'SINGLE', triggerName: 'fresh', processName: 'p', processPath: '/x.py', nextRun: new Date(2030, 0, 1) });
      await updateTrigger(store, id, { type: 'SINGLE', triggerName: 'fresh 2', processName: 'p', processPath: '/x.py', nextRun: new Date(2030, 0, 1), schedulerWhitelist: [] });
      const raw = await sql<{ w: string | null }>`SELECT scheduler_whitelist AS w FROM ${sql.table('Triggers')} WHERE trigger_name = 'fresh 2'`.execute(store.db);
      expect(raw.rows).toEqual([{ w: '[]' }]);
      await deleteTrigger(store, id);

      // The Python tools' own INSERT with a NULL whitelist works now, on every shape; we read it as "any machine".
      await pythonCreatesTrigger(store, dialect, PYTHON_NEW_TRIGGER, 'from Python');
      expect(await getTrigger(store, PYTHON_NEW_TRIGGER)).toMatchObject({ triggerName: 'from Python', type: 'SINGLE', schedulerWhitelist: [] });
      const nullWhitelist = await sql<{ w: string | null }>`SELECT scheduler_whitelist AS w FROM ${sql.table('Triggers')} WHERE trigger_name = 'from Python'`.execute(store.db);
      expect(nullWhitelist.rows).toEqual([{ w: null }]);
      await deleteTrigger(store, PYTHON_NEW_TRIGGER);
      // Upstream's fresh 3.0 shape keeps its whitelist column exactly (it was nullable already);
      // only the enum gains KILLING/KILLED.
      if (revision === HEAD && !shape.whitelistNotNull) {
        const whitelistOf = (table: typeof triggersBefore) => table?.columns.find((c) => c.name === 'scheduler_whitelist');
        expect(whitelistOf((await readCatalogSnapshot(store.db, dialect)).tables.Triggers)).toEqual(whitelistOf(triggersBefore));
        expect(whitelistOf(triggersBefore)).toMatchObject({ nullable: true });
      }

      // Jobs and Logs.job_id exist and work; enums hold every value in the contract's order.
      const catalog = await readCatalogSnapshot(store.db, dialect);
      expect(Object.keys(catalog.tables).sort()).toEqual(Object.keys(CONTRACT_TABLES).sort());
      for (const [name, contract] of Object.entries(CONTRACT_TABLES)) {
        // Also where 2.0.x made the whitelist NOT NULL: upgrade relaxed it (oo-012).
        const expected = contract.columns.map((c) => [c.name, c.nullable]);
        expect(catalog.tables[name]!.columns.map((c) => [c.name, c.nullable]), name).toEqual(expected);
        expect(catalog.tables[name]!.indexes, name).toEqual(contract.indexes);
      }
      if (dialect === 'postgres') expect(catalog.enums).toEqual(CONTRACT_ENUMS);
      if (dialect === 'mysql') {
        const type = (table: string, column: string) => catalog.tables[table]!.columns.find((c) => c.name === column)!.type;
        expect(type('Triggers', 'process_status')).toBe(expectedCatalogType('mysql', 'enum:triggerstatus'));
        expect(type('Queues', 'status')).toBe(expectedCatalogType('mysql', 'enum:queuestatus'));
        expect(type('Logs', 'log_level')).toBe(expectedCatalogType('mysql', 'enum:loglevel'));
        expect(type('Jobs', 'status')).toBe(expectedCatalogType('mysql', 'enum:jobstatus'));
      }
      const jobId = '11111111-2222-4333-8444-555555555555';
      await createLog(store, { level: 'INFO', processName: 'report', message: 'with job', jobId });
      expect((await listLogs(store, { jobId })).map((log) => log.message)).toEqual(['with job']);
      expect(await checkSchema(store.db, store.dialect)).toEqual({ revision: `${HEAD}+${LAST_OWN}`, current: true, firstStep: undefined });

      const rows = await readAllRows(store.db, dialect, [...tables, 'alembic_version', 'oo_migrations']);
      const again = await upgrade(store);
      expect(again.lines).toEqual([]);
      expect(again.result.steps).toEqual([]);
      expect(await readCatalogSnapshot(store.db, dialect)).toEqual(catalog);
      expect(await readAllRows(store.db, dialect, [...tables, 'alembic_version', 'oo_migrations'])).toEqual(rows);
    });

    it('before upgrade, every part that checks the schema is told in one line to run upgrade', async () => {
      await buildShape(store.db, dialect, shape);
      expect((await checkSchemaInUse(store.db, store.dialect)).current).toBe(false);
      const check = await checkSchema(store.db, store.dialect);
      expect(check.current).toBe(false);
      expect(schemaNotCurrent(check).message).toMatch(/^the database schema \(.+\) is older than this program needs \(it would first .+\): run `openorchestrator upgrade` on it once/);
    });
  });

  it('a half-upgraded database (recorded complete, Jobs without trigger_id) is not current, and upgrade adds the column', async () => {
    await upgrade(store);
    await sql.raw(dialect === 'mysql' ? 'ALTER TABLE `Jobs` DROP COLUMN trigger_id' : 'ALTER TABLE "Jobs" DROP COLUMN trigger_id').execute(store.db);
    const check = await checkSchema(store.db, store.dialect);
    expect(check).toMatchObject({ revision: `${HEAD}+${LAST_OWN}`, current: false, firstStep: 'add column Jobs.trigger_id (which trigger started a job)' });
    // The Scheduler's check (it may not see every table) finds it too.
    expect(await checkSchemaInUse(store.db, store.dialect)).toMatchObject({ current: false, firstStep: 'add column Jobs.trigger_id (which trigger started a job)' });
    expect((await upgrade(store)).result.steps).toEqual(['add column Jobs.trigger_id (which trigger started a job)']);
    expect((await checkSchema(store.db, store.dialect)).current).toBe(true);
    expect((await checkSchemaInUse(store.db, store.dialect)).current).toBe(true);
  });

  it('refuses a database at an unknown (newer) upstream revision and changes nothing', async () => {
    await buildUpstreamSchema(store.db, dialect, '9698388a0709');
    await insertPythonRows(store.db, dialect, '9698388a0709');
    await sql.raw(`UPDATE alembic_version SET version_num = 'ffffffffffff'`).execute(store.db);
    const catalog = await readCatalogSnapshot(store.db, dialect);
    const tables = Object.keys(catalog.tables);
    const rows = await readAllRows(store.db, dialect, tables);

    const lines: string[] = [];
    const attempt = upgradeDatabase(store.db, store.dialect, (line) => lines.push(line));
    await expect(attempt).rejects.toBeInstanceOf(SchemaError);
    await expect(attempt).rejects.toThrow(/revision ffffffffffff, which is newer than this program knows/);
    expect(lines).toEqual([]);
    expect(await readCatalogSnapshot(store.db, dialect)).toEqual(catalog);
    expect(await readAllRows(store.db, dialect, tables)).toEqual(rows);
  });

  it('refuses a database with an unknown (newer) migration of ours and changes nothing', async () => {
    await upgrade(store);
    await sql
      .raw(`INSERT INTO oo_migrations (name, applied_at) VALUES ('oo-999-future', '2030-01-01 00:00:00.000000')`)
      .execute(store.db);
    const catalog = await readCatalogSnapshot(store.db, dialect);
    const tables = Object.keys(catalog.tables);
    const rows = await readAllRows(store.db, dialect, tables);

    const lines: string[] = [];
    const attempt = upgradeDatabase(store.db, store.dialect, (line) => lines.push(line));
    await expect(attempt).rejects.toBeInstanceOf(SchemaError);
    await expect(attempt).rejects.toThrow(/migration oo-999-future, which is newer than this program knows/);
    expect(lines).toEqual([]);
    expect(await readCatalogSnapshot(store.db, dialect)).toEqual(catalog);
    expect(await readAllRows(store.db, dialect, tables)).toEqual(rows);
  });

  it('resumes a run that stopped between statements: creates only the missing indexes', async () => {
    await upgrade(store);
    const complete = await readCatalogSnapshot(store.db, dialect);
    // As if a run stopped after CREATE TABLE "Queues" and after the first extra index.
    const dropIndex = (table: string, index: string) => sql.raw(store.dialect.dropIndexSql(table, index)).execute(store.db);
    await dropIndex('Queues', 'ix_Queues_queue_name');
    await dropIndex('Logs', 'ix_Logs_process_name_log_time');
    await dropIndex('Queues', 'ix_Queues_queue_name_status_created_date');
    await sql.raw(`DELETE FROM oo_migrations WHERE name = 'oo-003-indexes'`).execute(store.db);

    const { result } = await upgrade(store);
    expect(result.steps).toEqual(['create index ix_Queues_queue_name on Queues', INDEXES_STEP]);
    expect(await readCatalogSnapshot(store.db, dialect)).toEqual(complete);
    expect((await upgrade(store)).result.steps).toEqual([]);
  });

  it('brings a database at oo-007-dashboard to the newest: the Scheduler is told to upgrade, which adds only the indexes and the tables of oo-009', async () => {
    await upgrade(store);
    const complete = await readCatalogSnapshot(store.db, dialect);
    const dropIndex = (table: string, index: string) => sql.raw(store.dialect.dropIndexSql(table, index)).execute(store.db);
    for (const step of SCALE_STEPS) {
      const [, index, table] = /^create index (\S+) on (\S+)$/.exec(step)!;
      await dropIndex(table!, index!);
    }
    await sql.raw(`DELETE FROM oo_migrations WHERE name = 'oo-008-scale'`).execute(store.db);
    for (const table of ['oo_job_output', 'oo_monitors']) await sql.raw(`DROP TABLE ${q(dialect, table)}`).execute(store.db);
    await sql.raw(`DELETE FROM oo_migrations WHERE name = 'oo-009-job-output'`).execute(store.db);

    // The newest migration recorded names the revision; the one missing is still found.
    expect(await checkSchemaInUse(store.db, store.dialect)).toEqual({
      revision: `${HEAD}+${LAST_OWN}`,
      current: false,
      firstStep: 'apply migration oo-008-scale of this program',
    });
    expect(await checkSchema(store.db, store.dialect)).toMatchObject({ current: false, firstStep: SCALE_STEPS[0] });
    const { result } = await upgrade(store);
    expect(result).toEqual({ from: `${HEAD}+${LAST_OWN}`, to: `${HEAD}+${LAST_OWN}`, steps: [...SCALE_STEPS, ...JOB_OUTPUT_STEPS] });
    expect(await readCatalogSnapshot(store.db, dialect)).toEqual(complete);

    // Indexes already there (made by hand, or a run that stopped before recording): only the record.
    await sql.raw(`DELETE FROM oo_migrations WHERE name = 'oo-008-scale'`).execute(store.db);
    expect((await upgrade(store)).result.steps).toEqual(['record the scale indexes']);
    expect((await checkSchemaInUse(store.db, store.dialect)).current).toBe(true);
  });

  it('brings a database without oo-010-retention to it: the table of periods and the purge\'s indexes, nothing else', async () => {
    await upgrade(store);
    const complete = await readCatalogSnapshot(store.db, dialect);
    for (const step of RETENTION_STEPS.slice(1)) {
      const [, index, table] = /^create index (\S+) on (\S+)$/.exec(step)!;
      await sql.raw(store.dialect.dropIndexSql(table!, index!)).execute(store.db);
    }
    await sql.raw(`DROP TABLE ${q(dialect, 'oo_retention')}`).execute(store.db);
    await sql.raw(`DELETE FROM oo_migrations WHERE name = 'oo-010-retention'`).execute(store.db);

    expect(await checkSchemaInUse(store.db, store.dialect)).toEqual({
      revision: `${HEAD}+${LAST_OWN}`,
      current: false,
      firstStep: 'apply migration oo-010-retention of this program',
    });
    const { result } = await upgrade(store);
    expect(result).toEqual({ from: `${HEAD}+${LAST_OWN}`, to: `${HEAD}+${LAST_OWN}`, steps: RETENTION_STEPS });
    expect(await readCatalogSnapshot(store.db, dialect)).toEqual(complete);

    await sql.raw(`DELETE FROM oo_migrations WHERE name = 'oo-010-retention'`).execute(store.db);
    expect((await upgrade(store)).result.steps).toEqual(['record the retention table']);
    expect((await checkSchemaInUse(store.db, store.dialect)).current).toBe(true);
  });
});

describe('the SQLite table rebuild of oo-012-whitelist-nullable', () => {
  let database: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    store = openStore(database.url);
  });
  afterEach(async () => {
    await closeStore(store);
    await database.drop();
  });

  const master = async (tableName: string) =>
    (await sql<{ type: string; name: string; sql: string }>`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ${tableName} AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY name`.execute(store.db)).rows;

  it('keeps every row, every index and every trigger on Triggers (and triggers elsewhere that name it), with foreign keys on again', async () => {
    const shape = SHAPES.find((s) => s.whitelistNotNull && s.revision === '1c87ed320c78')!;
    await buildShape(store.db, 'sqlite', shape);
    await insertPythonRows(store.db, 'sqlite', shape.revision, shape);
    // As later migrations of ours (or a team's own) may leave them: an index and triggers on Triggers,
    // and a trigger on another table that reads Triggers.
    await sql.raw('CREATE INDEX ix_test_triggers_name ON "Triggers" (trigger_name)').execute(store.db);
    await sql.raw(`CREATE TABLE test_trigger_log (what VARCHAR(100))`).execute(store.db);
    await sql.raw(`CREATE TRIGGER tr_test_triggers_status AFTER UPDATE OF process_status ON "Triggers" BEGIN INSERT INTO test_trigger_log (what) VALUES (NEW.trigger_name || ' ' || NEW.process_status); END`).execute(store.db);
    await sql.raw(`CREATE TRIGGER tr_test_queues_name BEFORE INSERT ON "Queues" WHEN NEW.queue_name = 'refused' BEGIN SELECT RAISE(ABORT, 'refused') FROM "Triggers" LIMIT 1; END`).execute(store.db);
    // Our claim guards too, as if installed before the rebuild: it must keep them (then upgrade plans none).
    for (const guard of CLAIM_GUARDS) for (const statement of store.dialect.claimGuardSql(guard)) await sql.raw(statement).execute(store.db);
    const before = await master('Triggers');
    expect(before.map((o) => o.name)).toContain('oo_claim_guard_triggers');
    const rows = await readAllRows(store.db, 'sqlite', ['Triggers', 'Scheduled_Triggers']);
    expect((await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(store.db)).rows[0]!.foreign_keys).toBe(1);

    const { result } = await upgrade(store);
    expect(result.steps).toContain(RELAX_WHITELIST_STEP);

    // The change tracking's triggers (oo-014) are new in this run; everything that was there is kept.
    expect((await master('Triggers')).filter((o) => !o.name.startsWith('oo_track_'))).toEqual(before);
    expect((await master('Queues')).map((o) => o.name)).toEqual(expect.arrayContaining(['tr_test_queues_name', 'oo_claim_guard_queues']));
    expect(await readAllRows(store.db, 'sqlite', ['Triggers', 'Scheduled_Triggers'])).toEqual(rows);
    const whitelist = await sql<{ notnull: number; dflt_value: string | null }>`SELECT "notnull", dflt_value FROM pragma_table_info('Triggers') WHERE name = 'scheduler_whitelist'`.execute(store.db);
    expect(whitelist.rows).toEqual([{ notnull: 0, dflt_value: "'[]'" }]);
    // The recreated trigger fires; foreign keys are enforced again and still hold.
    await setTriggerStatus(store, PYTHON_IDS.trigger, 'PAUSED');
    expect((await sql<{ what: string }>`SELECT what FROM test_trigger_log`.execute(store.db)).rows).toEqual([{ what: 'Nightly report PAUSED' }]);
    expect((await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(store.db)).rows[0]!.foreign_keys).toBe(1);
    expect((await sql`SELECT * FROM pragma_foreign_key_check`.execute(store.db)).rows).toEqual([]);
    await expect(sql.raw(`INSERT INTO "Single_Triggers" (id, next_run) VALUES ('00000000000040008000000000000000', '2030-01-01 00:00:00.000000')`).execute(store.db)).rejects.toThrow(/FOREIGN KEY/);
    await pythonCreatesTrigger(store, 'sqlite', PYTHON_NEW_TRIGGER, 'from Python');
    expect((await getTrigger(store, PYTHON_NEW_TRIGGER)).schedulerWhitelist).toEqual([]);
  });

  it('leaves the table as it was when the rebuild fails', async () => {
    const shape = SHAPES.find((s) => s.whitelistNotNull && s.revision === '1c87ed320c78')!;
    await buildShape(store.db, 'sqlite', shape);
    await insertPythonRows(store.db, 'sqlite', shape.revision, shape);
    // A sub-table row whose trigger is gone: the rebuild's foreign key check refuses to commit.
    await sql.raw('PRAGMA foreign_keys = OFF').execute(store.db);
    await sql.raw(`INSERT INTO "Single_Triggers" (id, next_run) VALUES ('00000000000040008000000000000000', '2030-01-01 00:00:00.000000')`).execute(store.db);
    await sql.raw('PRAGMA foreign_keys = ON').execute(store.db);
    const create = async () => (await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE name = 'Triggers'`.execute(store.db)).rows[0]!.sql;
    const before = await create();
    const rows = await readAllRows(store.db, 'sqlite', ['Triggers']);
    await expect(upgrade(store)).rejects.toThrow(/rebuilding table Triggers would break 1 foreign key reference/);
    expect(await create()).toBe(before);
    expect(before).toMatch(/scheduler_whitelist VARCHAR\(250\) DEFAULT '\[\]' NOT NULL/);
    expect(await readAllRows(store.db, 'sqlite', ['Triggers'])).toEqual(rows);
    expect((await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE name LIKE 'oo_rebuild_%'`.execute(store.db)).rows).toEqual([]);
  });
});
