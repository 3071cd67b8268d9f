/**
 * Transactions that join the caller's. A store function that must write several rows together
 * runs them through `inTransaction`: on its own it gets a transaction of its own; inside a
 * transaction someone opened with `beginTransaction` (the Orchestrator's change and its audit
 * row, src/orchestrator/unit-of-work.ts) it gets a savepoint in it, so a part that fails rolls
 * back alone (what `whoWins` relies on) and everything commits or rolls back with the whole.
 */
import { ControlledTransaction } from 'kysely';
import type { Store } from '../open.js';
import type { Database } from '../types.js';

let savepoints = 0;

/** Raised when a database ended the whole transaction under a savepoint (a deadlock victim on MySQL): nothing of it may be retried or kept. */
export class TransactionLost extends Error {
  override name = 'TransactionLost';
}

/**
 * Runs `work` in one transaction, or in a savepoint of the transaction `store` is already in.
 *
 * @example
 *   await inTransaction(store, async (trx) => { await trx.db.insertInto('Triggers')...; await trx.db.insertInto('Single_Triggers')...; });
 */
export async function inTransaction<T>(store: Store, work: (trx: Store) => Promise<T>): Promise<T> {
  const outer = store.db;
  if (!(outer instanceof ControlledTransaction)) return outer.transaction().execute((trx) => work({ ...store, db: trx }));
  const name = `oo_sp_${++savepoints}`;
  // Kysely types savepoint names as literals; ours are made here, one per call.
  const inner = (await (outer as ControlledTransaction<Database, string[]>).savepoint(name).execute()) as unknown as ControlledTransaction<Database, [string]>;
  let result: T;
  try {
    result = await work({ ...store, db: inner as unknown as Store['db'] });
  } catch (error) {
    try {
      await inner.rollbackToSavepoint(name).execute();
    } catch {
      // The database dropped the transaction itself (and with it the savepoint): the caller must not go on as if only this part failed.
      throw new TransactionLost(`the database ended the transaction: ${String((error as Error)?.message ?? error).split('\n')[0]}`);
    }
    throw error;
  }
  await inner.releaseSavepoint(name).execute();
  return result;
}

/**
 * Opens a transaction whose commit and rollback the caller controls; store functions called
 * with the returned store join it through `inTransaction`.
 */
export async function beginTransaction(store: Store): Promise<{ store: Store; commit(): Promise<void>; rollback(): Promise<void> }> {
  const trx = await store.db.startTransaction().execute();
  return {
    store: { ...store, db: trx },
    commit: async () => {
      await trx.commit().execute();
    },
    rollback: async () => {
      if (!trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute();
    },
  };
}
