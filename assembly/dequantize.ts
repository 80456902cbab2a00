// Dequantization of Q8 and Q4 rows (the layouts of gemm/q8.ts and gemm/q4-layout.ts) into f32: what the
// embedding gather reads when a table is held quantized. Per block b of 32 along k, scale d = s[b]:
//   Q8: out[32b + i] = d·q[32b + i]                       q int8 ∈ [−127, 127]
//   Q4: out[32b + i] = d·(lo(byte i) − 8), out[32b + 16 + i] = d·(hi(byte i) − 8)   16 bytes per block
// Each value is one f32 multiply of the scale by a small integer (exact in float64, so it equals the
// float64 product rounded once), so every build gives the same bits. A NaN scale gives NaN rows.
//
// Work range: rows. Rows are independent; [r0, r1) is this call on q + r0·rowBytes,
// scales + r0·k/32·4, out + r0·ldo·4.

import { loadBlock4, q4ByteOffset, q4GroupedBlocks } from './gemm/q4-layout';

/**
 * q [rows, k] int8 (rows k bytes apart, k a multiple of 32) and scales [rows, k/32] → out [rows, k]
 * f32 (rows ldo floats apart): out = scale·q per block of 32.
 */
export function dequantizeRows8(q: usize, scales: usize, rows: i32, k: i32, out: usize, ldo: i32): void {
  const blocks = k >> 5;
  for (let r = 0; r < rows; r++) {
    const qr = q + <usize>r * <usize>k;
    const sr = scales + (<usize>(r * blocks) << 2);
    const or = out + ((<usize>r * <usize>ldo) << 2);
    for (let b = 0; b < blocks; b++) {
      const d = load<f32>(sr + (<usize>b << 2));
      const qb = qr + (<usize>b << 5);
      const ob = or + (<usize>b << 7);
      if (ASC_FEATURE_SIMD) {
        const dv = f32x4.splat(d);
        for (let h = 0; h < 2; h++) {
          const bytes = v128.load(qb + (<usize>h << 4));
          const lo = i16x8.extend_low_i8x16_s(bytes);
          const hi = i16x8.extend_high_i8x16_s(bytes);
          const o = ob + (<usize>h << 6);
          v128.store(o, f32x4.mul(dv, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo))));
          v128.store(o, f32x4.mul(dv, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo))), 16);
          v128.store(o, f32x4.mul(dv, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi))), 32);
          v128.store(o, f32x4.mul(dv, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi))), 48);
        }
      } else {
        for (let i = 0; i < 32; i++) store<f32>(ob + (<usize>i << 2), d * <f32>load<i8>(qb + <usize>i));
      }
    }
  }
}

/**
 * q [rows, k/2] bytes of 4-bit pairs, held as gemm/q4-layout.ts says (rows k/2 bytes apart; byte i
 * of a block holds element i in its low nibble and 16 + i in its high one) and scales [rows, k/32] → out [rows, k] f32 (rows ldo
 * floats apart): out = scale·(q − 8) per block of 32.
 */
export function dequantizeRows4(q: usize, scales: usize, rows: i32, k: i32, out: usize, ldo: i32): void {
  const blocks = k >> 5, grouped = q4GroupedBlocks(k);
  for (let r = 0; r < rows; r++) {
    const qr = q + <usize>r * <usize>(k >> 1);
    const sr = scales + (<usize>(r * blocks) << 2);
    const or = out + ((<usize>r * <usize>ldo) << 2);
    for (let b = 0; b < blocks; b++) {
      const d = load<f32>(sr + (<usize>b << 2));
      const ob = or + (<usize>b << 7);
      if (ASC_FEATURE_SIMD) {
        const dv = f32x4.splat(d);
        const bytes = loadBlock4(qr, b, grouped);
        const eight = i8x16.splat(8);
        // elements 0…15 (low nibbles), then 16…31 (high nibbles), each as q − 8 ∈ [−8, 7]
        const low = i8x16.sub(v128.and(bytes, i8x16.splat(0x0f)), eight);
        const high = i8x16.sub(i8x16.shr_u(bytes, 4), eight);
        for (let h = 0; h < 2; h++) {
          const v = h == 0 ? low : high;
          const a = i16x8.extend_low_i8x16_s(v);
          const c = i16x8.extend_high_i8x16_s(v);
          const o = ob + (<usize>h << 6);
          v128.store(o, f32x4.mul(dv, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(a))));
          v128.store(o, f32x4.mul(dv, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(a))), 16);
          v128.store(o, f32x4.mul(dv, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(c))), 32);
          v128.store(o, f32x4.mul(dv, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(c))), 48);
        }
      } else {
        for (let i = 0; i < 16; i++) {
          const byte = <i32>load<u8>(qr + q4ByteOffset(b, i, grouped));
          store<f32>(ob + (<usize>i << 2), d * <f32>((byte & 15) - 8));
          store<f32>(ob + (<usize>(16 + i) << 2), d * <f32>((byte >> 4) - 8));
        }
      }
    }
  }
}
