import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor } from './helpers.js';

// Sizes around the micro-kernel tiles (MR = 4 rows, NR = 8 columns, 4-wide vectors): 1, tile−1,
// tile, tile+1, odd sizes.
const SIZES = [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 100];

describe.each(BUILDS)('matmul (gemm) on the %s build', (backend) => {
  it('matches the reference over a sweep of M, N, K, both layouts of b, with and without bias', async () => {
    const rt = await runtimeFor(backend);
    let seed = 1;
    let worst = 0;
    for (const m of SIZES) {
      for (const n of SIZES) {
        const k = SIZES[(m * 7 + n) % SIZES.length]!;
        for (const transposeB of [false, true]) {
          const a = tensor([m, k], seed++);
          const b = tensor(transposeB ? [n, k] : [k, n], seed++);
          const bias = (m + n) % 2 === 0 ? tensor([n], seed++) : undefined;
          const got = rt.matmul(a, b, { transposeB, bias });
          const want = reference.matmul(a, b, { transposeB, bias });
          const err = maxAbsDiff(got, want);
          worst = Math.max(worst, err);
          expect(err, `m=${m} n=${n} k=${k} transposeB=${transposeB}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.sqrt(k)));
        }
      }
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('flattens leading dims of a into rows (a Linear layer over [B, L, in])', async () => {
    const rt = await runtimeFor(backend);
    const x = tensor([2, 5, 24], 11);
    const w = tensor([40, 24], 12);
    const b = tensor([40], 13);
    const y = rt.matmul(x, w, { transposeB: true, bias: b });
    expect(y.length).toBe(2 * 5 * 40);
    expect(maxAbsDiff(y, reference.matmul(x, w, { transposeB: true, bias: b }))).toBeLessThanOrEqual(1e-5);
  });

  it('handles K = 1 and a matrix-vector product with K = 512', async () => {
    const rt = await runtimeFor(backend);
    for (const [m, n, k] of [[6, 9, 1], [1, 256, 512], [256, 1, 512]] as const) {
      const a = tensor([m, k], m + n);
      const b = tensor([k, n], k);
      expect(maxAbsDiff(rt.matmul(a, b), reference.matmul(a, b))).toBeLessThanOrEqual(1e-5 * Math.sqrt(k));
    }
  });
});
