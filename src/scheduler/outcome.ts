/**
 * Recording how a run ended: the job's final status and end time, the trigger's next status,
 * and an Error log when something went wrong. Every trigger change is a conditional UPDATE from
 * the status the run may have left it in, so an admin's change meanwhile (Pausing, Killing, a
 * delete) is respected, and recording the same outcome twice changes nothing more. All of it
 * commits as one transaction, so no reader sees a job ended while its trigger still runs.
 */
import type { Store } from '../db/open.js';
import { endJob } from '../db/store/jobs.js';
import { createLog } from '../db/store/logs.js';
import { transitionTriggerStatus } from '../db/store/triggers.js';
import type { TriggerType } from '../db/types.js';

export type RunOutcome =
  /** exit code 0 */
  | { kind: 'done' }
  /** non-zero exit, or it could not start; `message` becomes the Error log */
  | { kind: 'failed'; message: string }
  /** its tree was killed: an admin asked (Killing) or the Scheduler was stopped twice */
  | { kind: 'killed'; message: string; byAdmin: boolean };

export interface RunRecord {
  jobId: string;
  triggerId: string;
  triggerType: TriggerType;
  processName: string;
}

export async function recordOutcome(store: Store, run: RunRecord, outcome: RunOutcome, endedAt: Date): Promise<void> {
  await store.db.transaction().execute((trx) => recordInTransaction({ ...store, db: trx }, run, outcome, endedAt));
}

async function recordInTransaction(store: Store, run: RunRecord, outcome: RunOutcome, endedAt: Date): Promise<void> {
  const { triggerId: id } = run;
  if (outcome.kind === 'done') {
    await endJob(store, run.jobId, 'DONE', endedAt);
    const finished = run.triggerType === 'SINGLE' ? 'DONE' : 'IDLE';
    if (!(await transitionTriggerStatus(store, id, ['RUNNING'], finished)) && !(await transitionTriggerStatus(store, id, ['PAUSING'], 'PAUSED'))) {
      await transitionTriggerStatus(store, id, ['KILLING'], 'KILLED');
    }
    return;
  }
  if (outcome.kind === 'failed') {
    await endJob(store, run.jobId, 'FAILED', endedAt);
    if (!(await transitionTriggerStatus(store, id, ['RUNNING', 'PAUSING'], 'FAILED'))) await transitionTriggerStatus(store, id, ['KILLING'], 'KILLED');
    await createLog(store, { level: 'ERROR', processName: run.processName, message: outcome.message, jobId: run.jobId });
    return;
  }
  await endJob(store, run.jobId, 'KILLED', endedAt);
  await transitionTriggerStatus(store, id, ['KILLING', 'RUNNING', 'PAUSING'], 'KILLED');
  await createLog(store, { level: outcome.byAdmin ? 'INFO' : 'ERROR', processName: run.processName, message: outcome.message, jobId: run.jobId });
}
