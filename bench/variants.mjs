// The attention variants as a peer must be given them: one explicit additive bias tensor added to
// the scores, built once from the workload's options outside the timed region (what a user of a
// library without these options has to write). wasm-attention and the plain-JS reference take the
// options themselves (window, alibi, relativeBias, attnMask); they never see this tensor.
//
// The slopes and buckets are written here from their sources (BLOOM's build_alibi_tensor, Hugging
// Face's T5Attention._relative_position_bucket), not taken from the package, so the check of a
// peer against the reference also checks the two readings agree.

/** BLOOM's ALiBi slopes for H heads (2^(−8/n)…, then odd powers of 2^(−4/n) when H is not a power of two). */
export function alibiSlopes(heads) {
  const n = 2 ** Math.floor(Math.log2(heads));
  const base = Math.fround(2 ** -(2 ** -(Math.log2(n) - 3)));
  const slopes = [];
  for (let p = 1; p <= n; p++) slopes.push(base ** p);
  const extra = Math.fround(2 ** -(2 ** -(Math.log2(2 * n) - 3)));
  for (let p = 1; slopes.length < heads; p += 2) slopes.push(extra ** p);
  return Float32Array.from(slopes);
}

/** T5's bucket of relative position r = key position − query position, in PyTorch's float32 steps. */
export function t5Bucket(r, bidirectional, numBuckets, maxDistance) {
  const f = Math.fround;
  let n = numBuckets;
  let bucket = 0;
  let distance;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (r > 0) bucket += n;
    distance = Math.abs(r);
  } else distance = Math.max(-r, 0);
  const exact = Math.floor(n / 2);
  if (distance < exact) return bucket + distance;
  const large = exact + Math.trunc(f(f(f(Math.log(f(distance / exact))) / f(Math.log(maxDistance / exact))) * (n - exact)));
  return bucket + Math.min(large, n - 1);
}

/** Whether a workload's shape asks for anything beyond plain (or causal) attention. */
export const hasVariant = (s) => Boolean(s.window || s.alibi || s.relative || s.mask);

/**
 * The additive bias [B or 1, H or 1, Lq, Lk] that reproduces the workload's variant options
 * (`inp.options`, as passed to wasm-attention) on plain scores·scale: −∞ for keys outside the
 * causal window (when the workload has a window; plain causal is left to the peer's own causal
 * path), −slope·|j − pos| for ALiBi, the T5 table entry of the bucket of j − pos, a boolean mask's
 * hidden keys as −∞, a float mask's values. Dimensions of size 1 where nothing varies along them
 * (a user broadcasts too). null when the workload has no variant. Cached on `inp` (one per
 * process, shared by the peers). → { data: Float32Array, shape, covers: { causal } }
 */
export function explicitBias(s, inp) {
  if (!hasVariant(s)) return null;
  if (inp.explicitBias) return inp.explicitBias;
  const o = inp.options;
  const maskDims = o.attnMask ? [...new Array(4 - o.attnMask.shape.length).fill(1), ...o.attnMask.shape] : [1, 1, 1, 1];
  const bDim = maskDims[0] > 1 ? s.b : 1;
  const hDim = o.alibi || o.relativeBias || maskDims[1] > 1 ? s.h : 1;
  const { lq, lk } = s;
  const data = new Float32Array(bDim * hDim * lq * lk);
  const slopes = o.alibi === true ? alibiSlopes(s.h) : o.alibi ? Float32Array.from(o.alibi) : null;
  const rb = o.relativeBias;
  // T5: one bucket per relative distance r = j − pos ∈ [−(Lk − 1), Lq − 1]
  const buckets = rb ? Int32Array.from({ length: lq + lk - 1 }, (_, x) => t5Bucket(x - (lk - 1), rb.bidirectional, rb.numBuckets, rb.maxDistance)) : null;
  const [left, right] = s.window ?? [-1, -1];
  const m = o.attnMask;
  const mStride = [maskDims[1] * maskDims[2] * maskDims[3], maskDims[2] * maskDims[3], maskDims[3], 1].map((x, n) => (maskDims[n] === 1 ? 0 : x));
  for (let b = 0; b < bDim; b++)
    for (let h = 0; h < hDim; h++)
      for (let i = 0; i < lq; i++) {
        const pos = i + lk - lq;
        const row = ((b * hDim + h) * lq + i) * lk;
        for (let j = 0; j < lk; j++) {
          let x = 0;
          if (s.window) {
            const hidden = (s.causal && j > pos) || (left >= 0 && j < pos - left) || (right >= 0 && j > pos + right);
            if (hidden) x = -Infinity;
          }
          if (slopes) x -= slopes[h] * Math.abs(j - pos);
          if (rb) x += rb.table.data[buckets[j - pos + lk - 1] * s.h + h];
          if (m) {
            const v = m.data[b * mStride[0] + h * mStride[1] + i * mStride[2] + j * mStride[3]];
            if (m.data instanceof Float32Array) x += v;
            else if (!v) x = -Infinity;
          }
          data[row + j] = x;
        }
      }
  inp.explicitBias = { data, shape: [bDim, hDim, lq, lk], covers: { causal: Boolean(s.window && s.causal) } };
  return inp.explicitBias;
}

/** The bias rows of one (batch, head) pair, broadcast: a view of `bias.data` [Lq, Lk]. */
export function biasSlice(bias, b, h) {
  const [bDim, hDim, lq, lk] = bias.shape;
  const at = ((bDim === 1 ? 0 : b) * hDim + (hDim === 1 ? 0 : h)) * lq * lk;
  return bias.data.subarray(at, at + lq * lk);
}

/** A short description of what the explicit bias holds, for the notes under a table. */
export function biasDescription(s, bias) {
  const what = [s.window ? `${s.causal ? 'causal ' : ''}window [${s.window.join(', ')}] as −∞` : null, s.alibi ? 'ALiBi −slope·|j − pos|' : null, s.relative ? 'T5 table[bucket(j − pos)]' : null, s.mask === 'bool' ? 'bool mask as 0 / −∞' : s.mask === 'float' ? 'the float mask' : null].filter(Boolean);
  return `explicit additive bias [${bias.shape.join(', ')}] (${what.join(' + ')}) built once outside the timed call`;
}
