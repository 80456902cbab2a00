// IEEE 754 half precision (binary16) ↔ f32, exact one way and rounded to nearest even the other,
// and bfloat16 → f32. One copy for every kernel family that stores or reads halves (KV caches,
// f16 / bf16 weights).
//
// f16 → f32 is exact: the half's exponent and mantissa bits, shifted into an f32's places
// (em << 13), are the half's value × 2^−112 (a half subnormal lands on an f32 subnormal), so one
// multiplication by 2^112 rebiases every finite half exactly; an all-ones half exponent (±Infinity,
// NaN) lands at 2^16 or above and gets the all-ones f32 exponent, its mantissa (a NaN's payload) kept.

/** 2^112: the exponent bias of f32 (127) minus that of f16 (15), as a factor. */
const REBIAS: f32 = 5.192296858534828e33;
/** em << 13 of the first non-finite half (exponent all ones), × 2^112 = 65536. */
const HALF_SPECIAL: i32 = 0x7c00;

/** The half with bits h (low 16 bits) as f32, exactly. */
@inline export function f16ToF32(h: u32): f32 {
  const em = h & 0x7fff;
  let bits = reinterpret<u32>(reinterpret<f32>(em << 13) * REBIAS);
  if (em >= <u32>HALF_SPECIAL) bits |= 0x7f800000;
  return reinterpret<f32>(bits | ((h & 0x8000) << 16));
}

/** The 4 halves at p as f32x4, exactly (SIMD builds). */
@inline export function f16x4ToF32x4(p: usize): v128 {
  return f16LanesToF32x4(v128.load16x4_u(p));
}

/** Four halves zero-extended in i32 lanes (u16 → i32) as f32x4, exactly (SIMD builds). */
@inline export function f16LanesToF32x4(h: v128): v128 {
  const em = v128.and(h, i32x4.splat(0x7fff));
  const sign = i32x4.shl(v128.xor(h, em), 16);
  const value = f32x4.mul(i32x4.shl(em, 13), f32x4.splat(REBIAS));
  const special = v128.and(i32x4.ge_s(em, i32x4.splat(HALF_SPECIAL)), i32x4.splat(0x7f800000));
  return v128.or(v128.or(value, special), sign);
}

/**
 * x rounded to the nearest half, ties to even, as its 16 bits: |x| ≥ 65520 gives ±Infinity, NaN a
 * quiet NaN (sign kept), |x| < 2^−14 a subnormal half (or ±0).
 */
@inline export function f32ToF16(x: f32): u32 {
  const bits = reinterpret<u32>(x);
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;          // NaN
  if (abs >= 0x477ff000) return sign | 0x7c00;         // ≥ 65520 (half-way past 65504) and ±Infinity
  if (abs < 0x38800000) {
    // below the smallest normal half: units of 2^−24 (x·2^24 is exact), rounded half to even
    return sign | <u32>nearest<f32>(reinterpret<f32>(abs) * 16777216.0);
  }
  // normal: 13 mantissa bits dropped, rounded half to even (a carry moves into the exponent), then
  // the exponent rebiased from 127 to 15
  return sign | ((abs + 0xfff + ((abs >>> 13) & 1) - 0x38000000) >>> 13);
}

// bfloat16 is the top 16 bits of an f32: f32 bits = h << 16 (SIMD: an i16x8 shuffle interleaving a
// zero below each value). The weight kernels take a format code: HALF_F16, HALF_BF16, or
// HALF_F16_FINITE for f16 values known to hold no ±∞ or NaN (checked at load), which lets the SIMD
// loops use the shorter f16Finite.

/** Format codes of the kernels' 16-bit arguments. */
export const HALF_F16: i32 = 0;
export const HALF_BF16: i32 = 1;
export const HALF_F16_FINITE: i32 = 2;

/** The f32 value of one 16-bit float (h in the low 16 bits): bf16 (the top half of an f32) or f16. */
@inline export function halfToF32(h: u32, bf16: bool): f32 {
  if (bf16) return reinterpret<f32>(h << 16);
  return f16ToF32(h);
}

/** Halves 0 … 3 of eight 16-bit floats `v` (one 16-byte load) as f32x4. */
@inline export function halfLow(v: v128, bf16: bool): v128 {
  // bf16: interleave zero below each value (punpcklwd), i.e. h << 16 in each 32-bit lane
  if (bf16) return v128.shuffle<i16>(i16x8.splat(0), v, 0, 8, 1, 9, 2, 10, 3, 11);
  return f16LanesToF32x4(i32x4.extend_low_i16x8_u(v));
}

/** Halves 4 … 7 of eight 16-bit floats `v` as f32x4. */
@inline export function halfHigh(v: v128, bf16: bool): v128 {
  if (bf16) return v128.shuffle<i16>(i16x8.splat(0), v, 4, 12, 5, 13, 6, 14, 7, 15);
  return f16LanesToF32x4(i32x4.extend_high_i16x8_u(v));
}

/**
 * f16 halves 0 … 3 (high: 4 … 7) of `v` as f32x4 when no lane is ±∞ or NaN (see anyF16Special):
 * the f32 bits sign | em << 13 are built in 16-bit lanes (high half (h >> 3) & 0x8fff, low half
 * h << 13) and interleaved, then ·2^112 (the sign rides along: sign-magnitude).
 */
@inline export function f16Finite(v: v128, high: bool): v128 {
  const lo = i16x8.shl(v, 13), hi = v128.and(i16x8.shr_s(v, 3), i16x8.splat(<i16>0x8fff));
  const bits = high ? v128.shuffle<i16>(lo, hi, 4, 12, 5, 13, 6, 14, 7, 15) : v128.shuffle<i16>(lo, hi, 0, 8, 1, 9, 2, 10, 3, 11);
  return f32x4.mul(bits, f32x4.splat(REBIAS));
}

/** Does any of the 16 f16 values in a, b have exponent 31 (±∞, NaN)? Then f16Finite does not apply. */
@inline export function anyF16Special(a: v128, b: v128): bool {
  const e = i16x8.splat(0x7c00);
  return v128.any_true(v128.or(i16x8.eq(v128.and(a, e), e), i16x8.eq(v128.and(b, e), e)));
}

/** Four 16-bit floats at p (8 bytes) as f32x4. */
@inline export function half4(p: usize, bf16: bool): v128 {
  const h = v128.load16x4_u(p);
  return bf16 ? i32x4.shl(h, 16) : f16LanesToF32x4(h);
}

/**
 * dst[i] = f32(src[i]) for i < count: 16-bit floats of `format` (HALF_F16, HALF_BF16,
 * HALF_F16_FINITE) widened to f32, eight per load. An embedding row gathered from a 16-bit table,
 * a panel of 16-bit weights being packed, or any run of halves.
 */
export function widenHalf(src: usize, dst: usize, count: i32, format: i32): void {
  if (format == HALF_BF16) widenRun(src, dst, count, true, false);
  else if (format == HALF_F16_FINITE) widenRun(src, dst, count, false, true);
  else widenRun(src, dst, count, false, false);
}

@inline function widenRun(src: usize, dst: usize, count: i32, bf16: bool, finite: bool): void {
  let i: usize = 0;
  const n = <usize>count;
  if (ASC_FEATURE_SIMD) {
    for (const n8 = n & ~7; i < n8; i += 8) {
      const v = v128.load(src + (i << 1));
      v128.store(dst + (i << 2), finite ? f16Finite(v, false) : halfLow(v, bf16));
      v128.store(dst + (i << 2), finite ? f16Finite(v, true) : halfHigh(v, bf16), 16);
    }
  }
  for (; i < n; i++) store<f32>(dst + (i << 2), halfToF32(<u32>load<u16>(src + (i << 1)), bf16));
}
