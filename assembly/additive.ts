// Additive (Bahdanau / Luong-concat) attention scores over precomputed keys.
import { madd4, tanhClamp4, tanhDen4, tanhf32, tanhf32x4, tanhNum4, tanhRatio4, TANH_K } from './vmath';

/**
 * scores[s] = Σ_i v[i]·tanh(q[i] + keys[s, i]) + vBias   for s < n, i < h
 * q [h] is the projected decoder state (Wa·h + bias), keys [n, h] (row stride ldk) the projected
 * encoder states (Ua·hs + bias), computed once per source sequence; v [h] is the Va weight row.
 */
export function additiveScores(q: usize, keys: usize, ldk: i32, v: usize, vBias: f32, scores: usize, n: i32, h: i32): void {
  if (ASC_FEATURE_SIMD) {
    additiveScores4(q, keys, ldk, v, vBias, scores, n, h);
  } else {
    for (let s = 0; s < n; s++) {
      const row = keys + ((<usize>s * <usize>ldk) << 2);
      store<f32>(scores + (<usize>s << 2), additiveTail(q, row, v, 0, h) + vBias);
    }
  }
}

/** Σ_{from ≤ i < h} v[i]·tanh(q[i] + row[i]), scalar. */
// @ts-ignore: decorator
@inline function additiveTail(q: usize, row: usize, v: usize, from: i32, h: i32): f32 {
  let sum: f32 = 0;
  for (let i = from; i < h; i++) {
    const o = <usize>i << 2;
    sum += load<f32>(v + o) * tanhf32(load<f32>(q + o) + load<f32>(row + o));
  }
  return sum;
}

/**
 * SIMD additiveScores. tanh is the half-angle rational of vmath.ts in two stages, software-pipelined
 * over the 4-lane groups of a row: each iteration computes A, B (clamp, polynomials) of group j and
 * finishes group j − 1 (2AB / (A² + B²), the division, the v-weighted accumulation). The two chains
 * are independent, so the core overlaps them instead of waiting on one long chain per group (load →
 * clamp → polynomials → division → accumulate). The tanh constants are splat-loaded once from TANH_K
 * (V8 would re-materialise v128.const operands at every use inside the loop).
 */
function additiveScores4(q: usize, keys: usize, ldk: i32, v: usize, vBias: f32, scores: usize, n: i32, h: i32): void {
  const cap = v128.load32_splat(TANH_K, 0);
  const negCap = f32x4.neg(cap);
  const a1 = v128.load32_splat(TANH_K, 4);
  const a2 = v128.load32_splat(TANH_K, 8);
  const b1 = v128.load32_splat(TANH_K, 12);
  const b2 = v128.load32_splat(TANH_K, 16);
  const b3 = v128.load32_splat(TANH_K, 20);
  const two = v128.load32_splat(TANH_K, 24);
  for (let s = 0; s < n; s++) {
    const row = keys + ((<usize>s * <usize>ldk) << 2);
    let sum: f32 = 0;
    let i = 0;
    if (h >= 4) {
      let acc = f32x4.splat(0);
      // stage 1 of group 0
      let a = tanhClamp4(f32x4.add(v128.load(q), v128.load(row)), cap, negCap);
      let t = f32x4.mul(a, a);
      let A = tanhNum4(a, t, a1, a2);
      let B = tanhDen4(t, b1, b2, b3, two);
      for (i = 4; i + 4 <= h; i += 4) {
        const o = <usize>i << 2;
        // stage 1 of group i/4
        a = tanhClamp4(f32x4.add(v128.load(q + o), v128.load(row + o)), cap, negCap);
        t = f32x4.mul(a, a);
        const nextA = tanhNum4(a, t, a1, a2);
        const nextB = tanhDen4(t, b1, b2, b3, two);
        // stage 2 of group i/4 − 1
        acc = madd4(v128.load(v + o - 16), tanhRatio4(A, B), acc);
        A = nextA;
        B = nextB;
      }
      // stage 2 of the last group
      acc = madd4(v128.load(v + (<usize>i << 2) - 16), tanhRatio4(A, B), acc);
      sum = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    }
    store<f32>(scores + (<usize>s << 2), sum + additiveTail(q, row, v, i, h) + vBias);
  }
}

/** x[i] = tanh(x[i]) for i < n, in place (the attentional state h̃ = tanh(Wc·[c; h])). */
export function tanhInPlace(x: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const p = x + (<usize>i << 2);
      v128.store(p, tanhf32x4(v128.load(p)));
    }
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<f32>(p, tanhf32(load<f32>(p)));
  }
}
