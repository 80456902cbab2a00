// Random date rows for the date-normaliser bench and demo: the same rows as test/helpers/dates.ts's
// randomDates(count, seed) (and the training script's random_dates), in plain JS for node without a
// build step; test/date-normalizer.test.ts checks that both give the same rows.
export const FORMATS = ['month-day-year', 'mon-day-year', 'mon.-day-year', 'day-month-year', 'weekday-month-day-year', 'm/d/y', 'mm/dd/y', 'd.m.y', 'dd.mm.y', 'y-m-d', 'korean'];
export const CASINGS = ['lower', 'title', 'upper'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const DAY_MS = 86_400_000;
const FIRST_MS = Date.UTC(1900, 0, 1);
const DAY_COUNT = (Date.UTC(2099, 11, 31) - FIRST_MS) / DAY_MS + 1;

const caseWord = (w, casing) => (casing === 'upper' ? w.toUpperCase() : casing === 'title' ? w.slice(0, 1).toUpperCase() + w.slice(1) : w);

const two = (n) => String(n).padStart(2, '0');
// with a period: "nov.", "sept." for September, "may" (not shortened, no period)
const dotted = (month) => (month === 5 ? 'may' : `${month === 9 ? 'sept' : MONTHS[month - 1].slice(0, 3)}.`);

export function formatDate({ year, month, day }, format, casing = 'lower') {
  const name = caseWord(MONTHS[month - 1], casing);
  const abbr = caseWord(MONTHS[month - 1].slice(0, 3), casing);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  switch (format) {
    case 'month-day-year': return `${name} ${day}, ${year}`;
    case 'mon-day-year': return `${abbr} ${day}, ${year}`;
    case 'mon.-day-year': return `${caseWord(dotted(month), casing)} ${day}, ${year}`;
    case 'day-month-year': return `${day} ${name} ${year}`;
    case 'weekday-month-day-year': return `${caseWord(WEEKDAYS[d.getUTCDay()], casing)}, ${name} ${day}, ${year}`;
    case 'm/d/y': return `${month}/${day}/${year}`;
    case 'mm/dd/y': return `${two(month)}/${two(day)}/${year}`;
    case 'd.m.y': return `${day}.${month}.${year}`;
    case 'dd.mm.y': return `${two(day)}.${two(month)}.${year}`;
    case 'y-m-d': return `${year}-${two(month)}-${two(day)}`;
    case 'korean': return `${year}년 ${month}월 ${day}일`;
    default: throw new TypeError(`unknown date format ${JSON.stringify(format)}`);
  }
}

export function randomDates(count, seed) {
  let s = seed >>> 0;
  const pick = (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
  const rows = [];
  for (let i = 0; i < count; i++) {
    const dt = new Date(FIRST_MS + pick(DAY_COUNT) * DAY_MS);
    const date = { year: dt.getUTCFullYear(), month: dt.getUTCMonth() + 1, day: dt.getUTCDate() };
    const format = FORMATS[pick(FORMATS.length)];
    const casing = CASINGS[pick(CASINGS.length)];
    const iso = `${String(date.year).padStart(4, '0')}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;
    rows.push({ text: formatDate(date, format, casing), iso, format, casing });
  }
  return rows;
}
