/** Jobs: every process run, filtered and paged; durations per process for the chart. */
import type { FastifyInstance } from 'fastify';
import { countJobs, getJob, listEndedJobs, listJobProcessNames, listJobs, type Job } from '../../db/store/jobs.js';
import { listTriggers } from '../../db/store/triggers.js';
import { JOB_STATUSES, type JobStatus } from '../../db/types.js';
import { now } from '../../time/clock.js';
import type { Session } from '../session.js';
import { dateTime, errorReplies, fromApiDate, nullableDateTime, pageQuery, text, toApiDate, uuid } from '../schemas.js';

const jobItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    processName: { type: 'string' },
    schedulerName: { type: 'string' },
    startTime: nullableDateTime,
    endTime: nullableDateTime,
    durationSeconds: { type: ['number', 'null'] },
    status: { type: 'string', enum: [...JOB_STATUSES] },
    triggerId: { type: ['string', 'null'] },
    triggerName: { type: ['string', 'null'], description: 'null when the trigger was deleted' },
  },
} as const;

function toApiJob(job: Job, names: Map<string, string>) {
  return {
    ...job,
    startTime: toApiDate(job.startTime),
    endTime: toApiDate(job.endTime),
    durationSeconds: job.endTime ? Math.max(0, (job.endTime.getTime() - job.startTime.getTime()) / 1000) : null,
    triggerName: job.triggerId ? (names.get(job.triggerId) ?? null) : null,
  };
}

interface JobQuery {
  processName?: string;
  status?: JobStatus;
  schedulerName?: string;
  from?: string;
  to?: string;
  offset: number;
  limit: number;
}

export function registerJobRoutes(app: FastifyInstance, session: Session): void {
  const tags = ['jobs'];
  const triggerNames = async () => new Map((await listTriggers(session.requireStore())).map((t) => [t.id, t.triggerName]));

  app.get<{ Querystring: JobQuery }>(
    '/api/jobs',
    {
      schema: {
        tags,
        summary: 'jobs (process runs), newest first, filtered and paged on the server',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            processName: text(100),
            status: { type: 'string', enum: [...JOB_STATUSES] },
            schedulerName: text(100),
            from: dateTime,
            to: dateTime,
            ...pageQuery,
          },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: jobItem }, total: { type: 'integer' }, offset: { type: 'integer' }, limit: { type: 'integer' } } },
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const store = session.requireStore();
      const q = request.query;
      const filter = { processName: q.processName || undefined, status: q.status, schedulerName: q.schedulerName || undefined, from: fromApiDate('from', q.from), to: fromApiDate('to', q.to) };
      const [items, total, names] = await Promise.all([listJobs(store, { ...filter, offset: q.offset, limit: q.limit }), countJobs(store, filter), triggerNames()]);
      return { items: items.map((job) => toApiJob(job, names)), total, offset: q.offset, limit: q.limit };
    },
  );

  app.get(
    '/api/jobs/process-names',
    { schema: { tags, summary: 'every process name that has a job', response: { 200: { type: 'array', items: { type: 'string' } }, ...errorReplies } } },
    async () => listJobProcessNames(session.requireStore()),
  );

  app.get<{ Querystring: { days: number } }>(
    '/api/jobs/durations',
    {
      schema: {
        tags,
        summary: 'durations of ended jobs per process over the last days: count, min, average, max (seconds)',
        querystring: { type: 'object', properties: { days: { type: 'integer', minimum: 1, maximum: 365, default: 7 } } },
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: { processName: { type: 'string' }, count: { type: 'integer' }, minSeconds: { type: 'number' }, avgSeconds: { type: 'number' }, maxSeconds: { type: 'number' } },
            },
          },
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const since = new Date(now().getTime() - request.query.days * 86_400_000);
      const jobs = await listEndedJobs(session.requireStore(), since);
      const per = new Map<string, number[]>();
      for (const job of jobs) {
        if (!job.endTime) continue;
        const list = per.get(job.processName) ?? [];
        list.push(Math.max(0, (job.endTime.getTime() - job.startTime.getTime()) / 1000));
        per.set(job.processName, list);
      }
      return [...per.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([processName, secs]) => ({
          processName,
          count: secs.length,
          minSeconds: Math.min(...secs),
          avgSeconds: secs.reduce((a, b) => a + b, 0) / secs.length,
          maxSeconds: Math.max(...secs),
        }));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/jobs/:id',
    { schema: { tags, summary: 'one job', params: { type: 'object', required: ['id'], properties: { id: uuid } }, response: { 200: jobItem, ...errorReplies } } },
    async (request) => toApiJob(await getJob(session.requireStore(), request.params.id), await triggerNames()),
  );
}
