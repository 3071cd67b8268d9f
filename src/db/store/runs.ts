/**
 * A Scheduler's claim of a run, all or nothing: the trigger moves Idle -> Running (and a
 * scheduled trigger's next run moves on), its Jobs row is inserted and the Scheduler's latest
 * trigger recorded, in one transaction. If any write fails, none of it happened, so a database
 * that cannot record the job (an old schema, a lost connection) never leaves a trigger Running
 * with no process or skips a scheduled run.
 */
import { startJob, endJob } from './jobs.js';
import { createLog } from './logs.js';
import { recordLatestTrigger } from './schedulers.js';
import { claimTrigger, setNextRun, transitionTriggerStatus, type ClaimTarget, type Trigger } from './triggers.js';
import type { Store } from '../open.js';

export interface RunClaim {
  /** the job id to use (known before the commit, see releaseUncertainRun) */
  jobId: string;
  schedulerName: string;
  at: Date;
  /** a scheduled trigger's next cron time after `at` */
  nextRun?: Date;
}

/**
 * Claims `trigger` for one run. Returns false when another Scheduler won it (or it is no
 * longer due); throws, having changed nothing, when a write fails.
 *
 * @example
 *   if (await claimRun(store, trigger, { jobId: newId(), schedulerName: 'PC1', at: now() })) start();
 */
export async function claimRun(store: Store, trigger: ClaimTarget & Pick<Trigger, 'processName' | 'triggerName'>, claim: RunClaim): Promise<boolean> {
  return store.db.transaction().execute(async (trx) => {
    const inTrx: Store = { ...store, db: trx };
    if (!(await claimTrigger(inTrx, trigger, claim.at))) return false;
    if (claim.nextRun && trigger.type === 'SCHEDULED') await setNextRun(inTrx, trigger.id, 'SCHEDULED', claim.nextRun);
    await startJob(inTrx, { id: claim.jobId, processName: trigger.processName, schedulerName: claim.schedulerName, triggerId: trigger.id });
    await recordLatestTrigger(inTrx, claim.schedulerName, trigger.triggerName);
    return true;
  });
}

/**
 * After a claim whose commit may or may not have happened (the connection broke during COMMIT):
 * if the job exists and still runs, it ends Failed with a log and its trigger goes back to Idle,
 * as if the claim had not been made. A claim that never committed leaves nothing to undo.
 */
export async function releaseUncertainRun(store: Store, run: { jobId: string; triggerId: string; processName: string; reason: string }): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    const inTrx: Store = { ...store, db: trx };
    if (!(await endJob(inTrx, run.jobId, 'FAILED'))) return;
    await transitionTriggerStatus(inTrx, run.triggerId, ['RUNNING'], 'IDLE');
    await createLog(inTrx, { level: 'ERROR', processName: run.processName, message: run.reason, jobId: run.jobId });
  });
}
