/**
 * "Run now": a single or scheduled trigger gets next_run = now; a queue trigger, which has no
 * next_run, gets a row in oo_run_requests that makes it due once even below min_batch_size
 * (listDueTriggers and claimTrigger read it; the claim deletes it).
 */
import { now } from '../../time/clock.js';
import type { Store } from '../open.js';
import type { TriggerStatus } from '../types.js';
import { getTrigger, setNextRun, transitionTriggerStatus } from './triggers.js';
import { checkDate, checkId } from './validate.js';
import { inTransaction } from './transaction.js';

/** The statuses "run now" accepts; each goes (back) to Idle. Running ones and Paused ones are refused. */
export const RUN_NOW_FROM: readonly TriggerStatus[] = ['IDLE', 'DONE', 'FAILED', 'KILLED'];

export interface RunRequest {
  triggerId: string;
  requestedAt: Date;
}

/**
 * Records a "run now" request for a queue trigger; a second request before the run is the same
 * request (it keeps its first time). Does not look at the trigger's status: see runTriggerNow.
 */
export async function requestRun(store: Store, triggerId: string, at: Date = now()): Promise<void> {
  const { db, dialect } = store;
  const id = dialect.encodeUuid(checkId('trigger id', triggerId));
  const requestedAt = dialect.encodeDate(checkDate('requested at', at));
  const existing = await db.selectFrom('oo_run_requests').select('trigger_id').where('trigger_id', '=', id).executeTakeFirst();
  if (!existing) await db.insertInto('oo_run_requests').values({ trigger_id: id, requested_at: requestedAt }).execute();
}

/** The requests no Scheduler has claimed yet, oldest first. */
export async function listRunRequests(store: Store): Promise<RunRequest[]> {
  const { db, dialect } = store;
  const rows = await db.selectFrom('oo_run_requests').selectAll().orderBy('requested_at').orderBy('trigger_id').execute();
  return rows.map((row) => ({ triggerId: dialect.decodeUuid(row.trigger_id), requestedAt: dialect.decodeDate(row.requested_at) }));
}

/**
 * Makes a trigger due now: Idle, Done, Failed or Killed -> Idle, and next_run = `at` (single,
 * scheduled) or a run request (queue), in one transaction. The status change is a conditional
 * UPDATE, so a Scheduler that claims the trigger meanwhile wins and this returns false (as it
 * does for a Running, Pausing, Killing or Paused trigger); unknown ids are a NotFoundError.
 */
export async function runTriggerNow(store: Store, triggerId: string, at: Date = now()): Promise<boolean> {
  const trigger = await getTrigger(store, triggerId);
  return inTransaction(store, async (scoped) => {
    if (!(await transitionTriggerStatus(scoped, trigger.id, RUN_NOW_FROM, 'IDLE'))) return false;
    if (trigger.type === 'QUEUE') await requestRun(scoped, trigger.id, at);
    else await setNextRun(scoped, trigger.id, trigger.type, checkDate('next run', at));
    return true;
  });
}
