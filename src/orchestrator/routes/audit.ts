/** The audit trail: who changed what through the Orchestrator, filtered and paged, newest first. */
import type { FastifyInstance } from 'fastify';
import { auditChoices, countAudit, listAudit } from '../../db/store/audit.js';
import type { Session } from '../session.js';
import { dateTime, errorReplies, fromApiDate, nullableDateTime, pageQuery, text, toApiDate } from '../schemas.js';

const auditItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    changedAt: nullableDateTime,
    login: { type: 'string', description: 'the database login that made the change' },
    action: { type: 'string', description: 'e.g. trigger.update, constant.delete' },
    target: { type: ['string', 'null'], description: 'the id or name of what changed' },
    clientAddress: { type: ['string', 'null'] },
    before: { type: ['string', 'null'], description: 'JSON of the row before, secrets masked; null when there was none' },
    after: { type: ['string', 'null'], description: 'JSON of the row after, secrets masked; null when it is gone' },
  },
} as const;

interface AuditQuery {
  login?: string;
  action?: string;
  from?: string;
  to?: string;
  offset: number;
  limit: number;
}

export function registerAuditRoutes(app: FastifyInstance, session: Session): void {
  const tags = ['audit'];
  app.get<{ Querystring: AuditQuery }>(
    '/api/audit',
    {
      schema: {
        tags,
        summary: 'changes made through the Orchestrator, newest first; action filters exactly (trigger.update) or by kind (trigger)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { login: text(128), action: text(100), from: dateTime, to: dateTime, ...pageQuery },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: auditItem }, total: { type: 'integer' }, offset: { type: 'integer' }, limit: { type: 'integer' } },
          },
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const store = session.requireStore();
      const q = request.query;
      const filter = { login: q.login || undefined, action: q.action || undefined, from: fromApiDate('from', q.from), to: fromApiDate('to', q.to) };
      const [items, total] = await Promise.all([listAudit(store, { ...filter, offset: q.offset, limit: q.limit }), countAudit(store, filter)]);
      return { items: items.map((entry) => ({ ...entry, changedAt: toApiDate(entry.changedAt) })), total, offset: q.offset, limit: q.limit };
    },
  );

  app.get(
    '/api/audit/choices',
    {
      schema: {
        tags,
        summary: 'the logins and actions the trail holds (for the filters)',
        response: { 200: { type: 'object', properties: { logins: { type: 'array', items: { type: 'string' } }, actions: { type: 'array', items: { type: 'string' } } } }, ...errorReplies },
      },
    },
    async () => auditChoices(session.requireStore()),
  );
}
