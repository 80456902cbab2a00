// NaN and ±Infinity in the inputs: they reach exactly the outputs they touch, as in PyTorch, on
// every build and on both attention paths (fused, and the materialised one of returnWeights): a
// non-finite query row gives that row non-finite; a non-finite key or value reaches every query
// that sees it and no other; a query whose visible scores are all -Infinity gives NaN (the softmax
// of all -inf); a query that sees no key (a mask, not an input) gives zeros.
import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, runtimeFor, tensor } from './helpers.js';

type Data = { data: Float32Array; shape: number[] };

/** NaN where `want` is NaN, the same infinity where it is infinite, within 1e-5 elsewhere. */
function expectSamePattern(got: Float32Array, want: Float32Array, label: string): void {
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w)) expect(g, `${label}: [${i}] should be NaN`).toBeNaN();
    else if (!Number.isFinite(w)) expect(g, `${label}: [${i}]`).toBe(w);
    else expect(Math.abs(g - w), `${label}: [${i}] = ${g}, reference ${w}`).toBeLessThanOrEqual(1e-5);
  }
}

function setRow(t: Data, row: number, value: number, cols = t.shape[t.shape.length - 1]!): Data {
  const copy = { data: t.data.slice(), shape: t.shape };
  copy.data.fill(value, row * cols, row * cols + 1); // one element of the row
  return copy;
}

describe.each(BUILDS)('non-finite inputs on the %s build', (backend) => {
  // Lq 40 > 16 takes the packed path, Lq 5 the path that reads K in place; Lk 150 spans two key blocks
  for (const [lq, lk] of [[40, 150], [5, 150], [40, 40]] as const) {
    it(`sdpa Lq ${lq} Lk ${lk}: NaN and Infinity in q, k and v, causal and key lengths, fused and with weights`, async () => {
      const rt = await runtimeFor(backend);
      const B = 2, H = 2, D = 12;
      const q = tensor([B, H, lq, D], 1), k = tensor([B, H, lk, D], 2), v = tensor([B, H, lk, D], 3);
      const cases: [string, Data, Data, Data][] = [
        ['NaN in a query row', setRow(q, 3, NaN), k, v],
        ['+Infinity in a query row', setRow(q, lq + 2, Infinity), k, v],
        ['NaN in a key', q, setRow(k, 17, NaN), v],
        ['-Infinity in a key', q, setRow(k, lk + 30, -Infinity), v],
        ['NaN in a value', q, k, setRow(v, 2 * lk + 31, NaN)],
        ['+Infinity in a value', q, k, setRow(v, 3 * lk + lk - 1, Infinity)],
        ['NaN in a padding key and value', q, setRow(k, lk - 1, NaN), setRow(v, lk - 2, NaN)],
      ];
      // a query whose scores are all -Infinity: q = -inf in dimension 0, every key positive there
      const kPos = { data: k.data.map((x, i) => (i % D === 0 ? Math.abs(x) + 0.5 : x)), shape: k.shape };
      cases.push(['all scores -Infinity', setRow(q, 1, -Infinity), kPos, v]);
      for (const [name, qi, ki, vi] of cases) {
        for (const opts of [{}, { causal: true }, { keyLengths: [lk - 3, 7] }, { causal: true, keyLengths: [lk, 0] }]) {
          const label = `${name} ${JSON.stringify(opts)}`;
          const want = reference.scaledDotProductAttention(qi, ki, vi, { ...opts, returnWeights: true });
          expectSamePattern(rt.scaledDotProductAttention(qi, ki, vi, opts).output, want.output, `fused: ${label}`);
          const withWeights = rt.scaledDotProductAttention(qi, ki, vi, { ...opts, returnWeights: true });
          expectSamePattern(withWeights.output, want.output, `materialised: ${label}`);
          expectSamePattern(withWeights.weights, want.weights, `weights: ${label}`);
        }
      }
    });
  }

  it('the pattern is what the rule says: the NaN query row, the queries that see a NaN key', async () => {
    const rt = await runtimeFor(backend);
    const L = 20, D = 8;
    const q = setRow(tensor([L, D], 1), 4, NaN), k = setRow(tensor([L, D], 2), 6, NaN), v = tensor([L, D], 3);
    const out = rt.scaledDotProductAttention(q, k, v, { causal: true }).output;
    for (let i = 0; i < L; i++) {
      const row = out.subarray(i * D, (i + 1) * D);
      // query 4 is NaN itself; queries ≥ 6 see key 6
      expect(row.every(Number.isNaN), `row ${i}`).toBe(i === 4 || i >= 6);
      if (i !== 4 && i < 6) expect(row.every(Number.isFinite), `row ${i}`).toBe(true);
    }
    // zeros, not NaN, for a query that sees no key: Lq > Lk causal leaves the first queries without keys
    const none = rt.scaledDotProductAttention(tensor([6, D], 1), tensor([4, D], 2), tensor([4, D], 3), { causal: true }).output;
    expect([...none.subarray(0, 2 * D)]).toEqual(new Array(2 * D).fill(0));
  });

  it('multi-head attention: a NaN token reaches its own output and the later positions (causal), not the earlier', async () => {
    const rt = await runtimeFor(backend);
    const E = 8, L = 7;
    const weights = { in_proj_weight: tensor([3 * E, E], 1), in_proj_bias: tensor([3 * E], 2), 'out_proj.weight': tensor([E, E], 3), 'out_proj.bias': tensor([E], 4) };
    const x = setRow(tensor([1, L, E], 5), 3, NaN, E);
    const got = rt.multiHeadAttention({ embedDim: E, numHeads: 2, weights }).forward(x, { causal: true }).output;
    const want = reference.multiHeadAttention({ embedDim: E, numHeads: 2, weights }).forward(x, { causal: true }).output;
    expectSamePattern(got, want, 'mha causal');
    for (let i = 0; i < L; i++) expect(got.subarray(i * E, (i + 1) * E).every(Number.isNaN), `position ${i}`).toBe(i >= 3);
  });

  it('seq2seq: a NaN decoder state gives a NaN context; NaN in padding source positions does not leak', async () => {
    const rt = await runtimeFor(backend);
    const H = 6, S = 9;
    const hs = tensor([2, S, H], 1);
    const padded = { data: hs.data.slice(), shape: hs.shape };
    padded.data.fill(NaN, (S + 7) * H, 2 * S * H); // batch 1, positions 7, 8 (its length is 7)
    for (const attention of [rt.luongAttention({ score: 'dot' }), rt.luongAttention({ score: 'general', W: tensor([H, H], 4) })]) {
      const clean = attention.bind(padded, { lengths: [S, 7] }).step(tensor([2, H], 2));
      expect(clean.context.every(Number.isFinite)).toBe(true);
      expect(clean.weights.every(Number.isFinite)).toBe(true);
      const h = setRow(tensor([2, H], 2), 0, NaN, H);
      const step = attention.bind(hs, { lengths: [S, 7] }).step(h);
      expect(step.context.subarray(0, H).every(Number.isNaN)).toBe(true);
      expect(step.context.subarray(H).every(Number.isFinite)).toBe(true);
    }
  });

  it('softmax: NaN gives a NaN row; a row masked to -Infinity everywhere gives zeros', async () => {
    const rt = await runtimeFor(backend);
    const x = tensor([3, 9], 1);
    x.data[4] = NaN;
    const mask = { data: new Float32Array(27), shape: [3, 9] };
    mask.data.fill(-Infinity, 18, 27);
    const y = rt.softmax(x, { mask });
    expect(y.subarray(0, 9).every(Number.isNaN)).toBe(true);
    expect(y.subarray(9, 18).every(Number.isFinite)).toBe(true);
    expect([...y.subarray(18)]).toEqual(new Array(9).fill(0));
  });
});
