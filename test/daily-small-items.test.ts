/**
 * The smaller items of issue 22, each as a user meets it: a Windows SQLite path on Linux is
 * refused in one line (CLI and Settings); a Scheduler whose very first connection is refused
 * for its login stops with one line instead of retrying for ever; enabling a single trigger that
 * has run and whose time has passed is refused (it would run at once); the failure line under a
 * trigger is the error's own line, not the stack's source line.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSqlitePath, parseConnectionString } from '../src/config/connection-string.js';
import { createLog } from '../src/db/store/logs.js';
import { endJob, startJob } from '../src/db/store/jobs.js';
import { createTrigger, setTriggerStatus } from '../src/db/store/triggers.js';
import { REQUEST_HEADER, buildOrchestrator } from '../src/orchestrator/server.js';
import { runCli } from './helpers/cli.js';
import { KEY, spawnCliScheduler, tempDir } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const WINDOWS_PATH = 'sqlite+pysqlite:///C:\\Users\\abc\\Desktop\\temp\\db.db';

describe('a Windows SQLite path on Linux', () => {
  it('is refused in one line where the file would be opened, and no file is made', async () => {
    const result = await runCli(['upgrade', WINDOWS_PATH]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'error: the SQLite path C:\\Users\\abc\\Desktop\\temp\\db.db is a Windows path, and this is linux: give a path on this machine, e.g. sqlite:////home/me/orchestrator.db or sqlite:///orchestrator.db (relative to the current folder)\n',
    );
    // runCli runs in the repository's folder, where SQLite would have made the file.
    expect(existsSync(join(fileURLToPath(new URL('..', import.meta.url)), 'C:\\Users\\abc\\Desktop\\temp\\db.db'))).toBe(false);
  });

  it('parses the same everywhere and is accepted on Windows', () => {
    const config = parseConnectionString(WINDOWS_PATH);
    expect(config.filename).toBe('C:\\Users\\abc\\Desktop\\temp\\db.db');
    expect(() => checkSqlitePath(config, 'win32')).not.toThrow();
    expect(() => checkSqlitePath(parseConnectionString('sqlite:///C:/data/oo.db'), 'darwin')).toThrow(/is a Windows path, and this is darwin/);
    expect(() => checkSqlitePath(parseConnectionString('sqlite:////home/me/oo.db'), 'linux')).not.toThrow();
  });

  it('is refused by the Settings tab in one line, and the session stays as it was', async () => {
    const { app } = await buildOrchestrator();
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/api/settings/connect',
        headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', 'content-type': 'application/json' },
        payload: JSON.stringify({ connectionString: WINDOWS_PATH }),
      });
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body).error).toMatch(/^the SQLite path C:\\Users\\abc\\Desktop\\temp\\db\.db is a Windows path, and this is linux/);
    } finally {
      await app.close();
    }
  });
});

describe('a Scheduler whose first connection is refused for its login', () => {
  it('stops at once with one line that names the problem and never the password', async () => {
    const started = Date.now();
    const cli = spawnCliScheduler(['--interval', '0.2', '--machine-name', 'wrong-pw', '--work-dir', tempDir()], {
      OpenOrchestratorConnString: 'mysql+pymysql://oo_nobody:Wr0ng-pw-here@127.0.0.1:3306/mysql',
      OpenOrchestratorKey: KEY,
    });
    expect(await cli.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    const stderr = cli.stderr();
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^error: database error \(mysql at 127\.0\.0\.1:3306\/mysql \(user oo_nobody\)\): access denied; check the user name and password; the Scheduler stops: fix the connection string and start it again\n$/);
    expect(cli.stdout() + stderr).not.toContain('Wr0ng-pw-here');
  });
});

describe('trigger rules (SQLite)', () => {
  let live: TestStore;
  let app: FastifyInstance;
  beforeAll(async () => {
    live = await openTestStore('sqlite');
    ({ app } = await buildOrchestrator({ connectionString: live.url, cryptoKey: KEY }));
  });
  afterAll(async () => {
    await app?.close();
    await live?.close();
  });
  const call = async (method: string, url: string) => {
    const res = await app.inject({ method: method as 'GET', url, headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1' } });
    return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
  };

  it('enabling a single trigger that has run and whose time has passed is refused; a future time or a Paused one is enabled', async () => {
    const single = (name: string, nextRun: Date) => createTrigger(live.store, { type: 'SINGLE', triggerName: name, processName: name, processPath: 'x.py', nextRun, schedulerWhitelist: ['NOBODY'] });
    const spent = await single('spent', new Date(Date.now() - 60_000));
    await setTriggerStatus(live.store, spent, 'DONE');
    const refused = await call('POST', `/api/triggers/${spent}/enable`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/^cannot enable trigger "spent": a single trigger runs once and its time \(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\) has passed; give it a new time \(edit it\) or use Run now$/);
    expect((await call('GET', `/api/triggers/${spent}`)).body.status).toBe('DONE');

    const later = await single('later', new Date(Date.now() + 3_600_000));
    await setTriggerStatus(live.store, later, 'FAILED');
    expect((await call('POST', `/api/triggers/${later}/enable`)).body.status).toBe('IDLE');
    // Paused before it ran: enabling lets it run, as it was waiting to.
    const paused = await single('paused-due', new Date(Date.now() - 60_000));
    await setTriggerStatus(live.store, paused, 'PAUSED');
    expect((await call('POST', `/api/triggers/${paused}/enable`)).body.status).toBe('IDLE');
  });

  it("shows under a Failed trigger the error's own line, not the source line node prints first", async () => {
    const id = await createTrigger(live.store, { type: 'SINGLE', triggerName: 'node fails', processName: 'node-fails', processPath: 'main.mjs', nextRun: new Date(2030, 0, 1) });
    const job = await startJob(live.store, { processName: 'node-fails', schedulerName: 'PC', triggerId: id });
    const message = 'process "node-fails" (trigger "node fails") exited with code 1; its error output:\nfile:///r/main.mjs:3\nthrow new Error(\'the ERP is down\');\n^\n\nError: the ERP is down\n    at file:///r/main.mjs:3:7\n\nNode.js v20.20.2';
    await createLog(live.store, { level: 'ERROR', processName: 'node-fails', message, jobId: job });
    await endJob(live.store, job, 'FAILED');
    await setTriggerStatus(live.store, id, 'FAILED');
    const trigger = (await call('GET', `/api/triggers/${id}`)).body;
    expect(trigger.failure).toMatchObject({ summary: 'Error: the ERP is down', message, jobId: job });
  });

  it('a bulk upload is all or none: a bad element is named by its index and nothing is written', async () => {
    const post = async (body: unknown) => {
      const res = await app.inject({ method: 'POST', url: '/api/queues/bulk-q/elements/bulk', headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', 'content-type': 'application/json' }, payload: JSON.stringify(body) });
      return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
    };
    const count = async () => (await live.store.db.selectFrom('Queues').select('id').where('queue_name', '=', 'bulk-q').execute()).length;
    const elements = Array.from({ length: 500 }, (_, i) => ({ reference: `B-${i}`, data: `{"n": ${i}}` }));
    const refused = await post({ elements: [...elements, { reference: 'x', data: 'd'.repeat(2001) }] });
    expect(refused).toEqual({ status: 400, body: { error: 'elements.500.data is too long: the limit is 2000 characters' } });
    expect(await count()).toBe(0);
    expect(await post({ elements })).toEqual({ status: 201, body: { created: 500 } });
    expect(await count()).toBe(500);
  });
});
