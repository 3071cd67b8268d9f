/**
 * The work folder: one folder per machine name under the configured work directory, one folder
 * per job inside it. A job's folder is removed when the job ends; whatever a crash left is
 * removed at start-up.
 *
 * The default work directory is in the shared temporary folder, where any local user can create
 * a name first. So the work directory and the machine folder are used only when they are real
 * folders (not symbolic links) owned by the Scheduler's user, and are kept private (0700); the
 * clean-up never follows a symbolic link.
 */
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, unlinkSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';

/** Windows refuses these as file names (with or without an extension). */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/** A plain folder name on every platform: no separators, no leading or trailing dot. */
const PLAIN_NAME = /^[A-Za-z0-9_-](?:[A-Za-z0-9._-]*[A-Za-z0-9_-])?$/;

/**
 * The folder name of a machine name. A plain name (letters, digits, `.`, `_`, `-`; no leading or
 * trailing dot; no Windows device name) is used as it is. Any other name (`..`, `.`, `a/b`,
 * `RPA 01`) gets a readable stem plus a hash of the whole name, so it stays inside the work
 * directory and two different names never share a folder (they would clean each other's jobs).
 */
export function machineFolderName(machineName: string): string {
  if (PLAIN_NAME.test(machineName) && !WINDOWS_DEVICE.test(machineName)) return machineName;
  const stem = machineName.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+|\.+$/g, '').slice(0, 40) || 'scheduler';
  const hash = createHash('sha256').update(machineName, 'utf8').digest('hex').slice(0, 12);
  return `${stem}-${hash}`;
}

/** The folder of this machine's jobs: always a direct child of `workDir`. */
export function machineFolder(workDir: string, machineName: string): string {
  const folder = join(resolve(workDir), machineFolderName(machineName));
  if (dirname(folder) !== resolve(workDir)) throw new InputError(`the machine name "${machineName}" does not map to a folder inside the work folder`);
  return folder;
}

export function jobFolder(root: string, jobId: string): string {
  return join(root, jobId);
}

/**
 * Creates (0700) or checks the work directory and this machine's folder in it; returns the
 * machine folder, private (0700). Throws InputError when either is a symbolic link or belongs
 * to another user, or when others may write in the work directory without the sticky bit,
 * since the start-up clean-up could then delete what that link or user chose.
 */
export function openWorkFolder(workDir: string, machineName: string): string {
  const root = machineFolder(workDir, machineName);
  const work = ensureOwnFolder(resolve(workDir), 'work folder');
  // Others who may write in the work folder could swap the machine folder for a link after it
  // was checked; the sticky bit (as on /tmp) stops them.
  if (process.platform !== 'win32' && (work.mode & 0o022) !== 0 && (work.mode & 0o1000) === 0) {
    throw new InputError(`the Scheduler's work folder ${resolve(workDir)} may be written by other users (mode ${(work.mode & 0o7777).toString(8)}), so it is not used: make it private (chmod 700) or give another --work-dir`);
  }
  const machine = ensureOwnFolder(root, 'machine folder');
  // The machine folder is the Scheduler's alone: one left 0755 by an older version (or made by
  // hand) is tightened, so other users cannot read the clones and what robots write next to them.
  // The work folder is left as it is: it may be a folder others need (a --work-dir of /tmp).
  if (process.platform !== 'win32' && (machine.mode & 0o077) !== 0) chmodSync(root, 0o700);
  return root;
}

/** The folder, created 0700 when missing; refused unless it is a real folder of this user. */
function ensureOwnFolder(folder: string, what: string): Stats {
  let stats = lstatSync(folder, { throwIfNoEntry: false });
  if (!stats) {
    try {
      mkdirSync(folder, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new InputError(`cannot create the Scheduler's ${what} ${folder} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): give another --work-dir`);
    }
    stats = lstatSync(folder);
  }
  const problem = folderProblem(stats);
  if (problem) throw new InputError(`the Scheduler's ${what} ${folder} ${problem}, so it is not used: remove it or give another --work-dir`);
  return stats;
}

/** Why a folder must not be used, or undefined. Windows has no uid to compare (skipped). */
export function folderProblem(stats: Stats): string | undefined {
  if (stats.isSymbolicLink()) return 'is a symbolic link';
  if (!stats.isDirectory()) return 'is not a folder';
  const uid = process.getuid?.();
  if (uid !== undefined && process.platform !== 'win32' && stats.uid !== uid) return `belongs to another user (uid ${stats.uid}, this Scheduler runs as uid ${uid})`;
  return undefined;
}

/**
 * Removes every leftover entry of the machine folder; returns how many there were. A symbolic
 * link is unlinked, never followed (removeFolder does not follow links either).
 */
export function cleanLeftovers(root: string): number {
  const entries = readdirSync(root, { withFileTypes: true });
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) removeFolder(path);
    else unlinkSync(path);
  }
  return entries.length;
}

/**
 * Removes a folder and its content; retried, since Windows may hold a file briefly. Node's
 * recursive removal unlinks symbolic links instead of descending into them (tested).
 */
export function removeFolder(folder: string): void {
  rmSync(folder, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}
