/**
 * The tables of SCHEMA.md as data: one list drives table creation on every dialect and the
 * catalog test that checks a created database against the contract.
 */
import type { ClaimGuard, ColumnType, EnumName } from '../dialects/dialect.js';
import { JOB_STATUSES, LOG_LEVELS, QUEUE_STATUSES, TRIGGER_STATUSES, TRIGGER_TYPES } from '../types.js';

export interface ColumnDef {
  name: string;
  type: ColumnType;
  nullable: boolean;
  primaryKey?: boolean;
  /** a server default, as SQL text (only Triggers.priority has one) */
  defaultSql?: string;
  references?: { table: string; column: string };
}

export interface IndexDef {
  name: string;
  columns: string[];
  /** a UNIQUE index: the database refuses a second row with the same values (used as a claim) */
  unique?: boolean;
}

export interface TableDef {
  name: string;
  columns: ColumnDef[];
  indexes: IndexDef[];
}

export const ENUM_VALUES: Record<EnumName, readonly string[]> = {
  loglevel: LOG_LEVELS,
  queuestatus: QUEUE_STATUSES,
  triggerstatus: TRIGGER_STATUSES,
  triggertype: TRIGGER_TYPES,
  jobstatus: JOB_STATUSES,
};

/** The newest upstream (Python, alembic) revision whose shape this program writes: 3.0.0's. */
export const UPSTREAM_HEAD = '1c87ed320c78';

const uuid: ColumnType = { kind: 'uuid' };
const datetime: ColumnType = { kind: 'datetime' };
const integer: ColumnType = { kind: 'integer' };
const boolean: ColumnType = { kind: 'boolean' };
const str = (length: number): ColumnType => ({ kind: 'string', length });
const enumOf = (name: EnumName): ColumnType => ({ kind: 'enum', name });

const col = (name: string, type: ColumnType, nullable = false, extra: Partial<ColumnDef> = {}): ColumnDef => ({
  name,
  type,
  nullable,
  ...extra,
});
const pk = (name: string, type: ColumnType): ColumnDef => col(name, type, false, { primaryKey: true });
const subTableId = (): ColumnDef => col('id', uuid, false, { primaryKey: true, references: { table: 'Triggers', column: 'id' } });

export const CONSTANTS: TableDef = {
  name: 'Constants',
  columns: [pk('name', str(100)), col('value', str(1000)), col('changed_at', datetime)],
  indexes: [],
};

export const CREDENTIALS: TableDef = {
  name: 'Credentials',
  columns: [pk('name', str(100)), col('username', str(250)), col('password', str(1000)), col('changed_at', datetime)],
  indexes: [],
};

export const LOGS: TableDef = {
  name: 'Logs',
  columns: [
    pk('id', uuid),
    col('log_time', datetime),
    col('log_level', enumOf('loglevel')),
    col('process_name', str(100)),
    col('log_message', { kind: 'text', length: 8000 }),
  ],
  indexes: [],
};

export const QUEUES: TableDef = {
  name: 'Queues',
  columns: [
    pk('id', uuid),
    col('queue_name', str(100)),
    col('status', enumOf('queuestatus')),
    col('data', str(2000), true),
    col('reference', str(100), true),
    col('created_date', datetime),
    col('start_date', datetime, true),
    col('end_date', datetime, true),
    col('message', str(1000), true),
    col('created_by', str(100), true),
  ],
  indexes: [
    { name: 'ix_Queues_queue_name', columns: ['queue_name'] },
    { name: 'ix_Queues_created_date', columns: ['created_date'] },
  ],
};

export const SCHEDULERS: TableDef = {
  name: 'Schedulers',
  columns: [
    pk('machine_name', str(100)),
    col('last_update', datetime),
    col('latest_trigger', str(100), true),
    col('latest_trigger_time', datetime, true),
  ],
  indexes: [],
};

/** Triggers as the initial upstream revision b67b7649b282 made it. */
export const TRIGGERS_INITIAL_COLUMNS: ColumnDef[] = [
  pk('id', uuid),
  col('trigger_name', str(100)),
  col('process_name', str(100)),
  col('last_run', datetime, true),
  col('process_path', str(250)),
  col('process_args', str(1000), true),
  col('process_status', enumOf('triggerstatus')),
  col('is_git_repo', boolean),
  col('is_blocking', boolean),
  col('type', enumOf('triggertype')),
];

export const SCHEDULER_WHITELIST = col('scheduler_whitelist', str(250), true);
export const PRIORITY = col('priority', integer, false, { defaultSql: '0' });
export const GIT_BRANCH = col('git_branch', str(100), true);

export const TRIGGERS: TableDef = {
  name: 'Triggers',
  columns: [...TRIGGERS_INITIAL_COLUMNS, SCHEDULER_WHITELIST, PRIORITY, GIT_BRANCH],
  indexes: [],
};

export const SINGLE_TRIGGERS: TableDef = {
  name: 'Single_Triggers',
  columns: [subTableId(), col('next_run', datetime)],
  indexes: [],
};

export const SCHEDULED_TRIGGERS: TableDef = {
  name: 'Scheduled_Triggers',
  columns: [subTableId(), col('cron_expr', str(200)), col('next_run', datetime)],
  indexes: [],
};

export const QUEUE_TRIGGERS: TableDef = {
  name: 'Queue_Triggers',
  columns: [subTableId(), col('queue_name', str(200)), col('min_batch_size', integer)],
  indexes: [],
};

/**
 * One row per process run: upstream 3.0.0 (revision 1c87ed320c78) creates it without
 * `trigger_id` and without indexes; both are ours. `trigger_id` has no FK so history outlives
 * deleted triggers, and a Python Scheduler leaves it NULL.
 */
export const JOBS_TRIGGER_ID = col('trigger_id', uuid, true);
export const JOBS: TableDef = {
  name: 'Jobs',
  columns: [
    pk('id', uuid),
    col('process_name', str(100)),
    col('scheduler_name', str(100)),
    col('start_time', datetime),
    col('end_time', datetime, true),
    col('status', enumOf('jobstatus')),
    JOBS_TRIGGER_ID,
  ],
  indexes: [
    { name: 'ix_Jobs_start_time', columns: ['start_time'] },
    { name: 'ix_Jobs_process_name_start_time', columns: ['process_name', 'start_time'] },
  ],
};

/** Upstream 3.0.0 (revision 1c87ed320c78) adds it, with no foreign key. */
export const LOGS_JOB_ID = col('job_id', uuid, true);

/**
 * Ours: "run now" requests for queue triggers, which have no next_run to move. The Scheduler
 * treats a queue trigger with a request as due and deletes the request when it claims the run.
 * Python Schedulers do not read it (documented).
 */
export const RUN_REQUESTS: TableDef = {
  name: 'oo_run_requests',
  columns: [pk('trigger_id', uuid), col('requested_at', datetime)],
  indexes: [],
};

/**
 * Ours (oo-006-operations): per-queue retry settings, per-element attempts and history, alert
 * rules, channels, incidents and the notification outbox. Names stay within Oracle's 30
 * characters; statuses are plain strings (no enum types), so no dialect needs a new type.
 */
export const QUEUE_SETTINGS: TableDef = {
  name: 'oo_queue_settings',
  columns: [
    pk('queue_name', str(100)),
    col('max_attempts', integer),
    col('delay_mode', str(12)),
    col('delay_seconds', integer),
    col('max_delay_seconds', integer, true),
    col('visibility_minutes', integer, true),
    col('visibility_action', str(12), true),
    col('changed_at', datetime),
  ],
  indexes: [],
};

/** One row per element that has failed at least once on a queue with settings: where it stands. */
export const ELEMENT_ATTEMPTS: TableDef = {
  name: 'oo_element_attempts',
  columns: [
    pk('element_id', uuid),
    col('queue_name', str(100)),
    col('attempt', integer),
    col('state', str(12)),
    col('retry_at', datetime, true),
    col('last_error', str(1000), true),
    col('changed_at', datetime),
  ],
  // The sweep asks for WAITING rows whose retry_at has passed.
  indexes: [{ name: 'ix_oo_attempts_state_retry_at', columns: ['state', 'retry_at'] }],
};

/** What happened to an element, one row per move (failure counted, retried, timed out). */
export const ELEMENT_EVENTS: TableDef = {
  name: 'oo_element_events',
  columns: [
    pk('id', uuid),
    col('element_id', uuid),
    col('queue_name', str(100)),
    col('attempt', integer),
    col('event', str(20)),
    col('message', str(1000), true),
    col('actor', str(100)),
    col('event_at', datetime),
  ],
  indexes: [{ name: 'ix_oo_events_element_id', columns: ['element_id', 'event_at'] }],
};

export const ALERT_CHANNELS: TableDef = {
  name: 'oo_alert_channels',
  columns: [
    pk('id', uuid),
    col('name', str(100)),
    col('kind', str(10)),
    col('settings', str(4000)),
    col('enabled', boolean),
    col('last_error', str(1000), true),
    col('last_error_at', datetime, true),
    col('last_sent_at', datetime, true),
    col('changed_at', datetime),
  ],
  indexes: [],
};

export const ALERT_RULES: TableDef = {
  name: 'oo_alert_rules',
  columns: [
    pk('id', uuid),
    col('name', str(100)),
    col('kind', str(20)),
    col('target', str(100), true),
    col('threshold', integer, true),
    col('channel_ids', str(1000)),
    col('enabled', boolean),
    col('created_at', datetime),
    col('changed_at', datetime),
  ],
  indexes: [],
};

/**
 * One row per incident. `open_key` (rule id and incident key) is unique while the incident is
 * open, so two monitors that see the same problem cannot both open it; clearing appends the
 * incident's id, which frees the key for the next incident of the same kind.
 */
export const ALERT_INCIDENTS: TableDef = {
  name: 'oo_alert_incidents',
  columns: [
    pk('id', uuid),
    col('rule_id', uuid),
    col('incident_key', str(150)),
    col('open_key', str(250)),
    col('state', str(10)),
    col('subject', str(250)),
    col('detail', str(2000), true),
    col('opened_at', datetime),
    col('cleared_at', datetime, true),
  ],
  indexes: [
    { name: 'ux_oo_incidents_open_key', columns: ['open_key'], unique: true },
    { name: 'ix_oo_incidents_rule_state', columns: ['rule_id', 'state'] },
    { name: 'ix_oo_incidents_opened_at', columns: ['opened_at'] },
  ],
};

/** The outbox: one row per (incident event, channel), claimed atomically by one monitor. */
export const ALERT_NOTIFICATIONS: TableDef = {
  name: 'oo_alert_notifications',
  columns: [
    pk('id', uuid),
    col('incident_id', uuid),
    col('channel_id', uuid),
    col('event', str(10)),
    col('status', str(10)),
    col('tries', integer),
    col('next_try_at', datetime),
    col('claimed_by', str(100), true),
    col('claimed_until', datetime, true),
    col('sent_at', datetime, true),
    col('last_error', str(1000), true),
    col('created_at', datetime),
  ],
  indexes: [
    { name: 'ix_oo_notif_status_next_try', columns: ['status', 'next_try_at'] },
    { name: 'ix_oo_notif_incident_id', columns: ['incident_id'] },
  ],
};

/**
 * Ours (oo-009-job-output): what a robot printed, one row per line (a long line in pieces), in
 * order by `seq` within its job. The Scheduler writes it while the robot runs, bounded per job
 * and scrubbed of secrets (src/scheduler/job-output.ts); any Orchestrator reads it by job.
 */
export const JOB_OUTPUT: TableDef = {
  name: 'oo_job_output',
  columns: [
    pk('job_id', uuid),
    pk('seq', integer),
    col('stream', str(6)),
    col('line_time', datetime),
    // Oracle stores '' as NULL: an empty line is NULL there.
    col('line_text', str(1000), true),
  ],
  indexes: [],
};

/**
 * Ours (oo-009-job-output): one row per running monitor, its heartbeat, so the Orchestrator can
 * say whether alert rules are evaluated at all. Kept apart from `Schedulers`, which the Python
 * Orchestrator lists as Schedulers.
 */
export const MONITORS: TableDef = {
  name: 'oo_monitors',
  columns: [pk('name', str(100)), col('started_at', datetime), col('last_beat', datetime), col('interval_seconds', integer)],
  indexes: [],
};

/** Tables of oo-009-job-output, in creation order. */
export const DAILY_TABLES: TableDef[] = [JOB_OUTPUT, MONITORS];

/**
 * Ours (oo-011-audit): every change made through the Orchestrator, written in the same transaction
 * as the change (src/orchestrator/unit-of-work.ts): who (the database login that made it), what
 * (an action name such as `trigger.update`), on what, when, from which address, and the row
 * before and after as JSON with secrets masked (each cut to 4000 characters). The Python tools
 * never read it.
 */
export const AUDIT: TableDef = {
  name: 'oo_audit',
  columns: [
    pk('id', uuid),
    col('changed_at', datetime),
    col('login', str(128)),
    col('action', str(100)),
    col('target', str(250), true),
    col('client_address', str(100), true),
    col('before_json', { kind: 'text', length: 4000 }, true),
    col('after_json', { kind: 'text', length: 4000 }, true),
  ],
  indexes: [
    { name: 'ix_oo_audit_changed_at', columns: ['changed_at'] },
    { name: 'ix_oo_audit_login_changed_at', columns: ['login', 'changed_at'] },
  ],
};

/**
 * Ours (oo-014-change-tracking): per writer slot, a counter that database triggers bump on every
 * change that can make a trigger due (src/db/dialects/change-tracking.ts). queue_name is always
 * '' since oo-017-slot-counters (oo-014 kept a row per queue and slot).
 */
export const QUEUE_CHANGES: TableDef = {
  name: 'oo_queue_changes',
  columns: [pk('queue_name', str(200)), pk('slot', integer), col('changes', integer)],
  indexes: [],
};

/** Tables of oo-006-operations, in creation order. */
export const OPERATIONS_TABLES: TableDef[] = [QUEUE_SETTINGS, ELEMENT_ATTEMPTS, ELEMENT_EVENTS, ALERT_CHANNELS, ALERT_RULES, ALERT_INCIDENTS, ALERT_NOTIFICATIONS];

/** oo-006-operations: the "job failed" rule reads jobs by end time. */
export const OPERATIONS_INDEXES: { table: string; index: IndexDef }[] = [{ table: 'Jobs', index: { name: 'ix_Jobs_end_time', columns: ['end_time'] } }];

/**
 * oo-007-dashboard: the dashboard counts finished queue elements per hour by end time, and the
 * stale In Progress test looks for a running job started before a claim (without this index,
 * one scan of Jobs per In Progress element: 52 s on 100k rows on SQLite).
 */
export const DASHBOARD_INDEXES: { table: string; index: IndexDef }[] = [
  { table: 'Queues', index: { name: 'ix_Queues_end_date', columns: ['end_date'] } },
  { table: 'Jobs', index: { name: 'ix_Jobs_status_start_time', columns: ['status', 'start_time'] } },
];

/**
 * oo-008-scale: what the dashboard, the monitor and the Scheduler read on large tables.
 * - Jobs (end_time, start_time, status), named short for Oracle's 30 characters: the stale In
 *   Progress test asks for a job that ended at or after a claim and started at or before it,
 *   walked from the claim in end_time order (the first entry normally answers), and the runs
 *   chart counts outcomes per hour of end_time, both from the index alone.
 * - Jobs (status, end_time): the failed jobs of the last day, newest first, without reading the
 *   day's other jobs (MariaDB looked up every job of the day: over 1 s at 1M jobs).
 * - Queues (status, start_date): the In Progress elements in claim order, so "the oldest stale
 *   ones" stops early, and the open (New, In Progress) elements counted from the index alone.
 * - Single_Triggers and Scheduled_Triggers (next_run): the Scheduler's next due time.
 */
export const SCALE_INDEXES: { table: string; index: IndexDef }[] = [
  { table: 'Jobs', index: { name: 'ix_Jobs_end_start_status', columns: ['end_time', 'start_time', 'status'] } },
  { table: 'Jobs', index: { name: 'ix_Jobs_status_end_time', columns: ['status', 'end_time'] } },
  { table: 'Queues', index: { name: 'ix_Queues_status_start_date', columns: ['status', 'start_date'] } },
  { table: 'Single_Triggers', index: { name: 'ix_Single_Triggers_next_run', columns: ['next_run'] } },
  { table: 'Scheduled_Triggers', index: { name: 'ix_Scheduled_Triggers_next_run', columns: ['next_run'] } },
];

/**
 * Ours (oo-010-retention): how long finished history is kept, one row per scope (LOGS, JOBS,
 * QUEUE_ELEMENTS, ELEMENT_EVENTS, INCIDENTS). `queue_name` is `*` except for a queue's own period
 * of QUEUE_ELEMENTS (Oracle stores '' as NULL, so "none" cannot be the empty string). A scope
 * without a row is kept for ever, as before. `archive`: the monitor writes the rows to a gzip
 * JSON-lines file before it deletes them, and purges nothing of the scope without a folder.
 */
export const RETENTION: TableDef = {
  name: 'oo_retention',
  columns: [pk('scope', str(20)), pk('queue_name', str(100)), col('keep_days', integer), col('archive', boolean), col('changed_at', datetime)],
  indexes: [],
};

/**
 * oo-010-retention: each purge picks its batch as an index range of the scope's time column.
 * Logs (log_time) and Jobs (end_time) have theirs already (oo-003, oo-006); a queue's finished
 * elements are read per queue by end date; events and cleared incidents by their time.
 */
export const RETENTION_INDEXES: { table: string; index: IndexDef }[] = [
  { table: 'Queues', index: { name: 'ix_Queues_queue_name_end_date', columns: ['queue_name', 'end_date'] } },
  { table: 'oo_element_events', index: { name: 'ix_oo_events_event_at', columns: ['event_at'] } },
  { table: 'oo_alert_incidents', index: { name: 'ix_oo_incidents_cleared_at', columns: ['cleared_at'] } },
];

/**
 * The queue claim's index: a queue's New elements oldest first, ties (one bulk insert shares a
 * created_date) by id, so every claimer and the Python client's ORDER BY created_date read one
 * order without sorting the ties. oo-003 made it without `id`; oo-015-claim-order remakes it.
 */
export const CLAIM_ORDER_INDEX: { table: string; index: IndexDef } = {
  table: 'Queues',
  index: { name: 'ix_Queues_queue_name_status_created_date', columns: ['queue_name', 'status', 'created_date', 'id'] },
};

/** Ours: indexes the Orchestrator's lists and the queue claim need on large tables. */
export const EXTRA_INDEXES: { table: string; index: IndexDef }[] = [
  { table: 'Logs', index: { name: 'ix_Logs_log_time', columns: ['log_time'] } },
  { table: 'Logs', index: { name: 'ix_Logs_process_name_log_time', columns: ['process_name', 'log_time'] } },
  { table: 'Logs', index: { name: 'ix_Logs_job_id', columns: ['job_id'] } },
  CLAIM_ORDER_INDEX,
];

/** Upstream tables in creation order (parents before the tables that reference them). */
export const UPSTREAM_TABLES: TableDef[] = [
  CONSTANTS,
  CREDENTIALS,
  LOGS,
  QUEUES,
  TRIGGERS,
  SINGLE_TRIGGERS,
  SCHEDULED_TRIGGERS,
  QUEUE_TRIGGERS,
  SCHEDULERS,
];

/** Our own bookkeeping of applied migrations; alembic_version stays the Python side's. */
export const MIGRATIONS_TABLE = 'oo_migrations';

/** Every table name this program reads or writes, as the contract spells it. */
export const ALL_TABLE_NAMES: readonly string[] = [...UPSTREAM_TABLES.map((t) => t.name), JOBS.name, 'alembic_version', MIGRATIONS_TABLE, RUN_REQUESTS.name, ...OPERATIONS_TABLES.map((t) => t.name), ...DAILY_TABLES.map((t) => t.name), RETENTION.name, AUDIT.name, QUEUE_CHANGES.name];

/**
 * oo-013-claim-guard: a queue element goes In Progress only from New, a trigger Running only from
 * Idle (the one state both Schedulers start a trigger from: the Python one polls Idle triggers
 * and re-checks Idle before its UPDATE, ours claims WHERE Idle). Every other move, and every
 * status that is not the guarded one, is left to the clients.
 */
export const CLAIM_GUARDS: readonly ClaimGuard[] = [
  {
    name: 'oo_claim_guard_queues',
    table: 'Queues',
    column: 'status',
    to: 'IN_PROGRESS',
    from: 'NEW',
    stamp: 'start_date',
    others: ['queue_name', 'data', 'reference', 'created_date', 'end_date', 'message', 'created_by'],
    noun: 'queue element',
    key: 'id',
    detail: 'reference',
    holder: 'robot',
  },
  {
    name: 'oo_claim_guard_triggers',
    table: 'Triggers',
    column: 'process_status',
    to: 'RUNNING',
    from: 'IDLE',
    stamp: 'last_run',
    others: ['trigger_name', 'process_name', 'process_path', 'process_args', 'is_git_repo', 'git_branch', 'is_blocking', 'scheduler_whitelist', 'priority', 'type'],
    noun: 'trigger',
    key: 'trigger_name',
    holder: 'Scheduler',
  },
];
