/**
 * What a robot's command line holds: the argv protocol of the Python OpenOrchestrator 3.0,
 * `<entry> <process_name> <connection_string> <crypto_key> <process_args> <trigger_id> <job_id>`
 * (robots of the 2.x protocol read the first five values and ignore the job id).
 *
 * A command line is readable by every local user (`ps`), the environment only by the same user
 * and root; the environment always carries the connection string and the key. So they are left
 * out of argv (empty strings, the positions stay) wherever that cannot break a robot: robots
 * written with our API (`createConnectionFromArgs` falls back to the environment for empty
 * values), that is `.js`/`.ts` entries, unless `secretsInArgv`; for every robot with
 * `secretsInEnvOnly`. Python robots keep them by default: the Python client reads sys.argv only.
 */
import { extname } from 'node:path';
import type { Command } from './entry.js';
import { LaunchError } from './launch-error.js';
import { cmdArguments } from './windows-quote.js';

/** Entries run by node, whose robots use our connection API. */
const NODE_ENTRIES = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SecretsPolicy {
  /** hide the connection string and key from every robot's argv */
  secretsInEnvOnly: boolean;
  /** show them in the argv of `.js`/`.ts` robots too (for robots that parse argv themselves) */
  secretsInArgv: boolean;
}

/** Whether the connection string and key go on the command line of the robot `entry`. */
export function secretsInArgvFor(entry: string, policy: SecretsPolicy): boolean {
  if (policy.secretsInEnvOnly) return false;
  return policy.secretsInArgv || !NODE_ENTRIES.has(extname(entry).toLowerCase());
}

export interface RobotRun {
  processName: string;
  connectionString: string;
  cryptoKey: string;
  processArgs: string | null | undefined;
  triggerId: string;
  jobId: string;
}

/** The robot's own arguments (after the interpreter and the entry). */
export function robotArgv(run: RobotRun, withSecrets: boolean): string[] {
  // Python 3.0 robots parse sys.argv[6] as a UUID: an empty or malformed id would break them.
  if (!UUID.test(run.jobId)) throw new LaunchError(`the job id "${run.jobId}" is not a UUID`);
  return [run.processName, withSecrets ? run.connectionString : '', withSecrets ? run.cryptoKey : '', run.processArgs ?? '', run.triggerId, run.jobId];
}

/** The arguments to spawn `command` with, and whether Windows must take them verbatim (cmd.exe). */
export function launchArgs(command: Command, robotArgs: string[]): { args: string[]; windowsVerbatimArguments: boolean } {
  const args = [...command.args, ...robotArgs];
  if (!command.windowsCmd) return { args, windowsVerbatimArguments: false };
  return { args: cmdArguments(args as [string, ...string[]]), windowsVerbatimArguments: true };
}
