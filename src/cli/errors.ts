/**
 * How every subcommand fails: one line on stderr, exit code 1, no stack trace. Driver errors are
 * rewritten without the connection's password.
 */
import { isUserFacingError } from '../errors.js';

export function printFailure(error: unknown, redact: string[] = []): void {
  let message = isUserFacingError(error) ? error.message : `unexpected error: ${String((error as Error)?.message ?? error).split('\n')[0]}`;
  for (const secret of redact) if (secret) message = message.split(secret).join('***');
  process.stderr.write(`error: ${message}\n`);
}

/** Wraps a subcommand action so that any failure ends as one line and exit code 1. */
export function action<A extends unknown[]>(run: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      printFailure(error);
      process.exitCode = 1;
    }
  };
}
