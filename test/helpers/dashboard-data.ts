/**
 * Real rows for the dashboard tests: jobs that ended Done, Failed and Killed over the last hours
 * (the failed one with an Error log), a late trigger, an offline Scheduler, a queue with a
 * backlog of old New elements and finished ones, and a stale In Progress element.
 */
import type { Store } from '../../src/db/open.js';
import { startJob, endJob } from '../../src/db/store/jobs.js';
import { createLog } from '../../src/db/store/logs.js';
import { bulkCreateQueueElements, createQueueElement } from '../../src/db/store/queues.js';
import { heartbeat } from '../../src/db/store/schedulers.js';
import { createTrigger } from '../../src/db/store/triggers.js';
import type { JobStatus } from '../../src/db/types.js';

export const minutesAgo = (n: number): Date => new Date(Date.now() - n * 60_000);

export interface DashboardSeed {
  failedJobId: string;
  lateTriggerId: string;
  staleElementId: string;
  doneElementId: string;
}

export const SEED = {
  failedProcess: 'invoice-robot',
  failedMessage: 'the ERP refused the login',
  lateTrigger: 'nightly-report',
  offlineScheduler: 'OLD-WORKER',
  onlineScheduler: 'LIVE-WORKER',
  queue: 'invoices',
  backlog: 150,
  finished: 12,
  done: 6,
};

/** A job that started `startedMinutesAgo` and ended `endedMinutesAgo` with `status`. */
export async function pastJob(store: Store, processName: string, status: Exclude<JobStatus, 'RUNNING'>, startedMinutesAgo: number, endedMinutesAgo: number): Promise<string> {
  const id = await startJob(store, { processName, schedulerName: SEED.onlineScheduler });
  await store.db.updateTable('Jobs').set({ start_time: store.dialect.encodeDate(minutesAgo(startedMinutesAgo)) }).where('id', '=', store.dialect.encodeUuid(id)).execute();
  await endJob(store, id, status, minutesAgo(endedMinutesAgo));
  return id;
}

export async function seedDashboard(store: Store): Promise<DashboardSeed> {
  const { dialect, db } = store;
  const date = (minutes: number) => dialect.encodeDate(minutesAgo(minutes));
  for (let i = 0; i < SEED.done; i++) await pastJob(store, 'daily-export', 'DONE', 70 + i * 60, 65 + i * 60);
  await pastJob(store, 'daily-export', 'KILLED', 200, 190);
  const failedJobId = await pastJob(store, SEED.failedProcess, 'FAILED', 130, 120);
  await createLog(store, { level: 'ERROR', processName: SEED.failedProcess, message: SEED.failedMessage, jobId: failedJobId });

  const lateTriggerId = await createTrigger(store, { type: 'SINGLE', triggerName: SEED.lateTrigger, processName: 'report', processPath: 'robot.py', nextRun: minutesAgo(30) });
  await createTrigger(store, { type: 'SINGLE', triggerName: 'later-today', processName: 'report', processPath: 'robot.py', nextRun: minutesAgo(-120) });

  await heartbeat(store, SEED.offlineScheduler);
  await db.updateTable('Schedulers').set({ last_update: date(20) }).where('machine_name', '=', SEED.offlineScheduler).execute();
  await heartbeat(store, SEED.onlineScheduler);

  await bulkCreateQueueElements(store, SEED.queue, Array.from({ length: SEED.backlog }, (_, i) => ({ reference: `INV-${1000 + i}` })));
  await db.updateTable('Queues').set({ created_date: date(180) }).where('queue_name', '=', SEED.queue).execute();
  let doneElementId = '';
  for (let i = 0; i < SEED.finished; i++) {
    const element = await createQueueElement(store, SEED.queue, { reference: `DONE-${i}` });
    doneElementId = element.id;
    await db
      .updateTable('Queues')
      .set({ status: 'DONE', created_date: date(400), start_date: date(300 - i * 20), end_date: date(299 - i * 20) })
      .where('id', '=', dialect.encodeUuid(element.id))
      .execute();
  }
  // Claimed during the failed job, which has ended since: stale.
  const stale = await createQueueElement(store, SEED.queue, { reference: 'STUCK-1' });
  await db.updateTable('Queues').set({ status: 'IN_PROGRESS', created_date: date(400), start_date: date(125) }).where('id', '=', dialect.encodeUuid(stale.id)).execute();
  return { failedJobId, lateTriggerId, staleElementId: stale.id, doneElementId };
}
