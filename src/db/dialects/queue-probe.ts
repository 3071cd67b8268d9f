/**
 * The dialects' shapes of Dialect.newElementsSql: the Scheduler's probe of one queue's New
 * elements, which must read `ix_Queues_queue_name_status_created_date` (oo-003) on every dialect.
 * Each planner is lured away from it differently when there are few queues and many New elements
 * (the case test/queue-probes.test.ts builds):
 *
 * - PostgreSQL estimates a queue name it cannot see (a correlated column, a generic plan's
 *   parameter) at 1/n_distinct of the table and picks a sequential scan that should stop at the
 *   first match, or the narrower upstream `ix_Queues_queue_name`; a queue without New elements
 *   then costs the whole table or the whole queue (10 probes took 213 ms at 300k rows, against
 *   0.1 ms). It reads `status = 'NEW'` as a constant, after which ORDER BY status asks nothing;
 *   `status >= 'NEW' AND status <= 'NEW'` keeps that order a real one, which only this index
 *   gives.
 * - MariaDB's index statistics (a few sampled pages) make `ix_Queues_queue_name` look as
 *   selective for a correlated queue name, and it reads every element of the queue. There an
 *   index hint is the documented remedy, and the Scheduler runs only on a database whose oo-003
 *   is recorded (checkSchemaInUse).
 * - SQLite, SQL Server and Oracle take `=` on both columns as it is.
 */
import { sql, type Expression, type RawBuilder } from 'kysely';
import type { Dialect } from './dialect.js';

const INDEX = 'ix_Queues_queue_name_status_created_date';

export interface NewElementsShape {
  /** how `status` is pinned to New (see above) */
  newStatus: 'equality' | 'range';
  /** MySQL/MariaDB: FORCE INDEX */
  forceIndex?: boolean;
  paging: Dialect['paging'];
}

/**
 * @example
 *   newElementsSql: (queueName, limit) => newElementsOfQueue(queueName, limit, { newStatus: 'equality', paging: 'limit-offset' }),
 */
export function newElementsOfQueue(queueName: string | Expression<string>, limit: number, shape: NewElementsShape): RawBuilder<{ status: string }> {
  const status = sql.ref('e.status');
  const queues = sql`${sql.table('Queues')} ${sql.id('e')}`;
  const from = shape.forceIndex ? sql`${queues} FORCE INDEX (${sql.id(INDEX)})` : queues;
  const isNew = shape.newStatus === 'range' ? sql`${status} >= 'NEW' AND ${status} <= 'NEW'` : sql`${status} = 'NEW'`;
  const page = shape.paging === 'offset-fetch' ? sql`OFFSET 0 ROWS FETCH NEXT ${limit} ROWS ONLY` : sql`LIMIT ${limit}`;
  return sql<{ status: string }>`(SELECT ${status} FROM ${from} WHERE ${sql.ref('e.queue_name')} = ${queueName} AND ${isNew} ORDER BY ${status} ${page})`;
}
