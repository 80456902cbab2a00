/**
 * ALiBi slopes and T5 relative-position buckets, written from their sources (BLOOM's
 * `build_alibi_tensor`, Hugging Face's `T5Attention._relative_position_bucket`) for the twins.
 */

/** BLOOM's slopes: base = 2^(−8/n) for the largest power of two n ≤ H, then odd powers of 2^(−4/n). */
export function alibiSlopes(heads: number): Float32Array {
  const n = 2 ** Math.floor(Math.log2(heads));
  const slopes: number[] = [];
  const base = Math.fround(2 ** (-8 / n));
  for (let p = 1; p <= n; p++) slopes.push(base ** p);
  const extra = Math.fround(2 ** (-4 / n));
  for (let p = 1; slopes.length < heads; p += 2) slopes.push(extra ** p);
  return Float32Array.from(slopes);
}

/** T5's bucket of relative position d = key position − query position (float32 log as in PyTorch). */
export function t5Bucket(d: number, bidirectional: boolean, numBuckets: number, maxDistance: number): number {
  const f = Math.fround;
  let buckets = numBuckets;
  let offset = 0;
  let n: number;
  if (bidirectional) {
    buckets = Math.floor(buckets / 2);
    offset = d > 0 ? buckets : 0;
    n = Math.abs(d);
  } else {
    n = Math.max(-d, 0);
  }
  const exact = Math.floor(buckets / 2);
  if (n < exact) return offset + n;
  const logRatio = f(f(Math.log(f(n / exact))) / f(Math.log(maxDistance / exact)));
  return offset + Math.min(exact + Math.trunc(f(logRatio * (buckets - exact))), buckets - 1);
}
