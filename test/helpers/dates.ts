// Random dates in the eleven formats of the date normaliser (models/date-normalizer), exactly as
// tools/train_date_normalizer.py writes them: the same strings for the same (date, format,
// casing), and randomDates(count, seed) gives the same rows as the script's random_dates(count,
// seed). No dependencies.
//
//   month-day-year           november 22, 2026
//   mon-day-year             nov 22, 2026           (three-letter abbreviation: sep for September)
//   mon.-day-year            nov. 22, 2026          (with a period; sept. for September, may for May)
//   day-month-year           22 november 2026
//   weekday-month-day-year   sunday, november 22, 2026   (the date's real weekday)
//   m/d/y                    11/22/2026  1/2/2026   (no leading zeros)
//   mm/dd/y                  11/22/2026  01/02/2026 (two digits each)
//   d.m.y                    22.11.2026  5.3.2026   (no leading zeros)
//   dd.mm.y                  22.11.2026  05.03.2026 (two digits each)
//   y-m-d                    2026-11-22             (ISO 8601)
//   korean                   2026년 11월 22일
//
// Years have four digits; the casing (lower, title = first letter of every
// word upper-cased, upper) applies to the month and weekday words of the whole string.

export const FORMATS = [
  'month-day-year',
  'mon-day-year',
  'mon.-day-year',
  'day-month-year',
  'weekday-month-day-year',
  'm/d/y',
  'mm/dd/y',
  'd.m.y',
  'dd.mm.y',
  'y-m-d',
  'korean',
] as const;
export type DateFormat = (typeof FORMATS)[number];

export const CASINGS = ['lower', 'title', 'upper'] as const;
export type Casing = (typeof CASINGS)[number];

export interface SimpleDate {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
// Indexed by Date.getUTCDay(): 0 = Sunday.
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

const DAY_MS = 86_400_000;
const FIRST_MS = Date.UTC(1900, 0, 1);
/** Days from 1900-01-01 to 2099-12-31 inclusive (73049). */
export const DAY_COUNT = (Date.UTC(2099, 11, 31) - FIRST_MS) / DAY_MS + 1;

function caseWord(word: string, casing: Casing): string {
  if (casing === 'upper') return word.toUpperCase();
  if (casing === 'title') return word.slice(0, 1).toUpperCase() + word.slice(1);
  return word;
}

/** The weekday word (lower case) of a date of the proleptic Gregorian calendar. */
function weekday({ year, month, day }: SimpleDate): string {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // not Date.UTC: it maps years 0..99 to 1900..1999
  return WEEKDAYS[d.getUTCDay()]!;
}

/** The abbreviation with a period: "nov.", "sept." for September, "may" (not shortened, no period). */
function dottedAbbreviation(month: number): string {
  if (month === 5) return 'may';
  return `${month === 9 ? 'sept' : MONTHS[month - 1]!.slice(0, 3)}.`;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** The text of `date` in `format` and `casing`. */
export function formatDate(date: SimpleDate, format: DateFormat, casing: Casing = 'lower'): string {
  const { year, month, day } = date;
  const name = caseWord(MONTHS[month - 1]!, casing);
  const abbr = caseWord(MONTHS[month - 1]!.slice(0, 3), casing);
  switch (format) {
    case 'month-day-year':
      return `${name} ${day}, ${year}`;
    case 'mon-day-year':
      return `${abbr} ${day}, ${year}`;
    case 'mon.-day-year':
      return `${caseWord(dottedAbbreviation(month), casing)} ${day}, ${year}`;
    case 'day-month-year':
      return `${day} ${name} ${year}`;
    case 'weekday-month-day-year':
      return `${caseWord(weekday(date), casing)}, ${name} ${day}, ${year}`;
    case 'm/d/y':
      return `${month}/${day}/${year}`;
    case 'mm/dd/y':
      return `${two(month)}/${two(day)}/${year}`;
    case 'd.m.y':
      return `${day}.${month}.${year}`;
    case 'dd.mm.y':
      return `${two(day)}.${two(month)}.${year}`;
    case 'y-m-d':
      return `${year}-${two(month)}-${two(day)}`;
    case 'korean':
      return `${year}년 ${month}월 ${day}일`;
    default:
      throw new TypeError(`unknown date format ${JSON.stringify(format)}`);
  }
}

/** yyyy-mm-dd. */
export function isoDate({ year, month, day }: SimpleDate): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** The date `index` days after 1900-01-01. */
export function dateFromDayIndex(index: number): SimpleDate {
  const d = new Date(FIRST_MS + index * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** mulberry32 (as src/reference/random.ts) as uint32 draws; pick(n) = floor(u / 2^32 · n). */
function mulberry32(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

export interface RandomDate {
  text: string;
  iso: string;
  format: DateFormat;
  casing: Casing;
}

/**
 * `count` dates uniform over 1900-01-01..2099-12-31, over FORMATS and over CASINGS, from `seed`.
 * Each row draws, in this order: the day (pick(DAY_COUNT) days after 1900-01-01), the format
 * (pick(11)), the casing (pick(3)) — the order of tools/train_date_normalizer.py's random_dates.
 */
export function randomDates(count: number, seed: number): RandomDate[] {
  const pick = mulberry32(seed);
  const rows: RandomDate[] = [];
  for (let i = 0; i < count; i++) {
    const date = dateFromDayIndex(pick(DAY_COUNT));
    const format = FORMATS[pick(FORMATS.length)]!;
    const casing = CASINGS[pick(CASINGS.length)]!;
    rows.push({ text: formatDate(date, format, casing), iso: isoDate(date), format, casing });
  }
  return rows;
}
