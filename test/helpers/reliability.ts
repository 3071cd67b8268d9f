/**
 * Helpers for the reliability tests: the library and the CLI bundled once into plain ESM files
 * (node starts them in ~0.2 s, where tsx needs 1-2 s), child processes, database snapshots.
 *
 * The bundles live in node_modules/.oo-bundle/ so that bare imports resolve to the project's
 * node_modules and the CLI's `../../package.json` is the project's own.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type { Store } from '../../src/db/open.js';
import { ALL_TABLE_NAMES } from '../../src/db/schema/tables.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = `${ROOT}node_modules/.oo-bundle/`;
export const WORKER = fileURLToPath(new URL('../fixtures/robots/reliability-worker.mjs', import.meta.url));

/**
 * The SQL Server and Oracle drivers take ~0.6 s of CPU to load and these tests never use them:
 * the bundles get empty stand-ins, so 32 robots start in seconds on 2 cores.
 */
const withoutUnusedDrivers: Plugin = {
  name: 'without-unused-drivers',
  setup(b) {
    b.onResolve({ filter: /^(tedious|tarn|oracledb|kysely-oracledb)$/ }, (args) => ({ path: args.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: 'export default {}; export class OracleDialect {}; export function withExecuteOptions() {}',
      loader: 'js',
    }));
  },
};

let built: Promise<{ lib: string; cli: string }> | undefined;

async function bundleOne(entry: string, name: string): Promise<string> {
  mkdirSync(OUT, { recursive: true });
  const tmp = `${OUT}${name}.${process.pid}.${Date.now()}.tmp.mjs`;
  await build({
    entryPoints: [`${ROOT}${entry}`],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Dependencies go into the bundle too (one file parses faster than hundreds), except the
    // native SQLite driver; CommonJS inside gets a real `require`.
    external: ['better-sqlite3', 'pg-native', 'esbuild'],
    banner: { js: "import { createRequire as __ooRequire } from 'node:module'; const require = __ooRequire(import.meta.url);" },
    logLevel: 'silent',
    plugins: [withoutUnusedDrivers],
  });
  // Test files build in parallel: each writes its own file and renames it over the shared name.
  renameSync(tmp, `${OUT}${name}.mjs`);
  return `${OUT}${name}.mjs`;
}

/** Paths of the bundled library (src/index.ts) and CLI (src/cli/main.ts), built from the current source. */
export function bundles(): Promise<{ lib: string; cli: string }> {
  built ??= Promise.all([bundleOne('src/index.ts', 'lib'), bundleOne('src/cli/main.ts', 'cli')]).then(([lib, cli]) => ({ lib, cli }));
  return built;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Child {
  pid: number;
  stdout(): string;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
  done: Promise<ChildResult>;
}

export function spawnNode(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Child {
  const child = spawn(process.execPath, [file, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
  const done = new Promise<ChildResult>((resolve) =>
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err });
    }),
  );
  return { pid: child.pid!, stdout: () => out, stderr: () => err, kill: (s = 'SIGKILL') => child.kill(s), done };
}

/** Runs the bundled CLI and waits for it. */
export async function runBundledCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  const { cli } = await bundles();
  return spawnNode(cli, args, { env: { OpenOrchestratorConnString: '', OpenOrchestratorKey: '', ...env }, timeoutMs: 30_000 }).done;
}

/** Every row of every table, as sorted JSON lines: equal snapshots mean an unchanged database. */
export async function snapshotDatabase(store: Store): Promise<string> {
  const parts: string[] = [];
  for (const table of ALL_TABLE_NAMES) {
    const rows = await store.db
      .selectFrom(table as 'Logs')
      .selectAll()
      .execute()
      .catch(() => []);
    parts.push(`${table}:\n${rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).sort().join('\n')}`);
  }
  return parts.join('\n');
}

/** Arguments a robot receives from the Scheduler: process_name connection_string key args trigger_id. */
export function robotArgv(processName: string, url: string, key: string, args: object): string[] {
  return [processName, url, key, JSON.stringify(args), ''];
}
