/**
 * Jobs: every process run, filtered and paged; durations per process for the chart; one job in
 * full for its page (its trigger, why it failed, what its robot printed, the queue elements it
 * worked on).
 */
import type { FastifyInstance } from 'fastify';
import { scrubSecrets } from '../../config/secrets.js';
import type { Store } from '../../db/open.js';
import { getCredential, listCredentials } from '../../db/store/credentials.js';
import { listJobOutput } from '../../db/store/job-output.js';
import { countJobs, getJob, getLatestJobOfTrigger, listEndedJobs, listJobProcessNames, listJobs, type Job } from '../../db/store/jobs.js';
import { lastErrorsOfJobs } from '../../db/store/logs.js';
import { listElementsStartedBetween } from '../../db/store/queues.js';
import { getTrigger, listTriggers } from '../../db/store/triggers.js';
import { NotFoundError } from '../../errors.js';
import { errorSummary } from '../error-summary.js';
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

const jobDetail = {
  type: 'object',
  properties: {
    ...jobItem.properties,
    trigger: {
      type: ['object', 'null'],
      description: 'the trigger as it is now; null when it was deleted or not recorded',
      properties: {
        id: { type: 'string' },
        triggerName: { type: 'string' },
        type: { type: 'string' },
        status: { type: 'string' },
        processPath: { type: 'string' },
        processArgs: { type: ['string', 'null'], description: 'with every secret the server knows masked (***)' },
        queueName: { type: ['string', 'null'] },
        latestJobId: { type: ['string', 'null'], description: 'its newest job (another one than this after a rerun)' },
      },
    },
    error: {
      type: ['object', 'null'],
      description: 'its last Error log',
      properties: { message: { type: 'string' }, summary: { type: 'string', description: 'the one line that says why' }, logTime: nullableDateTime },
    },
    elements: {
      type: ['object', 'null'],
      description: "a queue trigger's job: the elements of its queue claimed while it ran (robots record no job on an element, so a robot beside it on the same queue shares this list)",
      properties: {
        queueName: { type: 'string' },
        items: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, reference: { type: ['string', 'null'] }, status: { type: 'string' }, startDate: nullableDateTime, endDate: nullableDateTime } } },
      },
    },
  },
} as const;

const outputReply = {
  type: 'object',
  properties: {
    lines: { type: 'array', items: { type: 'object', properties: { seq: { type: 'integer' }, stream: { type: 'string', enum: ['stdout', 'stderr'] }, at: nullableDateTime, text: { type: 'string' } } } },
    running: { type: 'boolean', description: 'the job still runs: more lines may come' },
  },
} as const;

/** Every secret the server knows: the key, the database password and the stored credential passwords. */
async function knownSecrets(store: Store, session: Session): Promise<string[]> {
  const secrets = session.secrets();
  const key = session.optionalKey();
  if (!key) return secrets;
  for (const { name } of (await listCredentials(store)).slice(0, 500)) {
    // A credential encrypted with another key cannot be masked, nor read by robots with this one.
    const password = await getCredential(store, key, name).then((c) => c.password, () => undefined);
    if (password) secrets.push(password);
  }
  return secrets;
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

  const idParams = { type: 'object', required: ['id'], properties: { id: uuid } } as const;
  app.get<{ Params: { id: string } }>(
    '/api/jobs/:id',
    { schema: { tags, summary: 'one job in full: its trigger, why it failed, the queue elements it worked on', params: idParams, response: { 200: jobDetail, ...errorReplies } } },
    async (request) => {
      const store = session.requireStore();
      const job = await getJob(store, request.params.id);
      const trigger = job.triggerId ? await getTrigger(store, job.triggerId).catch((error: unknown) => (error instanceof NotFoundError ? undefined : Promise.reject(error))) : undefined;
      const [errors, latest, secrets] = await Promise.all([
        lastErrorsOfJobs(store, [job.id]),
        trigger ? getLatestJobOfTrigger(store, trigger.id) : undefined,
        trigger?.processArgs ? knownSecrets(store, session) : [],
      ]);
      const error = errors.get(job.id);
      const queueName = trigger?.type === 'QUEUE' ? trigger.queueName : null;
      const elements = queueName ? await listElementsStartedBetween(store, queueName, job.startTime, job.endTime ?? now()) : undefined;
      return {
        ...toApiJob(job, new Map(trigger ? [[trigger.id, trigger.triggerName]] : [])),
        trigger: trigger
          ? {
              id: trigger.id,
              triggerName: trigger.triggerName,
              type: trigger.type,
              status: trigger.status,
              processPath: trigger.processPath,
              processArgs: trigger.processArgs === null ? null : scrubSecrets(trigger.processArgs, secrets),
              queueName,
              latestJobId: latest?.id ?? null,
            }
          : null,
        error: error ? { message: error.message, summary: errorSummary(error.message), logTime: toApiDate(error.logTime) } : null,
        elements: queueName ? { queueName, items: (elements ?? []).map((e) => ({ id: e.id, reference: e.reference, status: e.status, startDate: toApiDate(e.startDate), endDate: toApiDate(e.endDate) })) } : null,
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { afterSeq: number; limit: number } }>(
    '/api/jobs/:id/output',
    {
      schema: {
        tags,
        summary: "what the job's robot printed (stdout and stderr, scrubbed, bounded per job), from a line number on: poll with the last seq to follow it live",
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { afterSeq: { type: 'integer', minimum: 0, maximum: 2147483647, default: 0 }, limit: { type: 'integer', minimum: 1, maximum: 5000, default: 1000 } },
        },
        response: { 200: outputReply, ...errorReplies },
      },
    },
    async (request) => {
      const store = session.requireStore();
      const job = await getJob(store, request.params.id);
      const lines = await listJobOutput(store, job.id, { afterSeq: request.query.afterSeq, limit: request.query.limit });
      return { lines: lines.map((l) => ({ ...l, at: toApiDate(l.at) })), running: job.status === 'RUNNING' };
    },
  );
}
