/**
 * Stop signals for the long-running subcommands (`scheduler`, `start`, `orchestrator`): SIGINT
 * and SIGTERM are counted, so the first can stop gently, the second harder, and the third exits
 * at once.
 */
import { readFileSync } from 'node:fs';

/**
 * Under an npm script (`npm start`, `npx ...`), Ctrl+C reaches this process twice: the terminal
 * sends SIGINT to the whole foreground process group, and npm forwards the one it got as well.
 * A repeat this soon after the previous signal is taken for that same Ctrl+C.
 */
export const DUPLICATE_SIGNAL_MS = 1000;

/**
 * True when npm itself started this process, as an npm script (npm sets npm_lifecycle_event):
 * only npm's own child gets the forwarded copy, not a process further down (a test runner's
 * children, or one behind a shell that did not exec). The parent's command line is read where
 * /proc has it; elsewhere the variable alone decides.
 */
export function underNpm(env: NodeJS.ProcessEnv = process.env, parentCommand: string | undefined = parentCommandLine()): boolean {
  if (env.npm_lifecycle_event === undefined) return false;
  return parentCommand === undefined || /\bnp[mx]\b/.test(parentCommand);
}

function parentCommandLine(): string | undefined {
  try {
    return readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/**
 * Calls `onStop(count, signal)` for the first and second stop signal; the third calls
 * `exitNow(signal)` (default: exit with code 130 at once). Returns a function that removes the
 * listeners.
 */
export function onStopSignals(
  onStop: (count: 1 | 2, signal: NodeJS.Signals) => void,
  exitNow: (signal: NodeJS.Signals) => void = () => process.exit(130),
): () => void {
  const merge = underNpm();
  let count = 0;
  let last = 0;
  const listener = (signal: NodeJS.Signals) => {
    const at = Date.now();
    if (merge && count > 0 && at - last < DUPLICATE_SIGNAL_MS) return;
    last = at;
    count++;
    if (count >= 3) exitNow(signal);
    else onStop(count as 1 | 2, signal);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}

/** How often a daemon looks whether the process that started it is still there. */
export const PARENT_CHECK_MS = 500;

/**
 * Calls `onGone` once when the process that started this one ends (this process is then
 * re-parented, so its parent pid changes). A process manager that stops `npm start` signals npm
 * only; under a shell that does not pass signals on (Debian's sh), node would be left running
 * with no parent, serving its port and claiming triggers. Nothing is watched when the parent is
 * already init (pid 1: started by it, or orphaned before this ran). Returns a function that
 * stops watching.
 *
 * @example
 *   const stopWatching = onParentGone(() => scheduler.stop());
 */
export function onParentGone(onGone: () => void, intervalMs = PARENT_CHECK_MS): () => void {
  const parent = process.ppid;
  if (parent <= 1) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
