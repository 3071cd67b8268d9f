/**
 * The Orchestrator's HTTP server: a JSON API over db/store (one file per route group under
 * routes/) and the built browser UI. It binds to 127.0.0.1 unless told otherwise; with a token
 * (required beyond loopback) every request but the UI files needs it; every change must come
 * from the app's own page (see access.ts). docs/security.md lists each guard and its test.
 *
 * @example
 *   const server = await startOrchestrator({ port: 0, connectionString, cryptoKey });
 *   console.log(server.url); ... await server.close();
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { fastifySwagger } from '@fastify/swagger';
import { Ajv, type ErrorObject } from 'ajv';
import { scrubSecrets } from '../config/secrets.js';
import { isUserFacingError } from '../errors.js';
import { TOKEN_ENV, crossSiteRefusal, isLoopback } from './access.js';
import { HttpError } from './http-error.js';
import { Session } from './session.js';
import { isStaticFilesRequest, registerStaticFiles } from './static-files.js';
import { registerSettingsRoutes } from './routes/settings.js';
import { registerTriggerRoutes } from './routes/triggers.js';
import { registerLogRoutes } from './routes/logs.js';
import { registerValueRoutes } from './routes/values.js';
import { registerQueueRoutes } from './routes/queues.js';
import { registerSchedulerRoutes } from './routes/schedulers.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerOperationsRoutes } from './routes/operations.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import { registerRetentionRoutes } from './routes/retention.js';
import { registerMetricsRoute } from './routes/metrics.js';

export { REQUEST_HEADER, TOKEN_ENV, isLoopback } from './access.js';

export interface OrchestratorOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default 0: a free port */
  port?: number;
  /** required when host is not loopback */
  token?: string;
  connectionString?: string;
  cryptoKey?: string;
  /** folder of the built UI; default web/dist of this package */
  webRoot?: string;
  /** how long a client may take to send a request; defaults in DEFAULT_TIMEOUTS */
  timeouts?: Partial<ServerTimeouts>;
  /** serve GET /metrics (Prometheus text), behind the same host and token checks as the API */
  metrics?: boolean;
}

/** Limits that keep slow or silent clients from holding sockets open. */
export interface ServerTimeouts {
  /** to send the request line and all headers */
  headersMs: number;
  /** to send the whole request, body included (at least headersMs) */
  requestMs: number;
  /** of silence on a connection, while sending or waiting */
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: ServerTimeouts = { headersMs: 20_000, requestMs: 60_000, idleMs: 120_000 };

// Every answer that is not a UI file: nothing in it may run, be framed or be sniffed as HTML.
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function setSecurityHeaders(reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff');
  if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', API_CSP);
  if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'no-referrer');
}

/** The one-line answer for a request the router could not even read (bad escapes, overlong segments). */
function describeUnroutable(error: FastifyError): { status: number; message: string } {
  if (error.code === 'FST_ERR_BAD_URL') {
    return { status: 400, message: 'the path is not valid percent-encoding: each "%" must start an escape of two hex digits (write a literal "%" as %25)' };
  }
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return { status: 414, message: 'a part of the path is too long (limit 100 characters)' };
  return { status: 400, message: `the request cannot be routed: ${error.message.split('\n')[0]}` };
}

export interface RunningOrchestrator {
  app: FastifyInstance;
  session: Session;
  /** http://host:port/ (with #token=... when a token is set, for the browser) */
  url: string;
  /** the address without the token */
  baseUrl: string;
  close(): Promise<void>;
}


function sameSecret(a: string, b: string): boolean {
  const hash = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(hash(a), hash(b));
}

/** One readable line from an ajv error: `triggerName must be at most 100 characters`. */
function describeSchemaError(error: ErrorObject, part: string): string {
  const path = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const field = path || (part === 'body' ? 'the request body' : part === 'querystring' ? 'the query' : part);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${path ? `${path}.` : ''}${String(p.missingProperty)} is required`;
    case 'additionalProperties':
      return `unknown field "${String(p.additionalProperty)}"${path ? ` in ${path}` : ''}`;
    case 'maxLength':
      return `${field} is too long: the limit is ${String(p.limit)} characters`;
    case 'minLength':
      return Number(p.limit) === 1 ? `${field} must not be empty` : `${field} must be at least ${String(p.limit)} characters`;
    case 'type':
      return `${field} must be ${String(p.type).replace(',', ' or ')}`;
    case 'enum':
      return `${field} must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'pattern':
      return /\\d\{4\}/.test(String(p.pattern)) ? `${field} must be a date-time like 2024-05-01T13:45` : `${field} is not in the expected form`;
    case 'maximum':
    case 'minimum':
      return `${field} must be ${error.keyword === 'maximum' ? 'at most' : 'at least'} ${String(p.limit)}`;
    case 'maxItems':
      return `${field} may have at most ${String(p.limit)} entries`;
    case 'minItems':
      return `${field} must have at least ${String(p.limit)} entries`;
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.statusCode;
  const name = (error as Error)?.name;
  switch (name) {
    case 'InputError':
    case 'ConnectionStringError':
    case 'CryptoError':
      return 400;
    case 'NotFoundError':
      return 404;
    case 'SchemaError':
      return 409;
    case 'DatabaseError':
      return 503;
    default:
      return 500;
  }
}

/** Builds the app (not listening): used by startOrchestrator and by the API tests via inject(). */
export async function buildOrchestrator(options: OrchestratorOptions = {}): Promise<{ app: FastifyInstance; session: Session }> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token || undefined;
  if (!isLoopback(host) && !token) {
    throw new HttpError(400, `listening on ${host} (beyond this machine) needs an access token: give --token or set ${TOKEN_ENV}`);
  }
  const session = new Session();
  if (options.connectionString) await session.connect(options.connectionString, options.cryptoKey);

  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  timeouts.requestMs = Math.max(timeouts.requestMs, timeouts.headersMs);
  const app = Fastify({
    logger: false,
    bodyLimit: 1_048_576,
    return503OnClosing: true,
    connectionTimeout: timeouts.idleMs,
    requestTimeout: timeouts.requestMs,
    // Node checks the headers and request timeouts only every connectionsCheckingInterval (30 s by default).
    http: { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(timeouts.headersMs / 4))) },
    frameworkErrors: (error, _request, genericReply) => {
      const reply = genericReply as FastifyReply;
      const { status, message } = describeUnroutable(error);
      setSecurityHeaders(reply);
      void reply.code(status).send({ error: message });
    },
  });
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  const lenient = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : lenient).compile(schema));
  app.setSchemaErrorFormatter((errors, dataVar) => new HttpError(400, describeSchemaError(errors[0]!, dataVar)));
  // Only JSON bodies: a cross-site form or text/plain request cannot reach the API.
  app.removeContentTypeParser('text/plain');

  const secrets = () => session.secrets();
  app.setErrorHandler((caught: unknown, request, reply) => {
    const error = caught as FastifyError;
    let status: number;
    let message: string;
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
      status = 400;
      message = 'the request body is not valid JSON';
    } else if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      status = 400;
      message = 'the request body is empty; send a JSON object';
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      message = 'send the request body as JSON (Content-Type: application/json)';
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      message = `the request body is too large (limit ${Math.round((request.routeOptions.bodyLimit ?? 1_048_576) / 1_048_576)} MB)`;
    } else if (error instanceof HttpError || isUserFacingError(caught)) {
      status = statusOf(error);
      message = error.message;
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      message = error.message;
    } else {
      const translated: Error = session.translate(error);
      status = statusOf(translated);
      message = isUserFacingError(translated) ? translated.message : `unexpected error: ${String((translated as Error).message).split('\n')[0]}`;
    }
    message = scrubSecrets(message, secrets());
    void reply.code(status).send({ error: message.split('\n')[0] });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  app.addHook('onRequest', async (request, reply) => {
    // DNS-rebinding guard: on loopback, the page must address us as a loopback name.
    if (isLoopback(host)) {
      const hostname = (request.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopback(hostname)) return reply.code(403).send({ error: `this server answers only requests addressed to 127.0.0.1 or localhost, not "${hostname.slice(0, 60)}"` });
    }
    // Decided on the route the router matched, never on the raw URL: /%61pi/..., absolute-form
    // and every other spelling that reaches an API route meets the same check.
    if (token && !isStaticFilesRequest(request)) {
      const header = request.headers.authorization;
      const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : request.headers['x-openorchestrator-token'];
      if (typeof given !== 'string' || !sameSecret(given, token)) {
        return reply.code(401).send({ error: 'this server needs its access token: send "Authorization: Bearer <token>" (the token is in the URL the server printed)' });
      }
    }
    const refusal = crossSiteRefusal(request.method, request.headers);
    if (refusal) return reply.code(403).send({ error: refusal });
    const method = request.method;
    if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && request.headers['content-length'] !== '0' && request.headers['content-type'] !== undefined) {
      if (!/^application\/json\b/i.test(request.headers['content-type'])) {
        return reply.code(415).send({ error: 'send the request body as JSON (Content-Type: application/json)' });
      }
    }
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', reply.getHeader('cache-control') ?? 'no-store');
    setSecurityHeaders(reply);
    return payload;
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'OpenOrchestrator API',
        version: '1',
        description:
          'The JSON API the Orchestrator web UI uses. Dates are naive local date-times (YYYY-MM-DDTHH:MM:SS). Errors are {"error": "<one line>"} with a 4xx status. When the server has a token, send it as "Authorization: Bearer <token>". Every POST, PUT, PATCH and DELETE must send "X-OpenOrchestrator-Request: 1".',
      },
      components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
      security: token ? [{ token: [] }] : [],
    },
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerSettingsRoutes(app, session);
  registerTriggerRoutes(app, session);
  registerLogRoutes(app, session);
  registerValueRoutes(app, session);
  registerQueueRoutes(app, session);
  registerSchedulerRoutes(app, session);
  registerJobRoutes(app, session);
  registerOperationsRoutes(app, session);
  registerDashboardRoutes(app, session);
  registerRetentionRoutes(app, session);
  if (options.metrics) registerMetricsRoute(app, session);
  registerStaticFiles(app, options.webRoot);
  await app.ready();
  return { app, session };
}

/** Builds the app and listens; `url` carries the token in its fragment (never sent to the server by browsers). */
export async function startOrchestrator(options: OrchestratorOptions = {}): Promise<RunningOrchestrator> {
  const host = options.host ?? '127.0.0.1';
  const { app, session } = await buildOrchestrator(options);
  try {
    await app.listen({ host, port: options.port ?? 0 });
  } catch (error) {
    await session.disconnect();
    throw new HttpError(400, `cannot listen on ${host}:${options.port ?? 0}: ${(error as Error).message.split('\n')[0]}`);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const baseUrl = `http://${shownHost}:${port}/`;
  const url = options.token ? `${baseUrl}#token=${encodeURIComponent(options.token)}` : baseUrl;
  return {
    app,
    session,
    url,
    baseUrl,
    close: async () => {
      await app.close();
      await session.disconnect();
    },
  };
}
