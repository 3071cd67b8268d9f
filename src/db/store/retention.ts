/**
 * Retention: how long each kind of history is kept (oo_retention), and the statements the
 * monitor's purge is made of. A purge never holds a lock for long: it reads one batch of ids
 * through an index range of the scope's time column (no lock), then deletes exactly those ids in
 * a short transaction that rolls back whole unless every one of them was still there and still
 * expired (`deleteExpiredBatch`), so that an archive written before the delete holds exactly the
 * rows it removed.
 *
 * Scopes and the time each row is judged by:
 * - LOGS: Logs.log_time (index ix_Logs_log_time)
 * - JOBS: Jobs.end_time of ended jobs (ix_Jobs_end_time); a Running job has none and is never purged;
 *   a job's output lines (oo_job_output) go with it
 * - QUEUE_ELEMENTS: Queues.end_date of Done, Failed and Abandoned elements, per queue
 *   (ix_Queues_queue_name_end_date) or for every queue without its own period (ix_Queues_end_date);
 *   a Failed element waiting for its retry is kept, and an element's attempts row goes with it
 * - ELEMENT_EVENTS: oo_element_events.event_at (ix_oo_events_event_at)
 * - INCIDENTS: cleared alert incidents by cleared_at (ix_oo_incidents_cleared_at), with their
 *   notifications; an incident with a notification still to send is kept
 */
import { sql, type Expression, type SqlBool } from 'kysely';
import { InputError, NotFoundError } from '../../errors.js';
import { formatNaive, now } from '../../time/clock.js';
import type { Store } from '../open.js';
import { ALERT_INCIDENTS, ALERT_NOTIFICATIONS, ELEMENT_EVENTS, JOBS, LOGS, LOGS_JOB_ID, QUEUES, type TableDef } from '../schema/tables.js';
import type { Database } from '../types.js';
import { bool } from './alerts.js';
import { LostRace, whoWins } from './conflict.js';
import { paged } from './paging.js';
import { checkEnum, checkInteger, checkText } from './validate.js';

export const RETENTION_SCOPES = ['LOGS', 'JOBS', 'QUEUE_ELEMENTS', 'ELEMENT_EVENTS', 'INCIDENTS'] as const;
export type RetentionScope = (typeof RETENTION_SCOPES)[number];

/** `queue_name` of every row but a queue's own period of QUEUE_ELEMENTS. */
const NO_QUEUE = '*';
/** The longest period: 100 years, so that a cutoff is always a valid date on every database. */
export const MAX_KEEP_DAYS = 36_500;

export interface RetentionPolicy {
  scope: RetentionScope;
  /** QUEUE_ELEMENTS of one queue; null: the scope as a whole (for QUEUE_ELEMENTS, every queue without its own period) */
  queueName: string | null;
  keepDays: number;
  /** write the rows to a gzip JSON-lines file before deleting them */
  archive: boolean;
  changedAt: Date;
}

export type RetentionInput = Omit<RetentionPolicy, 'changedAt' | 'queueName' | 'archive'> & { queueName?: string | null; archive?: boolean };

/** The tables a purge deletes from (with what goes along: attempts rows, notifications). */
export type PurgedTable = 'Logs' | 'Jobs' | 'Queues' | 'oo_element_events' | 'oo_alert_incidents';

interface ScopeTable {
  table: PurgedTable;
  /** the column a row's age is read from, led by an index */
  time: string;
  /** the columns an archived row carries, decoded */
  def: TableDef;
}

export const SCOPE_TABLES: Record<RetentionScope, ScopeTable> = {
  LOGS: { table: 'Logs', time: 'log_time', def: { ...LOGS, columns: [...LOGS.columns, LOGS_JOB_ID] } },
  JOBS: { table: 'Jobs', time: 'end_time', def: JOBS },
  QUEUE_ELEMENTS: { table: 'Queues', time: 'end_date', def: QUEUES },
  ELEMENT_EVENTS: { table: 'oo_element_events', time: 'event_at', def: ELEMENT_EVENTS },
  INCIDENTS: { table: 'oo_alert_incidents', time: 'cleared_at', def: ALERT_INCIDENTS },
};

const FINISHED = ['DONE', 'FAILED', 'ABANDONED'] as const;

function checkPolicy({ dialect }: Store, input: RetentionInput): { scope: RetentionScope; queueName: string; keepDays: number; archive: boolean } {
  const scope = checkEnum('scope', input.scope, RETENTION_SCOPES);
  const queueName = input.queueName ?? null;
  if (queueName !== null && scope !== 'QUEUE_ELEMENTS') throw new InputError(`only QUEUE_ELEMENTS takes a queue name; leave queueName out for ${scope}`);
  if (queueName === NO_QUEUE) throw new InputError(`"${NO_QUEUE}" is not a queue name; leave queueName out to set the period of every queue`);
  return {
    scope,
    queueName: queueName === null ? NO_QUEUE : checkText(dialect, 'queue name', queueName, 100),
    keepDays: checkInteger('keepDays', input.keepDays, 1, MAX_KEEP_DAYS),
    archive: input.archive === true,
  };
}

function decodePolicy(store: Store, row: Database['oo_retention']): RetentionPolicy {
  return {
    scope: row.scope as RetentionScope,
    queueName: row.queue_name === NO_QUEUE ? null : row.queue_name,
    keepDays: Number(row.keep_days),
    archive: bool(row.archive),
    changedAt: store.dialect.decodeDate(row.changed_at),
  };
}

/** Every retention period, by scope and queue (a scope without one is kept for ever). */
export async function listRetention(store: Store): Promise<RetentionPolicy[]> {
  const rows = await store.db.selectFrom('oo_retention').selectAll().orderBy('scope').orderBy('queue_name').execute();
  return rows.map((row) => decodePolicy(store, row));
}

/**
 * Sets a scope's period (or a queue's), replacing the one it had.
 *
 * @example
 *   await saveRetention(store, { scope: 'LOGS', keepDays: 90, archive: true });
 *   await saveRetention(store, { scope: 'QUEUE_ELEMENTS', queueName: 'invoices', keepDays: 365 });
 */
export async function saveRetention(store: Store, input: RetentionInput): Promise<RetentionPolicy> {
  const p = checkPolicy(store, input);
  const values = { keep_days: p.keepDays, archive: store.dialect.encodeBool(p.archive), changed_at: store.dialect.encodeDate(now()) };
  const update = () => store.db.updateTable('oo_retention').set(values).where('scope', '=', p.scope).where('queue_name', '=', p.queueName).executeTakeFirst();
  if (Number((await update()).numUpdatedRows) === 0) {
    try {
      await store.db.insertInto('oo_retention').values({ scope: p.scope, queue_name: p.queueName, ...values }).execute();
    } catch (error) {
      // Saved at the same moment by another admin: theirs exists, ours replaces it.
      if (Number((await update()).numUpdatedRows) === 0) throw error;
    }
  }
  const row = await store.db.selectFrom('oo_retention').selectAll().where('scope', '=', p.scope).where('queue_name', '=', p.queueName).executeTakeFirstOrThrow();
  return decodePolicy(store, row);
}

/** Removes a period: the scope (or queue) is kept for ever again, or by the period of every queue. */
export async function deleteRetention(store: Store, scope: RetentionScope, queueName?: string | null): Promise<void> {
  const p = checkPolicy(store, { scope, queueName, keepDays: 1 });
  const result = await store.db.deleteFrom('oo_retention').where('scope', '=', p.scope).where('queue_name', '=', p.queueName).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`${scope}${queueName ? ` of queue "${queueName}"` : ''} has no retention period`);
}

/** Which rows one purge pass may remove: older than `cutoff`, and for QUEUE_ELEMENTS of which queues. */
export interface PurgeWindow {
  scope: RetentionScope;
  cutoff: Date;
  /** QUEUE_ELEMENTS: this queue only */
  queueName?: string;
  /** QUEUE_ELEMENTS of every queue: but these (they have periods of their own) */
  exceptQueues?: string[];
}

/** A batch of expired rows, oldest first: their ids (as stored) and, when asked for, every column decoded. */
export interface ExpiredBatch {
  ids: unknown[];
  /** the time of the batch's newest row: the next batch starts there */
  last: Date | undefined;
  /** archive lines, when read with `full` */
  rows?: Record<string, unknown>[];
}

/** The expiry condition of a window (the scope's own guards included), on the table's columns. */
function expired(store: Store, window: PurgeWindow): Expression<SqlBool>[] {
  const { time } = SCOPE_TABLES[window.scope];
  const conditions: Expression<SqlBool>[] = [sql<SqlBool>`${sql.ref(time)} < ${store.dialect.encodeDate(window.cutoff)}`];
  switch (window.scope) {
    case 'JOBS':
      conditions.push(sql<SqlBool>`${sql.ref('status')} <> ${'RUNNING'}`);
      break;
    case 'QUEUE_ELEMENTS': {
      conditions.push(sql<SqlBool>`${sql.ref('status')} in (${sql.join(FINISHED.map((s) => sql`${s}`))})`);
      if (window.queueName !== undefined) conditions.push(sql<SqlBool>`${sql.ref('queue_name')} = ${window.queueName}`);
      const except = window.exceptQueues ?? [];
      if (except.length > 0) conditions.push(sql<SqlBool>`${sql.ref('queue_name')} not in (${sql.join(except.map((q) => sql`${q}`))})`);
      // A Failed element waiting for its retry is not finished (db/store/retries.ts).
      conditions.push(
        sql<SqlBool>`not exists (select 1 from ${sql.table('oo_element_attempts')} where ${sql.ref('oo_element_attempts.element_id')} = ${sql.ref('Queues.id')} and ${sql.ref('oo_element_attempts.state')} = ${'WAITING'})`,
      );
      break;
    }
    case 'INCIDENTS':
      conditions.push(sql<SqlBool>`${sql.ref('state')} = ${'CLEARED'}`);
      conditions.push(
        sql<SqlBool>`not exists (select 1 from ${sql.table('oo_alert_notifications')} where ${sql.ref('oo_alert_notifications.incident_id')} = ${sql.ref('oo_alert_incidents.id')} and ${sql.ref('oo_alert_notifications.status')} in (${'PENDING'}, ${'SENDING'}))`,
      );
      break;
    default:
      break;
  }
  return conditions;
}

/**
 * The next batch of expired rows, oldest first, from `from` on (the newest time of the batch
 * before: ids already deleted are gone, so `>=` repeats none; a row still there at that time is
 * read again, never skipped). One index range read, no lock.
 *
 * @example
 *   const batch = await selectExpiredBatch(store, { scope: 'LOGS', cutoff }, undefined, 2000);
 */
export async function selectExpiredBatch(store: Store, window: PurgeWindow, from: Date | undefined, limit: number, full = false): Promise<ExpiredBatch> {
  const { table, time, def } = SCOPE_TABLES[window.scope];
  const conditions = expired(store, window);
  if (from !== undefined) conditions.push(sql<SqlBool>`${sql.ref(time)} >= ${store.dialect.encodeDate(from)}`);
  const base = store.db
    .selectFrom(table)
    .where((eb) => eb.and(conditions))
    .orderBy(sql.ref(time))
    .$call(paged(store.dialect, checkInteger('batch size', limit, 1, 100_000)));
  const rows = (await (full ? base.selectAll() : base.select([sql.ref<unknown>('id').as('id'), sql.ref<unknown>(time).as(time)])).execute()) as Record<string, unknown>[];
  const last = rows.at(-1)?.[time];
  return {
    ids: rows.map((row) => row.id),
    last: last === undefined || last === null ? undefined : store.dialect.decodeDate(last),
    rows: full ? rows.map((row) => archiveLine(store, def, row)) : undefined,
  };
}

/**
 * A row as an archive line: uuids dashed, datetimes as the naive text this program writes
 * (the database's own text where the driver gives text, so microseconds survive), booleans.
 */
export function archiveLine(store: Store, def: TableDef, row: Record<string, unknown>): Record<string, unknown> {
  const line: Record<string, unknown> = {};
  for (const column of def.columns) {
    const value = row[column.name];
    if (value === null || value === undefined) line[column.name] = null;
    else if (column.type.kind === 'uuid') line[column.name] = store.dialect.decodeUuid(value);
    else if (column.type.kind === 'datetime') line[column.name] = typeof value === 'string' ? value : formatNaive(store.dialect.decodeDate(value));
    else if (column.type.kind === 'boolean') line[column.name] = bool(value);
    else if (column.type.kind === 'integer') line[column.name] = Number(value);
    else line[column.name] = String(value);
  }
  return line;
}

/** The notifications of some incidents, as archive lines (an incident's line carries them). */
export async function listNotificationsOf(store: Store, incidentIds: unknown[]): Promise<Record<string, unknown>[]> {
  if (incidentIds.length === 0) return [];
  const rows = await store.db
    .selectFrom('oo_alert_notifications')
    .selectAll()
    .where((eb) => idIn(eb.ref('incident_id'), incidentIds))
    .execute();
  return rows.map((row) => archiveLine(store, ALERT_NOTIFICATIONS, row as Record<string, unknown>));
}

/** `column IN (...)` in lists of at most 1,000 (Oracle's limit for one list), joined by OR. */
function idIn(column: Expression<unknown>, ids: unknown[]): Expression<SqlBool> {
  const lists = [];
  for (let i = 0; i < ids.length; i += 1000) lists.push(sql<SqlBool>`${column} in (${sql.join(ids.slice(i, i + 1000).map((id) => sql`${id}`))})`);
  return lists.length === 1 ? lists[0]! : sql<SqlBool>`(${sql.join(lists, sql` or `)})`;
}

/**
 * Deletes exactly `ids` in one short transaction, each only if it is still expired; returns
 * how many, or undefined (nothing deleted) when any of them was gone or had changed (another
 * monitor purged it, someone retried the element): the caller reads a new batch. Along with an
 * element goes its attempts row; with an incident, its notifications.
 */
export async function deleteExpiredBatch(store: Store, window: PurgeWindow, ids: unknown[]): Promise<number | undefined> {
  if (ids.length === 0) return 0;
  const { table } = SCOPE_TABLES[window.scope];
  return whoWins(store, async (trx) => {
    const result = await trx.db
      .deleteFrom(table)
      .where((eb) => eb.and([idIn(eb.ref('id'), ids), ...expired(trx, window)]))
      .executeTakeFirst();
    if (Number(result.numDeletedRows) !== ids.length) throw new LostRace(`${ids.length - Number(result.numDeletedRows)} of the batch moved on`);
    // What a job's robot printed is part of the job (never archived: it is the console, kept for reading while fresh).
    if (window.scope === 'JOBS') await trx.db.deleteFrom('oo_job_output').where((eb) => idIn(eb.ref('job_id'), ids)).execute();
    if (window.scope === 'QUEUE_ELEMENTS') await trx.db.deleteFrom('oo_element_attempts').where((eb) => idIn(eb.ref('element_id'), ids)).execute();
    if (window.scope === 'INCIDENTS') await trx.db.deleteFrom('oo_alert_notifications').where((eb) => idIn(eb.ref('incident_id'), ids)).execute();
    return ids.length;
  });
}

/** Queue names that have a QUEUE_ELEMENTS period of their own. */
export function ownQueuePeriods(policies: RetentionPolicy[]): RetentionPolicy[] {
  return policies.filter((p) => p.scope === 'QUEUE_ELEMENTS' && p.queueName !== null);
}
