// Attention variants (grouped-query heads, sliding windows, soft-capping, ALiBi, T5 relative bias,
// mask tensors), alone and combined, on every build and both paths, against the float64 reference
// that implements each one literally; and their argument errors.
import { describe, expect, it } from 'vitest';
import { reference, type AttentionOptions } from '../src/index.js';
import type { ReferenceAttentionOptions } from '../src/reference/index.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor } from './helpers.js';

/** Options both the runtime and the reference take (tensors as { data: Float32Array, shape }). */
type Options = AttentionOptions & ReferenceAttentionOptions;
type Case = { name: string; b: number; h: number; hk: number; lq: number; lk: number; d: number; dv?: number; amp?: number; opts: Options };

function boolMask(shape: number[], seed: number, density = 0.7): { data: Uint8Array; shape: number[] } {
  const u = tensor(shape, seed, 0, 1).data;
  return { data: Uint8Array.from(u, (x) => (x < density ? 1 : 0)), shape };
}

function floatMask(shape: number[], seed: number): { data: Float32Array; shape: number[] } {
  const m = tensor(shape, seed, -2, 2);
  m.data.forEach((x, i) => (x < -1.5 ? (m.data[i] = -Infinity) : 0));
  return m;
}

const CASES: Case[] = [
  { name: 'GQA H4 Hk2', b: 2, h: 4, hk: 2, lq: 40, lk: 150, d: 16, opts: {} },
  { name: 'GQA decode H8 Hk2', b: 1, h: 8, hk: 2, lq: 1, lk: 300, d: 16, opts: {} },
  { name: 'MQA H6 Hk1 causal + key lengths', b: 2, h: 6, hk: 1, lq: 5, lk: 37, d: 8, opts: { causal: true, keyLengths: [37, 20] } },
  { name: 'window [3, 0]', b: 1, h: 2, hk: 2, lq: 40, lk: 300, d: 12, opts: { window: [3, 0] } },
  { name: 'window [2, 2]', b: 1, h: 2, hk: 2, lq: 20, lk: 20, d: 8, opts: { window: [2, 2] } },
  { name: 'window [-1, 4] Lq < Lk', b: 1, h: 2, hk: 2, lq: 9, lk: 140, d: 8, opts: { window: [-1, 4] } },
  { name: 'window [100, -1] over blocks', b: 1, h: 1, hk: 1, lq: 300, lk: 300, d: 8, opts: { window: [100, -1], causal: true } },
  { name: 'window [0, 0]', b: 1, h: 2, hk: 2, lq: 17, lk: 17, d: 5, opts: { window: [0, 0] } },
  { name: 'softcap 5', b: 1, h: 2, hk: 2, lq: 17, lk: 33, d: 8, amp: 3, opts: { softcap: 5, scale: 1 } },
  { name: 'ALiBi H6', b: 1, h: 6, hk: 6, lq: 20, lk: 140, d: 8, opts: { alibi: true } },
  { name: 'ALiBi H4 causal', b: 2, h: 4, hk: 4, lq: 33, lk: 33, d: 6, opts: { alibi: true, causal: true } },
  { name: 'ALiBi slopes', b: 1, h: 3, hk: 3, lq: 5, lk: 20, d: 8, opts: { alibi: [0.5, 0.1, 0.02] } },
  { name: 'T5 bidirectional', b: 1, h: 2, hk: 2, lq: 40, lk: 40, d: 8, opts: { relativeBias: { table: tensor([8, 2], 71), numBuckets: 8, maxDistance: 20, bidirectional: true } } },
  { name: 'T5 unidirectional causal', b: 1, h: 3, hk: 3, lq: 40, lk: 140, d: 8, opts: { causal: true, relativeBias: { table: tensor([8, 3], 72), numBuckets: 8, maxDistance: 20, bidirectional: false } } },
  { name: 'bool mask [Lq, Lk]', b: 2, h: 2, hk: 2, lq: 20, lk: 150, d: 8, opts: { attnMask: boolMask([20, 150], 73) } },
  { name: 'bool mask [B, 1, 1, Lk] as boolean[]', b: 2, h: 2, hk: 2, lq: 5, lk: 30, d: 8, opts: { attnMask: { data: Array.from(boolMask([2, 1, 1, 30], 74).data, Boolean), shape: [2, 1, 1, 30] } } },
  { name: 'float mask [B, H, Lq, Lk] with -inf', b: 2, h: 2, hk: 2, lq: 18, lk: 33, d: 8, opts: { attnMask: floatMask([2, 2, 18, 33], 75) } },
  { name: 'a row masked out entirely', b: 1, h: 1, hk: 1, lq: 3, lk: 4, d: 4, opts: { attnMask: { data: Uint8Array.from([1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1]), shape: [3, 4] } } },
  {
    name: 'causal + window + ALiBi + GQA + key lengths', b: 2, h: 4, hk: 2, lq: 40, lk: 170, d: 8,
    opts: { causal: true, window: [20, -1], alibi: true, keyLengths: [170, 150] },
  },
  {
    name: 'every option at once', b: 2, h: 4, hk: 2, lq: 21, lk: 140, d: 8, amp: 2,
    opts: {
      causal: true, keyLengths: [140, 100], window: [50, -1], softcap: 6, alibi: true, scale: 0.3,
      relativeBias: { table: tensor([8, 4], 78), numBuckets: 8, maxDistance: 20, bidirectional: false },
      attnMask: floatMask([2, 1, 21, 140], 79),
    },
  },
  {
    name: 'softcap + T5 + bool mask + window', b: 1, h: 2, hk: 2, lq: 19, lk: 45, d: 6, amp: 2,
    opts: { softcap: 4, window: [10, 3], attnMask: boolMask([19, 45], 76, 0.8), relativeBias: { table: tensor([8, 2], 77), numBuckets: 8, maxDistance: 20, bidirectional: true } },
  },
];

describe.each(BUILDS)('attention variants on the %s build', (backend) => {
  it.each(CASES)('$name', async ({ b, h, hk, lq, lk, d, dv = d, amp = 1, opts }) => {
    const rt = await runtimeFor(backend);
    const q = tensor([b, h, lq, d], 1, -amp, amp);
    const k = tensor([b, hk, lk, d], 2, -amp, amp);
    const v = tensor([b, hk, lk, dv], 3);
    const want = reference.scaledDotProductAttention(q, k, v, { ...opts, returnWeights: true });
    const fused = rt.scaledDotProductAttention(q, k, v, opts).output;
    const materialised = rt.scaledDotProductAttention(q, k, v, { ...opts, returnWeights: true });
    expect(want.output.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(fused, want.output)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(materialised.output, want.output)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(materialised.weights, want.weights)).toBeLessThanOrEqual(1e-5);
  });

  it('a query that sees no key (its mask row is all false) gives zeros and zero weights', async () => {
    const rt = await runtimeFor(backend);
    const opts = CASES.find((c) => c.name === 'a row masked out entirely')!.opts;
    const [q, k, v] = [tensor([3, 4], 1), tensor([4, 4], 2), tensor([4, 4], 3)];
    const { output, weights } = rt.scaledDotProductAttention(q, k, v, { ...opts, returnWeights: true });
    expect([...output.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    expect([...weights.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    expect([...rt.scaledDotProductAttention(q, k, v, opts).output.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
  });

  it('grouped-query attention equals multi-head attention with k and v repeated per group', async () => {
    const rt = await runtimeFor(backend);
    const [b, h, hk, lq, lk, d] = [2, 6, 2, 7, 50, 8];
    const q = tensor([b, h, lq, d], 1), k = tensor([b, hk, lk, d], 2), v = tensor([b, hk, lk, d], 3);
    const repeat = (t: { data: Float32Array }) => {
      const out = new Float32Array(b * h * lk * d);
      for (let bb = 0; bb < b; bb++) for (let hh = 0; hh < h; hh++) out.set(t.data.subarray(((bb * hk + Math.floor(hh / 3)) * lk) * d, ((bb * hk + Math.floor(hh / 3)) * lk + lk) * d), ((bb * h + hh) * lk) * d);
      return { data: out, shape: [b, h, lk, d] };
    };
    for (const causal of [false, true]) {
      const gqa = rt.scaledDotProductAttention(q, k, v, { causal }).output;
      const mha = rt.scaledDotProductAttention(q, repeat(k), repeat(v), { causal }).output;
      expect(maxAbsDiff(gqa, mha)).toBeLessThanOrEqual(1e-6);
    }
  });
});

describe('attention variant errors', () => {
  it('name the option and the expected and received shapes, and allocate nothing', async () => {
    const rt = await runtimeFor('simd');
    const q = tensor([2, 4, 5, 8], 1), k = tensor([2, 4, 9, 8], 2), v = tensor([2, 4, 9, 8], 3);
    const before = rt.memoryStats();
    const cases: [AttentionOptions | (() => unknown), ErrorConstructor, RegExp][] = [
      [{ attnMask: boolMask([5, 8], 1) }, RangeError, /^options\.attnMask: shape \[5, 8\] does not broadcast to \[B, H, Lq, Lk\] = \[2, 4, 5, 9\]/],
      [{ attnMask: { data: new Uint8Array(44), shape: [5, 9] } }, RangeError, /^options\.attnMask\.data has 44 elements but its shape \[5, 9\] needs 45$/],
      [{ attnMask: { data: [1, 0, 1, 1, 1, 1, 1, 1, 1] as never, shape: [1, 9] } }, TypeError, /^options\.attnMask\.data must be a Uint8Array or boolean\[\]/],
      [{ alibi: [1, 2, 3] }, RangeError, /^options\.alibi: expected 4 slopes \(one per query head\), received 3$/],
      [{ alibi: 'yes' as never }, TypeError, /^options\.alibi must be true/],
      [{ relativeBias: { table: tensor([8, 3], 1), numBuckets: 8, maxDistance: 20, bidirectional: true } }, RangeError, /^options\.relativeBias\.table: expected shape \[8, 4\] \(\[numBuckets, H\].*received \[8, 3\]$/],
      [{ relativeBias: { table: tensor([8, 4], 1), numBuckets: 8, maxDistance: 20 } as never }, TypeError, /^options\.relativeBias\.bidirectional must be a boolean/],
      [{ window: [2.5, 0] as never }, RangeError, /^options\.window must be \[left, right\], two integers ≥ −1.*received \[2\.5, 0\]$/],
      [{ window: [1, 2, 3] as never }, RangeError, /^options\.window must be \[left, right\]/],
      [{ softcap: 0 }, RangeError, /^options\.softcap must be a positive finite number/],
      [{ softcap: -3 }, RangeError, /^options\.softcap must be a positive finite number/],
      [() => rt.scaledDotProductAttention(q, tensor([2, 3, 9, 8], 2), tensor([2, 3, 9, 8], 3)), RangeError, /^k: expected shape \[2, 4, Lk, 8\] .*heads H = 4 or a divisor of it for grouped-query attention\), received \[2, 3, 9, 8\]$/],
      [() => rt.scaledDotProductAttention(q, tensor([2, 2, 9, 8], 2), tensor([2, 4, 9, 8], 3)), RangeError, /^v: expected shape \[2, 2, 9, Dv\]/],
    ];
    for (const [opts, type, message] of cases) {
      const call = typeof opts === 'function' ? opts : () => rt.scaledDotProductAttention(q, k, v, opts);
      expect(call).toThrow(type);
      expect(call).toThrow(message);
      expect(rt.memoryStats()).toEqual(before);
    }
  });
});
