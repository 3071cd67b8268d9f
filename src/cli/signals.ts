/**
 * Stop signals for the long-running subcommands (`scheduler`, `start`, `orchestrator`): SIGINT
 * and SIGTERM are counted, so the first can stop gently, the second harder, and the third exits
 * at once.
 */

/**
 * Under an npm script (`npm start`, `npx ...`), Ctrl+C reaches this process twice: the terminal
 * sends SIGINT to the whole foreground process group, and npm forwards the one it got as well.
 * A repeat this soon after the previous signal is taken for that same Ctrl+C.
 */
export const DUPLICATE_SIGNAL_MS = 1000;

/** True when an npm script started this process (npm sets npm_lifecycle_event for it). */
export const underNpm = (env: NodeJS.ProcessEnv = process.env): boolean => env.npm_lifecycle_event !== undefined;

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
