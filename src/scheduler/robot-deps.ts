/**
 * What a node robot needs besides its own files: this package, resolvable as `openorchestrator`
 * (it is in no registry), and, for a git robot that ships a `package-lock.json`, its
 * dependencies, installed with `npm ci` once per lockfile and kept in a cache under the work dir.
 *
 * `npm ci` runs the install scripts of the robot and of every dependency (unless the Scheduler
 * says --ignore-scripts) before the robot runs, so it gets an environment without the
 * Scheduler's secrets: see installEnvironment.
 */
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scrubSecrets } from '../config/secrets.js';
import { BoundedText } from './bounded-text.js';
import { LaunchError } from './launch-error.js';

/** This package's root folder (src/ and dist/ are both one level below it). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The module hooks every node robot is started with (`--import`). */
export const ROBOT_LOADER_URL = new URL('../../loader/register.mjs', import.meta.url).href;

/** Folder names under the work dir; the dot keeps them apart from the per-machine folders. */
const LINK_FOLDER = '.modules';
const CACHE_FOLDER = '.robot-dependencies';
/** Characters of npm's output kept for the job's log. */
const NPM_OUTPUT_HEAD = 3000;
const NPM_OUTPUT_TAIL = 3000;

const linked = new Set<string>();

/**
 * A folder holding `openorchestrator` (a link to this package), for NODE_PATH, so that a
 * CommonJS robot's `require('openorchestrator')` finds the Scheduler's own copy. Created once.
 */
export function packageLinkFolder(workDir: string): string {
  const folder = join(resolve(workDir), LINK_FOLDER);
  if (linked.has(folder)) return folder;
  const link = join(folder, 'openorchestrator');
  mkdirSync(folder, { recursive: true });
  let current: string | undefined;
  try {
    current = readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current === undefined || resolve(folder, current) !== resolve(PACKAGE_ROOT)) {
    rmSync(link, { force: true, recursive: true });
    try {
      // A junction needs no special right on Windows; elsewhere the type is ignored.
      symlinkSync(PACKAGE_ROOT, link, 'junction');
    } catch (error) {
      // Another Scheduler on the same work dir made it meanwhile.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  linked.add(folder);
  return folder;
}

/** NODE_PATH for a node robot: the link folder first, then whatever NODE_PATH already held. */
export function robotNodePath(workDir: string, existing: string | undefined = process.env.NODE_PATH): string {
  return [packageLinkFolder(workDir), ...(existing ? [existing] : [])].join(delimiter);
}

export interface DependencyRequest {
  /** the cloned robot */
  folder: string;
  /** the Scheduler's work dir; the cache lives in it */
  workDir: string;
  timeoutMs: number;
  /** `npm ci --ignore-scripts`: no install script of the robot or its dependencies runs */
  ignoreScripts?: boolean;
  /** the Scheduler's secrets (connection string, its passwords, the key, git logins): kept out of npm's environment */
  secrets: readonly string[];
  /** writes one log line of the job (npm's output, or that the cache served it) */
  log(level: 'INFO' | 'ERROR', message: string): Promise<void>;
}

/**
 * The cache key of a lockfile: its content, the node that will load what it installs, and
 * whether install scripts ran (an install without them may lack what they build).
 */
export function lockfileHash(lockfile: string, ignoreScripts = false): string {
  return createHash('sha256')
    .update(readFileSync(lockfile))
    .update(`\n${process.platform}-${process.arch}-${process.versions.modules}${ignoreScripts ? '-ignore-scripts' : ''}`)
    .digest('hex');
}

const SYSTEM_FOLDERS = /^(?:path|pathext|home|userprofile|systemroot|windir|comspec|temp|tmp|tmpdir|appdata|localappdata)$/i;

/**
 * The environment `npm ci` runs in: the Scheduler's own, without OpenOrchestrator's variables
 * (the connection string, the key, the Orchestrator's token, a robot's job variables), without
 * git's login variables, and without any variable whose value holds one of `secrets` in any
 * spelling the scrub knows (a copy of the key or the database password under another name).
 * What npm needs (PATH, HOME, npm_config_*, proxies) stays; the system's folders are kept even
 * when a short password happens to stand alone in one of them.
 *
 * @example
 *   installEnvironment([connectionString, cryptoKey]); // process.env minus every secret
 */
export function installEnvironment(secrets: readonly string[], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || /^(?:openorchestrator|oo_git_)/i.test(name)) continue;
    if (!SYSTEM_FOLDERS.test(name) && scrubSecrets(value, secrets) !== value) continue;
    clean[name] = value;
  }
  return { ...clean, npm_config_update_notifier: 'false' };
}

/**
 * For a clone with a `package-lock.json`: links its `node_modules` to the cached install of
 * that lockfile, running `npm ci --no-audit --no-fund` in the clone first when there is none.
 * Nothing happens without a lockfile. Throws LaunchError when npm fails.
 */
export async function installRobotDependencies(request: DependencyRequest): Promise<void> {
  const lockfile = join(request.folder, 'package-lock.json');
  if (!existsSync(lockfile)) return;
  const hash = lockfileHash(lockfile, request.ignoreScripts);
  const npmArgs = ['ci', ...(request.ignoreScripts ? ['--ignore-scripts'] : []), '--no-audit', '--no-fund'];
  const npmCommand = `npm ${npmArgs.join(' ')}`;
  const cacheRoot = join(resolve(request.workDir), CACHE_FOLDER);
  const cached = join(cacheRoot, hash);
  const modules = join(request.folder, 'node_modules');
  const short = hash.slice(0, 12);
  if (!existsSync(cached)) {
    const output = await runNpmCi(request.folder, npmArgs, installEnvironment(request.secrets), request.timeoutMs).catch(async (error: unknown) => {
      if (!(error instanceof NpmFailure)) throw error;
      await request.log('ERROR', `${npmCommand} failed (${error.reason}):\n${error.output}`).catch(() => undefined);
      throw new LaunchError(`installing the robot's dependencies with npm ci failed (${error.reason}); npm's output is in the job's logs`);
    });
    await request.log('INFO', `${npmCommand} (package-lock.json ${short}):\n${output}`).catch(() => undefined);
    // Built beside the cache and moved in whole, so a half-made install is never used.
    mkdirSync(cacheRoot, { recursive: true });
    const building = join(cacheRoot, `${hash}.${randomUUID()}`);
    mkdirSync(building);
    if (existsSync(modules)) renameSync(modules, join(building, 'node_modules'));
    else mkdirSync(join(building, 'node_modules'));
    try {
      renameSync(building, cached);
    } catch {
      // Another job installed the same lockfile meanwhile: use that one.
      rmSync(building, { recursive: true, force: true });
    }
  } else {
    await request.log('INFO', `dependencies from the cache (package-lock.json ${short}): no npm ci needed`).catch(() => undefined);
  }
  rmSync(modules, { recursive: true, force: true });
  symlinkSync(join(cached, 'node_modules'), modules, 'junction');
}

class NpmFailure extends Error {
  constructor(
    readonly reason: string,
    readonly output: string,
  ) {
    super(reason);
  }
}

/** `npm <args>` in `folder` with `env`; resolves with its output (stdout and stderr, bounded). */
function runNpmCi(folder: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  const windows = process.platform === 'win32';
  return new Promise((done, fail) => {
    const child = spawn(windows ? 'npm.cmd' : 'npm', args, {
      cwd: folder,
      stdio: ['ignore', 'pipe', 'pipe'],
      // npm.cmd is a batch file: Node starts those only through a shell.
      shell: windows,
      windowsHide: true,
      env,
    });
    const output = new BoundedText(NPM_OUTPUT_HEAD, NPM_OUTPUT_TAIL);
    for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', (chunk: string) => output.append(chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new NpmFailure(`took longer than ${Math.round(timeoutMs / 1000)} s and was stopped`, output.toString().trim()));
    }, timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(new LaunchError(error.code === 'ENOENT' ? 'cannot install the robot\'s dependencies: npm is not installed or not on the PATH' : `cannot run npm: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const text = output.toString().trim() || '(npm printed nothing)';
      if (code === 0) done(text);
      else fail(new NpmFailure(`exit code ${code}`, text));
    });
  });
}
