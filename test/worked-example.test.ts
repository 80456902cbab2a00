import { describe, expect, it } from 'vitest';
import { BUILDS, runtimeFor } from './helpers.js';

// The worked example: one decoder state attends over four encoder states
// (query = decoder state, key = value = encoder states), unscaled dot-product scores.
const decoder = { data: new Float32Array([10, 5, 10]), shape: [1, 3] };
const encoder = { data: new Float32Array([0, 1, 1, 5, 0, 1, 1, 1, 0, 0, 5, 1]), shape: [4, 3] };

// By hand: scores = hs·h = [15, 60, 15, 35]; weights = softmax = e^(s − 60)/Σ ≈ [e^-45, 1, e^-45, e^-25];
// context = Σ_j w_j·hs_j = [5·1, 1·e^-45·2 + 5·e^-25, 1] ≈ [5, 6.94e-11, 1].
const E25 = Math.exp(-25) / (1 + 2 * Math.exp(-45) + Math.exp(-25));
const E45 = Math.exp(-45) / (1 + 2 * Math.exp(-45) + Math.exp(-25));

describe.each(BUILDS)('the worked example (a decoder state scoring four encoder states) on the %s build', (backend) => {
  it('step by step: scores, weights, context', async () => {
    const rt = await runtimeFor(backend);
    const scores = rt.matmul(decoder, encoder, { transposeB: true });
    expect([...scores]).toEqual([15, 60, 15, 35]);
    const weights = rt.softmax({ data: scores, shape: [1, 4] });
    expect(weights[1]).toBeCloseTo(1, 7);
    expect(weights[3]! / E25).toBeCloseTo(1, 4);
    expect(weights[0]! / E45).toBeCloseTo(1, 4);
    const context = rt.attentionContext({ data: weights, shape: [1, 4] }, encoder);
    expect(context[0]).toBeCloseTo(5, 5);
    expect(context[1]! / 6.94e-11).toBeCloseTo(1, 2);
    expect(context[1]! / (5 * E25 + 2 * E45)).toBeCloseTo(1, 4);
    expect(context[2]).toBeCloseTo(1, 6);
  });

  it('in one fused call (scale 1) and with the weights returned', async () => {
    const rt = await runtimeFor(backend);
    for (const returnWeights of [false, true]) {
      const { output, weights } = rt.scaledDotProductAttention(decoder, encoder, encoder, { scale: 1, returnWeights });
      expect(output[0]).toBeCloseTo(5, 5);
      expect(output[1]! / (5 * E25 + 2 * E45)).toBeCloseTo(1, 4);
      expect(output[2]).toBeCloseTo(1, 6);
      if (returnWeights) expect(weights![3]! / E25).toBeCloseTo(1, 4);
    }
  });
});
