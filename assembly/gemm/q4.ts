// Q4 weights (llama.cpp's Q4_0 layout, held as two arrays, with an f32 scale): a weight matrix
// W [n, k] (k a multiple of 32) is 4-bit values wq [n, k/2] bytes (16 bytes per block of 32: byte i
// holds element i in its low nibble and element 16 + i in its high nibble, as Q4_0) and one f32
// scale per block, ws [n, k/32]: W[j, 32b + i] ≈ ws[j, b]·(q − 8), q ∈ [0, 15].
//
// Quantization is ggml's quantize_row_q4_0_ref in f32: mx = the first element of largest magnitude,
// d = mx / −8, id = 1/d, q = min(15, trunc(x·id + 8.5)) (round half up of x/d + 8; mx itself maps to
// q = 0, i.e. −8). The scale is kept as the f32 d the values were rounded with (Q4_0 stores it as
// f16), so dequantization uses exactly that d.
//
// The activations are Q8 (quantizeRows8, as for gemmQ8), so a product is
//   y[r, j] = Σ_b xs[r, b]·ws[j, b]·Σ_{i<32} xq[r, 32b + i]·(q[j, 32b + i] − 8) (+ bias[j]) (+ y)
// with each block's integer sum exact and scaled once per block. The SIMD builds compute it as
// Σ xq·q − 8·Σ xq, the correction once per row and block (shared by every column), so a column's
// block costs one load, two bit operations to unpack the nibbles and the dot products:
//   relaxed-SIMD: i16x8.relaxed_dot_i8x16_i7x16_s(xq, q): the second operand q is in [0, 15], so every
//     engine gives the same result (x86's pmaddubsw cannot saturate: 2·127·15 < 2¹⁵); the two halves
//     and the correction (the same dot against 8) are summed in i16 (|·| ≤ 4·127·15 + 4·127·8 < 2¹⁵),
//     then widened pairwise to i32.
//   SIMD: both operands widened to i16, i32x4.dot_i16x8_s.
//   scalar: plain loops.
//
// Work range: output columns. Columns [j0, j1) are this call on wq + j0·k/2, ws + j0·k/32, c + j0,
// bias + j0, n = j1 − j0; any split gives the same bits (as gemmQ8).
import { gather4, madd4 } from '../simd';
import { store1, store4 } from './epilogue';
import { hsum4x4i, hsumi } from './q8';
import { gemmQ8Packed, Q8_PACKED_M } from './q8-packed';

/**
 * x [rows, k] (rows ldx floats apart, k a multiple of 32) → q [rows, k/2] bytes (two 4-bit values per
 * byte, rows k/2 bytes apart) and scales [rows, k/32] f32, per block of 32 as ggml's Q4_0 (above).
 * A block of zeros gets d = 0 and q = 8; a block holding NaN or ±Infinity gets d = NaN and q = 8,
 * so every product that reads it is NaN.
 */
export function quantizeRows4(x: usize, ldx: i32, rows: i32, k: i32, q: usize, scales: usize): void {
  const blocks = k >> 5;
  const ldx4 = <usize>ldx << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * ldx4;
    const qr = q + <usize>r * <usize>(k >> 1);
    const sr = scales + (<usize>(r * blocks) << 2);
    for (let b = 0; b < blocks; b++) quantizeBlock4(xr + (<usize>b << 7), qr + (<usize>b << 4), sr + (<usize>b << 2));
  }
}

/** One 4-bit value: min(15, trunc(x·id + 8.5)), 0 when that is below 0 or NaN. */
@inline function nibble(x: f32, id: f32): i32 {
  const t: f32 = x * id + <f32>8.5;
  return t >= 15 ? 15 : t > 0 ? <i32>t : 0;
}

/** One block of 32 floats at x → 16 bytes at q and its scale at s. */
function quantizeBlock4(x: usize, q: usize, s: usize): void {
  let amax: f32 = 0, mx: f32 = 0, finite = true;
  for (let i: usize = 0; i < 128; i += 4) {
    const v = load<f32>(x + i);
    const a = abs<f32>(v);
    if (!(a < Infinity)) finite = false;
    if (amax < a) {
      amax = a;
      mx = v;
    }
  }
  const d: f32 = mx / <f32>-8;
  if (!finite || d == 0) {
    store<f32>(s, finite ? 0 : NaN);
    store<u64>(q, 0x8888888888888888);
    store<u64>(q, 0x8888888888888888, 8);
    return;
  }
  store<f32>(s, d);
  const id: f32 = <f32>1 / d;
  for (let i: usize = 0; i < 16; i++) {
    const lo = nibble(load<f32>(x + (i << 2)), id);
    const hi = nibble(load<f32>(x + (i << 2), 64), id);
    store<u8>(q + i, <u8>(lo | (hi << 4)));
  }
}

/**
 * y[r, j] (op)= Σ_b xs[r, b]·ws[j, b]·Σ_i xq[r, 32b + i]·(q[j, 32b + i] − 8) (+ bias[j]) for r < m, j < n:
 * x quantized by quantizeRows8 (xq [m, k] rows k bytes apart, xs [m, k/32]), W [n, k] in Q4
 * (wq rows k/2 bytes apart, ws [n, k/32]); y rows ldc floats apart; accumulate != 0: y += product.
 * scratch: gemmQ8ScratchBytes(m, n, k). From Q8_PACKED_M rows on (SIMD builds) the int16 panels of
 * q8-packed.ts; below, columns in tiles of 4 (each activation block prepared once per tile), then
 * one at a time; every column's float steps are gemmQ8's, on either path.
 */
export function gemmQ4(xq: usize, xs: usize, m: i32, wq: usize, ws: usize, c: usize, ldc: i32,
                       n: i32, k: i32, bias: usize, accumulate: i32, scratch: usize): void {
  if (m <= 0 || n <= 0) return;
  const addC = accumulate != 0;
  if (ASC_FEATURE_SIMD && m >= Q8_PACKED_M) {
    gemmQ8Packed(xq, xs, m, wq, ws, c, ldc, n, k, bias, addC, scratch, true);
    return;
  }
  const blocks = k >> 5;
  const ldx = <usize>k, ldw = <usize>(k >> 1), lds = <usize>blocks << 2, ldc4 = <usize>ldc << 2;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const wj = wq + <usize>j * ldw, sj = ws + <usize>j * lds;
    const bj: usize = bias ? bias + (<usize>j << 2) : 0;
    for (let r = 0; r < m; r++) {
      const cj = c + <usize>r * ldc4 + (<usize>j << 2);
      q4Row4(xq + <usize>r * ldx, xs + <usize>r * lds, wj, sj, ldw, lds, blocks, cj, bj, addC);
    }
  }
  for (; j < n; j++) {
    const wj = wq + <usize>j * ldw, sj = ws + <usize>j * lds;
    const bj: usize = bias ? bias + (<usize>j << 2) : 0;
    for (let r = 0; r < m; r++) {
      q4Row1(xq + <usize>r * ldx, xs + <usize>r * lds, wj, sj, blocks, c + <usize>r * ldc4 + (<usize>j << 2), bj, addC);
    }
  }
}

/**
 * Σ_{i<32} x[i]·(q[i] − 8) of one block as four int32 lanes. Relaxed: x0/x1 the int8 halves, corr the
 * i16 lanes of 8·Σx; SIMD: l0, h0, l1, h1 the halves widened to i16, corr the i32 lanes of 8·Σx.
 */
@inline function blockDot4(w: usize, x0: v128, x1: v128, l0: v128, h0: v128, l1: v128, h1: v128, corr: v128): v128 {
  const v = v128.load(w);
  if (ASC_FEATURE_RELAXED_SIMD) {
    // the high nibbles by a 16-bit shift (one instruction on x86; a byte shift is not) and a mask
    const mask = i8x16.splat(15);
    const lo = v128.and(v, mask), hi = v128.and(i16x8.shr_u(v, 4), mask);
    const p = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, lo), i16x8.relaxed_dot_i8x16_i7x16_s(x1, hi));
    return i32x4.extadd_pairwise_i16x8_s(i16x8.sub(p, corr));
  } else {
    // bytes widened to u16 first, then split into nibbles with 16-bit operations
    const mask = i16x8.splat(15);
    const vl = i16x8.extend_low_i8x16_u(v), vh = i16x8.extend_high_i8x16_u(v);
    const s0 = i32x4.add(i32x4.dot_i16x8_s(v128.and(vl, mask), l0), i32x4.dot_i16x8_s(v128.and(vh, mask), h0));
    const s1 = i32x4.add(i32x4.dot_i16x8_s(i16x8.shr_u(vl, 4), l1), i32x4.dot_i16x8_s(i16x8.shr_u(vh, 4), h1));
    return i32x4.sub(i32x4.add(s0, s1), corr);
  }
}

/** Scalar: Σ_{i<32} x[i]·(q[i] − 8). */
@inline function blockDot4Scalar(x: usize, w: usize): i32 {
  let s: i32 = 0;
  for (let i: usize = 0; i < 16; i++) {
    const v = <i32>load<u8>(w + i);
    s += <i32>load<i8>(x + i) * ((v & 15) - 8) + <i32>load<i8>(x + i, 16) * ((v >> 4) - 8);
  }
  return s;
}

/** Four columns j … j + 3 of one row: c[0:4] (op)= Σ_b xs[b]·ws[jj, b]·(block dot). */
function q4Row4(x: usize, xs: usize, w: usize, ws: usize, ldw: usize, lds: usize, blocks: i32, c: usize, bias: usize, addC: bool): void {
  const w1p = w + ldw, w2p = w1p + ldw, w3p = w2p + ldw;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      const xo = <usize>b << 5, wo = <usize>b << 4, so = <usize>b << 2;
      const x0 = v128.load(x + xo), x1 = v128.load(x + xo, 16);
      let l0 = x0, h0 = x0, l1 = x1, h1 = x1, corr = x0;
      if (ASC_FEATURE_RELAXED_SIMD) {
        const eight = i8x16.splat(8);
        corr = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, eight), i16x8.relaxed_dot_i8x16_i7x16_s(x1, eight));
      } else {
        l0 = i16x8.extend_low_i8x16_s(x0); h0 = i16x8.extend_high_i8x16_s(x0);
        l1 = i16x8.extend_low_i8x16_s(x1); h1 = i16x8.extend_high_i8x16_s(x1);
        const eight = i16x8.splat(8);
        corr = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(l0, eight), i32x4.dot_i16x8_s(h0, eight)), i32x4.add(i32x4.dot_i16x8_s(l1, eight), i32x4.dot_i16x8_s(h1, eight)));
      }
      const s = hsum4x4i(
        blockDot4(w + wo, x0, x1, l0, h0, l1, h1, corr), blockDot4(w1p + wo, x0, x1, l0, h0, l1, h1, corr),
        blockDot4(w2p + wo, x0, x1, l0, h0, l1, h1, corr), blockDot4(w3p + wo, x0, x1, l0, h0, l1, h1, corr),
      );
      acc = madd4(f32x4.convert_i32x4_s(s), f32x4.mul(f32x4.splat(load<f32>(xs + so)), gather4(ws, lds, so)), acc);
    }
    store4(c, acc, bias, addC);
  } else {
    const s1p = ws + lds, s2p = s1p + lds, s3p = s2p + lds;
    let acc0: f32 = 0, acc1: f32 = 0, acc2: f32 = 0, acc3: f32 = 0;
    for (let b = 0; b < blocks; b++) {
      const xo = <usize>b << 5, wo = <usize>b << 4, so = <usize>b << 2;
      const sx = load<f32>(xs + so), xb = x + xo;
      acc0 += <f32>blockDot4Scalar(xb, w + wo) * (sx * load<f32>(ws + so));
      acc1 += <f32>blockDot4Scalar(xb, w1p + wo) * (sx * load<f32>(s1p + so));
      acc2 += <f32>blockDot4Scalar(xb, w2p + wo) * (sx * load<f32>(s2p + so));
      acc3 += <f32>blockDot4Scalar(xb, w3p + wo) * (sx * load<f32>(s3p + so));
    }
    store1(c, acc0, bias, addC);
    store1(c + 4, acc1, bias ? bias + 4 : 0, addC);
    store1(c + 8, acc2, bias ? bias + 8 : 0, addC);
    store1(c + 12, acc3, bias ? bias + 12 : 0, addC);
  }
}

/** One column of one row: the same arithmetic as a column of q4Row4. */
function q4Row1(x: usize, xs: usize, w: usize, ws: usize, blocks: i32, c: usize, bias: usize, addC: bool): void {
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      const xo = <usize>b << 5, wo = <usize>b << 4, so = <usize>b << 2;
      const x0 = v128.load(x + xo), x1 = v128.load(x + xo, 16);
      let l0 = x0, h0 = x0, l1 = x1, h1 = x1, corr = x0;
      if (ASC_FEATURE_RELAXED_SIMD) {
        const eight = i8x16.splat(8);
        corr = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, eight), i16x8.relaxed_dot_i8x16_i7x16_s(x1, eight));
      } else {
        l0 = i16x8.extend_low_i8x16_s(x0); h0 = i16x8.extend_high_i8x16_s(x0);
        l1 = i16x8.extend_low_i8x16_s(x1); h1 = i16x8.extend_high_i8x16_s(x1);
        const eight = i16x8.splat(8);
        corr = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(l0, eight), i32x4.dot_i16x8_s(h0, eight)), i32x4.add(i32x4.dot_i16x8_s(l1, eight), i32x4.dot_i16x8_s(h1, eight)));
      }
      const s = <f32>hsumi(blockDot4(w + wo, x0, x1, l0, h0, l1, h1, corr));
      acc = madd4(f32x4.splat(s), f32x4.splat(load<f32>(xs + so) * load<f32>(ws + so)), acc);
    }
    store1(c, f32x4.extract_lane(acc, 0), bias, addC);
  } else {
    let acc: f32 = 0;
    for (let b = 0; b < blocks; b++) {
      const xo = <usize>b << 5, wo = <usize>b << 4, so = <usize>b << 2;
      acc += <f32>blockDot4Scalar(x + xo, w + wo) * (load<f32>(xs + so) * load<f32>(ws + so));
    }
    store1(c, acc, bias, addC);
  }
}
