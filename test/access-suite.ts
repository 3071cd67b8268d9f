/**
 * The access suite on one live dialect: three logins get exactly the statements `grants`
 * generates from the rights table; the Orchestrator (admin), a real Scheduler run (scheduler)
 * and every robot-API call (robot) must then work, and every forbidden action must fail with a
 * one-line message naming the missing right. A right the code needs but the table lacks fails here.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sql } from 'kysely';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeAccess } from '../src/access/probe.js';
import { runGrants } from '../src/cli/grants.js';
import { runUpgrade } from '../src/cli/upgrade.js';
import { OrchestratorConnection } from '../src/connection/orchestrator-connection.js';
import { closeStore, openStore, toDatabaseError, type Store } from '../src/db/open.js';
import { listAudit, recordAudit } from '../src/db/store/audit.js';
import { createConstant, updateConstant } from '../src/db/store/constants.js';
import { ALL_TABLE_NAMES } from '../src/db/schema/tables.js';
import { createCredential, getCredential } from '../src/db/store/credentials.js';
import { getJob, listJobs, startJob } from '../src/db/store/jobs.js';
import { listLogs } from '../src/db/store/logs.js';
import { createQueueElement, getQueueElements } from '../src/db/store/queues.js';
import { createTrigger, deleteTrigger, getTrigger, transitionTriggerStatus, type NewTrigger } from '../src/db/store/triggers.js';
import { REQUEST_HEADER, buildOrchestrator } from '../src/orchestrator/server.js';
import { createTestDatabase, type TestDatabase } from './helpers/databases.js';
import { KEY, ROBOTS, startScheduler, waitFor } from './helpers/scheduler.js';

type Dialect = 'postgres' | 'mysql';
type RoleName = 'admin' | 'scheduler' | 'robot' | 'viewer';

const POSTGRES = process.env.OO_TEST_POSTGRES ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const MYSQL = process.env.OO_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306/mysql';
const ROBOT_MJS = join(ROBOTS, 'robot.mjs');
const ago = (ms: number) => new Date(Date.now() - ms);

/** Creates and drops logins as the server's superuser (never changing that account). */
async function serverAdmin(dialect: Dialect, statements: string[]): Promise<void> {
  if (dialect === 'postgres') {
    const client = new pg.Client({ connectionString: POSTGRES });
    await client.connect();
    try {
      for (const statement of statements) await client.query(statement);
    } finally {
      await client.end();
    }
    return;
  }
  const conn = await mysql.createConnection(MYSQL);
  try {
    for (const statement of statements) await conn.query(statement);
  } finally {
    await conn.end();
  }
}

export function accessSuite(dialect: Dialect): void {
  describe(`access roles on ${dialect}`, () => {
    const suffix = randomBytes(4).toString('hex');
    const password = `pw${randomBytes(12).toString('hex')}`;
    const login = (role: RoleName) => `oo_t${suffix}_${role}`;
    let database: TestDatabase;
    const urls = {} as Record<RoleName, string>;
    const stores = {} as Record<RoleName, Store>;
    const printed: string[] = [];
    const print = (line: string) => printed.push(line);
    let created = false;

    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      const roles: RoleName[] = ['admin', 'scheduler', 'robot', 'viewer'];
      await serverAdmin(
        dialect,
        roles.map((role) =>
          dialect === 'postgres' ? `CREATE ROLE ${login(role)} LOGIN PASSWORD '${password}'` : `CREATE USER '${login(role)}'@'%' IDENTIFIED BY '${password}'`,
        ),
      );
      created = true;
      for (const role of roles) urls[role] = database.url.replace(/\/\/[^@/]*@/, `//${login(role)}:${password}@`);
      // 1. The admin's grants on the empty database; 2. the admin creates the schema;
      // 3. the scheduler's and robot's grants, read from the tables that now exist.
      await runGrants(database.url, { role: 'admin', user: login('admin'), apply: true }, print);
      await runUpgrade(urls.admin, print);
      await runGrants(database.url, { role: 'scheduler', user: login('scheduler'), apply: true }, print);
      await runGrants(database.url, { role: 'robot', user: login('robot'), apply: true }, print);
      await runGrants(database.url, { role: 'viewer', user: login('viewer'), apply: true }, print);
      for (const role of roles) stores[role] = openStore(urls[role]);
    });

    afterAll(async () => {
      for (const store of Object.values(stores)) await closeStore(store).catch(() => undefined);
      await database?.drop();
      if (created) {
        const names = (['admin', 'scheduler', 'robot', 'viewer'] as const).map(login);
        await serverAdmin(dialect, names.map((name) => (dialect === 'postgres' ? `DROP ROLE IF EXISTS ${name}` : `DROP USER IF EXISTS '${name}'@'%'`)));
      }
      // The password of the test logins never appears in anything the program printed.
      expect(printed.join('\n')).not.toContain(password);
    });

    it('each login appears as the role it was granted (the Settings tab reads this)', async () => {
      expect((await probeAccess(stores.admin)).roles).toEqual(['admin']);
      expect((await probeAccess(stores.scheduler)).roles).toEqual(['scheduler']);
      const robot = await probeAccess(stores.robot);
      expect(robot.roles).toEqual(['robot']);
      expect(robot.summary).toMatch(/^robot: /);
      expect(robot.missing.scheduler?.length).toBeGreaterThan(0);
      const viewer = await probeAccess(stores.viewer);
      expect(viewer.roles).toEqual(['viewer']);
      expect(viewer.summary).toMatch(/^viewer: .*changes nothing/);
      const root = openStore(database.url);
      try {
        expect((await probeAccess(root)).roles).toEqual(['admin']);
      } finally {
        await closeStore(root);
      }
    });

    it('the admin login runs the Orchestrator: every tab and action', async () => {
      const { app } = await buildOrchestrator({ connectionString: urls.admin, cryptoKey: KEY });
      const call = async (method: string, url: string, payload?: unknown) => {
        const res = await (app as FastifyInstance).inject({
          method: method as 'GET',
          url,
          headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
          payload: payload === undefined ? undefined : JSON.stringify(payload),
        });
        expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
        expect(res.body).not.toContain(password);
        return JSON.parse(res.body || 'null') as Record<string, unknown> & { id?: string };
      };
      try {
        expect((await call('GET', '/api/settings/access')).roles).toEqual(['admin']);
        expect((await call('POST', '/api/settings/upgrade')).steps).toEqual([]);
        const base = { processName: 'p', processPath: ROBOT_MJS };
        const single = await call('POST', '/api/triggers', { type: 'SINGLE', triggerName: 'a-single', nextRun: '2099-01-01T07:00', ...base });
        const scheduled = await call('POST', '/api/triggers', { type: 'SCHEDULED', triggerName: 'a-cron', cronExpr: '0 7 * * 1-5', ...base });
        const queue = await call('POST', '/api/triggers', { type: 'QUEUE', triggerName: 'a-queue', queueName: 'q-admin', minBatchSize: 5, ...base });
        await call('PUT', `/api/triggers/${single.id}`, { type: 'SINGLE', triggerName: 'a-single-2', nextRun: '2099-01-02T07:00', ...base });
        await call('POST', `/api/triggers/${scheduled.id}/disable`);
        await call('POST', `/api/triggers/${scheduled.id}/enable`);
        await call('GET', '/api/triggers');
        for (const t of [single, scheduled, queue]) await call('DELETE', `/api/triggers/${t.id}`);
        await call('POST', '/api/constants', { name: 'c-admin', value: 'v1' });
        await call('PUT', '/api/constants/c-admin', { value: 'v2' });
        await call('GET', '/api/constants');
        await call('DELETE', '/api/constants/c-admin');
        await call('POST', '/api/credentials', { name: 'cr-admin', username: 'u', password: 'secret-1' });
        await call('PUT', '/api/credentials/cr-admin', { username: 'u2', password: 'secret-2' });
        await call('GET', '/api/credentials');
        await call('DELETE', '/api/credentials/cr-admin');
        const first = await call('POST', '/api/queues/q-admin/elements', { reference: 'r1', data: 'd1' });
        const second = await call('POST', '/api/queues/q-admin/elements', { reference: 'r2' });
        expect(((await call('GET', '/api/queues/q-admin/elements?search=r')) as { items?: unknown[] }).items).toHaveLength(2);
        await call('PATCH', `/api/queue-elements/${first.id}`, { status: 'FAILED', message: 'm' });
        await call('POST', '/api/queue-elements/retry', { ids: [first.id] });
        await call('DELETE', `/api/queue-elements/${second.id}`);
        for (const url of ['/api/queues', '/api/queues/throughput?queueName=q-admin', '/api/logs', '/api/logs/process-names', '/api/schedulers', '/api/jobs', '/api/jobs/process-names', '/api/jobs/durations']) {
          await call('GET', url);
        }
      } finally {
        await app.close();
      }
    });

    it('the viewer login reads every table and every Orchestrator tab, and changes nothing', async () => {
      for (const table of ALL_TABLE_NAMES) {
        await stores.viewer.db.selectFrom(table as 'Logs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      }
      const { app, session } = await buildOrchestrator({ connectionString: urls.viewer, cryptoKey: KEY });
      try {
        const call = (method: string, url: string, payload?: unknown) =>
          (app as FastifyInstance).inject({
            method: method as 'GET',
            url,
            headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
            payload: payload === undefined ? undefined : JSON.stringify(payload),
          });
        for (const url of ['/api/triggers', '/api/constants', '/api/credentials', '/api/queues', '/api/logs', '/api/schedulers', '/api/jobs', '/api/jobs/durations', '/api/dashboard', '/api/audit', '/api/operations/channels', '/api/operations/rules']) {
          const read = await call('GET', url);
          expect(read.statusCode, `${url}: ${read.body}`).toBe(200);
        }
        const before = await stores.admin.db.selectFrom('Constants').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
        for (const [method, url, payload] of [
          ['POST', '/api/constants', { name: 'c-viewer', value: 'v' }],
          ['POST', '/api/triggers', { type: 'SINGLE', triggerName: 'v-single', processName: 'p', processPath: 'p', nextRun: '2099-01-01T07:00' }],
          ['POST', '/api/queues/q-viewer/elements', { reference: 'r' }],
        ] as const) {
          const refused = await call(method, url, payload);
          expect(refused.statusCode, `${method} ${url}: ${refused.body}`).toBe(403);
          expect(refused.body).toMatch(/this login lacks .*openorchestrator grants/);
        }
        const after = await stores.admin.db.selectFrom('Constants').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
        expect(Number(after.n)).toBe(Number(before.n));
      } finally {
        await app.close();
        await session.close();
      }
    });

    it('the robot login: every robot-API call succeeds', async () => {
      const admin = stores.admin;
      await createConstant(admin, 'c-robot', 'v');
      await createCredential(admin, KEY, 'cr-robot', 'user', 'pass');
      const trigger = await createTrigger(admin, { type: 'SINGLE', triggerName: 'r-trigger', processName: 'r', processPath: ROBOT_MJS, nextRun: new Date(Date.now() + 3_600_000) });
      const oc = new OrchestratorConnection({ processName: 'robot-p', connectionString: urls.robot, cryptoKey: KEY, triggerId: trigger });
      try {
        await oc.logTrace('t');
        await oc.logInfo('i');
        await oc.logError('e');
        expect((await oc.getConstant('c-robot')).value).toBe('v');
        await oc.updateConstant('c-robot', 'v2');
        expect((await oc.getCredential('cr-robot')).password).toBe('pass');
        await oc.updateCredential('cr-robot', 'user2', 'pass2');
        const one = await oc.createQueueElement('q-robot', { reference: 'a', data: 'x' });
        // Claims go by created_date (milliseconds), ties in no set order: the next ones must be younger.
        while (Date.now() <= one.createdDate.getTime()) await new Promise((resolve) => setImmediate(resolve));
        expect(await oc.bulkCreateQueueElements('q-robot', [{ reference: 'b' }, { reference: 'c' }])).toBe(2);
        expect((await oc.getNextQueueElement('q-robot', { setStatus: false }))?.id).toBe(one.id);
        expect((await oc.getNextQueueElement('q-robot'))?.id).toBe(one.id);
        expect((await oc.getNextQueueElement('q-robot', { reference: 'c' }))?.reference).toBe('c');
        expect(await oc.getQueueElements('q-robot', { status: 'IN_PROGRESS' })).toHaveLength(2);
        await oc.setQueueElementStatus(one.id, 'DONE', 'ok');
        const changed = await oc.updateQueueElement(one.id, { reference: 'a2', data: 'y', createdBy: 'robot-p', createdDate: new Date(2026, 0, 1), status: 'FAILED', message: 'redo', startDate: null, endDate: null });
        expect(changed).toMatchObject({ reference: 'a2', data: 'y', status: 'FAILED', startDate: null });
        expect((await oc.getQueueElement(one.id)).message).toBe('redo');
        await oc.deleteQueueElement(one.id);
        expect(await oc.isTriggerPausing()).toBe(false);
        await oc.pauseMyTrigger();
        expect((await getTrigger(admin, trigger)).status).toBe('PAUSED');
        expect(await oc.isTriggerPausing()).toBe(true);
      } finally {
        await oc.close();
      }
      expect(await listLogs(admin, { processName: 'robot-p' })).toHaveLength(3);
      // What it changes through a team Orchestrator is recorded with its own login.
      await recordAudit(stores.robot, { login: login('robot'), action: 'constant.update', target: 'c-robot', clientAddress: null, before: null, after: null });
      expect((await listAudit(admin, { login: login('robot') })).map((row) => row.action)).toEqual(['constant.update']);
    });

    it('the scheduler login runs single, scheduled and queue triggers end to end, and reconciles a stale job', async () => {
      const admin = stores.admin;
      const machineName = `acc-${suffix}`;
      const robot = (name: string, extra: object) => ({ triggerName: name, processName: name, processPath: ROBOT_MJS, processArgs: '{}', isBlocking: false, ...extra }) as NewTrigger;
      const ids = [
        await createTrigger(admin, robot('s-single', { type: 'SINGLE', nextRun: ago(1000) })),
        await createTrigger(admin, robot('s-cron', { type: 'SCHEDULED', cronExpr: '0 0 1 1 *', nextRun: ago(1000) })),
        await createTrigger(admin, robot('s-queue', { type: 'QUEUE', queueName: 'q-sched', minBatchSize: 1 })),
      ];
      await createQueueElement(admin, 'q-sched', { reference: 'x' });
      // A job an earlier run of this machine left running: start-up marks it failed.
      const stale = await createTrigger(admin, robot('s-stale', { type: 'SINGLE', nextRun: new Date(Date.now() + 3_600_000) }));
      await transitionTriggerStatus(admin, stale, 'any', 'RUNNING');
      const staleJob = await startJob(admin, { processName: 's-stale', schedulerName: machineName, triggerId: stale });

      const s = startScheduler({ connectionString: urls.scheduler, machineName });
      try {
        await waitFor('three finished jobs', async () => {
          const jobs = await listJobs(admin, { schedulerName: machineName, status: 'DONE' });
          return jobs.length >= 3 ? jobs : undefined;
        });
      } finally {
        await s.stop();
      }
      const problems = s.lines.filter((line) => /database-unavailable|write-dropped|"level":"error"/.test(line));
      expect(problems).toEqual([]);
      expect(s.lines.join('\n')).not.toContain(password);
      expect((await getTrigger(admin, ids[0]!)).status).toBe('DONE');
      const cron = await getTrigger(admin, ids[1]!);
      expect(cron.status).toBe('IDLE');
      expect(cron.type === 'SCHEDULED' && cron.nextRun.getTime()).toBeGreaterThan(Date.now());
      expect((await getTrigger(admin, ids[2]!)).status).toBe('IDLE');
      expect((await getJob(admin, staleJob)).status).toBe('FAILED');
      expect((await getTrigger(admin, stale)).status).toBe('FAILED');
    });

    it('a scheduler login whose grants predate oo-014 (no SELECT on oo_queue_changes) says so once and polls every queue', async () => {
      const admin = stores.admin;
      const machineName = `acc-old-${suffix}`;
      const table = dialect === 'postgres' ? 'oo_queue_changes' : `\`${database.url.split('/').at(-1)}\`.\`oo_queue_changes\``;
      const account = dialect === 'postgres' ? login('scheduler') : `'${login('scheduler')}'@'%'`;
      // PostgreSQL: the admin login owns the table; MariaDB: the server's superuser grants.
      const asOwner = (statement: string) => (dialect === 'postgres' ? sql.raw(statement).execute(admin.db).then(() => undefined) : serverAdmin(dialect, [statement]));
      await asOwner(`REVOKE SELECT ON ${table} FROM ${account}`);
      const s = startScheduler({ connectionString: urls.scheduler, machineName, intervalSeconds: 0.5 });
      try {
        await waitFor('the refusal', () => s.lines.some((line) => line.includes('"tracking-refused"')));
        const id = await createTrigger(admin, { triggerName: 'old-grants', processName: 'old-grants', processPath: ROBOT_MJS, processArgs: '{}', isBlocking: false, type: 'QUEUE', queueName: 'q-old-grants', minBatchSize: 1 });
        await createQueueElement(admin, 'q-old-grants', { reference: 'x' });
        await waitFor('the queue trigger to run', async () => (await listJobs(admin, { schedulerName: machineName, status: 'DONE' })).find((job) => job.triggerId === id));
      } finally {
        await s.stop();
        await asOwner(`GRANT SELECT ON ${table} TO ${account}`);
      }
      expect(s.lines.filter((line) => line.includes('"tracking-refused"'))).toHaveLength(1);
      expect(s.lines.filter((line) => /database-unavailable|write-dropped/.test(line))).toEqual([]);
    });

    // What each role must not do, and the right the message must name.
    const forbidden: Array<{ role: RoleName; action: string; run: (store: Store) => Promise<unknown>; expected: Record<Dialect, RegExp>; only?: Dialect }> = [];
    const q = (name: string) => (dialect === 'postgres' ? `"${name}"` : `\`${name}\``);
    const dropTable = async (store: Store) => sql.raw(`DROP TABLE ${q('Logs')}`).execute(store.db);
    const alterTable = async (store: Store) => sql.raw(`ALTER TABLE ${q('Logs')} ADD COLUMN oo_forbidden INTEGER`).execute(store.db);
    const createTriggerAs = (store: Store) => createTrigger(store, { type: 'SINGLE', triggerName: `x-${randomBytes(3).toString('hex')}`, processName: 'x', processPath: 'x', nextRun: new Date() });
    const deleteSomeTrigger = async (store: Store) => {
      const id = await createTrigger(stores.admin, { type: 'SINGLE', triggerName: `d-${randomBytes(3).toString('hex')}`, processName: 'x', processPath: 'x', nextRun: new Date(Date.now() + 3_600_000) });
      return deleteTrigger(store, id);
    };
    for (const role of ['scheduler', 'robot'] as const) {
      forbidden.push(
        { role, action: 'drop a table', run: dropTable, expected: { postgres: /lacks ownership of table Logs/, mysql: /lacks the DROP right on table Logs/ } },
        { role, action: 'alter the schema', run: alterTable, expected: { postgres: /lacks ownership of table Logs/, mysql: /lacks the ALTER right on table Logs/ } },
        { role, action: 'delete a trigger', run: deleteSomeTrigger, expected: { postgres: /lacks the right .* on table Single_Triggers/, mysql: /lacks the DELETE right on table Single_Triggers/ } },
        { role, action: 'create a trigger', run: createTriggerAs, expected: { postgres: /lacks the right .* on table Triggers/, mysql: /lacks the INSERT right on table Triggers/ } },
      );
    }
    const insertAudit = (store: Store) => recordAudit(store, { login: 'x', action: 'x.y', target: null, clientAddress: null, before: null, after: null });
    forbidden.push(
      { role: 'viewer', action: 'create a trigger', run: createTriggerAs, expected: { postgres: /lacks the right .* on table Triggers/, mysql: /lacks the INSERT right on table Triggers/ } },
      { role: 'viewer', action: 'update a constant', run: (s) => updateConstant(s, 'c-robot', 'x'), expected: { postgres: /on table Constants/, mysql: /lacks the UPDATE right on (column|table) Constants/ } },
      { role: 'viewer', action: 'delete logs', run: (s) => s.db.deleteFrom('Logs').execute(), expected: { postgres: /on table Logs/, mysql: /lacks the DELETE right on table Logs/ } },
      { role: 'viewer', action: 'write the audit trail', run: insertAudit, expected: { postgres: /on table oo_audit/, mysql: /lacks the INSERT right on table oo_audit/ } },
      { role: 'robot', action: 'read the audit trail', run: (s) => listAudit(s), expected: { postgres: /on table oo_audit/, mysql: /lacks the SELECT right on table oo_audit/ } },
      { role: 'scheduler', action: 'write the audit trail', run: insertAudit, expected: { postgres: /on table oo_audit/, mysql: /lacks the INSERT right on table oo_audit/ } },
      { role: 'robot', action: 'rename a trigger', run: (s) => s.db.updateTable('Triggers').set({ trigger_name: 'x' }).where('trigger_name', '=', 'none').execute(), expected: { postgres: /on table Triggers/, mysql: /lacks the UPDATE right on column Triggers.trigger_name/ } },
      { role: 'robot', action: 'read jobs', run: (s) => listJobs(s), expected: { postgres: /on table Jobs/, mysql: /lacks the SELECT right on table Jobs/ } },
      { role: 'scheduler', action: 'read a credential', run: (s) => getCredential(s, KEY, 'cr-robot'), expected: { postgres: /on table Credentials/, mysql: /lacks the SELECT right on table Credentials/ } },
      { role: 'scheduler', action: 'read a constant', run: (s) => s.db.selectFrom('Constants').selectAll().execute(), expected: { postgres: /on table Constants/, mysql: /lacks the SELECT right on table Constants/ } },
      { role: 'scheduler', action: "read queue elements' data", run: (s) => getQueueElements(s, 'q-robot'), expected: { postgres: /on table Queues/, mysql: /lacks the SELECT right on (column|table) Queues/ } },
      { role: 'admin', action: 'drop a table', run: dropTable, expected: { postgres: /never/, mysql: /lacks the DROP right on table Logs/ }, only: 'mysql' },
    );

    it.each(forbidden.filter((f) => !f.only || f.only === dialect).map((f) => [f.role, f.action, f] as const))('as %s: %s is refused, naming the missing right', async (role, _action, f) => {
      let caught: unknown;
      try {
        await f.run(stores[role]);
      } catch (error) {
        caught = error;
      }
      expect(caught, 'the action should have been refused').toBeDefined();
      const message = toDatabaseError(caught, stores[role].config).message;
      printed.push(message);
      expect(message).toMatch(f.expected[dialect]);
      expect(message).toMatch(/openorchestrator grants/);
      expect(message).not.toContain('\n');
    });
  });
}
