/**
 * What each alert rule sees now. A rule's evaluation lists the incidents that are firing (by a
 * stable key: `trigger:<id>`, `queue:<name>`, ...) and which keys are known to be healthy; the
 * monitor opens the first and clears open incidents among the second.
 */
import type { Store } from '../db/open.js';
import type { AlertRule } from '../db/store/alerts.js';
import { listJobOutcomes, listQueueBacklogs } from '../db/store/health.js';
import { listStaleInProgress } from '../db/store/queues.js';
import { listSchedulers } from '../db/store/schedulers.js';
import { listTriggers } from '../db/store/triggers.js';
import { formatNaive } from '../time/clock.js';

export interface Finding {
  subject: string;
  detail: string;
}

export interface Evaluation {
  firing: Map<string, Finding>;
  /** open incidents whose key is here clear; `all` means every key not firing is healthy */
  healthy: Set<string> | 'all';
}

/** How far back the "job failed" rule looks for the latest outcome of each process. */
const JOB_LOOKBACK_MS = 7 * 24 * 3600 * 1000;

const minutes = (n: number | null) => `${n ?? 0} minute${n === 1 ? '' : 's'}`;
const shown = (d: Date) => formatNaive(d).slice(0, 19);

/** Evaluates one rule at time `at`. */
export async function evaluateRule(store: Store, rule: AlertRule, at: Date): Promise<Evaluation> {
  const firing = new Map<string, Finding>();
  const target = rule.target ?? undefined;
  const threshold = rule.threshold ?? 0;
  switch (rule.kind) {
    case 'JOB_FAILED': {
      // Only runs that ended after the rule was made: a new rule does not page for old history.
      const since = new Date(Math.max(rule.createdAt.getTime(), at.getTime() - JOB_LOOKBACK_MS));
      const latest = new Map<string, Awaited<ReturnType<typeof listJobOutcomes>>[number]>();
      for (const job of await listJobOutcomes(store, since, target)) latest.set(job.processName, job);
      const healthy = new Set<string>();
      for (const job of latest.values()) {
        const key = `process:${job.processName}`;
        if (job.status === 'DONE') healthy.add(key);
        else firing.set(key, { subject: `Process "${job.processName}" failed`, detail: `Job ${job.id} of "${job.processName}" ended Failed at ${shown(job.endTime)}. The incident clears when a run of the process ends Done.` });
      }
      return { firing, healthy };
    }
    case 'TRIGGER_LATE': {
      const limit = at.getTime() - threshold * 60_000;
      for (const trigger of await listTriggers(store)) {
        if (target !== undefined && trigger.triggerName !== target) continue;
        if (trigger.type === 'QUEUE' || trigger.status !== 'IDLE' || trigger.nextRun.getTime() >= limit) continue;
        firing.set(`trigger:${trigger.id}`, {
          subject: `Trigger "${trigger.triggerName}" is late`,
          detail: `Trigger "${trigger.triggerName}" (process "${trigger.processName}") was due at ${shown(trigger.nextRun)} and has not started for more than ${minutes(threshold)}. Is a Scheduler running that may take it?`,
        });
      }
      return { firing, healthy: 'all' };
    }
    case 'SCHEDULER_OFFLINE': {
      const limit = at.getTime() - threshold * 60_000;
      for (const scheduler of await listSchedulers(store)) {
        if (target !== undefined && scheduler.machineName !== target) continue;
        if (scheduler.lastUpdate.getTime() >= limit) continue;
        firing.set(`scheduler:${scheduler.machineName}`, {
          subject: `Scheduler "${scheduler.machineName}" is offline`,
          detail: `Scheduler "${scheduler.machineName}" last reported at ${shown(scheduler.lastUpdate)}, more than ${minutes(threshold)} ago.`,
        });
      }
      return { firing, healthy: 'all' };
    }
    case 'QUEUE_BACKLOG':
    case 'QUEUE_OLDEST_NEW': {
      for (const queue of await listQueueBacklogs(store, target)) {
        const key = `queue:${queue.queueName}`;
        if (rule.kind === 'QUEUE_BACKLOG' && queue.newCount > threshold) {
          firing.set(key, { subject: `Queue "${queue.queueName}" has a backlog`, detail: `Queue "${queue.queueName}" holds ${queue.newCount} New elements, more than ${threshold}.` });
        }
        if (rule.kind === 'QUEUE_OLDEST_NEW' && queue.oldestNew.getTime() < at.getTime() - threshold * 60_000) {
          firing.set(key, {
            subject: `Queue "${queue.queueName}" has an old New element`,
            detail: `The oldest New element of queue "${queue.queueName}" was created at ${shown(queue.oldestNew)}, more than ${minutes(threshold)} ago (${queue.newCount} New in all).`,
          });
        }
      }
      return { firing, healthy: 'all' };
    }
    case 'STALE_IN_PROGRESS': {
      const byQueue = new Map<string, string[]>();
      for (const element of await listStaleInProgress(store, { queueName: target })) {
        byQueue.set(element.queueName, [...(byQueue.get(element.queueName) ?? []), element.id]);
      }
      for (const [queueName, ids] of byQueue) {
        firing.set(`queue:${queueName}`, {
          subject: `Queue "${queueName}" has stale In Progress elements`,
          detail: `${ids.length} element(s) of queue "${queueName}" are In Progress although the job that claimed them has ended, e.g. ${ids.slice(0, 5).join(', ')}.`,
        });
      }
      return { firing, healthy: 'all' };
    }
  }
}
