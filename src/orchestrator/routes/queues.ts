/** Queues: counts per status, elements paged/sorted/searched on the server, element edits, retry, throughput. */
import type { FastifyInstance } from 'fastify';
import {
  QUEUE_ELEMENT_SORTS,
  bulkCreateQueueElements,
  countQueueElements,
  createQueueElement,
  deleteQueueElement,
  getQueueElement,
  listQueueEndDates,
  listQueues,
  listStaleInProgress,
  retryQueueElements,
  retryStaleInProgress,
  searchQueueElements,
  setQueueElementStatus,
  updateQueueElement,
  type QueueElement,
  type QueueElementSort,
} from '../../db/store/queues.js';
import { QUEUE_STATUSES, type QueueStatus } from '../../db/types.js';
import { now } from '../../time/clock.js';
import type { Session } from '../session.js';
import { dateTime, errorReplies, fromApiDate, nullableDateTime, pageQuery, text, toApiDate, uuid } from '../schemas.js';

const elementItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    queueName: { type: 'string' },
    status: { type: 'string', enum: [...QUEUE_STATUSES] },
    data: { type: ['string', 'null'] },
    reference: { type: ['string', 'null'] },
    createdDate: nullableDateTime,
    startDate: nullableDateTime,
    endDate: nullableDateTime,
    message: { type: ['string', 'null'] },
    createdBy: { type: ['string', 'null'] },
  },
} as const;

const counts = { type: 'object', properties: Object.fromEntries(QUEUE_STATUSES.map((s) => [s, { type: 'integer' }])) } as const;

function toApiElement(element: QueueElement) {
  return {
    ...element,
    createdDate: toApiDate(element.createdDate),
    startDate: toApiDate(element.startDate),
    endDate: toApiDate(element.endDate),
  };
}

/** The body limit of a bulk upload (other requests: 1 MB). */
export const BULK_BODY_LIMIT = 64 * 1_048_576;

const queueParams = { type: 'object', required: ['queueName'], properties: { queueName: text(100, 1) } } as const;
const idParams = { type: 'object', required: ['id'], properties: { id: uuid } } as const;

interface ElementQuery {
  status?: QueueStatus;
  from?: string;
  to?: string;
  search?: string;
  sort: QueueElementSort;
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
}

export function registerQueueRoutes(app: FastifyInstance, session: Session): void {
  const tags = ['queues'];
  app.get(
    '/api/queues',
    {
      schema: {
        tags,
        summary: 'every queue with its element count per status, by name',
        response: { 200: { type: 'array', items: { type: 'object', properties: { queueName: { type: 'string' }, counts, total: { type: 'integer' } } } }, ...errorReplies },
      },
    },
    async () =>
      (await listQueues(session.requireStore())).map((q) => ({ ...q, total: Object.values(q.counts).reduce((a, b) => a + b, 0) })),
  );

  app.get<{ Params: { queueName: string }; Querystring: ElementQuery }>(
    '/api/queues/:queueName/elements',
    {
      schema: {
        tags,
        summary: "a queue's elements: filtered by status and created date, searched in reference/data/message, sorted and paged on the server",
        params: queueParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...QUEUE_STATUSES] },
            from: dateTime,
            to: dateTime,
            search: text(200),
            sort: { type: 'string', enum: [...QUEUE_ELEMENT_SORTS], default: 'created_date' },
            order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
            ...pageQuery,
          },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: elementItem }, total: { type: 'integer' }, offset: { type: 'integer' }, limit: { type: 'integer' } } },
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const store = session.requireStore();
      const q = request.query;
      const search = { status: q.status, fromDate: fromApiDate('from', q.from), toDate: fromApiDate('to', q.to), text: q.search || undefined };
      const [items, total] = await Promise.all([
        searchQueueElements(store, request.params.queueName, { ...search, sort: q.sort, order: q.order, offset: q.offset, limit: q.limit }),
        countQueueElements(store, request.params.queueName, search),
      ]);
      return { items: items.map(toApiElement), total, offset: q.offset, limit: q.limit };
    },
  );

  app.post<{ Params: { queueName: string }; Body: { reference?: string | null; data?: string | null; createdBy?: string | null } }>(
    '/api/queues/:queueName/elements',
    {
      schema: {
        tags,
        summary: 'add an element to a queue (status New)',
        params: queueParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reference: { type: ['string', 'null'], maxLength: 100 }, data: { type: ['string', 'null'], maxLength: 2000 }, createdBy: { type: ['string', 'null'], maxLength: 100 } },
        },
        response: { 201: elementItem, ...errorReplies },
      },
    },
    async (request, reply) => {
      const element = await createQueueElement(session.requireStore(), request.params.queueName, {
        reference: request.body.reference || null,
        data: request.body.data || null,
        createdBy: request.body.createdBy || 'Orchestrator',
      });
      return reply.code(201).send(toApiElement(element));
    },
  );

  app.post<{ Params: { queueName: string }; Body: { elements: { reference?: string | null; data?: string | null }[] } }>(
    '/api/queues/:queueName/elements/bulk',
    {
      // An upload of many elements: up to 100,000 of 2000 characters of data each.
      bodyLimit: BULK_BODY_LIMIT,
      schema: {
        tags,
        summary: 'add many elements to a queue in one transaction: all or none (an error names the element, counted from 0)',
        params: queueParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['elements'],
          properties: {
            elements: {
              type: 'array',
              minItems: 1,
              maxItems: 100_000,
              items: { type: 'object', additionalProperties: false, properties: { reference: { type: ['string', 'null'], maxLength: 100 }, data: { type: ['string', 'null'], maxLength: 2000 } } },
            },
          },
        },
        response: { 201: { type: 'object', properties: { created: { type: 'integer' } } }, ...errorReplies },
      },
    },
    async (request, reply) => {
      const created = await bulkCreateQueueElements(
        session.requireStore(),
        request.params.queueName,
        request.body.elements.map((e) => ({ reference: e.reference || null, data: e.data || null, createdBy: 'Orchestrator' })),
      );
      return reply.code(201).send({ created });
    },
  );

  app.get<{ Querystring: { queueName: string; hours: number } }>(
    '/api/queues/throughput',
    {
      schema: {
        tags,
        summary: 'elements finished (Done, Failed, Abandoned) per hour over the last hours',
        querystring: { type: 'object', required: ['queueName'], properties: { queueName: text(100, 1), hours: { type: 'integer', minimum: 1, maximum: 168, default: 24 } } },
        response: {
          200: { type: 'array', items: { type: 'object', properties: { hour: { type: 'string' }, count: { type: 'integer' } } } },
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const hours = request.query.hours;
      const current = now();
      const start = new Date(current.getFullYear(), current.getMonth(), current.getDate(), current.getHours() - hours + 1);
      const dates = await listQueueEndDates(session.requireStore(), request.query.queueName, start);
      const buckets = Array.from({ length: hours }, (_, i) => ({ at: new Date(start.getFullYear(), start.getMonth(), start.getDate(), start.getHours() + i), count: 0 }));
      for (const date of dates) {
        const index = Math.floor((date.getTime() - start.getTime()) / 3_600_000);
        const bucket = buckets[index];
        if (bucket) bucket.count++;
      }
      return buckets.map((b) => ({ hour: toApiDate(b.at), count: b.count }));
    },
  );

  app.get<{ Querystring: { queueName?: string; limit: number } }>(
    '/api/queues/stale-in-progress',
    {
      schema: {
        tags,
        summary: 'In Progress elements whose robot is gone: claimed while a job that has since ended ran, and no job still running had started by then',
        querystring: { type: 'object', additionalProperties: false, properties: { queueName: text(100, 1), limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 } } },
        response: { 200: { type: 'array', items: elementItem }, ...errorReplies },
      },
    },
    async (request) =>
      (await listStaleInProgress(session.requireStore(), { queueName: request.query.queueName, limit: request.query.limit })).map(toApiElement),
  );

  app.post<{ Body: { ids: string[] } }>(
    '/api/queue-elements/retry-stale',
    {
      schema: {
        tags,
        summary: 'put stale In Progress elements back to New (others are left alone)',
        body: { type: 'object', additionalProperties: false, required: ['ids'], properties: { ids: { type: 'array', minItems: 1, maxItems: 1000, items: uuid } } },
        response: { 200: { type: 'object', properties: { retried: { type: 'integer' } } }, ...errorReplies },
      },
    },
    async (request) => ({ retried: await retryStaleInProgress(session.requireStore(), request.body.ids) }),
  );

  app.get<{ Params: { id: string } }>(
    '/api/queue-elements/:id',
    { schema: { tags, summary: 'one queue element', params: idParams, response: { 200: elementItem, ...errorReplies } } },
    async (request) => toApiElement(await getQueueElement(session.requireStore(), request.params.id)),
  );

  app.patch<{ Params: { id: string }; Body: { status: QueueStatus; message?: string | null } }>(
    '/api/queue-elements/:id',
    {
      schema: {
        tags,
        summary: "set an element's status (and message)",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['status'],
          properties: { status: { type: 'string', enum: [...QUEUE_STATUSES] }, message: { type: ['string', 'null'], maxLength: 1000 } },
        },
        response: { 200: elementItem, ...errorReplies },
      },
    },
    async (request) => {
      const store = session.requireStore();
      const { status, message } = request.body;
      // The dialog sends the status it shows: an In Progress element stays held (its claim time
      // kept, which the claim guard insists on), only its message changes.
      if (status === 'IN_PROGRESS' && (await getQueueElement(store, request.params.id)).status === 'IN_PROGRESS') {
        return toApiElement(message === undefined ? await getQueueElement(store, request.params.id) : await updateQueueElement(store, request.params.id, { message }));
      }
      await setQueueElementStatus(store, request.params.id, status, message);
      return toApiElement(await getQueueElement(store, request.params.id));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/queue-elements/:id',
    { schema: { tags, summary: 'delete a queue element', params: idParams, response: { 200: { type: 'object', properties: { deleted: { type: 'string' } } }, ...errorReplies } } },
    async (request) => {
      await deleteQueueElement(session.requireStore(), request.params.id);
      return { deleted: request.params.id };
    },
  );

  app.post<{ Body: { ids: string[] } }>(
    '/api/queue-elements/retry',
    {
      schema: {
        tags,
        summary: 'put Failed elements back to New (others are left alone)',
        body: { type: 'object', additionalProperties: false, required: ['ids'], properties: { ids: { type: 'array', minItems: 1, maxItems: 1000, items: uuid } } },
        response: { 200: { type: 'object', properties: { retried: { type: 'integer' } } }, ...errorReplies },
      },
    },
    async (request) => ({ retried: await retryQueueElements(session.requireStore(), request.body.ids) }),
  );
}
