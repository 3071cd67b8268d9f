/** Queue elements: the work items robots create, claim and finish. */
import { sql } from 'kysely';
import { ClaimConflictError, InputError, NotFoundError } from '../../errors.js';
import { now } from '../../time/clock.js';
import { claimGuardRefusal, type RawRow } from '../dialects/dialect.js';
import { newId } from '../dialects/encoding.js';
import { prepared } from '../dialects/prepared.js';
import type { Store } from '../open.js';
import { QUEUE_STATUSES, type QueueStatus } from '../types.js';
import { NOT_A_COLUMN, checkDate, checkEnum, checkId, checkInteger, checkOptionalText, checkText } from './validate.js';
import { paged } from './paging.js';
import { inTransaction } from './transaction.js';

export interface QueueElement {
  id: string;
  queueName: string;
  status: QueueStatus;
  data: string | null;
  reference: string | null;
  createdDate: Date;
  startDate: Date | null;
  endDate: Date | null;
  message: string | null;
  createdBy: string | null;
}

export interface NewQueueElement {
  reference?: string | null;
  data?: string | null;
  createdBy?: string | null;
}

const LIMITS = { queue_name: 100, data: 2000, reference: 100, message: 1000, created_by: 100 } as const;

function decodeElement({ dialect }: Store, row: RawRow): QueueElement {
  const date = (value: unknown) => (value === null || value === undefined ? null : dialect.decodeDate(value));
  return {
    id: dialect.decodeUuid(row.id),
    queueName: String(row.queue_name),
    status: row.status as QueueStatus,
    data: (row.data as string | null) ?? null,
    reference: (row.reference as string | null) ?? null,
    createdDate: dialect.decodeDate(row.created_date),
    startDate: date(row.start_date),
    endDate: date(row.end_date),
    message: (row.message as string | null) ?? null,
    createdBy: (row.created_by as string | null) ?? null,
  };
}

function elementValues(store: Store, queueName: string, element: NewQueueElement, createdDate: unknown) {
  return {
    id: store.dialect.encodeUuid(newId()),
    queue_name: queueName,
    status: 'NEW' as const,
    data: checkOptionalText(store.dialect, 'queue element data', element.data, LIMITS.data),
    reference: checkOptionalText(store.dialect, 'queue element reference', element.reference, LIMITS.reference),
    created_date: createdDate,
    created_by: checkOptionalText(store.dialect, 'queue element created_by', element.createdBy, LIMITS.created_by),
  };
}

export async function createQueueElement(store: Store, queueName: string, element: NewQueueElement = {}): Promise<QueueElement> {
  checkText(store.dialect, 'queue name', queueName, LIMITS.queue_name);
  const values = elementValues(store, queueName, element, store.dialect.encodeDate(now()));
  // The database's change tracking (oo-014) wakes the Schedulers, for every writer alike.
  await store.db.insertInto('Queues').values(values).execute();
  return decodeElement(store, values);
}

/** Columns one queue element binds in a multi-row INSERT. */
const COLUMNS_PER_ELEMENT = 7;
/** Past this many rows a single statement gets slower to parse than it saves in round trips. */
const MAX_ROWS_PER_STATEMENT = 5000;
/**
 * Text bytes one statement may carry. mysql2 inlines the values into the statement, escaping at
 * most doubles them, and MySQL refuses a statement over max_allowed_packet (4 MB by default on
 * MySQL 5.7, 16 MB on MariaDB): 5,000 elements of 2,000 characters would be 10-40 MB.
 */
const MAX_BYTES_PER_STATEMENT = 1_500_000;
/** Bytes of an element's id, status, dates and SQL punctuation, beside its own text. */
const ROW_OVERHEAD_BYTES = 120;

type ElementRow = ReturnType<typeof elementValues>;

function rowBytes(row: ElementRow): number {
  const text = (value: string | null) => (value === null ? 0 : Buffer.byteLength(value, 'utf8'));
  return ROW_OVERHEAD_BYTES + text(row.queue_name) + text(row.data) + text(row.reference) + text(row.created_by);
}

/** Cuts rows into statements that respect both the bind-parameter and the byte limits. */
export function splitIntoStatements<T>(rows: T[], maxRows: number, maxBytes: number, bytesOf: (row: T) => number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = bytesOf(row);
    if (current.length > 0 && (current.length >= maxRows || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Inserts many elements in large multi-row INSERTs inside one transaction: all or none.
 * Every value is checked before anything is written.
 *
 * @example
 *   await bulkCreateQueueElements(store, 'invoices', rows.map((r) => ({ reference: r.no, data: JSON.stringify(r) })));
 */
export async function bulkCreateQueueElements(
  store: Store,
  queueName: string,
  elements: NewQueueElement[],
  onProgress?: (inserted: number, total: number) => void,
): Promise<number> {
  checkText(store.dialect, 'queue name', queueName, LIMITS.queue_name);
  if (!Array.isArray(elements)) throw new InputError('elements must be an array of { reference, data, createdBy }');
  const created = store.dialect.encodeDate(now());
  const rows = elements.map((element, i) => {
    try {
      return elementValues(store, queueName, element ?? {}, created);
    } catch (error) {
      (error as Error).message = `element ${i}: ${(error as Error).message}`;
      throw error;
    }
  });
  const maxRows = Math.min(MAX_ROWS_PER_STATEMENT, store.dialect.maxRowsPerInsert, Math.floor(store.dialect.maxBindParams / COLUMNS_PER_ELEMENT));
  const batches = splitIntoStatements(rows, maxRows, MAX_BYTES_PER_STATEMENT, rowBytes);
  await inTransaction(store, async ({ db: trx }) => {
    let inserted = 0;
    for (const batch of batches) {
      await trx.insertInto('Queues').values(batch).execute();
      inserted += batch.length;
      onProgress?.(inserted, rows.length);
    }
  });
  return rows.length;
}

/**
 * Claims the oldest New element of a queue (optionally with an exact reference) and returns it
 * In Progress, or undefined when there is none. Never hands one element to two robots.
 */
export async function getNextQueueElement(
  store: Store,
  queueName: string,
  options: { reference?: string; setStatus?: boolean } = {},
): Promise<QueueElement | undefined> {
  checkText(store.dialect, 'queue name', queueName, LIMITS.queue_name);
  if (options.reference !== undefined) checkText(store.dialect, 'queue element reference', options.reference, LIMITS.reference, { allowEmpty: true });
  if (options.setStatus === false) {
    let query = store.db.selectFrom('Queues').selectAll().where('queue_name', '=', queueName).where('status', '=', 'NEW');
    if (options.reference !== undefined) query = query.where('reference', '=', options.reference);
    // The same order as the dialects' claim, so a peek shows the element a claim would take.
    const row = await query.orderBy('created_date').orderBy('id').$call(paged(store.dialect, 1)).executeTakeFirst();
    return row ? decodeElement(store, row) : undefined;
  }
  const row = await store.dialect.claimQueueElement(store.db, {
    queueName,
    reference: options.reference,
    startDate: store.dialect.encodeDate(now()),
  });
  return row ? decodeElement(store, row) : undefined;
}

export interface QueueElementFilter {
  reference?: string;
  status?: QueueStatus;
  fromDate?: Date;
  toDate?: Date;
  offset?: number;
  limit?: number;
}

/** Elements of a queue, newest first. */
export async function getQueueElements(store: Store, queueName: string, filter: QueueElementFilter = {}): Promise<QueueElement[]> {
  const { db, dialect } = store;
  checkText(store.dialect, 'queue name', queueName, LIMITS.queue_name);
  let query = db.selectFrom('Queues').selectAll().where('queue_name', '=', queueName);
  if (filter.reference !== undefined) query = query.where('reference', '=', filter.reference);
  if (filter.status !== undefined) query = query.where('status', '=', checkEnum('status', filter.status, QUEUE_STATUSES));
  if (filter.fromDate) query = query.where('created_date', '>=', dialect.encodeDate(filter.fromDate));
  if (filter.toDate) query = query.where('created_date', '<=', dialect.encodeDate(filter.toDate));
  const limit = checkInteger('limit', filter.limit ?? 100, 1, 100_000);
  const offset = checkInteger('offset', filter.offset ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const rows = await query.orderBy('created_date', 'desc').orderBy('id', 'desc').$call(paged(dialect, limit, offset)).execute();
  return rows.map((row) => decodeElement(store, row));
}

export async function getQueueElement(store: Store, id: string): Promise<QueueElement> {
  const canonical = checkId('queue element id', id);
  const row = await store.db.selectFrom('Queues').selectAll().where('id', '=', store.dialect.encodeUuid(canonical)).executeTakeFirst();
  if (!row) throw new NotFoundError(`no queue element with id ${canonical}`);
  return decodeElement(store, row);
}

/**
 * Sets an element's status (and message, when given). In Progress sets start_date; Done, Failed
 * and Abandoned set end_date.
 */
export async function setQueueElementStatus(store: Store, id: string, status: QueueStatus, message?: string | null): Promise<void> {
  const { db, dialect } = store;
  const canonical = checkId('queue element id', id);
  checkEnum('queue element status', status, QUEUE_STATUSES);
  const text = message === undefined ? undefined : checkOptionalText(store.dialect, 'queue element message', message, LIMITS.message);
  const stamp = dialect.encodeDate(now());
  const update = db
    .updateTable('Queues')
    .set({
      status,
      ...(status === 'IN_PROGRESS' ? { start_date: stamp } : {}),
      ...(status === 'DONE' || status === 'FAILED' || status === 'ABANDONED' ? { end_date: stamp } : {}),
      ...(text !== undefined ? { message: text } : {}),
    })
    .where('id', '=', dialect.encodeUuid(canonical));
  // A robot runs this once per element it finishes: prepared once per connection (six shapes at most).
  const result = await db.executeQuery(prepared(update)).catch((error: unknown) => refusedClaim(store, canonical, error));
  if (Number(result.numAffectedRows ?? 0) === 0) throw new NotFoundError(`no queue element with id ${canonical}`);
}

/**
 * Rethrows `error`; a claim guard's refusal (oo-013-claim-guard) as one ClaimConflictError line
 * that names the element and its status, which SQLite's guard message cannot.
 */
async function refusedClaim(store: Store, canonical: string, error: unknown): Promise<never> {
  const refusal = claimGuardRefusal(error);
  if (refusal === undefined) throw error;
  // In an aborted transaction (PostgreSQL) the read fails too: the guard's own line then says it.
  const row = await store.db
    .selectFrom('Queues')
    .select(['status', 'reference'])
    .where('id', '=', store.dialect.encodeUuid(canonical))
    .executeTakeFirst()
    .catch(() => undefined);
  if (!row) throw new ClaimConflictError(refusal);
  throw new ClaimConflictError(
    `claim guard: queue element ${canonical} (${row.reference ?? 'no reference'}) is ${row.status}: another robot has it; only a New element can be set In Progress, and one In Progress keeps its start date`,
  );
}

/** The fields `updateQueueElement` may change; a field left out keeps its value. */
export interface QueueElementChanges {
  reference?: string | null;
  status?: QueueStatus;
  data?: string | null;
  message?: string | null;
  createdBy?: string | null;
  createdDate?: Date;
  startDate?: Date | null;
  endDate?: Date | null;
}

/**
 * Changes an element's fields as given, and nothing else: unlike setQueueElementStatus, a new
 * status sets no date by itself (the Python client's update offers the same). Every value is
 * checked before anything is written.
 *
 * @example
 *   await updateQueueElement(store, id, { reference: 'INV-18', data: '{"invoice": 18}' });
 */
export async function updateQueueElement(store: Store, id: string, changes: QueueElementChanges): Promise<QueueElement> {
  const { db, dialect } = store;
  const canonical = checkId('queue element id', id);
  if (typeof changes !== 'object' || changes === null) throw new InputError('changes must be an object of the fields to change');
  const known = ['reference', 'status', 'data', 'message', 'createdBy', 'createdDate', 'startDate', 'endDate'];
  const unknown = Object.keys(changes).find((key) => !known.includes(key));
  if (unknown) throw new InputError(`unknown queue element field "${unknown}"; the fields are ${known.join(', ')}`);
  const date = (field: string, value: Date | null | undefined) => (value === null ? null : dialect.encodeDate(checkDate(field, value)));
  const set: Record<string, unknown> = {};
  if ('reference' in changes) set.reference = checkOptionalText(store.dialect, 'queue element reference', changes.reference, LIMITS.reference);
  if ('status' in changes) set.status = checkEnum('queue element status', changes.status, QUEUE_STATUSES);
  if ('data' in changes) set.data = checkOptionalText(store.dialect, 'queue element data', changes.data, LIMITS.data);
  if ('message' in changes) set.message = checkOptionalText(store.dialect, 'queue element message', changes.message, LIMITS.message);
  if ('createdBy' in changes) set.created_by = checkOptionalText(store.dialect, 'queue element created_by', changes.createdBy, LIMITS.created_by);
  if ('createdDate' in changes) set.created_date = dialect.encodeDate(checkDate('created date', changes.createdDate));
  if ('startDate' in changes) set.start_date = date('start date', changes.startDate);
  if ('endDate' in changes) set.end_date = date('end date', changes.endDate);
  if (Object.keys(set).length > 0) {
    const result = await db
      .updateTable('Queues')
      .set(set)
      .where('id', '=', dialect.encodeUuid(canonical))
      .executeTakeFirst()
      .catch((error: unknown) => {
        // MariaDB's claim guard cannot tell which columns a statement names: it refuses a write
        // that changes nothing on a held element. Without status and start date, that is all it was.
        if (!('status' in set) && !('start_date' in set) && claimGuardRefusal(error) !== undefined) return { numUpdatedRows: 1n };
        return refusedClaim(store, canonical, error);
      });
    if (Number(result.numUpdatedRows) === 0) throw new NotFoundError(`no queue element with id ${canonical}`);
  }
  return getQueueElement(store, canonical);
}

export async function deleteQueueElement(store: Store, id: string): Promise<void> {
  const canonical = checkId('queue element id', id);
  const result = await store.db.deleteFrom('Queues').where('id', '=', store.dialect.encodeUuid(canonical)).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`no queue element with id ${canonical}`);
}

/** Number of New elements in a queue (a queue trigger is due when this reaches its batch size). */
export async function countNewElements({ db }: Store, queueName: string): Promise<number> {
  const row = await db
    .selectFrom('Queues')
    .select(sql<number>`count(*)`.as('n'))
    .where('queue_name', '=', queueName)
    .where('status', '=', 'NEW')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export interface QueueSummary {
  queueName: string;
  counts: Record<QueueStatus, number>;
}

/** Every queue with its element count per status, sorted by name. */
export async function listQueues({ db }: Store): Promise<QueueSummary[]> {
  const rows = await db
    .selectFrom('Queues')
    .select(['queue_name', 'status', sql<number>`count(*)`.as('n')])
    .groupBy(['queue_name', 'status'])
    .execute();
  const byName = new Map<string, QueueSummary>();
  for (const row of rows) {
    let summary = byName.get(row.queue_name);
    if (!summary) {
      summary = { queueName: row.queue_name, counts: { NEW: 0, IN_PROGRESS: 0, DONE: 0, FAILED: 0, ABANDONED: 0 } };
      byName.set(row.queue_name, summary);
    }
    summary.counts[row.status] = Number(row.n);
  }
  return [...byName.values()].sort((a, b) => a.queueName.localeCompare(b.queueName));
}

export const QUEUE_ELEMENT_SORTS = ['created_date', 'start_date', 'end_date', 'status', 'reference'] as const;
export type QueueElementSort = (typeof QUEUE_ELEMENT_SORTS)[number];

export interface QueueElementSearch {
  status?: QueueStatus;
  fromDate?: Date;
  toDate?: Date;
  /** case-insensitive text searched in reference, data and message */
  text?: string;
  sort?: QueueElementSort;
  order?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
}

/** LIKE pattern for "contains", with %, _ and [ escaped by '!' (an escape every dialect accepts). */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[!%_[]/g, (c) => `!${c}`)}%`;
}

function searchedElements({ db, dialect }: Store, queueName: string, search: QueueElementSearch) {
  checkText(dialect, 'queue name', queueName, LIMITS.queue_name);
  let query = db.selectFrom('Queues').where('queue_name', '=', queueName);
  if (search.status !== undefined) query = query.where('status', '=', checkEnum('status', search.status, QUEUE_STATUSES));
  if (search.fromDate) query = query.where('created_date', '>=', dialect.encodeDate(search.fromDate));
  if (search.toDate) query = query.where('created_date', '<=', dialect.encodeDate(search.toDate));
  if (search.text) {
    const pattern = containsPattern(checkText(NOT_A_COLUMN, 'search text', search.text, 200));
    query = query.where(({ or }) =>
      or([
        sql<boolean>`lower(${sql.ref('reference')}) like ${pattern} escape '!'`,
        sql<boolean>`lower(${sql.ref('data')}) like ${pattern} escape '!'`,
        sql<boolean>`lower(${sql.ref('message')}) like ${pattern} escape '!'`,
      ]),
    );
  }
  return query;
}

/** One page of a queue's elements, filtered, searched and sorted (newest first by default). */
export async function searchQueueElements(store: Store, queueName: string, search: QueueElementSearch = {}): Promise<QueueElement[]> {
  const sort = checkEnum('sort', search.sort ?? 'created_date', QUEUE_ELEMENT_SORTS);
  const order = search.order === 'asc' ? 'asc' : 'desc';
  const limit = checkInteger('limit', search.limit ?? 100, 1, 10_000);
  const offset = checkInteger('offset', search.offset ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const rows = await searchedElements(store, queueName, search)
    .selectAll()
    .orderBy(sort, order)
    .orderBy('id', order)
    .$call(paged(store.dialect, limit, offset))
    .execute();
  return rows.map((row) => decodeElement(store, row));
}

/** Number of elements a search matches (for paging). */
export async function countQueueElements(store: Store, queueName: string, search: QueueElementSearch = {}): Promise<number> {
  const row = await searchedElements(store, queueName, search)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Puts Failed elements back to New (start and end dates cleared). Returns how many changed. */
export async function retryQueueElements(store: Store, ids: string[]): Promise<number> {
  if (!Array.isArray(ids) || ids.length === 0) throw new InputError('give at least one queue element id to retry');
  const encoded = ids.map((id) => store.dialect.encodeUuid(checkId('queue element id', id)));
  const result = await store.db
    .updateTable('Queues')
    .set({ status: 'NEW', start_date: null, end_date: null })
    .where('id', 'in', encoded)
    .where('status', '=', 'FAILED')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** End dates of a queue's finished elements since `since`: the raw material of the throughput chart. */
export async function listQueueEndDates(store: Store, queueName: string, since: Date, limit = 200_000): Promise<Date[]> {
  checkText(store.dialect, 'queue name', queueName, LIMITS.queue_name);
  const rows = await store.db
    .selectFrom('Queues')
    .select('end_date')
    .where('queue_name', '=', queueName)
    .where('end_date', '>=', store.dialect.encodeDate(since))
    .orderBy('end_date', 'desc')
    .$call(paged(store.dialect, limit))
    .execute();
  return rows.map((row) => store.dialect.decodeDate(row.end_date));
}

/** Later than any claim: the bound on claims when no job is Running (DATETIME's last year on every dialect). */
const NO_RUNNING_JOB = new Date(9999, 0, 1);

/**
 * "Stale in progress": In Progress elements whose robot is gone. Elements record no job, so the
 * link is by time: an element is stale when
 *   (a) it was claimed (start_date) while a job that has since ended (Done, Failed, Killed) was
 *       running (start_time <= start_date <= end_time), and
 *   (b) no job that is still Running had started by then (start_time <= start_date).
 * (b) makes the rule conservative: an element a running robot may still hold is never listed.
 * (a) leaves out elements claimed by robots the Scheduler did not start (no job covers them).
 * A robot that outlives its job's record (impossible under the Scheduler, which ends the job
 * when the process exits) would be the only false positive.
 *
 * As SQL, in one statement so both halves see the same jobs:
 * - (b) is `start_date < R`, R the earliest start of a Running job: one scalar read once, one
 *   probe of ix_Jobs_status_start_time (no bound when nothing runs), and a bound on the walk of
 *   In Progress elements in claim order (ix_Queues_status_start_date), which a limit stops early.
 * - Given (b), every job started at or before the claim has ended, so (a) needs no status: "a
 *   job with end_time >= start_date and start_time <= start_date". Walked in end_time order
 *   from the claim (ix_Jobs_end_start_status, index-only), the first job to end after the claim
 *   normally started before it and answers.
 * A sweep instead (a running max of end_time over Jobs and the claims by time, with a window
 * function) reads every job before the claims it answers: PostgreSQL streamed it and stopped
 * after the 100 oldest (95 ms at 1M jobs, against 2-7 ms for the probes), MariaDB materialized
 * it (over 100 s). The probes cost a few index entries per element; one walks far only for an
 * element that no job covers: it reads the jobs that ended after its claim before it gives up.
 */
function staleInProgress({ db, dialect }: Store) {
  return db
    .selectFrom('Queues')
    .where('Queues.status', '=', 'IN_PROGRESS')
    .where(({ eb, fn, selectFrom }) =>
      eb(
        'Queues.start_date',
        '<',
        fn.coalesce(
          selectFrom('Jobs')
            .select(({ fn: f }) => f.min('Jobs.start_time').as('first_running'))
            .where('Jobs.status', '=', 'RUNNING'),
          sql<string>`${dialect.encodeDate(NO_RUNNING_JOB)}`,
        ),
      ),
    )
    .where((eb) => {
      const endedSince = eb.selectFrom('Jobs').select(sql<number>`1`.as('one')).whereRef('Jobs.end_time', '>=', 'Queues.start_date');
      if (dialect.name !== 'mysql') return eb.exists(endedSince.whereRef('Jobs.start_time', '<=', 'Queues.start_date'));
      // MariaDB plans a correlated EXISTS once, with no range on the claim time: it walked Jobs
      // from its first end_time for every element (minutes at 1M jobs). An IN becomes a
      // semi-join, whose Jobs range is planned again for each element and stops at the first
      // match; start_time inside COALESCE (never NULL) keeps the start_time indexes out of that
      // choice, as they walk from the first job for claims older than most jobs.
      return eb(sql.lit(1), 'in', endedSince.where(sql`coalesce(${sql.ref('Jobs.start_time')}, ${sql.ref('Jobs.end_time')})`, '<=', sql.ref('Queues.start_date')));
    });
}

/** Stale In Progress elements (see staleInProgress), oldest claim first, optionally of one queue. */
export async function listStaleInProgress(store: Store, options: { queueName?: string; limit?: number } = {}): Promise<QueueElement[]> {
  let query = staleInProgress(store).selectAll('Queues');
  if (options.queueName !== undefined) query = query.where('queue_name', '=', checkText(store.dialect, 'queue name', options.queueName, LIMITS.queue_name));
  const limit = checkInteger('limit', options.limit ?? 1000, 1, 10_000);
  const rows = await query.orderBy('start_date').orderBy('id').$call(paged(store.dialect, limit)).execute();
  return rows.map((row) => decodeElement(store, row));
}

/**
 * Puts stale In Progress elements back to New. Each element changes only if it is still In
 * Progress with the claim time that made it stale, so an element that was reset and claimed
 * again meanwhile is left alone.
 */
export async function retryStaleInProgress(store: Store, ids: string[]): Promise<number> {
  if (!Array.isArray(ids) || ids.length === 0) throw new InputError('give at least one queue element id to retry');
  const encoded = ids.map((id) => store.dialect.encodeUuid(checkId('queue element id', id)));
  const stale = await staleInProgress(store).select(['Queues.id', 'Queues.start_date']).where('Queues.id', 'in', encoded).execute();
  let retried = 0;
  for (const row of stale) {
    const result = await store.db
      .updateTable('Queues')
      .set({ status: 'NEW', start_date: null, end_date: null })
      .where('id', '=', row.id)
      .where('status', '=', 'IN_PROGRESS')
      .where('start_date', '=', row.start_date)
      .executeTakeFirst();
    retried += Number(result.numUpdatedRows);
  }
  return retried;
}

/** An In Progress element the visibility timeout may take back, with its claim time as stored. */
export interface TimedOutElement {
  id: string;
  /** start_date in the database's own encoding, for the conditional move */
  rawStartDate: unknown;
  startDate: Date;
  reason: 'job ended' | 'timeout';
}

/**
 * In Progress elements of a queue that are stale (see staleInProgress) or were claimed before
 * `startedBefore`, oldest claim first.
 */
export async function listInProgressPastTimeout(store: Store, queueName: string, startedBefore: Date, limit = 500): Promise<TimedOutElement[]> {
  checkText(store.dialect, 'queue name', queueName, LIMITS.queue_name);
  const stale = await staleInProgress(store)
    .select(['Queues.id as id', 'Queues.start_date as start_date'])
    .where('Queues.queue_name', '=', queueName)
    .orderBy('Queues.start_date')
    .$call(paged(store.dialect, limit))
    .execute();
  const old = await store.db
    .selectFrom('Queues')
    .select(['id', 'start_date'])
    .where('queue_name', '=', queueName)
    .where('status', '=', 'IN_PROGRESS')
    .where('start_date', '<', store.dialect.encodeDate(startedBefore))
    .orderBy('start_date')
    .$call(paged(store.dialect, limit))
    .execute();
  const found = new Map<string, TimedOutElement>();
  for (const [rows, reason] of [[stale, 'job ended'], [old, 'timeout']] as const) {
    for (const row of rows) {
      if (row.start_date === null || row.start_date === undefined) continue;
      const id = store.dialect.decodeUuid(row.id);
      if (!found.has(id)) found.set(id, { id, rawStartDate: row.start_date, startDate: store.dialect.decodeDate(row.start_date), reason });
    }
  }
  return [...found.values()].sort((a, b) => a.startDate.getTime() - b.startDate.getTime());
}

/**
 * Elements of a queue claimed (start_date) within [from, to]: what a job of a queue trigger
 * worked on while it ran. Robots record no job on an element, so this is what "the elements of
 * a job" can mean; two robots on one queue at the same time share it.
 */
export async function listElementsStartedBetween(store: Store, queueName: string, from: Date, to: Date, limit = 100): Promise<QueueElement[]> {
  const { db, dialect } = store;
  const rows = await db
    .selectFrom('Queues')
    .selectAll()
    .where('queue_name', '=', checkText(store.dialect, 'queue name', queueName, LIMITS.queue_name))
    .where('start_date', '>=', dialect.encodeDate(checkDate('from', from)))
    .where('start_date', '<=', dialect.encodeDate(checkDate('to', to)))
    .orderBy('start_date')
    .orderBy('id')
    .$call(paged(dialect, checkInteger('limit', limit, 1, 1000)))
    .execute();
  return rows.map((row) => decodeElement(store, row));
}
