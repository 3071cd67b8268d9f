/**
 * The Orchestrator's HTTP server on a real socket, spoken to in raw HTTP (node:net) so that no
 * client tidies the request line: every spelling of an API path the router resolves meets the
 * token check; state changes need the app's own header and origin; slow clients are cut off;
 * API answers carry nosniff and a CSP; a malformed path is a clear 400.
 */
import { connect } from 'node:net';
import { request } from './helpers/raw-http.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_HEADER } from '../src/orchestrator/access.js';
import { startOrchestrator, type RunningOrchestrator } from '../src/orchestrator/server.js';
import { createTrigger, getTrigger } from '../src/db/store/triggers.js';
import { listConstants } from '../src/db/store/constants.js';
import { generateKey } from '../src/crypto/fernet.js';
import { countRows, openLiveStore, type LiveStore } from './browser/support.js';

const TOKEN = 'security-test-token-5f3a';
const KEY = generateKey();
const MARKER = 'nightly-invoices-marker';

/** Resolves with the milliseconds from `start` until the server closes the socket. */
function closedAfter(socket: ReturnType<typeof connect>, start: number): Promise<number> {
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - start));
  });
}

const portOf = (server: RunningOrchestrator): number => Number(new URL(server.baseUrl).port);
const bearer = { authorization: `Bearer ${TOKEN}` };
const app = { [REQUEST_HEADER]: '1' };

describe('Orchestrator HTTP server: token on every spelling of a path', () => {
  let live: LiveStore;
  let server: RunningOrchestrator;
  let port: number;
  let triggerId: string;

  beforeAll(async () => {
    live = await openLiveStore('sqlite');
    triggerId = await createTrigger(live.store, { type: 'SINGLE', triggerName: MARKER, processName: 'p', processPath: 'robot.py', nextRun: new Date(Date.now() + 86_400_000) });
    server = await startOrchestrator({ host: '127.0.0.1', port: 0, token: TOKEN, connectionString: live.url, cryptoKey: KEY });
    port = portOf(server);
  });
  afterAll(async () => {
    await server?.close();
    await live?.close();
  });

  // Spellings the router resolves to GET /api/triggers: each must be refused without the token.
  const routed = (p: number) => ['/api/triggers', '/%61pi/triggers', '/%61%70%69/%74riggers', '/api/%74riggers', '/api/triggers?x=1', `http://127.0.0.1:${p}/api/triggers`, `http://elsewhere.example/api/triggers`];
  // Spellings the router does not resolve to the API: they may reach the UI files or a 404, never data.
  const other = ['/%2561pi/triggers', '/API/triggers', '//api/triggers', '/./api/triggers', '/x/../api/triggers', '/api/triggers/', '/api//triggers', '/api/triggers%2F', '/api/triggers;x', '/api/triggers%00'];

  it('refuses every spelling of an API path without the token, and answers it with the token', async () => {
    for (const target of routed(port)) {
      const anonymous = await request(port, 'GET', target);
      expect(anonymous.status, `GET ${target}: ${anonymous.body.slice(0, 300)}`).toBe(401);
      expect(anonymous.body).not.toContain(MARKER);
      expect(JSON.parse(anonymous.body)).toEqual({ error: expect.stringMatching(/access token/) });
      const allowed = await request(port, 'GET', target, bearer);
      expect(allowed.status, `GET ${target} with the token: ${allowed.body}`).toBe(200);
      expect(allowed.body).toContain(MARKER);
    }
  });

  it('never answers data to other spellings without the token', async () => {
    for (const target of other) {
      const anonymous = await request(port, 'GET', target);
      expect(anonymous.body, `GET ${target}`).not.toContain(MARKER);
      expect([200, 401, 404], `GET ${target}: ${anonymous.status} ${anonymous.body.slice(0, 200)}`).toContain(anonymous.status);
      if (anonymous.status === 200) expect(anonymous.headers['content-type'], `GET ${target}`).toMatch(/^text\/html/);
    }
  });

  it('serves the UI files without the token (the page reads the token from its URL)', async () => {
    for (const method of ['GET', 'HEAD']) {
      const page = await request(port, method, '/');
      expect(page.status, `${method} /`).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    }
  });

  it('needs the token for the OpenAPI description, unknown routes and OPTIONS', async () => {
    for (const [method, target] of [
      ['GET', '/api/openapi.json'],
      ['GET', '/%61pi/openapi.json'],
      ['POST', '/nothing-here'],
      ['OPTIONS', '/api/triggers'],
      ['HEAD', '/%61pi/triggers'],
      ['PUT', '/'],
    ] as const) {
      const reply = await request(port, method, target, app);
      expect(reply.status, `${method} ${target}: ${reply.body.slice(0, 300)}`).toBe(401);
      expect(reply.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('refuses a trigger posted through an encoded path without the token, and stores it with the token', async () => {
    const before = await countRows(live.store, 'Triggers');
    const body = JSON.stringify({ type: 'SINGLE', triggerName: 'posted-encoded', processName: 'p', processPath: 'robot.py', nextRun: '2031-01-01T07:00' });
    const json = { 'content-type': 'application/json', ...app };
    for (const target of ['/%61pi/triggers', `http://127.0.0.1:${port}/api/triggers`, '/api/%74riggers']) {
      const refused = await request(port, 'POST', target, json, body);
      expect(refused.status, `POST ${target}: ${refused.body.slice(0, 300)}`).toBe(401);
    }
    expect(await countRows(live.store, 'Triggers')).toBe(before);
    const stored = await request(port, 'POST', '/%61pi/triggers', { ...json, ...bearer }, body);
    expect(stored.status, stored.body).toBe(201);
    expect(await countRows(live.store, 'Triggers')).toBe(before + 1);
  });

  it('refuses a state change without the app header, from a foreign origin or cross-site, even with the token', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ ...bearer }, /X-OpenOrchestrator-Request/],
      [{ ...bearer, ...app, origin: 'http://evil.example' }, /origin/i],
      [{ ...bearer, ...app, origin: `http://127.0.0.1:${port + 1}` }, /origin/i],
      [{ ...bearer, ...app, origin: 'null' }, /origin/i],
      [{ ...bearer, ...app, 'sec-fetch-site': 'cross-site' }, /another site/],
      [{ ...bearer, ...app, 'sec-fetch-site': 'same-site' }, /another site/],
    ];
    for (const [headers, message] of cases) {
      for (const [method, target] of [
        ['POST', `/api/triggers/${triggerId}/disable`],
        ['POST', `/%61pi/triggers/${triggerId}/disable`],
        ['DELETE', `/api/triggers/${triggerId}`],
      ] as const) {
        const reply = await request(port, method, target, headers);
        expect(reply.status, `${method} ${target} ${JSON.stringify(headers)}: ${reply.body}`).toBe(403);
        const parsed = JSON.parse(reply.body) as { error: string };
        expect(Object.keys(parsed)).toEqual(['error']);
        expect(parsed.error).toMatch(message);
        expect(parsed.error).not.toContain('\n');
      }
    }
    expect((await getTrigger(live.store, triggerId)).status).toBe('IDLE');
    const own = await request(port, 'POST', `/api/triggers/${triggerId}/disable`, { ...bearer, ...app, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' });
    expect(own.status, own.body).toBe(200);
    expect((await getTrigger(live.store, triggerId)).status).toBe('PAUSED');
  });

  it('sends nosniff and a CSP on API answers, refusals and not-found alike', async () => {
    for (const [target, headers, status] of [
      ['/api/settings', bearer, 200],
      ['/api/settings', {}, 401],
      ['/api/nothing', bearer, 404],
    ] as const) {
      const reply = await request(port, 'GET', target, headers);
      expect(reply.status, target).toBe(status);
      expect(reply.headers['x-content-type-options'], target).toBe('nosniff');
      expect(reply.headers['content-security-policy'], target).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    }
  });

  it('answers a malformed percent-encoding with a clear 400, and a doubly encoded one without an error', async () => {
    for (const target of ['/%E0%A4%A', '/api/%E0%A4%A', '/assets/%ZZ']) {
      const reply = await request(port, 'GET', target);
      expect(reply.status, `${target}: ${reply.body}`).toBe(400);
      const parsed = JSON.parse(reply.body) as { error: string };
      expect(Object.keys(parsed)).toEqual(['error']);
      expect(parsed.error).toMatch(/percent-encoding/);
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
    }
    const doubled = await request(port, 'GET', '/%25E0%25A4%25A');
    expect(doubled.status, doubled.body).toBeLessThan(500);
  });
});

describe('Orchestrator HTTP server on loopback without a token', () => {
  let live: LiveStore;
  let server: RunningOrchestrator;
  let port: number;

  beforeAll(async () => {
    live = await openLiveStore('sqlite');
    server = await startOrchestrator({ port: 0, connectionString: live.url, cryptoKey: KEY, timeouts: { headersMs: 600, requestMs: 1_200 } });
    port = portOf(server);
  });
  afterAll(async () => {
    await server?.close();
    await live?.close();
  });

  it('refuses a body-less state change without the app header (the cross-site no-cors POST)', async () => {
    for (const target of ['/api/settings/disconnect', '/api/settings/generate-key', '/api/settings/upgrade']) {
      const reply = await request(port, 'POST', target, { origin: 'http://127.0.0.1:9' });
      expect(reply.status, `${target}: ${reply.body}`).toBe(403);
      const bare = await request(port, 'POST', target);
      expect(bare.status, `${target}: ${bare.body}`).toBe(403);
      expect(JSON.parse(bare.body)).toEqual({ error: expect.stringMatching(/X-OpenOrchestrator-Request: 1/) });
    }
    const status = await request(port, 'GET', '/api/settings');
    expect(JSON.parse(status.body)).toMatchObject({ connected: true });
    const key = await request(port, 'POST', '/api/settings/generate-key', app);
    expect(key.status, key.body).toBe(200);
  });

  it('cuts off a client that sends its headers slowly', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const start = Date.now();
    const closed = closedAfter(socket, start);
    socket.write(`GET /api/settings HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    // A header line every 100 ms keeps the socket busy, so only the headers timeout can end it.
    const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 100);
    try {
      const elapsed = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), 15_000))]);
      expect(elapsed).toBeGreaterThanOrEqual(500);
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  }, 20_000);

  it('cuts off a client that sends its body slowly, and stores nothing', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const start = Date.now();
    const closed = closedAfter(socket, start);
    const body = JSON.stringify({ name: 'slow-constant', value: 'x'.repeat(400) });
    socket.write(
      `POST /api/constants HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${REQUEST_HEADER}: 1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    let sent = 0;
    const drip = setInterval(() => socket.writable && sent < body.length - 1 && socket.write(body[sent++]!), 100);
    try {
      const elapsed = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), 15_000))]);
      expect(elapsed).toBeGreaterThanOrEqual(1_000);
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    expect((await listConstants(live.store)).map((c) => c.name)).not.toContain('slow-constant');
  }, 20_000);
});
