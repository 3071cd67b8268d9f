/**
 * Start-up reconciliation: jobs this machine left in Running (the Scheduler died while they
 * ran) are ended as Failed with an Error log, and their triggers leave Running, unless a later
 * run of the same trigger (started elsewhere after an admin reset it) owns the trigger now.
 */
import type { Store } from '../db/open.js';
import { getLatestJobOfTrigger, listJobs, endJob, type Job } from '../db/store/jobs.js';
import { createLog } from '../db/store/logs.js';
import { getTrigger } from '../db/store/triggers.js';
import { NotFoundError } from '../errors.js';
import { formatNaive, now } from '../time/clock.js';
import { recordOutcome } from './outcome.js';

/** Returns the stale jobs found (and ended). */
export async function reconcileStaleJobs(store: Store, machineName: string): Promise<Job[]> {
  // A Python Scheduler on a machine of the same name writes Jobs rows without trigger_id; those
  // runs are its own to end, and may well still be running.
  const stale = (await listJobs(store, { status: 'RUNNING', schedulerName: machineName, limit: 10_000 })).filter((job) => job.triggerId !== null);
  const at = now();
  for (const job of stale) {
    const message = `the Scheduler on ${machineName} stopped while this job was running (it was started ${formatNaive(job.startTime).slice(0, 19)}); found at the Scheduler's next start-up and marked failed`;
    const triggerId = job.triggerId!;
    const owner = await triggerOwnedBy(store, triggerId);
    if (owner === job.id) {
      const trigger = await getTrigger(store, triggerId);
      await recordOutcome(store, { jobId: job.id, triggerId, triggerType: trigger.type, processName: job.processName }, { kind: 'failed', message }, at);
    } else {
      // One transaction, as recordOutcome's: no reader sees the job ended without its reason.
      await store.db.transaction().execute(async (trx) => {
        const inTrx = { ...store, db: trx };
        await endJob(inTrx, job.id, 'FAILED', at);
        await createLog(inTrx, { level: 'ERROR', processName: job.processName, message, jobId: job.id });
      });
    }
  }
  return stale;
}

/** The id of the trigger's latest job, if the trigger still exists. */
async function triggerOwnedBy(store: Store, triggerId: string): Promise<string | undefined> {
  try {
    await getTrigger(store, triggerId);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  return (await getLatestJobOfTrigger(store, triggerId))?.id;
}
