import { scrubSecrets } from '../config/secrets.js';
import { isUserFacingError } from '../errors.js';

/** An error with the HTTP status it should be answered with (for conditions the store does not know). */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The status an error of the program is answered with. */
export function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.statusCode;
  const name = (error as Error)?.name;
  switch (name) {
    case 'InputError':
    case 'ConnectionStringError':
    case 'CryptoError':
      return 400;
    case 'AccessDeniedError':
      return 403;
    case 'NotFoundError':
      return 404;
    case 'SchemaError':
    case 'ClaimConflictError':
      return 409;
    case 'DatabaseError':
      return 503;
    default:
      return 500;
  }
}

/** What the error handler needs of the connection a request acted in. */
export interface ErrorContext {
  translate(error: unknown): Error;
  secrets(): string[];
}

/**
 * The status and one-line message an error is answered with: the program's own errors as
 * they are, a driver's through the connection's translation, anything else as "unexpected";
 * always scrubbed of the connection's secrets.
 */
export function failureOf(error: unknown, context: ErrorContext | undefined): { status: number; message: string } {
  let status: number;
  let message: string;
  if (error instanceof HttpError || isUserFacingError(error)) {
    status = statusOf(error);
    message = (error as Error).message;
  } else {
    const translated: Error = context ? context.translate(error) : (error as Error);
    status = statusOf(translated);
    message = isUserFacingError(translated) ? translated.message : `unexpected error: ${String((translated as Error | undefined)?.message ?? translated).split('\n')[0]}`;
  }
  return { status, message: scrubSecrets(message, context?.secrets() ?? []).split('\n')[0] ?? '' };
}
