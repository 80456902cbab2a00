// 16-bit floats → f32, exactly (every f16 and every bf16 value is an f32).
//
//   bf16: the top 16 bits of an f32, so f32 bits = h << 16.
//   f16 (IEEE binary16, 1-5-10): with em = h & 0x7fff, the f32 whose bits are em << 13 has the
//     half's mantissa in place and its exponent 112 too small (bias 15 against 127), so
//     f32(em << 13)·2^112 is |h| exactly: normal halves, and subnormal halves too (em << 13 is
//     then an f32 subnormal, m·2^−136, and the product m·2^−24 is exact: Wasm never flushes
//     subnormals). Exponent 31 (em ≥ 0x7c00) lands on 2^16 … 2^17: setting every exponent bit
//     makes it ±∞ (mantissa 0) or NaN with the half's payload. Then the sign bit.
// The kernels take a format code: HALF_F16, HALF_BF16, or HALF_F16_FINITE for f16 values known
// to hold no ±∞ or NaN (checked at load), which lets the SIMD loops use the shorter f16Finite.

/** Format codes of the kernels' 16-bit arguments. */
export const HALF_F16: i32 = 0;
export const HALF_BF16: i32 = 1;
export const HALF_F16_FINITE: i32 = 2;

/** 2^112 as f32. */
const TWO_112: u32 = 0x77800000;

/** The f32 value of one 16-bit float (h in the low 16 bits). */
@inline export function halfToF32(h: u32, bf16: bool): f32 {
  if (bf16) return reinterpret<f32>(h << 16);
  const em = h & 0x7fff;
  let bits = reinterpret<u32>(reinterpret<f32>(em << 13) * reinterpret<f32>(TWO_112));
  if (em >= 0x7c00) bits |= 0x7f800000;
  return reinterpret<f32>(bits | ((h & 0x8000) << 16));
}

/** f16 → f32 on four lanes holding zero-extended halves (i32x4 of u16). */
@inline function f16x4(h: v128): v128 {
  const em = v128.and(h, i32x4.splat(0x7fff));
  let v = f32x4.mul(i32x4.shl(em, 13), f32x4.splat(reinterpret<f32>(TWO_112)));
  v = v128.or(v, v128.and(i32x4.gt_s(em, i32x4.splat(0x7bff)), i32x4.splat(0x7f800000)));
  return v128.or(v, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** Halves 0 … 3 of eight 16-bit floats `v` (one 16-byte load) as f32x4. */
@inline export function halfLow(v: v128, bf16: bool): v128 {
  // bf16: interleave zero below each value (punpcklwd), i.e. h << 16 in each 32-bit lane
  if (bf16) return v128.shuffle<i16>(i16x8.splat(0), v, 0, 8, 1, 9, 2, 10, 3, 11);
  return f16x4(i32x4.extend_low_i16x8_u(v));
}

/** Halves 4 … 7 of eight 16-bit floats `v` as f32x4. */
@inline export function halfHigh(v: v128, bf16: bool): v128 {
  if (bf16) return v128.shuffle<i16>(i16x8.splat(0), v, 4, 12, 5, 13, 6, 14, 7, 15);
  return f16x4(i32x4.extend_high_i16x8_u(v));
}

/**
 * f16 halves 0 … 3 (high: 4 … 7) of `v` as f32x4 when no lane is ±∞ or NaN (see anyF16Special):
 * the f32 bits sign | em << 13 are built in 16-bit lanes (high half (h >> 3) & 0x8fff, low half
 * h << 13) and interleaved, then ·2^112 (the sign rides along: sign-magnitude).
 */
@inline export function f16Finite(v: v128, high: bool): v128 {
  const lo = i16x8.shl(v, 13), hi = v128.and(i16x8.shr_s(v, 3), i16x8.splat(<i16>0x8fff));
  const bits = high ? v128.shuffle<i16>(lo, hi, 4, 12, 5, 13, 6, 14, 7, 15) : v128.shuffle<i16>(lo, hi, 0, 8, 1, 9, 2, 10, 3, 11);
  return f32x4.mul(bits, f32x4.splat(reinterpret<f32>(TWO_112)));
}

/** Does any of the 16 f16 values in a, b have exponent 31 (±∞, NaN)? Then f16Finite does not apply. */
@inline export function anyF16Special(a: v128, b: v128): bool {
  const e = i16x8.splat(0x7c00);
  return v128.any_true(v128.or(i16x8.eq(v128.and(a, e), e), i16x8.eq(v128.and(b, e), e)));
}

/** Four 16-bit floats at p (8 bytes) as f32x4. */
@inline export function half4(p: usize, bf16: bool): v128 {
  const h = v128.load16x4_u(p);
  return bf16 ? i32x4.shl(h, 16) : f16x4(h);
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
