/**
 * `npm ci` for a git robot's package-lock.json, as a real Scheduler process runs it: the robot's
 * dependency (a local `file:` tarball in the repository) and the robot itself have install
 * scripts that write their whole environment to a file. That environment holds no key, no
 * connection string and no other secret of the Scheduler; with --ignore-scripts no script runs
 * and the robot still finds its dependency.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLogs } from '../src/db/store/logs.js';
import { createTrigger } from '../src/db/store/triggers.js';
import { KEY, makeGitRepo, spawnCliScheduler, tempDir, waitForEndedJob } from './helpers/scheduler.js';
import { leaked, spellings } from './helpers/secret-spellings.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const TOKEN = 'orchestrator-token-Secret/42';

/** A robot repository whose dependency and own package run install scripts that dump their environment into `out`. */
function dumpingRobot(out: string): string {
  const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, stdio: 'pipe', env: { ...process.env, npm_config_update_notifier: 'false' } });
  const dump = (file: string) => `require('node:fs').writeFileSync(${JSON.stringify(join(out, file))}, JSON.stringify(process.env));\n`;
  const dep = tempDir('oo-dep-');
  writeFileSync(join(dep, 'package.json'), JSON.stringify({ name: 'envdump-dep', version: '1.0.0', main: 'index.js', scripts: { install: 'node dump.js' } }));
  writeFileSync(join(dep, 'index.js'), "module.exports = { name: 'envdump-dep' };\n");
  writeFileSync(join(dep, 'dump.js'), dump('dependency-env.json'));
  const project = tempDir('oo-project-');
  mkdirSync(join(project, 'vendor'));
  npm(['pack', '--pack-destination', join(project, 'vendor')], dep);
  const tarball = 'vendor/envdump-dep-1.0.0.tgz';
  const packageJson = JSON.stringify({ name: 'dump-robot', version: '1.0.0', private: true, scripts: { postinstall: 'node dump-root.cjs' }, dependencies: { 'envdump-dep': `file:${tarball}` } }, null, 2);
  writeFileSync(join(project, 'package.json'), packageJson);
  npm(['install', '--package-lock-only', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], project);
  return makeGitRepo({
    main: {
      'package.json': packageJson,
      'package-lock.json': readFileSync(join(project, 'package-lock.json'), 'utf8'),
      [tarball]: readFileSync(join(project, tarball)),
      'dump-root.cjs': dump('robot-env.json'),
      'main.mjs': `import dep from 'envdump-dep';\nimport { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(join(out, 'ran.json'))}, JSON.stringify({ dep: dep.name, key: process.env.OpenOrchestratorKey === ${JSON.stringify(KEY)} }));\n`,
    },
  });
}

describe('robot dependency installs', () => {
  let live: TestStore;
  beforeAll(async () => {
    live = await openTestStore('sqlite');
  });
  afterAll(async () => {
    await live?.close();
  });

  /** Runs the dumping robot once under a Scheduler process started the README's way (secrets in its environment). */
  const runOnce = async (name: string, flags: string[] = []) => {
    const out = tempDir('oo-dump-');
    const repo = dumpingRobot(out);
    const id = await createTrigger(live.store, { type: 'SINGLE', nextRun: new Date(Date.now() - 1000), triggerName: name, processName: name, processPath: pathToFileURL(repo).href, isGitRepo: true, isBlocking: false });
    const cli = spawnCliScheduler(['--json', '--interval', '0.2', '--machine-name', `deps-${name}`, '--work-dir', tempDir('oo-work-'), ...flags], {
      OpenOrchestratorConnString: live.url,
      OpenOrchestratorKey: KEY,
      OpenOrchestratorToken: TOKEN,
      // Copies under names of the admin's own choosing: found by their values.
      REPORTING_DATABASE: live.url,
      BACKUP_KEY: KEY,
    });
    let job;
    try {
      const exited = cli.exited.then((code) => Promise.reject(new Error(`the Scheduler exited (${code}): ${cli.stderr()}`)));
      job = await Promise.race([waitForEndedJob(live.store, id, 150_000), exited]);
    } finally {
      cli.signal('SIGTERM');
      await cli.exited;
    }
    const logs = (await listLogs(live.store, { jobId: job.id, order: 'asc' })).map((log) => log.message);
    return { job, logs, read: (file: string) => (existsSync(join(out, file)) ? readFileSync(join(out, file), 'utf8') : undefined) };
  };

  // npm ci on a loaded two-core machine takes its time.
  const SLOW = 180_000;

  it('npm ci runs install scripts with an environment that holds no key, no connection string and no other secret', async () => {
    const { job, logs, read } = await runOnce('scripts');
    expect(job.status).toBe('DONE');
    expect(logs.some((message) => message.startsWith('npm ci --no-audit --no-fund (package-lock.json '))).toBe(true);
    // The robot itself still gets its key, and finds the dependency npm installed.
    expect(JSON.parse(read('ran.json')!)).toEqual({ dep: 'envdump-dep', key: true });
    const secrets = [...spellings(KEY), ...spellings(live.url), ...spellings(TOKEN)];
    for (const file of ['dependency-env.json', 'robot-env.json']) {
      const text = read(file);
      expect(text, `${file}: the install script ran`).toBeDefined();
      const env = JSON.parse(text!) as Record<string, string>;
      expect(env.PATH, file).toBeTruthy();
      expect(Object.keys(env).filter((name) => /^openorchestrator/i.test(name)), file).toEqual([]);
      expect(leaked(text!, secrets), file).toEqual([]);
    }
  }, SLOW);

  it('with --ignore-scripts no install script runs, and the robot still finds its dependency', async () => {
    const { job, logs, read } = await runOnce('no-scripts', ['--ignore-scripts']);
    expect(job.status).toBe('DONE');
    expect(logs.some((message) => message.startsWith('npm ci --ignore-scripts --no-audit --no-fund (package-lock.json '))).toBe(true);
    expect(JSON.parse(read('ran.json')!)).toEqual({ dep: 'envdump-dep', key: true });
    expect(read('dependency-env.json')).toBeUndefined();
    expect(read('robot-env.json')).toBeUndefined();
  }, SLOW);
});
