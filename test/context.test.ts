import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor } from './helpers.js';

describe.each(BUILDS)('attentionContext on the %s build', (backend) => {
  it('is the weighted sum of value rows for every D around the 4- and 16-wide strips', async () => {
    const rt = await runtimeFor(backend);
    for (const d of [1, 3, 4, 5, 15, 16, 17, 20, 64, 80, 81, 128, 256]) {
      for (const [m, s] of [[1, 1], [1, 512], [3, 7]] as const) {
        const w = tensor([m, s], d * s + m, 0, 1);
        const v = tensor([s, d], d + s);
        const got = rt.attentionContext(w, v);
        expect(maxAbsDiff(got, reference.attentionContext(w, v)), `d=${d} m=${m} s=${s}`).toBeLessThanOrEqual(1e-5 * Math.sqrt(s));
      }
    }
  });

  it('accepts a single weight vector [S] and returns [D]', async () => {
    const rt = await runtimeFor(backend);
    const w = { data: new Float32Array([0.25, 0.75]), shape: [2] };
    const v = { data: new Float32Array([1, 2, 3, 5, 6, 7]), shape: [2, 3] };
    expect([...rt.attentionContext(w, v)]).toEqual([4, 5, 6]);
  });
});
