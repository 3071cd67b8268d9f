/**
 * Operations on live SQLite, PostgreSQL and MariaDB: alert rules against a real SMTP server and
 * a real HTTP receiver (each incident notifies once when it opens and once when it clears),
 * two monitors that never send a notification twice, a failing channel retried with backoff
 * and its error visible through the API, queue retries under 8 concurrent robots and two
 * monitors, the visibility timeout, and a Python robot's claim (the exact SQL the Python
 * client issues, written below) on a queue with retry settings.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorConnection } from '../src/connection/orchestrator-connection.js';
import { generateKey } from '../src/crypto/fernet.js';
import { closeStore, openStore, type Store } from '../src/db/open.js';
import { createChannel, createRule, deleteChannel, deleteRule, listChannels, listNotifications, listRules, type AlertChannel } from '../src/db/store/alerts.js';
import { createCredential } from '../src/db/store/credentials.js';
import { endJob, startJob } from '../src/db/store/jobs.js';
import { createQueueElement, getNextQueueElement, getQueueElement, getQueueElements, setQueueElementStatus, updateQueueElement } from '../src/db/store/queues.js';
import { getElementAttempts, saveQueueSettings, type ElementEventKind } from '../src/db/store/retries.js';
import { heartbeat } from '../src/db/store/schedulers.js';
import { createTrigger, setNextRun } from '../src/db/store/triggers.js';
import { Monitor } from '../src/monitor/monitor.js';
import { buildOrchestrator } from '../src/orchestrator/server.js';
import { createConsoleLog } from '../src/scheduler/console-log.js';
import { formatNaive, setClock } from '../src/time/clock.js';
import { LIVE_DIALECTS, type LiveDialect } from './helpers/databases.js';
import { startHttpReceiver, startSmtpReceiver, waitUntil, type HttpReceiver, type SmtpReceiver } from './helpers/receivers.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const SMTP_USER = 'alerts';
const SMTP_PASSWORD = 'smtp-secret-42';
const quiet = createConsoleLog({ write: () => undefined });
const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000);

describe.each(LIVE_DIALECTS)('operations on %s', (dialect: LiveDialect) => {
  let live: TestStore;
  let store: Store;
  let smtp: SmtpReceiver;
  let http: HttpReceiver;
  const key = generateKey();
  const monitors: Monitor[] = [];

  const monitor = (name: string, options: { retryBaseSeconds?: number } = {}) => {
    const m = new Monitor({ connectionString: live.url, cryptoKey: key, name, intervalSeconds: 0.2, retryBaseSeconds: options.retryBaseSeconds ?? 1 }, quiet);
    monitors.push(m);
    return m;
  };

  const emailChannel = () =>
    createChannel(store, {
      name: 'ops mail',
      kind: 'EMAIL',
      settings: { host: '127.0.0.1', port: smtp.port, security: 'none', allowLoginWithoutTls: true, verifyCertificate: true, from: 'oo@example.test', to: ['ops@example.test'], credential: 'smtp-login' },
    });
  const webhook = (path: string, template: 'json' | 'teams' | 'slack' | 'custom' = 'json', body: string | null = null) =>
    createChannel(store, { name: `hook ${path}`, kind: 'WEBHOOK', settings: { url: `${http.url}${path}`, template, body } });

  beforeAll(async () => {
    live = await openTestStore(dialect);
    store = live.store;
    smtp = await startSmtpReceiver(SMTP_USER, SMTP_PASSWORD);
    http = await startHttpReceiver();
    await createCredential(store, key, 'smtp-login', SMTP_USER, SMTP_PASSWORD);
  });

  afterEach(async () => {
    for (const m of monitors.splice(0)) await m.close().catch(() => undefined);
    for (const rule of await listRules(store)) await deleteRule(store, rule.id);
    for (const channel of await listChannels(store)) await deleteChannel(store, channel.id);
  });

  afterAll(async () => {
    await smtp?.close();
    await http?.close();
    await live?.close();
  });

  it('each rule opens one incident and notifies once by e-mail and webhook, then once when it clears', async () => {
    const mail = await emailChannel();
    const hook = await webhook('/all');
    const teams = await webhook('/teams', 'teams');
    const slack = await webhook('/slack', 'slack');
    const custom = await webhook('/custom', 'custom', '{"summary": "{{event}}: {{subject}}", "rule": "{{rule}}"}');
    const both = [mail.id, hook.id];
    await createRule(store, { name: 'job failed', kind: 'JOB_FAILED', target: 'p-fail', threshold: null, channelIds: both });
    await createRule(store, { name: 'late', kind: 'TRIGGER_LATE', target: 'late-trigger', threshold: 5, channelIds: both });
    await createRule(store, { name: 'offline', kind: 'SCHEDULER_OFFLINE', target: 'PC-OFF', threshold: 5, channelIds: both });
    await createRule(store, { name: 'backlog', kind: 'QUEUE_BACKLOG', target: 'backlog-q', threshold: 2, channelIds: [...both, teams.id, slack.id, custom.id] });
    await createRule(store, { name: 'old new', kind: 'QUEUE_OLDEST_NEW', target: 'old-q', threshold: 5, channelIds: both });
    await createRule(store, { name: 'stale', kind: 'STALE_IN_PROGRESS', target: 'stale-q', threshold: null, channelIds: both });

    // Every condition at once.
    const failedJob = await startJob(store, { processName: 'p-fail', schedulerName: 'PC1' });
    await endJob(store, failedJob, 'FAILED');
    const lateTrigger = await createTrigger(store, { type: 'SINGLE', triggerName: 'late-trigger', processName: 'p-late', processPath: 'robot.py', nextRun: minutesAgo(10) });
    await store.db.insertInto('Schedulers').values({ machine_name: 'PC-OFF', last_update: store.dialect.encodeDate(minutesAgo(10)), latest_trigger: null, latest_trigger_time: null }).execute();
    for (let i = 0; i < 3; i++) await createQueueElement(store, 'backlog-q', { reference: `b${i}` });
    const old = await createQueueElement(store, 'old-q', { reference: 'old' });
    await updateQueueElement(store, old.id, { createdDate: minutesAgo(10) });
    const staleJob = await startJob(store, { processName: 'p-stale', schedulerName: 'PC1' });
    const staleElement = await createQueueElement(store, 'stale-q', { reference: 's' });
    await getNextQueueElement(store, 'stale-q');
    await endJob(store, staleJob, 'DONE');

    const m = monitor('rules-monitor');
    const first = await m.tick();
    // Six rules to mail and webhook, and the backlog rule to Teams, Slack and a custom body too.
    expect(first).toMatchObject({ opened: 6, cleared: 0, sent: 15, failed: 0 });
    const subjects = smtp.mails.map((mail) => mail.subject).sort();
    expect(subjects).toEqual(
      [
        '[OpenOrchestrator] Process "p-fail" failed',
        '[OpenOrchestrator] Trigger "late-trigger" is late',
        '[OpenOrchestrator] Scheduler "PC-OFF" is offline',
        '[OpenOrchestrator] Queue "backlog-q" has a backlog',
        '[OpenOrchestrator] Queue "old-q" has an old New element',
        '[OpenOrchestrator] Queue "stale-q" has stale In Progress elements',
      ].sort(),
    );
    expect(smtp.mails.every((mail) => mail.user === SMTP_USER && mail.to.join() === 'ops@example.test')).toBe(true);
    const opened = http.posts.filter((p) => p.path === '/all');
    expect(opened.map((p) => p.body.event)).toEqual(Array(6).fill('OPENED'));
    expect(new Set(opened.map((p) => (p.body.incident as { id: string }).id)).size).toBe(6);
    expect(http.posts.find((p) => p.path === '/teams')?.body).toMatchObject({ '@type': 'MessageCard', title: '[OpenOrchestrator] Queue "backlog-q" has a backlog' });
    expect(http.posts.find((p) => p.path === '/slack')?.body.text).toMatch(/^\*\[OpenOrchestrator\] Queue "backlog-q" has a backlog\*\nQueue "backlog-q" holds 3 New elements/);
    expect(http.posts.find((p) => p.path === '/custom')?.body).toEqual({ summary: 'OPENED: Queue "backlog-q" has a backlog', rule: 'backlog' });

    // Still firing: nothing new.
    expect(await m.tick()).toMatchObject({ opened: 0, cleared: 0, sent: 0 });
    expect(smtp.mails).toHaveLength(6);

    // Every condition ends.
    const okJob = await startJob(store, { processName: 'p-fail', schedulerName: 'PC1' });
    await endJob(store, okJob, 'DONE');
    await setNextRun(store, lateTrigger, 'SINGLE', new Date(Date.now() + 3600_000));
    await heartbeat(store, 'PC-OFF');
    await getNextQueueElement(store, 'backlog-q');
    await getNextQueueElement(store, 'old-q');
    await setQueueElementStatus(store, staleElement.id, 'DONE');

    expect(await m.tick()).toMatchObject({ opened: 0, cleared: 6, sent: 15 });
    const cleared = smtp.mails.slice(6).map((mail) => mail.subject);
    expect(cleared).toHaveLength(6);
    expect(cleared.every((s) => s.startsWith('[OpenOrchestrator] Cleared: '))).toBe(true);
    const clearedHooks = http.posts.filter((p) => p.path === '/all').slice(6);
    expect(clearedHooks.map((p) => p.body.event)).toEqual(Array(6).fill('CLEARED'));
    expect(new Set(clearedHooks.map((p) => (p.body.incident as { id: string }).id))).toEqual(new Set(opened.map((p) => (p.body.incident as { id: string }).id)));
    expect(await m.tick()).toMatchObject({ opened: 0, cleared: 0, sent: 0 });
    expect(smtp.mails).toHaveLength(12);

    // The same problem again is a new incident, notified again.
    await store.db.updateTable('Schedulers').set({ last_update: store.dialect.encodeDate(minutesAgo(10)) }).where('machine_name', '=', 'PC-OFF').execute();
    expect(await m.tick()).toMatchObject({ opened: 1, sent: 2 });
    expect(smtp.mails.at(-1)?.subject).toBe('[OpenOrchestrator] Scheduler "PC-OFF" is offline');
    smtp.mails.length = 0;
    http.posts.length = 0;
  });

  it('two monitors on one database send each notification exactly once', async () => {
    const hook = await webhook('/pair');
    const queues = ['pair-a', 'pair-b', 'pair-c', 'pair-d', 'pair-e'];
    for (const queue of queues) {
      await createRule(store, { name: `backlog ${queue}`, kind: 'QUEUE_BACKLOG', target: queue, threshold: 0, channelIds: [hook.id] });
      await createQueueElement(store, queue);
    }
    const [a, b] = [monitor('pair-1'), monitor('pair-2')];
    const posts = () => http.posts.filter((p) => p.path === '/pair');
    // Ticks started together race on every incident and every outbox row.
    await waitUntil(async () => {
      await Promise.all([a.tick(), b.tick()]);
      return posts().length >= queues.length;
    }, 'five OPENED notifications');
    for (const queue of queues) await getNextQueueElement(store, queue);
    await waitUntil(async () => {
      await Promise.all([a.tick(), b.tick()]);
      return posts().length >= 2 * queues.length;
    }, 'five CLEARED notifications');
    for (let i = 0; i < 3; i++) await Promise.all([a.tick(), b.tick()]);

    const seen = posts().map((p) => `${(p.body.incident as { id: string }).id} ${String(p.body.event)}`);
    expect(seen).toHaveLength(10);
    expect(new Set(seen).size).toBe(10);
    expect(seen.filter((s) => s.endsWith('OPENED'))).toHaveLength(5);
    const sent = await listNotifications(store, { status: 'SENT' });
    expect(sent.filter((n) => n.channelId === hook.id)).toHaveLength(10);
    expect(sent.filter((n) => n.channelId === hook.id).every((n) => n.tries === 1)).toBe(true);
  });

  it('a failing channel is retried with exponential backoff and its error is visible through the API', async () => {
    const { app, session } = await buildOrchestrator({ connectionString: live.url, cryptoKey: key });
    try {
      const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) => {
        const res = await app.inject({
          method,
          url,
          headers: { host: '127.0.0.1', 'x-openorchestrator-request': '1', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
          payload: payload === undefined ? undefined : JSON.stringify(payload),
        });
        return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> & { items?: Record<string, unknown>[]; error?: string } };
      };
      const channel = await call('POST', '/api/operations/channels', { name: 'flaky', kind: 'WEBHOOK', settings: { url: `${http.url}/flaky`, template: 'json' } });
      expect(channel.status).toBe(201);
      const bad = await call('POST', '/api/operations/rules', { name: 'x', kind: 'QUEUE_BACKLOG', channelIds: [channel.body.id] });
      expect(bad).toEqual({ status: 400, body: { error: 'a QUEUE_BACKLOG rule needs a threshold (New elements)' } });
      const rule = await call('POST', '/api/operations/rules', { name: 'flaky backlog', kind: 'QUEUE_BACKLOG', target: 'flaky-q', threshold: 0, channelIds: [channel.body.id] });
      expect(rule.status).toBe(201);
      await createQueueElement(store, 'flaky-q');
      http.failNext('/flaky', 2);

      const m = monitor('flaky-monitor', { retryBaseSeconds: 1 });
      expect(await m.tick()).toMatchObject({ opened: 1, sent: 0, failed: 1 });
      const pending = (await call('GET', '/api/operations/notifications?status=PENDING')).body.items!;
      expect(pending).toHaveLength(1);
      expect(pending[0]).toMatchObject({ tries: 1, lastError: 'webhook answered HTTP 500 Internal Server Error', event: 'OPENED' });
      const shown = (await call('GET', `/api/operations/channels/${String(channel.body.id)}`)).body;
      expect(shown).toMatchObject({ lastError: 'webhook answered HTTP 500 Internal Server Error', lastSentAt: null });
      expect(JSON.stringify(shown)).not.toContain(SMTP_PASSWORD);
      // Not due yet: a tick right away sends nothing.
      expect(await m.tick()).toMatchObject({ sent: 0, failed: 0 });
      expect(http.posts.filter((p) => p.path === '/flaky')).toHaveLength(1);

      await waitUntil(async () => (await m.tick()).sent === 1, 'the notification to get through');
      const tries = http.posts.filter((p) => p.path === '/flaky');
      expect(tries.map((p) => p.answered)).toEqual([500, 500, 200]);
      // Waits of 1 s, then 2 s.
      expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(1000);
      expect(tries[2]!.at - tries[1]!.at).toBeGreaterThanOrEqual(2000);
      const sent = (await call('GET', '/api/operations/notifications?status=SENT')).body.items!;
      expect(sent.filter((n) => n.channelId === channel.body.id)).toHaveLength(1);
      expect(sent.find((n) => n.channelId === channel.body.id)).toMatchObject({ tries: 3, lastError: 'webhook answered HTTP 500 Internal Server Error' });
      const after = (await call('GET', `/api/operations/channels/${String(channel.body.id)}`)).body;
      expect(after.lastError).toBe('webhook answered HTTP 500 Internal Server Error');
      expect(after.lastSentAt).not.toBeNull();
      const incidents = (await call('GET', `/api/operations/incidents?state=OPEN&ruleId=${String(rule.body.id)}`)).body.items!;
      expect(incidents).toHaveLength(1);
      expect(incidents[0]).toMatchObject({ key: 'queue:flaky-q', subject: 'Queue "flaky-q" has a backlog' });

      // A test message from the channel form: sent now, a failure answered in one line.
      http.failNext('/flaky', 1);
      expect(await call('POST', `/api/operations/channels/${String(channel.body.id)}/test`)).toEqual({ status: 502, body: { error: 'webhook answered HTTP 500 Internal Server Error' } });
      expect(await call('POST', `/api/operations/channels/${String(channel.body.id)}/test`)).toEqual({ status: 200, body: { sent: true } });
      expect(http.posts.at(-1)?.body.subject).toBe('Test message from OpenOrchestrator to channel "flaky"');
      const mail = await emailChannel();
      expect(await call('POST', `/api/operations/channels/${mail.id}/test`)).toEqual({ status: 200, body: { sent: true } });
      expect(smtp.mails.at(-1)).toMatchObject({ subject: '[OpenOrchestrator] Test message from OpenOrchestrator to channel "ops mail"', user: SMTP_USER });

      // Queue settings through the API.
      const put = await call('PUT', '/api/operations/queue-settings/api-q', { maxAttempts: 4, delayMode: 'EXPONENTIAL', delaySeconds: 10, maxDelaySeconds: 60 });
      expect(put).toMatchObject({ status: 200, body: { queueName: 'api-q', maxAttempts: 4, delayMode: 'EXPONENTIAL', maxDelaySeconds: 60, visibilityMinutes: null, visibilityAction: 'NEW' } });
      expect((await call('POST', '/api/operations/queue-settings', { queueName: 'api-q', maxAttempts: 1, delayMode: 'FIXED', delaySeconds: 0 })).status).toBe(409);
      expect((await call('PUT', '/api/operations/queue-settings/api-q', { maxAttempts: 0, delayMode: 'FIXED', delaySeconds: 0 })).body).toEqual({ error: 'maxAttempts must be at least 1' });
      expect((await call('GET', '/api/operations/queue-settings')).body.items!.map((s) => s.queueName)).toContain('api-q');
      expect((await call('DELETE', '/api/operations/queue-settings/api-q')).body).toEqual({ deleted: 'api-q' });
      expect((await call('GET', '/api/operations/queue-settings/api-q')).body).toEqual({ error: 'queue "api-q" has no retry settings' });
      expect((await call('DELETE', `/api/operations/rules/${String(rule.body.id)}`)).status).toBe(200);
    } finally {
      await app.close();
      await session.disconnect();
    }
  });

  it('retries obey max attempts and delay, business errors are never retried: 8 robots and 2 monitors', async () => {
    const QUEUE = 'retry-q';
    const DELAY_MS = 1000;
    await saveQueueSettings(store, { queueName: QUEUE, maxAttempts: 3, delayMode: 'FIXED', delaySeconds: DELAY_MS / 1000, maxDelaySeconds: null, visibilityMinutes: null });
    const kinds = ['ok', 'once', 'fail', 'status', 'python', 'business'] as const;
    const elements = new Map<string, (typeof kinds)[number]>();
    for (let i = 0; i < 8; i++) {
      for (const kind of kinds) elements.set((await createQueueElement(store, QUEUE, { reference: `${kind}-${i}`, data: kind })).id, kind);
    }
    const claims = new Map<string, number[]>();
    const failedAt = new Map<string, number[]>();
    let stop = false;
    const robots = Array.from({ length: 8 }, (_, i) => new OrchestratorConnection({ processName: `robot-${i}`, connectionString: live.url, cryptoKey: key }));
    const work = async (oc: OrchestratorConnection) => {
      while (!stop) {
        const element = await oc.getNextQueueElement(QUEUE);
        if (!element) {
          // The robot's own poll interval while elements wait for their retry.
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        const mine = [...(claims.get(element.id) ?? []), Date.now()];
        claims.set(element.id, mine);
        const kind = elements.get(element.id)!;
        const fail = async (call: () => Promise<unknown>) => {
          failedAt.set(element.id, [...(failedAt.get(element.id) ?? []), Date.now()]);
          await call();
        };
        if (kind === 'ok' || (kind === 'once' && mine.length > 1)) await oc.setQueueElementStatus(element.id, 'DONE');
        else if (kind === 'once' || kind === 'fail') await fail(() => oc.failQueueElement(element.id, `attempt ${mine.length} broke`));
        else if (kind === 'status') await fail(() => oc.setQueueElementStatus(element.id, 'FAILED', `attempt ${mine.length} broke`));
        // What a Python robot leaves: a Failed row and nothing else; the sweep counts it.
        else if (kind === 'python') await fail(() => oc.updateQueueElement(element.id, { status: 'FAILED', endDate: new Date(), message: 'python failure' }));
        else await oc.failQueueElement(element.id, 'customer unknown', { business: true });
      }
    };
    const [m1, m2] = [monitor('retry-1'), monitor('retry-2')];
    const runs = [m1.run(), m2.run()];
    const working = robots.map(work);
    const finished = async () => {
      const rows = await getQueueElements(store, QUEUE, { limit: 1000 });
      if (rows.some((row) => row.status === 'NEW' || row.status === 'IN_PROGRESS')) return false;
      const states = await store.db.selectFrom('oo_element_attempts').select(['element_id', 'state']).where('queue_name', '=', QUEUE).execute();
      const stateOf = new Map(states.map((s) => [store.dialect.decodeUuid(s.element_id), s.state]));
      return rows.every((row) => row.status === 'DONE' || stateOf.get(row.id) === 'EXHAUSTED' || stateOf.get(row.id) === 'BUSINESS');
    };
    try {
      await waitUntil(finished, 'every element Done or finally Failed', 120_000);
    } finally {
      stop = true;
      await Promise.all(working);
      m1.stop();
      m2.stop();
      await Promise.all(runs);
      monitors.splice(0);
      await Promise.all(robots.map((oc) => oc.close()));
    }

    const expected: Record<(typeof kinds)[number], { claims: number; status: string; state: string; attempt: number; events: [ElementEventKind, number][] }> = {
      ok: { claims: 1, status: 'DONE', state: 'FIRST', attempt: 1, events: [] },
      once: { claims: 2, status: 'DONE', state: 'QUEUED', attempt: 2, events: [['FAILED', 1], ['RETRIED', 2]] },
      fail: { claims: 3, status: 'FAILED', state: 'EXHAUSTED', attempt: 3, events: [['FAILED', 1], ['RETRIED', 2], ['FAILED', 2], ['RETRIED', 3], ['FAILED_FINAL', 3]] },
      status: { claims: 3, status: 'FAILED', state: 'EXHAUSTED', attempt: 3, events: [['FAILED', 1], ['RETRIED', 2], ['FAILED', 2], ['RETRIED', 3], ['FAILED_FINAL', 3]] },
      python: { claims: 3, status: 'FAILED', state: 'EXHAUSTED', attempt: 3, events: [['FAILED', 1], ['RETRIED', 2], ['FAILED', 2], ['RETRIED', 3], ['FAILED_FINAL', 3]] },
      business: { claims: 1, status: 'FAILED', state: 'BUSINESS', attempt: 1, events: [['BUSINESS_ERROR', 1]] },
    };
    for (const [id, kind] of elements) {
      const want = expected[kind];
      expect(claims.get(id)?.length, `${kind} ${id} claims`).toBe(want.claims);
      expect((await getQueueElement(store, id)).status, `${kind} status`).toBe(want.status);
      const attempts = await getElementAttempts(store, id);
      expect({ state: attempts.state, attempt: attempts.attempt }, `${kind} attempts`).toEqual({ state: want.state, attempt: want.attempt });
      expect(attempts.history.map((e) => [e.event, e.attempt]), `${kind} history`).toEqual(want.events);
      // Each retry came no sooner than the delay after the failure before it.
      const fails = failedAt.get(id) ?? [];
      for (let k = 1; k < (claims.get(id)?.length ?? 0); k++) expect(claims.get(id)![k]! - fails[k - 1]!, `${kind} wait before attempt ${k + 1}`).toBeGreaterThanOrEqual(DELAY_MS);
      if (kind === 'python') expect(attempts.history.filter((e) => e.event.startsWith('FAILED')).every((e) => e.actor.startsWith('retry-'))).toBe(true);
      if (kind === 'fail') expect(attempts.history.filter((e) => e.event.startsWith('FAILED')).every((e) => e.actor.startsWith('robot-'))).toBe(true);
    }
  });

  it('the visibility timeout returns exactly the stale elements: to New, to Abandoned, and never a live claim', async () => {
    await saveQueueSettings(store, { queueName: 'vis-q', maxAttempts: 3, delayMode: 'FIXED', delaySeconds: 0, maxDelaySeconds: null, visibilityMinutes: 5 });
    await saveQueueSettings(store, { queueName: 'vis-ab', maxAttempts: 3, delayMode: 'FIXED', delaySeconds: 0, maxDelaySeconds: null, visibilityMinutes: 5, visibilityAction: 'ABANDONED' });
    await saveQueueSettings(store, { queueName: 'vis-last', maxAttempts: 1, delayMode: 'FIXED', delaySeconds: 0, maxDelaySeconds: null, visibilityMinutes: 5 });
    const claim = async (queue: string, reference: string, startedMinutesAgo?: number) => {
      await createQueueElement(store, queue, { reference });
      // An old claim is made in the past: the claim guard keeps a held element's claim time.
      const restore = startedMinutesAgo === undefined ? undefined : setClock(() => minutesAgo(startedMinutesAgo));
      try {
        return (await getNextQueueElement(store, queue, { reference }))!.id;
      } finally {
        restore?.();
      }
    };
    // Claims and job times are compared to the millisecond: each step waits for the clock to
    // move on, so no claim shares its time with a job's start or end.
    const later = async () => {
      const t = Date.now();
      await waitUntil(() => Date.now() > t + 1, 'the clock to move on');
    };
    const oldClaim = await claim('vis-q', 'old', 10);
    const freshClaim = await claim('vis-q', 'fresh');
    await later();
    // Claimed during a job that has ended since: stale at once, whatever its age.
    const endedJob = await startJob(store, { processName: 'vis-robot', schedulerName: 'PC1' });
    await later();
    const orphan = await claim('vis-q', 'orphan');
    await later();
    await endJob(store, endedJob, 'FAILED');
    await later();
    // Claimed while a job still runs: left alone.
    const runningJob = await startJob(store, { processName: 'vis-robot', schedulerName: 'PC1' });
    await later();
    const held = await claim('vis-q', 'held');
    const waiting = await createQueueElement(store, 'vis-q', { reference: 'new' });
    const abandoned = await claim('vis-ab', 'old', 10);
    const lastTry = await claim('vis-last', 'old', 10);
    const noSettings = await claim('vis-none', 'old', 10);

    const m = monitor('vis-monitor');
    const swept = await m.tick();
    expect(swept.sweep.timedOut).toBe(4);
    expect((await m.tick()).sweep.timedOut).toBe(0);
    const status = async (id: string) => (await getQueueElement(store, id)).status;
    expect(await status(oldClaim)).toBe('NEW');
    expect(await status(orphan)).toBe('NEW');
    expect(await status(freshClaim)).toBe('IN_PROGRESS');
    expect(await status(held)).toBe('IN_PROGRESS');
    expect(await status(waiting.id)).toBe('NEW');
    expect(await status(abandoned)).toBe('ABANDONED');
    expect(await status(lastTry)).toBe('FAILED');
    expect(await status(noSettings)).toBe('IN_PROGRESS');
    expect(await getElementAttempts(store, oldClaim)).toMatchObject({ attempt: 2, state: 'QUEUED', history: [{ event: 'TIMED_OUT', attempt: 1, actor: 'vis-monitor', message: 'In Progress for more than 5 minutes; now NEW' }] });
    expect(await getElementAttempts(store, orphan)).toMatchObject({ attempt: 2, state: 'QUEUED', history: [{ event: 'TIMED_OUT', message: 'its job ended while it was In Progress; now NEW' }] });
    expect(await getElementAttempts(store, abandoned)).toMatchObject({ attempt: 1, state: 'ABANDONED' });
    expect(await getElementAttempts(store, lastTry)).toMatchObject({ attempt: 1, state: 'EXHAUSTED' });
    expect((await getQueueElement(store, lastTry)).message).toBe('visibility timeout: In Progress for more than 5 minutes');
    await endJob(store, runningJob, 'DONE');
  });

  it('a Python robot (the Python client\'s own SQL) claims and finishes elements on a queue with retry settings', async () => {
    const QUEUE = 'py-q';
    await saveQueueSettings(store, { queueName: QUEUE, maxAttempts: 2, delayMode: 'FIXED', delaySeconds: 1, maxDelaySeconds: null, visibilityMinutes: null });
    // A second apart, as elements a robot adds over time: elements made within one millisecond
    // share a created_date, and the Python claim's ORDER BY created_date would pick any of them.
    const base = Date.now() - 10_000;
    for (const [i, reference] of ['p1', 'p2', 'p3'].entries()) {
      const restore = setClock(() => new Date(base + i * 1000));
      try {
        await createQueueElement(store, QUEUE, { reference, data: reference });
      } finally {
        restore();
      }
    }
    const python = openStore(live.url);
    const q = (name: string) => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);
    const nowText = () => formatNaive(new Date());
    // OpenOrchestrator 3.0 get_next_queue_element: SELECT the oldest New element of the queue
    // (ORDER BY created_date LIMIT 1), then the ORM's UPDATE of status and start_date by id.
    const pythonClaim = async (): Promise<{ id: unknown; reference: string } | undefined> => {
      const picked = await sql<{ id: unknown; reference: string }>`${sql.raw(
        `SELECT ${q('Queues')}.id, ${q('Queues')}.reference FROM ${q('Queues')} WHERE ${q('Queues')}.queue_name = `,
      )}${QUEUE}${sql.raw(` AND ${q('Queues')}.status = 'NEW' ORDER BY ${q('Queues')}.created_date LIMIT 1`)}`.execute(python.db);
      const row = picked.rows[0];
      if (!row) return undefined;
      await sql`${sql.raw(`UPDATE ${q('Queues')} SET status = 'IN_PROGRESS', start_date = `)}${nowText()}${sql.raw(` WHERE ${q('Queues')}.id = `)}${row.id}`.execute(python.db);
      return row;
    };
    // set_queue_element_status(id, FAILED or DONE, message): status, end_date and message by id.
    const pythonFinish = async (id: unknown, status: 'DONE' | 'FAILED', message: string) => {
      await sql`${sql.raw(`UPDATE ${q('Queues')} SET status = '${status}', end_date = `)}${nowText()}${sql.raw(', message = ')}${message}${sql.raw(` WHERE ${q('Queues')}.id = `)}${id}`.execute(python.db);
    };
    try {
      const m = monitor('py-monitor');
      const first = (await pythonClaim())!;
      expect(first.reference).toBe('p1');
      await pythonFinish(first.id, 'FAILED', 'python robot failed');
      const failedId = store.dialect.decodeUuid(first.id);
      expect((await m.tick()).sweep.counted).toBe(1);
      expect(await getElementAttempts(store, failedId)).toMatchObject({ attempt: 1, state: 'WAITING', lastError: 'python robot failed' });
      // While it waits, the Python claim sees only the ready elements.
      const second = (await pythonClaim())!;
      expect(second.reference).toBe('p2');
      await pythonFinish(second.id, 'DONE', 'ok');
      const third = (await pythonClaim())!;
      expect(third.reference).toBe('p3');
      await pythonFinish(third.id, 'DONE', 'ok');
      expect(await pythonClaim()).toBeUndefined();
      await waitUntil(async () => (await m.tick()).sweep.retried === 1, 'the failed element to come back', 30_000);
      const retried = (await pythonClaim())!;
      expect(retried.reference).toBe('p1');
      await pythonFinish(retried.id, 'DONE', 'second try worked');
      expect(await m.tick()).toMatchObject({ sweep: { counted: 0, retried: 0 } });
      expect((await getQueueElement(store, failedId)).status).toBe('DONE');
      expect(await getElementAttempts(store, failedId)).toMatchObject({ attempt: 2, state: 'QUEUED', history: [{ event: 'FAILED', attempt: 1 }, { event: 'RETRIED', attempt: 2 }] });
    } finally {
      await closeStore(python);
    }
  });

  it('e-mail channels need a valid login: a refused one is a one-line error kept on the channel, without the password', async () => {
    await createCredential(store, key, 'wrong-login', SMTP_USER, 'not-the-password');
    const channel: AlertChannel = await createChannel(store, {
      name: 'wrong mail',
      kind: 'EMAIL',
      settings: { host: '127.0.0.1', port: smtp.port, security: 'none', allowLoginWithoutTls: true, verifyCertificate: true, from: 'oo@example.test', to: ['ops@example.test'], credential: 'wrong-login' },
    });
    await createRule(store, { name: 'mail backlog', kind: 'QUEUE_BACKLOG', target: 'mail-q', threshold: 0, channelIds: [channel.id] });
    await createQueueElement(store, 'mail-q');
    const m = monitor('mail-monitor');
    expect(await m.tick()).toMatchObject({ opened: 1, failed: 1 });
    const [notification] = await listNotifications(store, { status: 'PENDING' });
    expect(notification!.lastError).toMatch(/^e-mail via 127\.0\.0\.1:\d+ failed \(EAUTH\): /);
    expect(notification!.lastError).not.toContain('not-the-password');
    expect(notification!.lastError).not.toContain('\n');
  });
});
