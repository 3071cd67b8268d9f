/**
 * What to run for a trigger: the entry file of a folder, and the command line for an entry
 * file according to its kind (`.py` with Python, `.js` with node, `.ts` with node and tsx,
 * anything else directly).
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LaunchError } from './launch-error.js';
import { defaultWorkDir } from './options.js';
import { ROBOT_LOADER_URL, robotNodePath } from './robot-deps.js';

const SKIPPED_FOLDERS = new Set(['.git', 'node_modules', '__pycache__', '.venv', 'venv']);
/** Entry names in order of preference: Python robots first, as the Python Scheduler looks for them. */
const ENTRY_NAMES = ['main.py', 'main.ts', 'main.js', 'main.mjs'] as const;

/** How far the entry search goes: folder levels below the root, and names looked at in all. */
export interface EntrySearchLimits {
  maxDepth: number;
  maxEntries: number;
}

/** A repository is someone else's code: its shape must not make the search endless or long. */
export const ENTRY_SEARCH_LIMITS: EntrySearchLimits = { maxDepth: 10, maxEntries: 10_000 };

/**
 * The entry of a robot folder: the first `main.py` breadth-first (names sorted within a folder),
 * else the first `main.ts`, `main.js`, `main.mjs` (`main.ts` wins in a folder that has both).
 * Undefined when there is none. One breadth-first walk, asynchronous so the Scheduler keeps
 * beating meanwhile; it never follows a symbolic link to a folder (a link such as `a -> .` would
 * make it endless), looks at most `maxDepth` levels deep and throws LaunchError after
 * `maxEntries` names without a `main.py`.
 */
export async function findEntry(root: string, limits: EntrySearchLimits = ENTRY_SEARCH_LIMITS): Promise<string | undefined> {
  const found = new Map<string, string>();
  let seen = 0;
  let level = [root];
  for (let depth = 0; level.length > 0 && depth <= limits.maxDepth; depth++) {
    const next: string[] = [];
    for (const folder of level) {
      let entries;
      try {
        entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      } catch {
        continue;
      }
      seen += entries.length;
      for (const entry of entries) {
        const path = join(folder, entry.name);
        if ((ENTRY_NAMES as readonly string[]).includes(entry.name) && !found.has(entry.name) && (await isFile(entry, path))) found.set(entry.name, path);
        else if (entry.isDirectory() && !SKIPPED_FOLDERS.has(entry.name)) next.push(path);
      }
      const python = found.get('main.py');
      if (python) return python;
      if (seen > limits.maxEntries) {
        const other = firstFound(found);
        if (other) return other;
        throw new LaunchError(`gave up looking for main.py, main.ts or main.js after ${limits.maxEntries} files and folders: put the entry nearer the top of the repository`);
      }
    }
    level = next;
  }
  return firstFound(found);
}

function firstFound(found: Map<string, string>): string | undefined {
  for (const name of ENTRY_NAMES) {
    const path = found.get(name);
    if (path) return path;
  }
  return undefined;
}

/** A regular file, or a symbolic link to one (a link to a folder is not an entry). */
async function isFile(entry: { isFile(): boolean; isSymbolicLink(): boolean }, path: string): Promise<boolean> {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** The entry for a local process path: the file itself, or the entry of a folder. */
export async function localEntry(processPath: string): Promise<string> {
  if (!existsSync(processPath)) throw new LaunchError(`process path not found: ${processPath} (on this machine)`);
  if (statSync(processPath).isDirectory()) {
    const entry = await findEntry(processPath);
    if (!entry) throw new LaunchError(`no main.py, main.ts or main.js found in the folder ${processPath}`);
    return entry;
  }
  return processPath;
}

let tsxLoader: string | undefined;

/**
 * The file URL of tsx's ESM loader, resolved from this package, so `.ts` robots run wherever
 * OpenOrchestrator is installed.
 */
export function resolveTsxLoader(): string {
  if (tsxLoader) return tsxLoader;
  try {
    tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    return tsxLoader;
  } catch {
    throw new LaunchError('cannot run a .ts robot: the package "tsx" is not installed next to openorchestrator (run "npm install tsx"), or compile the robot to .js');
  }
}

export interface Command {
  command: string;
  /** arguments before the robot's own (interpreter flags and the entry path) */
  args: string[];
  /** a readable name of what runs it, for messages */
  runner: string;
  /**
   * cmd.exe parses its own command line: `args` and the robot's arguments are to be quoted with
   * cmdArguments (windows-quote.ts) and passed verbatim
   */
  windowsCmd?: boolean;
  /** variables to add to the robot's environment */
  env?: Record<string, string>;
}

/**
 * How to run an entry file. Node robots (`.js`/`.mjs`/`.cjs`, and `.ts`/`.mts`/`.cts` through
 * tsx) run as ES module or CommonJS as their package.json says, and find `openorchestrator`
 * (the Scheduler's own copy) both by `import` (loader/hooks.mjs) and by `require` (NODE_PATH).
 */
export function commandFor(entry: string, options: { python: string; workDir?: string }): Command {
  const extension = extname(entry).toLowerCase();
  const node = (): Pick<Command, 'command' | 'env'> => ({ command: process.execPath, env: { NODE_PATH: robotNodePath(options.workDir ?? defaultWorkDir()) } });
  switch (extension) {
    case '.py':
    case '.pyw':
      return { command: options.python, args: [entry], runner: `Python (${options.python})` };
    case '.js':
    case '.mjs':
    case '.cjs':
      return { ...node(), args: ['--import', ROBOT_LOADER_URL, entry], runner: 'node' };
    case '.ts':
    case '.mts':
    case '.cts':
      return { ...node(), args: ['--import', resolveTsxLoader(), '--import', ROBOT_LOADER_URL, entry], runner: 'node with tsx' };
    case '.bat':
    case '.cmd':
      return { command: process.env.ComSpec ?? 'cmd.exe', args: [entry], runner: 'cmd.exe', windowsCmd: true };
    default:
      return { command: entry, args: [], runner: basename(entry) };
  }
}

/** The working folder a robot starts in: the folder of its entry file. */
export const workingFolderOf = (entry: string): string => dirname(entry);
