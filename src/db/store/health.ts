/** The reads alert rules evaluate: recent job outcomes and the New backlog of each queue. */
import { sql, type ExpressionBuilder } from 'kysely';
import type { Store } from '../open.js';
import type { Database } from '../types.js';
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
  if (processName !== undefined) query = query.where('process_name', '=', checkText(store.dialect, 'process name', processName, 100));
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
 * Read through ix_Queues_queue_name_status_created_date, so only the New entries are counted,
 * not the table. A plain GROUP BY over all queues reads every element's entry (the index leads
 * with queue_name), so each queue's New range is found first, one index probe per queue:
 * - MariaDB/MySQL skip through the index by themselves for MIN with GROUP BY (a loose index
 *   scan); each queue's count is then one range of the index. SQL Server and Oracle get the
 *   same statement (Oracle can skip-scan it).
 * - SQLite and PostgreSQL have no loose index scan: a recursive CTE asks for the next queue name
 *   after the one before. (MariaDB cannot use a correlated range inside it: it scanned the
 *   whole index for each name.)
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
  const oldestNew = db
    .selectFrom('Queues')
    .select(['queue_name', sql<unknown>`min(${sql.ref('created_date')})`.as('oldest')])
    .where('status', '=', 'NEW')
    .groupBy('queue_name');
  if (queueName !== undefined) {
    const one = oldestNew.select(sql<number>`count(*)`.as('n')).where('queue_name', '=', checkText(store.dialect, 'queue name', queueName, 100));
    return decode(await one.execute());
  }
  const newCount = (eb: ExpressionBuilder<Database & { q: { queue_name: string | null } }, 'q'>) =>
    eb
      .selectFrom('Queues')
      .select(sql<number>`count(*)`.as('n'))
      .whereRef('Queues.queue_name', '=', 'q.queue_name')
      .where('Queues.status', '=', 'NEW')
      .as('n');
  if (dialect.name !== 'sqlite' && dialect.name !== 'postgres') {
    const rows = await db
      .selectFrom(oldestNew.as('q'))
      .select((eb) => ['q.queue_name', 'q.oldest', newCount(eb)])
      .orderBy('q.queue_name')
      .execute();
    return decode(rows);
  }
  const rows = await db
    .withRecursive('q(queue_name)', (qc) =>
      qc
        .selectFrom('Queues')
        .select(sql<string | null>`min(${sql.ref('Queues.queue_name')})`.as('queue_name'))
        .unionAll(
          qc
            .selectFrom('q')
            .select(({ selectFrom }) =>
              selectFrom('Queues')
                .select(({ fn }) => fn.min('Queues.queue_name').as('next'))
                .whereRef('Queues.queue_name', '>', 'q.queue_name')
                .as('queue_name'),
            )
            .where('q.queue_name', 'is not', null),
        ),
    )
    .selectFrom('q')
    .select((eb) => [
      'q.queue_name',
      newCount(eb),
      eb
        .selectFrom('Queues')
        .select(sql<unknown>`min(${sql.ref('Queues.created_date')})`.as('oldest'))
        .whereRef('Queues.queue_name', '=', 'q.queue_name')
        .where('Queues.status', '=', 'NEW')
        .as('oldest'),
    ])
    .where('q.queue_name', 'is not', null)
    .orderBy('q.queue_name')
    .execute();
  return decode(rows);
}
