/**
 * Conditional writes: the operations tables decide races by the rows a statement changed (or a
 * unique key it hit), never by what a read saw earlier.
 */
import type { Store } from '../open.js';
import { inTransaction } from './transaction.js';

/** Thrown inside a transaction when a conditional write found the row already moved on. */
export class LostRace extends Error {
  override name = 'LostRace';
}

/** Throws LostRace unless a statement changed exactly one row. */
export function expectOne(result: { numUpdatedRows?: bigint; numInsertedOrUpdatedRows?: bigint } | undefined): void {
  const changed = Number(result?.numUpdatedRows ?? result?.numInsertedOrUpdatedRows ?? 0);
  if (changed !== 1) throw new LostRace('the row was changed by someone else first');
}

/** True when the driver refused a row because its primary or unique key exists already. */
export function isUniqueViolation(error: unknown): boolean {
  const err = error as { code?: unknown; number?: unknown; errorNum?: unknown; message?: unknown };
  const code = String(err?.code ?? '');
  if (code === '23505' || code === 'ER_DUP_ENTRY' || /^SQLITE_CONSTRAINT_(PRIMARYKEY|UNIQUE)$/.test(code)) return true;
  const number = Number(err?.number);
  if (number === 2627 || number === 2601) return true;
  return Number(err?.errorNum) === 1 || /^ORA-00001\b/.test(String(err?.message ?? ''));
}

/** True when the database chose this transaction as a deadlock victim (it is rolled back whole). */
export function isDeadlock(error: unknown): boolean {
  const err = error as { code?: unknown; number?: unknown; errno?: unknown };
  const code = String(err?.code ?? '');
  return code === '40P01' || code === 'ER_LOCK_DEADLOCK' || Number(err?.errno) === 1213 || Number(err?.number) === 1205;
}

/**
 * Runs `work` in one transaction; returns undefined (everything rolled back) when a conditional
 * write inside lost its race, by LostRace, by a unique key another writer took first, or as a
 * deadlock victim: in every case the row moved on or may be tried again.
 *
 * @example
 *   const moved = await whoWins(store, async (trx) => { expectOne(await trx.db.updateTable(...).executeTakeFirst()); return true; });
 */
export async function whoWins<T>(store: Store, work: (trx: Store) => Promise<T>): Promise<T | undefined> {
  try {
    return await inTransaction(store, work);
  } catch (error) {
    if (error instanceof LostRace || isUniqueViolation(error) || isDeadlock(error)) return undefined;
    throw error;
  }
}
