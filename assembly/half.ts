// IEEE 754 half precision (binary16) ↔ f32, exact one way and rounded to nearest even the other.
// One copy for every kernel family that stores or reads halves (KV caches, f16 weights).
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
  const h = v128.load16x4_u(p);
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
