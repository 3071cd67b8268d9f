/** Triggers: list, create (single / scheduled / queue), edit, run now, enable, disable, kill, delete; cron preview. */
import type { FastifyInstance } from 'fastify';
import { describeCron, nextRuns, normalizeCron, parseCron } from '../../cron/cron.js';
import {
  createTrigger,
  deleteTrigger,
  getTrigger,
  listTriggers,
  transitionTriggerStatus,
  updateTrigger,
  type NewTrigger,
  type TriggerFields,
  type Trigger,
} from '../../db/store/triggers.js';
import { getLatestJobOfTrigger } from '../../db/store/jobs.js';
import { listLogs } from '../../db/store/logs.js';
import { listRunRequests, RUN_NOW_FROM, runTriggerNow } from '../../db/store/run-requests.js';
import type { Store } from '../../db/open.js';
import { TRIGGER_STATUSES, TRIGGER_TYPES, type TriggerStatus } from '../../db/types.js';
import { InputError } from '../../errors.js';
import { now } from '../../time/clock.js';
import { errorSummary } from '../error-summary.js';
import { HttpError } from '../http-error.js';
import type { Session } from '../session.js';
import { dateTime, errorReplies, fromApiDate, nullableDateTime, text, toApiDate, uuid } from '../schemas.js';

const triggerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'triggerName', 'processName', 'processPath'],
  properties: {
    type: { type: 'string', enum: [...TRIGGER_TYPES] },
    triggerName: text(100, 1),
    processName: text(100, 1),
    processPath: text(250, 1),
    processArgs: { type: ['string', 'null'], maxLength: 1000 },
    isGitRepo: { type: 'boolean' },
    gitBranch: { type: ['string', 'null'], maxLength: 100 },
    isBlocking: { type: 'boolean' },
    schedulerWhitelist: { type: 'array', maxItems: 50, items: text(100, 1) },
    priority: { type: 'integer', minimum: -2147483648, maximum: 2147483647 },
    nextRun: { ...dateTime, description: 'SINGLE: when to run; SCHEDULED: optional first run (default: next cron time)' },
    cronExpr: { ...text(200, 1), description: 'SCHEDULED: cron expression (5 fields, or @daily etc.)' },
    queueName: { ...text(200, 1), description: 'QUEUE: the queue to watch' },
    minBatchSize: { type: 'integer', minimum: 1, maximum: 2147483647, description: 'QUEUE: run when this many elements are New' },
    runNow: {
      type: 'boolean',
      description: 'POST only: create it due now, in the same transaction (single: next run = now, nextRun may be left out; scheduled: one run now, then its cron times; queue: one run even below its batch size)',
    },
  },
} as const;

/** A trigger as the API takes it: the store's fields, with the time as ISO text. */
type TriggerBody = TriggerFields & {
  type: NewTrigger['type'];
  nextRun?: string;
  cronExpr?: string;
  queueName?: string;
  minBatchSize?: number;
  runNow?: boolean;
};

export const triggerItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string', enum: [...TRIGGER_TYPES] },
    triggerName: { type: 'string' },
    processName: { type: 'string' },
    status: { type: 'string', enum: [...TRIGGER_STATUSES] },
    lastRun: nullableDateTime,
    nextRun: nullableDateTime,
    overdue: { type: 'boolean', description: 'Idle and its next run has passed' },
    processPath: { type: 'string' },
    processArgs: { type: ['string', 'null'] },
    isGitRepo: { type: 'boolean' },
    gitBranch: { type: ['string', 'null'] },
    isBlocking: { type: 'boolean' },
    schedulerWhitelist: { type: 'array', items: { type: 'string' } },
    priority: { type: 'integer' },
    cronExpr: { type: ['string', 'null'] },
    queueName: { type: ['string', 'null'] },
    minBatchSize: { type: ['integer', 'null'] },
    runRequested: { type: 'boolean', description: 'QUEUE: "run now" was asked and no Scheduler has started that run yet' },
    failure: {
      type: ['object', 'null'],
      description: 'Failed triggers: the last Error log of their latest job (or, with no job, of their process since the last run)',
      properties: { message: { type: 'string' }, summary: { type: 'string', description: 'the one line that says why' }, logTime: nullableDateTime, jobId: { type: ['string', 'null'] } },
    },
  },
} as const;

/** Why a trigger failed, as the list shows it. */
interface Failure {
  message: string;
  summary: string;
  logTime: string | null;
  jobId: string | null;
}

/**
 * The reason a Failed trigger shows: the last Error log of its latest job; a Python Scheduler
 * writes no jobs, so then the last Error log of its process since its last run.
 */
async function failureOf(store: Store, trigger: Trigger): Promise<Failure | null> {
  if (trigger.status !== 'FAILED') return null;
  const job = await getLatestJobOfTrigger(store, trigger.id);
  const filter = job ? { jobId: job.id } : { processName: trigger.processName, ...(trigger.lastRun ? { from: trigger.lastRun } : {}) };
  const [log] = await listLogs(store, { ...filter, level: 'ERROR', order: 'desc', limit: 1 });
  if (log) return { message: log.message, summary: errorSummary(log.message), logTime: toApiDate(log.logTime), jobId: job?.id ?? null };
  const none = 'its job failed without an Error log';
  return job ? { message: none, summary: none, logTime: null, jobId: job.id } : null;
}

/** How a stored trigger goes out: flat, with dates as naive text and an overdue flag. */
export function toApiTrigger(trigger: Trigger, at: Date = now(), failure: Failure | null = null, runRequested = false) {
  const nextRun = 'nextRun' in trigger ? trigger.nextRun : null;
  return {
    id: trigger.id,
    type: trigger.type,
    triggerName: trigger.triggerName,
    processName: trigger.processName,
    status: trigger.status,
    lastRun: toApiDate(trigger.lastRun),
    nextRun: toApiDate(nextRun),
    overdue: trigger.status === 'IDLE' && nextRun !== null && nextRun.getTime() < at.getTime() - 60_000,
    processPath: trigger.processPath,
    processArgs: trigger.processArgs,
    isGitRepo: trigger.isGitRepo,
    gitBranch: trigger.gitBranch,
    isBlocking: trigger.isBlocking,
    schedulerWhitelist: trigger.schedulerWhitelist,
    priority: trigger.priority,
    cronExpr: trigger.type === 'SCHEDULED' ? trigger.cronExpr : null,
    queueName: trigger.type === 'QUEUE' ? trigger.queueName : null,
    minBatchSize: trigger.type === 'QUEUE' ? trigger.minBatchSize : null,
    runRequested,
    failure,
  };
}

/** Checks the fields the chosen type needs and builds the store's NewTrigger (`runNow`: a single trigger's time may be left out). */
function toNewTrigger(body: TriggerBody, runNow?: Date): NewTrigger {
  const common = {
    triggerName: body.triggerName.trim(),
    processName: body.processName.trim(),
    processPath: body.processPath.trim(),
    processArgs: body.processArgs ?? null,
    isGitRepo: body.isGitRepo ?? false,
    gitBranch: body.isGitRepo ? body.gitBranch || null : null,
    isBlocking: body.isBlocking ?? true,
    schedulerWhitelist: (body.schedulerWhitelist ?? []).map((name) => name.trim()).filter((name) => name !== ''),
    priority: body.priority ?? 0,
  };
  if (common.triggerName === '') throw new InputError('triggerName must not be empty');
  if (common.processName === '') throw new InputError('processName must not be empty');
  if (common.processPath === '') throw new InputError('processPath must not be empty');
  const misplaced = (fields: (keyof TriggerBody)[]) => {
    const given = fields.find((field) => body[field] !== undefined);
    if (given) throw new InputError(`${given} does not apply to a ${body.type} trigger`);
  };
  switch (body.type) {
    case 'SINGLE': {
      misplaced(['cronExpr', 'queueName', 'minBatchSize']);
      const nextRun = fromApiDate('nextRun', body.nextRun) ?? runNow;
      if (!nextRun) throw new InputError('nextRun is required for a single trigger: when should it run?');
      return { ...common, type: 'SINGLE', nextRun };
    }
    case 'SCHEDULED': {
      misplaced(['queueName', 'minBatchSize']);
      if (!body.cronExpr) throw new InputError('cronExpr is required for a scheduled trigger, e.g. "0 7 * * 1-5"');
      parseCron(body.cronExpr);
      return { ...common, type: 'SCHEDULED', cronExpr: body.cronExpr.trim(), nextRun: fromApiDate('nextRun', body.nextRun) };
    }
    default: {
      misplaced(['cronExpr', 'nextRun']);
      if (!body.queueName || body.queueName.trim() === '') throw new InputError('queueName is required for a queue trigger');
      return { ...common, type: 'QUEUE', queueName: body.queueName.trim(), minBatchSize: body.minBatchSize ?? 1 };
    }
  }
}

const idParams = { type: 'object', required: ['id'], properties: { id: uuid } } as const;
const LABEL: Record<TriggerStatus, string> = {
  IDLE: 'Idle',
  RUNNING: 'Running',
  FAILED: 'Failed',
  DONE: 'Done',
  PAUSED: 'Paused',
  PAUSING: 'Pausing',
  KILLING: 'Killing',
  KILLED: 'Killed',
};

export function registerTriggerRoutes(app: FastifyInstance, session: Session): void {
  const tags = ['triggers'];
  const list = { type: 'object', properties: { items: { type: 'array', items: triggerItem }, total: { type: 'integer' } } } as const;

  app.get<{ Querystring: { search?: string; type?: string; status?: string } }>(
    '/api/triggers',
    {
      schema: {
        tags,
        summary: 'all triggers, by name; optional search over name and process',
        querystring: {
          type: 'object',
          properties: { search: text(200), type: { type: 'string', enum: [...TRIGGER_TYPES] }, status: { type: 'string', enum: [...TRIGGER_STATUSES] } },
        },
        response: { 200: list, ...errorReplies },
      },
    },
    async (request) => {
      const at = now();
      const store = session.requireStore();
      const search = request.query.search?.toLowerCase();
      const triggers = (await listTriggers(store))
        .filter((t) => !search || t.triggerName.toLowerCase().includes(search) || t.processName.toLowerCase().includes(search))
        .filter((t) => !request.query.type || t.type === request.query.type)
        .filter((t) => !request.query.status || t.status === request.query.status);
      const requested = new Set((await listRunRequests(store)).map((r) => r.triggerId));
      const items = await Promise.all(triggers.map(async (t) => toApiTrigger(t, at, await failureOf(store, t), requested.has(t.id))));
      return { items, total: items.length };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/triggers/:id',
    { schema: { tags, summary: 'one trigger', params: idParams, response: { 200: triggerItem, ...errorReplies } } },
    async (request) => {
      const store = session.requireStore();
      const trigger = await getTrigger(store, request.params.id);
      const requested = (await listRunRequests(store)).some((r) => r.triggerId === trigger.id);
      return toApiTrigger(trigger, now(), await failureOf(store, trigger), requested);
    },
  );

  app.post<{ Body: TriggerBody }>(
    '/api/triggers',
    { schema: { tags, summary: 'create a trigger; with runNow, due at once (one transaction: no Scheduler can take it in between)', body: triggerBody, response: { 201: triggerItem, ...errorReplies } } },
    async (request, reply) => {
      const store = session.requireStore();
      const runNow = request.body.runNow ? now() : undefined;
      const id = await createTrigger(store, toNewTrigger(request.body, runNow), { runNow });
      const trigger = await getTrigger(store, id);
      return reply.code(201).send(toApiTrigger(trigger, now(), null, Boolean(runNow) && trigger.type === 'QUEUE'));
    },
  );

  app.put<{ Params: { id: string }; Body: TriggerBody }>(
    '/api/triggers/:id',
    { schema: { tags, summary: 'edit a trigger (its type stays)', params: idParams, body: triggerBody, response: { 200: triggerItem, ...errorReplies } } },
    async (request) => {
      const store = session.requireStore();
      if (request.body.runNow !== undefined) throw new InputError('runNow applies only when a trigger is created; use POST /api/triggers/{id}/run-now');
      await updateTrigger(store, request.params.id, toNewTrigger(request.body));
      return toApiTrigger(await getTrigger(store, request.params.id));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/triggers/:id',
    { schema: { tags, summary: 'delete a trigger', params: idParams, response: { 200: { type: 'object', properties: { deleted: { type: 'string' } } }, ...errorReplies } } },
    async (request) => {
      await deleteTrigger(session.requireStore(), request.params.id);
      return { deleted: request.params.id };
    },
  );

  /** Tries each (from -> to) in order; the first that applies wins; otherwise a 409 naming the status. */
  const transition = async (id: string, verb: string, steps: [TriggerStatus[], TriggerStatus][]) => {
    const store = session.requireStore();
    for (const [from, to] of steps) {
      if (await transitionTriggerStatus(store, id, from, to)) return toApiTrigger(await getTrigger(store, id));
    }
    const trigger = await getTrigger(store, id);
    const allowed = [...new Set(steps.flatMap(([from]) => from))].map((s) => LABEL[s]).join(', ');
    throw new HttpError(409, `cannot ${verb} trigger "${trigger.triggerName}": it is ${LABEL[trigger.status]}; only a trigger that is ${allowed} can be ${verb === 'kill' ? 'killed' : `${verb}d`}`);
  };
  const action = (path: string, summary: string, run: (id: string) => Promise<unknown>) =>
    app.post<{ Params: { id: string } }>(
      `/api/triggers/:id/${path}`,
      { schema: { tags, summary, params: idParams, response: { 200: triggerItem, ...errorReplies } } },
      async (request) => run(request.params.id),
    );
  action('enable', 'enable: Paused, Failed, Done or Killed -> Idle (not a single trigger that has run and whose time has passed: it would run at once)', async (id) => {
    const trigger = await getTrigger(session.requireStore(), id);
    // Enabled, a single trigger that already ran would be due again at once; people expect
    // Enable to let it wait for its time, so they are asked for one (or for Run now).
    if (trigger.type === 'SINGLE' && ['DONE', 'FAILED', 'KILLED'].includes(trigger.status) && trigger.nextRun.getTime() <= now().getTime()) {
      throw new HttpError(409, `cannot enable trigger "${trigger.triggerName}": a single trigger runs once and its time (${toApiDate(trigger.nextRun)!.replace('T', ' ')}) has passed; give it a new time (edit it) or use Run now`);
    }
    return transition(id, 'enable', [[['PAUSED', 'FAILED', 'DONE', 'KILLED'], 'IDLE']]);
  });
  action('disable', 'disable: Idle (or Failed, Done, Killed) -> Paused; Running -> Pausing', (id) =>
    transition(id, 'disable', [
      [['RUNNING'], 'PAUSING'],
      [['IDLE', 'FAILED', 'DONE', 'KILLED'], 'PAUSED'],
    ]),
  );
  action('kill', 'kill: Running -> Killing (the Scheduler stops the process)', (id) => transition(id, 'kill', [[['RUNNING'], 'KILLING']]));
  action('run-now', 'run now: Idle, Done, Failed or Killed -> Idle and due now (single, scheduled: next run = now; queue: one run even below its batch size)', async (id) => {
    const store = session.requireStore();
    if (await runTriggerNow(store, id, now())) {
      const trigger = await getTrigger(store, id);
      return toApiTrigger(trigger, now(), null, trigger.type === 'QUEUE');
    }
    const trigger = await getTrigger(store, id);
    const labels = RUN_NOW_FROM.map((s) => LABEL[s]);
    const allowed = `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}`;
    const how = trigger.status === 'PAUSED' ? 'enable it first' : `wait until it ends (only a trigger that is ${allowed} can run now)`;
    throw new HttpError(409, `cannot run trigger "${trigger.triggerName}" now: it is ${LABEL[trigger.status]}; ${how}`);
  });

  app.get<{ Querystring: { expr: string } }>(
    '/api/cron',
    {
      schema: {
        tags,
        summary: 'describe a cron expression and list its next 5 runs',
        querystring: { type: 'object', required: ['expr'], properties: { expr: text(200, 1) } },
        response: {
          200: {
            type: 'object',
            properties: { expression: { type: 'string' }, description: { type: 'string' }, nextRuns: { type: 'array', items: { type: 'string' } } },
          },
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const expression = normalizeCron(request.query.expr);
      const schedule = parseCron(expression);
      return { expression, description: describeCron(schedule), nextRuns: nextRuns(schedule, now(), 5).map((d) => toApiDate(d)) };
    },
  );
}
