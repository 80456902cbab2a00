// The layout Q4 rows are held in (gemm/q4.ts): each row's blocks of 32 in groups of four; in a full
// group (64 bytes) the 4-byte unit u of block l (its canonical Q4_0 bytes 4u … 4u + 3) sits at
// 16u + 4l, a 4×4 transpose of the group's units; blocks past the last full group stay canonical.
// Vector u of a group holds unit u of all four blocks, so the decode product leaves block l's sums
// in lane l (q4.ts, q4GroupDot). Readers that need a block whole (the prefill panels, the
// dequantization, the scalar build) take it back with loadBlock4 / q4ByteOffset.

import { transpose4x4 } from '../simd';

/** Blocks of a k-wide row that lie in full groups (held transposed); the rest are canonical. */
@inline export function q4GroupedBlocks(k: i32): i32 {
  return (k >> 7) << 2;
}

/**
 * Canonical ↔ held layout of Q4 rows q [rows, k/2] (k a multiple of 32), in place: each full group of
 * four blocks transposed as a 4×4 matrix of 4-byte units. The permutation is its own inverse.
 */
export function interleaveRows4(q: usize, rows: i32, k: i32): void {
  const rowBytes = <usize>(k >> 1), groups = k >> 7;
  for (let r = 0; r < rows; r++) {
    const qr = q + <usize>r * rowBytes;
    for (let g = 0; g < groups; g++) {
      const p = qr + (<usize>g << 6);
      if (ASC_FEATURE_SIMD) {
        transpose4x4(p, 16, p, 16);
      } else {
        for (let u: usize = 0; u < 4; u++) {
          for (let l: usize = u + 1; l < 4; l++) {
            const a = p + (u << 4) + (l << 2), b = p + (l << 4) + (u << 2);
            const t = load<u32>(a);
            store<u32>(a, load<u32>(b));
            store<u32>(b, t);
          }
        }
      }
    }
  }
}

/** Byte offset, within a held row, of canonical byte i (< 16) of block b (`grouped` = q4GroupedBlocks(k)). */
@inline export function q4ByteOffset(b: i32, i: i32, grouped: i32): usize {
  return b < grouped ? (<usize>(b & ~3) << 4) + (<usize>(i >> 2) << 4) + (<usize>(b & 3) << 2) + <usize>(i & 3) : (<usize>b << 4) + <usize>i;
}

/** The canonical 16 bytes of block b of a held Q4 row at w (SIMD builds). */
@inline export function loadBlock4(w: usize, b: i32, grouped: i32): v128 {
  if (b >= grouped) return v128.load(w + (<usize>b << 4));
  const p = w + (<usize>(b & ~3) << 4) + (<usize>(b & 3) << 2);
  let v = v128.load32_zero(p);
  v = v128.load32_lane(p + 16, v, 1);
  v = v128.load32_lane(p + 32, v, 2);
  return v128.load32_lane(p + 48, v, 3);
}
