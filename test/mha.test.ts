import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor } from './helpers.js';

function mhaWeights(e: number, seed: number) {
  const s = 1 / Math.sqrt(e);
  return {
    in_proj_weight: tensor([3 * e, e], seed, -s, s),
    in_proj_bias: tensor([3 * e], seed + 1, -s, s),
    'out_proj.weight': tensor([e, e], seed + 2, -s, s),
    'out_proj.bias': tensor([e], seed + 3, -s, s),
  };
}

describe.each(BUILDS)('multi-head attention on the %s build', (backend) => {
  it('self-attention forward matches the reference (causal, key lengths, weights averaged over heads)', async () => {
    const rt = await runtimeFor(backend);
    for (const [e, heads, b, l] of [[16, 4, 2, 9], [24, 3, 1, 17], [64, 8, 2, 33], [10, 1, 1, 5]] as const) {
      const config = { embedDim: e, numHeads: heads, weights: mhaWeights(e, e + l) };
      const mha = rt.multiHeadAttention(config);
      expect(mha.headDim).toBe(e / heads);
      const x = tensor([b, l, e], l);
      for (const opts of [{}, { causal: true }, { keyLengths: b === 2 ? [l, 3] : [2] }, { causal: true, needWeights: true }, { needWeights: true, keyLengths: b === 2 ? [1, l] : [l] }]) {
        const got = mha.forward(x, undefined, undefined, opts);
        const want = reference.multiHeadAttention(config).forward(x, x, x, opts);
        expect(maxAbsDiff(got.output, want.output), `e=${e} heads=${heads} ${JSON.stringify(opts)}`).toBeLessThanOrEqual(1e-5);
        if ('needWeights' in opts) expect(maxAbsDiff(got.weights!, want.weights!)).toBeLessThanOrEqual(1e-6);
        else expect(got.weights).toBeUndefined();
      }
      mha.dispose();
    }
  });

  it('cross-attention with key = value and with distinct key and value', async () => {
    const rt = await runtimeFor(backend);
    const config = { embedDim: 32, numHeads: 4, weights: mhaWeights(32, 5) };
    const mha = rt.multiHeadAttention(config);
    const q = tensor([2, 7, 32], 1);
    const k = tensor([2, 19, 32], 2);
    const v = tensor([2, 19, 32], 3);
    const opts = { keyLengths: [19, 4], needWeights: true };
    const kk = mha.forward(q, k, undefined, opts);
    const want = reference.multiHeadAttention(config).forward(q, k, k, opts);
    expect(maxAbsDiff(kk.output, want.output)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(kk.weights!, want.weights!)).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(mha.forward(q, k, v).output, reference.multiHeadAttention(config).forward(q, k, v).output)).toBeLessThanOrEqual(1e-5);
  });

  it('step() with a KV cache reproduces the causal forward token by token, and says when the cache is full', async () => {
    const rt = await runtimeFor(backend);
    const [e, l, b] = [48, 21, 2];
    const mha = rt.multiHeadAttention({ embedDim: e, numHeads: 6, weights: mhaWeights(e, 9) });
    const x = tensor([b, l, e], 4);
    const full = mha.forward(x, undefined, undefined, { causal: true }).output;
    const cache = mha.createCache({ batch: b, maxLength: l });
    for (let t = 0; t < l; t++) {
      const token = new Float32Array(b * e);
      for (let i = 0; i < b; i++) token.set(x.data.subarray((i * l + t) * e, (i * l + t + 1) * e), i * e);
      const y = mha.step({ data: token, shape: [b, e] }, cache);
      const want = new Float32Array(b * e);
      for (let i = 0; i < b; i++) want.set(full.subarray((i * l + t) * e, (i * l + t + 1) * e), i * e);
      expect(maxAbsDiff(y, want), `token ${t}`).toBeLessThanOrEqual(1e-5);
    }
    expect(cache.length).toBe(l);
    expect(() => mha.step({ data: new Float32Array(b * e), shape: [b, e] }, cache)).toThrow(
      new RangeError(`cache is full: it holds maxLength = ${l} positions (createCache({ maxLength })); reset() it, make a larger one, or use createCache({ window }) for a sliding window`),
    );
    // Truncating and stepping again gives the same token output.
    const lastToken = new Float32Array(b * e);
    for (let i = 0; i < b; i++) lastToken.set(x.data.subarray((i * l + l - 1) * e, (i * l + l) * e), i * e);
    const again = mha.step({ data: lastToken, shape: [b, e] }, (cache.truncate(l - 1), cache));
    const wantLast = new Float32Array(b * e);
    for (let i = 0; i < b; i++) wantLast.set(full.subarray((i * l + l - 1) * e, (i * l + l) * e), i * e);
    expect(maxAbsDiff(again, wantLast)).toBeLessThanOrEqual(1e-5);
    expect(() => cache.truncate(l + 1)).toThrow(/^length must be an integer in \[0, 21\], received 22$/);
    cache.reset();
    expect(cache.length).toBe(0);
    cache.dispose();
    mha.dispose();
  });

  it('rejects weights of the wrong shape or missing, and bad inputs, naming them', async () => {
    const rt = await runtimeFor(backend);
    const w = mhaWeights(16, 1);
    expect(() => rt.multiHeadAttention({ embedDim: 16, numHeads: 4, weights: { ...w, in_proj_weight: tensor([48, 15], 1) } })).toThrow(
      new RangeError('multiHeadAttention: weights.in_proj_weight: expected shape [48, 16] (the q, k, v projections stacked as [3E, E]), received [48, 15]'),
    );
    const { 'out_proj.bias': _, ...missing } = w;
    expect(() => rt.multiHeadAttention({ embedDim: 16, numHeads: 4, weights: missing as never })).toThrow(/^multiHeadAttention: weights\['out_proj.bias'\] is missing \(expected shape \[16\], \[E\] \(or bias: false\)\)/);
    expect(() => rt.multiHeadAttention({ embedDim: 16, numHeads: 5, weights: w })).toThrow(/^multiHeadAttention: embedDim 16 must be divisible by numHeads 5$/);
    const mha = rt.multiHeadAttention({ embedDim: 16, numHeads: 4, weights: w });
    expect(() => mha.forward(tensor([2, 3, 15], 1))).toThrow(/^query: expected shape \[2, L, 16\] \(embedDim of the module\), received \[2, 3, 15\]$/);
    expect(() => mha.forward(tensor([2, 3, 16], 1), tensor([1, 5, 16], 2))).toThrow(/^key: expected shape \[2, S, 16\]/);
    const cache = mha.createCache({ batch: 2, maxLength: 4 });
    expect(() => mha.step(tensor([3, 16], 1), cache)).toThrow(/^x: expected shape \[2, 16\]/);
    const other = rt.multiHeadAttention({ embedDim: 16, numHeads: 4, weights: w });
    expect(() => other.step(tensor([2, 16], 1), cache)).toThrow(/^cache must be a KVCache made by this module's createCache\(\)/);
    mha.dispose();
    expect(() => mha.forward(tensor([2, 3, 16], 1))).toThrow(/this module was disposed/);
  });
});
