/**
 * Pins the cron semantics to Python's cronsim (cuu508/cronsim), which the Python OpenOrchestrator
 * uses as `next(CronSim(expr, datetime.now()))`. Expected values were derived from cronsim's rules;
 * several are cronsim's own test and README cases. Assertions are on local wall-clock fields.
 */
import { describe, expect, it } from 'vitest';
import { describeCron, isValidCron, nextRun, nextRuns, normalizeCron, parseCron } from '../src/cron/cron.js';
import { InputError } from '../src/errors.js';

// A zone with daylight saving, whatever the machine's zone (CI runs in UTC): the wall-clock tests
// below must meet clocks going forward and back. Node applies a changed TZ to every later Date.
process.env.TZ = 'Europe/Copenhagen';

const DAY_ABBR = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Local wall-clock fields as 'Fri 2024-01-05 00:00'. */
function wall(date: Date): string {
  return (
    `${DAY_ABBR[date.getDay()]} ${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** A local date, month 1-12. */
const at = (y: number, m: number, d: number, h = 0, min = 0, s = 0, ms = 0): Date => new Date(y, m - 1, d, h, min, s, ms);

const next = (expr: string, after: Date): string => wall(nextRun(expr, after));
const runs = (expr: string, after: Date, count: number): string[] => nextRuns(expr, after, count).map(wall);

/** The InputError message thrown by `fn`. */
function inputErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('parseCron', () => {
  it('expands stars, ranges, steps and lists', () => {
    const s = parseCron('* * * * *');
    expect(s.minutes).toHaveLength(60);
    expect(s.hours).toHaveLength(24);
    expect(s.daysOfMonth).toHaveLength(31);
    expect(s.months).toHaveLength(12);
    expect(s.weekdays).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(parseCron('*/15 * * * *').minutes).toEqual([0, 15, 30, 45]);
    expect(parseCron('5-59/20 * * * *').minutes).toEqual([5, 25, 45]);
    expect(parseCron('5/15 * * * *').minutes).toEqual([5, 20, 35, 50]);
    expect(parseCron('0-10/2 * * * *').minutes).toEqual([0, 2, 4, 6, 8, 10]);
    expect(parseCron('1-3,7-9 * * * *').minutes).toEqual([1, 2, 3, 7, 8, 9]);
    expect(parseCron('3,1,2,3 * * * *').minutes).toEqual([1, 2, 3]);
  });

  it('treats a one-value range with a step as a start value (cronsim quirk)', () => {
    expect(parseCron('5-5/20 * * * *').minutes).toEqual([5, 25, 45]);
  });

  it('accepts month and weekday names in any case, and 7 as Sunday', () => {
    expect(parseCron('0 9 * JAN-MAR MON-FRI').months).toEqual([1, 2, 3]);
    expect(parseCron('0 9 * jan-mar mon-fri').weekdays).toEqual([1, 2, 3, 4, 5]);
    expect(parseCron('* * * * sun-tue').weekdays).toEqual([0, 1, 2]);
    expect(parseCron('* * * * 7').weekdays).toEqual([0]);
    expect(parseCron('* * * * 5-7').weekdays).toEqual([0, 5, 6]);
  });

  it('steps through day-of-week values 0-7 before folding 7 into Sunday', () => {
    expect(parseCron('* * * * */2').weekdays).toEqual([0, 2, 4, 6]);
    expect(parseCron('* * * * */7').weekdays).toEqual([0]);
    expect(parseCron('* * * * 1/2').weekdays).toEqual([0, 1, 3, 5]);
  });

  it('parses L, LW, n#k and nL', () => {
    expect(parseCron('* * L * *')).toMatchObject({ lastDayOfMonth: true, daysOfMonth: [] });
    expect(parseCron('* * l/2 * *')).toMatchObject({ lastDayOfMonth: true, daysOfMonth: [] });
    expect(parseCron('* * LW * *')).toMatchObject({ lastWeekdayOfMonth: true, daysOfMonth: [] });
    expect(parseCron('* * 1,L * *')).toMatchObject({ lastDayOfMonth: true, daysOfMonth: [1] });
    expect(parseCron('* * * * 5#2').nthWeekdays).toEqual([{ weekday: 5, nth: 2 }]);
    expect(parseCron('* * * * fri#2').nthWeekdays).toEqual([{ weekday: 5, nth: 2 }]);
    expect(parseCron('* * * * 1,2,3#1')).toMatchObject({ weekdays: [1, 2], nthWeekdays: [{ weekday: 3, nth: 1 }] });
    expect(parseCron('* * * * 5L').lastWeekdays).toEqual([5]);
    expect(parseCron('* * * * 7L').lastWeekdays).toEqual([0]);
  });

  it('combines the day fields with AND if either starts with *, else with OR', () => {
    expect(parseCron('* * * * 1').dayAnd).toBe(true);
    expect(parseCron('* * 1 * *').dayAnd).toBe(true);
    expect(parseCron('* * */2 * 1').dayAnd).toBe(true);
    expect(parseCron('* * 1 * */2').dayAnd).toBe(true);
    expect(parseCron('* * 1 * 1').dayAnd).toBe(false);
    expect(parseCron('* * 1-31 * 1').dayAnd).toBe(false);
  });

  it('keeps the expression as given', () => {
    expect(parseCron(' 0 9 * * mon ').expression).toBe(' 0 9 * * mon ');
  });
});

describe('parseCron errors', () => {
  it('names the field and the problem in a one-line InputError', () => {
    expect(inputErrorOf(() => parseCron('61 * * * *'))).toBe(
      'cron expression "61 * * * *": minute field value 61 is out of range 0-59',
    );
    expect(inputErrorOf(() => parseCron('* * *'))).toBe(
      'cron expression "* * *": expected 5 fields (minute hour day-of-month month day-of-week), got 3',
    );
  });

  const cases: [string, RegExp][] = [
    ['* 24 * * *', /hour field value 24 is out of range 0-23/],
    ['* * 0 * *', /day-of-month field value 0 is out of range 1-31/],
    ['* * 32 * *', /day-of-month field value 32 is out of range 1-31/],
    ['* * * 13 *', /month field value 13 is out of range 1-12/],
    ['* * * * 8', /day-of-week field value 8 is out of range 0-7/],
    ['abc * * * *', /minute field value "ABC" is not a number$/],
    ['* * * foo *', /month field value "FOO" is not a number or a name \(JAN-DEC\)/],
    ['* * 5-1 * *', /day-of-month field range "5-1" runs backwards/],
    ['* * * * MON-SUN', /day-of-week field range "MON-SUN" runs backwards/],
    ['*/0 * * * *', /minute field value "\*\/0": the step must be at least 1/],
    ['1,,2 * * * *', /minute field has an empty value/],
    ['2/ * * * *', /minute field has an empty value/],
    ['-1 * * * *', /minute field has an empty value/],
    ['1-2-3 * * * *', /minute field value "2-3" is not a number/],
    ['* * * * 1#6', /day-of-week field value "1#6": the number after "#" must be 1-5/],
    ['* * * * 1#0', /day-of-week field/],
    ['* * * * 1##1', /day-of-week field/],
    ['* * * * 5L#1', /day-of-week field/],
    ['* * * * 5L/3', /day-of-week field/],
    ['* * * * L', /day-of-week field/],
    ['* * * * MONL', /day-of-week field value "MONL" is not supported; write the weekday as a number/],
    ['* * LL * *', /day-of-month field/],
    ['* * LWX * *', /day-of-month field/],
    ['* * 1-L * *', /day-of-month field/],
    ['* * * * * *', /expected 5 fields .*, got 6/],
    ['', /expected 5 fields .*, got 0/],
    // cronsim's one "never matches" check: the smallest day exceeds every selected month.
    ['0 0 30 2 *', /day-of-month field value 30 never occurs: February has at most 29 days/],
    ['0 0 31 4,6 *', /day-of-month field value 31 never occurs: April and June have at most 30 days/],
    // Syntax of other cron dialects that cronsim rejects.
    ['? 0 * * *', /minute field value "\?" is only allowed alone, in the day-of-month or day-of-week field/],
    ['0 0 1,? * *', /day-of-month field value "\?" is only allowed alone/],
    ['0 0 15W * *', /day-of-month field value "15W" \(nearest weekday\) is not supported; only "LW"/],
    ['0 0 1W * *', /day-of-month field value "1W" \(nearest weekday\) is not supported/],
    ['0 0 L-2 * *', /day-of-month field value "L-2" \(days before the last day\) is not supported/],
    ['@reboot', /unknown shorthand "@reboot"/],
    ['@fortnightly', /unknown shorthand/],
  ];
  it.each(cases)('rejects %j', (expr, message) => {
    const text = inputErrorOf(() => parseCron(expr));
    expect(text).toMatch(message);
    expect(text.startsWith(`cron expression "${expr}": `)).toBe(true);
    expect(text).not.toContain('\n');
    expect(isValidCron(expr)).toBe(false);
  });

  it('accepts day 30 when some selected month has it, and 29 for February', () => {
    expect(isValidCron('0 0 30 2,4 *')).toBe(true);
    expect(isValidCron('0 0 29 2 *')).toBe(true);
    expect(isValidCron('0 0 31 2 MON')).toBe(false); // rejected even though Mondays would match (OR)
  });
});

describe('nextRun', () => {
  it('uses OR when both day fields are restricted', () => {
    expect(next('0 0 13 * 5', at(2024, 1, 1))).toBe('Fri 2024-01-05 00:00');
    expect(runs('0 0 13 * 5', at(2024, 1, 1), 4)).toEqual([
      'Fri 2024-01-05 00:00',
      'Fri 2024-01-12 00:00',
      'Sat 2024-01-13 00:00',
      'Fri 2024-01-19 00:00',
    ]);
  });

  it('uses AND when a day field starts with * (cronsim "first Sunday"/"first Monday" cases)', () => {
    expect(runs('1 1 1-7 * */7', at(2020, 1, 1), 4)).toEqual([
      'Sun 2020-01-05 01:01',
      'Sun 2020-02-02 01:01',
      'Sun 2020-03-01 01:01',
      'Sun 2020-04-05 01:01',
    ]);
    expect(runs('1 1 */100,1-7 * MON', at(2020, 1, 1), 4)).toEqual([
      'Mon 2020-01-06 01:01',
      'Mon 2020-02-03 01:01',
      'Mon 2020-03-02 01:01',
      'Mon 2020-04-06 01:01',
    ]);
    // Day-of-month "*" and a weekday: plain AND, i.e. just the weekday.
    expect(next('0 0 * * 5', at(2024, 1, 1))).toBe('Fri 2024-01-05 00:00');
  });

  it('treats a day field of 1-31 (not starting with *) as a restriction: OR, so every day', () => {
    expect(runs('0 0 1-31 * MON', at(2024, 1, 1), 2)).toEqual(['Tue 2024-01-02 00:00', 'Wed 2024-01-03 00:00']);
  });

  it('finds the n-th weekday of the month with #', () => {
    expect(runs('0 0 * * 5#2', at(2024, 1, 1), 3)).toEqual([
      'Fri 2024-01-12 00:00',
      'Fri 2024-02-09 00:00',
      'Fri 2024-03-08 00:00',
    ]);
    expect(next('1 1 * * 1#2', at(2020, 1, 1))).toBe('Mon 2020-01-13 01:01');
    // A fifth Friday exists only in some months: January and February 2024 have four.
    expect(next('0 0 * * FRI#5', at(2024, 1, 1))).toBe('Fri 2024-03-29 00:00');
    // cronsim README: a fifth Monday in February needs a leap year starting on a Monday.
    expect(runs('0 0 * 2 MON#5', at(2024, 1, 1), 2)).toEqual(['Mon 2044-02-29 00:00', 'Mon 2072-02-29 00:00']);
  });

  it('finds the last weekday of a kind with nL (0L and 7L are both Sunday)', () => {
    expect(runs('1 1 * * 5L', at(2020, 1, 1), 4)).toEqual([
      'Fri 2020-01-31 01:01',
      'Fri 2020-02-28 01:01',
      'Fri 2020-03-27 01:01',
      'Fri 2020-04-24 01:01',
    ]);
    expect(next('1 1 * * 0L', at(2020, 1, 1))).toBe('Sun 2020-01-26 01:01');
    expect(next('1 1 * * 7L', at(2020, 1, 1))).toBe('Sun 2020-01-26 01:01');
  });

  it('finds the last day of the month with L, including February in leap years', () => {
    expect(next('0 0 L * *', at(2024, 2, 1))).toBe('Thu 2024-02-29 00:00');
    expect(next('0 0 L * *', at(2023, 2, 1))).toBe('Tue 2023-02-28 00:00');
    expect(next('0 0 L 2 *', at(2024, 3, 1))).toBe('Fri 2025-02-28 00:00');
    expect(next('0 0 L * *', at(2024, 2, 29))).toBe('Sun 2024-03-31 00:00');
    expect(next('1 1 L * *', at(2020, 1, 1))).toBe('Fri 2020-01-31 01:01');
  });

  it('finds the last Monday-Friday of the month with LW, within the month', () => {
    expect(runs('0 0 LW * *', at(2024, 1, 1), 8)).toEqual([
      'Wed 2024-01-31 00:00',
      'Thu 2024-02-29 00:00',
      'Fri 2024-03-29 00:00', // the 31st is a Sunday
      'Tue 2024-04-30 00:00',
      'Fri 2024-05-31 00:00',
      'Fri 2024-06-28 00:00', // the 30th is a Sunday
      'Wed 2024-07-31 00:00',
      'Fri 2024-08-30 00:00', // the 31st is a Saturday
    ]);
    expect(next('1 1 LW 5 *', at(2020, 1, 1))).toBe('Fri 2020-05-29 01:01');
  });

  it('does not accept nearest-weekday W days (cronsim supports only LW)', () => {
    expect(() => nextRun('0 0 15W * *', at(2024, 6, 1))).toThrow(InputError);
    expect(() => nextRun('0 0 1W * *', at(2025, 2, 1))).toThrow(InputError);
  });

  it('steps minutes with */n and a-b/n', () => {
    expect(runs('*/15 * * * *', at(2024, 1, 1, 10, 7, 30), 4)).toEqual([
      'Mon 2024-01-01 10:15',
      'Mon 2024-01-01 10:30',
      'Mon 2024-01-01 10:45',
      'Mon 2024-01-01 11:00',
    ]);
    expect(runs('5-59/20 * * * *', at(2024, 1, 1, 10, 50), 4)).toEqual([
      'Mon 2024-01-01 11:05',
      'Mon 2024-01-01 11:25',
      'Mon 2024-01-01 11:45',
      'Mon 2024-01-01 12:05',
    ]);
    expect(runs('0 */6 * * *', at(2024, 12, 31, 13), 3)).toEqual([
      'Tue 2024-12-31 18:00',
      'Wed 2025-01-01 00:00',
      'Wed 2025-01-01 06:00',
    ]);
  });

  it('steps weekdays from Sunday (cronsim: every third weekday)', () => {
    expect(runs('1 1 * * */3', at(2020, 1, 1), 4)).toEqual([
      'Wed 2020-01-01 01:01',
      'Sat 2020-01-04 01:01',
      'Sun 2020-01-05 01:01',
      'Wed 2020-01-08 01:01',
    ]);
  });

  it('honours month and weekday names', () => {
    expect(next('0 9 * JAN-MAR MON-FRI', at(2024, 1, 5, 9, 0))).toBe('Mon 2024-01-08 09:00');
    expect(next('0 9 * jan-mar mon-fri', at(2024, 3, 29, 10, 0))).toBe('Wed 2025-01-01 09:00');
  });

  it('accepts 7, 0 and SUN for Sunday', () => {
    for (const sunday of ['7', '0', 'SUN', 'sun']) {
      expect(runs(`0 0 * * ${sunday}`, at(2024, 1, 1), 2)).toEqual(['Sun 2024-01-07 00:00', 'Sun 2024-01-14 00:00']);
    }
  });

  it('returns the first matching minute strictly after the given time, seconds zeroed', () => {
    expect(next('0 * * * *', at(2024, 1, 1, 10, 0))).toBe('Mon 2024-01-01 11:00');
    expect(next('* * * * *', at(2024, 1, 1, 10, 0))).toBe('Mon 2024-01-01 10:01');
    expect(next('* * * * *', at(2024, 1, 1, 10, 0, 59, 999))).toBe('Mon 2024-01-01 10:01');
    expect(next('30 8 * * *', at(2024, 1, 1, 8, 30))).toBe('Tue 2024-01-02 08:30');
    expect(next('30 8 * * *', at(2024, 1, 1, 8, 29, 59))).toBe('Mon 2024-01-01 08:30');
    const result = nextRun('*/15 * * * *', at(2024, 1, 1, 10, 7, 42, 123));
    expect([result.getSeconds(), result.getMilliseconds()]).toEqual([0, 0]);
  });

  it('rolls over months and years', () => {
    expect(next('0 0 1 1 *', at(2024, 6, 15))).toBe('Wed 2025-01-01 00:00');
    expect(next('0 0 1 1 *', at(2024, 12, 31, 23, 59, 30))).toBe('Wed 2025-01-01 00:00');
    expect(next('59 23 31 12 *', at(2024, 12, 31, 23, 59))).toBe('Wed 2025-12-31 23:59');
  });

  it('finds rare dates: February 29 and day 30 of a two-month list', () => {
    expect(runs('0 0 29 2 *', at(2024, 3, 1), 2)).toEqual(['Tue 2028-02-29 00:00', 'Sun 2032-02-29 00:00']);
    expect(next('0 0 30 2,4 *', at(2024, 1, 1))).toBe('Tue 2024-04-30 00:00');
  });

  it('throws InputError when nothing matches within 50 years (cronsim stops there too)', () => {
    // The 1st of the month AND its fourth Monday.
    expect(inputErrorOf(() => nextRun('1 1 */100 * MON#4', at(2020, 1, 1)))).toBe(
      'cron expression "1 1 */100 * MON#4" never matches: no run within 50 years after 2020-01-01 00:00',
    );
    expect(() => nextRuns('1 1 */100 * MON#4', at(2020, 1, 1), 3)).toThrow(/never matches/);
  });

  it('accepts a parsed schedule and rejects an invalid start time', () => {
    const schedule = parseCron('0 12 * * *');
    expect(wall(nextRun(schedule, at(2024, 1, 1)))).toBe('Mon 2024-01-01 12:00');
    expect(() => nextRun(schedule, new Date(Number.NaN))).toThrow(InputError);
  });
});

describe('nextRuns', () => {
  it('returns consecutive runs', () => {
    expect(runs('0 9 * * MON', at(2024, 1, 1, 12), 3)).toEqual([
      'Mon 2024-01-08 09:00',
      'Mon 2024-01-15 09:00',
      'Mon 2024-01-22 09:00',
    ]);
  });

  it('returns nothing for a count of 0 and rejects a bad count', () => {
    expect(nextRuns('* * * * *', at(2024, 1, 1), 0)).toEqual([]);
    expect(() => nextRuns('* * * * *', at(2024, 1, 1), -1)).toThrow(InputError);
    expect(() => nextRuns('* * * * *', at(2024, 1, 1), 1.5)).toThrow(InputError);
  });
});

describe('describeCron', () => {
  const cases: [string, string][] = [
    ['* * * * *', 'Every minute'],
    ['*/15 * * * *', 'Every 15 minutes'],
    ['0 * * * *', 'Every hour'],
    ['5 * * * *', 'At minute 5 of every hour'],
    ['5-59/20 * * * *', 'At minutes 5, 25 and 45 of every hour'],
    ['*/7 * * * *', 'At minutes 0, 7, 14, 21, 28, 35, 42, 49 and 56 of every hour'],
    ['0 0 * * *', 'At 00:00 every day'],
    ['30 8 * * 1-5', 'At 08:30 on Monday through Friday'],
    ['0 9,17 * * *', 'At 09:00 and 17:00 every day'],
    ['0 9 * JAN-MAR MON-FRI', 'At 09:00 on Monday through Friday in January through March'],
    ['0 0 13 * 5', 'At 00:00 on day 13 of the month or on Friday'],
    ['0 0 1-7 * MON', 'At 00:00 on days 1 through 7 of the month or on Monday'],
    ['0 0 1-7 * */7', 'At 00:00 on days 1 through 7 of the month if it is Sunday'],
    ['0 0 1-31 * MON', 'At 00:00 every day'],
    ['0 0 * * 5#2', 'At 00:00 on the second Friday of the month'],
    ['0 12 * * 5L', 'At 12:00 on the last Friday of the month'],
    ['0 0 L * *', 'At 00:00 on the last day of the month'],
    ['0 0 LW * *', 'At 00:00 on the last weekday (Monday-Friday) of the month'],
    ['0 0 1,15 * *', 'At 00:00 on days 1 and 15 of the month'],
    ['0 0 * * 0,6', 'At 00:00 on Saturday and Sunday'],
    ['0 0 * * 7', 'At 00:00 on Sunday'],
    ['* 9-17 * * *', 'Every minute from 09:00 through 17:59'],
    ['*/15 9-11,14-17 * * *', 'Every 15 minutes from 09:00 through 11:59 and from 14:00 through 17:59'],
    ['0 */2 * * *', 'Every 2 hours'],
    ['15,45 8-18 * * *', 'At minutes 15 and 45 past hours 8 through 18'],
    ['0 0 1 1 *', 'At 00:00 on day 1 of the month in January'],
    ['0 0 * 1,3,5 *', 'At 00:00 every day in January, March and May'],
  ];
  it.each(cases)('%s -> %s', (expr, text) => {
    expect(describeCron(expr)).toBe(text);
  });

  it('throws InputError for an invalid expression', () => {
    expect(() => describeCron('0 0 15W * *')).toThrow(InputError);
  });
});

describe('isValidCron', () => {
  it('is true exactly when parseCron accepts the expression', () => {
    expect(isValidCron('0 0 L * *')).toBe(true);
    expect(isValidCron('  0   9 * * mon-fri  ')).toBe(true);
    expect(isValidCron('1 1 */100 * MON#4')).toBe(true); // accepted, though it never runs
    expect(isValidCron('0 0 ? * *')).toBe(true);
    expect(isValidCron('@hourly')).toBe(true);
    expect(isValidCron('0 0 15W * *')).toBe(false);
  });
});

describe('shorthands and "?" are stored in the 5-field form cronsim reads', () => {
  it.each([
    ['@hourly', '0 * * * *'],
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'],
    ['@WEEKLY', '0 0 * * 0'],
    ['@monthly', '0 0 1 * *'],
    ['@yearly', '0 0 1 1 *'],
    ['@annually', '0 0 1 1 *'],
    [' 0  9 ? * MON ', '0 9 * * MON'],
    ['0 9 1 * ?', '0 9 1 * *'],
  ])('%j -> %j', (expr, normal) => {
    expect(normalizeCron(expr)).toBe(normal);
    expect(nextRun(expr, at(2024, 3, 15, 10, 7))).toEqual(nextRun(normal, at(2024, 3, 15, 10, 7)));
  });

  it('@weekly runs Sunday at midnight and @monthly on the 1st', () => {
    expect(nextRun('@weekly', at(2024, 3, 15, 10, 7))).toEqual(at(2024, 3, 17, 0, 0));
    expect(nextRun('@monthly', at(2024, 3, 15, 10, 7))).toEqual(at(2024, 4, 1, 0, 0));
    expect(nextRun('@hourly', at(2024, 3, 15, 10, 7))).toEqual(at(2024, 3, 15, 11, 0));
  });
});

describe('time model: naive wall-clock fields in the local time zone', () => {
  it('keeps a daily run at 12:00 on every day of 2024, whatever the time zone', () => {
    const dates = runs('0 12 * * *', at(2024, 1, 1), 366);
    expect(dates).toHaveLength(366);
    const expected: string[] = [];
    for (let day = 0; day < 366; day++) expected.push(wall(new Date(2024, 0, 1 + day, 12, 0)));
    expect(dates).toEqual(expected);
    expect(dates.every((text) => text.endsWith(' 12:00'))).toBe(true);
  });

  it('never repeats or goes back in time over a year of half-hourly runs', () => {
    const list = nextRuns(parseCron('*/30 * * * *'), at(2024, 1, 1), 366 * 48);
    for (let i = 1; i < list.length; i++) {
      expect((list[i] as Date).getTime()).toBeGreaterThan((list[i - 1] as Date).getTime());
    }
    expect(list.every((d) => d.getMinutes() % 30 === 0)).toBe(true);
  });

  // The remaining tests need a daylight saving change in the local zone (set at the top).
  const forward = findTransition('forward');
  const back = findTransition('back');

  it('finds both daylight saving changes of the test zone', () => {
    expect(forward).toBeInstanceOf(Date);
    expect(back).toBeInstanceOf(Date);
  });

  it('moves a wall-clock time skipped by clocks going forward to the end of the gap', () => {
    const change = forward as Date; // first instant after the gap
    const beforeGap = new Date(change.getTime() - 60_000);
    const skipped = addNaiveMinute(beforeGap); // e.g. 02:00, which does not exist that day
    const expr = `${skipped.minute} ${skipped.hour} ${skipped.day} ${skipped.month} *`;
    expect(wall(nextRun(expr, new Date(change.getTime() - 3_600_000)))).toBe(wall(change));
    expect(wall(nextRun('* * * * *', beforeGap))).toBe(wall(change));
  });

  it('runs a repeated wall-clock time once, after `after`, when clocks go back', () => {
    const change = back as Date; // first instant of the repeated period
    const lastBefore = new Date(change.getTime() - 60_000);
    const shiftMs = (change.getTimezoneOffset() - lastBefore.getTimezoneOffset()) * 60_000;
    const repeated = new Date(change.getTime() + 15 * 60_000); // shown twice that night
    const w = naive(repeated);
    const expr = `${w.minute} ${w.hour} ${w.day} ${w.month} *`;
    // From inside the repeat, the later occurrence; from before the change, the earlier one.
    expect(nextRun(expr, change).getTime() - change.getTime()).toBe(15 * 60_000);
    const early = new Date(change.getTime() - shiftMs - 60_000);
    expect(nextRun(expr, early).getTime() - early.getTime()).toBe(16 * 60_000);
    // Every-minute runs continue from the wall clock: the repeated period is not run twice.
    const after = nextRun('* * * * *', lastBefore);
    const expected = addNaiveMinute(lastBefore);
    expect(naive(after)).toEqual(expected);
  });
});

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

function naive(date: Date): Fields {
  return {
    year: date.getFullYear(),
    month: date.getMonth() + 1,
    day: date.getDate(),
    hour: date.getHours(),
    minute: date.getMinutes(),
  };
}

/** The wall-clock fields one minute after `date`'s, computed without time zones. */
function addNaiveMinute(date: Date): Fields {
  const f = naive(date);
  const u = new Date(Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute + 1));
  return {
    year: u.getUTCFullYear(),
    month: u.getUTCMonth() + 1,
    day: u.getUTCDate(),
    hour: u.getUTCHours(),
    minute: u.getUTCMinutes(),
  };
}

/** The first instant with the new UTC offset of a local DST change in 2024, if the zone has one. */
function findTransition(kind: 'forward' | 'back'): Date | undefined {
  const start = new Date(2024, 0, 1).getTime();
  const hour = 3_600_000;
  for (let t = start; t < start + 366 * 24 * hour; t += hour) {
    const before = new Date(t).getTimezoneOffset();
    const after = new Date(t + hour).getTimezoneOffset();
    if (before === after || after < before !== (kind === 'forward')) continue;
    for (let m = t + 60_000; m <= t + hour; m += 60_000) {
      if (new Date(m).getTimezoneOffset() === after) return new Date(m);
    }
  }
  return undefined;
}
