/**
 * The work folder: one folder per machine name under the configured work directory, one folder
 * per job inside it. A job's folder is removed when the job ends; whatever a crash left is
 * removed at start-up.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The folder of this machine's jobs (machine names may hold characters a path may not). */
export function machineFolder(workDir: string, machineName: string): string {
  return join(workDir, machineName.replace(/[^A-Za-z0-9._-]/g, '_') || 'scheduler');
}

export function jobFolder(root: string, jobId: string): string {
  return join(root, jobId);
}

/** Removes every leftover job folder; returns how many there were. */
export function cleanLeftovers(root: string): number {
  mkdirSync(root, { recursive: true });
  const names = readdirSync(root);
  for (const name of names) removeFolder(join(root, name));
  return names.length;
}

/** Removes a folder and its content; retried, since Windows may hold a file briefly. */
export function removeFolder(folder: string): void {
  rmSync(folder, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}
