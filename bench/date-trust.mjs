// `node bench/date-trust.mjs [--threshold T] [--beam K]`: how far the date normaliser's answers can
// be trusted (run `npm run build` first; it uses dist/). Feeds the held-out trust cases of
// bench/date-trust-cases.mjs (inputs the model was not trained for, with their true dates, plus
// in-distribution dates) through greedy decoding (or beam search) and prints, for each
// confidence threshold, how `valid` and `confidence ≥ T` separate right from wrong answers, then
// the table per kind of input at T, and every wrong answer that nothing flagged.
import { init, loadDateNormalizer } from '../dist/index.js';
import { trustCases, trustTable } from './date-trust-cases.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const threshold = Number(arg('--threshold', '0.9'));
const beamSize = Number(arg('--beam', '1'));

const rt = await init({ threads: 1 });
const dn = await loadDateNormalizer(rt);
const cases = trustCases({ alphabet: dn.vocab.input.filter((s) => [...s].length === 1) });
const results = beamSize > 1 ? cases.map((c) => dn.normalize(c.text, { beamSize })) : dn.normalizeBatch(cases.map((c) => c.text));
const pct = (a, n) => (n === 0 ? '—' : `${a}/${n} (${((100 * a) / n).toFixed(1)}%)`);

console.log(`${cases.length} inputs, ${beamSize > 1 ? `beam search (${beamSize})` : 'greedy decoding'}, ${rt.backend}`);
console.log('\nthreshold | right: valid | right: valid & conf ≥ T | wrong: invalid | wrong: conf < T | wrong: either | wrong: missed');
for (const t of [0.5, 0.7, 0.8, 0.9, 0.95, 0.99]) {
  const s = trustTable(cases, results, t);
  console.log(`${t} | ${pct(s.right.valid, s.right.n)} | ${pct(s.right.trusted, s.right.n)} | ${pct(s.wrong.invalid, s.wrong.n)} | ${pct(s.wrong.unconfident, s.wrong.n)} | ${pct(s.wrong.flagged, s.wrong.n)} | ${s.wrong.missed}`);
}
const s = trustTable(cases, results, threshold);
console.log(`\nat T = ${threshold}, per kind of input:`);
console.log('kind | inputs | right | right: valid & conf ≥ T | wrong | wrong: invalid | wrong: conf < T | wrong: either');
for (const [kind, k] of Object.entries(s.byKind)) {
  console.log(`${kind} | ${k.right.n + k.wrong.n} | ${k.right.n} | ${k.right.trusted} | ${k.wrong.n} | ${k.wrong.invalid} | ${k.wrong.unconfident} | ${k.wrong.flagged}`);
}
console.log(`\nwrong answers nothing flagged (${s.missed.length}):`);
for (const m of s.missed) console.log(`  ${JSON.stringify(m.text)} → ${m.output} (true: ${m.truth ?? 'none'}), confidence ${m.confidence.toFixed(4)}`);
const wrongRight = cases.map((c, i) => [c, results[i]]).filter(([c, r]) => c.truth !== null && r.output === c.truth && !r.valid);
console.log(`\nright answers marked invalid (${wrongRight.length}):`);
for (const [c, r] of wrongRight) console.log(`  ${JSON.stringify(c.text)} → ${r.output}: ${r.reason}`);
dn.dispose();
rt.dispose();
