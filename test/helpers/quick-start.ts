/**
 * `openorchestrator start` as a user runs it, from the shipped command (bin/openorchestrator.js
 * over dist/: build it first with `npx tsc -p tsconfig.build.json`), in a fresh folder, on a free
 * port; directly, or through `npm start` in a process group of its own.
 *
 * @example
 *   const started = await quickStart({ flags: ['--no-monitor'] });
 *   ...; started.child.kill('SIGTERM'); await started.exited;
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type Store } from '../../src/db/open.js';
import { waitFor } from './scheduler.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'openorchestrator.js');

export interface QuickStart {
  child: ChildProcess;
  /** stdout and stderr so far */
  output(): string;
  exited: Promise<number | null>;
  /** the embedded database, opened beside it */
  store: Store;
  folder: string;
  /** http://127.0.0.1:<port>/ */
  baseUrl: string;
}

const folders: string[] = [];

/** Removes the folders quickStart made (call it from afterAll). */
export function removeQuickStartFolders(): void {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
}

/** Starts `start` and resolves once its local Scheduler runs. `scriptShell` is npm's (with `viaNpm`). */
export async function quickStart(options: { viaNpm?: boolean; scriptShell?: string; flags?: string[] } = {}): Promise<QuickStart> {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.build.json` first');
  const folder = mkdtempSync(join(tmpdir(), 'oo-quick-start-'));
  folders.push(folder);
  const env: NodeJS.ProcessEnv = { ...process.env, OpenOrchestratorPort: '0' };
  const flags = ['--no-browser', '--folder', folder, ...(options.flags ?? [])];
  // bash as npm's script shell (the sh of macOS and Fedora) execs the command, so this process is
  // npm's own child and gets both the group's SIGINT and npm's copy; Debian's dash would stay in
  // between and take npm's copy itself.
  if (options.viaNpm) env.npm_config_script_shell = options.scriptShell ?? 'bash';
  const child = options.viaNpm
    ? spawn('npm', ['start', '--silent', '--', ...flags], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(process.execPath, [BIN, 'start', ...flags], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor('the local Scheduler to start', () => {
    if (gone) throw new Error(`start exited early:\n${output}`);
    return /Scheduler ".*" started on/.test(output);
  }, 60_000);
  const baseUrl = /Orchestrator running at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)![1]!;
  const store = openStore(`sqlite+pysqlite:///${join(folder, '.openorchestrator', 'orchestrator.db')}`);
  return { child, output: () => output, exited, store, folder, baseUrl };
}
