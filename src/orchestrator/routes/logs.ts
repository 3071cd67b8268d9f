/** Logs: a filtered, paged list (newest first by default) and the known process names. */
import type { FastifyInstance } from 'fastify';
import { countLogs, listLogProcessNames, listLogs } from '../../db/store/logs.js';
import { LOG_LEVELS, type LogLevel } from '../../db/types.js';
import { checkId } from '../../db/store/validate.js';
import type { Session } from '../session.js';
import { dateTime, errorReplies, fromApiDate, nullableDateTime, pageQuery, text, toApiDate, uuid } from '../schemas.js';

const logItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    logTime: nullableDateTime,
    level: { type: 'string', enum: [...LOG_LEVELS] },
    processName: { type: 'string' },
    message: { type: 'string' },
    jobId: { type: ['string', 'null'] },
  },
} as const;

interface LogQuery {
  from?: string;
  to?: string;
  processName?: string;
  level?: LogLevel;
  jobId?: string;
  order?: 'asc' | 'desc';
  offset: number;
  limit: number;
  count?: boolean;
}

export function registerLogRoutes(app: FastifyInstance, session: Session): void {
  const tags = ['logs'];
  app.get<{ Querystring: LogQuery }>(
    '/api/logs',
    {
      schema: {
        tags,
        summary: 'logs, filtered and paged on the server, newest first unless order=asc',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: dateTime,
            to: dateTime,
            processName: text(100),
            level: { type: 'string', enum: [...LOG_LEVELS] },
            jobId: uuid,
            order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
            ...pageQuery,
            count: { type: 'boolean', default: true, description: 'also count all matches (total)' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: logItem }, total: { type: ['integer', 'null'] }, offset: { type: 'integer' }, limit: { type: 'integer' } },
          },
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const store = session.requireStore();
      const q = request.query;
      const filter = {
        from: fromApiDate('from', q.from),
        to: fromApiDate('to', q.to),
        processName: q.processName || undefined,
        level: q.level,
        jobId: q.jobId ? checkId('jobId', q.jobId) : undefined,
      };
      const [items, total] = await Promise.all([
        listLogs(store, { ...filter, order: q.order, offset: q.offset, limit: q.limit }),
        q.count === false ? Promise.resolve(null) : countLogs(store, filter),
      ]);
      return {
        items: items.map((log) => ({ ...log, logTime: toApiDate(log.logTime) })),
        total,
        offset: q.offset,
        limit: q.limit,
      };
    },
  );

  app.get(
    '/api/logs/process-names',
    { schema: { tags, summary: 'every process name that wrote a log', response: { 200: { type: 'array', items: { type: 'string' } }, ...errorReplies } } },
    async () => listLogProcessNames(session.requireStore()),
  );
}
