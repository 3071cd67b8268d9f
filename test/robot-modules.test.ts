/**
 * Node robots as users write them, run by a real Scheduler on SQLite: the README's TypeScript
 * robot exactly as the README shows it, and a CommonJS robot, each from a local folder and from
 * a git repository (file:// clone) that ships a package-lock.json. `openorchestrator` resolves to
 * the Scheduler's own copy (dist/, so build it first: `npx tsc -p tsconfig.build.json`).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCredential } from '../src/db/store/credentials.js';
import { listLogs } from '../src/db/store/logs.js';
import { createQueueElement, getQueueElement } from '../src/db/store/queues.js';
import { createTrigger, type NewTrigger } from '../src/db/store/triggers.js';
import { KEY, makeGitRepo, resetTables, startScheduler, tempDir, waitForEndedJob, type RunningScheduler } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The code block of the README's "A robot written in TypeScript or JavaScript". */
function readmeRobot(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('A robot written in TypeScript or JavaScript'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('the README has no TypeScript robot');
  return block;
}

const COMMONJS_ROBOT = `const { createConnectionFromArgs } = require('openorchestrator');

async function main() {
  const oc = createConnectionFromArgs();
  await oc.logInfo('hello from CommonJS in ' + __dirname);
  await oc.close();
}
main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** A package.json and a package-lock.json with no dependencies (so `npm ci` needs no network). */
function npmProject(name: string, extra: object = {}): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name, version: '1.0.0', private: true, ...extra }, null, 2),
    'package-lock.json': JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name, version: '1.0.0' } } }, null, 2),
  };
}

function folderWith(files: Record<string, string>): string {
  const dir = tempDir('oo-robot-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

describe('node robots find openorchestrator and run as their package.json says', () => {
  let live: TestStore;
  let scheduler: RunningScheduler;
  let workDir: string;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.build.json` first');
    live = await openTestStore('sqlite');
  });
  afterAll(async () => {
    await scheduler?.stop();
    await live?.close();
  });
  beforeEach(async () => {
    await scheduler?.stop();
    await resetTables(live.store);
    workDir = tempDir('oo-work-');
    scheduler = startScheduler({ connectionString: live.url, workDir });
  });

  const run = async (name: string, processPath: string, isGitRepo: boolean) => {
    const id = await createTrigger(live.store, { type: 'SINGLE', nextRun: new Date(Date.now() - 1000), triggerName: name, processName: name, processPath, isGitRepo, isBlocking: false } as NewTrigger);
    const job = await waitForEndedJob(live.store, id, 60_000);
    const logs = (await listLogs(live.store, { jobId: job.id, order: 'asc' })).map((log) => log.message);
    const errors = (await listLogs(live.store, { jobId: job.id, level: 'ERROR' })).map((log) => log.message);
    return { job, logs, errors };
  };

  /** The README robot's world: its credential and one invoice to work. */
  const invoice = async () => {
    await live.store.db.deleteFrom('Credentials').execute();
    await createCredential(live.store, KEY, 'erp-login', 'erp-user', 'erp-secret');
    return (await createQueueElement(live.store, 'invoices', { reference: 'inv-1', data: '{"amount": 12}' })).id;
  };

  it("runs the README's TypeScript robot from a local folder", async () => {
    const element = await invoice();
    const folder = folderWith({ 'main.ts': readmeRobot() });
    const { job, logs, errors } = await run('readme-local', folder, false);
    expect(errors).toEqual([]);
    expect(job.status).toBe('DONE');
    expect(logs).toContain('started');
    expect((await getQueueElement(live.store, element)).status).toBe('DONE');
  });

  it("runs the README's TypeScript robot from a git repository, installs its lockfile with npm ci once and uses the cache the next time", async () => {
    const repo = makeGitRepo({ main: { 'main.ts': readmeRobot(), ...npmProject('readme-robot') } });
    const url = pathToFileURL(repo).href;
    const element = await invoice();
    const first = await run('readme-git', url, true);
    expect(first.errors).toEqual([]);
    expect(first.job.status).toBe('DONE');
    expect(first.logs).toContain('started');
    expect(first.logs.some((message) => /^npm ci --no-audit --no-fund \(package-lock\.json [0-9a-f]{12}\):\n.*up to date/s.test(message))).toBe(true);
    expect((await getQueueElement(live.store, element)).status).toBe('DONE');

    await invoice();
    const second = await run('readme-git-again', url, true);
    expect(second.job.status).toBe('DONE');
    expect(second.logs.some((message) => message.startsWith('npm ci'))).toBe(false);
    expect(second.logs.some((message) => /^dependencies from the cache \(package-lock\.json [0-9a-f]{12}\)/.test(message))).toBe(true);
    // The clones are gone; the cache is kept.
    expect(readdirSync(join(workDir, '.robot-dependencies'))).toHaveLength(1);
  });

  it("runs the README's TypeScript robot from a folder made by `npm init -y` (npm 11 writes \"type\": \"commonjs\")", async () => {
    const elementId = await invoice();
    const folder = folderWith({ 'main.ts': readmeRobot(), 'package.json': JSON.stringify({ name: 'robot', version: '1.0.0', main: 'index.js', scripts: { test: 'echo "Error: no test specified" && exit 1' }, keywords: [], author: '', license: 'ISC', type: 'commonjs', description: '' }, null, 2) });
    const { job, logs, errors } = await run('npm-init-robot', folder, false);
    expect(errors).toEqual([]);
    expect(job.status).toBe('DONE');
    expect(logs).toContain('started');
    expect((await getQueueElement(live.store, elementId)).status).toBe('DONE');
  });

  it('runs a CommonJS robot (require) from a local folder', async () => {
    const folder = folderWith({ 'main.js': COMMONJS_ROBOT });
    const { job, logs, errors } = await run('cjs-local', folder, false);
    expect(errors).toEqual([]);
    expect(job.status).toBe('DONE');
    expect(logs).toEqual([`hello from CommonJS in ${folder}`]);
  });

  it('runs a CommonJS robot from a git repository whose package.json says "commonjs", with npm ci', async () => {
    const repo = makeGitRepo({ main: { 'main.js': COMMONJS_ROBOT, ...npmProject('cjs-robot', { type: 'commonjs' }) } });
    const { job, logs, errors } = await run('cjs-git', pathToFileURL(repo).href, true);
    expect(errors).toEqual([]);
    expect(job.status).toBe('DONE');
    expect(logs.some((message) => message.startsWith('npm ci --no-audit --no-fund'))).toBe(true);
    expect(logs.some((message) => message.startsWith('hello from CommonJS in '))).toBe(true);
  });
});
