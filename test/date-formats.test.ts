// The JS date formatter (test/helpers/dates.ts) against the strings tools/train_date_normalizer.py
// wrote (test/fixtures/date-formats.json): the model was trained on the script's strings, so the
// accuracy test must feed it exactly the same ones.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CASINGS, DAY_COUNT, FORMATS, dateFromDayIndex, formatDate, isoDate, randomDates, type Casing, type DateFormat, type SimpleDate } from './helpers/dates.js';

interface Fixture {
  rows: { date: SimpleDate; format: DateFormat; casing: Casing; text: string }[];
  randomDates: { count: number; seed: number; rows: { text: string; iso: string; format: DateFormat }[] };
}
const fixture: Fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'date-formats.json'), 'utf8'));

describe('date formats (test/helpers/dates.ts)', () => {
  it('writes every (date, format, casing) of the fixture as the Python script does', () => {
    expect(fixture.rows.length).toBeGreaterThanOrEqual(50);
    expect(new Set(fixture.rows.map((r) => r.format))).toEqual(new Set(FORMATS));
    expect(new Set(fixture.rows.map((r) => r.casing))).toEqual(new Set(CASINGS));
    for (const r of fixture.rows) expect(formatDate(r.date, r.format, r.casing), JSON.stringify(r)).toBe(r.text);
  });

  it('draws the same random dates as the Python script for the same seed', () => {
    const { count, seed, rows } = fixture.randomDates;
    expect(randomDates(count, seed).map(({ text, iso, format }) => ({ text, iso, format }))).toEqual(rows);
  });

  it('covers 1900-01-01..2099-12-31 and writes the examples of the brief', () => {
    expect(DAY_COUNT).toBe(73049);
    expect(isoDate(dateFromDayIndex(0))).toBe('1900-01-01');
    expect(isoDate(dateFromDayIndex(DAY_COUNT - 1))).toBe('2099-12-31');
    const d = { year: 2026, month: 11, day: 22 };
    expect(FORMATS.map((f) => formatDate(d, f))).toEqual([
      'november 22, 2026',
      'nov 22, 2026',
      'nov. 22, 2026',
      '22 november 2026',
      'sunday, november 22, 2026',
      '11/22/2026',
      '11/22/2026',
      '22.11.2026',
      '22.11.2026',
      '2026-11-22',
      '2026년 11월 22일',
    ]);
    const early = { year: 2026, month: 1, day: 2 };
    expect(formatDate(early, 'm/d/y')).toBe('1/2/2026');
    expect(formatDate(early, 'mm/dd/y')).toBe('01/02/2026');
    expect(formatDate(early, 'd.m.y')).toBe('2.1.2026');
    expect(formatDate(early, 'dd.mm.y')).toBe('02.01.2026');
    expect(formatDate(early, 'y-m-d')).toBe('2026-01-02');
    expect(formatDate({ year: 1987, month: 9, day: 3 }, 'mon.-day-year', 'title')).toBe('Sept. 3, 1987');
    expect(formatDate({ year: 1987, month: 9, day: 3 }, 'mon-day-year', 'upper')).toBe('SEP 3, 1987');
    expect(formatDate({ year: 1987, month: 5, day: 3 }, 'mon.-day-year', 'title')).toBe('May 3, 1987');
    expect(formatDate(d, 'weekday-month-day-year', 'title')).toBe('Sunday, November 22, 2026');
    expect(formatDate(d, 'mon-day-year', 'upper')).toBe('NOV 22, 2026');
    expect(formatDate({ year: 1900, month: 1, day: 1 }, 'weekday-month-day-year')).toBe('monday, january 1, 1900');
  });

  it('is uniform enough over formats and casings, and seeded', () => {
    const rows = randomDates(7000, 42);
    for (const f of FORMATS) expect(rows.filter((r) => r.format === f).length).toBeGreaterThan(550);
    for (const c of CASINGS) expect(rows.filter((r) => r.casing === c).length).toBeGreaterThan(2100);
    expect(randomDates(5, 42)).toEqual(rows.slice(0, 5));
    expect(randomDates(5, 43)).not.toEqual(rows.slice(0, 5));
  });
});
