/**
 * Wake-ups: the writes a Scheduler should act on at once (a trigger created, edited, enabled or
 * set to Killing; queue elements arriving) tell listening Schedulers so (docs/scheduler.md).
 * Where the database has no notification this does nothing and the poll finds the change.
 */
import { sql, type AliasedRawBuilder } from 'kysely';
import type { Store } from '../open.js';

/** The PostgreSQL channel Schedulers LISTEN on. */
export const WAKE_CHANNEL = 'openorchestrator_wake';

/** What changed; listeners wake for any of them, the payload only helps reading the traffic. */
export type WakeReason = 'trigger' | 'queue';

/**
 * Notifies listening Schedulers. Inside a transaction the notification goes out at commit (and
 * not at all on rollback). Outside one, a failure is ignored: the write it follows has happened,
 * and the poll will see it.
 */
export async function notifyChange(store: Store, reason: WakeReason): Promise<void> {
  if (store.db.isTransaction) await notifyRaw(store, reason);
  else await notifyRaw(store, reason).catch(() => undefined);
}

/** Sends any payload on the wake channel (a listener's proof of its connection); failures reject. */
export async function notifyRaw(store: Store, payload: string): Promise<void> {
  const expression = store.dialect.notifyExpression(WAKE_CHANNEL, payload);
  if (expression) await sql`SELECT ${expression}`.execute(store.db);
}

/**
 * The notification as a column to add to a statement's RETURNING, where the database has one:
 * the write and its notification in one round trip (for the writes robots make one by one).
 */
export function notifyColumn(store: Store, reason: WakeReason): AliasedRawBuilder<unknown, 'notified'> | undefined {
  return store.dialect.notifyExpression(WAKE_CHANNEL, reason)?.as('notified');
}
