/**
 * The dashboard: what needs attention now (failed jobs, late triggers, offline Schedulers, queue
 * backlogs, stale In Progress elements, open incidents) and per-hour charts of runs and queue
 * activity. docs/operations.md says what each panel means.
 */
import type { FastifyInstance } from 'fastify';
import { countQueueActivity, countRunsPerHour, hourBoundaries, readAttention, readTableSizes, type TableSize } from '../../db/store/dashboard.js';
import type { Store } from '../../db/open.js';
import { lastErrorsOfJobs } from '../../db/store/logs.js';
import { errorSummary } from '../error-summary.js';
import { monitoring, readMonitoring } from './operations.js';
import { now } from '../../time/clock.js';
import type { Session } from '../session.js';
import { errorReplies, nullableDateTime, text, toApiDate } from '../schemas.js';
import { OFFLINE_AFTER_MS } from './schedulers.js';

const tags = ['dashboard'];
const obj = (properties: Record<string, unknown>) => ({ type: 'object', properties }) as const;
const arrayOf = (properties: Record<string, unknown>) => ({ type: 'array', items: obj(properties) }) as const;
const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;

const attentionQuery = {
  type: 'object',
  properties: {
    lateMinutes: { type: 'integer', minimum: 0, maximum: 10_080, default: 5, description: 'a trigger is late this long after it was due' },
    oldNewMinutes: { type: 'integer', minimum: 1, maximum: 525_600, default: 60, description: 'a New element older than this is old' },
    backlog: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 100, description: 'a queue with more New elements than this has a backlog' },
  },
} as const;

const attentionReply = obj({
  at: nullableDateTime,
  failedJobs: arrayOf({
    id: str,
    processName: str,
    schedulerName: str,
    startTime: nullableDateTime,
    endTime: nullableDateTime,
    triggerId: { type: ['string', 'null'] },
    triggerName: { type: ['string', 'null'], description: 'null when the trigger was deleted or not recorded' },
    error: { type: ['string', 'null'], description: 'the one line that says why (from its last Error log)' },
  }),
  lateTriggers: arrayOf({ id: str, triggerName: str, processName: str, type: str, nextRun: nullableDateTime, minutesLate: int }),
  offlineSchedulers: arrayOf({ machineName: str, lastUpdate: nullableDateTime, minutesSilent: int }),
  queues: arrayOf({ queueName: str, newCount: int, oldestNew: nullableDateTime, oldestMinutes: int, backlog: { type: 'boolean' }, old: { type: 'boolean' } }),
  staleElements: arrayOf({ id: str, queueName: str, reference: { type: ['string', 'null'] }, startDate: nullableDateTime }),
  openIncidents: arrayOf({ id: str, ruleId: str, subject: str, detail: { type: ['string', 'null'] }, openedAt: nullableDateTime }),
  monitoring,
  tables: arrayOf({ scope: str, table: str, rows: int, estimated: { type: 'boolean' }, oldest: nullableDateTime, timeColumn: str }),
});

/**
 * Table sizes are read at most once a minute per connection: the dashboard polls every 10 s,
 * and a database without statistics (SQLite) counts the rows.
 */
const TABLE_SIZES_TTL_MS = 60_000;
const tableSizes = new WeakMap<Store, { at: number; sizes: Promise<TableSize[]> }>();
function cachedTableSizes(store: Store): Promise<TableSize[]> {
  const cached = tableSizes.get(store);
  if (cached && Date.now() - cached.at < TABLE_SIZES_TTL_MS) return cached.sizes;
  const sizes = readTableSizes(store);
  tableSizes.set(store, { at: Date.now(), sizes });
  sizes.catch(() => tableSizes.delete(store));
  return sizes;
}

const chartQuery = {
  type: 'object',
  properties: {
    days: { type: 'integer', enum: [1, 7], default: 1, description: 'the last day or week, by the hour' },
    queueName: text(100, 1),
  },
} as const;

const minutesSince = (at: Date, then: Date) => Math.max(0, Math.floor((at.getTime() - then.getTime()) / 60_000));

export function registerDashboardRoutes(app: FastifyInstance, session: Session): void {
  app.get<{ Querystring: { lateMinutes: number; oldNewMinutes: number; backlog: number } }>(
    '/api/dashboard',
    { schema: { tags, summary: 'what needs attention now', querystring: attentionQuery, response: { 200: attentionReply, ...errorReplies } } },
    async (request) => {
      const store = session.requireStore();
      const { lateMinutes, oldNewMinutes, backlog } = request.query;
      const at = now();
      const [{ failedJobs, triggers, schedulers, queues, staleElements, openIncidents }, tables] = await Promise.all([readAttention(store, at), cachedTableSizes(store)]);
      const [errors, watch] = await Promise.all([lastErrorsOfJobs(store, failedJobs.map((j) => j.id)), readMonitoring(store, at)]);
      const names = new Map(triggers.map((t) => [t.id, t.triggerName]));
      const lateBefore = at.getTime() - lateMinutes * 60_000;
      return {
        at: toApiDate(at),
        failedJobs: failedJobs.map((j) => {
          const error = errors.get(j.id);
          return { ...j, startTime: toApiDate(j.startTime), endTime: toApiDate(j.endTime), triggerName: j.triggerId ? (names.get(j.triggerId) ?? null) : null, error: error ? errorSummary(error.message) : null };
        }),
        // Queue triggers have no due time; a Running or Paused trigger is not waiting to start.
        lateTriggers: triggers
          .flatMap((t) => (t.type !== 'QUEUE' && t.status === 'IDLE' && t.nextRun.getTime() < lateBefore ? [t] : []))
          .map((t) => ({ id: t.id, triggerName: t.triggerName, processName: t.processName, type: t.type, nextRun: toApiDate(t.nextRun), minutesLate: minutesSince(at, t.nextRun) })),
        offlineSchedulers: schedulers
          .filter((s) => at.getTime() - s.lastUpdate.getTime() > OFFLINE_AFTER_MS)
          .map((s) => ({ machineName: s.machineName, lastUpdate: toApiDate(s.lastUpdate), minutesSilent: minutesSince(at, s.lastUpdate) })),
        queues: queues
          .map((q) => {
            const oldestMinutes = minutesSince(at, q.oldestNew);
            return { queueName: q.queueName, newCount: q.newCount, oldestNew: toApiDate(q.oldestNew), oldestMinutes, backlog: q.newCount > backlog, old: oldestMinutes > oldNewMinutes };
          })
          .sort((a, b) => b.newCount - a.newCount || a.queueName.localeCompare(b.queueName)),
        staleElements: staleElements.map((e) => ({ id: e.id, queueName: e.queueName, reference: e.reference, startDate: toApiDate(e.startDate) })),
        openIncidents: openIncidents.map((i) => ({ id: i.id, ruleId: i.ruleId, subject: i.subject, detail: i.detail, openedAt: toApiDate(i.openedAt) })),
        monitoring: watch,
        tables: tables.map((t) => ({ ...t, oldest: toApiDate(t.oldest) })),
      };
    },
  );

  app.get<{ Querystring: { days: 1 | 7 } }>(
    '/api/dashboard/runs',
    {
      schema: {
        tags,
        summary: 'runs that ended per hour, by outcome',
        querystring: chartQuery,
        response: { 200: obj({ buckets: arrayOf({ start: nullableDateTime, done: int, failed: int, killed: int }) }), ...errorReplies },
      },
    },
    async (request) => {
      const buckets = await countRunsPerHour(session.requireStore(), hourBoundaries(now(), request.query.days * 24));
      return { buckets: buckets.map((b) => ({ ...b, start: toApiDate(b.start) })) };
    },
  );

  app.get<{ Querystring: { days: 1 | 7; queueName?: string } }>(
    '/api/dashboard/queues',
    {
      schema: {
        tags,
        summary: 'queue elements created and finished per hour, and the backlog (New or In Progress) at the end of each hour',
        querystring: chartQuery,
        response: { 200: obj({ buckets: arrayOf({ start: nullableDateTime, created: int, finished: int, backlog: int }) }), ...errorReplies },
      },
    },
    async (request) => {
      const buckets = await countQueueActivity(session.requireStore(), hourBoundaries(now(), request.query.days * 24), request.query.queueName);
      return { buckets: buckets.map((b) => ({ ...b, start: toApiDate(b.start) })) };
    },
  );
}
