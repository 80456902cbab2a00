/**
 * The claims of the README's trust table for the date normaliser, on inputs it was not trained
 * for (bench/date-trust-cases.mjs: each with its true date decided by the generator, not by the
 * model or src/models/date-check.ts): nothing wrong passes as valid and confident; right answers pass;
 * the known bad cases are flagged with their reasons; confidence alone flags most wrong answers.
 */
import { describe, expect, it } from 'vitest';
import { loadDateNormalizer, type Normalized } from '../src/index.js';
import { BUILDS, runtimeFor } from './helpers.js';
import { KNOWN_CASES, trustCases, trustTable } from '../bench/date-trust-cases.mjs';

/** The threshold the README recommends. */
const T = 0.9;

describe.each(BUILDS)('trusting the date normaliser on the %s build', (backend) => {
  it.each([1, 3])('beam %i: no wrong answer passes as valid and confident; every right one does', async (beamSize) => {
    const rt = await runtimeFor(backend);
    const dn = await loadDateNormalizer(rt);
    const cases = trustCases({ alphabet: dn.vocab.input.filter((s) => [...s].length === 1) });
    expect(cases.length).toBeGreaterThan(700);
    const results: Normalized[] = beamSize > 1 ? cases.map((c) => dn.normalize(c.text, { beamSize })) : dn.normalizeBatch(cases.map((c) => c.text));
    for (const r of results) {
      expect(r.confidence).toBeGreaterThanOrEqual(0);
      expect(r.confidence).toBeLessThanOrEqual(1);
      expect(typeof r.reason === 'string').toBe(!r.valid);
    }
    const table = trustTable(cases, results, T);
    expect(table.missed).toEqual([]);
    expect(table.wrong.n).toBeGreaterThan(250);
    expect(table.wrong.invalid).toBe(table.wrong.n);
    expect(table.right.trusted).toBe(table.right.n);
    // confidence alone (a model-only signal) flags most wrong answers and no right one
    expect(table.wrong.unconfident / table.wrong.n).toBeGreaterThan(0.6);
    // every in-distribution date is right, valid and confident
    expect(table.byKind['in distribution']).toMatchObject({ right: { n: 400, trusted: 400 }, wrong: { n: 0 } });
    dn.dispose();
  });

  it('flags the known bad cases with reasons a user can read', async () => {
    const rt = await runtimeFor(backend);
    const dn = await loadDateNormalizer(rt);
    const got = Object.fromEntries(KNOWN_CASES.map((c) => [c.text, dn.normalize(c.text)]));
    for (const c of KNOWN_CASES) {
      const r = got[c.text]!;
      if (r.output === c.truth) expect([c.text, r.valid, r.confidence >= T]).toEqual([c.text, true, true]);
      else expect([c.text, r.valid]).toEqual([c.text, false]);
    }
    expect(got['February 29, 2023']!.reason).toMatch(/^output "2023-02-29" is not a calendar date \(2023 is not a leap year\)$|^the input's date February 29, 2023 does not exist/);
    expect(got['april 31, 2026']!.reason).toMatch(/April has 30 days/);
    expect(got['13/01/2026']!.reason).toMatch(/no month 13|the input's month 13 does not exist/);
    expect(got['December 31, 1899']!.reason).toMatch(/1899 is outside the model's range 1900–2099/);
    expect(got['tomorrow']!.reason).toBe('the input does not say the year, month or day');
    for (const text of ['01/02/2026', 'Nov. 22, 2026', '2026-11-22', '05.03.2026', 'Sept 3, 2026']) expect(got[text]).toMatchObject({ valid: true });
    dn.dispose();
  });
});
