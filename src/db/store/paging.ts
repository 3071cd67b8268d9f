/**
 * One page of a query's rows, in the form the database understands. Store code pages through
 * this instead of `.limit()`/`.offset()`, which SQL Server and Oracle do not accept.
 */
import type { SelectQueryBuilder } from 'kysely';
import type { Dialect } from '../dialects/dialect.js';

/**
 * @example
 *   const rows = await query.orderBy('log_time', 'desc').$call(paged(dialect, 100, 200)).execute();
 */
export function paged(dialect: Dialect, limit: number, offset = 0) {
  // OFFSET ... FETCH needs an ORDER BY on SQL Server: every paged store query has one.
  return <DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O> =>
    dialect.paging === 'offset-fetch' ? query.offset(offset).fetch(limit) : query.limit(limit).offset(offset);
}
