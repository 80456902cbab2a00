/**
 * Whether a date normaliser's answer can be trusted, by rules that do not depend on the model:
 * the output must be a real calendar date inside the model's years, and it must agree with what
 * the input spells out unambiguously. Pure functions, no model; used by loadDateNormalizer for
 * every result's `valid` / `reason`.
 *
 * THE RULES (checkDate), in this order; the first that fails gives the reason:
 *  1. The output has the form yyyy-mm-dd (four, two and two digits).
 *  2. The output is a calendar date of the proleptic Gregorian calendar: month 1..12, day
 *     1..daysInMonth (February has 29 days in leap years: divisible by 4, except centuries not
 *     divisible by 400 — 2000 is a leap year, 1900 and 2100 are not).
 *  3. The output year is inside the model's range (1900–2099 for the shipped model).
 *  4. The input says a year, a month and a day (readInputDate below); a text without one of them
 *     ("tomorrow", "2026", "11/22") has no single true date.
 *  5. The input's year is written with four digits ("11/22/26": which century?) and lies in the
 *     model's range; its month is 1..12 and its day 1..31 (month 13 or day 32 do not exist); the
 *     three together are a calendar date ("February 29, 2023", "April 31").
 *  6. The output's year, month and day equal the input's, and a weekday named in the input is the
 *     output date's weekday.
 *
 * WHAT THE INPUT SPELLS OUT (readInputDate), case-insensitive, first match wins:
 *  - Korean: the numbers before 년 (year), 월 (month), 일 (day).
 *  - Three numbers joined by one separator, which fixes their order: slashes m/d/y (US),
 *    dots d.m.y (European), dashes y-m-d (ISO 8601), spaces around them allowed; a first number of four digits is a year
 *    whatever the separator (2026/11/22, 2026.11.22: y/m/d). Two numbers ("11/22") leave the year
 *    unsaid.
 *  - Otherwise a month word (the full name, its first three letters, or "sept") and the numbers:
 *    of two numbers, the one with four digits is the year and the other the day ("november 22,
 *    2026", "22 november 2026", "2026 november 22"); with no four-digit one, the first is the day
 *    and the last the year (whose digits rule 5 then refuses). One number alone is the year if it
 *    has four digits, the day otherwise; more than two numbers, two four-digit ones, or two
 *    different month words are ambiguous. Weekday words (full or three letters) are read too;
 *    other words are ignored.
 */

/** The years a model was trained on (inclusive). */
export interface YearRange {
  minYear: number;
  maxYear: number;
}

/** The shipped date normaliser's years (models/date-normalizer: 1900-01-01 .. 2099-12-31). */
export const MODEL_YEARS: Readonly<YearRange> = Object.freeze({ minYear: 1900, maxYear: 2099 });

/** A number as the input wrote it: its value and its digits ("05" → 5, "05"). */
export interface WrittenNumber {
  value: number;
  text: string;
}

/** What an input text says about its date (absent fields: the input does not say). */
export interface InputDate {
  year?: WrittenNumber;
  month?: WrittenNumber;
  /** True when the month was a word (November, nov, Sept.), not a number. */
  monthByName?: boolean;
  day?: WrittenNumber;
  /** 0 = Sunday .. 6 = Saturday, when the input names a weekday. */
  weekday?: number;
  /** Why the input cannot be read unambiguously (two months, too many numbers), if so. */
  ambiguity?: string;
}

/** The verdict on one answer: valid, or not with a sentence a user can read. */
export type DateCheck = { valid: true } | { valid: false; reason: string };

export const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
export const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Gregorian leap year: divisible by 4, and centuries only when divisible by 400. */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days of `month` (1..12) in `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * 0 = Sunday .. 6 = Saturday (Sakamoto's method: January and February count as months 13 and 14
 * of the previous year, so the leap day falls at the end of the counted year).
 */
export function weekdayOf(year: number, month: number, day: number): number {
  const t = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
  const y = month < 3 ? year - 1 : year;
  return (y + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400) + t[month - 1]! + day) % 7;
}

/** Why (year, month, day) is not a calendar date, or undefined when it is one. */
export function notACalendarDate(year: number, month: number, day: number): string | undefined {
  if (month < 1 || month > 12) return `there is no month ${month}`;
  if (day < 1) return `there is no day ${day}`;
  const n = daysInMonth(year, month);
  if (day <= n) return undefined;
  if (month === 2 && day === 29) return `${year} is not a leap year`;
  return `${MONTH_NAMES[month - 1]} has ${n} days${month === 2 ? ` in ${year}` : ''}`;
}

// Month words: full names, three-letter abbreviations and "sept" → month 1..12.
const MONTH_WORDS = new Map<string, number>();
MONTH_NAMES.forEach((name, i) => {
  MONTH_WORDS.set(name.toLowerCase(), i + 1);
  MONTH_WORDS.set(name.slice(0, 3).toLowerCase(), i + 1);
});
MONTH_WORDS.set('sept', 9);
const WEEKDAY_WORDS = new Map<string, number>();
WEEKDAY_NAMES.forEach((name, i) => {
  WEEKDAY_WORDS.set(name.toLowerCase(), i);
  WEEKDAY_WORDS.set(name.slice(0, 3).toLowerCase(), i);
});

const written = (text: string): WrittenNumber => ({ value: Number(text), text });

/** What `text` says about its date (see WHAT THE INPUT SPELLS OUT above). */
export function readInputDate(text: string): InputDate {
  const lower = text.toLowerCase();
  const out: InputDate = {};
  for (const word of lower.match(/\p{L}+/gu) ?? []) {
    const w = WEEKDAY_WORDS.get(word);
    if (w !== undefined) out.weekday = w;
  }
  // Korean: 2026년 11월 22일
  if (/[년월일]/.test(lower)) {
    const at = (marker: string) => new RegExp(`(\\d+)\\s*${marker}`).exec(lower)?.[1];
    const [y, m, d] = [at('년'), at('월'), at('일')];
    if (y !== undefined) out.year = written(y);
    if (m !== undefined) out.month = written(m);
    if (d !== undefined) out.day = written(d);
    return out;
  }
  // Numbers joined by one separator: the separator fixes the order.
  const joined = /(\d+)\s*([/.-])\s*(\d+)(?:\s*\2\s*(\d+))?/.exec(lower);
  if (joined) {
    const [, a, sep, b, c] = joined as unknown as [string, string, string, string, string | undefined];
    const yearFirst = sep === '-' || a.length === 4;
    const parts = yearFirst ? { year: a, month: b, day: c } : sep === '/' ? { month: a, day: b, year: c } : { day: a, month: b, year: c };
    if (parts.year !== undefined) out.year = written(parts.year);
    if (parts.month !== undefined) out.month = written(parts.month);
    if (parts.day !== undefined) out.day = written(parts.day);
    return out;
  }
  // Month words and loose numbers.
  const months = new Set<number>();
  for (const word of lower.match(/\p{L}+/gu) ?? []) {
    const m = MONTH_WORDS.get(word);
    if (m !== undefined) months.add(m);
  }
  if (months.size > 1) out.ambiguity = `the input names ${months.size} different months`;
  else if (months.size === 1) {
    const m = [...months][0]!;
    out.month = { value: m, text: MONTH_NAMES[m - 1]! };
    out.monthByName = true;
  }
  const numbers = lower.match(/\d+/g) ?? [];
  if (numbers.length > 2) out.ambiguity ??= `the input has ${numbers.length} numbers where a day and a year were expected`;
  else if (numbers.length === 2) {
    const [a, b] = numbers as [string, string];
    if (a.length === 4 && b.length === 4) out.ambiguity ??= 'the input has two four-digit numbers where a day and a year were expected';
    const yearFirst = a.length === 4 && b.length !== 4;
    out.day = written(yearFirst ? b : a);
    out.year = written(yearFirst ? a : b);
  } else if (numbers.length === 1) {
    if (numbers[0]!.length === 4) out.year = written(numbers[0]!);
    else out.day = written(numbers[0]!);
  }
  return out;
}

/** "a", "a or b", "a, b or c". */
function orList(words: string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/**
 * Is `output` (the model's answer to `input`) a trustworthy date? See THE RULES above.
 * `range`: the model's years (default MODEL_YEARS).
 */
export function checkDate(input: string, output: string, range: YearRange = MODEL_YEARS): DateCheck {
  if (typeof input !== 'string') throw new TypeError(`checkDate: input must be a string, received ${input === null ? 'null' : typeof input}`);
  if (typeof output !== 'string') throw new TypeError(`checkDate: output must be a string, received ${output === null ? 'null' : typeof output}`);
  const fail = (reason: string): DateCheck => ({ valid: false, reason });
  const span = `${range.minYear}–${range.maxYear}`;
  const inRange = (y: number) => y >= range.minYear && y <= range.maxYear;

  // 1–3: the output alone
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(output);
  if (!iso) return fail(`output ${JSON.stringify(output)} is not a date in the form yyyy-mm-dd`);
  const [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  const why = notACalendarDate(year, month, day);
  if (why) return fail(`output "${output}" is not a calendar date (${why})`);
  if (!inRange(year)) return fail(`output year ${year} is outside the model's range ${span}`);

  // 4–5: the input alone
  const said = readInputDate(input);
  if (said.ambiguity) return fail(said.ambiguity);
  const missing = (['year', 'month', 'day'] as const).filter((k) => said[k] === undefined);
  if (missing.length > 0) return fail(`the input does not say the ${orList(missing)}`);
  const y = said.year!, m = said.month!, d = said.day!;
  if (y.text.length !== 4) return fail(`the input's year "${y.text}" does not have four digits (which century?)`);
  if (!inRange(y.value)) return fail(`the input's year ${y.value} is outside the model's range ${span}`);
  if (m.value < 1 || m.value > 12) return fail(`the input's month ${m.value} does not exist`);
  if (d.value < 1 || d.value > 31) return fail(`the input's day ${d.value} does not exist`);
  const inputWhy = notACalendarDate(y.value, m.value, d.value);
  if (inputWhy) return fail(`the input's date ${MONTH_NAMES[m.value - 1]} ${d.value}, ${y.value} does not exist (${inputWhy})`);

  // 6: agreement
  if (y.value !== year) return fail(`the input says year ${y.value} but the output has ${year}`);
  if (m.value !== month) {
    const what = said.monthByName ? MONTH_NAMES[m.value - 1] : `month ${m.value}`;
    return fail(`the input says ${what} but the output has month ${month}`);
  }
  if (d.value !== day) return fail(`the input says day ${d.value} but the output has ${day}`);
  if (said.weekday !== undefined) {
    const w = weekdayOf(year, month, day);
    if (w !== said.weekday) return fail(`the input says ${WEEKDAY_NAMES[said.weekday]} but ${output} is a ${WEEKDAY_NAMES[w]}`);
  }
  return { valid: true };
}
