/**
 * `n` deterministic pseudo-random values spread uniformly over [lo, hi), from `seed`: the inputs
 * of the tests, the benchmarks and the demo, so that a failure or a timing reproduces in any
 * process, in Node or in a browser.
 *
 * The generator is mulberry32 (a 32-bit state advanced by 0x6d2b79f5, then mixed): value i is
 * `lo + (hi − lo)·u_i`, with `u_i` in [0, 1) a multiple of 2^-32 computed in float64, then rounded
 * to float32. That rounding can land exactly on `hi` (for the default [-1, 1), when
 * u_i ≥ 1 − 2^-25). The sequence for a seed never changes: the same seed and `n` give the same
 * bits everywhere, and a shorter `n` gives a prefix of a longer one. Not for cryptography.
 */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}
