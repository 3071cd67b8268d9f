/**
 * The errors users must recognise. Each carries a one-line message that says what is wrong and,
 * where possible, how to fix it. The CLI, the HTTP API and the robot API print `message` only,
 * never a stack trace.
 *
 * @example
 *   throw new InputError('cron expression: field "hour" value 25 is out of range 0-23');
 */

/** Bad input from a user or a robot: a value of the wrong type, length or form. */
export class InputError extends Error {
  override name = 'InputError';
}

/** A named thing (constant, credential, queue element, trigger) does not exist. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** A connection string cannot be used (malformed, or needs a driver that is not installed). */
export class ConnectionStringError extends Error {
  override name = 'ConnectionStringError';
}

/** A Fernet token cannot be decrypted with the given key, or the key itself is malformed. */
export class CryptoError extends Error {
  override name = 'CryptoError';
}

/** The database schema is missing, too old or newer than this program knows. */
export class SchemaError extends Error {
  override name = 'SchemaError';
}

/** A database operation failed; the message never contains the connection password. */
export class DatabaseError extends Error {
  override name = 'DatabaseError';
}

/**
 * A claim guard refused a write (migration oo-013-claim-guard): the queue element is not New, or
 * the trigger not Idle, because another robot or Scheduler has it.
 */
export class ClaimConflictError extends DatabaseError {
  override name = 'ClaimConflictError';
}

/** The database refused an action for lack of a right: the login may not do it (HTTP 403). */
export class AccessDeniedError extends DatabaseError {
  override name = 'AccessDeniedError';
}

/** True for the errors above: their message alone is fit to show a user. */
export function isUserFacingError(error: unknown): error is Error {
  return (
    error instanceof InputError ||
    error instanceof NotFoundError ||
    error instanceof ConnectionStringError ||
    error instanceof CryptoError ||
    error instanceof SchemaError ||
    error instanceof DatabaseError
  );
}
