/**
 * Position biases added to attention scores, computed from their parameters (the kernel reads
 * the per-head slopes, or a bucket table indexed by relative distance; nothing Lq×Lk is made).
 */

/**
 * The ALiBi slopes of "Train Short, Test Long" for H heads, extended to head counts that are not
 * powers of two as BLOOM's `build_alibi_tensor` does: the 2^⌊log2 H⌋ geometric slopes, then every
 * other slope of the sequence for twice as many heads. float32, as PyTorch computes them.
 */
export function alibiSlopes(heads: number): Float32Array {
  const closest = 2 ** Math.floor(Math.log2(heads));
  const base = Math.fround(2 ** -(2 ** -(Math.log2(closest) - 3)));
  const slopes = new Float32Array(heads);
  for (let p = 1; p <= closest; p++) slopes[p - 1] = Math.pow(base, p);
  if (closest !== heads) {
    const extraBase = Math.fround(2 ** -(2 ** -(Math.log2(2 * closest) - 3)));
    const remaining = Math.min(closest, heads - closest);
    for (let n = 0; n < remaining; n++) slopes[closest + n] = Math.pow(extraBase, 2 * n + 1);
  }
  return slopes;
}

/**
 * T5's bucket of a relative position (memory position − query position), as Hugging Face's
 * `T5Attention._relative_position_bucket` computes it (its float32 log step included): exact
 * buckets for small distances, logarithmic ones up to maxDistance, the sign in the upper half when
 * bidirectional.
 */
export function relativePositionBucket(relative: number, bidirectional: boolean, numBuckets: number, maxDistance: number): number {
  let bucket = 0;
  let n = numBuckets;
  let distance: number;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (relative > 0) bucket += n;
    distance = Math.abs(relative);
  } else {
    distance = -Math.min(relative, 0);
  }
  const maxExact = Math.floor(n / 2);
  if (distance < maxExact) return bucket + distance;
  const f = Math.fround;
  const scaled = f(f(Math.log(f(f(distance) / maxExact))) / f(Math.log(maxDistance / maxExact)));
  const large = maxExact + Math.trunc(f(scaled * (n - maxExact)));
  return bucket + Math.min(large, n - 1);
}

/** buckets[d + Lk − 1] for every relative distance d = j − pos(i) ∈ [−(Lk − 1), Lq − 1]. */
export function relativeBuckets(lq: number, lk: number, bidirectional: boolean, numBuckets: number, maxDistance: number): Int32Array {
  const out = new Int32Array(lq + lk - 1);
  for (let d = -(lk - 1); d <= lq - 1; d++) out[d + lk - 1] = relativePositionBucket(d, bidirectional, numBuckets, maxDistance);
  return out;
}
