// Vector math for f32x4 and scalar twins: 2^x, e^x and tanh.
import { madd4 } from './simd';
//
// Algorithm (both widths, bit-identical between scalar and SIMD builds except for
// FMA contraction in the relaxed build):
//   x = clamp(x, -127, 127);  n = round-to-nearest(x) via the 1.5·2^23 magic number;
//   f = x - n ∈ [-0.5, 0.5] (exact);  2^f ≈ 1 + f·P(f), degree-6 minimax (relative) polynomial;
//   2^n built by shifting n into the exponent field: bits = (n << 23) + (127 << 23).
//   n = -127 gives bits 0 = +0.0, so x < -126.5 (and x = -Infinity) returns exactly 0, never NaN.
//   x ≥ 127 returns ≈ 2^127 (finite).
// e^x: n = round(x·log2e), r = x - n·ln2 (Cody–Waite two-part ln2), f = r·log2e, then as above.
//
// Measured max relative error vs Math.pow(2, x) / Math.exp(x) in float64 (dense sweep of 4,194,304
// evenly spaced points per interval against float64, Node 20; test/kernels.test.ts checks e^x through expScale):
//   exp2f32 / exp2f32x4 on [-126, 0]: 8.93e-8 (< 1 ulp); on [0, 127]: 8.93e-8
//   expf32  / expf32x4  on [-87, 0]:  1.09e-7;           on [0, 88]:  1.12e-7
// Same in the scalar, SIMD and relaxed-SIMD builds, except the relaxed f32x4 versions (fused
// multiply-add): exp2f32x4 6.57e-8, expf32x4 9.14e-8.
// (below 2^-126 the result is subnormal and loses relative precision, then flushes to 0).

// Degree-6 minimax coefficients for (2^f - 1)/f on [-0.5, 0.5] (fit in float64, rounded to f32;
// the f32 Horner evaluation has max relative error 9.1e-8).
@inline const C1: f32 = 0.693147182;
@inline const C2: f32 = 0.240226373;
@inline const C3: f32 = 0.0555036515;
@inline const C4: f32 = 0.0096200183;
@inline const C5: f32 = 0.00133895816;
@inline const C6: f32 = 0.000149025174;

/** 1.5·2^23: adding it rounds an f32 of magnitude < 2^22 to an integer (ties to even). */
@inline const MAGIC: f32 = 12582912.0;
@inline const LOG2E: f32 = 1.44269504088896341;
/** ln2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits so n·LN2_HI is exact for |n| < 2^15. */
@inline const LN2_HI: f32 = 0.693359375;
@inline const LN2_LO: f32 = -2.12194440e-4;
@inline const EXP_BIAS: i32 = 0x3F800000; // 127 << 23

// tanh coefficients (the method and their fit: see the tanh section below).
@inline const TANH_CAP: f32 = 9.0;
@inline const TA1: f32 = 0.02965343;
@inline const TA2: f32 = 1.1176055e-4;
@inline const TB1: f32 = 0.225973234;
@inline const TB2: f32 = 0.00238817302;
@inline const TB3: f32 = 2.35903667e-6;

// f32x4 constants live in linear memory (K4 rows, 16 bytes each). V8 rematerialises a v128.const
// at every use (movabs + vmovq + vpunpcklqdq, per constant, per loop iteration); a v128 loaded
// from memory costs one load or stays in a register.
@inline const K_C1: i32 = 0;
@inline const K_C2: i32 = 16;
@inline const K_C3: i32 = 32;
@inline const K_C4: i32 = 48;
@inline const K_C5: i32 = 64;
@inline const K_C6: i32 = 80;
/** 1.0, whose bits are also EXP_BIAS (127 << 23). */
@inline const K_ONE: i32 = 96;
@inline const K_MAGIC: i32 = 112;
@inline const K_LO2: i32 = 128;   // -127 (exp2 input floor)
@inline const K_HI2: i32 = 144;   // 127 (exp2 input cap)
@inline const K_LOE: i32 = 160;   // -88 (exp input floor)
@inline const K_HIE: i32 = 176;   // 88 (exp input cap)
@inline const K_LOG2E: i32 = 192;
@inline const K_LN2_HI: i32 = 208;
@inline const K_LN2_LO: i32 = 224;
@inline export const K_TANH_CAP: i32 = 240;   // 9 (tanh input clamp)
@inline export const K_TA1: i32 = 256;
@inline export const K_TA2: i32 = 272;
@inline export const K_TB1: i32 = 288;
@inline export const K_TB2: i32 = 304;
@inline export const K_TB3: i32 = 320;
@inline export const K_TWO: i32 = 336;
@inline export const K_HALF: i32 = 352;
const K4: usize = memory.data<f32>([
  C1, C1, C1, C1, C2, C2, C2, C2, C3, C3, C3, C3, C4, C4, C4, C4, C5, C5, C5, C5, C6, C6, C6, C6,
  1.0, 1.0, 1.0, 1.0, MAGIC, MAGIC, MAGIC, MAGIC, -127.0, -127.0, -127.0, -127.0, 127.0, 127.0, 127.0, 127.0,
  -88.0, -88.0, -88.0, -88.0, 88.0, 88.0, 88.0, 88.0, LOG2E, LOG2E, LOG2E, LOG2E,
  LN2_HI, LN2_HI, LN2_HI, LN2_HI, LN2_LO, LN2_LO, LN2_LO, LN2_LO,
  TANH_CAP, TANH_CAP, TANH_CAP, TANH_CAP, TA1, TA1, TA1, TA1, TA2, TA2, TA2, TA2,
  TB1, TB1, TB1, TB1, TB2, TB2, TB2, TB2, TB3, TB3, TB3, TB3, 2.0, 2.0, 2.0, 2.0, 0.5, 0.5, 0.5, 0.5,
], 16);

/** The f32x4 constant at row `offset` of K4 (hot loops outside this file load theirs once, before the loop). */
@inline export function k4(offset: i32): v128 {
  return v128.load(K4 + <usize>offset);
}

/** 2^f ≈ 1 + f·P(f) for f ∈ [-0.5, 0.5] (Horner). */
@inline function pow2poly4(f: v128): v128 {
  let p = madd4(k4(K_C6), f, k4(K_C5));
  p = madd4(p, f, k4(K_C4));
  p = madd4(p, f, k4(K_C3));
  p = madd4(p, f, k4(K_C2));
  p = madd4(p, f, k4(K_C1));
  return madd4(p, f, k4(K_ONE));
}

/** 2^x for f32x4. Exactly 0 for x < -126.5 and -Infinity; finite ≈ 2^127 cap above. */
@inline export function exp2f32x4(x: v128): v128 {
  x = f32x4.pmax(x, k4(K_LO2));           // pmax(x, c) = x < c ? c : x : -inf → -127
  x = f32x4.pmin(x, k4(K_HI2));
  const magic = k4(K_MAGIC);
  const t = f32x4.add(x, magic);          // low mantissa bits of t hold n = round(x)
  const n = f32x4.sub(t, magic);
  const f = f32x4.sub(x, n);              // exact, in [-0.5, 0.5]
  // (bits(t) << 23) == n << 23 (the magic's own bits shift out); n = -127 → 0.0
  const scale = i32x4.add(i32x4.shl(t, 23), k4(K_ONE)); // bits(1.0) = EXP_BIAS
  return f32x4.mul(pow2poly4(f), scale);
}

/** Scalar twin of exp2f32x4 (same algorithm and constants). */
@inline export function exp2f32(x: f32): f32 {
  x = x < <f32>-127.0 ? <f32>-127.0 : x;
  x = x > <f32>127.0 ? <f32>127.0 : x;
  const t = x + MAGIC;
  const n = t - MAGIC;
  const f = x - n;
  const scale = reinterpret<f32>((reinterpret<i32>(t) << 23) + EXP_BIAS);
  let p = C6 * f + C5;
  p = p * f + C4;
  p = p * f + C3;
  p = p * f + C2;
  p = p * f + C1;
  p = p * f + <f32>1.0;
  return p * scale;
}

/** e^x for f32x4: 0 below ≈ -88 (and for -Infinity), ≈ 2^127 cap above ≈ 88. */
@inline export function expf32x4(x: v128): v128 {
  x = f32x4.pmax(x, k4(K_LOE));           // 2^(-127) after rounding → 0; keeps n in range
  x = f32x4.pmin(x, k4(K_HIE));
  const magic = k4(K_MAGIC);
  const log2e = k4(K_LOG2E);
  const t = f32x4.add(f32x4.mul(x, log2e), magic);
  const n = f32x4.sub(t, magic);
  // r = x - n·ln2 in two parts (n·LN2_HI exact), then f = r·log2e ∈ [-0.5, 0.5] (about)
  let r = f32x4.sub(x, f32x4.mul(n, k4(K_LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, k4(K_LN2_LO)));
  const f = f32x4.mul(r, log2e);
  const scale = i32x4.add(i32x4.shl(t, 23), k4(K_ONE)); // bits(1.0) = EXP_BIAS
  return f32x4.mul(pow2poly4(f), scale);
}

/** Scalar twin of expf32x4. */
@inline export function expf32(x: f32): f32 {
  x = x < <f32>-88.0 ? <f32>-88.0 : x;
  x = x > <f32>88.0 ? <f32>88.0 : x;
  const t = x * LOG2E + MAGIC;
  const n = t - MAGIC;
  let r = x - n * LN2_HI;
  r = r - n * LN2_LO;
  const f = r * LOG2E;
  const scale = reinterpret<f32>((reinterpret<i32>(t) << 23) + EXP_BIAS);
  let p = C6 * f + C5;
  p = p * f + C4;
  p = p * f + C3;
  p = p * f + C2;
  p = p * f + C1;
  p = p * f + <f32>1.0;
  return p * scale;
}

// ---- tanh ----------------------------------------------------------------------------------------
// Half-angle rational form, one division and no exp. With a = clamp(x, -9, 9) and t = a²:
//   A = a·(1 + t·(A1 + A2·t))              odd, degree 5
//   B = 2 + t·(B1 + t·(B2 + B3·t))          even, degree 6 (B ≥ 2: all coefficients are positive)
// A/B ≈ tanh(a/2) = r, and the double-angle identity tanh(a) = 2r/(1 + r²) gives
//   tanh(x) ≈ 2AB / (A² + B²),  evaluated as n = (A + A)·B, d = A·A + B·B, n / d.
// Why the half angle: a direct x·P(x²)/Q(x²) of the same cost rounds to ~6 ulp near |tanh| → 1 in f32,
// because the ratio of two large polynomials carries every rounding error into the result. Through
// the identity, errors in A and B reach tanh scaled by (1 − r²)/(1 + r²), which → 0 as |x| grows.
// Special values: clamping at 9 costs at most 1 − tanh(9) = 3.0e-8, and the evaluated form at
// a = ±9 is exactly ±1 (with or without FMA), so |x| ≥ 9 and ±Infinity give ±1. -0 → -0 (A = -0),
// NaN → NaN (pmin/pmax keep a NaN x), finite x never gives NaN (d ≥ 4). Odd symmetry is exact:
// every step is sign-symmetric (A odd, B even, rounding symmetric).
// |A|·B ≤ (A² + B²)/2 in exact arithmetic, but f32 rounding can make n/d exceed 1 by 1 ulp (plain
// mul + add, not FMA, close to |x| = 9); tanhf32x4 / tanhf32 clamp the result to [-1, 1], the
// additive-score loop uses the unclamped tanhRatio4 (at most 1.2e-7 more in one term of a dot product).
//
// Coefficients: weighted minimax fit of A/B to tanh(x/2) on [0, 9] with weight d tanh(x)/dr, so the
// fit minimises the error of the final tanh; A's leading coefficient fixed to 1 and B(0) = 2 (exact
// leading terms). Differential-correction algorithm (one linear program per iteration) in float64,
// then rounded to f32 (the fit scripts are not kept: the tests and the exhaustive check below verify
// the result). The rounded coefficients evaluated in float64 are within 3.0e-8 of tanh on [0, 9]
// (and 3.4e-8 beyond, where the input is clamped).
// Measured max absolute error vs Math.tanh over every f32 in [-12, 12] (exhaustive, 2,189,426,690
// values through tanhInPlace, Node 20, tools/tanh-exhaustive.mjs):
//   scalar 2.10e-7 and simd 2.10e-7 (x = 2.2382; plain mul + add, bit-identical to each other),
//   relaxed-simd 2.07e-7 (x = 0.9799; fused madd; on hardware without FMA it equals the simd build).
// No output above 1 in magnitude; odd symmetry is bitwise. test/seq2seq.test.ts and
// test/tanh.test.ts assert ≤ 2.2e-7 on every build.
// (the coefficients TANH_CAP, TA1, TA2, TB1, TB2, TB3 are declared with the K4 table above)

/** a = clamp(x, -cap, cap); NaN stays NaN. */
@inline export function tanhClamp4(x: v128, cap: v128, negCap: v128): v128 {
  return f32x4.pmax(f32x4.pmin(x, cap), negCap);
}

/** A = a·(1 + t·(A1 + A2·t)) for t = a², as a + (a·t)·(A1 + A2·t) so the leading term is exact. */
@inline export function tanhNum4(a: v128, t: v128, a1: v128, a2: v128): v128 {
  return madd4(f32x4.mul(a, t), madd4(a2, t, a1), a);
}

/** B = 2 + t·(B1 + t·(B2 + B3·t)) (Horner). */
@inline export function tanhDen4(t: v128, b1: v128, b2: v128, b3: v128, two: v128): v128 {
  return madd4(madd4(madd4(b3, t, b2), t, b1), t, two);
}

/** 2AB / (A² + B²): tanh from the half-angle pair (may exceed 1 in magnitude by 1 ulp, see above). */
@inline export function tanhRatio4(A: v128, B: v128): v128 {
  return f32x4.div(f32x4.mul(f32x4.add(A, A), B), madd4(A, A, f32x4.mul(B, B)));
}

/** tanh for f32x4 (hot loops: compose the parts above with their K4 constants loaded once). */
@inline export function tanhf32x4(x: v128): v128 {
  const cap = k4(K_TANH_CAP), one = k4(K_ONE);
  const a = tanhClamp4(x, cap, f32x4.neg(cap));
  const t = f32x4.mul(a, a);
  const A = tanhNum4(a, t, k4(K_TA1), k4(K_TA2));
  const B = tanhDen4(t, k4(K_TB1), k4(K_TB2), k4(K_TB3), k4(K_TWO));
  return f32x4.pmax(f32x4.pmin(tanhRatio4(A, B), one), f32x4.neg(one));
}

/** Scalar twin of tanhf32x4 (same algorithm, constants and operation order; no FMA). */
@inline export function tanhf32(x: f32): f32 {
  let a = x > TANH_CAP ? TANH_CAP : x;
  a = a < -TANH_CAP ? -TANH_CAP : a;
  const t = a * a;
  const A = (a * t) * (TA2 * t + TA1) + a;
  const B = ((TB3 * t + TB2) * t + TB1) * t + <f32>2.0;
  let r = ((A + A) * B) / (A * A + B * B);
  r = r > <f32>1.0 ? <f32>1.0 : r;
  return r < <f32>-1.0 ? <f32>-1.0 : r;
}

// ---- sigmoid -------------------------------------------------------------------------------------
// σ(x) = 1 / (1 + e^{−x}) with the e^x above (relative error ≤ 1.2e-7), so σ is within ~1.2e-7·σ(1 − σ)
// plus one rounding of the add and the divide: ≤ 1.5e-7 absolute. e^{−x} is capped at e^88, so
// x = −Infinity gives ≈ 6e-39 (not NaN), +Infinity gives 1; NaN → NaN.

/** σ(x) for f32x4 (`one` = k4 row of 1.0, loaded once by the caller's loop). */
@inline export function sigmoidf32x4(x: v128, one: v128): v128 {
  return f32x4.div(one, f32x4.add(one, expf32x4(f32x4.neg(x))));
}

/** Scalar twin of sigmoidf32x4. */
@inline export function sigmoidf32(x: f32): f32 {
  return <f32>1.0 / (<f32>1.0 + expf32(-x));
}

/** The f32x4 row of 1.0 in K4, for callers of sigmoidf32x4. */
@inline export function one4(): v128 {
  return k4(K_ONE);
}
