// Held-out trust cases for the date normaliser: inputs the model was not trained for, plus
// in-distribution ones, each with its TRUE date decided here, independently of the model and of
// src/models/date-check.ts. Plain JS, seeded, no build step (bench/date-trust.mjs and
// test/date-trust.test.ts use it).
//
// The true date (`truth`): the ISO date the text denotes by the usual conventions (slashes
// month/day/year, dots day.month.year, dashes year-month-day, a month word with its day and
// four-digit year), whatever the model's range; null when the text denotes no single date (a
// two-digit year, a date that does not exist, a month 13, a word like "tomorrow", garbage, a
// weekday that contradicts the date). An answer is RIGHT when it equals the true date; with no true
// date every answer is wrong.
import { FORMATS, formatDate, randomDates } from './date-rows.mjs';

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const two = (n) => String(n).padStart(2, '0');
const iso = (y, m, d) => `${String(y).padStart(4, '0')}-${two(m)}-${two(d)}`;
const leap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const monthDays = (y, m) => (m === 2 ? (leap(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31);
const casings = ['lower', 'title', 'upper'];

/** mulberry32 → pick(n) in [0, n). */
function picker(seed) {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** The cases named in the documentation, with their true dates. */
export const KNOWN_CASES = [
  { text: '01/02/2026', truth: '2026-01-02', kind: 'known' },
  { text: '11/22/26', truth: null, kind: 'known' },
  { text: 'tomorrow', truth: null, kind: 'known' },
  { text: 'january 1, 2100', truth: '2100-01-01', kind: 'known' },
  { text: 'December 31, 1899', truth: '1899-12-31', kind: 'known' },
  { text: 'February 29, 2023', truth: null, kind: 'known' },
  { text: 'april 31, 2026', truth: null, kind: 'known' },
  { text: '13/01/2026', truth: null, kind: 'known' },
  { text: 'Nov. 22, 2026', truth: '2026-11-22', kind: 'known' },
  { text: 'Sept 3, 2026', truth: '2026-09-03', kind: 'known' },
  { text: 'sept. 3 2026', truth: '2026-09-03', kind: 'known' },
  { text: '2026-11-22', truth: '2026-11-22', kind: 'known' },
  { text: '05.03.2026', truth: '2026-03-05', kind: 'known' },
];

/** Words and phrases (only characters of the model's vocabulary) that name no single date. */
const WORDS = ['tomorrow', 'today', 'yesterday', 'soon', 'someday', 'noon', 'end of month', 'the first monday', 'Monday', 'next year',
  'TODAY', 'Tomorrow', 'this friday', 'in two days', 'birthday', 'a while ago', 'never', 'asap', 'TBD', 'the day after'];

/**
 * [{ text, truth, kind }]: `inDistribution` random dates in the trained formats, then `each` of
 * every other kind (KNOWN_CASES always). `alphabet`: the characters the model reads (garbage and
 * words use only those). Seeded.
 */
export function trustCases({ inDistribution = 400, each = 40, seed = 9001, alphabet } = {}) {
  const pick = picker(seed);
  const anyFormat = () => FORMATS[pick(FORMATS.length)];
  const casing = () => casings[pick(3)];
  const out = [];
  for (const r of randomDates(inDistribution, seed)) out.push({ text: r.text, truth: r.iso, kind: 'in distribution' });
  out.push(...KNOWN_CASES);
  for (let i = 0; i < each; i++) {
    // a real date outside 1900–2099 (1700–1899 or 2100–2299), in a trained format
    const y = pick(2) ? 1700 + pick(200) : 2100 + pick(200);
    const m = 1 + pick(12), d = 1 + pick(monthDays(y, m));
    out.push({ text: formatDate({ year: y, month: m, day: d }, anyFormat(), casing()), truth: iso(y, m, d), kind: 'year out of range' });
  }
  for (let i = 0; i < each; i++) {
    // a day that does not exist: Feb 29 of a non-leap year, Feb 30, day 31 of a 30-day month
    const kind = pick(3);
    let y = 1900 + pick(200), m, d;
    if (kind === 0) {
      while (leap(y)) y++;
      [m, d] = [2, 29];
    } else if (kind === 1) [m, d] = [2, 30];
    else [m, d] = [[4, 6, 9, 11][pick(4)], 31];
    const f = anyFormat();
    const text = f === 'weekday-month-day-year' ? formatDate({ year: y, month: m, day: d }, 'month-day-year', casing()) : formatDate({ year: y, month: m, day: d }, f, casing());
    out.push({ text, truth: null, kind: 'impossible date' });
  }
  for (let i = 0; i < each; i++) {
    // a two-digit year: 11/22/26, 22.11.26, nov 22, 26
    const y = 1900 + pick(200), m = 1 + pick(12), d = 1 + pick(28), yy = two(y % 100);
    const texts = [`${m}/${d}/${yy}`, `${d}.${m}.${yy}`, `${MONTHS[m - 1].slice(0, 3)} ${d}, ${yy}`, `${two(m)}/${two(d)}/${yy}`];
    out.push({ text: texts[pick(texts.length)], truth: null, kind: 'two-digit year' });
  }
  for (let i = 0; i < each; i++) {
    // a month 13..19 (or a day-first date with slashes, whose first number is no month)
    const y = 1900 + pick(200), bad = 13 + pick(7), d = 1 + pick(28);
    const texts = [`${bad}/${d}/${y}`, `${d}.${bad}.${y}`, `${y}-${bad}-${two(d)}`, `${y}년 ${bad}월 ${d}일`];
    out.push({ text: texts[pick(texts.length)], truth: null, kind: 'month 13+' });
  }
  for (let i = 0; i < each; i++) {
    // fields swapped: day-first with slashes, month-first with dots (day ≥ 13: no such month), or
    // year first in words (a real date: the month word and four-digit year say it)
    const y = 1900 + pick(200), m = 1 + pick(12), d = 13 + pick(monthDays(y, m) - 12);
    const k = pick(3);
    if (k === 0) out.push({ text: `${d}/${m}/${y}`, truth: null, kind: 'swapped fields' });
    else if (k === 1) out.push({ text: `${m}.${d}.${y}`, truth: null, kind: 'swapped fields' });
    else out.push({ text: `${y} ${MONTHS[m - 1]} ${d}`, truth: iso(y, m, d), kind: 'swapped fields' });
  }
  for (let i = 0; i < each; i++) {
    // a weekday that contradicts the date
    const r = randomDates(1, seed + 1000 + i)[0];
    const [y, m, d] = r.iso.split('-').map(Number);
    const right = formatDate({ year: y, month: m, day: d }, 'weekday-month-day-year', 'title');
    const days = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
    const wrong = days.filter((w) => !right.startsWith(w))[pick(6)];
    out.push({ text: right.replace(/^\w+/, wrong), truth: null, kind: 'wrong weekday' });
  }
  for (let i = 0; i < each; i++) {
    // a real date in forms outside the trained ones: no comma, the day before an abbreviation,
    // "Sept" without a period, a zero-padded day after a word, y/m/d with slashes
    const y = 1900 + pick(200), m = 1 + pick(12), d = 1 + pick(monthDays(y, m));
    const name = MONTHS[m - 1];
    const forms = [`${name} ${d} ${y}`, `${d} ${name.slice(0, 3)} ${y}`, `${m === 9 ? 'sept' : name.slice(0, 3)} ${d} ${y}`, `${name} ${two(d)}, ${y}`, `${y}/${two(m)}/${two(d)}`, `${d} ${name}, ${y}`];
    out.push({ text: forms[pick(forms.length)], truth: iso(y, m, d), kind: 'other forms of a real date' });
  }
  const allowed = alphabet ? new Set(alphabet) : undefined;
  const words = allowed ? WORDS.filter((w) => [...w].every((c) => allowed.has(c))) : WORDS;
  for (let i = 0; i < each; i++) out.push({ text: words[i % words.length], truth: null, kind: 'words' });
  if (allowed) {
    const chars = [...allowed];
    for (let i = 0; i < each; i++) {
      let text = '';
      for (let n = 3 + pick(20); text.length < n; ) text += chars[pick(chars.length)];
      out.push({ text, truth: null, kind: 'garbage' });
    }
  }
  return out;
}

/**
 * How `valid` and `confidence ≥ threshold` separate right from wrong answers. `results[i]` is the
 * normaliser's answer to `cases[i]` ({ output, valid, confidence }). Returns counts:
 *   right: { n, valid, confident, trusted (valid and confident) }
 *   wrong: { n, invalid, unconfident, flagged (invalid or unconfident), missed (neither) }
 * plus `byKind` (the same per kind) and `missed` (the wrong answers nothing flagged).
 */
export function trustTable(cases, results, threshold) {
  const blank = () => ({ right: { n: 0, valid: 0, confident: 0, trusted: 0 }, wrong: { n: 0, invalid: 0, unconfident: 0, flagged: 0, missed: 0 } });
  const total = blank();
  const byKind = {};
  const missed = [];
  cases.forEach((c, i) => {
    const r = results[i];
    const confident = r.confidence >= threshold;
    const rows = [total, (byKind[c.kind] ??= blank())];
    if (c.truth !== null && r.output === c.truth) {
      for (const t of rows) {
        t.right.n++;
        t.right.valid += r.valid;
        t.right.confident += confident;
        t.right.trusted += r.valid && confident;
      }
    } else {
      for (const t of rows) {
        t.wrong.n++;
        t.wrong.invalid += !r.valid;
        t.wrong.unconfident += !confident;
        t.wrong.flagged += !r.valid || !confident;
        t.wrong.missed += r.valid && confident;
      }
      if (r.valid && confident) missed.push({ text: c.text, truth: c.truth, output: r.output, confidence: r.confidence });
    }
  });
  return { ...total, byKind, missed };
}
