/**
 * Alert channels as an attacker or a careless server would use them, against real receivers: a
 * real monitor process and the Orchestrator's channel test, searched for every spelling of
 * every channel secret (webhook tokens in the URL, a user:password written into an old channel's
 * URL, a webhook login, an SMTP password that the server quotes back in its 535 answer); a
 * webhook that answers with a redirect to another receiver, which must get nothing; queue names
 * (any robot login can create them) in Slack and Teams markup; and what a channel may not be
 * saved with: a URL holding a login, an SMTP login over a connection without TLS.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scrubSecrets } from '../src/config/secrets.js';
import { createChannel, createRule, deleteChannel, deleteRule, listChannels, listNotifications, listRules, type AlertChannel, type AlertChannelInput } from '../src/db/store/alerts.js';
import { createCredential } from '../src/db/store/credentials.js';
import { createQueueElement } from '../src/db/store/queues.js';
import type { Store } from '../src/db/open.js';
import { channelSecrets } from '../src/monitor/channels.js';
import { Monitor } from '../src/monitor/monitor.js';
import { buildOrchestrator } from '../src/orchestrator/server.js';
import type { Session } from '../src/orchestrator/session.js';
import { createConsoleLog } from '../src/scheduler/console-log.js';
import { spawnCli } from './helpers/cli.js';
import { startHttpReceiver, startSmtpReceiver, waitUntil, type HttpReceiver, type SmtpReceiver } from './helpers/receivers.js';
import { KEY } from './helpers/scheduler.js';
import { leaked, loginSpellings, spellings } from './helpers/secret-spellings.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const HOOK_TOKEN = 'tok3n/With+Odd=chars&more';
const HOOK_USER = 'hook-user';
const HOOK_PASSWORD = 'hook pa$$word!x';
const URL_USER = 'old-user';
const URL_PASSWORD = 'url:p@ss/w0rd?';
const SMTP_USER = 'alerts';
const SMTP_PASSWORD = 'smtp s3cret%pw';
const quiet = createConsoleLog({ write: () => undefined });
const base64 = (text: string) => Buffer.from(text).toString('base64');

describe('alert channel security', () => {
  let live: TestStore;
  let store: Store;
  let http: HttpReceiver;
  let elsewhere: HttpReceiver;
  let smtp: SmtpReceiver;
  let app: FastifyInstance;
  let session: Session;

  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: { host: '127.0.0.1', 'x-openorchestrator-request': '1', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      payload: payload === undefined ? undefined : JSON.stringify(payload),
    });
    return { status: res.statusCode, text: res.body, body: JSON.parse(res.body) as Record<string, unknown> };
  };
  /** Writes a channel's settings straight to its row, as a version that accepted them did. */
  const writeSettings = (channel: AlertChannel, settings: Record<string, unknown>) =>
    store.db.updateTable('oo_alert_channels').set({ settings: JSON.stringify(settings) }).where('id', '=', store.dialect.encodeUuid(channel.id)).execute();
  const mailSettings = (credential: string | null, extra: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port: smtp.port,
    security: 'none',
    verifyCertificate: true,
    from: 'oo@example.test',
    to: ['ops@example.test'],
    credential,
    ...extra,
  });

  beforeAll(async () => {
    live = await openTestStore('sqlite');
    store = live.store;
    http = await startHttpReceiver();
    elsewhere = await startHttpReceiver();
    // The server refuses the login and quotes the password back, in several spellings.
    smtp = await startSmtpReceiver(SMTP_USER, 'the-server-wants-another', {
      refusal: ({ username, password }) => `Invalid login ${username}:${password} (${encodeURIComponent(password)}, ${base64(`${username}:${password}`)}, ${base64(`\0${username}\0${password}`)})`,
    });
    await createCredential(store, KEY, 'smtp-login', SMTP_USER, SMTP_PASSWORD);
    await createCredential(store, KEY, 'hook-login', HOOK_USER, HOOK_PASSWORD);
    ({ app, session } = await buildOrchestrator({ connectionString: live.url, cryptoKey: KEY }));
  });
  afterEach(async () => {
    for (const rule of await listRules(store)) await deleteRule(store, rule.id);
    for (const channel of await listChannels(store)) await deleteChannel(store, channel.id);
  });
  afterAll(async () => {
    await app?.close();
    await session?.disconnect();
    for (const server of [http, elsewhere, smtp]) await server?.close();
    await live?.close();
  });

  it('a monitor process never prints or stores a channel secret in any spelling, and the channel test never answers one', async () => {
    const hookPath = `/quoting?token=${encodeURIComponent(HOOK_TOKEN)}`;
    const hookUrl = `${http.url}${hookPath}`;
    // The receiver refuses, quoting in its reason phrase the address, the token and the login it was sent.
    const quote = `denied ${hookUrl} token=${HOOK_TOKEN} auth=${base64(`${HOOK_USER}:${HOOK_PASSWORD}`)}`;
    http.answerNext(hookPath, Array.from({ length: 20 }, () => ({ status: 500, reason: quote })));
    const quoting = await createChannel(store, { name: 'quoting hook', kind: 'WEBHOOK', settings: { url: hookUrl, template: 'json', body: null, credential: 'hook-login' } as AlertChannelInput['settings'] });
    // A channel saved by an older version with a login in its URL.
    const legacy = await createChannel(store, { name: 'legacy hook', kind: 'WEBHOOK', settings: { url: `${http.url}/legacy`, template: 'json', body: null } });
    const legacyUrl = `http://${URL_USER}:${encodeURIComponent(URL_PASSWORD)}@${http.url.slice('http://'.length)}/legacy?token=${encodeURIComponent(HOOK_TOKEN)}`;
    await writeSettings(legacy, { url: legacyUrl, template: 'json', body: null });
    const mail = await createChannel(store, { name: 'quoting mail', kind: 'EMAIL', settings: mailSettings('smtp-login', { allowLoginWithoutTls: true }) as AlertChannelInput['settings'] });
    const channels = [quoting, legacy, mail];
    await createRule(store, { name: 'leaky backlog', kind: 'QUEUE_BACKLOG', target: 'leaky-q', threshold: 0, channelIds: channels.map((c) => c.id) });
    await createQueueElement(store, 'leaky-q');

    const secrets = [...spellings(HOOK_TOKEN), ...loginSpellings(HOOK_USER, HOOK_PASSWORD), ...loginSpellings(URL_USER, URL_PASSWORD), ...loginSpellings(SMTP_USER, SMTP_PASSWORD), hookUrl, legacyUrl];
    const cli = spawnCli(['monitor', '--interval', '0.2', '--retry-base', '0.2', '--name', 'leak-monitor', '--json'], { OpenOrchestratorConnString: live.url, OpenOrchestratorKey: KEY });
    try {
      // Every channel has failed at least twice (a second try may quote what the first did not).
      await waitUntil(async () => {
        const notifications = await listNotifications(store, {});
        return channels.every((c) => notifications.some((n) => n.channelId === c.id && n.tries >= 2 && n.lastError !== null));
      }, 'every channel to fail twice');
    } finally {
      cli.stop();
    }
    expect(await cli.exited).toBe(0);
    // The receivers did get the secrets they were configured with: there was something to leak.
    expect(http.posts.find((p) => p.path === hookPath)?.authorization).toBe(`Basic ${base64(`${HOOK_USER}:${HOOK_PASSWORD}`)}`);
    expect(smtp.logins).toContain(SMTP_USER);

    const output = cli.stdout() + cli.stderr();
    expect(output).toContain('notification-failed');
    expect(leaked(output, secrets)).toEqual([]);
    const rows = JSON.stringify([
      await store.db.selectFrom('oo_alert_notifications').selectAll().execute(),
      await store.db.selectFrom('oo_alert_channels').select(['name', 'last_error']).execute(),
    ]);
    expect(leaked(rows, secrets)).toEqual([]);

    const byChannel = new Map((await listChannels(store)).map((c) => [c.id, c.lastError]));
    expect(byChannel.get(quoting.id)).toBe('webhook answered HTTP 500 Internal Server Error');
    expect(byChannel.get(legacy.id)).toBe(
      'webhook url must not hold a user name or password (user:password@host): store the login as a credential and name it in the channel\'s credential setting, which sends it as HTTP Basic auth',
    );
    expect(byChannel.get(mail.id)).toMatch(/^e-mail via 127\.0\.0\.1:\d+ failed \(EAUTH\): the server refused the login \(SMTP 535 to AUTH PLAIN\); check the channel's credential$/);

    // The same through the Orchestrator: the channel test's 502 and the lists the UI shows.
    http.answerNext(hookPath, [{ status: 500, reason: quote }]);
    for (const channel of channels) {
      const answer = await call('POST', `/api/operations/channels/${channel.id}/test`);
      expect(answer.status, channel.name).toBe(502);
      expect(leaked(answer.text, secrets), channel.name).toEqual([]);
      expect(answer.body.error).toBe(byChannel.get(channel.id));
    }
    const shown = (await call('GET', '/api/operations/notifications')).text;
    expect(leaked(shown, secrets)).toEqual([]);
  });

  it('the scrub a channel\'s errors pass knows every secret of the channel, in every spelling', () => {
    const url = `https://${URL_USER}:${encodeURIComponent(URL_PASSWORD)}@hooks.example/services/T0/B0/${encodeURIComponent(HOOK_TOKEN)}?token=${encodeURIComponent(HOOK_TOKEN)}&sig=${encodeURIComponent(HOOK_PASSWORD)}`;
    const channel = { id: '', name: 'x', kind: 'WEBHOOK', settings: { url, template: 'json', body: null }, enabled: true, lastError: null, lastErrorAt: null, lastSentAt: null, changedAt: new Date() } as AlertChannel;
    const secrets = channelSecrets(channel, { user: SMTP_USER, pass: SMTP_PASSWORD });
    const all = [url, ...spellings(HOOK_TOKEN), ...loginSpellings(URL_USER, URL_PASSWORD), ...spellings(HOOK_PASSWORD), ...loginSpellings(SMTP_USER, SMTP_PASSWORD)];
    const text = all.map((spelling) => `a library said: ${spelling}.`).join('\n');
    expect(leaked(scrubSecrets(text, secrets), all)).toEqual([]);
  });

  it('a webhook that answers with a redirect is a failed delivery, retried like any other, and the address it names gets nothing', async () => {
    http.answerNext('/moved', [
      { status: 307, location: `${elsewhere.url}/stolen` },
      { status: 308, location: `${elsewhere.url}/stolen` },
    ]);
    const channel = await createChannel(store, { name: 'moved', kind: 'WEBHOOK', settings: { url: `${http.url}/moved`, template: 'json', body: null } });
    await createRule(store, { name: 'moved backlog', kind: 'QUEUE_BACKLOG', target: 'moved-q', threshold: 0, channelIds: [channel.id] });
    await createQueueElement(store, 'moved-q');
    const monitor = new Monitor({ connectionString: live.url, cryptoKey: KEY, name: 'redirect-monitor', intervalSeconds: 0.2, retryBaseSeconds: 0.2 }, quiet);
    try {
      expect(await monitor.tick()).toMatchObject({ opened: 1, sent: 0, failed: 1 });
      const [first] = await listNotifications(store, { status: 'PENDING' });
      expect(first).toMatchObject({ tries: 1, lastError: 'webhook answered HTTP 307 Temporary Redirect: redirects are not followed; give the channel the address it redirects to' });
      await waitUntil(async () => (await monitor.tick()).sent === 1, 'the notification to get through once the receiver answers 200');
    } finally {
      await monitor.close();
    }
    expect(http.posts.filter((p) => p.path === '/moved').map((p) => p.answered)).toEqual([307, 308, 200]);
    expect((await listNotifications(store, { status: 'SENT' })).find((n) => n.channelId === channel.id)).toMatchObject({
      tries: 3,
      lastError: 'webhook answered HTTP 308 Permanent Redirect: redirects are not followed; give the channel the address it redirects to',
    });
    // The channel test from the form: the same one line, and still nothing elsewhere.
    http.answerNext('/moved', [{ status: 302, location: `${elsewhere.url}/stolen` }]);
    expect(await call('POST', `/api/operations/channels/${channel.id}/test`)).toMatchObject({
      status: 502,
      body: { error: 'webhook answered HTTP 302 Found: redirects are not followed; give the channel the address it redirects to' },
    });
    expect(elsewhere.posts).toEqual([]);
  });

  it('Slack and Teams templates escape the queue names robots chose, for their own markup', async () => {
    const hostile = ['<!channel>', '<http://evil.example|click here>', '<b>x</b>', '[click](http://evil.example)', 'a & b'];
    const slack = await createChannel(store, { name: 'slack', kind: 'WEBHOOK', settings: { url: `${http.url}/slack`, template: 'slack', body: null } });
    const teams = await createChannel(store, { name: 'teams', kind: 'WEBHOOK', settings: { url: `${http.url}/teams`, template: 'teams', body: null } });
    const json = await createChannel(store, { name: 'json', kind: 'WEBHOOK', settings: { url: `${http.url}/json`, template: 'json', body: null } });
    for (const queue of hostile) {
      await createRule(store, { name: `backlog ${queue}`, kind: 'QUEUE_BACKLOG', target: queue, threshold: 0, channelIds: [slack.id, teams.id, json.id] });
      await createQueueElement(store, queue);
    }
    const monitor = new Monitor({ connectionString: live.url, cryptoKey: KEY, name: 'markup-monitor', intervalSeconds: 0.2 }, quiet);
    try {
      await waitUntil(async () => {
        await monitor.tick();
        return ['/slack', '/teams', '/json'].every((path) => http.posts.filter((p) => p.path === path).length >= hostile.length);
      }, 'a notification per queue on every channel');
    } finally {
      await monitor.close();
    }
    const bodies = (path: string) => http.posts.filter((p) => p.path === path).map((p) => p.body as Record<string, string>);
    // Plain JSON carries the names as they are: JSON is its own escaping.
    for (const queue of hostile) expect(bodies('/json').some((b) => b.subject === `Queue "${queue}" has a backlog`), queue).toBe(true);

    const slackTexts = bodies('/slack').map((b) => b.text!);
    expect(slackTexts).toHaveLength(hostile.length);
    for (const text of slackTexts) expect(text).not.toMatch(/[<>]/);
    const slackAll = slackTexts.join('\n');
    expect(slackAll).toContain('Queue "&lt;!channel&gt;" has a backlog');
    expect(slackAll).toContain('&lt;http://evil.example|click here&gt;');
    expect(slackAll).toContain('Queue "a &amp; b"');

    const teamsBodies = bodies('/teams');
    expect(teamsBodies).toHaveLength(hostile.length);
    for (const body of teamsBodies) {
      // Teams formats only `text` (title and summary are plain text); in it, only the line
      // breaks the template wrote are markup.
      const markup = body.text!.replace(/<br>/g, '\n');
      expect(markup).not.toMatch(/[<>[\]]/);
      expect(markup).not.toContain('](');
    }
    const teamsAll = teamsBodies.map((b) => b.text).join('\n');
    expect(teamsAll).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(teamsAll).toContain('&#91;click&#93;&#40;http://evil.example&#41;');
  });

  it('refuses at save a webhook URL holding a login and an SMTP login without TLS, each in one line, and refuses to send them', async () => {
    const withLogin = await call('POST', '/api/operations/channels', { name: 'u:pw', kind: 'WEBHOOK', settings: { url: `http://${URL_USER}:${encodeURIComponent(URL_PASSWORD)}@127.0.0.1:9/hook`, template: 'json' } });
    expect(withLogin).toMatchObject({
      status: 400,
      body: { error: 'webhook url must not hold a user name or password (user:password@host): store the login as a credential and name it in the channel\'s credential setting, which sends it as HTTP Basic auth' },
    });
    expect(leaked(withLogin.text, loginSpellings(URL_USER, URL_PASSWORD))).toEqual([]);
    expect((await call('POST', '/api/operations/channels', { name: 'user only', kind: 'WEBHOOK', settings: { url: 'https://someone@hooks.example/x', template: 'json' } })).status).toBe(400);

    const plainLogin = 'SMTP security "none" would send the login of credential "smtp-login" as plain text: choose tls or starttls, or set allowLoginWithoutTls for a server on a network you trust';
    expect(await call('POST', '/api/operations/channels', { name: 'plain', kind: 'EMAIL', settings: mailSettings('smtp-login') })).toMatchObject({ status: 400, body: { error: plainLogin } });
    expect((await call('POST', '/api/operations/channels', { name: 'plain, no login', kind: 'EMAIL', settings: mailSettings(null) })).status).toBe(201);
    const allowed = await call('POST', '/api/operations/channels', { name: 'plain, allowed', kind: 'EMAIL', settings: mailSettings('smtp-login', { allowLoginWithoutTls: true }) });
    expect(allowed).toMatchObject({ status: 201, body: { settings: { allowLoginWithoutTls: true } } });
    expect((await call('POST', '/api/operations/channels', { name: 'starttls', kind: 'EMAIL', settings: { ...mailSettings('smtp-login'), security: 'starttls' } })).status).toBe(201);

    // A channel saved by an older version that allowed it is refused at send, before it connects.
    const old = await createChannel(store, { name: 'old plain', kind: 'EMAIL', settings: mailSettings(null) as AlertChannelInput['settings'] });
    await writeSettings(old, mailSettings('smtp-login'));
    const logins = smtp.logins.length;
    expect(await call('POST', `/api/operations/channels/${old.id}/test`)).toMatchObject({ status: 502, body: { error: plainLogin } });
    expect(smtp.logins.length).toBe(logins);
  });
});
