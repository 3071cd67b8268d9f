/**
 * Value encodings shared by several dialects. SCHEMA.md decides which dialect uses which.
 */
import { randomUUID } from 'node:crypto';
import { parseNaive } from '../../time/clock.js';
import { DatabaseError } from '../../errors.js';

const DASHED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX32 = /^[0-9a-f]{32}$/;

/** A new random id in the canonical form the program passes around: dashed lowercase. */
export function newId(): string {
  return randomUUID();
}

/** True if `id` is a UUID in dashed or 32-hex-digit form (either case). */
export function isUuid(id: string): boolean {
  const lower = id.toLowerCase();
  return DASHED.test(lower) || HEX32.test(lower);
}

/** Any accepted UUID form to the canonical dashed lowercase form. */
export function canonicalUuid(id: string): string {
  const hex = id.toLowerCase().replace(/-/g, '');
  if (!HEX32.test(hex)) throw new DatabaseError(`"${id.slice(0, 40)}" is not a UUID`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** SQLAlchemy's `Uuid` on databases without a native type: CHAR(32), lowercase hex, no dashes. */
export function uuidToHex(id: string): string {
  return canonicalUuid(id).replace(/-/g, '');
}

export function uuidFromDatabase(value: unknown): string {
  if (typeof value === 'string') return canonicalUuid(value.trim());
  if (Buffer.isBuffer(value)) return canonicalUuid(value.toString('utf8').trim());
  throw new DatabaseError(`unexpected UUID value of type ${typeof value} from the database`);
}

/** Dates come back as naive local text (drivers are set up so) or, on MSSQL/Oracle, as Date. */
export function dateFromDatabase(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string') {
    const parsed = parseNaive(value);
    if (parsed) return parsed;
  }
  throw new DatabaseError(`unexpected datetime value ${JSON.stringify(String(value)).slice(0, 60)} from the database`);
}
