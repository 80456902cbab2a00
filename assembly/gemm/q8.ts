// Q8 weights (llama.cpp's Q8_0 layout, held as two arrays): a weight matrix W [n, k] is int8 rows
// wq [n, k] (k a multiple of 32) and one f32 scale per block of 32 along k, ws [n, k/32]:
// W[j, 32b + i] ≈ ws[j, b]·wq[j, 32b + i], scale = max|block|/127, q = round(w/scale) ∈ [−127, 127].
//
// The activations are quantized per block at run time to 13-bit integers (quantizeRows16, int16 in
// [−4095, 4095]), so a product is
//   y[r, j] = Σ_b xs[r, b]·ws[j, b]·Σ_{i<32} xq[r, 32b + i]·wq[j, 32b + i] (+ bias[j]) (+ y)
// with each block's integer sum exact in int32 (|Σ| ≤ 32·4095·127 < 2²⁴, so its f32 is exact too) and
// scaled once per block. (llama.cpp rounds Q8_0 activations to int8; here that rounding moved a
// model's next-token distributions 2–5× more than the weights' own, for no speed: the int8 operands
// widen to int16 for the multiplies either way.)
//
// Two paths, the same arithmetic. Few rows (m < Q8_PACKED_M: decode steps): the weights read in
// place, one weight row at a time, against each row of x. Many rows (prefill, encoders; SIMD builds):
// int16 panels and a 4×8 register tile (q8-packed.ts).
//
// Integer dot products of the few-rows path (SIMD builds): each 16 weights are loaded once and their
// int16 lanes (byte pairs w[2i] + 256·w[2i+1]) split without sign extension: lane << 8 = 256·w[2i],
// lane & 0xFF00 = 256·w[2i+1]; i32x4.dot_i16x8_s takes them with x rearranged by parity (the 8 even
// then the 8 odd entries of each 16, splitParity, once per call into the scratch). Every lane's sum of
// a block is 256·(8 products) with |·| ≤ 256·8·127·4095 < 2³¹ and shifts back exactly (shr_s 8) before
// the lanes are added. (Widening with v128.load8x8_s cost a load-and-extend per 8 weights: 25–40% slower.)
// Scalar: plain loops. Every build and path
// computes the same integer block sums S_b. The float steps (SIMD builds: four lanes, lane l taking
// blocks b ≡ l mod 4, acc[l] += f32(S_b)·(xs·ws), then (l0 + l2) + (l1 + l3); scalar: one sum in block
// order) differ between builds only by the multiply-add (relaxed_madd).
//
// Work range: output columns. Columns [j0, j1) are this call on wq + j0·k, ws + j0·k/32,
// c + j0, bias + j0, n = j1 − j0; each output's arithmetic is the same wherever its column and row
// fall, so any split of the columns (threads) or of the rows (batches) gives the same bits. The
// caller quantizes x once (quantizeRows16) and every thread reads it; each call has its own scratch
// (gemmQ8ScratchBytes: a slot for the block sums and x by parity, or the panels).
import { madd4 } from '../simd';
import { store1 } from './epilogue';
import { gemmQ8Packed, Q8_PACKED_M, q8ScratchBytes } from './q8-packed';

/** Elements per quantization block along k. */
export const QBLOCK: i32 = 32;

/**
 * x [rows, k] (rows ldx floats apart, k a multiple of 32) → q [rows, k] int8 (rows k bytes apart)
 * and scales [rows, k/32] f32, per block of 32: d = max|x|/127, q = round-half-even(x/d) clamped to [−127, 127].
 * A block of zeros gets d = 0 and q = 0; a block holding NaN or ±Infinity gets d = NaN and q = 0,
 * so every product that reads it is NaN. (The activations of Q4 products, and Q8 weights at load.)
 */
export function quantizeRows8(x: usize, ldx: i32, rows: i32, k: i32, q: usize, scales: usize): void {
  quantizeRows(x, ldx, rows, k, q, scales, false);
}

/**
 * The activations of Q8 products: x [rows, k] → q [rows, k] int16 (rows 2k bytes apart) in
 * [−X16_MAX, X16_MAX] and scales [rows, k/32], per block of 32: d = max|x|/X16_MAX,
 * q = round-half-even(x/d) clamped; zeros and NaN / ±Infinity as quantizeRows8.
 */
export function quantizeRows16(x: usize, ldx: i32, rows: i32, k: i32, q: usize, scales: usize): void {
  quantizeRows(x, ldx, rows, k, q, scales, true);
}

/**
 * Largest activation level of Q8 products (13 bits): a block's integer sum stays below 2²⁴
 * (32·4095·127 = 16,642,080), so it converts to f32 exactly, and each activation's rounding is
 * 1/8190 of its block's largest value (int8 activations: 1/254, as large as the weights' own).
 */
export const X16_MAX: i32 = 4095;

@inline function quantizeRows(x: usize, ldx: i32, rows: i32, k: i32, q: usize, scales: usize, wide: bool): void {
  const blocks = k >> 5;
  const ldx4 = <usize>ldx << 2;
  const ldq: usize = wide ? <usize>k << 1 : <usize>k;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * ldx4;
    const qr = q + <usize>r * ldq;
    const sr = scales + (<usize>(r * blocks) << 2);
    for (let b = 0; b < blocks; b++) quantizeBlock(xr + (<usize>b << 7), qr + (<usize>b << (wide ? 6 : 5)), sr + (<usize>b << 2), wide);
  }
}

/** One block of 32 floats at x → 32 int8 (wide: int16 in [−X16_MAX, X16_MAX]) at q and its scale at s. */
@inline function quantizeBlock(x: usize, q: usize, s: usize, wide: bool): void {
  const levels: f32 = wide ? <f32>X16_MAX : 127;
  if (ASC_FEATURE_SIMD) {
    const v0 = v128.load(x), v1 = v128.load(x, 16), v2 = v128.load(x, 32), v3 = v128.load(x, 48);
    const v4 = v128.load(x, 64), v5 = v128.load(x, 80), v6 = v128.load(x, 96), v7 = v128.load(x, 112);
    // |x| as int32 bits orders like the magnitudes, and every NaN's bits lie above +Infinity's, so
    // the integer max is max|x| with a NaN winning (one instruction; f32x4.max is several on x86)
    const noSign = i32x4.splat(0x7fffffff);
    let m = i32x4.max_s(
      i32x4.max_s(i32x4.max_s(v128.and(v0, noSign), v128.and(v1, noSign)), i32x4.max_s(v128.and(v2, noSign), v128.and(v3, noSign))),
      i32x4.max_s(i32x4.max_s(v128.and(v4, noSign), v128.and(v5, noSign)), i32x4.max_s(v128.and(v6, noSign), v128.and(v7, noSign))),
    );
    m = i32x4.max_s(m, v128.shuffle<i32>(m, m, 2, 3, 0, 1));
    m = i32x4.max_s(m, v128.shuffle<i32>(m, m, 1, 0, 3, 2));
    const amax = reinterpret<f32>(i32x4.extract_lane(m, 0));
    const d: f32 = amax / levels;
    if (!(d < Infinity) || d == 0) {
      // NaN / ±Infinity (d = NaN) or all zeros (d = 0): q = 0
      store<f32>(s, d == 0 ? 0 : NaN);
      v128.store(q, i32x4.splat(0));
      v128.store(q, i32x4.splat(0), 16);
      if (wide) {
        v128.store(q, i32x4.splat(0), 32);
        v128.store(q, i32x4.splat(0), 48);
      }
      return;
    }
    store<f32>(s, d);
    const dv = f32x4.splat(d);
    // round-half-even(x/d) as an int32: x/d + 1.5·2²³ lies in [2²³, 2²⁴) (|x/d| < 2²²), where the
    // float sum rounds to the nearest integer, ties to even, and that integer is its low bits
    const magic = f32x4.splat(12582912), bits = i32x4.splat(0x4b400000);
    const q0 = i32x4.sub(f32x4.add(f32x4.div(v0, dv), magic), bits);
    const q1 = i32x4.sub(f32x4.add(f32x4.div(v1, dv), magic), bits);
    const q2 = i32x4.sub(f32x4.add(f32x4.div(v2, dv), magic), bits);
    const q3 = i32x4.sub(f32x4.add(f32x4.div(v3, dv), magic), bits);
    const q4 = i32x4.sub(f32x4.add(f32x4.div(v4, dv), magic), bits);
    const q5 = i32x4.sub(f32x4.add(f32x4.div(v5, dv), magic), bits);
    const q6 = i32x4.sub(f32x4.add(f32x4.div(v6, dv), magic), bits);
    const q7 = i32x4.sub(f32x4.add(f32x4.div(v7, dv), magic), bits);
    if (wide) {
      // clamped on both sides (a subnormal d can push x/d past the last level)
      const lo = i16x8.splat(<i16>-X16_MAX), hi = i16x8.splat(<i16>X16_MAX);
      v128.store(q, i16x8.max_s(i16x8.min_s(i16x8.narrow_i32x4_s(q0, q1), hi), lo));
      v128.store(q, i16x8.max_s(i16x8.min_s(i16x8.narrow_i32x4_s(q2, q3), hi), lo), 16);
      v128.store(q, i16x8.max_s(i16x8.min_s(i16x8.narrow_i32x4_s(q4, q5), hi), lo), 32);
      v128.store(q, i16x8.max_s(i16x8.min_s(i16x8.narrow_i32x4_s(q6, q7), hi), lo), 48);
    } else {
      // narrowing saturates at 127; −127 is the floor (a subnormal d can push x/d past ±127.5)
      const lo = i8x16.splat(-127);
      v128.store(q, i8x16.max_s(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)), lo));
      v128.store(q, i8x16.max_s(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q4, q5), i16x8.narrow_i32x4_s(q6, q7)), lo), 16);
    }
  } else {
    let amax: f32 = 0;
    for (let i: usize = 0; i < 128; i += 4) amax = max<f32>(amax, abs<f32>(load<f32>(x + i)));
    const d: f32 = amax / levels;
    if (!(d < Infinity) || d == 0) {
      store<f32>(s, d == 0 ? 0 : NaN);
      for (let i: usize = 0, end: usize = wide ? 64 : 32; i < end; i += 4) store<i32>(q + i, 0);
      return;
    }
    store<f32>(s, d);
    for (let i: usize = 0; i < 32; i++) {
      const v = nearest<f32>(load<f32>(x + (i << 2)) / d);
      const t: i32 = v >= levels ? <i32>levels : v <= -levels ? -<i32>levels : <i32>v;
      if (wide) store<i16>(q + (i << 1), <i16>t);
      else store<i8>(q + i, <i8>t);
    }
  }
}

/**
 * y[r, j] (op)= Σ_b xs[r, b]·ws[j, b]·Σ_i xq[r, 32b + i]·wq[j, 32b + i] (+ bias[j]) for r < m, j < n:
 * x quantized by quantizeRows16 (xq [m, k] int16, rows 2k bytes apart, xs [m, k/32]), W [n, k] in Q8
 * (wq rows k bytes apart, ws [n, k/32]); y rows ldc floats apart; accumulate != 0: y += product.
 * scratch: gemmQ8ScratchBytes(m, n, k) bytes, 16-byte aligned. From Q8_PACKED_M rows on (SIMD builds)
 * the int16 panels of q8-packed.ts; below, the weights read in place, one weight row at a time (a
 * single stream from memory), every row of x (rearranged by parity into the scratch) against it.
 * SIMD builds compute every output, on either path, as four f32 lanes, lane l over the blocks
 * b ≡ l (mod 4) in order from 0, then the lanes reduced:
 *   acc[l] ← acc[l] + f32(S_b)·(xs[r, b]·ws[j, b]),  y = ((acc[0] + acc[2]) + (acc[1] + acc[3])) (+ y) (+ bias)
 * (S_b the exact block sum), so a row's outputs depend neither on the other rows nor on the path.
 * Scalar build: one f32 sum in block order.
 */
export function gemmQ8(xq: usize, xs: usize, m: i32, wq: usize, ws: usize, c: usize, ldc: i32,
                       n: i32, k: i32, bias: usize, accumulate: i32, scratch: usize): void {
  if (m <= 0 || n <= 0) return;
  const addC = accumulate != 0;
  const blocks = k >> 5;
  const ldw = <usize>k, ldx = <usize>k << 1, lds = <usize>blocks << 2, ldc4 = <usize>ldc << 2;
  if (ASC_FEATURE_SIMD) {
    if (m >= Q8_PACKED_M) {
      gemmQ8Packed(xq, xs, m, wq, ws, c, ldc, n, k, bias, addC, scratch, false);
      return;
    }
    const xp = scratch + 64;
    splitParity(xq, m * k, xp);
    for (let j = 0; j < n; j++) {
      const wj = wq + <usize>j * ldw, sj = ws + <usize>j * lds, cj = c + (<usize>j << 2);
      const bj: usize = bias ? bias + (<usize>j << 2) : 0;
      for (let r = 0; r < m; r++) q8Column(xp + <usize>r * ldx, xs + <usize>r * lds, wj, sj, blocks, cj + <usize>r * ldc4, bj, addC, scratch);
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
        const o = <usize>b << 5, so = <usize>b << 2;
        acc += <f32>blockDotScalar(x + (o << 1), wj + o) * (load<f32>(sx + so) * load<f32>(sj + so));
      }
      store1(c + <usize>r * ldc4 + (<usize>j << 2), acc, bj, addC);
    }
  }
}

/** Scratch bytes gemmQ8 and gemmQ4 need for these sizes (16-byte multiple): below Q8_PACKED_M rows 64 + 2·m·k (gemmQ8: the block-sum slot and x by parity; gemmQ4: its prepared rows), then the panels. */
export function gemmQ8ScratchBytes(m: i32, n: i32, k: i32): i32 {
  if (!ASC_FEATURE_SIMD || m <= 0 || n <= 0 || k <= 0) return 0;
  return m >= Q8_PACKED_M ? q8ScratchBytes(m, k) : 64 + 2 * m * k;
}

/** [Σ a, Σ b, Σ c, Σ d] of four i32x4 (exact: integer sums in any order). */
@inline export function hsum4x4i(a: v128, b: v128, c: v128, d: v128): v128 {
  const t0 = i32x4.add(v128.shuffle<i32>(a, b, 0, 4, 1, 5), v128.shuffle<i32>(a, b, 2, 6, 3, 7));
  const t1 = i32x4.add(v128.shuffle<i32>(c, d, 0, 4, 1, 5), v128.shuffle<i32>(c, d, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(t0, t1, 0, 1, 4, 5), v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
}

/**
 * The scales xs[b + l]·ws[b + l] of the last `left` (1…3) blocks in lanes l < left, zeros above (so
 * those lanes add f32(S)·0 = ±0 to their accumulator, which leaves it as it is: S is any finite sum).
 */
@inline export function tailScales(xs: usize, ws: usize, left: i32): v128 {
  let a: v128, w: v128;
  if (left == 1) {
    a = v128.load32_zero(xs); w = v128.load32_zero(ws);
  } else {
    a = v128.load64_zero(xs); w = v128.load64_zero(ws);
    if (left > 2) { a = f32x4.replace_lane(a, 2, load<f32>(xs, 8)); w = f32x4.replace_lane(w, 2, load<f32>(ws, 8)); }
  }
  return f32x4.mul(a, w);
}

/** (acc[0] + acc[2]) + (acc[1] + acc[3]): the end of every output of the SIMD builds. */
@inline export function reduceLanes(acc: v128): f32 {
  return (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 2)) + (f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 3));
}

/** int16 x [count] (count a multiple of 16) → dst: per 16 entries the 8 at even positions, then the 8 at odd ones. */
function splitParity(x: usize, count: i32, dst: usize): void {
  for (let o: usize = 0, end = <usize>count << 1; o < end; o += 32) {
    const a = v128.load(x + o), b = v128.load(x + o, 16);
    v128.store(dst + o, v128.shuffle<i16>(a, b, 0, 2, 4, 6, 8, 10, 12, 14));
    v128.store(dst + o, v128.shuffle<i16>(a, b, 1, 3, 5, 7, 9, 11, 13, 15), 16);
  }
}

/**
 * Σ_{i<32} x[i]·w[i] of one block as four int32 lanes: w 32 int8, x 32 int16 by parity (64 bytes;
 * splitParity). high = splat 0xFF00. The lanes hold 256× their sums until the exact shift back.
 */
@inline function blockDot(w: usize, x: usize, high: v128): v128 {
  const w0 = v128.load(w), w1 = v128.load(w, 16);
  const s0 = i32x4.dot_i16x8_s(i16x8.shl(w0, 8), v128.load(x));
  const s1 = i32x4.dot_i16x8_s(v128.and(w0, high), v128.load(x, 16));
  const s2 = i32x4.dot_i16x8_s(i16x8.shl(w1, 8), v128.load(x, 32));
  const s3 = i32x4.dot_i16x8_s(v128.and(w1, high), v128.load(x, 48));
  return i32x4.shr_s(i32x4.add(i32x4.add(s0, s1), i32x4.add(s2, s3)), 8);
}

/** Scalar: Σ_{i<32} x[i]·w[i] (int16 × int8 in int32). */
@inline function blockDotScalar(x: usize, w: usize): i32 {
  let s: i32 = 0;
  for (let i: usize = 0; i < 32; i++) s += <i32>load<i16>(x + (i << 1)) * <i32>load<i8>(w + i);
  return s;
}

/**
 * One output: row x (int16 by parity; scales xs) · weight row w (scales ws), four blocks per step into the
 * lanes. Each block's sums go to the scratch slot t (64 bytes) as soon as they are made and are read
 * back for the reduction: a store is a use V8 cannot move, so each block's multiplies are scheduled
 * before the next block's loads (with the four sums kept as values, V8 issued all 32 loads of a step
 * first and spilled half of them: 25% slower). Inlined into the column loop: a decode step makes one
 * call per output column (about 200,000 in a SmolLM2-135M step), and the call itself cost about 6%.
 */
@inline function q8Column(x: usize, xs: usize, w: usize, ws: usize, blocks: i32, c: usize, bias: usize, addC: bool, t: usize): void {
  const high = i16x8.splat(<i16>0xFF00);
  let acc = f32x4.splat(0);
  let b = 0;
  for (; b + 4 <= blocks; b += 4) {
    const o = <usize>b << 5, p = x + (o << 1), so = <usize>b << 2;
    v128.store(t, blockDot(w + o, p, high));
    v128.store(t, blockDot(w + o + 32, p + 64, high), 16);
    v128.store(t, blockDot(w + o + 64, p + 128, high), 32);
    v128.store(t, blockDot(w + o + 96, p + 192, high), 48);
    const s = hsum4x4i(v128.load(t), v128.load(t, 16), v128.load(t, 32), v128.load(t, 48));
    acc = madd4(f32x4.convert_i32x4_s(s), f32x4.mul(v128.load(xs + so), v128.load(ws + so)), acc);
  }
  if (b < blocks) {
    // lanes past the last block get a finite sum and a zero scale (tailScales)
    const left = blocks - b;
    const o = <usize>b << 5, p = x + (o << 1), so = <usize>b << 2;
    const d0 = blockDot(w + o, p, high), d1 = left > 1 ? blockDot(w + o + 32, p + 64, high) : d0;
    const s = hsum4x4i(d0, d1, left > 2 ? blockDot(w + o + 64, p + 128, high) : d0, d0);
    acc = madd4(f32x4.convert_i32x4_s(s), tailScales(xs + so, ws + so, left), acc);
  }
  store1(c, reduceLanes(acc), bias, addC);
}
