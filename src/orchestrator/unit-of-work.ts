/**
 * Every route's handler runs in the connection decided for its request (request-scope.ts), and
 * every change runs in one transaction with its audit row:
 *
 * 1. before the handler: open a transaction on the request's connection and read the row the
 *    route changes (audit-targets.ts);
 * 2. the handler runs with that transaction as its store (store functions join it through
 *    `inTransaction`, db/store/transaction.ts);
 * 3. before the answer is sent: on success read the row again, write the audit row (who, what,
 *    on what, when, from where, before and after) and commit; on a failure roll back. A commit
 *    that fails turns the answer into that failure, so nobody is told "done" for a change that
 *    did not happen.
 *
 * Installed once, before the routes are registered; a route that changes something and has no
 * entry in AUDIT_TARGETS stops the server from starting.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Store } from '../db/open.js';
import { recordAudit } from '../db/store/audit.js';
import { beginTransaction } from '../db/store/transaction.js';
import { scrubSecrets } from '../config/secrets.js';
import { AUDIT_TARGETS, snapshotJson, type AuditedRequest, type AuditSpec } from './audit-targets.js';
import { failureOf, HttpError } from './http-error.js';
import { runInSession, withStore } from './request-scope.js';
import type { Session } from './session.js';

interface OpenChange {
  session: Session;
  spec: AuditSpec;
  store: Store;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  key: string | undefined;
  before: string | null;
  done: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** the connection this request acts in, decided by the server's onRequest hook */
    ooSession?: Session;
    /** the change this request makes, while its transaction is open */
    ooChange?: OpenChange;
  }
}

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const view = (request: FastifyRequest): AuditedRequest => ({
  params: (request.params ?? {}) as Record<string, string>,
  query: (request.query ?? {}) as Record<string, string>,
  body: request.body !== null && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : undefined,
});

/** Runs `handler` in the request's connection (none: the routed session refuses, see request-scope.ts). */
function scoped(handler: RouteHandlerMethod): RouteHandlerMethod {
  return function (this: FastifyInstance, request, reply) {
    const session = request.ooSession;
    return session ? runInSession(session, () => handler.call(this, request, reply)) : handler.call(this, request, reply);
  };
}

/** Runs `handler` in a transaction of the request's connection, with the row's "before" read first. */
function audited(spec: AuditSpec, handler: RouteHandlerMethod): RouteHandlerMethod {
  return async function (this: FastifyInstance, request, reply) {
    const session = request.ooSession;
    if (!session) throw new HttpError(401, 'this request has no connection: sign in first');
    const transaction = await beginTransaction(session.requireStore());
    const change: OpenChange = { session, spec, ...transaction, key: undefined, before: null, done: false };
    request.ooChange = change;
    try {
      change.key = spec.key(view(request));
      if (change.key !== undefined && spec.read) change.before = snapshotJson(await spec.read(change.store, change.key));
    } catch (error) {
      change.done = true;
      await change.rollback().catch(() => undefined);
      throw error;
    }
    return runInSession(withStore(session, change.store), () => handler.call(this, request, reply));
  };
}

/** Ends the request's change: audit row and commit on success, rollback otherwise. Returns the payload to send. */
async function finish(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const change = request.ooChange;
  if (!change || change.done) return payload;
  change.done = true;
  if (reply.statusCode >= 400) {
    await change.rollback().catch(() => undefined);
    return payload;
  }
  const { session, spec } = change;
  try {
    const answer = parseAnswer(payload);
    const key = change.key ?? spec.key(view(request), answer);
    const after = spec.read ? (key === undefined ? null : snapshotJson(await spec.read(change.store, key))) : snapshotJson(spec.summary?.(view(request), answer));
    const secrets = session.secrets();
    await recordAudit(change.store, {
      login: session.login() ?? '(unknown)',
      action: spec.action,
      target: key ?? null,
      clientAddress: request.ip ?? null,
      before: change.before === null ? null : scrubSecrets(change.before, secrets),
      after: after === null ? null : scrubSecrets(after, secrets),
    });
    await change.commit();
    return payload;
  } catch (error) {
    await change.rollback().catch(() => undefined);
    const { status, message } = failureOf(error, session);
    void reply.code(status).header('content-type', 'application/json; charset=utf-8');
    return JSON.stringify({ error: message });
  }
}

function parseAnswer(payload: unknown): Record<string, unknown> | undefined {
  if (typeof payload !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(payload);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A change left open by a request that ended without an answer (aborted, timed out) is rolled back. */
async function abandon(request: FastifyRequest): Promise<void> {
  const change = request.ooChange;
  if (!change || change.done) return;
  change.done = true;
  await change.rollback().catch(() => undefined);
}

/**
 * Installs the wrapping of every route registered after it, and the hooks that end changes.
 *
 * @example
 *   installUnitOfWork(app); registerTriggerRoutes(app, routedSession);
 */
export function installUnitOfWork(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => String(m).toUpperCase());
    const changing = methods.filter((m) => CHANGING.has(m));
    if (changing.length === 0) {
      route.handler = scoped(route.handler);
      return;
    }
    const specs = changing.map((m) => {
      const spec = AUDIT_TARGETS[`${m} ${route.url}`];
      if (!spec) throw new Error(`route ${m} ${route.url} changes data but has no entry in AUDIT_TARGETS (src/orchestrator/audit-targets.ts)`);
      return spec;
    });
    const spec = specs[0]!;
    route.handler = spec.kind === 'audited' ? audited(spec, route.handler) : scoped(route.handler);
  });
  app.addHook('onSend', async (request, reply, payload) => finish(request, reply, payload));
  app.addHook('onResponse', async (request) => abandon(request));
  app.addHook('onRequestAbort', async (request) => abandon(request));
  app.addHook('onTimeout', async (request) => abandon(request));
}
