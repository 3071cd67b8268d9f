/**
 * Hostile and broken input through every entry point (CLI flags, connection strings, the HTTP
 * API, the robot API): each case gives one clear line of error and the database (every row of
 * every table) is exactly as it was.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorConnection } from '../src/connection/orchestrator-connection.js';
import { generateKey } from '../src/crypto/fernet.js';
import { createCredential } from '../src/db/store/credentials.js';
import { createConstant } from '../src/db/store/constants.js';
import { bulkCreateQueueElements } from '../src/db/store/queues.js';
import { REQUEST_HEADER, buildOrchestrator } from '../src/orchestrator/server.js';
import { runBundledCli, snapshotDatabase } from './helpers/reliability.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const KEY = generateKey();
const OTHER_KEY = generateKey();
const HUGE = 'x'.repeat(200_000);
const ZERO_UUID = '00000000-0000-4000-8000-000000000000';

let live: TestStore;
let app: FastifyInstance;
let oc: OrchestratorConnection;
let before: string;

beforeAll(async () => {
  live = await openTestStore('sqlite');
  await createConstant(live.store, 'c', 'v');
  await createCredential(live.store, KEY, 'cred', 'user', 'pw');
  await bulkCreateQueueElements(live.store, 'q', [{ reference: 'r1' }, { reference: 'r2' }]);
  ({ app } = await buildOrchestrator({ connectionString: live.url, cryptoKey: KEY }));
  oc = new OrchestratorConnection({ processName: 'hostile', connectionString: live.url, cryptoKey: KEY });
  before = await snapshotDatabase(live.store);
});
afterAll(async () => {
  await oc?.close();
  await app?.close();
  await live?.close();
});

function expectOneClearLine(message: string | undefined): void {
  expect(message, 'an error message').toBeTruthy();
  const text = message!.trim();
  expect(text.split('\n'), text).toHaveLength(1);
  expect(text).not.toMatch(/\bat .*\(.*:\d+:\d+\)|\[object Object\]|undefined is not|Cannot read prop/);
  expect(text.length).toBeLessThan(400);
}

async function expectUnchanged(): Promise<void> {
  expect(await snapshotDatabase(live.store)).toBe(before);
}

// ---- connection strings (parsed when a connection is made) ----
const connectionStrings: Array<[string, string]> = [
  ['empty', ''],
  ['no scheme', 'just some text'],
  ['unknown dialect', 'nosql+magic://u:p@h/db'],
  ['unknown driver', 'postgresql+notadriver://u:p@h/db'],
  ['port not a number', 'postgresql://u:p@h:port/db'],
  ['port out of range', 'postgresql://u:p@h:99999/db'],
  ['control characters', 'postgresql://u:p@h\u0000\u0007/db'],
  ['unicode host', 'mysql+pymysql://u:p@hóst💥/db'],
  ['bad percent-encoding', 'postgresql://u:%ZZ@h/db'],
  ['path traversal sqlite', 'sqlite:///../../../../../../proc/self/nonexistent/x.db'],
  ['huge', `postgresql://u:p@h/${HUGE}`],
  ['SQL in database name', "postgresql://u:p@h/db'; DROP TABLE \"Queues\"; --"],
];

describe('connection strings', () => {
  it.each(connectionStrings)('%s', async (_name, url) => {
    let message: string | undefined;
    try {
      const c = new OrchestratorConnection({ processName: 'p', connectionString: url, cryptoKey: KEY });
      try {
        await c.getConstant('c');
      } finally {
        await c.close();
      }
    } catch (error) {
      message = (error as Error).message;
    }
    expectOneClearLine(message);
    await expectUnchanged();
  });
});

// ---- the robot API ----
const robotCalls: Array<[string, () => Promise<unknown>]> = [
  ['empty queue name', () => oc.getNextQueueElement('')],
  ['queue name too long', () => oc.getNextQueueElement('q'.repeat(101))],
  ['queue name not text', () => oc.getNextQueueElement(42 as unknown as string)],
  ['queue name null', () => oc.getNextQueueElement(null as unknown as string)],
  ['element data too long', () => oc.createQueueElement('q', { data: HUGE })],
  ['element reference object', () => oc.createQueueElement('q', { reference: {} as unknown as string })],
  ['bulk with one bad element', () => oc.bulkCreateQueueElements('q', [{ reference: 'ok' }, { data: HUGE }])],
  ['bulk not an array', () => oc.bulkCreateQueueElements('q', 'nope' as unknown as [])],
  ['status of SQL-injection id', () => oc.setQueueElementStatus("1' OR '1'='1", 'DONE')],
  ['status not a status', () => oc.setQueueElementStatus(ZERO_UUID, 'FINISHED' as 'DONE')],
  ['status of unknown element', () => oc.setQueueElementStatus(ZERO_UUID, 'DONE')],
  ['message too long', () => oc.setQueueElementStatus(ZERO_UUID, 'DONE', HUGE)],
  ['delete unknown element', () => oc.deleteQueueElement(ZERO_UUID)],
  ['log message not text', () => oc.logInfo({ toString: () => 'x' } as unknown as string)],
  ['missing constant', () => oc.getConstant('no such constant')],
  ['update missing constant', () => oc.updateConstant("c'; DELETE FROM \"Constants\"; --", 'v')],
  ['constant name with control characters', () => oc.getConstant('c\u0000\u001b[31m')],
  ['missing credential', () => oc.getCredential('../../etc/passwd')],
  ['credential with the wrong key', async () => {
    const wrong = new OrchestratorConnection({ processName: 'p', connectionString: live.url, cryptoKey: OTHER_KEY });
    try {
      return await wrong.getCredential('cred');
    } finally {
      await wrong.close();
    }
  }],
  ['key that is no Fernet key', async () => new OrchestratorConnection({ processName: 'p', connectionString: live.url, cryptoKey: 'not-a-key' })],
  ['empty process name', async () => new OrchestratorConnection({ processName: '', connectionString: live.url, cryptoKey: KEY })],
  ['pause without a trigger', () => oc.pauseMyTrigger()],
];

describe('robot API', () => {
  it.each(robotCalls)('%s', async (_name, call) => {
    let message: string | undefined;
    try {
      await call();
    } catch (error) {
      message = (error as Error).message;
    }
    expectOneClearLine(message);
    await expectUnchanged();
  });
});

// ---- the HTTP API ----
const json = { 'content-type': 'application/json' };
const httpCases: Array<[string, string, string, unknown?, Record<string, string>?]> = [
  ['trigger without a type', 'POST', '/api/triggers', { triggerName: 't', processName: 'p', processPath: 'x.py' }],
  ['trigger with a wrong type', 'POST', '/api/triggers', { type: 'SOMETIMES', triggerName: 't', processName: 'p', processPath: 'x.py' }],
  ['trigger name as number', 'POST', '/api/triggers', { type: 'SINGLE', triggerName: 5, processName: 'p', processPath: 'x.py', nextRun: '2030-01-01T00:00:00' }],
  ['trigger with a bad cron', 'POST', '/api/triggers', { type: 'SCHEDULED', triggerName: 't', processName: 'p', processPath: 'x.py', cronExpr: '61 25 * * * *' }],
  ['trigger with a huge name', 'POST', '/api/triggers', { type: 'SINGLE', triggerName: HUGE, processName: 'p', processPath: 'x.py', nextRun: '2030-01-01T00:00:00' }],
  ['trigger with a bad date', 'POST', '/api/triggers', { type: 'SINGLE', triggerName: 't', processName: 'p', processPath: 'x.py', nextRun: 'tomorrow-ish' }],
  ['not JSON', 'POST', '/api/constants', '{"name": "a", "value": ', json],
  ['JSON array body', 'POST', '/api/constants', '[1,2,3]', json],
  ['constant with extra field', 'POST', '/api/constants', { name: 'a', value: 'b', admin: true }],
  ['constant with empty name', 'POST', '/api/constants', { name: '', value: 'b' }],
  ['duplicate constant', 'POST', '/api/constants', { name: 'c', value: 'other' }],
  ['constant value null', 'POST', '/api/constants', { name: 'n', value: null }],
  ['credential without password', 'POST', '/api/credentials', { name: 'x', username: 'u' }],
  ['queue element with huge data', 'POST', '/api/queues/q/elements', { data: HUGE }],
  ['element id with SQL', 'GET', `/api/queue-elements/${encodeURIComponent("1' OR 1=1 --")}`],
  ['element path traversal', 'GET', '/api/queue-elements/..%2F..%2Fetc%2Fpasswd'],
  ['retry with no ids', 'POST', '/api/queue-elements/retry', { ids: [] }],
  ['retry with bad id', 'POST', '/api/queue-elements/retry', { ids: ['x'] }],
  ['patch element bad status', 'PATCH', `/api/queue-elements/${ZERO_UUID}`, { status: 'SOMETHING' }],
  ['logs with negative limit', 'GET', '/api/logs?limit=-5'],
  ['logs with a bad level', 'GET', '/api/logs?level=LOUD'],
  ['logs with a bad date', 'GET', '/api/logs?from=yesterday'],
  ['elements with a bad sort', 'GET', '/api/queues/q/elements?sort=id;DROP'],
  ['stale list limit huge', 'GET', '/api/queues/stale-in-progress?limit=99999999999'],
  ['delete unknown trigger', 'DELETE', `/api/triggers/${ZERO_UUID}`],
  ['unknown API route', 'GET', '/api/no-such-thing'],
];

describe('HTTP API', () => {
  it.each(httpCases)('%s', async (_name, method, url, payload, headers) => {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', ...(payload !== undefined && typeof payload !== 'string' ? json : {}), ...headers },
      payload: payload === undefined ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, res.body).toBeLessThan(500);
    const body = JSON.parse(res.body) as { error?: string; message?: string };
    expectOneClearLine(body.error ?? body.message);
    await expectUnchanged();
  });
});

// ---- CLI flags (the bundled CLI, as a separate process) ----
const cliCases: Array<[string, () => string[]]> = [
  ['unknown command', () => ['frobnicate']],
  ['unknown flag', () => ['upgrade', '--frobnicate']],
  ['upgrade with a broken URL', () => ['upgrade', 'not a url']],
  ['upgrade with an unknown dialect', () => ['upgrade', 'nosql://h/db']],
  ['interval not a number', () => ['scheduler', '--connection-string', live.url, '--key', KEY, '--interval', 'abc']],
  ['interval negative', () => ['scheduler', '--connection-string', live.url, '--key', KEY, '--interval', '-1']],
  ['kill grace huge', () => ['scheduler', '--connection-string', live.url, '--key', KEY, '--kill-grace', '1e400']],
  ['scheduler with a bad key', () => ['scheduler', '--connection-string', live.url, '--key', 'short']],
  ['scheduler without a connection string', () => ['scheduler', '--key', KEY]],
  ['key file that does not exist', () => ['scheduler', '--connection-string', live.url, '--key-file', '/nonexistent/../key']],
];

describe('CLI', () => {
  it('rejects every bad invocation with one clear line and a non-zero exit', { timeout: 90_000 }, async () => {
    const results = await Promise.all(cliCases.map(async ([name, args]) => ({ name, ...(await runBundledCli(args())) })));
    for (const r of results) {
      expect(r.code, `${r.name}: ${r.stderr}`).not.toBe(0);
      // Besides the hint, a key on the command line draws its own warning (test/cli-database-flags.test.ts).
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('(run with --help') && !l.startsWith('warning: this command line shows'));
      expectOneClearLine(lines.join('\n'));
    }
    await expectUnchanged();
  });
});

it('has at least 50 cases', () => {
  expect(connectionStrings.length + robotCalls.length + httpCases.length + cliCases.length).toBeGreaterThanOrEqual(50);
});
