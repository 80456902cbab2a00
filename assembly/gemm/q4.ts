// Q4 weights (llama.cpp's Q4_0 layout, held as two arrays, with an f32 scale): a weight matrix
// W [n, k] (k a multiple of 32) is 4-bit values wq [n, k/2] bytes (16 bytes per block of 32: byte i
// holds element i in its low nibble and element 16 + i in its high nibble, as Q4_0) and one f32
// scale per block, ws [n, k/32]: W[j, 32b + i] ≈ ws[j, b]·(q − 8), q ∈ [0, 15].
//
// Quantization is ggml's quantize_row_q4_0_ref in f32: mx = the first element of largest magnitude,
// d = mx / −8, id = 1/d, q = min(15, trunc(x·id + 8.5)) (round half up of x/d + 8; mx itself maps to
// q = 0, i.e. −8); for Linear weights (search != 0) with d the least-error one of mx/c for c from −8
// to −7 (the scale search below). The scale is kept as the f32 d the values were rounded with (Q4_0 stores it as
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
// Held layout (q4-layout.ts): in Wasm memory each full group of four blocks is transposed by 4-byte
// units, so vector u of a group holds unit u of all four blocks and the decode product leaves block
// l's sums in lane l: the four block sums come out as one i32x4 with no horizontal reduction, and
// the group's i16 pair sums add up in one register (q4GroupDot). model.save() writes the canonical
// (Q4_0) order.
//
// Work range: output columns. Columns [j0, j1) are this call on wq + j0·k/2, ws + j0·k/32, c + j0,
// bias + j0, n = j1 − j0; any split gives the same bits (as gemmQ8).
import { madd4, storeTranspose4x4 } from '../simd';
import { store1 } from './epilogue';
import { hsum4x4i, reduceLanes, tailScales } from './q8';
import { gemmQ8Packed, Q8_PACKED_M } from './q8-packed';
import { q4ByteOffset, q4GroupedBlocks } from './q4-layout';

/**
 * x [rows, k] (rows ldx floats apart, k a multiple of 32) → q [rows, k/2] bytes (two 4-bit values per
 * byte, rows k/2 bytes apart) and scales [rows, k/32] f32, per block of 32 as ggml's Q4_0 (above);
 * search != 0: the scale of least squared error among Q4_SEARCH_DIVISORS (below).
 * A block of zeros gets d = 0 and q = 8; a block holding NaN or ±Infinity gets d = NaN and q = 8,
 * so every product that reads it is NaN.
 */
export function quantizeRows4(x: usize, ldx: i32, rows: i32, k: i32, q: usize, scales: usize, search: i32): void {
  const blocks = k >> 5;
  const ldx4 = <usize>ldx << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * ldx4;
    const qr = q + <usize>r * <usize>(k >> 1);
    const sr = scales + (<usize>(r * blocks) << 2);
    for (let b = 0; b < blocks; b++) quantizeBlock4(xr + (<usize>b << 7), qr + (<usize>b << 4), sr + (<usize>b << 2), search != 0);
  }
}

// The scale search (Linear weights; embedding tables keep ggml's d = mx/−8): d = mx/c for each c
// below, in order, the values rounded as ggml rounds them (nibble), and the d of least squared
// error Σ (x − d·(q − 8))² kept (the first on a tie, so ggml's −8 unless another is strictly
// better). |mx/d| ≤ 8: the largest magnitude is never clipped. The error in f32, four lanes (lane l
// over i ≡ l mod 4 in order, e = x − d·(q − 8) then err += e·e, unfused), then (l0 + l2) + (l1 + l3):
// the same bits in every build. On two small trained language models this lowered the mean
// next-token KL of q4 by 6–14% (docs/kernels.md, "Q4 weights"); searching the tables too raised it on one.
@inline const Q4_SEARCH_CANDIDATES: i32 = 6;
const Q4_SEARCH_DIVISORS: usize = memory.data<f32>([-8.0, -7.8, -7.6, -7.4, -7.2, -7.0]);

/** Σ (x − d·(q − 8))² over the block at x for d, id = 1/d (lane order above). */
@inline function blockError4(x: usize, d: f32, id: f32): f32 {
  if (ASC_FEATURE_SIMD) {
    const vid = f32x4.splat(id), vd = f32x4.splat(d), half = f32x4.splat(8.5);
    const lo = i32x4.splat(0), hi = i32x4.splat(15), eight = i32x4.splat(8);
    let err = f32x4.splat(0);
    for (let i: usize = 0; i < 128; i += 16) {
      const v = v128.load(x + i);
      const t = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(v, vid), half));
      const qv = i32x4.sub(i32x4.min_s(i32x4.max_s(t, lo), hi), eight);
      const e = f32x4.sub(v, f32x4.mul(vd, f32x4.convert_i32x4_s(qv)));
      err = f32x4.add(err, f32x4.mul(e, e));
    }
    return (f32x4.extract_lane(err, 0) + f32x4.extract_lane(err, 2)) + (f32x4.extract_lane(err, 1) + f32x4.extract_lane(err, 3));
  }
  let e0: f32 = 0, e1: f32 = 0, e2: f32 = 0, e3: f32 = 0;
  for (let i: usize = 0; i < 128; i += 16) {
    const v0 = load<f32>(x + i), v1 = load<f32>(x + i, 4), v2 = load<f32>(x + i, 8), v3 = load<f32>(x + i, 12);
    const a0 = v0 - d * <f32>(nibble(v0, id) - 8), a1 = v1 - d * <f32>(nibble(v1, id) - 8);
    const a2 = v2 - d * <f32>(nibble(v2, id) - 8), a3 = v3 - d * <f32>(nibble(v3, id) - 8);
    e0 = e0 + a0 * a0; e1 = e1 + a1 * a1; e2 = e2 + a2 * a2; e3 = e3 + a3 * a3;
  }
  return (e0 + e2) + (e1 + e3);
}

/** One 4-bit value: min(15, trunc(x·id + 8.5)), 0 when that is below 0 or NaN. */
@inline function nibble(x: f32, id: f32): i32 {
  const t: f32 = x * id + <f32>8.5;
  return t >= 15 ? 15 : t > 0 ? <i32>t : 0;
}

/** One block of 32 floats at x → 16 bytes at q and its scale at s (search: the least-error scale). */
function quantizeBlock4(x: usize, q: usize, s: usize, search: bool): void {
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
  let d: f32 = mx / <f32>-8;
  if (!finite || d == 0) {
    store<f32>(s, finite ? 0 : NaN);
    store<u64>(q, 0x8888888888888888);
    store<u64>(q, 0x8888888888888888, 8);
    return;
  }
  if (search) {
    let best = blockError4(x, d, <f32>1 / d);
    for (let c = 1; c < Q4_SEARCH_CANDIDATES; c++) {
      const dc: f32 = mx / load<f32>(Q4_SEARCH_DIVISORS + (<usize>c << 2));
      const err = blockError4(x, dc, <f32>1 / dc);
      if (err < best) {
        best = err;
        d = dc;
      }
    }
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
 * q8-packed.ts; below, each row of x prepared once (prepRowQ4) and one weight row at a time; every
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
    for (let r = 0; r < m; r++) prepRowQ4(xq + <usize>r * ldx, k, scratch + (<usize>r * ldx << 1));
    for (let j = 0; j < n; j++) {
      const wj = wq + <usize>j * ldw, sj = ws + <usize>j * lds, cj = c + (<usize>j << 2);
      const bj: usize = bias ? bias + (<usize>j << 2) : 0;
      for (let r = 0; r < m; r++) q4Column(scratch + (<usize>r * ldx << 1), xs + <usize>r * lds, wj, sj, blocks, cj + <usize>r * ldc4, bj, addC);
    }
    return;
  }
  const grouped = q4GroupedBlocks(k);
  for (let j = 0; j < n; j++) {
    const wj = wq + <usize>j * ldw, sj = ws + <usize>j * lds;
    const bj: usize = bias ? bias + (<usize>j << 2) : 0;
    for (let r = 0; r < m; r++) {
      let acc: f32 = 0;
      const x = xq + <usize>r * ldx, sx = xs + <usize>r * lds;
      for (let b = 0; b < blocks; b++) {
        const so = <usize>b << 2;
        acc += <f32>blockDot4Scalar(x + (<usize>b << 5), wj, b, grouped) * (load<f32>(sx + so) * load<f32>(sj + so));
      }
      store1(c + <usize>r * ldc4 + (<usize>j << 2), acc, bj, addC);
    }
  }
}

/** Bytes of one prepared group of four blocks (prepRowQ4): relaxed SIMD 8 vectors + the corrections, SIMD 16 vectors. */
const GROUP_PREP: usize = ASC_FEATURE_RELAXED_SIMD ? 144 : 256;

/**
 * One row of int8 x (k values) → the forms q4Column reads, at dst (at most 2k bytes):
 *   each full group of four blocks (GROUP_PREP bytes), in the held weights' order: vector u of the
 *     group pairs with lo_u (lane l = x[32l + 4u … + 3], the values of the low nibbles of weight
 *     vector u) and hi_u (lane l = x[32l + 16 + 4u … + 3], the high nibbles). Relaxed SIMD: lo_u, hi_u
 *     as int8 at 32u, 32u + 16, then the corrections 8·Σ_{i<32} x[32l + i] as i32 lanes at 128. SIMD:
 *     int16, at 64u: lo_u's blocks 0–1, hi_u's blocks 0–1, lo_u's blocks 2–3, hi_u's blocks 2–3;
 *   then each block past the full groups (64 bytes): relaxed SIMD x0, x1 (the block's halves), the
 *     i16 lanes of 8·(x0 + x1) pair sums (|·| ≤ 4·127·8 < 2¹⁵) and 16 unused bytes; SIMD x as int16.
 */
function prepRowQ4(x: usize, k: i32, dst: usize): void {
  const groups = k >> 7, blocks = k >> 5;
  for (let g = 0; g < groups; g++) {
    const xg = x + (<usize>g << 7), d = dst + <usize>g * GROUP_PREP;
    const a0 = v128.load(xg), b0 = v128.load(xg, 16), a1 = v128.load(xg, 32), b1 = v128.load(xg, 48);
    const a2 = v128.load(xg, 64), b2 = v128.load(xg, 80), a3 = v128.load(xg, 96), b3 = v128.load(xg, 112);
    if (ASC_FEATURE_RELAXED_SIMD) {
      storeTranspose4x4(a0, a1, a2, a3, d, 32);
      storeTranspose4x4(b0, b1, b2, b3, d + 16, 32);
      // 8·Σx per block, exact in int32
      const s0 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extadd_pairwise_i8x16_s(a0), i16x8.extadd_pairwise_i8x16_s(b0)));
      const s1 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extadd_pairwise_i8x16_s(a1), i16x8.extadd_pairwise_i8x16_s(b1)));
      const s2 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extadd_pairwise_i8x16_s(a2), i16x8.extadd_pairwise_i8x16_s(b2)));
      const s3 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extadd_pairwise_i8x16_s(a3), i16x8.extadd_pairwise_i8x16_s(b3)));
      v128.store(d, i32x4.shl(hsum4x4i(s0, s1, s2, s3), 3), 128);
    } else {
      // the int8 transposes first, at 64u and 64u + 16 of the group's own slot, then each 64-byte
      // piece widened in place (both its vectors are read before any of it is overwritten)
      storeTranspose4x4(a0, a1, a2, a3, d, 64);
      storeTranspose4x4(b0, b1, b2, b3, d + 16, 64);
      for (let u: usize = 0; u < 4; u++) {
        const lo = v128.load(d + (u << 6)), hi = v128.load(d + (u << 6), 16);
        v128.store(d + (u << 6), i16x8.extend_low_i8x16_s(lo));
        v128.store(d + (u << 6), i16x8.extend_low_i8x16_s(hi), 16);
        v128.store(d + (u << 6), i16x8.extend_high_i8x16_s(lo), 32);
        v128.store(d + (u << 6), i16x8.extend_high_i8x16_s(hi), 48);
      }
    }
  }
  const tail = dst + <usize>groups * GROUP_PREP;
  for (let b = groups << 2; b < blocks; b++) {
    const xb = x + (<usize>b << 5), d = tail + (<usize>(b - (groups << 2)) << 6);
    const x0 = v128.load(xb), x1 = v128.load(xb, 16);
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

/**
 * The four block sums Σ_{i<32} x[i]·(q[i] − 8) of one held group at w (lane l: block l), x prepared
 * by prepRowQ4 at p. Relaxed SIMD: relaxed_dot(x, q) with q ∈ [0, 15] (exact on every engine), the
 * group's eight dot products summed in i16 (a lane adds 16 products, |·| ≤ 16·127·15 < 2¹⁵), the
 * pairs widened (dot_i16x8_s with ones), minus the corrections. SIMD: nibbles widened to int16 minus
 * 8, dot_i16x8_s, lanes [b0, b0, b1, b1] and [b2, b2, b3, b3] summed in i32, then paired.
 */
@inline function q4GroupDot(w: usize, p: usize, ones: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const mask = i8x16.splat(15);
    let s = i16x8.splat(0);
    for (let u: usize = 0; u < 4; u++) {
      const v = v128.load(w + (u << 4));
      const lo = v128.and(v, mask), hi = v128.and(i16x8.shr_u(v, 4), mask);
      s = i16x8.add(s, i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(p + (u << 5)), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(p + (u << 5), 16), hi)));
    }
    return i32x4.sub(i32x4.dot_i16x8_s(s, ones), v128.load(p, 128));
  } else {
    const mask = i16x8.splat(15), eight = i16x8.splat(8);
    let a = i32x4.splat(0), c = i32x4.splat(0);
    for (let u: usize = 0; u < 4; u++) {
      const v = v128.load(w + (u << 4)), q = p + (u << 6);
      const vl = i16x8.extend_low_i8x16_u(v), vh = i16x8.extend_high_i8x16_u(v);
      a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.sub(v128.and(vl, mask), eight), v128.load(q)), i32x4.dot_i16x8_s(i16x8.sub(i16x8.shr_u(vl, 4), eight), v128.load(q, 16))));
      c = i32x4.add(c, i32x4.add(i32x4.dot_i16x8_s(i16x8.sub(v128.and(vh, mask), eight), v128.load(q, 32)), i32x4.dot_i16x8_s(i16x8.sub(i16x8.shr_u(vh, 4), eight), v128.load(q, 48))));
    }
    return i32x4.add(v128.shuffle<i32>(a, c, 0, 2, 4, 6), v128.shuffle<i32>(a, c, 1, 3, 5, 7));
  }
}

/** Σ_{i<32} x[i]·(q[i] − 8) of one block as four int32 lanes, x prepared by prepRowQ4 at p. */
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

/** Scalar: Σ_{i<32} x[i]·(q[i] − 8) of block b of the held row w (bytes found by q4ByteOffset). */
@inline function blockDot4Scalar(x: usize, w: usize, b: i32, grouped: i32): i32 {
  let s: i32 = 0;
  for (let i = 0; i < 16; i++) {
    const v = <i32>load<u8>(w + q4ByteOffset(b, i, grouped));
    s += <i32>load<i8>(x + <usize>i) * ((v & 15) - 8) + <i32>load<i8>(x + <usize>i, 16) * ((v >> 4) - 8);
  }
  return s;
}

/**
 * One output: row x (prepared by prepRowQ4; scales xs) · held Q4 weight row w (scales ws): each full
 * group's four block sums at once (q4GroupDot), the blocks past them four per step as gemmQ8 does;
 * lane l takes the blocks b ≡ l (mod 4), as every path does.
 * Inlined into the column loop: a decode step makes one call per output column (about 200,000
 * in a SmolLM2-135M step), and the call itself cost about 6% of the step.
 */
@inline function q4Column(x: usize, xs: usize, w: usize, ws: usize, blocks: i32, c: usize, bias: usize, addC: bool): void {
  let acc = f32x4.splat(0);
  const ones = i16x8.splat(1);
  const grouped = (blocks >> 2) << 2;
  let b = 0;
  for (; b < grouped; b += 4) {
    const so = <usize>b << 2;
    const s = q4GroupDot(w + (<usize>b << 4), x + <usize>(b >> 2) * GROUP_PREP, ones);
    acc = madd4(f32x4.convert_i32x4_s(s), f32x4.mul(v128.load(xs + so), v128.load(ws + so)), acc);
  }
  if (b < blocks) {
    // 1–3 canonical blocks; lanes past the last block get a finite sum and a zero scale (tailScales)
    const left = blocks - b;
    const o = <usize>b << 4, p = x + <usize>(b >> 2) * GROUP_PREP, so = <usize>b << 2;
    const d0 = blockDot4(w + o, p, ones), d1 = left > 1 ? blockDot4(w + o + 16, p + 64, ones) : d0;
    const s = hsum4x4i(d0, d1, left > 2 ? blockDot4(w + o + 32, p + 128, ones) : d0, d0);
    acc = madd4(f32x4.convert_i32x4_s(s), tailScales(xs + so, ws + so, left), acc);
  }
  store1(c, reduceLanes(acc), bias, addC);
}
