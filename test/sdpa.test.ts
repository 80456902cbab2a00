import { describe, expect, it } from 'vitest';
import { reference, type Tensor } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor } from './helpers.js';

// The fused kernel tiles 16 query rows × 512 keys over 16-key panels: sizes around those (and
// around 128, its earlier block).
const LENGTHS: [number, number][] = [[1, 1], [1, 129], [15, 16], [16, 17], [17, 15], [33, 127], [16, 128], [129, 130], [1, 513], [17, 512], [16, 511]];
const DIMS = [1, 3, 64, 80, 81, 128];

/** [B, Hk, L, E] → [B, H, L, E]: kv head ⌊i / (H/Hk)⌋ copied for each head i (grouped-query as multi-head). */
function repeatHeads(t: { data: Float32Array; shape: number[] }, h: number): { data: Float32Array; shape: number[] } {
  const [b, hk, l, e] = t.shape as [number, number, number, number];
  const out = new Float32Array(b * h * l * e);
  for (let n = 0; n < b; n++)
    for (let i = 0; i < h; i++) {
      const src = (n * hk + Math.floor(i / (h / hk))) * l * e;
      out.set(t.data.subarray(src, src + l * e), (n * h + i) * l * e);
    }
  return { data: out, shape: [b, h, l, e] };
}

function qkv(b: number, h: number, lq: number, lk: number, d: number, dv: number, seed: number, amp = 1) {
  return {
    q: tensor([b, h, lq, d], seed, -amp, amp),
    k: tensor([b, h, lk, d], seed + 1, -amp, amp),
    v: tensor([b, h, lk, dv], seed + 2),
  };
}

describe.each(BUILDS)('scaledDotProductAttention on the %s build', (backend) => {
  it('matches the reference over a sweep of Lq ≠ Lk and D (fused kernel)', async () => {
    const rt = await runtimeFor(backend);
    let seed = 100;
    for (const d of DIMS) {
      for (const [lq, lk] of LENGTHS) {
        const dv = d === 64 ? 48 : d; // value dim may differ from key dim
        const { q, k, v } = qkv(1, 2, lq, lk, d, dv, (seed += 3));
        const { output } = rt.scaledDotProductAttention(q, k, v);
        const want = reference.scaledDotProductAttention(q, k, v).output;
        expect(maxAbsDiff(output, want), `lq=${lq} lk=${lk} d=${d} dv=${dv}`).toBeLessThanOrEqual(1e-5);
      }
    }
  });

  it('masks causally (bottom-right aligned), by key lengths, and both, for Lq <, = and > Lk', async () => {
    const rt = await runtimeFor(backend);
    let seed = 500;
    for (const [lq, lk] of [[20, 20], [7, 150], [150, 7], [1, 300], [129, 129]] as const) {
      for (const causal of [false, true]) {
        for (const keyLengths of [undefined, [0, Math.min(5, lk), lk]]) {
          const { q, k, v } = qkv(3, 2, lq, lk, 24, 20, (seed += 3));
          const opts = { causal, keyLengths };
          const got = rt.scaledDotProductAttention(q, k, v, opts).output;
          const want = reference.scaledDotProductAttention(q, k, v, opts).output;
          expect(maxAbsDiff(got, want), `lq=${lq} lk=${lk} ${JSON.stringify(opts)}`).toBeLessThanOrEqual(1e-5);
          expect(got.every(Number.isFinite)).toBe(true);
        }
      }
    }
  });

  it('decode steps over long key ranges (split into key chunks and merged) match the reference, NaN pattern included', async () => {
    const rt = await runtimeFor(backend);
    const split = rt.tiles.attention.SPLIT_KEYS;
    for (const [h, lq, lk] of [[1, 1, 2 * split], [2, 1, 2 * split + 1], [4, 3, 3 * split + 77]] as const) {
      const q = tensor([2, h, lq, 32], lk, -2, 2);
      const k = tensor([2, h, lk, 32], lk + 1, -2, 2);
      const v = tensor([2, h, lk, 24], lk + 2);
      for (const opts of [{}, { causal: true }, { keyLengths: [split, lk - 5] }, { keyLengths: [0, split + 1], causal: true }, { window: [split + 3, 0] as [number, number] }]) {
        const got = rt.scaledDotProductAttention(q, k, v, opts).output;
        const want = reference.scaledDotProductAttention(q, k, v, opts).output;
        expect(maxAbsDiff(got, want), `h=${h} lq=${lq} lk=${lk} ${JSON.stringify(opts)}`).toBeLessThanOrEqual(1e-5);
      }
      // A NaN key in the second chunk, +Infinity in a value of the first: the same NaN pattern as the reference.
      const kn = { data: k.data.slice(), shape: k.shape };
      kn.data[(split + 10) * 32] = NaN;
      const vn = { data: v.data.slice(), shape: v.shape };
      vn.data[(h * lk + 3) * 24] = Infinity;
      const got = rt.scaledDotProductAttention(q, kn, vn, { keyLengths: [lk, split] }).output;
      const want = reference.scaledDotProductAttention(q, kn, vn, { keyLengths: [lk, split] }).output;
      expect(Array.from(got, Number.isNaN)).toEqual(Array.from(want, Number.isNaN));
      expect(maxAbsDiff(got.map((x) => (Number.isFinite(x) ? x : 0)), want.map((x) => (Number.isFinite(x) ? x : 0)))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('grouped-query decode with an odd number of query heads per kv head matches the reference, bit for bit the same as with K and V repeated per head', async () => {
    const rt = await runtimeFor(backend);
    // 3, 5 and 7 query heads per kv head (the 3-row score kernel, then row pairs); key counts around
    // its 3-key step and the 4-key kernels; D with and without a tail of 4
    for (const [h, hk, d] of [[9, 3, 64], [10, 2, 30], [7, 1, 3]] as const) {
      for (const lk of [1, 2, 5, 6, 7, 128, 131, 300, 513]) {
        const seed = 7000 + 10 * lk + h;
        const q = tensor([2, h, 1, d], seed, -2, 2);
        const k = tensor([2, hk, lk, d], seed + 1, -2, 2);
        const v = tensor([2, hk, lk, 20], seed + 2);
        const got = rt.scaledDotProductAttention(q, k, v, { causal: true }).output;
        const want = reference.scaledDotProductAttention(q, k, v, { causal: true }).output;
        expect(maxAbsDiff(got, want), `H ${h} Hk ${hk} D ${d} Lk ${lk}`).toBeLessThanOrEqual(1e-5);
        const mha = rt.scaledDotProductAttention(q, repeatHeads(k, h), repeatHeads(v, h), { causal: true }).output;
        expect(Array.from(got), `H ${h} Hk ${hk} D ${d} Lk ${lk}: as multi-head`).toEqual(Array.from(mha));
      }
    }
  });

  it('outputs zeros, never NaN, for queries that see no key', async () => {
    const rt = await runtimeFor(backend);
    const { q, k, v } = qkv(2, 1, 6, 4, 8, 8, 9);
    // Causal with Lq > Lk: query i sees keys j ≤ i − 2, so queries 0 and 1 see nothing; batch 0 has no keys at all.
    const { output, weights } = rt.scaledDotProductAttention(q, k, v, { causal: true, keyLengths: [0, 4], returnWeights: true });
    expect(output.every(Number.isFinite)).toBe(true);
    expect([...output.subarray(0, 48)]).toEqual(new Array(48).fill(0)); // batch 0
    expect([...output.subarray(48, 48 + 16)]).toEqual(new Array(16).fill(0)); // batch 1, queries 0 and 1
    expect([...weights!.subarray(24, 24 + 8)]).toEqual(new Array(8).fill(0));
    const fused = rt.scaledDotProductAttention(q, k, v, { causal: true, keyLengths: [0, 4] }).output;
    expect([...fused.subarray(0, 64)]).toEqual(new Array(64).fill(0));
    expect(maxAbsDiff(fused, output)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(fused, reference.scaledDotProductAttention(q, k, v, { causal: true, keyLengths: [0, 4] }).output)).toBeLessThanOrEqual(1e-5);
  });

  it('returns weights that match the reference and sum to 1, with the same output as the fused path', async () => {
    const rt = await runtimeFor(backend);
    for (const causal of [false, true]) {
      const { q, k, v } = qkv(2, 3, 19, 33, 16, 12, 77);
      const opts = { causal, keyLengths: [33, 20], returnWeights: true };
      const got = rt.scaledDotProductAttention(q, k, v, opts);
      const want = reference.scaledDotProductAttention(q, k, v, opts);
      expect(maxAbsDiff(got.weights!, want.weights!)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(got.output, want.output)).toBeLessThanOrEqual(1e-5);
      for (let row = 0; row < 2 * 3 * 19; row++) {
        const sum = got.weights!.subarray(row * 33, row * 33 + 33).reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(1, 5);
      }
      const fused = rt.scaledDotProductAttention(q, k, v, { causal, keyLengths: [33, 20] }).output;
      expect(maxAbsDiff(fused, got.output)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('stays finite and correct for large logits (scores ~1e4) and a custom scale', async () => {
    const rt = await runtimeFor(backend);
    const { q, k, v } = qkv(1, 2, 40, 70, 32, 32, 31, 20); // |q·k| up to ~1e4 with scale 1
    for (const scale of [1, 0.05]) {
      const got = rt.scaledDotProductAttention(q, k, v, { scale }).output;
      expect(got.every(Number.isFinite)).toBe(true);
      // A float32 logit of magnitude 1e4 carries a rounding error of ~1e4·2^-24·√D ≈ 3e-3 in any
      // float32 implementation, so the bound here is conditioned on the logits, not 1e-5.
      expect(maxAbsDiff(got, reference.scaledDotProductAttention(q, k, v, { scale }).output)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('accepts [H, L, D] and [L, D] and returns the same rank', async () => {
    const rt = await runtimeFor(backend);
    const { q, k, v } = qkv(1, 3, 5, 9, 8, 6, 41);
    const full = rt.scaledDotProductAttention(q, k, v).output;
    const three = rt.scaledDotProductAttention(
      { data: q.data, shape: [3, 5, 8] },
      { data: k.data, shape: [3, 9, 8] },
      { data: v.data, shape: [3, 9, 6] },
    );
    expect([...three.output]).toEqual([...full]);
    const two = rt.scaledDotProductAttention(
      { data: q.data.subarray(0, 40), shape: [5, 8] },
      { data: k.data.subarray(0, 72), shape: [9, 8] },
      { data: v.data.subarray(0, 54), shape: [9, 6] },
    );
    expect([...two.output]).toEqual([...full.subarray(0, 30)]);
  });

  it('takes resident tensors and can keep the output resident for chaining', async () => {
    const rt = await runtimeFor(backend);
    const { q, k, v } = qkv(1, 2, 8, 8, 16, 16, 51);
    const [qt, kt, vt] = [rt.tensor(q.data, q.shape), rt.tensor(k.data, k.shape), rt.tensor(v.data, v.shape)];
    const first = rt.scaledDotProductAttention(qt, kt, vt, { resident: true }).output as Tensor;
    expect(first.shape).toEqual([1, 2, 8, 16]);
    // Chain: the first output is the next query, without leaving Wasm memory.
    const second = rt.scaledDotProductAttention(first, kt, vt).output;
    const want1 = reference.scaledDotProductAttention(q, k, v).output;
    const want2 = reference.scaledDotProductAttention({ data: want1, shape: q.shape }, k, v).output;
    expect(maxAbsDiff(first.data, want1)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(second, want2)).toBeLessThanOrEqual(1e-5);
    for (const t of [qt, kt, vt, first]) t.dispose();
  });
});
