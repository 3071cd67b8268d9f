/**
 * The role model: what each part of the system needs in the database, as data. This table is
 * the one place the rights per role are written down; `grants` turns it into statements per
 * dialect, the Settings tab compares a login's privileges against it, and the live access tests
 * run the robot API, a Scheduler and the Orchestrator under logins given exactly these rights,
 * so a right the code needs but this table lacks fails a test.
 */
import { ALL_TABLE_NAMES } from '../db/schema/tables.js';
import { InputError } from '../errors.js';

export const ROLES = ['admin', 'scheduler', 'robot', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Data rights on one table. `true` = the whole table; a list = those columns only. */
export interface TableRights {
  table: string;
  select?: true | readonly string[];
  insert?: true;
  update?: readonly string[];
  delete?: true;
}

/** Read-only bookkeeping every role reads to check the schema revision (and to see the tables at all). */
const SCHEMA_VERSION: TableRights[] = [
  { table: 'alembic_version', select: true },
  { table: 'oo_migrations', select: true },
];

/**
 * What the Scheduler does (src/scheduler, through db/store): heartbeats, due triggers and the
 * queue counts of queue triggers, the atomic claim (status, last run), the next run of a
 * scheduled trigger, jobs, and Error logs of failed runs. No constants, no credentials: it only
 * passes the key and connection string on to robots.
 */
const SCHEDULER: TableRights[] = [
  ...SCHEMA_VERSION,
  { table: 'Schedulers', select: true, insert: true, update: ['last_update', 'latest_trigger', 'latest_trigger_time'] },
  { table: 'Triggers', select: true, update: ['process_status', 'last_run'] },
  { table: 'Single_Triggers', select: true },
  { table: 'Scheduled_Triggers', select: true, update: ['next_run'] },
  { table: 'Queue_Triggers', select: true },
  // Counting New elements needs the name and status only; the elements' data stays unread.
  { table: 'Queues', select: ['queue_name', 'status'] },
  { table: 'Jobs', select: true, insert: true, update: ['status', 'end_time'] },
  { table: 'Logs', insert: true },
  // "run now" of a queue trigger: due while a request exists, consumed by the claim
  { table: 'oo_run_requests', select: true, delete: true },
  // what robots print, written while they run (the next line's number is counted here, not read)
  { table: 'oo_job_output', insert: true },
  // the change counters an idle poll reads instead of probing every queue (database triggers write them)
  { table: 'oo_queue_changes', select: true },
];

/**
 * What the robot API does (src/connection, and the Python OrchestratorConnection): write logs,
 * read and update constants and credentials, work queue elements, read and pause its trigger.
 */
const ROBOT: TableRights[] = [
  ...SCHEMA_VERSION,
  { table: 'Logs', insert: true },
  { table: 'Constants', select: true, update: ['value', 'changed_at'] },
  { table: 'Credentials', select: true, update: ['username', 'password', 'changed_at'] },
  // reference, data, created_by, created_date: updateQueueElement (Python 3.0's update_queue_element)
  { table: 'Queues', select: true, insert: true, update: ['status', 'start_date', 'end_date', 'message', 'reference', 'data', 'created_by', 'created_date'], delete: true },
  { table: 'Triggers', select: true, update: ['process_status'] },
  { table: 'Single_Triggers', select: true },
  { table: 'Scheduled_Triggers', select: true },
  { table: 'Queue_Triggers', select: true },
  // Failing an element on a queue with retry settings counts the attempt and records it.
  { table: 'oo_queue_settings', select: true },
  { table: 'oo_element_attempts', select: true, insert: true, update: ['attempt', 'state', 'retry_at', 'last_error', 'changed_at'] },
  { table: 'oo_element_events', select: true, insert: true },
  // What a robot login may change, it may change through a team Orchestrator too, and the
  // Orchestrator records each change in the same transaction. Insert only: the trail can be
  // neither read nor altered with this login.
  { table: 'oo_audit', insert: true },
];

/** The Orchestrator: every table, all data rights, plus the schema rights `upgrade` needs. */
const ADMIN: TableRights[] = ALL_TABLE_NAMES.map((table) => ({ table, select: true, insert: true, update: [], delete: true }));

/**
 * A read-only colleague in a team Orchestrator: reads every table (the audit trail included,
 * and the credentials' ciphertexts, which are no use without the key the server holds),
 * changes nothing.
 */
const VIEWER: TableRights[] = ALL_TABLE_NAMES.map((table) => ({ table, select: true }));

/** Whole-table UPDATE is written as an empty column list (admin only). */
export const ALL_COLUMNS: readonly string[] = [];

export const ROLE_RIGHTS: Record<Role, readonly TableRights[]> = { admin: ADMIN, scheduler: SCHEDULER, robot: ROBOT, viewer: VIEWER };

/** What each role is for, in one line (the CLI, the docs and the Settings tab show it). */
export const ROLE_SUMMARY: Record<Role, string> = {
  admin: 'everything the Orchestrator does: all data, plus creating and upgrading the schema',
  scheduler: 'heartbeats, due triggers and queue counts, claiming triggers, run times, jobs, error logs, robot output; no constants or credentials, no schema changes',
  robot: 'logs, reading and updating constants and credentials, queue elements, reading and pausing its trigger; no trigger creation or deletion, no schema changes',
  viewer: 'reads everything the Orchestrator shows, the audit trail included; changes nothing',
};

/** One privilege on one table (column = undefined: the whole table). */
export interface Right {
  table: string;
  privilege: 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';
  column?: string;
}

/** The rights of one table entry as a flat list. */
export function flattenTable(entry: TableRights): Right[] {
  const out: Right[] = [];
  const { table } = entry;
  if (entry.select === true) out.push({ table, privilege: 'SELECT' });
  else if (entry.select) for (const column of entry.select) out.push({ table, privilege: 'SELECT', column });
  if (entry.insert) out.push({ table, privilege: 'INSERT' });
  if (entry.update) {
    if (entry.update.length === 0) out.push({ table, privilege: 'UPDATE' });
    else for (const column of entry.update) out.push({ table, privilege: 'UPDATE', column });
  }
  if (entry.delete) out.push({ table, privilege: 'DELETE' });
  return out;
}

/** Every right of a role as a flat list. */
export function roleRights(role: Role): Right[] {
  return ROLE_RIGHTS[role].flatMap(flattenTable);
}

/** Rights of several roles merged per table (a Scheduler machine's login often needs scheduler + robot). */
export function mergeRoles(roles: readonly Role[]): TableRights[] {
  const byTable = new Map<string, { select?: true | Set<string>; insert?: true; update?: true | Set<string>; delete?: true }>();
  for (const role of roles) {
    for (const entry of ROLE_RIGHTS[role]) {
      const merged = byTable.get(entry.table) ?? {};
      if (entry.select === true) merged.select = true;
      else if (entry.select && merged.select !== true) merged.select = new Set([...(merged.select ?? []), ...entry.select]);
      if (entry.insert) merged.insert = true;
      if (entry.update) {
        if (entry.update.length === 0 || merged.update === true) merged.update = true;
        else merged.update = new Set([...(merged.update ?? []), ...entry.update]);
      }
      if (entry.delete) merged.delete = true;
      byTable.set(entry.table, merged);
    }
  }
  return [...byTable.entries()].map(([table, m]) => ({
    table,
    ...(m.select ? { select: m.select === true ? true : [...m.select] } : {}),
    ...(m.insert ? { insert: true as const } : {}),
    ...(m.update ? { update: m.update === true ? ALL_COLUMNS : [...m.update] } : {}),
    ...(m.delete ? { delete: true as const } : {}),
  }));
}

/** `admin`, `scheduler,robot`, ... -> roles, refusing unknown names. */
export function parseRoles(text: string): Role[] {
  const names = text
    .split(/[,+\s]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const roles: Role[] = [];
  for (const name of names) {
    if (!(ROLES as readonly string[]).includes(name)) throw new InputError(`unknown role "${name}": choose admin, scheduler, robot or viewer (several may be joined with a comma, e.g. scheduler,robot)`);
    if (!roles.includes(name as Role)) roles.push(name as Role);
  }
  if (roles.length === 0) throw new InputError('give a role: admin, scheduler, robot or viewer');
  return roles;
}
