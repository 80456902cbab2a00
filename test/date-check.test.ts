// The date normaliser's trust rules (src/models/date-check.ts), directly: a table of (input, output) →
// verdict, the calendar arithmetic against JavaScript's Date, and what inputs say.
import { describe, expect, it } from 'vitest';
import { checkDate, daysInMonth, isLeapYear, MODEL_YEARS, readInputDate, weekdayOf } from '../src/models/date-check.js';

// [input, output, undefined (valid) | the reason]
const CASES: [string, string, string | undefined][] = [
  // in distribution, right
  ['november 22, 2026', '2026-11-22', undefined],
  ['Sunday, November 22, 2026', '2026-11-22', undefined],
  ['NOV. 22, 2026', '2026-11-22', undefined],
  ['Sept 3, 1987', '1987-09-03', undefined],
  ['sept. 3 1987', '1987-09-03', undefined],
  ['22 november 2026', '2026-11-22', undefined],
  ['2026 november 22', '2026-11-22', undefined],
  ['01/02/2026', '2026-01-02', undefined],
  ['1/2/2026', '2026-01-02', undefined],
  ['05.03.2026', '2026-03-05', undefined],
  ['22. 11. 2026', '2026-11-22', undefined],
  ['1 / 2 / 2026', '2026-01-02', undefined],
  ['2026-11-22', '2026-11-22', undefined],
  ['2026년 11월 22일', '2026-11-22', undefined],
  ['February 29, 2000', '2000-02-29', undefined],
  ['1.1.1900', '1900-01-01', undefined],
  ['12/31/2099', '2099-12-31', undefined],
  // the output alone
  ['01/02/2026', '2026-02-20', 'the input says month 1 but the output has month 2'],
  ['11/22/26', '212-11-22', 'output "212-11-22" is not a date in the form yyyy-mm-dd'],
  ['tomorrow', '101-10-09', 'output "101-10-09" is not a date in the form yyyy-mm-dd'],
  ['', '19-0-0-01', 'output "19-0-0-01" is not a date in the form yyyy-mm-dd'],
  ['February 29, 2023', '2023-02-29', 'output "2023-02-29" is not a calendar date (2023 is not a leap year)'],
  ['february 29, 1900', '1900-02-29', 'output "1900-02-29" is not a calendar date (1900 is not a leap year)'],
  ['april 31, 2026', '2026-04-31', 'output "2026-04-31" is not a calendar date (April has 30 days)'],
  ['13/01/2026', '2026-13-01', 'output "2026-13-01" is not a calendar date (there is no month 13)'],
  ['0.1.2026', '2026-01-00', 'output "2026-01-00" is not a calendar date (there is no day 0)'],
  ['december 31, 1899', '1899-12-31', "output year 1899 is outside the model's range 1900–2099"],
  // the input alone
  ['tomorrow', '2010-10-09', 'the input does not say the year, month or day'],
  ['2026', '2026-01-01', 'the input does not say the month or day'],
  ['11/22', '2026-11-22', 'the input does not say the year'],
  ['november 2026', '2026-11-01', 'the input does not say the day'],
  ['11/22/26', '2026-11-22', 'the input\'s year "26" does not have four digits (which century?)'],
  ['december 31, 1899', '1999-12-31', "the input's year 1899 is outside the model's range 1900–2099"],
  ['january 1, 2100', '2000-01-21', "the input's year 2100 is outside the model's range 1900–2099"],
  ['13/01/2026', '2026-01-13', "the input's month 13 does not exist"],
  ['32.1.2026', '2026-01-31', "the input's day 32 does not exist"],
  ['February 29, 2023', '2023-03-01', "the input's date February 29, 2023 does not exist (2023 is not a leap year)"],
  ['april 31, 2026', '2026-04-30', "the input's date April 31, 2026 does not exist (April has 30 days)"],
  ['november december 22, 2026', '2026-11-22', 'the input names 2 different months'],
  ['22 11 2026', '2026-12-22', 'the input has 3 numbers where a day and a year were expected'],
  ['november 22, 2026, 10', '2026-11-22', 'the input has 3 numbers where a day and a year were expected'],
  ['november 2026, 2027', '2026-11-22', 'the input has two four-digit numbers where a day and a year were expected'],
  // agreement
  ['november 22, 2026', '2062-11-22', 'the input says year 2026 but the output has 2062'],
  ['november 22, 2026', '2026-12-22', 'the input says November but the output has month 12'],
  ['22.11.2026', '2026-11-21', 'the input says day 22 but the output has 21'],
  ['2.11.2026', '2026-02-11', 'the input says month 11 but the output has month 2'],
  ['monday, november 22, 2026', '2026-11-22', 'the input says Monday but 2026-11-22 is a Sunday'],
];

describe('checkDate', () => {
  it.each(CASES)('%j → %j', (input, output, reason) => {
    expect(checkDate(input, output)).toEqual(reason === undefined ? { valid: true } : { valid: false, reason });
  });

  it("takes another model's years", () => {
    expect(checkDate('january 1, 2100', '2100-01-01', { minYear: 2000, maxYear: 2199 })).toEqual({ valid: true });
    expect(checkDate('1.1.1950', '1950-01-01', { minYear: 2000, maxYear: 2199 })).toEqual({ valid: false, reason: "output year 1950 is outside the model's range 2000–2199" });
    expect(MODEL_YEARS).toEqual({ minYear: 1900, maxYear: 2099 });
  });

  it('names a wrong argument', () => {
    expect(() => checkDate(5 as never, '2026-01-01')).toThrow(new TypeError('checkDate: input must be a string, received number'));
    expect(() => checkDate('1/1/2026', null as never)).toThrow(new TypeError('checkDate: output must be a string, received null'));
  });
});

describe('the calendar', () => {
  it("agrees with JavaScript's Date on every day of 1896..2104 (leap years, month lengths, weekdays)", () => {
    for (let year = 1896; year <= 2104; year++) {
      expect(isLeapYear(year), String(year)).toBe(new Date(Date.UTC(year, 1, 29)).getUTCMonth() === 1);
      for (let month = 1; month <= 12; month++) {
        expect(daysInMonth(year, month)).toBe(new Date(Date.UTC(year, month, 0)).getUTCDate());
        for (let day = 1; day <= daysInMonth(year, month); day++) expect(weekdayOf(year, month, day)).toBe(new Date(Date.UTC(year, month - 1, day)).getUTCDay());
      }
    }
    expect([1900, 2000, 2023, 2024, 2100].map(isLeapYear)).toEqual([false, true, false, true, false]);
  });
});

describe('readInputDate', () => {
  it('reads the order from the separator, the words, or the Korean markers', () => {
    const fields = (text: string) => {
      const r = readInputDate(text);
      return [r.year?.value, r.month?.value, r.day?.value, r.weekday];
    };
    expect(fields('11/22/2026')).toEqual([2026, 11, 22, undefined]);
    expect(fields('22.11.2026')).toEqual([2026, 11, 22, undefined]);
    expect(fields('2026-11-22')).toEqual([2026, 11, 22, undefined]);
    expect(fields('2026/11/22')).toEqual([2026, 11, 22, undefined]);
    expect(fields('2026.11.22')).toEqual([2026, 11, 22, undefined]);
    expect(fields('2026-11')).toEqual([2026, 11, undefined, undefined]);
    expect(fields('2026년 11월 22일')).toEqual([2026, 11, 22, undefined]);
    expect(fields('SUNDAY, NOVEMBER 22, 2026')).toEqual([2026, 11, 22, 0]);
    expect(fields('22 Nov 2026')).toEqual([2026, 11, 22, undefined]);
    expect(fields('Sept. 3, 1987')).toEqual([1987, 9, 3, undefined]);
    expect(fields('tomorrow')).toEqual([undefined, undefined, undefined, undefined]);
    expect(readInputDate('01/02/2026').month).toEqual({ value: 1, text: '01' });
    expect(readInputDate('may 3, 2026')).toMatchObject({ month: { value: 5, text: 'May' }, monthByName: true });
  });
});
