/**
 * JSON-schema pieces shared by the route groups. Bodies are validated strictly (no type coercion,
 * no unknown fields); query strings are coerced from text. The same schemas feed the OpenAPI
 * description served at /api/openapi.json.
 */
import { formatNaive, parseNaive } from '../time/clock.js';
import { InputError } from '../errors.js';

/** Naive local date-time as the API reads and writes it: `YYYY-MM-DDTHH:MM[:SS]` (space also accepted). */
export const DATE_TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?$';

export const dateTime = { type: 'string', pattern: DATE_TIME_PATTERN, description: 'naive local date-time, e.g. 2024-05-01T13:45:00' } as const;
export const nullableDateTime = { type: ['string', 'null'], description: 'naive local date-time or null' } as const;
export const uuid = { type: 'string', pattern: '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$', description: 'UUID' } as const;
export const text = (maxLength: number, minLength = 0) => ({ type: 'string', maxLength, minLength }) as const;
export const nullableText = (maxLength: number) => ({ type: ['string', 'null'], maxLength }) as const;

export const errorReply = {
  type: 'object',
  properties: { error: { type: 'string', description: 'one line saying what is wrong' } },
  required: ['error'],
} as const;

export const okReply = { type: 'object', properties: { ok: { type: 'boolean' } } } as const;

/** The standard error replies every route may give. */
export const errorReplies = { 400: errorReply, 401: errorReply, 404: errorReply, 409: errorReply } as const;

/** A Date as the API writes it: naive local `YYYY-MM-DDTHH:MM:SS`. */
export function toApiDate(date: Date | null | undefined): string | null {
  if (!date) return null;
  return formatNaive(date).slice(0, 19).replace(' ', 'T');
}

/** Reads an API date-time (already pattern-checked) into a local Date. */
export function fromApiDate(field: string, value: string | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const date = parseNaive(value);
  // parseNaive rolls 2030-13-45 over into 2031; a date that does not read back the same is refused.
  if (date && formatNaive(date).slice(0, 16) !== value.replace('T', ' ').slice(0, 16)) {
    throw new InputError(`${field} must be a date-time that exists, like 2024-05-01T13:45, got ${JSON.stringify(value).slice(0, 40)}`);
  }
  if (!date) throw new InputError(`${field} must be a date-time like 2024-05-01T13:45, got ${JSON.stringify(value).slice(0, 40)}`);
  return date;
}

export const pageQuery = {
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000_000, default: 0 },
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
} as const;
