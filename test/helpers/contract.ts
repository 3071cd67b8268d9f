/**
 * SCHEMA.md written out as test data, by hand and apart from src/db/schema, so that the
 * catalog tests compare a real database with the contract rather than with the code that
 * made it. Expected physical types per dialect follow SCHEMA.md's value-encoding table.
 */
import type { LiveDialect } from './databases.js';

export const CONTRACT_ENUMS: Record<string, string[]> = {
  loglevel: ['TRACE', 'INFO', 'ERROR'],
  queuestatus: ['NEW', 'IN_PROGRESS', 'DONE', 'FAILED', 'ABANDONED'],
  triggerstatus: ['IDLE', 'RUNNING', 'FAILED', 'DONE', 'PAUSED', 'PAUSING', 'KILLING', 'KILLED'],
  triggertype: ['SINGLE', 'SCHEDULED', 'QUEUE'],
  jobstatus: ['RUNNING', 'DONE', 'FAILED', 'KILLED'],
};

/** `uuid`, `datetime`, `boolean`, `integer`, `varchar(n)` or `enum:name` */
export type LogicalType = 'uuid' | 'datetime' | 'boolean' | 'integer' | `varchar(${number})` | `enum:${string}`;

export interface ContractColumn {
  name: string;
  type: LogicalType;
  nullable: boolean;
}

export interface ContractTable {
  columns: ContractColumn[];
  primaryKey: string[];
  foreignKeys: string[];
  indexes: Record<string, string[]>;
}

const col = (name: string, type: LogicalType, nullable = false): ContractColumn => ({ name, type, nullable });
const table = (columns: ContractColumn[], primaryKey: string[], extra: Partial<ContractTable> = {}): ContractTable => ({
  columns,
  primaryKey,
  foreignKeys: [],
  indexes: {},
  ...extra,
});
const toTriggers = { foreignKeys: ['id -> Triggers.id'] };

/** Every table after `upgrade`, with the columns in creation order. */
export const CONTRACT_TABLES: Record<string, ContractTable> = {
  Constants: table([col('name', 'varchar(100)'), col('value', 'varchar(1000)'), col('changed_at', 'datetime')], ['name']),
  Credentials: table(
    [col('name', 'varchar(100)'), col('username', 'varchar(250)'), col('password', 'varchar(1000)'), col('changed_at', 'datetime')],
    ['name'],
  ),
  Logs: table(
    [
      col('id', 'uuid'),
      col('log_time', 'datetime'),
      col('log_level', 'enum:loglevel'),
      col('process_name', 'varchar(100)'),
      col('log_message', 'varchar(8000)'),
      col('job_id', 'uuid', true),
    ],
    ['id'],
    {
      indexes: {
        ix_Logs_log_time: ['log_time'],
        ix_Logs_process_name_log_time: ['process_name', 'log_time'],
        ix_Logs_job_id: ['job_id'],
      },
    },
  ),
  Queues: table(
    [
      col('id', 'uuid'),
      col('queue_name', 'varchar(100)'),
      col('status', 'enum:queuestatus'),
      col('data', 'varchar(2000)', true),
      col('reference', 'varchar(100)', true),
      col('created_date', 'datetime'),
      col('start_date', 'datetime', true),
      col('end_date', 'datetime', true),
      col('message', 'varchar(1000)', true),
      col('created_by', 'varchar(100)', true),
    ],
    ['id'],
    {
      indexes: {
        ix_Queues_queue_name: ['queue_name'],
        ix_Queues_created_date: ['created_date'],
        ix_Queues_queue_name_status_created_date: ['queue_name', 'status', 'created_date', 'id'],
        ix_Queues_end_date: ['end_date'],
        ix_Queues_status_start_date: ['status', 'start_date'],
        ix_Queues_queue_name_end_date: ['queue_name', 'end_date'],
      },
    },
  ),
  Schedulers: table(
    [col('machine_name', 'varchar(100)'), col('last_update', 'datetime'), col('latest_trigger', 'varchar(100)', true), col('latest_trigger_time', 'datetime', true)],
    ['machine_name'],
  ),
  Triggers: table(
    [
      col('id', 'uuid'),
      col('trigger_name', 'varchar(100)'),
      col('process_name', 'varchar(100)'),
      col('last_run', 'datetime', true),
      col('process_path', 'varchar(250)'),
      col('process_args', 'varchar(1000)', true),
      col('process_status', 'enum:triggerstatus'),
      col('is_git_repo', 'boolean'),
      col('is_blocking', 'boolean'),
      col('type', 'enum:triggertype'),
      col('scheduler_whitelist', 'varchar(250)', true),
      col('priority', 'integer'),
      col('git_branch', 'varchar(100)', true),
    ],
    ['id'],
  ),
  Single_Triggers: table([col('id', 'uuid'), col('next_run', 'datetime')], ['id'], { ...toTriggers, indexes: { ix_Single_Triggers_next_run: ['next_run'] } }),
  Scheduled_Triggers: table([col('id', 'uuid'), col('cron_expr', 'varchar(200)'), col('next_run', 'datetime')], ['id'], {
    ...toTriggers,
    indexes: { ix_Scheduled_Triggers_next_run: ['next_run'] },
  }),
  Queue_Triggers: table([col('id', 'uuid'), col('queue_name', 'varchar(200)'), col('min_batch_size', 'integer')], ['id'], toTriggers),
  Jobs: table(
    [
      col('id', 'uuid'),
      col('process_name', 'varchar(100)'),
      col('scheduler_name', 'varchar(100)'),
      col('start_time', 'datetime'),
      col('end_time', 'datetime', true),
      col('status', 'enum:jobstatus'),
      col('trigger_id', 'uuid', true),
    ],
    ['id'],
    {
      indexes: {
        ix_Jobs_start_time: ['start_time'],
        ix_Jobs_process_name_start_time: ['process_name', 'start_time'],
        ix_Jobs_end_time: ['end_time'],
        ix_Jobs_status_start_time: ['status', 'start_time'],
        ix_Jobs_end_start_status: ['end_time', 'start_time', 'status'],
        ix_Jobs_status_end_time: ['status', 'end_time'],
      },
    },
  ),
  alembic_version: table([col('version_num', 'varchar(32)')], ['version_num']),
  oo_migrations: table([col('name', 'varchar(100)'), col('applied_at', 'datetime')], ['name']),
  oo_run_requests: table([col('trigger_id', 'uuid'), col('requested_at', 'datetime')], ['trigger_id']),
  // oo-006-operations
  oo_queue_settings: table(
    [
      col('queue_name', 'varchar(100)'),
      col('max_attempts', 'integer'),
      col('delay_mode', 'varchar(12)'),
      col('delay_seconds', 'integer'),
      col('max_delay_seconds', 'integer', true),
      col('visibility_minutes', 'integer', true),
      col('visibility_action', 'varchar(12)', true),
      col('changed_at', 'datetime'),
    ],
    ['queue_name'],
  ),
  oo_element_attempts: table(
    [
      col('element_id', 'uuid'),
      col('queue_name', 'varchar(100)'),
      col('attempt', 'integer'),
      col('state', 'varchar(12)'),
      col('retry_at', 'datetime', true),
      col('last_error', 'varchar(1000)', true),
      col('changed_at', 'datetime'),
    ],
    ['element_id'],
    { indexes: { ix_oo_attempts_state_retry_at: ['state', 'retry_at'] } },
  ),
  oo_element_events: table(
    [
      col('id', 'uuid'),
      col('element_id', 'uuid'),
      col('queue_name', 'varchar(100)'),
      col('attempt', 'integer'),
      col('event', 'varchar(20)'),
      col('message', 'varchar(1000)', true),
      col('actor', 'varchar(100)'),
      col('event_at', 'datetime'),
    ],
    ['id'],
    { indexes: { ix_oo_events_element_id: ['element_id', 'event_at'], ix_oo_events_event_at: ['event_at'] } },
  ),
  oo_alert_channels: table(
    [
      col('id', 'uuid'),
      col('name', 'varchar(100)'),
      col('kind', 'varchar(10)'),
      col('settings', 'varchar(4000)'),
      col('enabled', 'boolean'),
      col('last_error', 'varchar(1000)', true),
      col('last_error_at', 'datetime', true),
      col('last_sent_at', 'datetime', true),
      col('changed_at', 'datetime'),
    ],
    ['id'],
  ),
  oo_alert_rules: table(
    [
      col('id', 'uuid'),
      col('name', 'varchar(100)'),
      col('kind', 'varchar(20)'),
      col('target', 'varchar(100)', true),
      col('threshold', 'integer', true),
      col('channel_ids', 'varchar(1000)'),
      col('enabled', 'boolean'),
      col('created_at', 'datetime'),
      col('changed_at', 'datetime'),
    ],
    ['id'],
  ),
  oo_alert_incidents: table(
    [
      col('id', 'uuid'),
      col('rule_id', 'uuid'),
      col('incident_key', 'varchar(150)'),
      col('open_key', 'varchar(250)'),
      col('state', 'varchar(10)'),
      col('subject', 'varchar(250)'),
      col('detail', 'varchar(2000)', true),
      col('opened_at', 'datetime'),
      col('cleared_at', 'datetime', true),
    ],
    ['id'],
    {
      indexes: {
        ux_oo_incidents_open_key: ['open_key'],
        ix_oo_incidents_rule_state: ['rule_id', 'state'],
        ix_oo_incidents_opened_at: ['opened_at'],
        ix_oo_incidents_cleared_at: ['cleared_at'],
      },
    },
  ),
  oo_alert_notifications: table(
    [
      col('id', 'uuid'),
      col('incident_id', 'uuid'),
      col('channel_id', 'uuid'),
      col('event', 'varchar(10)'),
      col('status', 'varchar(10)'),
      col('tries', 'integer'),
      col('next_try_at', 'datetime'),
      col('claimed_by', 'varchar(100)', true),
      col('claimed_until', 'datetime', true),
      col('sent_at', 'datetime', true),
      col('last_error', 'varchar(1000)', true),
      col('created_at', 'datetime'),
    ],
    ['id'],
    { indexes: { ix_oo_notif_status_next_try: ['status', 'next_try_at'], ix_oo_notif_incident_id: ['incident_id'] } },
  ),
  // oo-009-job-output
  oo_job_output: table(
    [col('job_id', 'uuid'), col('seq', 'integer'), col('stream', 'varchar(6)'), col('line_time', 'datetime'), col('line_text', 'varchar(1000)', true)],
    ['job_id', 'seq'],
  ),
  oo_monitors: table([col('name', 'varchar(100)'), col('started_at', 'datetime'), col('last_beat', 'datetime'), col('interval_seconds', 'integer')], ['name']),
  // oo-010-retention
  oo_retention: table(
    [col('scope', 'varchar(20)'), col('queue_name', 'varchar(100)'), col('keep_days', 'integer'), col('archive', 'boolean'), col('changed_at', 'datetime')],
    ['scope', 'queue_name'],
  ),
  // oo-011-audit
  oo_audit: table(
    [
      col('id', 'uuid'),
      col('changed_at', 'datetime'),
      col('login', 'varchar(128)'),
      col('action', 'varchar(100)'),
      col('target', 'varchar(250)', true),
      col('client_address', 'varchar(100)', true),
      col('before_json', 'varchar(4000)', true),
      col('after_json', 'varchar(4000)', true),
    ],
    ['id'],
    { indexes: { ix_oo_audit_changed_at: ['changed_at'], ix_oo_audit_login_changed_at: ['login', 'changed_at'] } },
  ),
  // oo-014-change-tracking
  oo_queue_changes: table([col('queue_name', 'varchar(200)'), col('slot', 'integer'), col('changes', 'integer')], ['queue_name', 'slot']),
};

const longest = (values: string[]) => Math.max(...values.map((v) => v.length));

/**
 * The type a database created by this program shows in its catalog for `type`, in the form
 * test/helpers/catalog.ts reads it.
 */
export function expectedCatalogType(dialect: LiveDialect, type: LogicalType): string {
  const varchar = /^varchar\((\d+)\)$/.exec(type);
  const enumName = type.startsWith('enum:') ? type.slice(5) : undefined;
  const values = enumName === undefined ? [] : CONTRACT_ENUMS[enumName]!;
  switch (dialect) {
    case 'postgres':
      if (varchar) return type;
      if (enumName) return `USER-DEFINED ${enumName}`;
      return { uuid: 'uuid', datetime: 'timestamp without time zone', boolean: 'boolean', integer: 'integer' }[type as 'uuid'];
    case 'mysql':
      if (varchar) return type;
      if (enumName) return `enum(${values.map((v) => `'${v}'`).join(',')})`;
      // New databases keep fractions of a second (SCHEMA.md, "Our additions").
      return { uuid: 'char(32)', datetime: 'datetime(6)', boolean: 'tinyint(1)', integer: 'int' }[type as 'uuid'];
    case 'sqlite':
      if (varchar) return `VARCHAR(${varchar[1]})`;
      if (enumName) return `VARCHAR(${longest(values)})`;
      return { uuid: 'CHAR(32)', datetime: 'DATETIME', boolean: 'BOOLEAN', integer: 'INTEGER' }[type as 'uuid'];
  }
}
