/**
 * What to run for a trigger: the entry file of a folder, and the command line for an entry
 * file according to its kind (`.py` with Python, `.js` with node, `.ts` with node and tsx,
 * anything else directly).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LaunchError } from './launch-error.js';
import { defaultWorkDir } from './options.js';
import { ROBOT_LOADER_URL, robotNodePath } from './robot-deps.js';

const SKIPPED_FOLDERS = new Set(['.git', 'node_modules', '__pycache__', '.venv', 'venv']);

/** Files in `root` (breadth-first, names sorted within a folder) that `matches` accepts. */
function breadthFirst(root: string, matches: (name: string) => boolean): string | undefined {
  let level = [root];
  while (level.length > 0) {
    const next: string[] = [];
    for (const folder of level) {
      let names: string[];
      try {
        names = readdirSync(folder).sort();
      } catch {
        continue;
      }
      const found = names.find((name) => matches(name) && statSync(join(folder, name), { throwIfNoEntry: false })?.isFile());
      if (found) return join(folder, found);
      for (const name of names) {
        if (SKIPPED_FOLDERS.has(name)) continue;
        const path = join(folder, name);
        if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) next.push(path);
      }
    }
    level = next;
  }
  return undefined;
}

/**
 * The entry of a robot folder: the first `main.py` breadth-first (Python robots, as the Python
 * Scheduler looks for them), else the first `main.ts` or `main.js` (`main.ts` wins in a folder
 * that has both). Undefined when there is none.
 */
export function findEntry(root: string): string | undefined {
  return (
    breadthFirst(root, (name) => name === 'main.py') ??
    breadthFirst(root, (name) => name === 'main.ts') ??
    breadthFirst(root, (name) => name === 'main.js') ??
    breadthFirst(root, (name) => name === 'main.mjs')
  );
}

/** The entry for a local process path: the file itself, or the entry of a folder. */
export function localEntry(processPath: string): string {
  if (!existsSync(processPath)) throw new LaunchError(`process path not found: ${processPath} (on this machine)`);
  if (statSync(processPath).isDirectory()) {
    const entry = findEntry(processPath);
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
      return { command: process.env.ComSpec ?? 'cmd.exe', args: ['/d', '/c', entry], runner: 'cmd.exe' };
    default:
      return { command: entry, args: [], runner: basename(entry) };
  }
}

/** The working folder a robot starts in: the folder of its entry file. */
export const workingFolderOf = (entry: string): string => dirname(entry);
