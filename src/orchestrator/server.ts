/**
 * The Orchestrator's HTTP server: a JSON API over db/store (one file per route group under
 * routes/) and the built browser UI. It binds to 127.0.0.1 unless told otherwise. Who a request
 * acts as is decided on the route the router matched: in token mode (a token is required beyond
 * loopback) every request but the UI files needs the token and acts as the server's one login;
 * in team mode (team.ts) every request but the UI files and the sign-in needs a signed-in
 * person's session cookie and acts as that person's own login. Every change must come from the
 * app's own page (see access.ts) and is audited in its own transaction (unit-of-work.ts).
 * docs/security.md lists each guard and its test.
 *
 * @example
 *   const server = await startOrchestrator({ port: 0, connectionString, cryptoKey });
 *   console.log(server.url); ... await server.close();
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { fastifySwagger } from '@fastify/swagger';
import { Ajv, type ErrorObject } from 'ajv';
import { InputError } from '../errors.js';
import { TOKEN_ENV, crossSiteRefusal, isLoopback } from './access.js';
import { failureOf, HttpError } from './http-error.js';
import { routedSession } from './request-scope.js';
import { DatabaseSession } from './session.js';
import { SignInThrottle } from './sign-in-throttle.js';
import { Team, teamDatabase } from './team.js';
import { installUnitOfWork } from './unit-of-work.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerSignInRoutes } from './routes/sign-in.js';
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
  /**
   * Team mode: each person signs in with their own database login (the connection string
   * names none). Excludes a token.
   */
  team?: TeamSettings;
  /** serve HTTPS with this certificate (PEM, chain included) and key (PEM) */
  tls?: { certFile: string; keyFile: string };
  /** team mode beyond loopback without TLS: passwords would cross the network in plain text, so only when asked for */
  allowPlainHttp?: boolean;
}

export interface TeamSettings {
  /** a session ends after this long without a request (default 30) */
  idleMinutes?: number;
  /** and this long after sign-in (default 12) */
  sessionHours?: number;
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
  /** the server's one connection (token mode; never connected in team mode) */
  session: DatabaseSession;
  /** the signed-in people (team mode) */
  team: Team | undefined;
  /** http(s)://host:port/ (with #token=... when a token is set, for the browser) */
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

/** Builds the app (not listening): used by startOrchestrator and by the API tests via inject(). */
export async function buildOrchestrator(options: OrchestratorOptions = {}): Promise<{ app: FastifyInstance; session: DatabaseSession; team: Team | undefined }> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token || undefined;
  const https = options.tls ? readTls(options.tls) : undefined;
  if (options.team) {
    if (token) throw new InputError('team mode and an access token exclude each other: in team mode each person signs in with their own database login');
    teamDatabase(options.connectionString);
    if (!isLoopback(host) && !https && !options.allowPlainHttp) {
      throw new InputError(
        `team mode on ${host} (beyond this machine) serves HTTPS: give --tls-cert and --tls-key, or --allow-plain-http to send passwords in plain text over a network you trust`,
      );
    }
  } else if (!isLoopback(host) && !token) {
    throw new HttpError(400, `listening on ${host} (beyond this machine) needs an access token: give --token or set ${TOKEN_ENV}`);
  }
  const session = new DatabaseSession();
  if (options.connectionString && !options.team) await session.connect(options.connectionString, options.cryptoKey);
  const team = options.team
    ? new Team({
        connectionString: options.connectionString ?? '',
        cryptoKey: options.cryptoKey,
        secure: https !== undefined,
        idleMs: options.team.idleMinutes === undefined ? undefined : options.team.idleMinutes * 60_000,
        absoluteMs: options.team.sessionHours === undefined ? undefined : options.team.sessionHours * 3_600_000,
      })
    : undefined;
  const throttle = new SignInThrottle();

  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  timeouts.requestMs = Math.max(timeouts.requestMs, timeouts.headersMs);
  const app = Fastify({
    logger: false,
    bodyLimit: 1_048_576,
    return503OnClosing: true,
    connectionTimeout: timeouts.idleMs,
    requestTimeout: timeouts.requestMs,
    // Node checks the headers and request timeouts only every connectionsCheckingInterval (30 s by default).
    ...(https
      ? { https: { ...https, headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: checkingInterval(timeouts) } }
      : { http: { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: checkingInterval(timeouts) } }),
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
    } else if (!(error instanceof HttpError) && error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      message = error.message.split('\n')[0] ?? '';
    } else {
      // The connection the request acted in translates and scrubs its own driver errors.
      ({ status, message } = failureOf(caught, request.ooSession));
    }
    void reply.code(status).send({ error: message });
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
    // and every other spelling that reaches an API route meets the same check, and the request
    // then acts in the connection decided here (request-scope.ts).
    if (team) {
      if (!isStaticFilesRequest(request) && request.routeOptions.config?.withoutSignIn !== true) {
        const found = team.find(request.headers);
        if ('refusal' in found) return reply.code(401).send({ error: found.refusal });
        request.ooSession = found.person.session;
      }
    } else {
      if (token && !isStaticFilesRequest(request)) {
        const header = request.headers.authorization;
        const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : request.headers['x-openorchestrator-token'];
        if (typeof given !== 'string' || !sameSecret(given, token)) {
          return reply.code(401).send({ error: 'this server needs its access token: send "Authorization: Bearer <token>" (the token is in the URL the server printed)' });
        }
      }
      request.ooSession = session;
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
          'The JSON API the Orchestrator web UI uses. Dates are naive local date-times (YYYY-MM-DDTHH:MM:SS). Errors are {"error": "<one line>"} with a 4xx status. When the server has a token, send it as "Authorization: Bearer <token>"; in team mode, sign in (POST /api/session/sign-in) and send the session cookie it answers. Every POST, PUT, PATCH and DELETE must send "X-OpenOrchestrator-Request: 1".',
      },
      components: {
        securitySchemes: { token: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: team?.cookieName ?? 'oo-session' } },
      },
      security: team ? [{ session: [] }] : token ? [{ token: [] }] : [],
    },
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // Every route below runs in its request's connection; every change in a transaction with its audit row.
  installUnitOfWork(app);
  registerSignInRoutes(app, team, throttle);
  registerSettingsRoutes(app, routedSession);
  registerTriggerRoutes(app, routedSession);
  registerLogRoutes(app, routedSession);
  registerValueRoutes(app, routedSession);
  registerQueueRoutes(app, routedSession);
  registerSchedulerRoutes(app, routedSession);
  registerJobRoutes(app, routedSession);
  registerOperationsRoutes(app, routedSession);
  registerDashboardRoutes(app, routedSession);
  registerRetentionRoutes(app, routedSession);
  registerAuditRoutes(app, routedSession);
  if (options.metrics) registerMetricsRoute(app, routedSession);
  registerStaticFiles(app, options.webRoot);
  await app.ready();
  return { app, session, team };
}

function checkingInterval(timeouts: ServerTimeouts): number {
  return Math.max(50, Math.min(1_000, Math.floor(timeouts.headersMs / 4)));
}

/** The certificate and key files, read once at start; one line naming the file that cannot be read. */
function readTls(files: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new InputError(`cannot read the TLS ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const cert = read(files.certFile, 'certificate (--tls-cert)');
  const key = read(files.keyFile, 'key (--tls-key)');
  if (!/-----BEGIN [A-Z ]*CERTIFICATE-----/.test(cert.toString('latin1'))) throw new InputError(`the TLS certificate ${files.certFile} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('latin1'))) throw new InputError(`the TLS key ${files.keyFile} is not a PEM private key (-----BEGIN PRIVATE KEY-----)`);
  return { cert, key };
}

/** Builds the app and listens; `url` carries the token in its fragment (never sent to the server by browsers). */
export async function startOrchestrator(options: OrchestratorOptions = {}): Promise<RunningOrchestrator> {
  const host = options.host ?? '127.0.0.1';
  const { app, session, team } = await buildOrchestrator(options);
  const close = async () => {
    await app.close();
    await session.close();
    await team?.close();
  };
  try {
    await app.listen({ host, port: options.port ?? 0 });
  } catch (error) {
    await close();
    throw new HttpError(400, `cannot listen on ${host}:${options.port ?? 0}: ${(error as Error).message.split('\n')[0]}`);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const baseUrl = `${options.tls ? 'https' : 'http'}://${shownHost}:${port}/`;
  const url = options.token ? `${baseUrl}#token=${encodeURIComponent(options.token)}` : baseUrl;
  return { app, session, team, url, baseUrl, close };
}
