// The tanh kernel (half-angle rational, assembly/vmath.ts) and the additive-score loop built on it,
// tested at the kernel boundary on every build: accuracy over a dense sweep, special values, exact
// odd symmetry, |tanh| ≤ 1, and additiveScores against float64 for row lengths around the vector width.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/index.js';
import type { Kernels } from '../src/engine/kernels.js';
import { loadKernels } from '../src/engine/load.js';
import { BUILDS, uniform } from './helpers.js';

async function kernelsFor(backend: Backend): Promise<{ k: Kernels; memory: WebAssembly.Memory; base: number }> {
  const memory = new WebAssembly.Memory({ initial: 512 }); // 32 MiB
  const k = await loadKernels(backend, memory);
  return { k, memory, base: (k.heapBase() + 15) & ~15 };
}

/** tanhInPlace over xs (in chunks), returning a new array. */
function tanhAll(env: { k: Kernels; memory: WebAssembly.Memory; base: number }, xs: Float32Array): Float32Array {
  const out = new Float32Array(xs.length);
  const chunk = 1 << 20;
  for (let at = 0; at < xs.length; at += chunk) {
    const part = xs.subarray(at, at + chunk);
    const view = new Float32Array(env.memory.buffer, env.base, part.length);
    view.set(part);
    env.k.tanhInPlace(env.base, part.length);
    out.set(view, at);
  }
  return out;
}

describe.each(BUILDS)('tanh kernel on the %s build', (backend) => {
  it('is within 2.2e-7 of Math.tanh over a dense sweep of [-12, 12], exactly odd, and never above 1 in magnitude', async () => {
    const env = await kernelsFor(backend);
    const half = 1 << 21; // 2^21 points on [0, 12] and their negations
    const xs = new Float32Array(2 * half);
    for (let i = 0; i < half; i++) {
      xs[i] = (12 * i) / (half - 1);
      xs[half + i] = -xs[i]!;
    }
    const ys = tanhAll(env, xs);
    let worst = 0;
    let worstAt = 0;
    let asymmetric = 0;
    let aboveOne = 0;
    for (let i = 0; i < xs.length; i++) {
      const d = Math.abs(ys[i]! - Math.tanh(xs[i]!));
      if (!(d <= worst)) [worst, worstAt] = [d, xs[i]!];
      if (!(Math.abs(ys[i]!) <= 1)) aboveOne++;
      if (i < half && !Object.is(ys[half + i], -ys[i]!)) asymmetric++;
    }
    expect(worst, `worst at x = ${worstAt}`).toBeLessThanOrEqual(2.2e-7);
    expect(asymmetric).toBe(0);
    expect(aboveOne).toBe(0);
  });

  it('maps ±Infinity and large inputs to ±1, keeps ±0 and tiny inputs, and NaN stays NaN', async () => {
    const env = await kernelsFor(backend);
    // Seven values: exercises the SIMD body and the scalar tail of tanhInPlace.
    const xs = Float32Array.from([Infinity, -Infinity, 9, -9, 1e30, -3.4e38, 20, -0, 0, NaN, 1e-20, -1e-40, 1e-3]);
    const ys = tanhAll(env, xs);
    expect(Array.from(ys.subarray(0, 7))).toEqual([1, -1, 1, -1, 1, -1, 1]);
    expect(Object.is(ys[7], -0)).toBe(true);
    expect(Object.is(ys[8], 0)).toBe(true);
    expect(ys[9]).toBeNaN();
    expect(ys[10]).toBe(Math.fround(1e-20)); // tanh(x) = x to f32 precision
    expect(Math.abs(ys[11]! - Math.fround(-1e-40))).toBeLessThanOrEqual(2 ** -149 * 8); // subnormal: a few of its ulps
    expect(Math.abs(ys[12]! - Math.tanh(Math.fround(1e-3)))).toBeLessThanOrEqual(Math.fround(1e-3) * 2 ** -22); // relative, near 0
  });

  it('additiveScores matches float64 for row lengths around the vector width, strided rows and saturating inputs', async () => {
    const env = await kernelsFor(backend);
    const f32 = () => new Float32Array(env.memory.buffer);
    for (const h of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 64, 257]) {
      const n = 6;
      const ldk = h + 3;
      const q = uniform(h, 100 + h, -3, 3);
      const keys = uniform(n * ldk, 200 + h, -3, 3);
      keys[0] = 40; // saturates: q + k beyond the clamp
      keys[ldk] = -Infinity;
      const v = uniform(h, 300 + h, -1 / Math.sqrt(h), 1 / Math.sqrt(h));
      const vBias = 0.25;
      const [pq, pk, pv, ps] = [env.base, env.base + 4096, env.base + 4096 + n * ldk * 4 + 64, env.base + 4096 + n * ldk * 4 + 8192];
      f32().set(q, pq / 4);
      f32().set(keys, pk / 4);
      f32().set(v, pv / 4);
      env.k.additiveScores(pq, pk, ldk, pv, vBias, ps, n, h);
      const got = f32().slice(ps / 4, ps / 4 + n);
      for (let s = 0; s < n; s++) {
        let want = vBias;
        for (let i = 0; i < h; i++) want += v[i]! * Math.tanh(q[i]! + keys[s * ldk + i]!);
        expect(Math.abs(got[s]! - want), `h=${h} s=${s}`).toBeLessThanOrEqual(1e-6);
      }
    }
  });
});
