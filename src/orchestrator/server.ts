/**
 * The Orchestrator's HTTP server: a JSON API over db/store (one file per route group under
 * routes/) and the built browser UI. It binds to 127.0.0.1 unless told otherwise; beyond
 * loopback every API call needs the access token.
 *
 * @example
 *   const server = await startOrchestrator({ port: 0, connectionString, cryptoKey });
 *   console.log(server.url); ... await server.close();
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { fastifySwagger } from '@fastify/swagger';
import { Ajv, type ErrorObject } from 'ajv';
import { isUserFacingError } from '../errors.js';
import { TOKEN_ENV, isLoopback } from './access.js';
import { HttpError } from './http-error.js';
import { Session } from './session.js';
import { registerStaticFiles } from './static-files.js';
import { registerSettingsRoutes } from './routes/settings.js';
import { registerTriggerRoutes } from './routes/triggers.js';
import { registerLogRoutes } from './routes/logs.js';
import { registerValueRoutes } from './routes/values.js';
import { registerQueueRoutes } from './routes/queues.js';
import { registerSchedulerRoutes } from './routes/schedulers.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerOperationsRoutes } from './routes/operations.js';

export { TOKEN_ENV, isLoopback } from './access.js';

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

  const app = Fastify({ logger: false, bodyLimit: 1_048_576, return503OnClosing: true });
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  const lenient = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : lenient).compile(schema));
  app.setSchemaErrorFormatter((errors, dataVar) => new HttpError(400, describeSchemaError(errors[0]!, dataVar)));
  // Only JSON bodies: a cross-site form or text/plain request cannot reach the API.
  app.removeContentTypeParser('text/plain');

  const secrets = () => session.secrets();
  app.setErrorHandler((caught: unknown, _request, reply) => {
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
      message = 'the request body is too large (limit 1 MB)';
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
    for (const secret of secrets()) message = message.split(secret).join('***');
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
    if (!request.url.startsWith('/api')) return;
    if (token) {
      const header = request.headers.authorization;
      const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : request.headers['x-openorchestrator-token'];
      if (typeof given !== 'string' || !sameSecret(given, token)) {
        return reply.code(401).send({ error: 'this server needs its access token: send "Authorization: Bearer <token>" (the token is in the URL the server printed)' });
      }
    }
    const method = request.method;
    if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && request.headers['content-length'] !== '0' && request.headers['content-type'] !== undefined) {
      if (!/^application\/json\b/i.test(request.headers['content-type'])) {
        return reply.code(415).send({ error: 'send the request body as JSON (Content-Type: application/json)' });
      }
    }
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', reply.getHeader('cache-control') ?? 'no-store');
    return payload;
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'OpenOrchestrator API',
        version: '1',
        description:
          'The JSON API the Orchestrator web UI uses. Dates are naive local date-times (YYYY-MM-DDTHH:MM:SS). Errors are {"error": "<one line>"} with a 4xx status. When the server has a token, send it as "Authorization: Bearer <token>".',
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
