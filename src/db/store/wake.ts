/**
 * Wake-ups: the writes a Scheduler should act on at once (a trigger created, edited, enabled or
 * set to Killing; queue elements arriving) tell listening Schedulers so (docs/scheduler.md).
 * Where the database has no notification this does nothing and the poll finds the change.
 */
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
  const statement = store.dialect.notifySql(WAKE_CHANNEL, reason);
  if (!statement) return;
  if (store.db.isTransaction) await statement.execute(store.db);
  else await statement.execute(store.db).catch(() => undefined);
}
