/**
 * Checks at the edge of the store: values longer than their column are refused with a message
 * naming the field and its limit, never silently cut (log messages excepted: SCHEMA.md).
 */
import { InputError } from '../../errors.js';
import { isUuid, canonicalUuid } from '../dialects/encoding.js';
import { fitsInCharacters, type TextFit } from '../dialects/text-length.js';

export { characterCount } from '../dialects/text-length.js';

/**
 * Where a checked text goes: the store's dialect, whose columns count length their own way
 * (characters, SQL Server's UTF-16 code units: dialects/text-length.ts).
 */
export interface TextColumns {
  readonly textFit: TextFit;
}

/** For text that is no column's (a connection string, a search text): counted in characters. */
export const NOT_A_COLUMN: TextColumns = { textFit: fitsInCharacters };

/**
 * Refuses a string that does not fit a column declared `limit` long as `columns`' database
 * counts it (or not a string at all), so input that passes always fits.
 */
export function checkText(columns: TextColumns, field: string, value: unknown, limit: number, options: { allowEmpty?: boolean } = {}): string {
  if (typeof value !== 'string') throw new InputError(`${field} must be text, got ${value === null ? 'null' : typeof value}`);
  if (!options.allowEmpty && value.length === 0) throw new InputError(`${field} must not be empty`);
  const problem = columns.textFit(value, limit);
  if (problem !== undefined) throw new InputError(`${field} ${problem}`);
  return value;
}

/** Like checkText, for columns that may be NULL. */
export function checkOptionalText(columns: TextColumns, field: string, value: unknown, limit: number): string | null {
  if (value === undefined || value === null) return null;
  return checkText(columns, field, value, limit, { allowEmpty: true });
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

/**
 * Splits text into the fewest pieces that each fit a column declared `limit` long as `columns`'
 * database counts it, never inside a character (a long robot output line on SQL Server, where
 * 1000 emoji do not fit an NVARCHAR(1000)).
 */
export function splitToFit(columns: TextColumns, value: string, limit: number): string[] {
  if (columns.textFit(value, limit) === undefined) return [value];
  const characters = Array.from(value);
  const pieces: string[] = [];
  for (let start = 0; start < characters.length; ) {
    // The longest run from `start` that fits: at most `limit` characters, at least one.
    let low = 1;
    let high = Math.min(limit, characters.length - start);
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (columns.textFit(characters.slice(start, start + middle).join(''), limit) === undefined) low = middle;
      else high = middle - 1;
    }
    pieces.push(characters.slice(start, start + low).join(''));
    start += low;
  }
  return pieces;
}
