import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor, uniform } from './helpers.js';

describe.each(BUILDS)('softmax on the %s build', (backend) => {
  it('matches the reference for row lengths around the vector width, and rows sum to 1', async () => {
    const rt = await runtimeFor(backend);
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 129, 1000]) {
      const x = tensor([3, n], n, -4, 4);
      const y = rt.softmax(x);
      expect(maxAbsDiff(y, reference.softmax(x)), `n=${n}`).toBeLessThanOrEqual(1e-6);
      for (let r = 0; r < 3; r++) {
        const sum = y.subarray(r * n, (r + 1) * n).reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(1, 5);
      }
    }
  });

  it('applies scale and an additive mask, per row or one row for all; -Infinity gives exactly 0', async () => {
    const rt = await runtimeFor(backend);
    const x = tensor([4, 13], 5, -2, 2);
    const full = { data: uniform(52, 6, -3, 0), shape: [4, 13] };
    full.data[3] = -Infinity;
    full.data[20] = -Infinity;
    const row = { data: uniform(13, 7, -1, 1), shape: [13] };
    row.data[12] = -Infinity;
    for (const mask of [full, row]) {
      const y = rt.softmax(x, { mask, scale: 0.5 });
      expect(maxAbsDiff(y, reference.softmax(x, { mask, scale: 0.5 }))).toBeLessThanOrEqual(1e-6);
    }
    expect(rt.softmax(x, { mask: full })[3]).toBe(0);
    expect(rt.softmax(x, { mask: row })[13 + 12]).toBe(0);
  });

  it('gives zeros, never NaN, for a fully masked row', async () => {
    const rt = await runtimeFor(backend);
    const x = tensor([2, 9], 8);
    const mask = { data: new Float32Array(18), shape: [2, 9] };
    mask.data.fill(-Infinity, 0, 9);
    const y = rt.softmax(x, { mask });
    expect([...y.subarray(0, 9)]).toEqual(new Array(9).fill(0));
    expect(maxAbsDiff(y, reference.softmax(x, { mask }))).toBeLessThanOrEqual(1e-6);
  });

  it('stays finite and exact for large logits (scores ~1e4)', async () => {
    const rt = await runtimeFor(backend);
    const x = tensor([5, 37], 9, -1e4, 1e4);
    const y = rt.softmax(x);
    expect(y.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(y, reference.softmax(x))).toBeLessThanOrEqual(1e-6);
  });
});
