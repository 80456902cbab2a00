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
import { madd4 } from '../simd';
import { store1 } from './epilogue';
import { hsum4x4i, reduceLanes, tailScales } from './q8';
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
 * q8-packed.ts; below, each row of x prepared once (prepRowsQ4) and one weight row at a time; every
 * output's float steps are gemmQ8's, on either path.
 */
export function gemmQ4(xq: usize, xs: usize, m: i32, wq: usize, ws: usize, c: usize, ldc: i32,
                       n: i32, k: i32, bias: usize, accumulate: i32, scratch: usize): void {
  if (m <= 0 || n <= 0) return;
  const addC = accumulate != 0;
  const blocks = k >> 5;
  const ldx = <usize>k, ldw = <usize>(k >> 1), lds = <usize>blocks << 2, ldc4 = <usize>ldc << 2;
  if (ASC_FEATURE_SIMD) {
    if (m >= Q8_PACKED_M) {
      gemmQ8Packed(xq, xs, m, wq, ws, c, ldc, n, k, bias, addC, scratch, true);
      return;
    }
    prepRowsQ4(xq, m * k, scratch);
    for (let j = 0; j < n; j++) {
      const wj = wq + <usize>j * ldw, sj = ws + <usize>j * lds, cj = c + (<usize>j << 2);
      const bj: usize = bias ? bias + (<usize>j << 2) : 0;
      for (let r = 0; r < m; r++) q4Column(scratch + (<usize>r * ldx << 1), xs + <usize>r * lds, wj, sj, blocks, cj + <usize>r * ldc4, bj, addC);
    }
    return;
  }
  for (let j = 0; j < n; j++) {
    const wj = wq + <usize>j * ldw, sj = ws + <usize>j * lds;
    const bj: usize = bias ? bias + (<usize>j << 2) : 0;
    for (let r = 0; r < m; r++) {
      let acc: f32 = 0;
      const x = xq + <usize>r * ldx, sx = xs + <usize>r * lds;
      for (let b = 0; b < blocks; b++) {
        const so = <usize>b << 2;
        acc += <f32>blockDot4Scalar(x + (<usize>b << 5), wj + (<usize>b << 4)) * (load<f32>(sx + so) * load<f32>(sj + so));
      }
      store1(c + <usize>r * ldc4 + (<usize>j << 2), acc, bj, addC);
    }
  }
}

/**
 * count int8 of x (a multiple of 32) → 64 bytes per block of 32 at dst, the forms q4Column reads:
 * relaxed SIMD x0, x1 (the block's halves), then the i16 lanes of 8·(x0 + x1) pair sums (the
 * correction of q − 8, |·| ≤ 4·127·8 < 2¹⁵) and 16 unused bytes; SIMD x widened to int16.
 */
function prepRowsQ4(x: usize, count: i32, dst: usize): void {
  for (let i: usize = 0, end = <usize>count; i < end; i += 32) {
    const x0 = v128.load(x + i), x1 = v128.load(x + i, 16), d = dst + (i << 1);
    if (ASC_FEATURE_RELAXED_SIMD) {
      const eight = i8x16.splat(8);
      v128.store(d, x0); v128.store(d, x1, 16);
      v128.store(d, i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, eight), i16x8.relaxed_dot_i8x16_i7x16_s(x1, eight)), 32);
      v128.store(d, i32x4.splat(0), 48);
    } else {
      v128.store(d, i16x8.extend_low_i8x16_s(x0)); v128.store(d, i16x8.extend_high_i8x16_s(x0), 16);
      v128.store(d, i16x8.extend_low_i8x16_s(x1), 32); v128.store(d, i16x8.extend_high_i8x16_s(x1), 48);
    }
  }
}

/** Σ_{i<32} x[i]·(q[i] − 8) of one block as four int32 lanes, x prepared by prepRowsQ4 at p. */
@inline function blockDot4(w: usize, p: usize, ones: v128): v128 {
  const v = v128.load(w);
  if (ASC_FEATURE_RELAXED_SIMD) {
    // the high nibbles by a 16-bit shift (one instruction on x86; a byte shift is not) and a mask;
    // relaxed_dot(x, q) with q ∈ [0, 15] is exact on every engine; the halves and the correction
    // summed in i16 (|·| ≤ 4·127·15 + 4·127·8 < 2¹⁵), then widened pairwise to i32
    const mask = i8x16.splat(15);
    const lo = v128.and(v, mask), hi = v128.and(i16x8.shr_u(v, 4), mask);
    const s = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(p), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(p, 16), hi));
    return i32x4.dot_i16x8_s(i16x8.sub(s, v128.load(p, 32)), ones); // the pairs widened (ones: see q8.ts blockDot)
  } else {
    // bytes widened to u16, split into nibbles with 16-bit operations, minus 8
    const mask = i16x8.splat(15), eight = i16x8.splat(8);
    const vl = i16x8.extend_low_i8x16_u(v), vh = i16x8.extend_high_i8x16_u(v);
    const s0 = i32x4.add(i32x4.dot_i16x8_s(i16x8.sub(v128.and(vl, mask), eight), v128.load(p)), i32x4.dot_i16x8_s(i16x8.sub(v128.and(vh, mask), eight), v128.load(p, 16)));
    const s1 = i32x4.add(i32x4.dot_i16x8_s(i16x8.sub(i16x8.shr_u(vl, 4), eight), v128.load(p, 32)), i32x4.dot_i16x8_s(i16x8.sub(i16x8.shr_u(vh, 4), eight), v128.load(p, 48)));
    return i32x4.add(s0, s1);
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

/** One output: row x (prepared; scales xs) · Q4 weight row w (scales ws), four blocks per step into the lanes, as q8Column. */
function q4Column(x: usize, xs: usize, w: usize, ws: usize, blocks: i32, c: usize, bias: usize, addC: bool): void {
  let acc = f32x4.splat(0);
  const ones = i16x8.splat(1);
  let b = 0;
  for (; b + 4 <= blocks; b += 4) {
    const o = <usize>b << 4, p = x + (<usize>b << 6), so = <usize>b << 2;
    const s = hsum4x4i(blockDot4(w + o, p, ones), blockDot4(w + o + 16, p + 64, ones), blockDot4(w + o + 32, p + 128, ones), blockDot4(w + o + 48, p + 192, ones));
    acc = madd4(f32x4.convert_i32x4_s(s), f32x4.mul(v128.load(xs + so), v128.load(ws + so)), acc);
  }
  if (b < blocks) {
    // lanes past the last block get a finite sum and a zero scale (tailScales)
    const left = blocks - b;
    const o = <usize>b << 4, p = x + (<usize>b << 6), so = <usize>b << 2;
    const d0 = blockDot4(w + o, p, ones), d1 = left > 1 ? blockDot4(w + o + 16, p + 64, ones) : d0;
    const s = hsum4x4i(d0, d1, left > 2 ? blockDot4(w + o + 32, p + 128, ones) : d0, d0);
    acc = madd4(f32x4.convert_i32x4_s(s), tailScales(xs + so, ws + so, left), acc);
  }
  store1(c, reduceLanes(acc), bias, addC);
}
