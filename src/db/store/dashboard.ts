/**
 * The dashboard's reads: recent failed jobs and per-hour counts of runs and queue elements.
 * Hour buckets are computed here in JS, because datetimes are naive TEXT on SQLite, TIMESTAMP on
 * PostgreSQL and DATETIME on MySQL, and no date function means the same on all of them. Each
 * chart is one statement: one SELECT per bucket over its range of an index (Jobs.end_time,
 * Queues.created_date, Queues.end_date), joined by UNION ALL. That reads each index entry of the
 * period once, as a bare count of the period does. One scan of the whole period that gave each
 * row its bucket with a CASE and grouped by it cost 5 to 10 such counts at 1M rows (a sort that
 * spilled to disk on PostgreSQL, a temporary table on MariaDB).
 */
import { sql, type Expression, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { prepared } from '../dialects/prepared.js';
import type { Store } from '../open.js';
import type { Database } from '../types.js';
import { listIncidents, type Incident } from './alerts.js';
import { listQueueBacklogs, type QueueBacklog } from './health.js';
import { RETENTION_SCOPES, SCOPE_TABLES, type RetentionScope } from './retention.js';
import { paged } from './paging.js';
import { listStaleInProgress, type QueueElement } from './queues.js';
import { listSchedulers, type SchedulerRow } from './schedulers.js';
import { listTriggers, type Trigger } from './triggers.js';
import { checkInteger, checkText } from './validate.js';

/** The longest chart: a week of hours (168 SELECTs in one UNION ALL, within SQLite's 500). */
export const MAX_BUCKETS = 24 * 7;

/**
 * `count` hour boundaries ending with the hour after `at`, oldest first, plus that end: bucket i
 * is [result[i], result[i+1]).
 */
export function hourBoundaries(at: Date, count: number): Date[] {
  checkInteger('hours', count, 1, MAX_BUCKETS);
  const end = new Date(at);
  end.setMinutes(0, 0, 0);
  end.setHours(end.getHours() + 1);
  return Array.from({ length: count + 1 }, (_, i) => new Date(end.getTime() - (count - i) * 3_600_000));
}

/** `column` within bucket i: [boundaries[i], boundaries[i + 1]). */
function inBucket(store: Store, column: string, boundaries: Date[], i: number): Expression<SqlBool> {
  const from = store.dialect.encodeDate(boundaries[i]!);
  const to = store.dialect.encodeDate(boundaries[i + 1]!);
  return sql<SqlBool>`${sql.ref(column)} >= ${from} AND ${sql.ref(column)} < ${to}`;
}

/** One SELECT per bucket (each naming its bucket number), as one UNION ALL statement. */
async function perBucket<O>(store: Store, boundaries: Date[], select: (i: number) => SelectQueryBuilder<Database, keyof Database, O>): Promise<O[]> {
  const selects = boundaries.slice(0, -1).map((_, i) => select(i));
  // The text depends only on the number of buckets (a day or a week: two shapes), the times are
  // parameters; prepared, a week's 168 parts are parsed and planned once per connection.
  const union = selects.slice(1).reduce((all, one) => all.unionAll(one), selects[0]!);
  return (await store.db.executeQuery(prepared(union))).rows;
}

export interface FailedJob {
  id: string;
  processName: string;
  schedulerName: string;
  startTime: Date;
  endTime: Date;
  /** null for a job a Python Scheduler ran */
  triggerId: string | null;
}

/** Jobs that ended Failed since `since`, newest first. */
export async function listFailedJobs(store: Store, since: Date, limit = 100): Promise<FailedJob[]> {
  const rows = await store.db
    .selectFrom('Jobs')
    .select(['id', 'process_name', 'scheduler_name', 'start_time', 'end_time', 'trigger_id'])
    .where('end_time', '>=', store.dialect.encodeDate(since))
    .where('status', '=', 'FAILED')
    .orderBy('end_time', 'desc')
    .orderBy('id')
    .$call(paged(store.dialect, checkInteger('limit', limit, 1, 1000)))
    .execute();
  return rows.map((row) => ({
    id: store.dialect.decodeUuid(row.id),
    processName: row.process_name,
    schedulerName: row.scheduler_name,
    startTime: store.dialect.decodeDate(row.start_time),
    endTime: store.dialect.decodeDate(row.end_time),
    triggerId: row.trigger_id === null || row.trigger_id === undefined ? null : store.dialect.decodeUuid(row.trigger_id),
  }));
}

/** What the dashboard's attention panel is made from, as read; the caller decides what is late or old. */
export interface Attention {
  /** jobs that ended Failed in the 24 hours before `at` (at most 100) */
  failedJobs: FailedJob[];
  triggers: Trigger[];
  schedulers: SchedulerRow[];
  queues: QueueBacklog[];
  /** at most 100 */
  staleElements: QueueElement[];
  /** at most 100 */
  openIncidents: Incident[];
}

/**
 * The reads behind GET /api/dashboard, in parallel: one function so that the benchmark measures
 * exactly what the route reads.
 *
 * @example
 *   const { failedJobs, triggers } = await readAttention(store, now());
 */
export async function readAttention(store: Store, at: Date): Promise<Attention> {
  const [failedJobs, triggers, schedulers, queues, staleElements, openIncidents] = await Promise.all([
    listFailedJobs(store, new Date(at.getTime() - 24 * 3_600_000)),
    listTriggers(store),
    listSchedulers(store),
    listQueueBacklogs(store),
    listStaleInProgress(store, { limit: 100 }),
    listIncidents(store, { state: 'OPEN', limit: 100 }),
  ]);
  return { failedJobs, triggers, schedulers, queues, staleElements, openIncidents };
}

export interface RunBucket {
  start: Date;
  done: number;
  failed: number;
  killed: number;
}

/** Runs that ended in each bucket, by outcome (Running jobs have no end yet). */
export async function countRunsPerHour(store: Store, boundaries: Date[]): Promise<RunBucket[]> {
  const outcome = (status: 'DONE' | 'FAILED' | 'KILLED') => sql<number>`count(CASE WHEN ${sql.ref('status')} = ${status} THEN 1 END)`;
  const rows = await perBucket(store, boundaries, (i) =>
    store.db
      .selectFrom('Jobs')
      .select([sql<number>`${sql.lit(i)}`.as('bucket'), outcome('DONE').as('done'), outcome('FAILED').as('failed'), outcome('KILLED').as('killed')])
      .where(inBucket(store, 'end_time', boundaries, i)),
  );
  const buckets = boundaries.slice(0, -1).map((start) => ({ start, done: 0, failed: 0, killed: 0 }));
  for (const row of rows) {
    const bucket = buckets[Number(row.bucket)];
    if (!bucket) continue;
    bucket.done = Number(row.done);
    bucket.failed = Number(row.failed);
    bucket.killed = Number(row.killed);
  }
  return buckets;
}

/**
 * A CASE giving a row's bucket number from its time column, as a binary search over the
 * boundaries (8 comparisons a row for a week of hours, not 168); rows outside the range are
 * excluded by the WHERE.
 */
function bucketOf(store: Store, column: string, boundaries: Date[]) {
  const tree = (lo: number, hi: number): RawBuilder<number> => {
    if (lo === hi) return sql<number>`${sql.lit(lo)}`;
    const mid = Math.floor((lo + hi) / 2);
    return sql<number>`CASE WHEN ${sql.ref(column)} < ${store.dialect.encodeDate(boundaries[mid + 1]!)} THEN ${tree(lo, mid)} ELSE ${tree(mid + 1, hi)} END`;
  };
  return tree(0, boundaries.length - 2);
}

/**
 * How many rows of Queues fall in each bucket by `column`, optionally of one queue. One queue's
 * rows are read once, each given its bucket by a CASE: no index serves a queue's rows by
 * end_date, and a SELECT per bucket would look up every queue's rows of each bucket to find the
 * queue's (on MariaDB at 1M elements: 24 s for a week, against 1.7 s for the one scan).
 */
async function countElementsPerHour(store: Store, column: 'created_date' | 'end_date', boundaries: Date[], queueName?: string): Promise<number[]> {
  const counts = boundaries.slice(0, -1).map(() => 0);
  const rows =
    queueName === undefined
      ? await perBucket(store, boundaries, (i) =>
          store.db
            .selectFrom('Queues')
            .select([sql<number>`${sql.lit(i)}`.as('bucket'), sql<number>`count(*)`.as('n')])
            .where(inBucket(store, column, boundaries, i)),
        )
      : await store.db
          .selectFrom(
            store.db
              .selectFrom('Queues')
              .select(bucketOf(store, column, boundaries).as('bucket'))
              .where(sql<SqlBool>`${sql.ref(column)} >= ${store.dialect.encodeDate(boundaries[0]!)} AND ${sql.ref(column)} < ${store.dialect.encodeDate(boundaries.at(-1)!)}`)
              .where('queue_name', '=', queueName)
              .as('t'),
          )
          .select(['t.bucket', sql<number>`count(*)`.as('n')])
          .groupBy('t.bucket')
          .execute();
  for (const row of rows) if (Number(row.bucket) in counts) counts[Number(row.bucket)] = Number(row.n);
  return counts;
}

export interface QueueBucket {
  start: Date;
  created: number;
  finished: number;
  /** New or In Progress elements at the bucket's end */
  backlog: number;
}

/**
 * Elements created and finished (given an end date) per bucket, and the backlog at each bucket's
 * end, worked back from the backlog now: what is open now, less what was created since, plus
 * what finished since. It assumes an element is finished once and not deleted; a retried
 * element (Failed, then New again) is counted open again only from its next finish.
 */
export async function countQueueActivity(store: Store, boundaries: Date[], queueName?: string): Promise<QueueBucket[]> {
  if (queueName !== undefined) checkText(store.dialect, 'queue name', queueName, 100);
  const created = await countElementsPerHour(store, 'created_date', boundaries, queueName);
  const finished = await countElementsPerHour(store, 'end_date', boundaries, queueName);
  // Counted from an index alone: ix_Queues_status_start_date, or for one queue ix_Queues_queue_name_status_created_date.
  let open = store.db.selectFrom('Queues').select(sql<number>`count(*)`.as('n')).where('status', 'in', ['NEW', 'IN_PROGRESS']);
  if (queueName !== undefined) open = open.where('queue_name', '=', queueName);
  let backlog = Number((await open.executeTakeFirstOrThrow()).n);
  const buckets: QueueBucket[] = [];
  for (let i = created.length - 1; i >= 0; i--) {
    buckets.unshift({ start: boundaries[i]!, created: created[i]!, finished: finished[i]!, backlog: Math.max(0, backlog) });
    backlog += finished[i]! - created[i]!;
  }
  return buckets;
}

export interface TableSize {
  /** the retention scope the table holds */
  scope: RetentionScope;
  table: string;
  rows: number;
  /** true when `rows` comes from the database's statistics rather than a count */
  estimated: boolean;
  /** the oldest value of the column retention judges rows by (null: no such row) */
  oldest: Date | null;
  /** that column */
  timeColumn: string;
}

/**
 * Each history table's size and oldest row, for the dashboard: the row count from the
 * database's statistics where it keeps them (a count of millions of rows takes seconds), else
 * counted; the oldest time is the first entry of the time column's index.
 *
 * @example
 *   for (const t of await readTableSizes(store)) console.log(t.table, t.rows, t.oldest);
 */
export async function readTableSizes(store: Store): Promise<TableSize[]> {
  return Promise.all(
    RETENTION_SCOPES.map(async (scope) => {
      const { table, time } = SCOPE_TABLES[scope];
      const estimate = await store.dialect.estimateRows(store.db, table);
      const rows = estimate ?? Number((await store.db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
      const oldest = (await store.db.selectFrom(table).select(sql<unknown>`min(${sql.ref(time)})`.as('oldest')).executeTakeFirstOrThrow()).oldest;
      return { scope, table, rows, estimated: estimate !== undefined, oldest: oldest === null || oldest === undefined ? null : store.dialect.decodeDate(oldest), timeColumn: time };
    }),
  );
}
