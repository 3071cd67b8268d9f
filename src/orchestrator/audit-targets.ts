/**
 * What the audit trail records for each route that changes something: its action name, which
 * row it changes, and how to read that row before and after. The server refuses to start when a
 * POST, PUT, PATCH or DELETE route has no entry here (unit-of-work.ts), so a new route cannot
 * change data unrecorded by oversight.
 */
import { MASK } from '../config/secrets.js';
import { getChannel, getRule } from '../db/store/alerts.js';
import { getConstant } from '../db/store/constants.js';
import { listCredentials } from '../db/store/credentials.js';
import { getQueueElement } from '../db/store/queues.js';
import { listRetention } from '../db/store/retention.js';
import { getQueueSettings } from '../db/store/retries.js';
import { getTrigger } from '../db/store/triggers.js';
import type { Store } from '../db/open.js';
import { formatNaive } from '../time/clock.js';

/** The parts of a request an entry reads. */
export interface AuditedRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  body: Record<string, unknown> | undefined;
}

export interface AuditSpec {
  kind: 'audited';
  /** e.g. `trigger.update`: the kind of thing, a dot, what was done */
  action: string;
  /** the changed row's key: from the request, or (creates) from the answer; undefined when unknown */
  key(request: AuditedRequest, answer?: Record<string, unknown>): string | undefined;
  /** the row as it stands (undefined when there is none); omitted when the change has no one row */
  read?(store: Store, key: string): Promise<unknown>;
  /** what to record as "after" when there is no row to read (bulk changes): the answer, or part of it */
  summary?(request: AuditedRequest, answer?: Record<string, unknown>): unknown;
}

/** Routes that change no data of the database (or record their change themselves). */
export interface NotAudited {
  kind: 'not-audited';
  why: string;
}

const param = (name: string) => (request: AuditedRequest) => request.params[name];
const bodyField = (name: string) => (request: AuditedRequest) => {
  const value = request.body?.[name];
  return typeof value === 'string' ? value : undefined;
};
const answerId = (_request: AuditedRequest, answer?: Record<string, unknown>) => (typeof answer?.id === 'string' ? answer.id : undefined);

/** Reads a row, or undefined when it does not exist (before a create, after a delete). */
function orNone<T>(read: (store: Store, key: string) => Promise<T>): (store: Store, key: string) => Promise<T | undefined> {
  return async (store, key) => {
    try {
      return await read(store, key);
    } catch (error) {
      if ((error as Error)?.name === 'NotFoundError') return undefined;
      throw error;
    }
  };
}

const trigger = orNone(getTrigger);
const constant = orNone(getConstant);
const queueElement = orNone(getQueueElement);
const channel = orNone(getChannel);
const rule = orNone(getRule);
const queueSettings = (store: Store, name: string) => getQueueSettings(store, name);
// A retention period's key is its scope and queue (`LOGS`, `QUEUE_ELEMENTS/invoices`).
const retentionKey = (from: (request: AuditedRequest) => Record<string, unknown> | undefined) => (request: AuditedRequest) => {
  const fields = from(request);
  const scope = typeof fields?.scope === 'string' ? fields.scope : undefined;
  const queue = typeof fields?.queueName === 'string' && fields.queueName !== '' ? fields.queueName : undefined;
  return scope && (queue ? `${scope}/${queue}` : scope);
};
const retention = async (store: Store, key: string) => {
  const [scope, ...queue] = key.split('/');
  const queueName = queue.length > 0 ? queue.join('/') : null;
  return (await listRetention(store)).find((p) => p.scope === scope && (p.queueName ?? null) === queueName);
};
// The password is never read: only whether one is set, and the size of its ciphertext.
const credential = async (store: Store, name: string) => {
  const found = (await listCredentials(store)).find((c) => c.name === name);
  return found && { name: found.name, username: found.username, password: MASK, encryptedLength: found.encryptedLength, changedAt: found.changedAt };
};

const audited = (action: string, key: AuditSpec['key'], read?: AuditSpec['read'], summary?: AuditSpec['summary']): AuditSpec => ({ kind: 'audited', action, key, read, summary });
const idsOf = (request: AuditedRequest) => (Array.isArray(request.body?.ids) ? (request.body.ids as unknown[]).map(String) : []);
const bulk = (request: AuditedRequest, answer?: Record<string, unknown>) => ({ ids: idsOf(request), ...answer });

/**
 * Every route that changes something, by method and path as registered.
 */
export const AUDIT_TARGETS: Record<string, AuditSpec | NotAudited> = {
  'POST /api/session/sign-in': { kind: 'not-audited', why: 'signing in changes no data' },
  'POST /api/session/sign-out': { kind: 'not-audited', why: 'signing out changes no data' },
  'POST /api/settings/connect': { kind: 'not-audited', why: 'connecting changes no data (refused in team mode)' },
  'POST /api/settings/disconnect': { kind: 'not-audited', why: 'disconnecting changes no data (refused in team mode)' },
  'POST /api/settings/generate-key': { kind: 'not-audited', why: 'a new key is only shown, never stored' },
  // DDL cannot share a transaction with a row on MySQL and Oracle: the route records its own row after the upgrade.
  'POST /api/settings/upgrade': { kind: 'not-audited', why: 'records schema.upgrade itself, after the DDL' },

  'POST /api/triggers': audited('trigger.create', answerId, trigger),
  'PUT /api/triggers/:id': audited('trigger.update', param('id'), trigger),
  'DELETE /api/triggers/:id': audited('trigger.delete', param('id'), trigger),
  'POST /api/triggers/:id/enable': audited('trigger.enable', param('id'), trigger),
  'POST /api/triggers/:id/disable': audited('trigger.disable', param('id'), trigger),
  'POST /api/triggers/:id/kill': audited('trigger.kill', param('id'), trigger),
  'POST /api/triggers/:id/run-now': audited('trigger.run-now', param('id'), trigger),

  'POST /api/constants': audited('constant.create', bodyField('name'), constant),
  'PUT /api/constants/:name': audited('constant.update', param('name'), constant),
  'DELETE /api/constants/:name': audited('constant.delete', param('name'), constant),
  'POST /api/credentials': audited('credential.create', bodyField('name'), credential),
  'PUT /api/credentials/:name': audited('credential.update', param('name'), credential),
  'DELETE /api/credentials/:name': audited('credential.delete', param('name'), credential),

  'POST /api/queues/:queueName/elements': audited('queue-element.create', answerId, queueElement),
  'PATCH /api/queue-elements/:id': audited('queue-element.update', param('id'), queueElement),
  'DELETE /api/queue-elements/:id': audited('queue-element.delete', param('id'), queueElement),
  'POST /api/queues/:queueName/elements/bulk': audited('queue-element.bulk-create', param('queueName'), undefined, (_request, answer) => answer),
  'POST /api/queue-elements/retry': audited('queue-element.retry', (request) => `${idsOf(request).length} element(s)`, undefined, bulk),
  'POST /api/queue-elements/retry-stale': audited('queue-element.retry-stale', (request) => `${idsOf(request).length} element(s)`, undefined, bulk),

  'POST /api/operations/queue-settings': audited('queue-settings.create', bodyField('queueName'), queueSettings),
  'PUT /api/operations/queue-settings/:queueName': audited('queue-settings.update', param('queueName'), queueSettings),
  'DELETE /api/operations/queue-settings/:queueName': audited('queue-settings.delete', param('queueName'), queueSettings),
  'POST /api/operations/channels': audited('alert-channel.create', answerId, channel),
  'PUT /api/operations/channels/:id': audited('alert-channel.update', param('id'), channel),
  'DELETE /api/operations/channels/:id': audited('alert-channel.delete', param('id'), channel),
  'POST /api/operations/channels/:id/test': { kind: 'not-audited', why: 'sends a test message; changes no data' },
  'POST /api/operations/rules': audited('alert-rule.create', answerId, rule),
  'PUT /api/operations/rules/:id': audited('alert-rule.update', param('id'), rule),
  'DELETE /api/operations/rules/:id': audited('alert-rule.delete', param('id'), rule),
  'PUT /api/operations/retention': audited('retention.set', retentionKey((request) => request.body), retention),
  'DELETE /api/operations/retention': audited('retention.delete', retentionKey((request) => request.query), retention),
};

/** Field names whose values are secrets wherever they appear in a snapshot. */
const SECRET_FIELD = /(password|secret|token|apikey|api_key)$/i;

/**
 * A snapshot as the JSON the trail stores: dates as naive local text, secret fields masked,
 * URLs cut to their origin (a webhook's path is often its secret); null for no row.
 */
export function snapshotJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(value, function (this: Record<string, unknown>, name, field: unknown) {
    const raw = this[name];
    if (raw instanceof Date) return formatNaive(raw).slice(0, 19);
    if (typeof field === 'string' && name !== '' && SECRET_FIELD.test(name)) return field === '' ? '' : MASK;
    if (typeof field === 'string' && /^url$/i.test(name)) return maskUrl(field);
    return field;
  });
}

function maskUrl(text: string): string {
  try {
    const url = new URL(text);
    return url.pathname === '/' && url.search === '' && url.username === '' ? url.origin : `${url.origin}/${MASK}`;
  } catch {
    return MASK;
  }
}
