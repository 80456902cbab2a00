// erf for f32x4 and its scalar twin (GELU's exact form: 0.5·x·(1 + erf(x/√2)), see activation.ts).
import { madd4 } from './simd';
import { exp2f32, exp2f32x4 } from './vmath';
//
// Method: two pieces on t = min(|x|, 4), then the sign of x copied onto the result.
//   t < 1:  erf(t) = t + t·R(t²),       R of degree 6: R(s) ≈ erf(√s)/√s − 1 (the leading t is exact)
//   t ≥ 1:  erf(t) = 1 − 2^{Q(t)},      Q of degree 6: Q(t) ≈ log2 erfc(t)    (2^x: vmath's exp2f32x4)
// Q is smooth on [1, 4] (−Q grows like (t² + ln(t√π))/ln 2), so a polynomial fits it; the error of Q
// reaches erf scaled by erfc(t)·ln 2 ≤ 0.11, and 1 − 2^Q has no cancellation (2^Q = erfc(t) ≤ 0.16).
// Base 2, not e: log2 e folds into Q's coefficients, and 2^x needs no argument reduction.
// erf(4) = 1 − 1.5e-8 rounds to 1 in f32 (so does every erf beyond ≈ 3.92): |x| ≥ 4, ±Infinity → ±1
// exactly. NaN → NaN (pmin and the comparison keep it on the t ≥ 1 path, whose 2^x gives NaN);
// ±0 → ±0; odd symmetry is exact (the pieces work on |x|). The f32x4 version computes both pieces
// and selects per lane; the scalar twin branches. Same operations in the same order, so the scalar
// and SIMD builds give the same bits (checked on 2^21 inputs for every activation kind; the relaxed
// build fuses the Horner steps).
//
// Coefficients: weighted minimax fits in float64 against mpmath (Lawson's iteratively reweighted
// least squares on 3,000 Chebyshev nodes): R on s ∈ [0, 1] weighted by t/erf(t) (relative error
// of erf, fit error 1.2e-9), Q on t ∈ [1, 4] weighted by erfc(t) (absolute error of erf, fit error
// 1.5e-9); then rounded to f32. The f32 evaluation is what limits the accuracy.
// Measured max absolute error vs float64 erf (erf64 of bench/kernel-cases.mjs: series and continued
// fraction, within 9e-16), through activation kind 4, Node 20:
//   every f32 in [2^-12, 4.5] (118,489,089 values; odd symmetry is exact, beyond 4 the result is ±1):
//     scalar and simd 7.86e-8 at x = 0.99678 (bit-identical), relaxed-simd 7.10e-8 at x = 1.00971;
//     relative error at most 9.3e-8 there, and 6.6e-8 on [2^-112, 2^-12] (2^21 points; t + t·R(s)).
//   test/kernels.test.ts asserts ≤ 2e-7 over 2^22 points of [−5, 5] (measured 7.9e-8 / 7.1e-8).
// GELU built on it: max absolute error 4.2e-7 over [−10, 10] (simd, scalar; relaxed 3.0e-7), the
// rounding of results up to 10 included.

// R(s) = S0 + S1·s + … + S6·s⁶
@inline const S0: f32 = 1.283791661e-1;
@inline const S1: f32 = -3.761262596e-1;
@inline const S2: f32 = 1.128358543e-1;
@inline const S3: f32 = -2.685381286e-2;
@inline const S4: f32 = 5.188329611e-3;
@inline const S5: f32 = -8.010207675e-4;
@inline const S6: f32 = 7.853902935e-5;
// Q(t) = Q0 + Q1·t + … + Q6·t⁶
@inline const Q0: f32 = -5.103033036e-4;
@inline const Q1: f32 = -1.625975132e+0;
@inline const Q2: f32 = -9.207649827e-1;
@inline const Q3: f32 = -1.486515403e-1;
@inline const Q4: f32 = 3.145844117e-2;
@inline const Q5: f32 = -4.240960814e-3;
@inline const Q6: f32 = 2.677270677e-4;
/** Beyond this |x| the f32 erf is ±1 (the input to both pieces is clamped to it). */
@inline const ERF_CAP: f32 = 4.0;

// f32x4 constants in linear memory, 16 bytes a row (V8 rematerialises a v128.const at every use;
// a loaded one costs one load or stays in a register; see vmath.ts).
@inline const E_S0: i32 = 0;
@inline const E_S1: i32 = 16;
@inline const E_S2: i32 = 32;
@inline const E_S3: i32 = 48;
@inline const E_S4: i32 = 64;
@inline const E_S5: i32 = 80;
@inline const E_S6: i32 = 96;
@inline const E_Q0: i32 = 112;
@inline const E_Q1: i32 = 128;
@inline const E_Q2: i32 = 144;
@inline const E_Q3: i32 = 160;
@inline const E_Q4: i32 = 176;
@inline const E_Q5: i32 = 192;
@inline const E_Q6: i32 = 208;
@inline const E_CAP: i32 = 224;
@inline const E_ONE: i32 = 240;
/** -0.0: the sign bit alone. */
@inline const E_SIGN: i32 = 256;
const E4: usize = memory.data<f32>([
  S0, S0, S0, S0, S1, S1, S1, S1, S2, S2, S2, S2, S3, S3, S3, S3, S4, S4, S4, S4, S5, S5, S5, S5, S6, S6, S6, S6,
  Q0, Q0, Q0, Q0, Q1, Q1, Q1, Q1, Q2, Q2, Q2, Q2, Q3, Q3, Q3, Q3, Q4, Q4, Q4, Q4, Q5, Q5, Q5, Q5, Q6, Q6, Q6, Q6,
  ERF_CAP, ERF_CAP, ERF_CAP, ERF_CAP, 1.0, 1.0, 1.0, 1.0, -0.0, -0.0, -0.0, -0.0,
], 16);

@inline function e4(offset: i32): v128 {
  return v128.load(E4 + <usize>offset);
}

/** erf for f32x4 (both pieces, selected per lane). */
@inline export function erff32x4(x: v128): v128 {
  const t = f32x4.pmin(f32x4.abs(x), e4(E_CAP));   // pmin(a, cap) = cap < a ? cap : a: NaN stays
  const s = f32x4.mul(t, t);
  // t < 1: t + t·R(s)
  let r = madd4(e4(E_S6), s, e4(E_S5));
  r = madd4(r, s, e4(E_S4));
  r = madd4(r, s, e4(E_S3));
  r = madd4(r, s, e4(E_S2));
  r = madd4(r, s, e4(E_S1));
  r = madd4(r, s, e4(E_S0));
  const small = madd4(t, r, t);
  // t ≥ 1: 1 − 2^{Q(t)}
  let q = madd4(e4(E_Q6), t, e4(E_Q5));
  q = madd4(q, t, e4(E_Q4));
  q = madd4(q, t, e4(E_Q3));
  q = madd4(q, t, e4(E_Q2));
  q = madd4(q, t, e4(E_Q1));
  q = madd4(q, t, e4(E_Q0));
  const one = e4(E_ONE);
  const large = f32x4.sub(one, exp2f32x4(q));
  const y = v128.bitselect(small, large, f32x4.lt(t, one)); // NaN: lt is false → large (NaN)
  return v128.or(y, v128.and(x, e4(E_SIGN)));              // y ≥ 0: copy the sign of x
}

/** Scalar twin of erff32x4 (same operations and constants; branches instead of selecting). */
@inline export function erff32(x: f32): f32 {
  let t = Mathf.abs(x);
  t = t > ERF_CAP ? ERF_CAP : t;
  let y: f32;
  if (t < <f32>1.0) {
    const s = t * t;
    let r = S6 * s + S5;
    r = r * s + S4;
    r = r * s + S3;
    r = r * s + S2;
    r = r * s + S1;
    r = r * s + S0;
    y = t * r + t;
  } else {
    let q = Q6 * t + Q5;
    q = q * t + Q4;
    q = q * t + Q3;
    q = q * t + Q2;
    q = q * t + Q1;
    q = q * t + Q0;
    y = <f32>1.0 - exp2f32(q);
  }
  return copysign<f32>(y, x);
}
