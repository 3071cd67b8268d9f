/**
 * Team mode over real sockets (HTTPS, spoken byte for byte) on PostgreSQL and MariaDB with real
 * logins made by `grants`: sign-in with the database's own check of the password, the cookie as
 * it crosses the wire, the session decided on the routed path, the app header on every change,
 * each role doing exactly what its grants allow, two people acting as themselves, the audit row
 * in the change's own transaction, sign-out, idle and absolute expiry, and sign-in throttling.
 */
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../src/crypto/fernet.js';
import { listAudit } from '../src/db/store/audit.js';
import { createConstant, getConstant } from '../src/db/store/constants.js';
import { createTrigger, getTrigger } from '../src/db/store/triggers.js';
import { REQUEST_HEADER } from '../src/orchestrator/access.js';
import { buildOrchestrator, startOrchestrator, type OrchestratorOptions, type RunningOrchestrator } from '../src/orchestrator/server.js';
import { SignInThrottle } from '../src/orchestrator/sign-in-throttle.js';
import { personConfig } from '../src/orchestrator/team.js';
import { countRows } from './browser/support.js';
import { runCli } from './helpers/cli.js';
import { request, type RawReply, type Target } from './helpers/raw-http.js';
import { waitFor } from './helpers/scheduler.js';
import { createTeamDatabase, type TeamDatabase, type TeamLogin } from './helpers/team-database.js';

const KEY = generateKey();
const MARKER = 'team-marker-trigger';
const app = { [REQUEST_HEADER]: '1' };
const json = { 'content-type': 'application/json', ...app };
const COOKIE = /^__Host-oo-session=([A-Za-z0-9_-]{43}); Path=\/; HttpOnly; SameSite=Strict; Secure$/;

const portOf = (server: RunningOrchestrator): number => Number(new URL(server.baseUrl).port);

describe.each(['postgres', 'mysql'] as const)('team mode on %s', (dialect) => {
  let team: TeamDatabase;
  let server: RunningOrchestrator;
  let target: Target;
  let ca: string;
  const replies: RawReply[] = [];
  const servers: RunningOrchestrator[] = [];
  /** one session per login on the main server (sessions hold connections: the test's PostgreSQL takes 30) */
  const cookies = {} as Record<TeamLogin, string>;

  /** A team server on the test's database, over HTTPS unless told otherwise. */
  const startTeam = async (options: Partial<OrchestratorOptions> = {}) => {
    const started = await startOrchestrator({
      port: 0,
      team: {},
      connectionString: team.url,
      cryptoKey: KEY,
      tls: { certFile: team.certs.serverCert, keyFile: team.certs.serverKey },
      ...options,
    });
    servers.push(started);
    return started;
  };
  const send = async (to: Target, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
    const reply = await request(to, method, path, body === undefined ? headers : { ...json, ...headers }, body === undefined ? undefined : JSON.stringify(body));
    replies.push(reply);
    return reply;
  };
  const signIn = async (login: TeamLogin, to: Target = target): Promise<string> => {
    const { user, password } = team.logins[login];
    const reply = await send(to, 'POST', '/api/session/sign-in', {}, { user, password });
    expect(reply.status, reply.body).toBe(200);
    return reply.setCookies[0]!.split(';')[0]!;
  };
  const as = (cookie: string) => (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    send(target, method, path, { cookie, ...(method === 'GET' || method === 'HEAD' ? {} : app), ...headers }, body);
  const errorOf = (reply: RawReply) => (JSON.parse(reply.body) as { error: string }).error;

  beforeAll(async () => {
    team = await createTeamDatabase(dialect);
    ca = readFileSync(team.certs.caCert, 'utf8');
    server = await startTeam();
    target = { port: portOf(server), ca };
    await createTrigger(team.root, { type: 'SINGLE', triggerName: MARKER, processName: 'p', processPath: 'robot.py', nextRun: new Date(Date.now() + 86_400_000) });
    for (const login of ['admin', 'admin2', 'viewer', 'robot'] as const) cookies[login] = await signIn(login);
  }, 120_000);
  afterAll(async () => {
    for (const started of servers) await started.close();
    await team?.close();
    // No password of any login, and no credential's password, ever crossed the wire.
    const wire = replies.map((r) => JSON.stringify(r)).join('\n');
    for (const password of [...(team?.passwords ?? []), 'Cred-Secret-9f2a']) expect(wire).not.toContain(password);
  });

  it('signs in over HTTPS with the database checking the password; the cookie is HttpOnly, SameSite=Strict, Secure, __Host-, 32 random bytes', async () => {
    const anonymous = await send(target, 'GET', '/api/session');
    expect(JSON.parse(anonymous.body)).toMatchObject({ mode: 'team', signedIn: false, login: null });

    const { user, password } = team.logins.viewer;
    const withoutHeader = await send(target, 'POST', '/api/session/sign-in', { [REQUEST_HEADER]: '' }, { user, password });
    expect(withoutHeader.status).toBe(403);
    const foreign = await send(target, 'POST', '/api/session/sign-in', { origin: 'https://evil.example' }, { user, password });
    expect(foreign.status).toBe(403);
    const wrong = await send(target, 'POST', '/api/session/sign-in', {}, { user, password: `${password}-wrong` });
    expect(wrong.status, wrong.body).toBe(401);
    expect(errorOf(wrong)).toMatch(/check the user name and password/);
    expect(errorOf(wrong)).not.toContain('\n');
    for (const refused of [withoutHeader, foreign, wrong]) expect(refused.setCookies).toEqual([]);

    const ok = await send(target, 'POST', '/api/session/sign-in', {}, { user, password });
    expect(ok.status, ok.body).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ mode: 'team', signedIn: true, login: user, roles: ['viewer'] });
    expect(ok.setCookies).toHaveLength(1);
    const [, id] = COOKIE.exec(ok.setCookies[0]!) ?? [];
    expect(id, ok.setCookies[0]).toBeDefined();
    expect(Buffer.from(id!, 'base64url')).toHaveLength(32);
    // Each sign-in its own id: the viewer's session of beforeAll is another.
    expect(cookies.viewer).toMatch(/^__Host-oo-session=[A-Za-z0-9_-]{43}$/);
    expect(cookies.viewer).not.toContain(id!);

    // The same port does not speak plain HTTP.
    const plain = await request(target.port, 'GET', '/api/session').catch(() => undefined);
    expect(plain?.status ?? 0).not.toBe(200);
  });

  it('decides the session on the routed path: every spelling of an API path needs it, other spellings never answer data', async () => {
    const cookie = cookies.viewer;
    const p = target.port;
    const routed = ['/api/triggers', '/%61pi/triggers', '/%61%70%69/%74riggers', '/api/%74riggers', '/api/triggers?x=1', `https://localhost:${p}/api/triggers`, 'http://elsewhere.example/api/triggers'];
    for (const path of routed) {
      for (const method of ['GET', 'HEAD']) {
        const anonymous = await send(target, method, path);
        expect(anonymous.status, `${method} ${path}`).toBe(401);
        expect(anonymous.body).not.toContain(MARKER);
        const forged = await send(target, method, path, { cookie: `__Host-oo-session=${Buffer.alloc(32, 7).toString('base64url')}` });
        expect(forged.status, `${method} ${path} forged`).toBe(401);
        const signed = await send(target, method, path, { cookie });
        expect(signed.status, `${method} ${path} signed in: ${signed.body.slice(0, 200)}`).toBe(200);
        if (method === 'GET') expect(signed.body).toContain(MARKER);
      }
    }
    for (const path of ['/%2561pi/triggers', '/API/triggers', '//api/triggers', '/./api/triggers', '/x/../api/triggers', '/api/../api/triggers', '/api%2Ftriggers', '/api%2ftriggers', '/api/triggers/', '/api//triggers', '/api/triggers%2F', '/api/triggers;x']) {
      const anonymous = await send(target, 'GET', path);
      expect(anonymous.body, path).not.toContain(MARKER);
      expect([200, 401, 404], `${path}: ${anonymous.status}`).toContain(anonymous.status);
      if (anonymous.status === 200) expect(anonymous.headers['content-type']).toMatch(/^text\/html/);
    }
    // The page itself loads without a session (it shows the sign-in); the API description does not.
    expect((await send(target, 'GET', '/')).status).toBe(200);
    expect((await send(target, 'GET', '/api/openapi.json')).status).toBe(401);
    expect((await send(target, 'GET', '/api/openapi.json', { cookie: cookie.replace('__Host-oo-session', 'oo-session') })).status).toBe(401);
  });

  it('every change needs the app header and this origin, with the cookie as well', async () => {
    const call = as(cookies.admin);
    const id = (await getTriggerByMarker()).id;
    const refusals: Record<string, string>[] = [{ [REQUEST_HEADER]: '' }, { origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }];
    for (const headers of refusals) {
      for (const path of [`/api/triggers/${id}/disable`, `/%61pi/triggers/${id}/disable`]) {
        const refused = await call('POST', path, undefined, headers);
        expect(refused.status, `${path} ${JSON.stringify(headers)}: ${refused.body}`).toBe(403);
      }
    }
    expect((await getTrigger(team.root, id)).status).toBe('IDLE');
    const own = await call('POST', `/api/triggers/${id}/disable`, undefined, { origin: `https://localhost:${target.port}`, 'sec-fetch-site': 'same-origin' });
    expect(own.status, own.body).toBe(200);
    expect((await getTrigger(team.root, id)).status).toBe('PAUSED');
    expect((await call('POST', `/api/triggers/${id}/enable`)).status).toBe(200);
  });

  it('each login sees and does exactly what its grants allow; a refusal is one line and changes nothing', async () => {
    const [admin, viewer, robot] = [as(cookies.admin), as(cookies.viewer), as(cookies.robot)];
    const trigger = { type: 'SINGLE', processName: 'p', processPath: 'robot.py', nextRun: '2031-01-01T07:00' };

    expect((await admin('POST', '/api/triggers', { ...trigger, triggerName: 'by-admin' })).status).toBe(201);
    expect((await admin('POST', '/api/constants', { name: 'mail-host', value: 'smtp-1' })).status).toBe(201);
    expect((await admin('POST', '/api/credentials', { name: 'mail-login', username: 'svc', password: 'Cred-Secret-9f2a' })).status).toBe(201);
    for (const login of ['admin', 'viewer', 'robot'] as const) {
      const access = JSON.parse((await as(cookies[login])('GET', '/api/settings/access')).body) as { roles: string[]; login: string };
      expect(access.roles, login).toEqual([login]);
    }

    const before = { triggers: await countRows(team.root, 'Triggers'), constants: await countRows(team.root, 'Constants') };
    // The viewer reads everything, the audit trail included, and changes nothing.
    for (const path of ['/api/triggers', '/api/constants', '/api/credentials', '/api/jobs', '/api/logs', '/api/queues', '/api/schedulers', '/api/audit', '/api/dashboard']) {
      const read = await viewer('GET', path);
      expect(read.status, `viewer GET ${path}: ${read.body}`).toBe(200);
    }
    const id = (await getTriggerByMarker()).id;
    for (const [method, path, body] of [
      ['POST', '/api/triggers', { ...trigger, triggerName: 'by-viewer' }],
      ['PUT', `/api/triggers/${id}`, { ...trigger, triggerName: 'renamed-by-viewer' }],
      ['POST', `/api/triggers/${id}/disable`, undefined],
      ['DELETE', `/api/triggers/${id}`, undefined],
      ['PUT', '/api/constants/mail-host', { value: 'by-viewer' }],
      ['POST', '/api/constants', { name: 'by-viewer', value: 'x' }],
      ['PUT', '/api/credentials/mail-login', { username: 'x', password: 'y' }],
    ] as const) {
      const refused = await viewer(method, path, body);
      expect(refused.status, `viewer ${method} ${path}: ${refused.body}`).toBe(403);
      expect(errorOf(refused)).toMatch(/this login lacks/);
      expect(errorOf(refused)).not.toContain('\n');
    }
    // The robot: constants and credentials (update), queue elements, pausing a trigger; no trigger creation, no jobs, no reading the trail.
    expect((await robot('PUT', '/api/constants/mail-host', { value: 'smtp-2' })).status).toBe(200);
    expect((await robot('POST', '/api/queues/team-q/elements', { reference: 'r1' })).status).toBe(201);
    expect((await robot('POST', `/api/triggers/${id}/disable`)).status).toBe(200);
    expect((await robot('POST', `/api/triggers/${id}/enable`)).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/api/triggers', { ...trigger, triggerName: 'by-robot' }],
      ['POST', '/api/constants', { name: 'by-robot', value: 'x' }],
      ['DELETE', '/api/constants/mail-host', undefined],
      ['GET', '/api/jobs', undefined],
      ['GET', '/api/audit', undefined],
    ] as const) {
      const refused = await robot(method, path, body);
      expect(refused.status, `robot ${method} ${path}: ${refused.body}`).toBe(403);
      expect(errorOf(refused)).toMatch(/this login lacks/);
    }
    expect(await countRows(team.root, 'Triggers')).toBe(before.triggers);
    expect(await countRows(team.root, 'Constants')).toBe(before.constants);
    expect((await getConstant(team.root, 'mail-host')).value).toBe('smtp-2');
    expect((await getTrigger(team.root, id)).triggerName).toBe(MARKER);

    // Credential values are write-only: set and replaced, never shown.
    const credentials = await admin('GET', '/api/credentials');
    expect(credentials.body).toContain('mail-login');
    expect(credentials.body).not.toMatch(/"password"/);
  });

  it('two people signed in at once act as themselves: the database sees both logins, the trail names each', async () => {
    const [alice, bob] = [team.logins.admin.user, team.logins.admin2.user];
    await createConstant(team.root, 'shared-a', '0');
    await createConstant(team.root, 'shared-b', '0');
    const [asAlice, asBob] = [as(cookies.admin), as(cookies.admin2)];
    const changes = await Promise.all(
      [1, 2, 3].flatMap((n) => [asAlice('PUT', '/api/constants/shared-a', { value: `alice-${n}` }), asBob('PUT', '/api/constants/shared-b', { value: `bob-${n}` })]),
    );
    for (const change of changes) expect(change.status, change.body).toBe(200);
    expect(await team.connectionsOf(alice)).toBeGreaterThan(0);
    expect(await team.connectionsOf(bob)).toBeGreaterThan(0);
    const trail = await listAudit(team.root, { action: 'constant.update', limit: 1000 });
    const of = (target: string) => trail.filter((row) => row.target === target);
    expect(of('shared-a').map((row) => row.login)).toEqual([alice, alice, alice]);
    expect(of('shared-b').map((row) => row.login)).toEqual([bob, bob, bob]);
    for (const row of [...of('shared-a'), ...of('shared-b')]) {
      expect(row.clientAddress).toMatch(/127\.0\.0\.1/);
      expect(JSON.parse(row.after!)).toMatchObject({ value: expect.stringMatching(row.login === alice ? /^alice-/ : /^bob-/) });
    }
  });

  it('records who, what, when, before and after with secrets masked, in the same transaction as the change; the trail filters', async () => {
    const admin = as(cookies.admin);
    const started = new Date(Date.now() - 1000);
    expect((await admin('POST', '/api/constants', { name: 'audited', value: 'v1' })).status).toBe(201);
    expect((await admin('PUT', '/api/constants/audited', { value: 'v2' })).status).toBe(200);
    expect((await admin('POST', '/api/credentials', { name: 'audit-login', username: 'svc', password: 'Cred-Secret-9f2a' })).status).toBe(201);
    expect((await admin('PUT', '/api/credentials/audit-login', { username: 'svc2', password: 'Cred-Secret-9f2a' })).status).toBe(200);
    const rows = JSON.parse((await admin('GET', `/api/audit?login=${team.logins.admin.user}&action=constant&from=${iso(started)}`)).body) as {
      items: { action: string; target: string; before: string | null; after: string | null; login: string; changedAt: string }[];
      total: number;
    };
    const update = rows.items.find((r) => r.action === 'constant.update' && r.target === 'audited')!;
    expect(JSON.parse(update.before!)).toMatchObject({ name: 'audited', value: 'v1' });
    expect(JSON.parse(update.after!)).toMatchObject({ name: 'audited', value: 'v2' });
    const create = rows.items.find((r) => r.action === 'constant.create' && r.target === 'audited')!;
    expect(create.before).toBeNull();
    expect(rows.items.every((r) => r.action.startsWith('constant.') && r.login === team.logins.admin.user)).toBe(true);
    const credential = (await listAudit(team.root, { action: 'credential.update' }))[0]!;
    expect(JSON.parse(credential.before!)).toMatchObject({ name: 'audit-login', username: 'svc', password: '***' });
    expect(JSON.parse(credential.after!)).toMatchObject({ name: 'audit-login', username: 'svc2', password: '***' });
    const everything = JSON.stringify(await listAudit(team.root, { limit: 1000 }));
    expect(everything).not.toContain('Cred-Secret-9f2a');
    expect(everything).not.toContain('gAAAAA');
    // Nobody in the future; the trail's own view filters by login exactly.
    expect(JSON.parse((await admin('GET', `/api/audit?from=${iso(new Date(Date.now() + 3_600_000))}`)).body).total).toBe(0);
    expect(JSON.parse((await admin('GET', '/api/audit?login=nobody')).body).total).toBe(0);

    // A refused or failed change leaves no row; a change whose audit row cannot be written does not happen.
    const count = async () => (await listAudit(team.root, { limit: 1000 })).length;
    const rowsBefore = await count();
    expect((await admin('POST', '/api/constants', { name: 'audited', value: 'dup' })).status).toBe(400);
    expect((await as(cookies.viewer)('PUT', '/api/constants/audited', { value: 'x' })).status).toBe(403);
    expect(await count()).toBe(rowsBefore);
    const robotUser = team.logins.robot.user;
    const revoke = dialect === 'postgres' ? `REVOKE INSERT ON "oo_audit" FROM ${robotUser}` : `REVOKE INSERT ON \`oo_audit\` FROM '${robotUser}'@'%'`;
    await sql.raw(revoke).execute(team.root.db);
    try {
      const refused = await as(cookies.robot)('PUT', '/api/constants/audited', { value: 'unaudited' });
      expect(refused.status, refused.body).toBe(403);
      expect(errorOf(refused)).toMatch(/oo_audit/);
      expect((await getConstant(team.root, 'audited')).value).toBe('v2');
      expect(await count()).toBe(rowsBefore);
    } finally {
      await sql.raw(revoke.replace('REVOKE', 'GRANT').replace(' FROM ', ' TO ')).execute(team.root.db);
    }
  });

  it('sign-out ends the session and closes its connections; an idle or too old session is refused', async () => {
    const viewerUser = team.logins.viewer.user;
    // Everybody else's sessions end first, so the connections counted are this test's.
    for (const started of servers) await started.team?.close();
    await waitFor('no viewer connections', async () => (await team.connectionsOf(viewerUser)) === 0);
    server = await startTeam();
    target = { port: portOf(server), ca };

    const cookie = await signIn('viewer');
    expect((await as(cookie)('GET', '/api/triggers')).status).toBe(200);
    expect(await team.connectionsOf(viewerUser)).toBeGreaterThan(0);
    const out = await as(cookie)('POST', '/api/session/sign-out');
    expect(out.status).toBe(200);
    expect(out.setCookies[0]).toMatch(/^__Host-oo-session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0; Secure$/);
    const after = await as(cookie)('GET', '/api/triggers');
    expect(after.status).toBe(401);
    expect(errorOf(after)).toMatch(/sign in again/);
    await waitFor('the signed-out pool closed', async () => (await team.connectionsOf(viewerUser)) === 0);

    // Idle: 0.6 s without a request ends the session (the server closes its pool when it sweeps).
    const idle = await startTeam({ team: { idleMinutes: 0.01 } });
    const idleTarget = { port: portOf(idle), ca };
    const idleCookie = await signIn('viewer', idleTarget);
    expect((await send(idleTarget, 'GET', '/api/triggers', { cookie: idleCookie })).status).toBe(200);
    await waitFor('the idle session closed', async () => (await team.connectionsOf(viewerUser)) === 0);
    expect((await send(idleTarget, 'GET', '/api/triggers', { cookie: idleCookie })).status).toBe(401);

    // Absolute: busy or not, 3.6 s after sign-in the session is over.
    const old = await startTeam({ team: { sessionHours: 0.001 } });
    const oldTarget = { port: portOf(old), ca };
    const signedInAt = Date.now();
    const oldCookie = await signIn('viewer', oldTarget);
    await waitFor('the session too old', async () => (await send(oldTarget, 'GET', '/api/constants', { cookie: oldCookie })).status === 401, 30_000);
    expect(Date.now() - signedInAt).toBeGreaterThanOrEqual(3_600 - 50);
  });

  it('a login holds at most 5 sessions: a sixth sign-in ends its oldest', async () => {
    const fresh = await startTeam();
    const to = { port: portOf(fresh), ca };
    const sessions: string[] = [];
    for (let i = 0; i < 6; i++) sessions.push(await signIn('admin2', to));
    expect(fresh.team!.signedIn).toBe(5);
    expect((await send(to, 'GET', '/api/constants', { cookie: sessions[0]! })).status).toBe(401);
    for (const cookie of sessions.slice(1)) expect((await send(to, 'GET', '/api/constants', { cookie })).status).toBe(200);
  });

  it('throttles sign-in per user and per address: a loop of wrong passwords meets 429 with Retry-After, and so does the right one then', async () => {
    const fresh = await startTeam();
    const to = { port: portOf(fresh), ca };
    const { user, password } = team.logins.robot;
    const statuses: number[] = [];
    let throttled: RawReply | undefined;
    for (let i = 0; i < 12; i++) {
      const reply = await send(to, 'POST', '/api/session/sign-in', {}, { user, password: `wrong-${i}` });
      statuses.push(reply.status);
      if (reply.status === 429) throttled ??= reply;
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    expect(Number(throttled!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(errorOf(throttled!)).toMatch(/too many sign-in attempts/);
    const right = await send(to, 'POST', '/api/session/sign-in', {}, { user, password });
    expect(right.status).toBe(429);
    expect(right.setCookies).toEqual([]);
    // Another user from the same address still signs in, until the address has had too many.
    expect((await send(to, 'POST', '/api/session/sign-in', {}, { user: team.logins.viewer.user, password: team.logins.viewer.password })).status).toBe(200);
    for (let i = 0; i < 30; i++) await send(to, 'POST', '/api/session/sign-in', {}, { user: `nobody${i}`, password: 'x' });
    const blocked = await send(to, 'POST', '/api/session/sign-in', {}, { user: team.logins.admin.user, password: team.logins.admin.password });
    expect(blocked.status).toBe(429);
  });

  async function getTriggerByMarker() {
    const rows = await team.root.db.selectFrom('Triggers').select('id').where('trigger_name', '=', MARKER).execute();
    return { id: team.root.dialect.decodeUuid(rows[0]!.id) };
  }
});

const iso = (date: Date) => {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
};

describe('team mode refuses what cannot serve a team, in one line', () => {
  it('SQLite, a connection string with a login, a token beside it, plain HTTP beyond loopback, unreadable TLS files', async () => {
    const refusals: Array<[OrchestratorOptions, RegExp]> = [
      [{ team: {}, connectionString: 'sqlite+pysqlite:///x.db' }, /SQLite has none/],
      [{ team: {}, connectionString: 'postgresql://oo:secret-pw@db/oo' }, /without a user and password \(postgresql:\/\/oo:\*\*\*@db\/oo/],
      [{ team: {}, connectionString: 'postgresql://db/oo', token: 't' }, /exclude each other/],
      // odbc_connect carries its own login: every person would act as it, whatever they signed in with.
      [{ team: {}, connectionString: 'mssql+pyodbc:///?odbc_connect=DSN%3Doo_dsn%3BUID%3Dsa%3BPWD%3Dsecret-pw' }, /cannot use odbc_connect, which carries its own login/],
      [{ team: {}, connectionString: 'mssql+pyodbc:///?odbc_connect=DSN%3Doo_dsn%3BTrusted_Connection%3DYes' }, /cannot use odbc_connect/],
      [{ team: {}, connectionString: 'mssql+pymssql://sa:secret-pw@db:1433/oo' }, /without a user and password \(mssql\+pymssql:\/\/sa:\*\*\*@db:1433\/oo names one\)/],
      [{ team: {}, connectionString: 'postgresql://db/oo', host: '0.0.0.0' }, /serves HTTPS: give --tls-cert and --tls-key, or --allow-plain-http/],
      [{ team: {}, connectionString: 'postgresql://db/oo', tls: { certFile: '/nonexistent/c.pem', keyFile: '/nonexistent/k.pem' } }, /cannot read the TLS certificate \(--tls-cert\) \/nonexistent\/c.pem: ENOENT/],
    ];
    for (const [options, message] of refusals) {
      const error = await buildOrchestrator(options).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message, JSON.stringify(options)).toMatch(message);
      expect(error?.message).not.toContain('\n');
      expect(error?.message).not.toContain('secret-pw');
    }
    const allowed = await buildOrchestrator({ team: {}, connectionString: 'postgresql://db/oo', host: '0.0.0.0', allowPlainHttp: true });
    await allowed.app.close();
    await allowed.team?.close();
  });

  it("a person's login goes through the one parser: an ODBC DSN gets their UID and PWD, never the server's", () => {
    const dsn = personConfig('mssql+pyodbc://oo_dsn', 'alice', 'p@ss;word}', 3);
    expect(dsn.odbc?.connectionString).toBe('dsn=oo_dsn;UID=alice;PWD={p@ss;word}}}');
    expect(dsn.odbc?.trustedConnection).toBe(false);
    const tcp = personConfig('mssql+pymssql://db:1433/oo', 'alice', 'p@ss', 3);
    expect(tcp).toMatchObject({ user: 'alice', password: 'p@ss', host: 'db', port: 1433, database: 'oo', poolSize: 3 });
    expect(personConfig('postgresql://db:5432/oo?sslmode=require', 'bob', 'a:b@c/d', 3)).toMatchObject({ user: 'bob', password: 'a:b@c/d', host: 'db', database: 'oo' });
  });

  it('the command says so in one line and exits 1', async () => {
    const result = await runCli(['orchestrator', '--team', '--no-browser', '--port', '0', 'sqlite+pysqlite:///team.db']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/team mode needs a database with logins/);
  });
});

describe('the sign-in throttle', () => {
  it('lets a few attempts through, then doubles the wait; success clears the user; old entries are forgotten', () => {
    let now = 1_000_000;
    const throttle = new SignInThrottle(() => now);
    for (let i = 0; i < 5; i++) expect(throttle.attempt('Alice', '10.0.0.1').allowed).toBe(true);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const decision = throttle.attempt('alice', '10.0.0.2');
      expect(decision.allowed).toBe(false);
      const wait = (decision as { retryAfterMs: number }).retryAfterMs;
      waits.push(wait);
      now += wait;
      expect(throttle.attempt('ALICE ', '10.0.0.3').allowed).toBe(true);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000]);
    throttle.succeeded('alice', '10.0.0.3');
    expect(throttle.attempt('alice', '10.0.0.4').allowed).toBe(true);
    // An hour later the counts are gone.
    for (let i = 0; i < 25; i++) throttle.attempt(`user${i}`, '10.9.9.9');
    expect(throttle.attempt('someone', '10.9.9.9').allowed).toBe(false);
    now += 3 * 60 * 60_000;
    expect(throttle.attempt('someone', '10.9.9.9').allowed).toBe(true);
  });
});
