/**
 * The Orchestrator's JSON API against a real SQLite database (and PostgreSQL for the round
 * trips): bad input of every kind is a 4xx with one clear line and leaves the database as it
 * was; passwords never leave the server; the token is enforced beyond loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { REQUEST_HEADER, buildOrchestrator } from '../src/orchestrator/server.js';
import { openStore, closeStore, type Store } from '../src/db/open.js';
import { getCredential } from '../src/db/store/credentials.js';
import { createLog } from '../src/db/store/logs.js';
import { endJob, startJob } from '../src/db/store/jobs.js';
import { setClock } from '../src/time/clock.js';
import { bulkCreateQueueElements, searchQueueElements, setQueueElementStatus } from '../src/db/store/queues.js';
import { decryptString, generateKey } from '../src/crypto/fernet.js';
import { TABLES, countRows, openLiveStore as openTestStore, type LiveStore as TestStore } from './browser/support.js';


async function snapshot(store: Store): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) out[table] = await countRows(store, table);
  return out;
}

interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: string };
  raw: string;
}

function client(app: FastifyInstance, headers: Record<string, string> = {}) {
  return async (method: string, url: string, payload?: unknown, extra: Record<string, string> = {}): Promise<Reply> => {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', ...(payload !== undefined && typeof payload !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers, ...extra },
      payload: payload === undefined ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    let body: Reply['body'] = {};
    try {
      body = JSON.parse(res.body) as Reply['body'];
    } catch {
      body = {};
    }
    return { status: res.statusCode, body, raw: res.body };
  };
}

const KEY = generateKey();
const SECRET_PASSWORD = 'Sup3r-Secret-Pässword!';

describe('Orchestrator API on SQLite', () => {
  let live: TestStore;
  let app: FastifyInstance;
  let call: ReturnType<typeof client>;
  const responses: string[] = [];

  beforeAll(async () => {
    live = await openTestStore('sqlite');
    ({ app } = await buildOrchestrator({ connectionString: live.url, cryptoKey: KEY }));
    const raw = client(app);
    call = async (...args) => {
      const reply = await raw(...args);
      responses.push(reply.raw);
      return reply;
    };
  });
  afterAll(async () => {
    await app?.close();
    await live?.close();
  });

  it('reports the connection without secrets, and serves its OpenAPI description', async () => {
    const status = await call('GET', '/api/settings');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ connected: true, dialect: 'sqlite', needsUpgrade: false, hasKey: true });
    const openapi = await call('GET', '/api/openapi.json');
    expect(openapi.status).toBe(200);
    const paths = Object.keys((openapi.body as { paths: Record<string, unknown> }).paths);
    for (const path of ['/api/triggers', '/api/logs', '/api/queues/{queueName}/elements', '/api/credentials', '/api/jobs', '/api/schedulers']) expect(paths).toContain(path);
  });

  it('creates each trigger type and moves it through enable / disable / kill / delete', async () => {
    const base = { triggerName: 'api single', processName: 'proc', processPath: 'robot.py' };
    const single = await call('POST', '/api/triggers', { ...base, type: 'SINGLE', nextRun: '2030-01-02T03:04' });
    expect(single.status).toBe(201);
    expect(single.body).toMatchObject({ type: 'SINGLE', status: 'IDLE', nextRun: '2030-01-02T03:04:00', isBlocking: true });
    const scheduled = await call('POST', '/api/triggers', { ...base, triggerName: 'api cron', type: 'SCHEDULED', cronExpr: '@daily', schedulerWhitelist: ['PC1', 'PC2'], priority: 5 });
    expect(scheduled.status).toBe(201);
    expect(scheduled.body).toMatchObject({ cronExpr: '0 0 * * *', schedulerWhitelist: ['PC1', 'PC2'], priority: 5 });
    const queue = await call('POST', '/api/triggers', { ...base, triggerName: 'api queue', type: 'QUEUE', queueName: 'invoices', minBatchSize: 3, isGitRepo: true, gitBranch: 'main' });
    expect(queue.status).toBe(201);
    expect(queue.body).toMatchObject({ queueName: 'invoices', minBatchSize: 3, isGitRepo: true, gitBranch: 'main' });
    const id = single.body.id as string;
    expect((await call('POST', `/api/triggers/${id}/disable`)).body.status).toBe('PAUSED');
    expect((await call('POST', `/api/triggers/${id}/enable`)).body.status).toBe('IDLE');
    const kill = await call('POST', `/api/triggers/${id}/kill`);
    expect(kill.status).toBe(409);
    expect(kill.body.error).toMatch(/cannot kill trigger "api single": it is Idle; only a trigger that is Running/);
    await live.store.db.updateTable('Triggers').set({ process_status: 'RUNNING' }).execute();
    expect((await call('POST', `/api/triggers/${id}/kill`)).body.status).toBe('KILLING');
    expect((await call('POST', `/api/triggers/${queue.body.id as string}/disable`)).body.status).toBe('PAUSING');
    const edited = await call('PUT', `/api/triggers/${scheduled.body.id as string}`, { ...base, triggerName: 'api cron 2', type: 'SCHEDULED', cronExpr: '*/5 * * * *' });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ triggerName: 'api cron 2', cronExpr: '*/5 * * * *' });
    const list = await call('GET', '/api/triggers?search=cron');
    expect((list.body.items as unknown[]).length).toBe(1);
    for (const t of [single, scheduled, queue]) expect((await call('DELETE', `/api/triggers/${t.body.id as string}`)).status).toBe(200);
    expect(await countRows(live.store, 'Triggers')).toBe(0);
    expect(await countRows(live.store, 'Queue_Triggers')).toBe(0);
  });

  it('runs each trigger type now; refuses a Running or Paused one (409) and an unknown one (404) with one line', async () => {
    const base = { processName: 'proc', processPath: 'robot.py' };
    const single = (await call('POST', '/api/triggers', { ...base, triggerName: 'now single', type: 'SINGLE', nextRun: '2040-01-02T03:04' })).body;
    const scheduled = (await call('POST', '/api/triggers', { ...base, triggerName: 'now cron', type: 'SCHEDULED', cronExpr: '0 3 1 1 *' })).body;
    const queue = (await call('POST', '/api/triggers', { ...base, triggerName: 'now queue', type: 'QUEUE', queueName: 'now-q', minBatchSize: 50 })).body;
    const before = Date.now() - 1000;
    await live.store.db.updateTable('Triggers').set({ process_status: 'FAILED' }).where('trigger_name', '=', 'now single').execute();
    for (const t of [single, scheduled]) {
      const ran = await call('POST', `/api/triggers/${t.id as string}/run-now`);
      expect(ran.status).toBe(200);
      expect(ran.body).toMatchObject({ status: 'IDLE', runRequested: false });
      const due = new Date(ran.body.nextRun as string).getTime();
      expect(due).toBeGreaterThanOrEqual(before);
      expect(due).toBeLessThanOrEqual(Date.now());
    }
    const ranQueue = await call('POST', `/api/triggers/${queue.id as string}/run-now`);
    expect(ranQueue.body).toMatchObject({ status: 'IDLE', runRequested: true, nextRun: null });
    expect((await call('GET', `/api/triggers/${queue.id as string}`)).body.runRequested).toBe(true);
    const requests = await live.store.db.selectFrom('oo_run_requests').selectAll().execute();
    expect(requests.map((r) => live.store.dialect.decodeUuid(r.trigger_id))).toEqual([queue.id]);

    await live.store.db.updateTable('Triggers').set({ process_status: 'RUNNING' }).where('trigger_name', '=', 'now cron').execute();
    const refused = await call('POST', `/api/triggers/${scheduled.id as string}/run-now`);
    expect(refused).toMatchObject({ status: 409, body: { error: 'cannot run trigger "now cron" now: it is Running; wait until it ends (only a trigger that is Idle, Done, Failed or Killed can run now)' } });
    expect((await call('GET', `/api/triggers/${scheduled.id as string}`)).body.status).toBe('RUNNING');
    await call('POST', `/api/triggers/${single.id as string}/disable`);
    expect((await call('POST', `/api/triggers/${single.id as string}/run-now`)).body.error).toBe('cannot run trigger "now single" now: it is Paused; enable it first');
    const unknown = await call('POST', '/api/triggers/00000000-0000-4000-8000-000000000000/run-now');
    expect(unknown).toMatchObject({ status: 404, body: { error: 'no trigger with id 00000000-0000-4000-8000-000000000000' } });
    expect((await call('POST', '/api/triggers/not-a-uuid/run-now')).status).toBe(400);
    for (const t of [single, scheduled, queue]) await call('DELETE', `/api/triggers/${t.id as string}`);
    await live.store.db.deleteFrom('oo_run_requests').execute();
  });

  it('tells why a Failed trigger failed: the last Error log of its latest job', async () => {
    const made = (await call('POST', '/api/triggers', { processName: 'failing-proc', processPath: 'robot.py', triggerName: 'failing', type: 'SINGLE', nextRun: '2040-01-02T03:04' })).body;
    const id = made.id as string;
    const job = await startJob(live.store, { processName: 'failing-proc', schedulerName: 'PC1', triggerId: id });
    // a second apart, so the order of the logs is their time's
    let second = 0;
    const restore = setClock(() => new Date(2030, 0, 1, 12, 0, second++));
    try {
      await createLog(live.store, { level: 'ERROR', processName: 'failing-proc', message: 'first problem', jobId: job });
      await createLog(live.store, { level: 'ERROR', processName: 'failing-proc', message: 'the ERP refused the login', jobId: job });
      await createLog(live.store, { level: 'INFO', processName: 'failing-proc', message: 'cleaning up', jobId: job });
    } finally {
      restore();
    }
    await endJob(live.store, job, 'FAILED');
    expect((await call('GET', `/api/triggers/${id}`)).body.failure).toBeNull();
    await live.store.db.updateTable('Triggers').set({ process_status: 'FAILED' }).where('trigger_name', '=', 'failing').execute();
    const listed = ((await call('GET', '/api/triggers?search=failing')).body.items as Record<string, unknown>[])[0]!;
    expect(listed.failure).toMatchObject({ message: 'the ERP refused the login', jobId: job });
    expect((await call('GET', `/api/triggers/${id}`)).body.failure).toMatchObject({ message: 'the ERP refused the login', logTime: '2030-01-01T12:00:01', jobId: job });
    await call('DELETE', `/api/triggers/${id}`);
    // the later tests count logs and jobs
    await live.store.db.deleteFrom('Logs').where('process_name', '=', 'failing-proc').execute();
    await live.store.db.deleteFrom('Jobs').where('process_name', '=', 'failing-proc').execute();
  });

  it('describes cron expressions with their next runs', async () => {
    const ok = await call('GET', `/api/cron?expr=${encodeURIComponent('0 7 * * 1-5')}`);
    expect(ok.status).toBe(200);
    expect(ok.body.description).toMatch(/07:00/);
    expect(ok.body.nextRuns).toHaveLength(5);
    const bad = await call('GET', `/api/cron?expr=${encodeURIComponent('61 * * * *')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/cron/i);
  });

  it('keeps credential passwords out of every response, stores a Fernet token the robot API decrypts', async () => {
    const created = await call('POST', '/api/credentials', { name: 'erp', username: 'robot', password: SECRET_PASSWORD });
    expect(created.status).toBe(201);
    const list = await call('GET', '/api/credentials');
    expect(list.status).toBe(200);
    const [row] = list.body as unknown as { name: string; sizeText: string; readable: boolean }[];
    expect(row).toMatchObject({ name: 'erp', readable: true });
    expect(row!.sizeText).toMatch(/^\d+ encrypted bytes\. \d+-\d+ decrypted bytes\.$/);
    const stored = await live.store.db.selectFrom('Credentials').select('password').executeTakeFirstOrThrow();
    expect(stored.password).toMatch(/^gAAAAA/);
    expect(decryptString(KEY, stored.password)).toBe(SECRET_PASSWORD);
    expect((await getCredential(live.store, KEY, 'erp')).password).toBe(SECRET_PASSWORD);
    expect((await call('PUT', '/api/credentials/erp', { username: 'robot2', password: `${SECRET_PASSWORD}2` })).status).toBe(200);
    // one encrypted with another key is flagged, not a crash
    await live.store.db.insertInto('Credentials').values({ name: 'foreign', username: 'x', password: (await import('../src/crypto/fernet.js')).encrypt(generateKey(), 'pw'), changed_at: '2024-01-01 00:00:00.000000' }).execute();
    const flagged = (await call('GET', '/api/credentials')).body as unknown as { name: string; readable: boolean }[];
    expect(flagged.find((c) => c.name === 'foreign')?.readable).toBe(false);
    const dup = await call('POST', '/api/credentials', { name: 'erp', username: 'robot', password: 'x' });
    expect(dup.status).toBe(400);
    expect(dup.body.error).toMatch(/already exists/);
    expect(responses.join('\n')).not.toContain(SECRET_PASSWORD);
    expect(responses.join('\n')).not.toContain(KEY);
  });

  it('round-trips constants with unique names', async () => {
    expect((await call('POST', '/api/constants', { name: 'url', value: 'https://example.org' })).status).toBe(201);
    const dup = await call('POST', '/api/constants', { name: 'url', value: 'x' });
    expect(dup.status).toBe(400);
    expect(dup.body.error).toMatch(/a constant named "url" already exists/);
    expect((await call('PUT', '/api/constants/url', { value: 'https://example.com' })).status).toBe(200);
    expect(((await call('GET', '/api/constants')).body as unknown as { value: string }[])[0]!.value).toBe('https://example.com');
    expect((await call('DELETE', '/api/constants/url')).status).toBe(200);
    expect((await call('DELETE', '/api/constants/url')).status).toBe(404);
  });

  it('pages, filters and counts logs on the server', async () => {
    for (let i = 0; i < 30; i++) await createLog(live.store, { level: i % 3 === 0 ? 'ERROR' : 'INFO', processName: i % 2 ? 'odd' : 'even', message: `message ${i}` });
    const page = await call('GET', '/api/logs?limit=10&offset=10');
    expect(page.body).toMatchObject({ total: 30, offset: 10, limit: 10 });
    expect((page.body.items as unknown[]).length).toBe(10);
    const errors = await call('GET', '/api/logs?level=ERROR&processName=even');
    expect(errors.body.total).toBe(5);
    expect((await call('GET', '/api/logs/process-names')).body).toEqual(['even', 'odd']);
  });

  it('pages, sorts, searches and retries queue elements on the server', async () => {
    await bulkCreateQueueElements(
      live.store,
      'invoices',
      Array.from({ length: 120 }, (_, i) => ({ reference: `INV-${String(i).padStart(3, '0')}`, data: `{"amount": ${i}, "note": "50%_off"}` })),
    );
    const first = await call('GET', '/api/queues/invoices/elements?limit=25&sort=reference&order=asc');
    expect(first.body.total).toBe(120);
    expect((first.body.items as { reference: string }[])[0]!.reference).toBe('INV-000');
    const searched = await call('GET', `/api/queues/invoices/elements?search=${encodeURIComponent('inv-11')}`);
    expect(searched.body.total).toBe(10);
    // LIKE wildcards in the search text are literal
    expect((await call('GET', `/api/queues/invoices/elements?search=${encodeURIComponent('%_off')}`)).body.total).toBe(120);
    expect((await call('GET', `/api/queues/invoices/elements?search=${encodeURIComponent('x%')}`)).body.total).toBe(0);
    const [a, b] = await searchQueueElements(live.store, 'invoices', { sort: 'reference', order: 'asc', limit: 2 });
    await setQueueElementStatus(live.store, a!.id, 'FAILED', 'boom');
    await setQueueElementStatus(live.store, b!.id, 'DONE');
    const retried = await call('POST', '/api/queue-elements/retry', { ids: [a!.id, b!.id] });
    expect(retried.body).toEqual({ retried: 1 });
    const queues = await call('GET', '/api/queues');
    expect(queues.body).toEqual([{ queueName: 'invoices', counts: { NEW: 119, IN_PROGRESS: 0, DONE: 1, FAILED: 0, ABANDONED: 0 }, total: 120 }]);
    const patched = await call('PATCH', `/api/queue-elements/${a!.id}`, { status: 'DONE', message: 'by hand' });
    expect(patched.body).toMatchObject({ status: 'DONE', message: 'by hand' });
    const chart = await call('GET', '/api/queues/throughput?queueName=invoices&hours=24');
    expect((chart.body as unknown as { count: number }[]).reduce((s, x) => s + x.count, 0)).toBe(2);
  });

  describe('bad input: a 4xx with one clear line, the database unchanged', () => {
    const sqlish = `x'); DROP TABLE "Triggers"; --`;
    const base = { type: 'SINGLE', triggerName: 'ok', processName: 'p', processPath: 'r.py', nextRun: '2030-01-01T00:00' };
    const cases: [string, string, string, unknown, RegExp, number?][] = [
      ['malformed JSON', 'POST', '/api/triggers', '{"type": "SINGLE",', /not valid JSON/],
      ['empty JSON body', 'POST', '/api/constants', '', /empty|JSON/],
      ['a JSON array instead of an object', 'POST', '/api/constants', [1, 2], /must be object/],
      ['wrong type (number for text)', 'POST', '/api/triggers', { ...base, processName: 42 }, /processName must be string/],
      ['wrong type (text for number)', 'POST', '/api/triggers', { ...base, priority: '5' }, /priority must be integer/],
      ['wrong type (text for boolean)', 'POST', '/api/triggers', { ...base, isBlocking: 'yes' }, /isBlocking must be boolean/],
      ['unknown field', 'POST', '/api/triggers', { ...base, process_status: 'RUNNING' }, /unknown field "process_status"/],
      ['missing field', 'POST', '/api/triggers', { type: 'SINGLE', triggerName: 'x' }, /processName is required/],
      ['over-long trigger name', 'POST', '/api/triggers', { ...base, triggerName: 'x'.repeat(101) }, /triggerName is too long: the limit is 100/],
      ['over-long process path', 'POST', '/api/triggers', { ...base, processPath: 'x'.repeat(251) }, /processPath is too long: the limit is 250/],
      ['over-long arguments', 'POST', '/api/triggers', { ...base, processArgs: 'x'.repeat(1001) }, /processArgs is too long: the limit is 1000/],
      ['over-long emoji name (counted in characters)', 'POST', '/api/constants', { name: '😀'.repeat(101), value: '' }, /name is too long: the limit is 100/],
      ['over-long constant value', 'POST', '/api/constants', { name: 'c', value: 'v'.repeat(1001) }, /value is too long: the limit is 1000/],
      ['over-long queue element data', 'POST', '/api/queues/q/elements', { data: 'd'.repeat(2001) }, /data is too long: the limit is 2000/],
      ['unknown trigger type', 'POST', '/api/triggers', { ...base, type: 'HOURLY' }, /type must be one of SINGLE, SCHEDULED, QUEUE/],
      ['invalid cron', 'POST', '/api/triggers', { ...base, type: 'SCHEDULED', nextRun: undefined, cronExpr: '0 25 * * *' }, /cron expression/],
      ['SQL-ish cron', 'POST', '/api/triggers', { ...base, type: 'SCHEDULED', nextRun: undefined, cronExpr: sqlish }, /cron expression/],
      ['SQL-ish date', 'POST', '/api/triggers', { ...base, nextRun: sqlish }, /nextRun must be a date-time/],
      ['impossible date', 'POST', '/api/triggers', { ...base, nextRun: '2030-13-45T99:99' }, /nextRun must be a date-time/],
      ['field of another trigger type', 'POST', '/api/triggers', { ...base, queueName: 'q' }, /queueName does not apply to a SINGLE trigger/],
      ['single trigger without time', 'POST', '/api/triggers', { ...base, nextRun: undefined }, /nextRun is required/],
      ['priority out of range', 'POST', '/api/triggers', { ...base, priority: 2 ** 40 }, /priority must be at most/],
      ['batch size zero', 'POST', '/api/triggers', { ...base, type: 'QUEUE', nextRun: undefined, queueName: 'q', minBatchSize: 0 }, /minBatchSize must be at least 1/],
      ['unknown trigger id', 'POST', '/api/triggers/3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f/enable', undefined, /no trigger with id/, 404],
      ['SQL-ish trigger id', 'DELETE', `/api/triggers/${encodeURIComponent(sqlish)}`, undefined, /id must be UUID|id is not in the expected form/],
      ['unknown queue element id', 'PATCH', '/api/queue-elements/3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f', { status: 'DONE' }, /no queue element with id/, 404],
      ['SQL-ish queue status', 'PATCH', '/api/queue-elements/3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f', { status: sqlish }, /status must be one of NEW/],
      ['retry with SQL-ish id', 'POST', '/api/queue-elements/retry', { ids: [sqlish] }, /ids\.0 is not in the expected form/],
      ['SQL-ish sort column', 'GET', `/api/queues/invoices/elements?sort=${encodeURIComponent('created_date; DROP TABLE Queues')}`, undefined, /sort must be one of/],
      ['SQL-ish log level', 'GET', `/api/logs?level=${encodeURIComponent(sqlish)}`, undefined, /level must be one of TRACE, INFO, ERROR/],
      ['SQL-ish log date', 'GET', `/api/logs?from=${encodeURIComponent(sqlish)}`, undefined, /from must be a date-time/],
      ['negative page offset', 'GET', '/api/logs?offset=-1', undefined, /offset must be at least 0/],
      ['huge page', 'GET', '/api/logs?limit=100000', undefined, /limit must be at most 1000/],
      ['unknown constant', 'PUT', '/api/constants/nope', { value: 'x' }, /no constant named "nope"/, 404],
      ['unknown credential', 'DELETE', '/api/credentials/nope', undefined, /no credential named "nope"/, 404],
      ['over-long credential password', 'POST', '/api/credentials', { name: 'big', username: 'u', password: 'p'.repeat(601) }, /password is too long/],
      ['form-encoded body', 'POST', '/api/constants', 'name=a&value=b', /JSON/, 415],
      ['unknown route', 'GET', '/api/frobnicate', undefined, /no (API )?route GET \/api\/frobnicate/, 404],
      ['bad connection string', 'POST', '/api/settings/connect', { connectionString: 'postgresql//user:s3cretPW@host/db' }, /connection string/i],
      ['bad key', 'POST', '/api/settings/connect', { connectionString: 'sqlite://', cryptoKey: 'not-a-key' }, /not a valid key/],
    ];
    it.each(cases)('%s', async (_name, method, url, payload, pattern, status) => {
      const before = await snapshot(live.store);
      const extra: Record<string, string> = _name === 'form-encoded body' ? { 'content-type': 'application/x-www-form-urlencoded' } : _name === 'empty JSON body' || _name === 'malformed JSON' ? { 'content-type': 'application/json' } : {};
      const reply = await call(method, url, payload, extra);
      expect(reply.status, reply.raw).toBe(status ?? 400);
      expect(reply.body.error).toMatch(pattern);
      expect(reply.body.error).not.toContain('\n');
      expect(reply.raw).not.toContain('s3cretPW');
      expect(await snapshot(live.store)).toEqual(before);
      // a refused connect keeps the session as it was
      expect((await call('GET', '/api/settings')).body.connected).toBe(true);
    });

    it('SQL-ish text in free-text fields is stored verbatim, as data', async () => {
      const created = await call('POST', '/api/triggers', { ...base, triggerName: sqlish, processName: sqlish, processArgs: sqlish });
      expect(created.status).toBe(201);
      const listed = await call('GET', `/api/triggers?search=${encodeURIComponent(sqlish)}`);
      expect((listed.body.items as { triggerName: string }[])[0]!.triggerName).toBe(sqlish);
      expect((await call('POST', '/api/constants', { name: sqlish, value: sqlish })).status).toBe(201);
      expect((await call('DELETE', `/api/constants/${encodeURIComponent(sqlish)}`)).status).toBe(200);
      expect((await call('DELETE', `/api/triggers/${created.body.id as string}`)).status).toBe(200);
      expect(await countRows(live.store, 'Triggers')).toBe(0);
    });

    it('a name clash is refused with the name', async () => {
      expect((await call('POST', '/api/triggers', base)).status).toBe(201);
      const clash = await call('POST', '/api/triggers', base);
      expect(clash.status).toBe(400);
      expect(clash.body.error).toBe('a trigger named "ok" already exists; choose another name');
    });
  });
});

describe('Orchestrator API: connection and token', () => {
  it('beyond loopback it needs a token, and refuses every API call without it', async () => {
    await expect(buildOrchestrator({ host: '0.0.0.0' })).rejects.toThrow(/needs an access token/);
    const token = 'team-token-1234';
    const { app } = await buildOrchestrator({ host: '0.0.0.0', token });
    try {
      const anonymous = client(app, { host: 'orchestrator.example:8080' });
      for (const [method, url] of [
        ['GET', '/api/settings'],
        ['GET', '/api/openapi.json'],
        ['POST', '/api/settings/generate-key'],
        ['GET', '/api/triggers'],
        ['DELETE', '/api/constants/x'],
      ] as const) {
        const reply = await anonymous(method, url);
        expect(reply.status).toBe(401);
        expect(reply.body.error).toMatch(/access token/);
      }
      const wrong = await client(app, { host: 'orchestrator.example:8080', authorization: 'Bearer nope' })('GET', '/api/settings');
      expect(wrong.status).toBe(401);
      const right = await client(app, { host: 'orchestrator.example:8080', authorization: `Bearer ${token}` })('GET', '/api/settings');
      expect(right.status).toBe(200);
      expect(right.body.connected).toBe(false);
      const data = await client(app, { authorization: `Bearer ${token}` })('GET', '/api/triggers');
      expect(data.status).toBe(409);
      expect(data.body.error).toMatch(/not connected to a database/);
    } finally {
      await app.close();
    }
  });

  it('on loopback it refuses requests addressed to another host name (DNS rebinding)', async () => {
    const { app } = await buildOrchestrator({});
    try {
      const reply = await client(app, { host: 'evil.example' })('GET', '/api/settings');
      expect(reply.status).toBe(403);
    } finally {
      await app.close();
    }
  });

  it('masks the password of the connection string and refuses an unreachable database clearly', async () => {
    const live = await openTestStore('postgres');
    const { app } = await buildOrchestrator({});
    try {
      const call = client(app);
      const withPassword = live.url.replace('postgresql+psycopg2://postgres@', 'postgresql+psycopg2://postgres:hunter2pw@');
      const connected = await call('POST', '/api/settings/connect', { connectionString: withPassword, cryptoKey: KEY });
      // the test server trusts local logins, so the password is accepted and must be masked
      expect(connected.status, connected.raw).toBe(200);
      expect(connected.body.connectionString).toContain('postgres:***@');
      expect(connected.raw).not.toContain('hunter2pw');
      expect((await call('GET', '/api/settings')).raw).not.toContain('hunter2pw');
      const created = await call('POST', '/api/credentials', { name: 'pg', username: 'u', password: SECRET_PASSWORD });
      expect(created.status).toBe(201);
      const listed = await call('GET', '/api/credentials');
      expect(listed.raw).not.toContain(SECRET_PASSWORD);
      expect((await getCredential(live.store, KEY, 'pg')).password).toBe(SECRET_PASSWORD);
      const unreachable = await call('POST', '/api/settings/connect', { connectionString: 'postgresql://user:s3cretPW@127.0.0.1:1/db' });
      expect(unreachable.status).toBe(503);
      expect(unreachable.body.error).toMatch(/connection refused/);
      expect(unreachable.raw).not.toContain('s3cretPW');
    } finally {
      await app.close();
      await live.close();
    }
  });

  it('connects to an empty database, and Upgrade creates the schema', async () => {
    const { createTestDatabase } = await import('./helpers/databases.js');
    const database = await createTestDatabase('sqlite');
    const { app } = await buildOrchestrator({ connectionString: database.url });
    try {
      const call = client(app);
      expect((await call('GET', '/api/settings')).body).toMatchObject({ revision: 'empty', needsUpgrade: true });
      const blocked = await call('GET', '/api/triggers');
      expect(blocked.status).toBe(409);
      expect(blocked.body.error).toMatch(/Upgrade database/);
      const upgraded = await call('POST', '/api/settings/upgrade');
      expect(upgraded.status).toBe(200);
      expect((upgraded.body.steps as string[]).join('\n')).toContain('create table Triggers');
      expect((await call('GET', '/api/triggers')).status).toBe(200);
      const store = openStore(database.url);
      expect(await countRows(store, 'Triggers')).toBe(0);
      await closeStore(store);
    } finally {
      await app.close();
      await database.drop();
    }
  });
});
