// The online softmax of the fused kernel (per query row, one key block at a time) and the final
// normalisation. Scores are in the log2 domain (Qs carries scale·log2 e), so only 2^x is needed.
import { exp2f32, exp2f32x4 } from '../vmath';
import { hmax, hsum, roundUp4 } from '../simd';

/**
 * Row s[0..w) of scores of one key block; only keys [a, c) are visible (0 ≤ a ≤ c ≤ w). Updates
 * the running max m and sum l, writes α = 2^(m − m') and overwrites s[0..w) with P = 2^(s − m')
 * (0 for hidden keys). A row that has seen no key keeps m = -inf, l = 0 and gets α = 1, P = 0.
 */
export function onlineSoftmaxRow(s: usize, a: i32, c: i32, w: i32, mp: usize, lp: usize, ap: usize): void {
  const mOld = load<f32>(mp);
  // hidden keys before the visible range score -inf (P = 0 below)
  for (let j = 0; j < a; j++) store<f32>(s + (<usize>j << 2), -Infinity);
  let rowMax: f32 = -Infinity;
  let c4 = c;
  if (ASC_FEATURE_SIMD) {
    // max over [0, c4), with keys c..c4 (the vector tail) hidden as -inf
    c4 = roundUp4(c);
    for (let j = c; j < c4; j++) store<f32>(s + (<usize>j << 2), -Infinity);
    let mx = f32x4.splat(-Infinity);
    for (let j = 0; j < c4; j += 4) mx = f32x4.pmax(mx, v128.load(s + (<usize>j << 2)));
    rowMax = hmax(mx);
  } else {
    for (let j = a; j < c; j++) rowMax = max<f32>(rowMax, load<f32>(s + (<usize>j << 2)));
  }
  const mNew = max<f32>(mOld, rowMax);
  if (mNew == -Infinity) {
    // nothing visible so far, or its scores are all -inf or NaN: P = 0, α = 1, and a NaN score
    // makes the running sum NaN (the max above skips NaN, the sum must not)
    for (let j = a; j < c; j++) {
      const x = load<f32>(s + (<usize>j << 2));
      if (x != x) store<f32>(lp, NaN);
    }
    memory.fill(s, 0, <usize>w << 2);
    store<f32>(ap, 1);
    return;
  }
  const alpha = exp2f32(mOld - mNew); // mOld = -inf → 0
  let sum: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    // P = 2^(s − m') over [0, c4) (hidden keys → 0), zeros over [c4, w)
    const mv = f32x4.splat(mNew);
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j < c4; j += 4) {
      const ptr = s + (<usize>j << 2);
      const p = exp2f32x4(f32x4.sub(v128.load(ptr), mv));
      v128.store(ptr, p);
      acc = f32x4.add(acc, p);
    }
    const zero = f32x4.splat(0);
    for (; j < w; j += 4) v128.store(s + (<usize>j << 2), zero);
    sum = hsum(acc);
  } else {
    let j = 0;
    for (; j < a; j++) store<f32>(s + (<usize>j << 2), 0);
    for (; j < c; j++) {
      const ptr = s + (<usize>j << 2);
      const p = exp2f32(load<f32>(ptr) - mNew);
      store<f32>(ptr, p);
      sum += p;
    }
    for (; j < w; j++) store<f32>(s + (<usize>j << 2), 0);
  }
  store<f32>(mp, mNew);
  store<f32>(lp, load<f32>(lp) * alpha + sum);
  store<f32>(ap, alpha);
}

/** dst[c] = O[c] / sum for c < dv: 0 when sum = 0 (the query saw no key), NaN when sum is NaN. */
export function writeOutRow(o: usize, sum: f32, dv: i32, dst: usize): void {
  const inv: f32 = sum == 0 ? 0 : <f32>1.0 / sum;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    const iv = f32x4.splat(inv);
    for (; c + 4 <= dv; c += 4) {
      const co = <usize>c << 2;
      v128.store(dst + co, f32x4.mul(v128.load(o + co), iv));
    }
  }
  for (; c < dv; c++) {
    const co = <usize>c << 2;
    store<f32>(dst + co, load<f32>(o + co) * inv);
  }
}
