/**
 * Real concurrency on one SQLite file: six robot processes (started with the Scheduler's argv
 * protocol) write logs and claim queue elements at the same moment while this process does the
 * same. WAL and the busy timeout must make every write wait its turn: no "database is locked",
 * no lost row, no element claimed twice.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../src/crypto/fernet.js';
import { createLog } from '../src/db/store/logs.js';
import { bulkCreateQueueElements, getNextQueueElement, setQueueElementStatus } from '../src/db/store/queues.js';
import { countRows, openTestStore, type TestStore } from './helpers/stores.js';

const ROBOTS = 6;
const LOGS_PER_PROCESS = 200;
const ELEMENTS = 1_200;
const QUEUE = 'shared';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/sqlite-robot.ts', import.meta.url));

interface Robot {
  name: string;
  child: ChildProcessWithoutNullStreams;
  stdout: string;
  stderr: string;
  ready: Promise<void>;
  exited: Promise<number | null>;
}

function startRobot(name: string, url: string, key: string): Robot {
  const args = JSON.stringify({ queue: QUEUE, logs: LOGS_PER_PROCESS });
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, name, url, key, args, ''], {
    cwd: ROOT,
    env: { ...process.env, OpenOrchestratorConnString: '', OpenOrchestratorKey: '' },
  });
  const robot: Robot = { name, child, stdout: '', stderr: '', ready: Promise.resolve(), exited: Promise.resolve(null) };
  child.stderr.on('data', (chunk: Buffer) => (robot.stderr += chunk.toString()));
  robot.ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      robot.stdout += chunk.toString();
      if (robot.stdout.startsWith('ready\n')) resolve();
    });
    child.once('exit', () => reject(new Error(`${name} exited before it was ready: ${robot.stderr}`)));
  });
  robot.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return robot;
}

describe('SQLite across processes', () => {
  let live: TestStore;
  beforeAll(async () => {
    live = await openTestStore('sqlite');
  });
  afterAll(async () => {
    await live?.close();
  });

  it(`${ROBOTS} robot processes and this one write and claim on one file at once`, { timeout: 180_000 }, async () => {
    const key = generateKey();
    await bulkCreateQueueElements(live.store, QUEUE, Array.from({ length: ELEMENTS }, (_, i) => ({ reference: `e${i}` })));

    const robots = Array.from({ length: ROBOTS }, (_, i) => startRobot(`robot-${i}`, live.url, key));
    try {
      await Promise.all(robots.map((robot) => robot.ready));
    } catch (error) {
      for (const robot of robots) robot.child.kill();
      throw error;
    }
    for (const robot of robots) robot.child.stdin.end('go\n');

    // This process works alongside, as the Orchestrator or a Scheduler would.
    const parentClaims: string[] = [];
    let queueEmpty = false;
    for (let i = 0; i < LOGS_PER_PROCESS || !queueEmpty; i++) {
      if (i < LOGS_PER_PROCESS) await createLog(live.store, { level: 'TRACE', processName: 'parent', message: `parent log ${i}` });
      if (!queueEmpty) {
        const element = await getNextQueueElement(live.store, QUEUE);
        if (element) {
          parentClaims.push(element.id);
          await setQueueElementStatus(live.store, element.id, 'DONE', 'parent');
        } else {
          queueEmpty = true;
        }
      }
      // Let the event loop read the robots' pipes now and then.
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }

    const codes = await Promise.all(robots.map((robot) => robot.exited));
    for (const [i, robot] of robots.entries()) {
      expect({ robot: robot.name, code: codes[i], stderr: robot.stderr }).toEqual({ robot: robot.name, code: 0, stderr: '' });
    }
    const claims = new Map<string, string[]>();
    const record = (id: string, by: string) => claims.set(id, [...(claims.get(id) ?? []), by]);
    for (const robot of robots) {
      const result = robot.stdout.split('\n').find((line) => line.startsWith('{'));
      expect(result, `${robot.name} printed no result`).toBeDefined();
      for (const id of (JSON.parse(result!) as { claimed: string[] }).claimed) record(id, robot.name);
    }
    for (const id of parentClaims) record(id, 'parent');

    expect([...claims.entries()].filter(([, by]) => by.length > 1)).toEqual([]);
    expect(claims.size).toBe(ELEMENTS);
    const rows = await live.store.db.selectFrom('Queues').select(['id', 'status', 'message']).execute();
    expect(rows).toHaveLength(ELEMENTS);
    for (const row of rows) {
      const id = live.store.dialect.decodeUuid(row.id);
      expect(row.status).toBe('DONE');
      // The process that claimed the element is the one that finished it.
      expect(row.message).toBe(claims.get(id)?.[0]);
    }
    const claimCounts = Object.fromEntries([...robots.map((r) => r.name), 'parent'].map((name) => [name, [...claims.values()].filter((by) => by[0] === name).length]));
    console.log(`sqlite processes: ${ROBOTS} robots + parent, claims per process ${JSON.stringify(claimCounts)}`);

    expect(await countRows(live.store, 'Logs')).toBe((ROBOTS + 1) * LOGS_PER_PROCESS);
    const logs = await live.store.db.selectFrom('Logs').select(['process_name', 'log_message', 'log_level']).execute();
    for (const name of [...robots.map((r) => r.name), 'parent']) {
      const messages = new Set(logs.filter((log) => log.process_name === name).map((log) => log.log_message));
      const prefix = name === 'parent' ? 'parent log' : `${name} log`;
      expect(messages).toEqual(new Set(Array.from({ length: LOGS_PER_PROCESS }, (_, i) => `${prefix} ${i}`)));
    }
    expect(new Set(logs.filter((log) => log.process_name !== 'parent').map((log) => log.log_level))).toEqual(new Set(['INFO']));
  });
});
