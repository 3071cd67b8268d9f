/**
 * Parsing of five-field cron expressions with the rules of Python's `cronsim` (cuu508/cronsim),
 * the evaluator the Python OpenOrchestrator uses for scheduled triggers. Both implementations
 * share one database, so an expression one of them accepts must mean the same to the other, and
 * anything cronsim rejects is rejected here too (with a clearer message).
 *
 * Accepted, as in cronsim: `*`, numbers, `a-b`, `*` / `a` / `a-b` with `/n`, lists `a,b`,
 * names JAN-DEC and SUN-SAT (any case), day-of-week 0-7 (0 and 7 are Sunday), `L` and `LW` in
 * day-of-month, `n#k` (k-th weekday n) and `nL` (last weekday n) in day-of-week.
 * Not accepted, as in cronsim: `nW`, `L-n`, a seconds field.
 * Accepted as shorthands and written in their 5-field form (`normalizeCron`), so that a Python
 * Scheduler on the same database, whose cronsim rejects them, still reads every stored
 * expression: `@hourly`, `@daily`/`@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually`,
 * and `?` in the day fields (same as `*`).
 *
 * @example
 *   parseCron('30 8 * * MON-FRI').weekdays // [1, 2, 3, 4, 5]
 */
import { InputError } from '../errors.js';

/** The fields in order, named as cronsim names them. */
export const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;

/** One of {@link FIELD_NAMES}. */
export type FieldName = (typeof FIELD_NAMES)[number];

/** A weekday (0-6, 0 = Sunday) restricted to its `nth` (1-5) occurrence in the month: `5#2`. */
export interface NthWeekday {
  readonly weekday: number;
  readonly nth: number;
}

/** A parsed cron expression. Value lists are sorted ascending and free of duplicates. */
export interface CronSchedule {
  /** The expression as given. */
  readonly expression: string;
  /** Minutes 0-59. */
  readonly minutes: readonly number[];
  /** Hours 0-23. */
  readonly hours: readonly number[];
  /** Plain days of the month 1-31. */
  readonly daysOfMonth: readonly number[];
  /** `L` in day-of-month: the last day of the month. */
  readonly lastDayOfMonth: boolean;
  /** `LW` in day-of-month: the last Monday-Friday of the month. */
  readonly lastWeekdayOfMonth: boolean;
  /** Months 1-12. */
  readonly months: readonly number[];
  /** Plain weekdays 0-6 (0 = Sunday; a 7 in the expression is stored as 0). */
  readonly weekdays: readonly number[];
  /** `n#k` items of the day-of-week field. */
  readonly nthWeekdays: readonly NthWeekday[];
  /** `nL` items of the day-of-week field: weekdays 0-6 matching on their last occurrence. */
  readonly lastWeekdays: readonly number[];
  /**
   * How the two day fields combine. As in Debian cron and cronsim: if either day field starts
   * with `*`, a day must match both (AND); otherwise it must match either (OR).
   */
  readonly dayAnd: boolean;
}

interface FieldSpec {
  readonly name: FieldName;
  readonly min: number;
  readonly max: number;
  /** Symbolic names, index + offset = value. */
  readonly names?: readonly string[];
  readonly nameOffset?: number;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameOffset: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: DAY_NAMES, nameOffset: 0 },
];

/** Longest possible month lengths (February counted as 29), as cronsim's range check uses them. */
const MAX_DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const ENGLISH_MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

/** What one comma-separated term of a field stands for. */
type Special =
  | { readonly kind: 'last' }
  | { readonly kind: 'lastWeekday' }
  | { readonly kind: 'nth'; readonly weekday: number; readonly nth: number }
  | { readonly kind: 'lastOf'; readonly weekday: number };

interface TermValue {
  readonly values: readonly number[];
  readonly special?: Special;
}

/** Builds errors that name the expression and the field. */
class Failer {
  constructor(private readonly expression: string) {}

  fail(message: string): never {
    throw new InputError(`cron expression "${this.expression}": ${message}`);
  }

  field(field: FieldSpec, message: string): never {
    return this.fail(`${field.name} field ${message}`);
  }
}

const DIGITS = /^[0-9]+$/;

/** A number or (month, day-of-week) name, range-checked: cronsim's `Field.int`. */
function parseValue(token: string, field: FieldSpec, f: Failer): number {
  const nameIndex = field.names?.indexOf(token) ?? -1;
  if (nameIndex >= 0) return nameIndex + (field.nameOffset ?? 0);
  const value = parseDigits(token, field, f);
  if (value < field.min || value > field.max) {
    f.field(field, `value ${token} is out of range ${field.min}-${field.max}`);
  }
  return value;
}

/** Plain ASCII digits, no sign, no range check: cronsim's `Field._int`. */
function parseDigits(token: string, field: FieldSpec, f: Failer): number {
  if (token === '') f.field(field, 'has an empty value (check for stray "," "-" "/" or "#")');
  if (!DIGITS.test(token)) {
    const names = field.names ? ` or a name (${field.names[0]}-${field.names[field.names.length - 1]})` : '';
    f.field(field, `value "${token}" is not a number${names}`);
  }
  return Number(token);
}

function range(from: number, to: number, step = 1): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** Rejects syntax other cron dialects accept but cronsim does not, with a hint. */
function rejectForeignSyntax(term: string, field: FieldSpec, f: Failer): void {
  if (term.includes('?')) {
    f.field(field, 'value "?" is only allowed alone, in the day-of-month or day-of-week field');
  }
  if (field.name === 'day-of-month' && /^[0-9]*W$/.test(term)) {
    f.field(field, `value "${term}" (nearest weekday) is not supported; only "LW" (last weekday of the month) is`);
  }
  if (field.name === 'day-of-month' && /^L-[0-9]*$/.test(term)) {
    f.field(field, `value "${term}" (days before the last day) is not supported; only "L" and "LW" are`);
  }
  if (field.name === 'day-of-week' && /^[A-Z]{3}L$/.test(term) && DAY_NAMES.includes(term.slice(0, 3))) {
    f.field(field, `value "${term}" is not supported; write the weekday as a number, e.g. "5L"`);
  }
}

/** One term without commas: cronsim's `Field.parse` after the comma split. */
function parseTerm(term: string, field: FieldSpec, f: Failer): TermValue {
  rejectForeignSyntax(term, field, f);
  if (term === '*') return { values: range(field.min, field.max) };

  if (field.name === 'day-of-week' && term.includes('L')) {
    // Only "<digits>L": the last such weekday of the month. Names are not accepted here.
    const digits = term.slice(0, -1);
    if (!term.endsWith('L') || !DIGITS.test(digits)) f.field(field, `value "${term}" is not valid; "L" must follow a weekday number, e.g. "5L"`);
    return { values: [], special: { kind: 'lastOf', weekday: parseValue(digits, field, f) % 7 } };
  }

  if (field.name === 'day-of-week' && term.includes('#')) {
    const at = term.indexOf('#');
    const nthText = term.slice(at + 1);
    const nth = parseDigits(nthText, field, f);
    if (nth < 1 || nth > 5) f.field(field, `value "${term}": the number after "#" must be 1-5`);
    const weekday = parseValue(term.slice(0, at), field, f) % 7;
    return { values: [], special: { kind: 'nth', weekday, nth } };
  }

  if (term.includes('/')) {
    const at = term.indexOf('/');
    const step = parseDigits(term.slice(at + 1), field, f);
    if (step === 0) f.field(field, `value "${term}": the step must be at least 1`);
    const base = parseTerm(term.slice(0, at), field, f);
    // "L/n" and "LW/n" mean just "L" and "LW".
    if (base.special) return base;
    const first = base.values[0];
    if (base.values.length === 1 && first !== undefined) {
      // A single start value ("5/15", and also "5-5/15") steps up to the field maximum.
      return { values: range(first, field.max, step) };
    }
    return { values: base.values.filter((_, index) => index % step === 0) };
  }

  if (term.includes('-')) {
    const at = term.indexOf('-');
    const start = parseValue(term.slice(0, at), field, f);
    const end = parseValue(term.slice(at + 1), field, f);
    if (end < start) f.field(field, `range "${term}" runs backwards (${start} > ${end})`);
    return { values: range(start, end) };
  }

  if (field.name === 'day-of-month' && term === 'LW') return { values: [], special: { kind: 'lastWeekday' } };
  if (field.name === 'day-of-month' && term === 'L') return { values: [], special: { kind: 'last' } };

  return { values: [parseValue(term, field, f)] };
}

/** All terms of one field. */
function parseField(text: string, field: FieldSpec, f: Failer): TermValue[] {
  if (text === '*') return [parseTerm(text, field, f)];
  return text.split(',').map((term) => parseTerm(term, field, f));
}

const sortedUnique = (values: Iterable<number>): number[] => [...new Set(values)].sort((a, b) => a - b);

function joinEnglish(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * Parses a five-field cron expression (minute hour day-of-month month day-of-week).
 * Throws `InputError` naming the field at fault.
 *
 * @example
 *   parseCron('0,30 9-17 * * 1-5').minutes // [0, 30]
 *   parseCron('61 * * * *') // throws: cron expression "61 * * * *": minute field value 61 is out of range 0-59
 */
export function parseCron(expression: string): CronSchedule {
  const f = new Failer(expression);
  const parts = normalizeCron(expression).toUpperCase().split(/\s+/).filter((part) => part !== '');
  if (parts.length === 1 && parts[0]?.startsWith('@')) {
    f.fail(`unknown shorthand "${expression.trim()}"; use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually, or write the 5 fields`);
  }
  if (parts.length !== 5) {
    f.fail(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  }
  const [minuteText, hourText, domText, monthText, dowText] = parts as [string, string, string, string, string];
  const [minuteSpec, hourSpec, domSpec, monthSpec, dowSpec] = FIELDS as [FieldSpec, FieldSpec, FieldSpec, FieldSpec, FieldSpec];

  const plain = (terms: TermValue[]): number[] => sortedUnique(terms.flatMap((t) => t.values));
  const minutes = plain(parseField(minuteText, minuteSpec, f));
  const hours = plain(parseField(hourText, hourSpec, f));
  const domTerms = parseField(domText, domSpec, f);
  const months = plain(parseField(monthText, monthSpec, f));
  const dowTerms = parseField(dowText, dowSpec, f);

  const daysOfMonth = plain(domTerms);
  const lastDayOfMonth = domTerms.some((t) => t.special?.kind === 'last');
  const lastWeekdayOfMonth = domTerms.some((t) => t.special?.kind === 'lastWeekday');

  // cronsim's only "can never match" check: a smallest day above 29 that no selected month has.
  // Other impossible combinations pass here and are caught by the 50-year search in nextRun.
  const smallestDay = daysOfMonth[0];
  if (!lastDayOfMonth && !lastWeekdayOfMonth && smallestDay !== undefined && smallestDay > 29) {
    const longest = Math.max(...months.map((m) => MAX_DAYS_IN_MONTH[m - 1] ?? 0));
    if (smallestDay > longest) {
      const names = months.map((m) => ENGLISH_MONTHS[m - 1] ?? String(m));
      f.field(domSpec, `value ${smallestDay} never occurs: ${joinEnglish(names)} ${months.length > 1 ? 'have' : 'has'} at most ${longest} days`);
    }
  }

  const nthWeekdays: NthWeekday[] = [];
  const lastWeekdays = new Set<number>();
  for (const term of dowTerms) {
    const special = term.special;
    if (special?.kind === 'nth' && !nthWeekdays.some((n) => n.weekday === special.weekday && n.nth === special.nth)) {
      nthWeekdays.push({ weekday: special.weekday, nth: special.nth });
    }
    if (special?.kind === 'lastOf') lastWeekdays.add(special.weekday);
  }
  nthWeekdays.sort((a, b) => a.weekday - b.weekday || a.nth - b.nth);

  return {
    expression,
    minutes,
    hours,
    daysOfMonth,
    lastDayOfMonth,
    lastWeekdayOfMonth,
    months,
    weekdays: sortedUnique(plain(dowTerms).map((d) => d % 7)),
    nthWeekdays,
    lastWeekdays: sortedUnique(lastWeekdays),
    dayAnd: domText.startsWith('*') || dowText.startsWith('*'),
  };
}

const SHORTHANDS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/**
 * The form to store: shorthands expanded to 5 fields, `?` in the day fields as `*`, single
 * spaces. cronsim (the Python side) accepts every normalized expression that `parseCron` does.
 *
 * @example
 *   normalizeCron('@daily')          // '0 0 * * *'
 *   normalizeCron(' 0  9 ? * MON ') // '0 9 * * MON'
 */
export function normalizeCron(expression: string): string {
  const trimmed = expression.trim();
  const shorthand = SHORTHANDS[trimmed.toLowerCase()];
  if (shorthand) return shorthand;
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) return parts.join(' ');
  return parts.map((part, i) => ((i === 2 || i === 4) && part === '?' ? '*' : part)).join(' ');
}

/**
 * True if `parseCron` accepts the expression: cronsim's five fields (names, ranges, steps,
 * lists, `L`, `LW`, `nL`, `n#k`, the day-of-month/day-of-week OR rule), and also the shorthands
 * `@hourly` ... `@annually` and `?` in the day fields, which cronsim itself rejects: those are
 * stored in their `normalizeCron` form, which cronsim reads. `nW` is refused, as by cronsim.
 * An accepted expression can still have no run within 50 years (`nextRun` then throws).
 *
 * @example
 *   isValidCron('0 0 L * *') // true
 *   isValidCron('0 0 ? * *') // true (stored as '0 0 * * *')
 *   isValidCron('0 0 15W * *') // false
 */
export function isValidCron(expression: string): boolean {
  try {
    parseCron(expression);
    return true;
  } catch (error) {
    if (error instanceof InputError) return false;
    throw error;
  }
}
