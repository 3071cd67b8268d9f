/**
 * Sharing one database with the Python OpenOrchestrator: on databases as the Python releases
 * (2.0.x, 3.0.0) and our own 0.1.0 left them, with their rows, on SQLite, PostgreSQL and MariaDB.
 * Before `upgrade` the Scheduler and the Orchestrator say in one line what to do and change
 * nothing; after it, the Orchestrator's API and a real Scheduler work, robots get the 3.0 argv
 * with the job id, and a Python Scheduler's running job is never taken for ours.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrchestratorConnection } from '../src/connection/orchestrator-connection.js';
import { closeStore, openStore, type Store } from '../src/db/open.js';
import { upgradeDatabase } from '../src/db/schema/upgrade.js';
import { getJob } from '../src/db/store/jobs.js';
import { listLogs } from '../src/db/store/logs.js';
import { getTrigger } from '../src/db/store/triggers.js';
import { SchemaError } from '../src/errors.js';
import { buildOrchestrator } from '../src/orchestrator/server.js';
import { readAllRows } from './helpers/catalog.js';
import { createTestDatabase, LIVE_DIALECTS, type TestDatabase } from './helpers/databases.js';
import { KEY, ROBOTS, startScheduler, tempDir, waitFor, waitForEndedJob } from './helpers/scheduler.js';
import { buildShape, hasJobs, insertPythonRows, pythonRows, PYTHON_IDS, SHAPES, type Shape } from './helpers/upstream-schemas.js';

/** The shapes teams have in production: 2.0.x, 3.0.0 (fresh and upgraded from 2.0.1), and ours. */
const PEERS = SHAPES.filter((shape) => shape.whitelistNotNull || shape.ours || shape.revision === '1c87ed320c78');
const HEADERS = { 'content-type': 'application/json', 'x-openorchestrator-request': '1' };

describe.each(LIVE_DIALECTS)('a database shared with the Python tools, on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;

  beforeEach(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url);
  });
  afterEach(async () => {
    await closeStore(store);
    await database.drop();
  });

  it('a robot on a 2.0.x database nobody upgraded works; what needs the newer schema says to run upgrade', async () => {
    const shape = SHAPES.find((s) => s.whitelistNotNull && s.revision === '90d46abd44a3')!;
    await buildShape(store.db, dialect, shape);
    await insertPythonRows(store.db, dialect, shape.revision, shape);
    const plain = new OrchestratorConnection({ processName: 'old-db-robot', connectionString: database.url, cryptoKey: KEY });
    const withJob = new OrchestratorConnection({ processName: 'old-db-robot', connectionString: database.url, cryptoKey: KEY, jobId: randomUUID() });
    try {
      await plain.logInfo('works on 2.0.x');
      expect((await plain.getConstant('greeting')).value).toBe('hello');
      expect((await plain.getQueueElement(PYTHON_IDS.queueElement)).reference).toBe('INV-17');
      const error = await withJob.logInfo('needs Logs.job_id').then(() => undefined, (e: unknown) => e as Error);
      expect(error?.message).toMatch(/the database schema lacks what this program needs \(.*job_id.*\): run `openorchestrator upgrade` on it once/);
      expect(error?.message).not.toContain('\n');
    } finally {
      await plain.close();
      await withJob.close();
    }
  });

  describe.each(PEERS.map((shape) => [shape.label, shape] as const))('made at %s', (_label, shape: Shape) => {
    const tables = () => Object.keys(pythonRows(dialect, shape.revision, shape));

    it('before upgrade: the Scheduler refuses in one line and writes nothing; the Orchestrator asks for the upgrade', async () => {
      await buildShape(store.db, dialect, shape);
      await insertPythonRows(store.db, dialect, shape.revision, shape);
      const before = await readAllRows(store.db, dialect, tables());

      const s = startScheduler({ connectionString: database.url, machineName: 'PC1' });
      const error = await s.done.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaError);
      expect((error as Error).message).toMatch(/^the database schema \(.+\) is older than this program needs .*: run `openorchestrator upgrade` on it once/);
      expect((error as Error).message).not.toContain('\n');
      // Not a heartbeat, not a claim, not a moved next_run: every row as the Python tool left it.
      expect(await readAllRows(store.db, dialect, tables())).toEqual(before);

      const { app, session } = await buildOrchestrator({ connectionString: database.url, cryptoKey: KEY });
      try {
        expect((await app.inject({ method: 'GET', url: '/api/settings' })).json()).toMatchObject({ connected: true, needsUpgrade: true });
        const refused = await app.inject({ method: 'GET', url: '/api/triggers' });
        expect(refused.statusCode).toBe(409);
        expect(refused.json().error).toMatch(/Upgrade database/);
      } finally {
        await app.close();
        await session.disconnect();
      }
      expect(await readAllRows(store.db, dialect, tables())).toEqual(before);
    });

    it('after upgrade: the Orchestrator API and a real Scheduler work; robots get seven argv values and log with the job id', async () => {
      await buildShape(store.db, dialect, shape);
      await insertPythonRows(store.db, dialect, shape.revision, shape);
      await upgradeDatabase(store.db, store.dialect);
      const tmp = tempDir();
      const out = join(tmp, 'argv.json');

      const { app, session } = await buildOrchestrator({ connectionString: database.url, cryptoKey: KEY });
      let py: string;
      let ts: string;
      try {
        const triggers = ((await app.inject({ method: 'GET', url: '/api/triggers' })).json() as { items: { triggerName: string }[] }).items;
        expect(triggers.map((t) => t.triggerName)).toEqual(['Nightly report']);
        if (hasJobs(shape)) {
          // Jobs a Python Scheduler wrote have no trigger; they are listed and filtered all the same.
          const jobs = (await app.inject({ method: 'GET', url: '/api/jobs?processName=report' })).json() as { items: { id: string; triggerId: string | null; status: string }[]; total: number };
          expect(jobs.total).toBe(2);
          expect(jobs.items.map((j) => [j.id, j.status, j.triggerId])).toEqual([
            [PYTHON_IDS.runningJob, 'RUNNING', shape.ours ? PYTHON_IDS.trigger : null],
            [PYTHON_IDS.doneJob, 'DONE', shape.ours ? PYTHON_IDS.trigger : null],
          ]);
          const running = (await app.inject({ method: 'GET', url: '/api/jobs?status=RUNNING' })).json() as { total: number };
          expect(running.total).toBe(1);
        }
        const create = async (body: object) => {
          const res = await app.inject({ method: 'POST', url: '/api/triggers', headers: HEADERS, payload: { type: 'SINGLE', nextRun: '2020-01-01T00:00:00', isBlocking: false, schedulerWhitelist: [], ...body } });
          expect(res.statusCode, res.body).toBe(201);
          return (res.json() as { id: string }).id;
        };
        py = await create({ triggerName: 'py 3.0 robot', processName: 'py30', processPath: join(ROBOTS, 'argv30.py'), processArgs: out });
        ts = await create({ triggerName: 'ts robot', processName: 'ts-logger', processPath: join(ROBOTS, 'logger.ts') });
      } finally {
        await app.close();
        await session.disconnect();
      }

      // Same machine name as the Python Scheduler whose job is still running.
      const s = startScheduler({ connectionString: database.url, machineName: 'PC1' });
      try {
        const pyJob = await waitForEndedJob(store, py);
        expect(pyJob.status).toBe('DONE');
        const seen = JSON.parse(readFileSync(out, 'utf8')) as { argv: string[]; job_id: string; trigger_id: string };
        expect(seen.argv).toHaveLength(6);
        expect(seen.job_id).toBe(pyJob.id);
        expect(seen.trigger_id).toBe(py);
        expect((await getTrigger(store, py)).status).toBe('DONE');

        const tsJob = await waitForEndedJob(store, ts);
        expect(tsJob.status).toBe('DONE');
        const logs = await waitFor('the TypeScript robot log', async () => {
          const found = await listLogs(store, { processName: 'ts-logger' });
          return found.length > 0 ? found : undefined;
        });
        expect(logs.map((log) => log.jobId)).toEqual([tsJob.id]);

        // A Python Scheduler's running job is its own; one our 0.1.0 left on PC1 is ours to end.
        if (hasJobs(shape)) expect((await getJob(store, PYTHON_IDS.runningJob)).status).toBe(shape.ours ? 'FAILED' : 'RUNNING');
      } finally {
        await s.stop();
      }
      if (hasJobs(shape)) expect((await getJob(store, PYTHON_IDS.runningJob)).status).toBe(shape.ours ? 'FAILED' : 'RUNNING');
    });
  });
});
