/** Logs written by robots and by the Scheduler. */
import { now } from '../../time/clock.js';
import type { Store } from '../open.js';
import { LOG_LEVELS, type LogLevel } from '../types.js';
import { newId } from '../dialects/encoding.js';
import { InputError } from '../../errors.js';
import { checkEnum, checkId, checkText } from './validate.js';
import { paged } from './paging.js';

export interface LogEntry {
  id: string;
  logTime: Date;
  level: LogLevel;
  processName: string;
  message: string;
  jobId: string | null;
}

export const LOG_MESSAGE_LIMIT = 8000;

/**
 * Keeps the beginning and the end of an over-long message, as the Python version does:
 * the first 4000 and the last 4000 characters. Characters are code points, as in Python and
 * in VARCHAR(8000), so a cut never splits an emoji into a broken half.
 */
export function truncateLogMessage(message: string): string {
  if (message.length <= LOG_MESSAGE_LIMIT) return message;
  const characters = Array.from(message);
  if (characters.length <= LOG_MESSAGE_LIMIT) return message;
  const half = LOG_MESSAGE_LIMIT / 2;
  return characters.slice(0, half).join('') + characters.slice(characters.length - half).join('');
}

export async function createLog(
  { db, dialect }: Store,
  entry: { level: LogLevel; processName: string; message: string; jobId?: string },
): Promise<string> {
  const level = checkEnum('log level', entry.level, LOG_LEVELS);
  checkText(dialect, 'process name', entry.processName, 100);
  if (typeof entry.message !== 'string') checkText(dialect, 'log message', entry.message, LOG_MESSAGE_LIMIT);
  const id = newId();
  await db
    .insertInto('Logs')
    .values({
      id: dialect.encodeUuid(id),
      log_time: dialect.encodeDate(now()),
      log_level: level,
      process_name: entry.processName,
      log_message: truncateLogMessage(entry.message),
      // Only named when known, so robots keep working on a database the Python tools made
      // (it has no job_id column until `upgrade` runs).
      ...(entry.jobId ? { job_id: dialect.encodeUuid(entry.jobId) } : {}),
    })
    .execute();
  return id;
}

export interface LogFilter {
  from?: Date;
  to?: Date;
  processName?: string;
  level?: LogLevel;
  jobId?: string;
  offset?: number;
  limit?: number;
  /** log_time order; newest first by default */
  order?: 'asc' | 'desc';
}

function filteredLogs({ db, dialect }: Store, filter: LogFilter) {
  let query = db.selectFrom('Logs');
  if (filter.from) query = query.where('log_time', '>=', dialect.encodeDate(filter.from));
  if (filter.to) query = query.where('log_time', '<=', dialect.encodeDate(filter.to));
  if (filter.processName !== undefined) query = query.where('process_name', '=', filter.processName);
  if (filter.level !== undefined) query = query.where('log_level', '=', checkEnum('log level', filter.level, LOG_LEVELS));
  if (filter.jobId !== undefined) query = query.where('job_id', '=', dialect.encodeUuid(filter.jobId));
  return query;
}

/**
 * One page of logs in log_time order, newest first unless `order: 'asc'`. Served by the
 * (process_name, log_time) and (log_time) indexes.
 */
export async function listLogs(store: Store, filter: LogFilter = {}): Promise<LogEntry[]> {
  const { dialect } = store;
  const order = filter.order === 'asc' ? 'asc' : 'desc';
  const rows = await filteredLogs(store, filter)
    .selectAll()
    .orderBy('log_time', order)
    .orderBy('id', order)
    .$call(paged(dialect, filter.limit ?? 1000, filter.offset ?? 0))
    .execute();
  return rows.map((row) => ({
    id: dialect.decodeUuid(row.id),
    logTime: dialect.decodeDate(row.log_time),
    level: row.log_level,
    processName: row.process_name,
    message: row.log_message,
    jobId: row.job_id === null || row.job_id === undefined ? null : dialect.decodeUuid(row.job_id),
  }));
}

/** Number of logs a filter matches (for paging). */
export async function countLogs(store: Store, filter: LogFilter = {}): Promise<number> {
  const row = await filteredLogs(store, filter)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Every process name that wrote a log, sorted (served by the (process_name, log_time) index). */
export async function listLogProcessNames({ db }: Store): Promise<string[]> {
  const rows = await db.selectFrom('Logs').select('process_name').distinct().orderBy('process_name').execute();
  return rows.map((row) => row.process_name);
}

/**
 * The last Error log of each of the given jobs (at most 1000 ids), by job id: why each failed.
 * One statement through the job_id index.
 */
export async function lastErrorsOfJobs(store: Store, jobIds: readonly string[]): Promise<Map<string, { message: string; logTime: Date }>> {
  const { db, dialect } = store;
  const found = new Map<string, { message: string; logTime: Date }>();
  if (jobIds.length === 0) return found;
  if (jobIds.length > 1000) throw new InputError('at most 1000 job ids at once');
  const rows = await db
    .selectFrom('Logs')
    .select(['job_id', 'log_message', 'log_time'])
    .where('job_id', 'in', jobIds.map((id) => dialect.encodeUuid(checkId('job id', id))))
    .where('log_level', '=', 'ERROR')
    .orderBy('log_time')
    .execute();
  // Later rows win: each job keeps its latest Error.
  for (const row of rows) found.set(dialect.decodeUuid(row.job_id), { message: row.log_message, logTime: dialect.decodeDate(row.log_time) });
  return found;
}
