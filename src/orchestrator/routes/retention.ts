/**
 * Retention periods (OpenAPI tag `operations`): how long logs, jobs, finished queue elements
 * (per queue), element history and cleared incidents are kept. The monitor purges by them
 * (docs/operations.md, "Retention").
 */
import type { FastifyInstance } from 'fastify';
import { deleteRetention, listRetention, MAX_KEEP_DAYS, RETENTION_SCOPES, saveRetention, type RetentionPolicy, type RetentionScope } from '../../db/store/retention.js';
import type { Session } from '../session.js';
import { errorReplies, nullableDateTime, text, toApiDate } from '../schemas.js';

const tags = ['operations'];
const scope = { type: 'string', enum: [...RETENTION_SCOPES], description: 'LOGS, JOBS, QUEUE_ELEMENTS (Done, Failed, Abandoned), ELEMENT_EVENTS (element history) or INCIDENTS (cleared, with their notifications)' } as const;
const queueName = { type: ['string', 'null'], maxLength: 100, minLength: 1, description: 'QUEUE_ELEMENTS only: this queue\'s own period (null: every queue without one)' } as const;
const item = {
  type: 'object',
  properties: { scope: { type: 'string' }, queueName: { type: ['string', 'null'] }, keepDays: { type: 'integer' }, archive: { type: 'boolean' }, changedAt: nullableDateTime },
} as const;
const body = {
  type: 'object',
  additionalProperties: false,
  required: ['scope', 'keepDays'],
  properties: {
    scope,
    queueName,
    keepDays: { type: 'integer', minimum: 1, maximum: MAX_KEEP_DAYS, description: 'rows older than this many days are purged' },
    archive: { type: 'boolean', description: 'write purged rows to the monitor\'s --archive-dir first (default false)' },
  },
} as const;
const toApi = (p: RetentionPolicy) => ({ ...p, changedAt: toApiDate(p.changedAt) });

export function registerRetentionRoutes(app: FastifyInstance, session: Session): void {
  app.get(
    '/api/operations/retention',
    { schema: { tags, summary: 'retention periods (a kind of history without one is kept for ever)', response: { 200: { type: 'array', items: item }, ...errorReplies } } },
    async () => (await listRetention(session.requireStore())).map(toApi),
  );

  app.put<{ Body: { scope: RetentionScope; queueName?: string | null; keepDays: number; archive?: boolean } }>(
    '/api/operations/retention',
    { schema: { tags, summary: 'set a retention period (replaces the one of the same scope and queue)', body, response: { 200: item, ...errorReplies } } },
    async (request) => toApi(await saveRetention(session.requireStore(), request.body)),
  );

  app.delete<{ Querystring: { scope: RetentionScope; queueName?: string } }>(
    '/api/operations/retention',
    {
      schema: {
        tags,
        summary: 'remove a retention period: that history is kept for ever again (a queue: by the period of every queue)',
        querystring: { type: 'object', required: ['scope'], properties: { scope, queueName: text(100, 1) } },
        response: { 200: { type: 'object', properties: { deleted: { type: 'string' } } }, ...errorReplies },
      },
    },
    async (request) => {
      await deleteRetention(session.requireStore(), request.query.scope, request.query.queueName);
      return { deleted: `${request.query.scope}${request.query.queueName ? ` ${request.query.queueName}` : ''}` };
    },
  );
}
