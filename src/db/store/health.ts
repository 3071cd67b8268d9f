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

/** Queues with New elements: how many, and the oldest one's creation time. */
export async function listQueueBacklogs(store: Store, queueName?: string): Promise<QueueBacklog[]> {
  let query = store.db
    .selectFrom('Queues')
    .select(['queue_name', sql<number>`count(*)`.as('n'), sql<unknown>`min(${sql.ref('created_date')})`.as('oldest')])
    .where('status', '=', 'NEW');
  if (queueName !== undefined) query = query.where('queue_name', '=', checkText('queue name', queueName, 100));
  const rows = await query.groupBy('queue_name').execute();
  return rows.map((row) => ({ queueName: row.queue_name, newCount: Number(row.n), oldestNew: store.dialect.decodeDate(row.oldest) }));
}
