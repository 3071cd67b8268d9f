/** Jobs: one row per process run, written by the Scheduler. */
import { NotFoundError } from '../../errors.js';
import { now } from '../../time/clock.js';
import { newId } from '../dialects/encoding.js';
import type { Store } from '../open.js';
import { JOB_STATUSES, type JobStatus } from '../types.js';
import { checkEnum, checkId, checkText } from './validate.js';
import { paged } from './paging.js';

export interface Job {
  id: string;
  processName: string;
  schedulerName: string;
  startTime: Date;
  endTime: Date | null;
  status: JobStatus;
  triggerId: string | null;
}

/** Inserts a Running job; `id` lets a caller know the id before the insert commits. */
export async function startJob(
  { db, dialect }: Store,
  job: { processName: string; schedulerName: string; triggerId?: string; id?: string },
): Promise<string> {
  checkText(dialect, 'process name', job.processName, 100);
  checkText(dialect, 'scheduler name', job.schedulerName, 100);
  const id = job.id ? checkId('job id', job.id) : newId();
  await db
    .insertInto('Jobs')
    .values({
      id: dialect.encodeUuid(id),
      process_name: job.processName,
      scheduler_name: job.schedulerName,
      start_time: dialect.encodeDate(now()),
      end_time: null,
      status: 'RUNNING',
      trigger_id: job.triggerId ? dialect.encodeUuid(job.triggerId) : null,
    })
    .execute();
  return id;
}

/** Ends a running job; a job that already ended keeps its first outcome. */
export async function endJob({ db, dialect }: Store, id: string, status: Exclude<JobStatus, 'RUNNING'>, at: Date = now()): Promise<boolean> {
  const canonical = checkId('job id', id);
  checkEnum('job status', status, JOB_STATUSES);
  const result = await db
    .updateTable('Jobs')
    .set({ status, end_time: dialect.encodeDate(at) })
    .where('id', '=', dialect.encodeUuid(canonical))
    .where('status', '=', 'RUNNING')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

function decodeJob({ dialect }: Store, row: Record<string, unknown>): Job {
  return {
    id: dialect.decodeUuid(row.id),
    processName: String(row.process_name),
    schedulerName: String(row.scheduler_name),
    startTime: dialect.decodeDate(row.start_time),
    endTime: row.end_time === null || row.end_time === undefined ? null : dialect.decodeDate(row.end_time),
    status: row.status as JobStatus,
    triggerId: row.trigger_id === null || row.trigger_id === undefined ? null : dialect.decodeUuid(row.trigger_id),
  };
}

export async function getJob(store: Store, id: string): Promise<Job> {
  const canonical = checkId('job id', id);
  const row = await store.db.selectFrom('Jobs').selectAll().where('id', '=', store.dialect.encodeUuid(canonical)).executeTakeFirst();
  if (!row) throw new NotFoundError(`no job with id ${canonical}`);
  return decodeJob(store, row);
}

export interface JobFilter {
  processName?: string;
  status?: JobStatus;
  schedulerName?: string;
  from?: Date;
  to?: Date;
  offset?: number;
  limit?: number;
}

/** Jobs, newest first. */
export async function listJobs(store: Store, filter: JobFilter = {}): Promise<Job[]> {
  const { db, dialect } = store;
  let query = db.selectFrom('Jobs').selectAll();
  if (filter.processName !== undefined) query = query.where('process_name', '=', filter.processName);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.schedulerName !== undefined) query = query.where('scheduler_name', '=', filter.schedulerName);
  if (filter.from) query = query.where('start_time', '>=', dialect.encodeDate(filter.from));
  if (filter.to) query = query.where('start_time', '<=', dialect.encodeDate(filter.to));
  const rows = await query
    .orderBy('start_time', 'desc')
    .orderBy('id', 'desc')
    .$call(paged(dialect, filter.limit ?? 1000, filter.offset ?? 0))
    .execute();
  return rows.map((row) => decodeJob(store, row));
}

/** The most recently started job of a trigger, if any. */
export async function getLatestJobOfTrigger(store: Store, triggerId: string): Promise<Job | undefined> {
  const canonical = checkId('trigger id', triggerId);
  const row = await store.db
    .selectFrom('Jobs')
    .selectAll()
    .where('trigger_id', '=', store.dialect.encodeUuid(canonical))
    .orderBy('start_time', 'desc')
    .orderBy('id', 'desc')
    .$call(paged(store.dialect, 1))
    .executeTakeFirst();
  return row ? decodeJob(store, row) : undefined;
}

function filteredJobs({ db, dialect }: Store, filter: JobFilter) {
  let query = db.selectFrom('Jobs');
  if (filter.processName !== undefined) query = query.where('process_name', '=', filter.processName);
  if (filter.status !== undefined) query = query.where('status', '=', checkEnum('job status', filter.status, JOB_STATUSES));
  if (filter.schedulerName !== undefined) query = query.where('scheduler_name', '=', filter.schedulerName);
  if (filter.from) query = query.where('start_time', '>=', dialect.encodeDate(filter.from));
  if (filter.to) query = query.where('start_time', '<=', dialect.encodeDate(filter.to));
  return query;
}

/** Number of jobs a filter matches (for paging). */
export async function countJobs(store: Store, filter: JobFilter = {}): Promise<number> {
  const row = await filteredJobs(store, filter)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Every process name that has a job, sorted. */
export async function listJobProcessNames({ db }: Store): Promise<string[]> {
  const rows = await db.selectFrom('Jobs').select('process_name').distinct().orderBy('process_name').execute();
  return rows.map((row) => row.process_name);
}

/** Ended jobs that started at or after `since`: the raw material of the durations chart. */
export async function listEndedJobs(store: Store, since: Date, limit = 10_000): Promise<Job[]> {
  const rows = await store.db
    .selectFrom('Jobs')
    .selectAll()
    .where('start_time', '>=', store.dialect.encodeDate(since))
    .where('status', '!=', 'RUNNING')
    .orderBy('start_time', 'desc')
    .$call(paged(store.dialect, limit))
    .execute();
  return rows.map((row) => decodeJob(store, row));
}
