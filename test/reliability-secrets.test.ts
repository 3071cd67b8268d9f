/**
 * Secrets stay secret: a run on PostgreSQL whose connection string carries a password (trust
 * auth here, so any password is accepted: it really is used) and whose key and credential
 * password are known. Everything the system printed or served is collected (CLI output, the
 * Scheduler's console and its robots' recorded output, HTTP responses, error messages, the
 * Logs and Jobs tables) and none of it contains the database password, the key or the
 * credential password.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorConnection } from '../src/connection/orchestrator-connection.js';
import { generateKey } from '../src/crypto/fernet.js';
import { createTrigger } from '../src/db/store/triggers.js';
import { REQUEST_HEADER, buildOrchestrator } from '../src/orchestrator/server.js';
import { bundles, runBundledCli, spawnNode, snapshotDatabase } from './helpers/reliability.js';
import { ROBOTS, tempDir, waitFor, waitForEndedJob } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const DB_PASSWORD = 'Db-Pa55word-Xq9z';
const KEY = generateKey();
const CRED_PASSWORD = 'Cred-Pa55word-Kw7v';

describe('secrets never leave', () => {
  let live: TestStore;
  let url: string;
  const seen: Array<[string, string]> = [];
  const record = (where: string, text: unknown) => seen.push([where, typeof text === 'string' ? text : JSON.stringify(text)]);

  beforeAll(async () => {
    live = await openTestStore('postgres');
    url = live.url.replace('://postgres@', `://postgres:${DB_PASSWORD}@`);
    expect(url).toContain(DB_PASSWORD);
  });
  afterAll(() => live?.close());

  it('in CLI output, Scheduler output, HTTP responses, error messages and the database tables', { timeout: 90_000 }, async () => {
    const { cli } = await bundles();
    const wrongDb = url.replace(/\/[^/]+$/, '/no_such_database_here');
    const unreachable = url.replace('127.0.0.1:5432', '127.0.0.1:1');

    // CLI: a good upgrade, a missing database, an unreachable server.
    for (const [name, args] of [
      ['upgrade', ['upgrade', url]],
      ['upgrade missing database', ['upgrade', wrongDb]],
      ['upgrade unreachable', ['upgrade', unreachable]],
      ['scheduler with a bad interval', ['scheduler', '--connection-string', url, '--key', KEY, '--interval', 'x']],
    ] as const) {
      const r = await runBundledCli([...args]);
      record(`cli ${name} stdout`, r.stdout);
      record(`cli ${name} stderr`, r.stderr);
    }

    // HTTP: the Orchestrator on the password URL; a credential goes in, everything is read back.
    const { app } = await buildOrchestrator({ connectionString: url, cryptoKey: KEY });
    try {
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await app.inject({ method: method as 'GET', url: path, headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', ...(body ? { 'content-type': 'application/json' } : {}) }, payload: body ? JSON.stringify(body) : undefined });
        record(`http ${method} ${path} (${res.statusCode})`, `${JSON.stringify(res.headers)}\n${res.body}`);
        return res;
      };
      expect((await call('POST', '/api/credentials', { name: 'erp', username: 'robot', password: CRED_PASSWORD })).statusCode).toBe(201);
      for (const path of ['/api/settings', '/api/credentials', '/api/constants', '/api/logs', '/api/jobs', '/api/queues', '/api/schedulers', '/api/triggers', '/api/openapi.json']) await call('GET', path);
      await call('POST', '/api/settings/connect', { connectionString: wrongDb, cryptoKey: KEY });
      await call('POST', '/api/settings/connect', { connectionString: unreachable });
      await call('POST', '/api/settings/connect', { connectionString: url, cryptoKey: 'not-a-key' });
      await call('GET', '/api/settings');
    } finally {
      await app.close();
    }

    // Robot API: reads the credential (the password is the robot's to use, not to print), and
    // its errors on a missing database.
    const oc = new OrchestratorConnection({ processName: 'secretive', connectionString: url, cryptoKey: KEY });
    expect((await oc.getCredential('erp')).password).toBe(CRED_PASSWORD);
    await oc.logInfo('working with the erp login');
    await oc.close();
    const broken = new OrchestratorConnection({ processName: 'p', connectionString: wrongDb, cryptoKey: KEY });
    await broken.getConstant('x').catch((error: Error) => record('robot api error', `${error.message}\n${error.stack}`));
    await broken.close();

    // The Scheduler as a process: runs a robot that fails, and one that succeeds.
    const file = join(tempDir(), 'events');
    const failing = await createTrigger(live.store, { type: 'SINGLE', nextRun: new Date(Date.now() - 1000), triggerName: 'fails', processName: 'fails', processPath: join(ROBOTS, 'robot.mjs'), processArgs: JSON.stringify({ file, exitCode: 3, stderr: 'robot failed' }), isBlocking: false });
    const ok = await createTrigger(live.store, { type: 'SINGLE', nextRun: new Date(Date.now() - 1000), triggerName: 'works', processName: 'works', processPath: join(ROBOTS, 'robot.mjs'), processArgs: JSON.stringify({ file }), isBlocking: false });
    const scheduler = spawnNode(cli, ['scheduler', '--interval', '0.2', '--machine-name', 'secret-test', '--work-dir', tempDir()], { env: { OpenOrchestratorConnString: url, OpenOrchestratorKey: KEY }, timeoutMs: 60_000 });
    try {
      await waitForEndedJob(live.store, failing, 40_000);
      await waitForEndedJob(live.store, ok, 40_000);
    } finally {
      scheduler.kill('SIGTERM');
    }
    const result = await scheduler.done;
    record('scheduler stdout', result.stdout);
    record('scheduler stderr', result.stderr);
    await waitFor('scheduler output', () => result.stdout.length + result.stderr.length > 0);

    // What the system wrote into the database for people to read.
    record('database rows', await snapshotDatabase(live.store));

    const secrets = { 'database password': DB_PASSWORD, 'encryption key': KEY, 'credential password': CRED_PASSWORD };
    const leaks: string[] = [];
    for (const [where, text] of seen) {
      for (const [what, secret] of Object.entries(secrets)) {
        for (const form of new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])) {
          if (text.includes(form)) leaks.push(`${what} in ${where}`);
        }
      }
    }
    expect(leaks).toEqual([]);
    expect(seen.length).toBeGreaterThan(20);
    // The checks saw real output, not empty strings.
    expect(seen.find(([w]) => w === 'cli upgrade missing database stderr')![1]).toMatch(/does not exist/);
    expect(seen.find(([w]) => w.startsWith('http GET /api/credentials'))![1]).toContain('erp');
  });
});
