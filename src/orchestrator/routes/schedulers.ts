/** Schedulers: every worker machine, its heartbeat, online state and what it runs now. */
import type { FastifyInstance } from 'fastify';
import { listJobs } from '../../db/store/jobs.js';
import { listSchedulers } from '../../db/store/schedulers.js';
import { now } from '../../time/clock.js';
import type { Session } from '../session.js';
import { errorReplies, nullableDateTime, toApiDate } from '../schemas.js';

/** A Scheduler with no heartbeat for this long is shown offline (the Python Orchestrator: a minute). */
export const OFFLINE_AFTER_MS = 60_000;

export function registerSchedulerRoutes(app: FastifyInstance, session: Session): void {
  app.get(
    '/api/schedulers',
    {
      schema: {
        tags: ['schedulers'],
        summary: 'every Scheduler machine with its last heartbeat and running jobs',
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                machineName: { type: 'string' },
                lastUpdate: nullableDateTime,
                online: { type: 'boolean' },
                secondsSinceUpdate: { type: 'integer' },
                latestTrigger: { type: ['string', 'null'] },
                latestTriggerTime: nullableDateTime,
                running: {
                  type: 'array',
                  items: { type: 'object', properties: { jobId: { type: 'string' }, processName: { type: 'string' }, startTime: nullableDateTime, triggerId: { type: ['string', 'null'] } } },
                },
              },
            },
          },
          ...errorReplies,
        },
      },
    },
    async () => {
      const store = session.requireStore();
      const [schedulers, running] = await Promise.all([listSchedulers(store), listJobs(store, { status: 'RUNNING', limit: 1000 })]);
      const at = now().getTime();
      return schedulers.map((s) => ({
        machineName: s.machineName,
        lastUpdate: toApiDate(s.lastUpdate),
        online: at - s.lastUpdate.getTime() <= OFFLINE_AFTER_MS,
        secondsSinceUpdate: Math.max(0, Math.round((at - s.lastUpdate.getTime()) / 1000)),
        latestTrigger: s.latestTrigger,
        latestTriggerTime: toApiDate(s.latestTriggerTime),
        running: running
          .filter((job) => job.schedulerName === s.machineName)
          .map((job) => ({ jobId: job.id, processName: job.processName, startTime: toApiDate(job.startTime), triggerId: job.triggerId })),
      }));
    },
  );
}
