import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor } from './helpers.js';

describe.each(BUILDS)('position encodings on the %s build', (backend) => {
  it('sinusoidal table: sin on even, cos on odd dimensions, base 10000', async () => {
    const rt = await runtimeFor(backend);
    const pe = rt.sinusoidalEncoding(50, 16);
    expect([...pe.subarray(0, 4)]).toEqual([0, 1, 0, 1]); // position 0
    expect(pe[16]).toBeCloseTo(Math.sin(1), 7); // position 1, dim 0: θ = 1
    expect(pe[16 + 3]).toBeCloseTo(Math.cos(1 / 10000 ** (2 / 16)), 7);
    expect(maxAbsDiff(pe, reference.sinusoidalEncoding(50, 16))).toBeLessThanOrEqual(1e-7);
    expect(maxAbsDiff(rt.sinusoidalEncoding(7, 5), reference.sinusoidalEncoding(7, 5))).toBeLessThanOrEqual(1e-7);
  });

  it('rope matches the reference in both styles, with offsets, for D around the vector width', async () => {
    const rt = await runtimeFor(backend);
    for (const style of ['half', 'interleaved'] as const) {
      for (const d of [2, 4, 6, 8, 10, 64, 128]) {
        for (const offset of [0, 5, 4000]) {
          const x = tensor([2, 3, 17, d], d + offset);
          const got = rt.rope(x, { style, offset });
          expect(maxAbsDiff(got, reference.rope(x, { style, offset })), `${style} d=${d} offset=${offset}`).toBeLessThanOrEqual(1e-5);
        }
      }
    }
  });

  it('rope by hand: a unit pair turns by p·θ_i, lengths are kept, relative angles depend only on distance', async () => {
    const rt = await runtimeFor(backend);
    // D = 2: one pair, θ_0 = 1; x = (1, 0) at positions 0..2 → (cos p, sin p).
    const x = new Float32Array([1, 0, 1, 0, 1, 0]);
    const y = rt.rope(x, { shape: [3, 2], style: 'interleaved' });
    expect(maxAbsDiff(y, [1, 0, Math.cos(1), Math.sin(1), Math.cos(2), Math.sin(2)])).toBeLessThanOrEqual(1e-7);
    // q·k after rotation depends on the distance only: positions (3, 1) and (12, 10) give the same dot.
    const q = tensor([1, 64], 1);
    const k = tensor([1, 64], 2);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    const at = (t: typeof q, p: number) => rt.rope(t, { style: 'half', offset: p });
    expect(dot(at(q, 3), at(k, 1))).toBeCloseTo(dot(at(q, 12), at(k, 10)), 4);
  });

  it('rope in place on a Float32Array and on a resident tensor', async () => {
    const rt = await runtimeFor(backend);
    const x = tensor([4, 32], 9);
    const want = reference.rope(x, { style: 'half', base: 500, offset: 2 });
    const copy = x.data.slice();
    const same = rt.rope(copy, { shape: [4, 32], style: 'half', base: 500, offset: 2, inPlace: true });
    expect(same).toBe(copy);
    expect(maxAbsDiff(copy, want)).toBeLessThanOrEqual(1e-5);
    const t = rt.tensor(x.data, x.shape);
    expect(rt.rope(t, { style: 'half', base: 500, offset: 2, inPlace: true })).toBe(t);
    expect(maxAbsDiff(t.data, want)).toBeLessThanOrEqual(1e-5);
    t.dispose();
  });

  it('rejects a missing style, an odd D and a bad offset', async () => {
    const rt = await runtimeFor(backend);
    expect(() => rt.rope(tensor([2, 4], 1), {} as never)).toThrow(/^options.style must be 'half' .* or 'interleaved' .*, received undefined$/);
    expect(() => rt.rope(tensor([2, 5], 1), { style: 'half' })).toThrow(/^x: the last dimension D must be even .*received \[2, 5\]$/);
    expect(() => rt.rope(tensor([2, 4], 1), { style: 'half', offset: -1 })).toThrow(/^options.offset must be an integer in \[0, ∞\], received -1$/);
    expect(() => rt.rope(new Float32Array(8), { style: 'half' })).toThrow(/^options.shape must be an array of dimensions, received undefined$/);
    expect(() => rt.sinusoidalEncoding(0, 4)).toThrow(/^maxLength must be an integer in \[1, ∞\], received 0$/);
  });
});
