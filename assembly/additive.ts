// Additive (Bahdanau / Luong-concat) attention scores over precomputed keys.
import { hmax, hsum, madd4 } from './simd';
import {
  expf32, expf32x4, k4, K_HALF, K_TA1, K_TA2, K_TANH_CAP, K_TB1, K_TB2, K_TB3, K_TWO,
  tanhClamp4, tanhDen4, tanhf32, tanhf32x4, tanhNum4, tanhRatio4,
} from './vmath';

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
 * clamp → polynomials → division → accumulate). The tanh constants are loaded once from vmath's K4 table
 * (V8 would re-materialise v128.const operands at every use inside the loop).
 */
function additiveScores4(q: usize, keys: usize, ldk: i32, v: usize, vBias: f32, scores: usize, n: i32, h: i32): void {
  const cap = k4(K_TANH_CAP);
  const negCap = f32x4.neg(cap);
  const a1 = k4(K_TA1), a2 = k4(K_TA2);
  const b1 = k4(K_TB1), b2 = k4(K_TB2), b3 = k4(K_TB3);
  const two = k4(K_TWO);
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
      sum = hsum(acc);
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

// ---- factored form ---------------------------------------------------------------------------------
// tanh(z) = 1 − 2/(1 + e^{2z}) and e^{2(q + k)} = e^{2q}·e^{2k}, so with f = e^{2q}/2 (per step, h
// exps) and e = e^{2k} (per bound source, once):
//   v·tanh(q + k) = v − v / (1/2 + f·e)
//   scores[s] = (Σ_i v[i] + vBias) − Σ_i v[i] / (1/2 + f[i]·e[s, i])
// One multiply-add and one divide per element instead of a tanh. Valid when |q|, |k| ≤
// FACTORED_LIMIT (20): f·e then lies in [e^-80/2, e^80/2], finite and normal, and saturates the right
// way (f·e → ∞: tanh → 1; f·e → 0: tanh → −1). The caller checks the limit (expScale returns max|x|)
// and falls back to additiveScores. Error: e^x has relative error ≤ 1.2e-7, so f·e is within ~3e-7
// relative and tanh within ~1.5e-7 + a rounding of the divide (test/tanh.test.ts checks it).

/** out[i] = b·e^{a·x[i]} for i < n; returns max |x[i]| (NaN if any x is NaN). */
export function expScale(x: usize, out: usize, n: i32, a: f32, b: f32): f32 {
  let maxAbs: f32 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const av = f32x4.splat(a), bv = f32x4.splat(b);
    let m = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const xv = v128.load(x + o);
      m = f32x4.max(m, f32x4.abs(xv)); // max, not pmax: a NaN propagates
      v128.store(out + o, f32x4.mul(expf32x4(f32x4.mul(xv, av)), bv));
    }
    maxAbs = hmax(m);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const xi = load<f32>(x + o);
    maxAbs = max<f32>(maxAbs, Mathf.abs(xi));
    store<f32>(out + o, expf32(xi * a) * b);
  }
  return maxAbs;
}

/**
 * scores[s] = c − Σ_i v[i] / (1/2 + f[i]·e[s, i]) for s < n, i < h (the factored additive score,
 * see above): f [h] = e^{2q}/2, e [n, h] (row stride lde) = e^{2·keys}, c = Σ v + vBias.
 */
export function additiveScoresFactored(f: usize, e: usize, lde: i32, v: usize, c: f32, scores: usize, n: i32, h: i32): void {
  for (let s = 0; s < n; s++) {
    const row = e + ((<usize>s * <usize>lde) << 2);
    let sum: f32 = 0;
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const half = k4(K_HALF); // loaded, not a v128.const (V8 would rebuild it per use)
      let a0 = f32x4.splat(0), a1 = a0;
      // two independent divide chains per row
      for (; i + 8 <= h; i += 8) {
        const o = <usize>i << 2;
        a0 = f32x4.add(a0, f32x4.div(v128.load(v + o), madd4(v128.load(f + o), v128.load(row + o), half)));
        a1 = f32x4.add(a1, f32x4.div(v128.load(v + o, 16), madd4(v128.load(f + o, 16), v128.load(row + o, 16), half)));
      }
      for (; i + 4 <= h; i += 4) {
        const o = <usize>i << 2;
        a0 = f32x4.add(a0, f32x4.div(v128.load(v + o), madd4(v128.load(f + o), v128.load(row + o), half)));
      }
      a0 = f32x4.add(a0, a1);
      sum = hsum(a0);
    }
    for (; i < h; i++) {
      const o = <usize>i << 2;
      sum += load<f32>(v + o) / (load<f32>(f + o) * load<f32>(row + o) + <f32>0.5);
    }
    store<f32>(scores + (<usize>s << 2), c - sum);
  }
}
