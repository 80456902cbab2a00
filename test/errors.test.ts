import { describe, expect, it } from 'vitest';
import { init, reference, type MultiHeadAttentionWeights } from '../src/index.js';
import { maxAbsDiff, tensor, initRuntime } from './helpers.js';

const q = tensor([2, 2, 5, 8], 1);
const k = tensor([2, 2, 7, 8], 2);
const v = tensor([2, 2, 7, 6], 3);

describe('bad input gets a clear error and leaves the runtime working', () => {
  const cases: [string, () => unknown[], ErrorConstructor, RegExp][] = [
    ['q not an object', () => [42, k, v], TypeError, /^q must be a runtime tensor or \{ data, shape \} \(data a Float32Array, another numeric typed array or an array of numbers\), received 42$/],
    ['bare Float32Array', () => [q.data, k, v], TypeError, /^q is a bare Float32Array\(160\) without a shape: pass \{ data, shape \} \(e\.g\. \{ data, shape: \[B, H, L, D\] \}\) or a runtime tensor \(runtime\.tensor\(data, shape\)\)$/],
    ['nested array data', () => [{ data: [[1, 2], [3, 4]], shape: [2, 2] }, k, v], TypeError, /^q\.data is a nested array: flatten it row-major/],
    ['non-number in array data', () => [{ data: [1, '2'], shape: [2, 1] }, k, v], TypeError, /^q\.data\[1\] must be a number, received "2"$/],
    ['no data', () => [{ shape: q.shape }, k, v], TypeError, /^q\.data must be a Float32Array, another numeric typed array or an array of numbers, received undefined \(pass \{ data, shape \} or a runtime tensor\)$/],
    ['BigInt64Array data', () => [q, { data: new BigInt64Array(224), shape: k.shape }, v], TypeError, /^k\.data is a BigInt64Array\(224\) of BigInts: convert it to numbers first \(Float32Array\.from\(data, Number\)\); tensors are float32$/],
    ['DataView data', () => [q, { data: new DataView(new ArrayBuffer(8)), shape: [2] }, v], TypeError, /^k\.data must be a Float32Array, another numeric typed array or an array of numbers, received DataView\(8 bytes\)$/],
    ['wrong data length', () => [q, k, { data: v.data.subarray(1), shape: v.shape }], RangeError, /^v\.data has 167 elements but v\.shape \[2, 2, 7, 6\] needs 168$/],
    ['NaN dim', () => [{ data: q.data, shape: [2, 2, NaN, 8] }, k, v], RangeError, /^q\.shape must hold positive integers, received \[2, 2, NaN, 8\]$/],
    ['negative dim', () => [{ data: q.data, shape: [2, -2, 5, 8] }, k, v], RangeError, /^q\.shape must hold positive integers, received \[2, -2, 5, 8\]$/],
    ['fractional dim', () => [{ data: q.data, shape: [2, 2, 2.5, 16] }, k, v], RangeError, /^q\.shape must hold positive integers, received \[2, 2, 2\.5, 16\]$/],
    ['rank 5', () => [{ data: q.data, shape: [1, 2, 2, 5, 8] }, k, v], RangeError, /^q must have shape \[batch, heads, length, dim\].*received \[1, 2, 2, 5, 8\]$/],
    ['mismatched D', () => [q, { data: new Float32Array(2 * 2 * 7 * 4), shape: [2, 2, 7, 4] }, v], RangeError, /^k: expected shape \[2, 2, Lk, 8\] \(the rank, batch and D of q; heads H = 2 or a divisor of it for grouped-query attention\), received \[2, 2, 7, 4\]$/],
    ['mismatched heads', () => [q, k, { data: new Float32Array(2 * 3 * 7 * 6), shape: [2, 3, 7, 6] }], RangeError, /^v: expected shape \[2, 2, 7, Dv\] .*received \[2, 3, 7, 6\]$/],
    ['mismatched Lk', () => [q, k, { data: new Float32Array(2 * 2 * 6 * 6), shape: [2, 2, 6, 6] }], RangeError, /^v: expected shape \[2, 2, 7, Dv\] .*received \[2, 2, 6, 6\]$/],
    ['mismatched rank', () => [q, { data: k.data, shape: [4, 7, 8] }, v], RangeError, /^k: expected shape \[2, 2, Lk, 8\]/],
    ['key lengths too long', () => [q, k, v, { keyLengths: [7, 8] }], RangeError, /^options\.keyLengths\[1\] must be an integer in \[0, 7\], received 8$/],
    ['key lengths negative', () => [q, k, v, { keyLengths: [-1, 3] }], RangeError, /^options\.keyLengths\[0\] must be an integer in \[0, 7\], received -1$/],
    ['key lengths count', () => [q, k, v, { keyLengths: [7] }], RangeError, /^options\.keyLengths: expected 2 entries \(one per batch\), received 1$/],
    ['key lengths type', () => [q, k, v, { keyLengths: 7 }], TypeError, /^options\.keyLengths must be an array of 2 integers, received 7$/],
    ['scale NaN', () => [q, k, v, { scale: NaN }], TypeError, /^options\.scale must be a finite number, received NaN$/],
    ['causal not boolean', () => [q, k, v, { causal: 'yes' }], TypeError, /^options\.causal must be a boolean, received "yes"$/],
  ];

  it.each(cases)('%s', async (_name, args, type, message) => {
    const rt = await initRuntime({ backend: 'simd' });
    const before = rt.memoryStats();
    const call = () => (rt.scaledDotProductAttention as (...a: unknown[]) => unknown)(...args());
    expect(call).toThrow(type);
    expect(call).toThrow(message);
    expect(rt.memoryStats()).toEqual(before); // nothing was allocated or leaked
    const out = rt.scaledDotProductAttention(q, k, v).output;
    expect(maxAbsDiff(out, reference.scaledDotProductAttention(q, k, v).output)).toBeLessThanOrEqual(1e-5);
  });

  it('rejects a disposed tensor and a tensor of another runtime', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const other = await initRuntime({ backend: 'scalar' });
    const kt = rt.tensor(k.data, k.shape);
    kt.dispose();
    expect(() => rt.scaledDotProductAttention(q, kt, v)).toThrow(/^k is a disposed tensor$/);
    expect(() => kt.data).toThrow(/disposed/);
    const foreign = other.tensor(v.data, v.shape);
    expect(() => rt.scaledDotProductAttention(q, k, foreign)).toThrow(/^v is a tensor of another runtime$/);
    expect(rt.scaledDotProductAttention(q, k, v).output.length).toBe(2 * 2 * 5 * 6);
  });

  it('names the argument of matmul, softmax and attentionContext', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    expect(() => rt.matmul(tensor([3, 4], 1), tensor([5, 6], 2))).toThrow(/^b: expected shape \[4, N\] .*received \[5, 6\]$/);
    expect(() => rt.matmul(tensor([3, 4], 1), tensor([4, 6], 2), { bias: tensor([5], 3) })).toThrow(/^options\.bias: expected shape \[6\]/);
    expect(() => rt.softmax(tensor([3, 4], 1), { mask: tensor([3], 2) })).toThrow(/^options\.mask: expected shape \[3, 4\] .* or \[4\].*received \[3\]$/);
    expect(() => rt.attentionContext(tensor([2, 4], 1), tensor([5, 3], 2))).toThrow(/^values: expected shape \[4, D\] .*received \[5, 3\]$/);
    expect(() => rt.tensor(new Float32Array(5), [2, 3])).toThrow(/^data has 5 elements but shape \[2, 3\] needs 6$/);
  });

  it('accepts data as any numeric typed array (converted to float32 once, NaN kept); BigInt arrays are refused', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const want = rt.scaledDotProductAttention(q, k, v).output;
    const as64 = rt.scaledDotProductAttention({ data: Float64Array.from(q.data), shape: q.shape }, { data: Float64Array.from(k.data), shape: k.shape }, v).output;
    expect([...as64]).toEqual([...want]);
    // integers: the same result as their Float32Array
    const ints = Int32Array.from(q.data, (x) => Math.round(8 * x));
    const bytes = Uint8Array.from(k.data, (x) => Math.round(100 * (x + 1)));
    const fromInts = rt.scaledDotProductAttention({ data: ints, shape: q.shape }, { data: bytes, shape: k.shape }, v).output;
    expect([...fromInts]).toEqual([...rt.scaledDotProductAttention({ data: Float32Array.from(ints), shape: q.shape }, { data: Float32Array.from(bytes), shape: k.shape }, v).output]);
    const f16 = (globalThis as { Float16Array?: new (a: ArrayLike<number>) => ArrayLike<number> }).Float16Array;
    if (f16) {
      const half = new f16([0.5, -2, 3.25, 8]);
      expect([...rt.tensor(half, [4]).data]).toEqual([0.5, -2, 3.25, 8]);
    }
    // NaN stays NaN; module weights and resident tensors take them too
    expect([...rt.tensor(new Float64Array([1, NaN, -2.5]), [3]).data]).toEqual([1, NaN, -2.5]);
    expect([...rt.tensor(new Int32Array([1, -2, 3]), [3]).data]).toEqual([1, -2, 3]);
    const E = 4;
    const w = { in_proj_weight: tensor([3 * E, E], 1), in_proj_bias: tensor([3 * E], 2), 'out_proj.weight': tensor([E, E], 3), 'out_proj.bias': tensor([E], 4) };
    const w64 = Object.fromEntries(Object.entries(w).map(([name, t]) => [name, { data: Float64Array.from(t.data), shape: t.shape }]));
    const x = tensor([1, 3, E], 5);
    expect([...rt.multiHeadAttention({ embedDim: E, numHeads: 2, weights: w64 }).forward(x).output]).toEqual([...rt.multiHeadAttention({ embedDim: E, numHeads: 2, weights: w }).forward(x).output]);
    expect(() => rt.tensor(new BigInt64Array(3) as never, [3])).toThrow(/^data is a BigInt64Array\(3\) of BigInts: convert it to numbers first/);
  });

  it('accepts data as an array of numbers (a PyTorch tensor\'s flatten().tolist()) with its shape', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const fromArrays = rt.scaledDotProductAttention({ data: [...q.data], shape: q.shape }, { data: [...k.data], shape: k.shape }, v).output;
    expect([...fromArrays]).toEqual([...rt.scaledDotProductAttention(q, k, v).output]);
    const H = 4;
    const weights = { in_proj_weight: tensor([3 * H, H], 1), in_proj_bias: tensor([3 * H], 2), 'out_proj.weight': tensor([H, H], 3), 'out_proj.bias': tensor([H], 4) };
    const asArrays = Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, { data: Array.from(t.data), shape: t.shape }]));
    const x = tensor([1, 3, H], 5);
    const a = rt.multiHeadAttention({ embedDim: H, numHeads: 2, weights }).forward(x).output;
    const b = rt.multiHeadAttention({ embedDim: H, numHeads: 2, weights: asArrays as unknown as MultiHeadAttentionWeights }).forward(x).output;
    expect([...b]).toEqual([...a]);
  });
});
