/**
 * Table shapes as Kysely sees them. Values are in the database's own encoding (a UUID is a
 * 32-digit hex string on MySQL but a dashed one on PostgreSQL, a datetime a string or a Date):
 * the store converts through the dialect, so these types stay loose where dialects differ.
 */
import type { Generated } from 'kysely';

type Encoded = unknown;

export const LOG_LEVELS = ['TRACE', 'INFO', 'ERROR'] as const;
export const QUEUE_STATUSES = ['NEW', 'IN_PROGRESS', 'DONE', 'FAILED', 'ABANDONED'] as const;
export const TRIGGER_STATUSES = ['IDLE', 'RUNNING', 'FAILED', 'DONE', 'PAUSED', 'PAUSING', 'KILLING', 'KILLED'] as const;
export const TRIGGER_TYPES = ['SINGLE', 'SCHEDULED', 'QUEUE'] as const;
export const JOB_STATUSES = ['RUNNING', 'DONE', 'FAILED', 'KILLED'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type QueueStatus = (typeof QUEUE_STATUSES)[number];
export type TriggerStatus = (typeof TRIGGER_STATUSES)[number];
export type TriggerType = (typeof TRIGGER_TYPES)[number];
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface ConstantsTable {
  name: string;
  value: string;
  changed_at: Encoded;
}

export interface CredentialsTable {
  name: string;
  username: string;
  password: string;
  changed_at: Encoded;
}

export interface LogsTable {
  id: Encoded;
  log_time: Encoded;
  log_level: LogLevel;
  process_name: string;
  log_message: string;
  job_id: Encoded | null;
}

export interface QueuesTable {
  id: Encoded;
  queue_name: string;
  status: QueueStatus;
  data: string | null;
  reference: string | null;
  created_date: Encoded;
  start_date: Encoded | null;
  end_date: Encoded | null;
  message: string | null;
  created_by: string | null;
}

export interface SchedulersTable {
  machine_name: string;
  last_update: Encoded;
  latest_trigger: string | null;
  latest_trigger_time: Encoded | null;
}

export interface TriggersTable {
  id: Encoded;
  trigger_name: string;
  process_name: string;
  last_run: Encoded | null;
  process_path: string;
  process_args: string | null;
  process_status: TriggerStatus;
  is_git_repo: Encoded;
  git_branch: string | null;
  is_blocking: Encoded;
  scheduler_whitelist: string | null;
  priority: Generated<number>;
  type: TriggerType;
}

export interface SingleTriggersTable {
  id: Encoded;
  next_run: Encoded;
}

export interface ScheduledTriggersTable {
  id: Encoded;
  cron_expr: string;
  next_run: Encoded;
}

export interface QueueTriggersTable {
  id: Encoded;
  queue_name: string;
  min_batch_size: number;
}

export interface JobsTable {
  id: Encoded;
  process_name: string;
  scheduler_name: string;
  start_time: Encoded;
  end_time: Encoded | null;
  status: JobStatus;
  trigger_id: Encoded | null;
}

export interface AlembicVersionTable {
  version_num: string;
}

export interface MigrationsTable {
  name: string;
  applied_at: Encoded;
}

export interface RunRequestsTable {
  trigger_id: Encoded;
  requested_at: Encoded;
}

export interface QueueSettingsTable {
  queue_name: string;
  max_attempts: number;
  delay_mode: string;
  delay_seconds: number;
  max_delay_seconds: number | null;
  visibility_minutes: number | null;
  visibility_action: string | null;
  changed_at: Encoded;
}

export interface ElementAttemptsTable {
  element_id: Encoded;
  queue_name: string;
  attempt: number;
  state: string;
  retry_at: Encoded | null;
  last_error: string | null;
  changed_at: Encoded;
}

export interface ElementEventsTable {
  id: Encoded;
  element_id: Encoded;
  queue_name: string;
  attempt: number;
  event: string;
  message: string | null;
  actor: string;
  event_at: Encoded;
}

export interface AlertChannelsTable {
  id: Encoded;
  name: string;
  kind: string;
  settings: string;
  enabled: Encoded;
  last_error: string | null;
  last_error_at: Encoded | null;
  last_sent_at: Encoded | null;
  changed_at: Encoded;
}

export interface AlertRulesTable {
  id: Encoded;
  name: string;
  kind: string;
  target: string | null;
  threshold: number | null;
  channel_ids: string;
  enabled: Encoded;
  created_at: Encoded;
  changed_at: Encoded;
}

export interface AlertIncidentsTable {
  id: Encoded;
  rule_id: Encoded;
  incident_key: string;
  open_key: string;
  state: string;
  subject: string;
  detail: string | null;
  opened_at: Encoded;
  cleared_at: Encoded | null;
}

export interface AlertNotificationsTable {
  id: Encoded;
  incident_id: Encoded;
  channel_id: Encoded;
  event: string;
  status: string;
  tries: number;
  next_try_at: Encoded;
  claimed_by: string | null;
  claimed_until: Encoded | null;
  sent_at: Encoded | null;
  last_error: string | null;
  created_at: Encoded;
}

export interface JobOutputTable {
  job_id: Encoded;
  seq: number;
  stream: string;
  line_time: Encoded;
  line_text: string | null;
}

export interface MonitorsTable {
  name: string;
  started_at: Encoded;
  last_beat: Encoded;
  interval_seconds: number;
}

export interface RetentionTable {
  scope: string;
  queue_name: string;
  keep_days: number;
  archive: Encoded;
  changed_at: Encoded;
}

export interface AuditTable {
  id: Encoded;
  changed_at: Encoded;
  login: string;
  action: string;
  target: string | null;
  client_address: string | null;
  before_json: string | null;
  after_json: string | null;
}

/** oo-014-change-tracking: written by database triggers only, read by the Scheduler. */
export interface QueueChangesTable {
  queue_name: string;
  slot: number;
  changes: number;
}

export interface Database {
  Constants: ConstantsTable;
  Credentials: CredentialsTable;
  Logs: LogsTable;
  Queues: QueuesTable;
  Schedulers: SchedulersTable;
  Triggers: TriggersTable;
  Single_Triggers: SingleTriggersTable;
  Scheduled_Triggers: ScheduledTriggersTable;
  Queue_Triggers: QueueTriggersTable;
  Jobs: JobsTable;
  alembic_version: AlembicVersionTable;
  oo_migrations: MigrationsTable;
  oo_run_requests: RunRequestsTable;
  oo_queue_settings: QueueSettingsTable;
  oo_element_attempts: ElementAttemptsTable;
  oo_element_events: ElementEventsTable;
  oo_alert_channels: AlertChannelsTable;
  oo_alert_rules: AlertRulesTable;
  oo_alert_incidents: AlertIncidentsTable;
  oo_alert_notifications: AlertNotificationsTable;
  oo_job_output: JobOutputTable;
  oo_monitors: MonitorsTable;
  oo_retention: RetentionTable;
  oo_audit: AuditTable;
  oo_queue_changes: QueueChangesTable;
}
