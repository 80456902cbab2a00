// The many-rows path of gemmQ8 and gemmQ4 (prefill, encoders): int16 panels and a 4×8 register tile.
//
// Both operands are int16: the weights widened once per row block into a panel, the activations as
// quantizeRows16 made them (Q8) or widened from int8 per row block (Q4), so the inner step is
// i32x4.dot_i16x8_s, exact and the same on every engine (no relaxed operand ranges, no tier
// differences), and it is a plain-SIMD instruction: the SIMD and relaxed-SIMD builds run the same
// integer code.
//
// Panel (8 columns j0 … j0 + 7, all of k): for each pair of k, p < k/2, 32 bytes: columns j0 … j0 + 3,
// then j0 + 4 … j0 + 7, each column as two int16 (W[j, 2p], W[j, 2p + 1]); columns past n are zeros.
// Then the 8 columns' scales per block, [k/32][8] f32 (zeros past n). Activations: int16 rows [rows, k].
// One step of the 4×8 tile broadcasts a pair of one row's activations to four lanes (one 32-bit load)
// and takes dot_i16x8_s with a panel vector: each i32 lane gets x[2p]·W[j, 2p] + x[2p + 1]·W[j, 2p + 1],
// so sixteen steps give the block's exact sum for four columns in one i32x4 (|Σ| ≤ 32·4095·127 < 2²⁴).
// Per block and four columns: one convert, one f32x4 of the four scales × the row's scale, one
// multiply-add into the accumulator of the block's lane l = b mod 4 (four per row and column group,
// in the scratch):
//   acc[l][j] ← acc[l][j] + f32(S_b[j])·(xs[b]·ws[j, b]),  y = ((acc[0] + acc[2]) + (acc[1] + acc[3])) (+ y) (+ bias)
// which is exactly what the few-rows path (q8.ts, q4.ts) computes for every output, so a row gives
// the same bits on either path, alone or in any batch, and any column split gives the same bits.
//
// Loops: row blocks of Q8_MC rows (their int16 rows, 2·Q8_MC·k bytes, stay in L2), in each the
// 8-column panels one at a time (16·k bytes, in L1 while the row tiles pass over it): a panel is
// packed ⌈m/Q8_MC⌉ times, its cost shared by up to Q8_MC rows.
import { madd4, storeTranspose4x4 } from '../simd';
import { storeRow8 } from './epilogue';
import { loadBlock4, q4GroupedBlocks } from './q4-layout';

/** From this many rows on, gemmQ8 and gemmQ4 (SIMD builds) pack int16 panels: fewer rows read the weights in place. */
export const Q8_PACKED_M: i32 = 8;
/** Rows per row block of the packed path (their int16 copy is 2·Q8_MC·k bytes). */
export const Q8_MC: i32 = 128;
/** Columns per panel. */
const PANEL: i32 = 8;

/** Scratch bytes of the packed path (m ≥ Q8_PACKED_M, SIMD builds): accumulators, int16 activations (Q4's, widened), panel, scales. */
export function q8ScratchBytes(m: i32, k: i32): i32 {
  if (!ASC_FEATURE_SIMD || m < Q8_PACKED_M) return 0;
  const rows = m < Q8_MC ? m : Q8_MC;
  return ACC_BYTES + 2 * rows * k + 16 * k + k;
}

/**
 * y[m, n] (op)= Σ_b xs·ws·(exact block sum) (+ bias) over W's rows in Q8 (q4 = false: int8 rows k
 * bytes apart; xq int16 rows 2k bytes apart) or Q4 (q4 = true: 4-bit rows k/2 bytes apart, value
 * q − 8; xq int8 rows k bytes apart); scratch: q8ScratchBytes(m, k).
 */
export function gemmQ8Packed(xq: usize, xs: usize, m: i32, wq: usize, ws: usize, c: usize, ldc: i32,
                             n: i32, k: i32, bias: usize, addC: bool, scratch: usize, q4: bool): void {
  const blocks = k >> 5;
  const ldx2 = <usize>k << 1, lds = <usize>blocks << 2, ldc4 = <usize>ldc << 2;
  const ldw: usize = q4 ? <usize>(k >> 1) : <usize>k;
  const rowsMax = m < Q8_MC ? m : Q8_MC;
  const acc = scratch, x16 = acc + ACC_BYTES, panel = x16 + <usize>rowsMax * ldx2, scales = panel + (<usize>k << 4);
  let touch: u32 = 0;
  for (let r0 = 0; r0 < m; r0 += Q8_MC) {
    const rows = m - r0 < Q8_MC ? m - r0 : Q8_MC;
    const xr = q4 ? x16 : xq + <usize>r0 * ldx2;
    if (q4) widenRows(xq + <usize>r0 * <usize>k, rows * k, x16);
    const xsr = xs + <usize>r0 * lds, cr = c + <usize>r0 * ldc4;
    for (let j0 = 0; j0 < n; j0 += PANEL) {
      const nv = n - j0 < PANEL ? n - j0 : PANEL;
      if (j0 + PANEL < n) touch += touchPanel(wq + <usize>(j0 + PANEL) * ldw, ldw, min<i32>(PANEL, n - j0 - PANEL));
      if (q4) packPanelQ4(wq + <usize>j0 * ldw, ldw, ws + <usize>j0 * lds, lds, nv, blocks, panel, scales);
      else packPanelQ8(wq + <usize>j0 * ldw, ldw, ws + <usize>j0 * lds, lds, nv, blocks, panel, scales);
      const cj = cr + (<usize>j0 << 2);
      const bj: usize = bias ? bias + (<usize>j0 << 2) : 0;
      let r = 0;
      for (; r + 4 <= rows; r += 4) {
        tile4x8(xr + <usize>r * ldx2, ldx2, xsr + <usize>r * lds, lds, panel, scales, blocks, acc, cj + <usize>r * ldc4, ldc4, nv, bj, addC);
      }
      for (; r < rows; r++) tile1x8(xr + <usize>r * ldx2, xsr + <usize>r * lds, panel, scales, blocks, acc, cj + <usize>r * ldc4, nv, bj, addC);
    }
  }
  store<u32>(acc, touch);
}

/**
 * One byte of every 64-byte line of the next panel's weight rows, read while this panel is packed:
 * the loads start those lines' transfers from memory early (Wasm has no prefetch instruction), where
 * the packing itself reads the rows 32 bytes at a time across eight rows. Returns their sum (kept,
 * so the loads are not dropped).
 */
function touchPanel(w: usize, ldw: usize, nv: i32): u32 {
  let t: u32 = 0;
  const end = w + <usize>nv * ldw;
  for (let p = w; p < end; p += 64) t += load<u8>(p);
  return t;
}

/** count int8 at q (a multiple of 32) → int16 at dst. */
function widenRows(q: usize, count: i32, dst: usize): void {
  for (let i: usize = 0, end = <usize>count; i < end; i += 16) {
    const v = v128.load(q + i);
    v128.store(dst + (i << 1), i16x8.extend_low_i8x16_s(v));
    v128.store(dst + (i << 1), i16x8.extend_high_i8x16_s(v), 16);
  }
}

/**
 * One block (32 values, int8 halves lo = values 0…15, hi = 16…31) of four columns → its 16 pairs of
 * panel vectors at dst (32 bytes apart): each column's int16 vector holds 4 pairs as i32 lanes, so the
 * 4×4 transpose of four columns' vectors gives the panel vectors [a_p, b_p, c_p, d_p] of pairs p … p + 3.
 */
@inline function storeBlock4(dst: usize, lo0: v128, hi0: v128, lo1: v128, hi1: v128, lo2: v128, hi2: v128, lo3: v128, hi3: v128): void {
  storeTranspose4x4(i16x8.extend_low_i8x16_s(lo0), i16x8.extend_low_i8x16_s(lo1), i16x8.extend_low_i8x16_s(lo2), i16x8.extend_low_i8x16_s(lo3), dst, 32);
  storeTranspose4x4(i16x8.extend_high_i8x16_s(lo0), i16x8.extend_high_i8x16_s(lo1), i16x8.extend_high_i8x16_s(lo2), i16x8.extend_high_i8x16_s(lo3), dst + 128, 32);
  storeTranspose4x4(i16x8.extend_low_i8x16_s(hi0), i16x8.extend_low_i8x16_s(hi1), i16x8.extend_low_i8x16_s(hi2), i16x8.extend_low_i8x16_s(hi3), dst + 256, 32);
  storeTranspose4x4(i16x8.extend_high_i8x16_s(hi0), i16x8.extend_high_i8x16_s(hi1), i16x8.extend_high_i8x16_s(hi2), i16x8.extend_high_i8x16_s(hi3), dst + 384, 32);
}

/** The scales of block b of the panel's columns: [8] f32 at dst, zeros past nv. */
@inline function packScales(ws: usize, lds: usize, nv: i32, so: usize, dst: usize): void {
  for (let j = 0; j < PANEL; j++) store<f32>(dst + (<usize>j << 2), j < nv ? load<f32>(ws + <usize>j * lds + so) : 0);
}

/** Q8 columns (int8 rows ldw bytes apart, nv ≤ 8 of them) → the panel and its scales. */
function packPanelQ8(w: usize, ldw: usize, ws: usize, lds: usize, nv: i32, blocks: i32, panel: usize, scales: usize): void {
  const zero = i32x4.splat(0);
  for (let b = 0; b < blocks; b++) {
    const o = <usize>b << 5;
    for (let g = 0; g < 2; g++) {
      const j = g << 2;
      const c0 = w + <usize>j * ldw + o, c1 = c0 + ldw, c2 = c1 + ldw, c3 = c2 + ldw;
      const lo0 = j < nv ? v128.load(c0) : zero, hi0 = j < nv ? v128.load(c0, 16) : zero;
      const lo1 = j + 1 < nv ? v128.load(c1) : zero, hi1 = j + 1 < nv ? v128.load(c1, 16) : zero;
      const lo2 = j + 2 < nv ? v128.load(c2) : zero, hi2 = j + 2 < nv ? v128.load(c2, 16) : zero;
      const lo3 = j + 3 < nv ? v128.load(c3) : zero, hi3 = j + 3 < nv ? v128.load(c3, 16) : zero;
      storeBlock4(panel + (<usize>b << 9) + (<usize>g << 4), lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3);
    }
    packScales(ws, lds, nv, <usize>b << 2, scales + (<usize>b << 5));
  }
}

/** Q4 columns (held rows, q4-layout.ts; a block's byte i: value i in the low nibble, 16 + i in the high one, minus 8) → the panel and its scales. */
function packPanelQ4(w: usize, ldw: usize, ws: usize, lds: usize, nv: i32, blocks: i32, panel: usize, scales: usize): void {
  const eight = i8x16.splat(8), mask = i8x16.splat(15), pad = i8x16.splat(<i8>0x88);
  const grouped = q4GroupedBlocks(blocks << 5);
  for (let b = 0; b < blocks; b++) {
    for (let g = 0; g < 2; g++) {
      const j = g << 2;
      const c0 = w + <usize>j * ldw, c1 = c0 + ldw, c2 = c1 + ldw, c3 = c2 + ldw;
      // each column's block in canonical order (q4-layout.ts); a missing column reads as nibbles 8 (value 0)
      const v0 = j < nv ? loadBlock4(c0, b, grouped) : pad, v1 = j + 1 < nv ? loadBlock4(c1, b, grouped) : pad;
      const v2 = j + 2 < nv ? loadBlock4(c2, b, grouped) : pad, v3 = j + 3 < nv ? loadBlock4(c3, b, grouped) : pad;
      storeBlock4(panel + (<usize>b << 9) + (<usize>g << 4),
        i8x16.sub(v128.and(v0, mask), eight), i8x16.sub(v128.and(i16x8.shr_u(v0, 4), mask), eight),
        i8x16.sub(v128.and(v1, mask), eight), i8x16.sub(v128.and(i16x8.shr_u(v1, 4), mask), eight),
        i8x16.sub(v128.and(v2, mask), eight), i8x16.sub(v128.and(i16x8.shr_u(v2, 4), mask), eight),
        i8x16.sub(v128.and(v3, mask), eight), i8x16.sub(v128.and(i16x8.shr_u(v3, 4), mask), eight));
    }
    packScales(ws, lds, nv, <usize>b << 2, scales + (<usize>b << 5));
  }
}

/** The tile's f32 accumulators, in the scratch: [row < 4][column group < 2][block mod 4] f32x4 (columns in the lanes). */
const ACC_BYTES: i32 = 512;

/** acc[(r·2 + g)·4 + l] += f32(s)·(xs·ws4): one block (l = its index mod 4) of row r and four columns. */
@inline function scaleBlock(acc: usize, s: v128, ws4: v128, xs: f32): void {
  v128.store(acc, madd4(f32x4.convert_i32x4_s(s), f32x4.mul(f32x4.splat(xs), ws4), v128.load(acc)));
}

/** Row r's two column groups, their four block lanes reduced as every output is ((l0 + l2) + (l1 + l3)), → C. */
@inline function storeRow(acc: usize, c: usize, nv: i32, bias: usize, addC: bool): void {
  const g0 = f32x4.add(f32x4.add(v128.load(acc), v128.load(acc, 32)), f32x4.add(v128.load(acc, 16), v128.load(acc, 48)));
  const g1 = f32x4.add(f32x4.add(v128.load(acc, 64), v128.load(acc, 96)), f32x4.add(v128.load(acc, 80), v128.load(acc, 112)));
  storeRow8(c, g0, g1, nv, bias, addC);
}

/** rows·128 bytes of accumulators = 0. */
@inline function clearAcc(acc: usize, rows: i32): void {
  const zero = f32x4.splat(0);
  for (let i: usize = 0, end = <usize>rows << 7; i < end; i += 16) v128.store(acc + i, zero);
}

/** Rows r … r + 3 (int16 rows ldx2 bytes apart, scales lds apart) × the panel's 8 columns → C (nv valid columns). */
function tile4x8(x: usize, ldx2: usize, xs: usize, lds: usize, panel: usize, scales: usize, blocks: i32,
                 acc: usize, c: usize, ldc4: usize, nv: i32, bias: usize, addC: bool): void {
  const x1 = x + ldx2, x2 = x1 + ldx2, x3 = x2 + ldx2;
  clearAcc(acc, 4);
  let p = panel;
  for (let b = 0; b < blocks; b++) {
    const xo = <usize>b << 6;
    let s00 = i32x4.splat(0), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    // 16 pairs of k, one per step; xo + t: the pair's 4 bytes in each int16 row. (One pair per
    // iteration: unrolled by 2 or more, V8 spilled accumulators and the tile ran 15–40% slower.)
    for (let t: usize = 0; t < 64; t += 4) {
      const w0 = v128.load(p), w1 = v128.load(p, 16);
      let v = v128.load32_splat(x + xo + t);
      s00 = i32x4.add(s00, i32x4.dot_i16x8_s(v, w0)); s01 = i32x4.add(s01, i32x4.dot_i16x8_s(v, w1));
      v = v128.load32_splat(x1 + xo + t);
      s10 = i32x4.add(s10, i32x4.dot_i16x8_s(v, w0)); s11 = i32x4.add(s11, i32x4.dot_i16x8_s(v, w1));
      v = v128.load32_splat(x2 + xo + t);
      s20 = i32x4.add(s20, i32x4.dot_i16x8_s(v, w0)); s21 = i32x4.add(s21, i32x4.dot_i16x8_s(v, w1));
      v = v128.load32_splat(x3 + xo + t);
      s30 = i32x4.add(s30, i32x4.dot_i16x8_s(v, w0)); s31 = i32x4.add(s31, i32x4.dot_i16x8_s(v, w1));
      p += 32;
    }
    const so = <usize>b << 2, sp = scales + (<usize>b << 5), a = acc + (<usize>(b & 3) << 4);
    const w0 = v128.load(sp), w1 = v128.load(sp, 16);
    let sx = load<f32>(xs + so);
    scaleBlock(a, s00, w0, sx); scaleBlock(a + 64, s01, w1, sx);
    sx = load<f32>(xs + lds + so);
    scaleBlock(a + 128, s10, w0, sx); scaleBlock(a + 192, s11, w1, sx);
    sx = load<f32>(xs + (lds << 1) + so);
    scaleBlock(a + 256, s20, w0, sx); scaleBlock(a + 320, s21, w1, sx);
    sx = load<f32>(xs + lds * 3 + so);
    scaleBlock(a + 384, s30, w0, sx); scaleBlock(a + 448, s31, w1, sx);
  }
  storeRow(acc, c, nv, bias, addC);
  storeRow(acc + 128, c + ldc4, nv, bias, addC);
  storeRow(acc + 256, c + (ldc4 << 1), nv, bias, addC);
  storeRow(acc + 384, c + ldc4 * 3, nv, bias, addC);
}

/** One row × the panel's 8 columns: the same arithmetic as a row of tile4x8. */
function tile1x8(x: usize, xs: usize, panel: usize, scales: usize, blocks: i32, acc: usize, c: usize, nv: i32, bias: usize, addC: bool): void {
  clearAcc(acc, 1);
  let p = panel;
  for (let b = 0; b < blocks; b++) {
    const xo = <usize>b << 6;
    let s0 = i32x4.splat(0), s1 = s0;
    for (let t: usize = 0; t < 64; t += 4) {
      const v = v128.load32_splat(x + xo + t);
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v, v128.load(p)));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v, v128.load(p, 16)));
      p += 32;
    }
    const sp = scales + (<usize>b << 5), sx = load<f32>(xs + (<usize>b << 2)), a = acc + (<usize>(b & 3) << 4);
    scaleBlock(a, s0, v128.load(sp), sx);
    scaleBlock(a + 64, s1, v128.load(sp, 16), sx);
  }
  storeRow(acc, c, nv, bias, addC);
}
