/**
 * Next run times and descriptions of cron expressions, with the semantics of Python's `cronsim`
 * as the Python OpenOrchestrator uses it: `next(CronSim(expr, datetime.now()))` on a naive local
 * datetime. The search therefore runs on wall-clock fields (year, month, day, hour, minute) and
 * knows nothing of daylight saving time; only the final conversion to a JS `Date` (local time)
 * meets the time zone:
 * - a wall-clock time skipped when clocks go forward becomes the first minute after the gap
 *   (when the Python scheduler's naive `next_run <= now()` would first hold);
 * - a wall-clock time that occurs twice when clocks go back is the occurrence after `after`.
 *
 * @example
 *   nextRun('0 0 13 * 5', new Date(2024, 0, 1)) // Fri 2024-01-05 00:00 local (day OR weekday)
 */
import { InputError } from '../errors.js';
import { parseCron, type CronSchedule } from './parse.js';

export { FIELD_NAMES, isValidCron, normalizeCron, parseCron } from './parse.js';
export type { CronSchedule, FieldName, NthWeekday } from './parse.js';

/** cronsim gives up when no run is found up to this many years after the start year. */
const SEARCH_YEARS = 50;

/** A naive wall-clock minute; `month` is 1-12. */
interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (MONTH_DAYS[month - 1] ?? 31);
}

/** Day of the week, 0 = Sunday, in the proleptic Gregorian calendar (as Python's `date`). */
function weekdayOf(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCDay();
}

/** The last Monday-Friday of the month. */
function lastWeekdayOfMonth(year: number, month: number): number {
  const last = daysInMonth(year, month);
  const weekday = weekdayOf(year, month, last);
  if (weekday === 0) return last - 2;
  if (weekday === 6) return last - 1;
  return last;
}

function matchesDayOfMonth(s: CronSchedule, year: number, month: number, day: number): boolean {
  if (s.daysOfMonth.includes(day)) return true;
  if (s.lastDayOfMonth && day === daysInMonth(year, month)) return true;
  return s.lastWeekdayOfMonth && day === lastWeekdayOfMonth(year, month);
}

function matchesDayOfWeek(s: CronSchedule, year: number, month: number, day: number): boolean {
  const weekday = weekdayOf(year, month, day);
  if (s.weekdays.includes(weekday)) return true;
  // Last of its kind: the same weekday a week later falls in the next month.
  if (s.lastWeekdays.includes(weekday) && day + 7 > daysInMonth(year, month)) return true;
  const nth = Math.floor((day + 6) / 7);
  return s.nthWeekdays.some((item) => item.weekday === weekday && item.nth === nth);
}

function matchesDay(s: CronSchedule, year: number, month: number, day: number): boolean {
  const dom = matchesDayOfMonth(s, year, month, day);
  if (s.dayAnd) return dom && matchesDayOfWeek(s, year, month, day);
  return dom || matchesDayOfWeek(s, year, month, day);
}

/** The first matching minute at or after `start`, searching to the end of start year + 50. */
function firstMatchFrom(s: CronSchedule, start: WallTime): WallTime | undefined {
  for (let year = start.year; year <= start.year + SEARCH_YEARS; year++) {
    for (const month of s.months) {
      if (year === start.year && month < start.month) continue;
      const sameMonth = year === start.year && month === start.month;
      const lastDay = daysInMonth(year, month);
      for (let day = sameMonth ? start.day : 1; day <= lastDay; day++) {
        if (!matchesDay(s, year, month, day)) continue;
        const sameDay = sameMonth && day === start.day;
        for (const hour of s.hours) {
          if (sameDay && hour < start.hour) continue;
          const sameHour = sameDay && hour === start.hour;
          const minute = s.minutes.find((m) => !sameHour || m >= start.minute);
          if (minute !== undefined) return { year, month, day, hour, minute };
        }
      }
    }
  }
  return undefined;
}

function wallTimeOf(date: Date): WallTime {
  return {
    year: date.getFullYear(),
    month: date.getMonth() + 1,
    day: date.getDate(),
    hour: date.getHours(),
    minute: date.getMinutes(),
  };
}

/** Naive arithmetic: UTC has no daylight saving time. */
function addMinutes(time: WallTime, minutes: number): WallTime {
  const date = new Date(0);
  date.setUTCFullYear(time.year, time.month - 1, time.day);
  date.setUTCHours(time.hour, time.minute + minutes, 0, 0);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
  };
}

function localDate(time: WallTime): Date {
  const date = new Date(time.year, time.month - 1, time.day, time.hour, time.minute, 0, 0);
  if (time.year < 100) date.setFullYear(time.year, time.month - 1, time.day);
  return date;
}

function showsWallTime(date: Date, time: WallTime): boolean {
  const shown = wallTimeOf(date);
  return (
    shown.year === time.year &&
    shown.month === time.month &&
    shown.day === time.day &&
    shown.hour === time.hour &&
    shown.minute === time.minute
  );
}

/** The local Date for a wall-clock time found after `after` (see the module comment on DST). */
function toLocalDate(time: WallTime, after: Date): Date {
  const date = localDate(time);
  if (!showsWallTime(date, time)) {
    // Skipped by clocks going forward: take the first minute that exists after the gap.
    let probe = time;
    for (let i = 0; i < 2 * 24 * 60; i++) {
      probe = addMinutes(probe, 1);
      const candidate = localDate(probe);
      if (showsWallTime(candidate, probe)) return candidate;
    }
    return date;
  }
  if (date.getTime() <= after.getTime()) {
    // Shown twice because clocks went back, and `after` is in the repeat: take the later one.
    const shiftMinutes = after.getTimezoneOffset() - date.getTimezoneOffset();
    const later = new Date(date.getTime() + shiftMinutes * 60_000);
    if (shiftMinutes > 0 && showsWallTime(later, time) && later.getTime() > after.getTime()) return later;
  }
  return date;
}

function scheduleOf(expr: string | CronSchedule): CronSchedule {
  return typeof expr === 'string' ? parseCron(expr) : expr;
}

function checkDate(after: Date): void {
  if (!(after instanceof Date) || Number.isNaN(after.getTime())) {
    throw new InputError('cron: the start time is not a valid date');
  }
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

function nextOrUndefined(s: CronSchedule, after: Date): Date | undefined {
  // As cronsim: drop seconds, step one minute, then search.
  const start = addMinutes(wallTimeOf(after), 1);
  const found = firstMatchFrom(s, start);
  return found && toLocalDate(found, after);
}

function neverMatches(s: CronSchedule, after: Date): never {
  const t = wallTimeOf(after);
  throw new InputError(
    `cron expression "${s.expression}" never matches: no run within ${SEARCH_YEARS} years after ` +
      `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)} ${pad(t.hour)}:${pad(t.minute)}`,
  );
}

/**
 * The first matching minute strictly after `after` (seconds and milliseconds of the result are
 * zero), as a local `Date`. Throws `InputError` for an invalid expression, or when there is no
 * run up to the end of the year 50 years on (cronsim's limit; e.g. a day-of-month `*` + `/100`,
 * which is the 1st, combined by AND with `MON#4`).
 *
 * @example
 *   nextRun('30 8 * * 1-5', new Date(2024, 0, 6, 12, 0)) // Mon 2024-01-08 08:30 local
 *   nextRun('0 * * * *', new Date(2024, 0, 1, 10, 0))   // 2024-01-01 11:00 (strictly after)
 */
export function nextRun(expr: string | CronSchedule, after: Date): Date {
  const s = scheduleOf(expr);
  checkDate(after);
  return nextOrUndefined(s, after) ?? neverMatches(s, after);
}

/**
 * The next `count` runs after `after`, each found from the previous one as `nextRun` finds it.
 * Throws like `nextRun` when there is no first run; stops early (returns fewer) only if a later
 * run is more than 50 years after the one before.
 *
 * @example
 *   nextRuns('0 9 * * MON', new Date(2024, 0, 1, 12, 0), 2) // [2024-01-08 09:00, 2024-01-15 09:00]
 */
export function nextRuns(expr: string | CronSchedule, after: Date, count: number): Date[] {
  const s = scheduleOf(expr);
  checkDate(after);
  if (!Number.isInteger(count) || count < 0) {
    throw new InputError(`cron: the number of runs must be a whole number of 0 or more, got ${count}`);
  }
  const runs: Date[] = [];
  let previous = after;
  while (runs.length < count) {
    const run = nextOrUndefined(s, previous);
    if (!run) {
      if (runs.length === 0) neverMatches(s, after);
      break;
    }
    runs.push(run);
    previous = run;
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Descriptions. Built from the parsed value sets (not the text), so they say what actually runs.

const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth'];

/** "a", "a and b", "a, b and c". */
function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Splits values into runs of consecutive values, in the given order. */
function runs(values: readonly number[], order: readonly number[]): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  let previousIndex = -2;
  for (const [index, value] of order.entries()) {
    if (!values.includes(value)) continue;
    if (index !== previousIndex + 1 && current.length > 0) {
      out.push(current);
      current = [];
    }
    current.push(value);
    previousIndex = index;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Values as text, runs of 3 or more as "a through b". */
function rangeList(values: readonly number[], order: readonly number[], name: (v: number) => string): string {
  const parts: string[] = [];
  for (const run of runs(values, order)) {
    const first = run[0];
    const last = run[run.length - 1];
    if (run.length >= 3 && first !== undefined && last !== undefined) parts.push(`${name(first)} through ${name(last)}`);
    else parts.push(...run.map(name));
  }
  return list(parts);
}

const numbers = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const MINUTE_ORDER = numbers(0, 59);
const HOUR_ORDER = numbers(0, 23);
const DAY_ORDER = numbers(1, 31);
const MONTH_ORDER = numbers(1, 12);
const WEEKDAY_ORDER = [1, 2, 3, 4, 5, 6, 0];

/** n if values are exactly 0, n, 2n, ... below `size` and n (> 1) divides `size`. */
function evenStep(values: readonly number[], size: number): number | undefined {
  const step = values[1];
  if (values[0] !== 0 || step === undefined || step < 2 || size % step !== 0) return undefined;
  return values.length === size / step && values.every((v, i) => v === i * step) ? step : undefined;
}

const clock = (hour: number, minute: number): string => `${pad(hour)}:${pad(minute)}`;

/** "from 09:00 through 17:59" for each run of hours. */
function hourWindows(hours: readonly number[]): string {
  return list(runs(hours, HOUR_ORDER).map((run) => `from ${clock(run[0] ?? 0, 0)} through ${clock(run[run.length - 1] ?? 0, 59)}`));
}

function describeTime(s: CronSchedule): string {
  const allMinutes = s.minutes.length === 60;
  const allHours = s.hours.length === 24;
  const minuteStep = evenStep(s.minutes, 60);
  const minuteList = rangeList(s.minutes, MINUTE_ORDER, String);
  if (allHours) {
    if (allMinutes) return 'Every minute';
    if (minuteStep) return `Every ${minuteStep} minutes`;
    if (s.minutes.length === 1) return s.minutes[0] === 0 ? 'Every hour' : `At minute ${minuteList} of every hour`;
    return `At minutes ${minuteList} of every hour`;
  }
  if (allMinutes) return `Every minute ${hourWindows(s.hours)}`;
  if (s.minutes.length * s.hours.length <= 6) {
    return `At ${list(s.hours.flatMap((h) => s.minutes.map((m) => clock(h, m))))}`;
  }
  if (minuteStep) return `Every ${minuteStep} minutes ${hourWindows(s.hours)}`;
  const hourStep = evenStep(s.hours, 24);
  if (hourStep && s.minutes.length === 1 && s.minutes[0] === 0) return `Every ${hourStep} hours`;
  const hourList = rangeList(s.hours, HOUR_ORDER, String);
  return `At minute${s.minutes.length > 1 ? 's' : ''} ${minuteList} past hour${s.hours.length > 1 ? 's' : ''} ${hourList}`;
}

/** The day-of-month restriction, or undefined if every day of the month matches. */
function dayOfMonthText(s: CronSchedule): string | undefined {
  if (s.daysOfMonth.length === 31) return undefined;
  const parts: string[] = [];
  if (s.daysOfMonth.length > 0) {
    const plural = s.daysOfMonth.length > 1 ? 's' : '';
    parts.push(`day${plural} ${rangeList(s.daysOfMonth, DAY_ORDER, String)} of the month`);
  }
  if (s.lastDayOfMonth) parts.push('the last day of the month');
  if (s.lastWeekdayOfMonth) parts.push('the last weekday (Monday-Friday) of the month');
  return list(parts);
}

/** The day-of-week restriction, or undefined if every day of the week matches. */
function dayOfWeekText(s: CronSchedule): string | undefined {
  if (s.weekdays.length === 7) return undefined;
  const parts: string[] = [];
  if (s.weekdays.length > 0) parts.push(rangeList(s.weekdays, WEEKDAY_ORDER, (d) => DAYS[d] ?? String(d)));
  for (const item of s.nthWeekdays) parts.push(`the ${ORDINALS[item.nth - 1] ?? item.nth} ${DAYS[item.weekday]} of the month`);
  for (const weekday of s.lastWeekdays) parts.push(`the last ${DAYS[weekday]} of the month`);
  return list(parts);
}

function describeDays(s: CronSchedule): string | undefined {
  const dom = dayOfMonthText(s);
  const dow = dayOfWeekText(s);
  if (s.dayAnd) {
    if (dom && dow) return `on ${dom} if it is ${dow}`;
    return dom ? `on ${dom}` : dow && `on ${dow}`;
  }
  // OR: a field that matches every day makes every day match.
  return dom && dow && `on ${dom} or on ${dow}`;
}

function describeMonths(s: CronSchedule): string | undefined {
  if (s.months.length === 12) return undefined;
  return `in ${rangeList(s.months, MONTH_ORDER, (m) => MONTHS[m - 1] ?? String(m))}`;
}

/**
 * A short English description of when the expression runs. Throws `InputError` if invalid.
 *
 * @example
 *   describeCron('30 8 * * 1-5')   // 'At 08:30 on Monday through Friday'
 *   describeCron('0/15 * * * *')   // 'Every 15 minutes'
 *   describeCron('0 0 L * *')      // 'At 00:00 on the last day of the month'
 */
export function describeCron(expr: string | CronSchedule): string {
  const s = scheduleOf(expr);
  const time = describeTime(s);
  const days = describeDays(s) ?? (/^At \d\d:\d\d/.test(time) ? 'every day' : undefined);
  return [time, days, describeMonths(s)].filter((part) => part).join(' ');
}
