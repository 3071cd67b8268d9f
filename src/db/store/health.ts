/** The reads alert rules evaluate: recent job outcomes and the New backlog of each queue. */
import { sql } from 'kysely';
import type { Store } from '../open.js';
import { checkText } from './validate.js';

export interface JobOutcome {
  id: string;
  processName: string;
  status: 'DONE' | 'FAILED';
  endTime: Date;
}

/** Jobs that ended Done or Failed since `since`, oldest end first (Killed runs say nothing either way). */
export async function listJobOutcomes(store: Store, since: Date, processName?: string): Promise<JobOutcome[]> {
  let query = store.db
    .selectFrom('Jobs')
    .select(['id', 'process_name', 'status', 'end_time'])
    .where('end_time', '>=', store.dialect.encodeDate(since))
    .where('status', 'in', ['DONE', 'FAILED']);
  if (processName !== undefined) query = query.where('process_name', '=', checkText('process name', processName, 100));
  const rows = await query.orderBy('end_time').orderBy('id').execute();
  return rows.map((row) => ({
    id: store.dialect.decodeUuid(row.id),
    processName: row.process_name,
    status: row.status as 'DONE' | 'FAILED',
    endTime: store.dialect.decodeDate(row.end_time),
  }));
}

export interface QueueBacklog {
  queueName: string;
  newCount: number;
  oldestNew: Date;
}

/**
 * Queues with New elements: how many, and the oldest one's creation time, by queue name.
 *
 * Counted per queue through ix_Queues_queue_name_status_created_date, so only the New entries
 * are read, not the table. A GROUP BY over all queues would read every element (the index
 * leads with queue_name, and only Oracle skips through it by itself), so the queue names are
 * found first by a loose index scan: a recursive CTE that asks for the next name after the one
 * before, one index probe per queue. SQL Server allows no subquery in a recursive CTE (and
 * stops at 100 levels): it and Oracle (whose optimizer skip-scans the index) get the GROUP BY.
 *
 * @example
 *   for (const q of await listQueueBacklogs(store)) console.log(q.queueName, q.newCount, q.oldestNew);
 */
export async function listQueueBacklogs(store: Store, queueName?: string): Promise<QueueBacklog[]> {
  const { db, dialect } = store;
  const decode = (rows: { queue_name: string | null; n: unknown; oldest: unknown }[]) =>
    rows.flatMap((row) =>
      row.queue_name === null || Number(row.n) === 0 ? [] : [{ queueName: row.queue_name, newCount: Number(row.n), oldestNew: dialect.decodeDate(row.oldest) }],
    );
  if (queueName !== undefined || dialect.name === 'mssql' || dialect.name === 'oracle') {
    let query = db
      .selectFrom('Queues')
      .select(['queue_name', sql<number>`count(*)`.as('n'), sql<unknown>`min(${sql.ref('created_date')})`.as('oldest')])
      .where('status', '=', 'NEW');
    if (queueName !== undefined) query = query.where('queue_name', '=', checkText('queue name', queueName, 100));
    return decode(await query.groupBy('queue_name').orderBy('queue_name').execute());
  }
  const rows = await db
    .withRecursive('names(queue_name)', (qc) =>
      qc
        .selectFrom('Queues')
        .select(sql<string | null>`min(${sql.ref('Queues.queue_name')})`.as('queue_name'))
        .unionAll(
          qc
            .selectFrom('names')
            .select(({ selectFrom }) =>
              selectFrom('Queues')
                .select(({ fn }) => fn.min('Queues.queue_name').as('next'))
                .whereRef('Queues.queue_name', '>', 'names.queue_name')
                .as('queue_name'),
            )
            .where('names.queue_name', 'is not', null),
        ),
    )
    .selectFrom('names')
    .select(({ selectFrom }) => [
      'names.queue_name',
      selectFrom('Queues')
        .select(sql<number>`count(*)`.as('n'))
        .whereRef('Queues.queue_name', '=', 'names.queue_name')
        .where('Queues.status', '=', 'NEW')
        .as('n'),
      selectFrom('Queues')
        .select(sql<unknown>`min(${sql.ref('Queues.created_date')})`.as('oldest'))
        .whereRef('Queues.queue_name', '=', 'names.queue_name')
        .where('Queues.status', '=', 'NEW')
        .as('oldest'),
    ])
    .where('names.queue_name', 'is not', null)
    .orderBy('names.queue_name')
    .execute();
  return decode(rows);
}
