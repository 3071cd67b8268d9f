/**
 * The audit trail covers every route that changes something: each audited route, called once
 * through the real server on SQLite, PostgreSQL and MariaDB (token mode: the server's one
 * login), leaves exactly one row naming its action, the login and the row before and after;
 * a failed change leaves none; a new route without an entry stops the server from starting.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../src/crypto/fernet.js';
import { listAudit } from '../src/db/store/audit.js';
import { REQUEST_HEADER } from '../src/orchestrator/access.js';
import { AUDIT_TARGETS, snapshotJson } from '../src/orchestrator/audit-targets.js';
import { startOrchestrator, type RunningOrchestrator } from '../src/orchestrator/server.js';
import { installUnitOfWork } from '../src/orchestrator/unit-of-work.js';
import { openLiveStore, type LiveStore } from './browser/support.js';
import { LIVE_DIALECTS } from './helpers/databases.js';

const KEY = generateKey();

describe.each(LIVE_DIALECTS)('the audit trail on %s', (dialect) => {
  let live: LiveStore;
  let server: RunningOrchestrator;
  const call = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(new URL(url, server.baseUrl), {
      method,
      headers: { [REQUEST_HEADER]: '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  beforeAll(async () => {
    live = await openLiveStore(dialect);
    server = await startOrchestrator({ port: 0, connectionString: live.url, cryptoKey: KEY });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await live?.close();
  });

  it('every audited route leaves one row with its action, the login, and the row before and after', async () => {
    const done: string[] = [];
    const ok = async (route: string, url: string, body?: unknown) => {
      const [method] = route.split(' ');
      const reply = await call(method!, url, body);
      expect(reply.status, `${route}: ${JSON.stringify(reply.body)}`).toBeLessThan(300);
      done.push(route);
      return reply.body;
    };
    const trigger = { processName: 'p', processPath: 'robot.py' };
    const single = await ok('POST /api/triggers', '/api/triggers', { type: 'SINGLE', triggerName: 'audited', nextRun: '2031-01-01T07:00', ...trigger });
    const id = String(single.id);
    await ok('PUT /api/triggers/:id', `/api/triggers/${id}`, { type: 'SINGLE', triggerName: 'audited-2', nextRun: '2031-01-02T07:00', ...trigger });
    await ok('POST /api/triggers/:id/disable', `/api/triggers/${id}/disable`);
    await ok('POST /api/triggers/:id/enable', `/api/triggers/${id}/enable`);
    await ok('POST /api/triggers/:id/run-now', `/api/triggers/${id}/run-now`);
    await live.store.db.updateTable('Triggers').set({ process_status: 'RUNNING' }).execute();
    await ok('POST /api/triggers/:id/kill', `/api/triggers/${id}/kill`);
    await ok('DELETE /api/triggers/:id', `/api/triggers/${id}`);
    await ok('POST /api/constants', '/api/constants', { name: 'c', value: 'v1' });
    await ok('PUT /api/constants/:name', '/api/constants/c', { value: 'v2' });
    await ok('DELETE /api/constants/:name', '/api/constants/c');
    await ok('POST /api/credentials', '/api/credentials', { name: 'cred', username: 'u', password: 'Audit-Plain-Secret' });
    await ok('PUT /api/credentials/:name', '/api/credentials/cred', { username: 'u2', password: 'Audit-Plain-Secret' });
    await ok('DELETE /api/credentials/:name', '/api/credentials/cred');
    const element = await ok('POST /api/queues/:queueName/elements', '/api/queues/q/elements', { reference: 'r' });
    await ok('PATCH /api/queue-elements/:id', `/api/queue-elements/${String(element.id)}`, { status: 'FAILED', message: 'm' });
    await ok('POST /api/queue-elements/retry', '/api/queue-elements/retry', { ids: [element.id] });
    await ok('POST /api/queue-elements/retry-stale', '/api/queue-elements/retry-stale', { ids: [element.id] });
    await ok('DELETE /api/queue-elements/:id', `/api/queue-elements/${String(element.id)}`);
    await ok('POST /api/queues/:queueName/elements/bulk', '/api/queues/q/elements/bulk', { elements: [{ reference: 'b1' }, { reference: 'b2', data: 'x' }] });
    await ok('PUT /api/operations/retention', '/api/operations/retention', { scope: 'QUEUE_ELEMENTS', queueName: 'q', keepDays: 30 });
    await ok('DELETE /api/operations/retention', '/api/operations/retention?scope=QUEUE_ELEMENTS&queueName=q');
    const settings = { maxAttempts: 3, delayMode: 'FIXED', delaySeconds: 10 };
    await ok('POST /api/operations/queue-settings', '/api/operations/queue-settings', { queueName: 'q', ...settings });
    await ok('PUT /api/operations/queue-settings/:queueName', '/api/operations/queue-settings/q', { ...settings, maxAttempts: 4 });
    await ok('DELETE /api/operations/queue-settings/:queueName', '/api/operations/queue-settings/q');
    const channel = await ok('POST /api/operations/channels', '/api/operations/channels', {
      name: 'hook',
      kind: 'WEBHOOK',
      settings: { url: 'https://hooks.example/services/T0/B0/secret-path', template: 'json', body: null },
    });
    await ok('PUT /api/operations/channels/:id', `/api/operations/channels/${String(channel.id)}`, {
      name: 'hook-2',
      kind: 'WEBHOOK',
      settings: { url: 'https://hooks.example/services/T0/B0/secret-path', template: 'json', body: null },
    });
    const rule = await ok('POST /api/operations/rules', '/api/operations/rules', { name: 'r', kind: 'JOB_FAILED', channelIds: [channel.id] });
    await ok('PUT /api/operations/rules/:id', `/api/operations/rules/${String(rule.id)}`, { name: 'r2', kind: 'JOB_FAILED', channelIds: [channel.id] });
    await ok('DELETE /api/operations/rules/:id', `/api/operations/rules/${String(rule.id)}`);
    await ok('DELETE /api/operations/channels/:id', `/api/operations/channels/${String(channel.id)}`);

    const audited = Object.entries(AUDIT_TARGETS).filter(([, spec]) => spec.kind === 'audited');
    expect(new Set(done)).toEqual(new Set(audited.map(([route]) => route)));
    const rows = await listAudit(live.store, { limit: 1000 });
    const login = live.store.config.user ?? (await import('node:os')).userInfo().username;
    for (const [route, spec] of audited) {
      const action = (spec as { action: string }).action;
      expect(rows.filter((row) => row.action === action), route).toHaveLength(1);
    }
    expect(rows).toHaveLength(audited.length);
    for (const row of rows) expect(row.login).toBe(login);
    const of = (action: string) => rows.find((row) => row.action === action)!;
    expect(JSON.parse(of('trigger.update').before!)).toMatchObject({ triggerName: 'audited', nextRun: '2031-01-01 07:00:00' });
    expect(JSON.parse(of('trigger.update').after!)).toMatchObject({ triggerName: 'audited-2', nextRun: '2031-01-02 07:00:00' });
    expect(JSON.parse(of('trigger.kill').after!)).toMatchObject({ status: 'KILLING' });
    expect(of('trigger.delete').after).toBeNull();
    expect(of('trigger.create').before).toBeNull();
    expect(JSON.parse(of('queue-element.update').after!)).toMatchObject({ status: 'FAILED', message: 'm' });
    expect(JSON.parse(of('queue-element.retry').after!)).toEqual({ ids: [element.id], retried: 1 });
    expect(JSON.parse(of('queue-settings.update').after!)).toMatchObject({ maxAttempts: 4 });
    expect(JSON.parse(of('alert-channel.update').after!)).toMatchObject({ name: 'hook-2', settings: { url: 'https://hooks.example/***' } });
    expect(of('queue-element.bulk-create')).toMatchObject({ target: 'q' });
    expect(JSON.parse(of('queue-element.bulk-create').after!)).toEqual({ created: 2 });
    expect(of('retention.set')).toMatchObject({ target: 'QUEUE_ELEMENTS/q', before: null });
    expect(JSON.parse(of('retention.set').after!)).toMatchObject({ scope: 'QUEUE_ELEMENTS', queueName: 'q', keepDays: 30 });
    expect(JSON.parse(of('retention.delete').before!)).toMatchObject({ keepDays: 30 });
    expect(of('retention.delete').after).toBeNull();
    const text = JSON.stringify(rows);
    expect(text).not.toContain('Audit-Plain-Secret');
    expect(text).not.toContain('secret-path');
    expect(text).not.toContain(KEY);

    // Create and run now is one request: one row, the trigger already due in its "after".
    const ran = await call('POST', '/api/triggers', { type: 'SINGLE', triggerName: 'run-at-once', runNow: true, ...trigger });
    expect(ran.status, JSON.stringify(ran.body)).toBe(201);
    const created = (await listAudit(live.store, { limit: 1000 })).filter((row) => row.action === 'trigger.create' && row.target === ran.body.id);
    expect(created).toHaveLength(1);
    expect(JSON.parse(created[0]!.after!)).toMatchObject({ triggerName: 'run-at-once', status: 'IDLE' });

    // A failed change (a name taken, a missing row) leaves no row.
    expect((await call('POST', '/api/constants', { name: 'dup', value: 'x' })).status).toBe(201);
    const before = (await listAudit(live.store, { limit: 1000 })).length;
    expect((await call('POST', '/api/constants', { name: 'dup', value: 'y' })).status).toBe(400);
    expect((await call('PUT', '/api/constants/missing', { value: 'y' })).status).toBe(404);
    expect((await listAudit(live.store, { limit: 1000 })).length).toBe(before);
  });

  it('the audit view lists, counts and filters the trail', async () => {
    const all = (await call('GET', '/api/audit?limit=5')).body as { items: { changedAt: string; action: string }[]; total: number };
    expect(all.items).toHaveLength(5);
    expect(all.total).toBeGreaterThan(5);
    expect(all.items[0]!.changedAt >= all.items[4]!.changedAt).toBe(true);
    const constants = (await call('GET', '/api/audit?action=constant')).body as { items: { action: string }[] };
    expect(constants.items.length).toBeGreaterThan(0);
    expect(constants.items.every((item) => item.action.startsWith('constant.'))).toBe(true);
    const choices = (await call('GET', '/api/audit/choices')).body as { logins: string[]; actions: string[] };
    expect(choices.actions).toContain('trigger.create');
    expect((await call('GET', '/api/audit?from=2031-13-01T00:00')).status).toBe(400);
  });
});

describe('audit targets', () => {
  it('a route that changes something without an entry stops the server from starting', async () => {
    const app = Fastify();
    installUnitOfWork(app);
    expect(() => app.post('/api/new-thing', async () => ({}))).toThrow(/POST \/api\/new-thing changes data but has no entry in AUDIT_TARGETS/);
    await app.close();
  });

  it('snapshots mask secret fields and URL paths, and write dates as naive local text', () => {
    expect(snapshotJson({ password: 'p', apiKey: 'k', token: 't', url: 'https://h.example/a/b?c=d', at: new Date(2026, 0, 2, 3, 4, 5) })).toBe(
      '{"password":"***","apiKey":"***","token":"***","url":"https://h.example/***","at":"2026-01-02 03:04:05"}',
    );
    expect(snapshotJson(undefined)).toBeNull();
  });
});
