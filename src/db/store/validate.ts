/**
 * Checks at the edge of the store: values longer than their column are refused with a message
 * naming the field and its limit, never silently cut (log messages excepted: SCHEMA.md).
 */
import { InputError } from '../../errors.js';
import { isUuid, canonicalUuid } from '../dialects/encoding.js';

/**
 * Length in characters (code points) as VARCHAR(n) counts them on PostgreSQL, MySQL (utf8mb4)
 * and Oracle, and as Python's len() does: an emoji is one character, though two UTF-16 units.
 */
export function characterCount(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // A high surrogate followed by a low one is a single character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** Refuses a string longer than `limit` characters (or not a string at all). */
export function checkText(field: string, value: unknown, limit: number, options: { allowEmpty?: boolean } = {}): string {
  if (typeof value !== 'string') throw new InputError(`${field} must be text, got ${value === null ? 'null' : typeof value}`);
  if (!options.allowEmpty && value.length === 0) throw new InputError(`${field} must not be empty`);
  // UTF-16 length is never below the character count, so most values need no counting.
  if (value.length > limit) {
    const length = characterCount(value);
    if (length > limit) throw new InputError(`${field} is ${length} characters long; the limit is ${limit}`);
  }
  return value;
}

/** Like checkText, for columns that may be NULL. */
export function checkOptionalText(field: string, value: unknown, limit: number): string | null {
  if (value === undefined || value === null) return null;
  return checkText(field, value, limit, { allowEmpty: true });
}

/** Refuses anything that is not a UUID; returns the canonical dashed form. */
export function checkId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !isUuid(value)) {
    throw new InputError(`${field} must be a UUID like 3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f, got ${JSON.stringify(String(value)).slice(0, 60)}`);
  }
  return canonicalUuid(value);
}

/** Refuses a value that is not one of `allowed`. */
export function checkEnum<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InputError(`${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(String(value)).slice(0, 40)}`);
  }
  return value as T;
}

export function checkInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`${field} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

export function checkDate(field: string, value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new InputError(`${field} must be a valid date and time`);
  return value;
}
