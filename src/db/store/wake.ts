/**
 * Wake-ups: the database's change tracking (oo-014, src/db/dialects/change-tracking.ts) tells
 * listening Schedulers, on PostgreSQL, of every write a Scheduler should act on at once (a
 * trigger created, edited, enabled or set to Killing; queue elements arriving), whoever makes
 * it: our tools, the Python ones, plain SQL (docs/scheduler.md). Our code sends only a
 * listener's proof of its connection.
 */
import { sql } from 'kysely';
import { WAKE_CHANNEL } from '../dialects/change-tracking.js';
import type { Store } from '../open.js';

export { WAKE_CHANNEL };

/** Sends any payload on the wake channel (a listener's proof of its connection); failures reject. */
export async function notifyRaw(store: Store, payload: string): Promise<void> {
  const expression = store.dialect.notifyExpression(WAKE_CHANNEL, payload);
  if (expression) await sql`SELECT ${expression}`.execute(store.db);
}
