// Weights held as 16-bit floats: y = x·Wᵀ (+ bias) (+ y) with W [n, k] stored as f16 or bf16
// rows (k values, 2·k bytes apart; the PyTorch Linear layout), converted to f32 inside the
// kernels (../half.ts), never widened in memory as a whole.
//
// Rows path (m < DIRECT_M: a decode step's matrix–vector product): each weight row is streamed
// once per pair of rows of x, eight values per 16-byte load converted and multiplied into the
// same four accumulators, in the same order, as the f32 rows path (rows.ts rowPartials,
// dot2x4Rows, rowDot; the scalar build dot1x4RowsScalar, simd.ts dot): so a row of x gives the
// same bits alone or in a pair, and the same bits as gemm on the widened matrix. A single row of x
// (a decode step) takes one weight row per pass of one loop (rowDotHalf), as rows.ts rowNT does:
// four rows' loops in sequence in one loop body read memory at about half the bandwidth.
// Packed path (m ≥ DIRECT_M): per k block, each 8-row panel of W is widened into a small f32
// strip (8 × KC floats in the scratch, behind the packed block) and packed from there by packB;
// the packed panels are exactly gemm's for the widened matrix, and gemm's micro-kernels run on them.
//
// `format`: HALF_F16, HALF_BF16 or HALF_F16_FINITE (../half.ts).
//
// Work range: output columns, as gemm's Bᵀ case: [j0, j1) is this call on w + 2·j0·k, c + j0,
// bias + j0, n = j1 − j0. Split at multiples of NB (16) every column keeps its tile, so any split
// gives the same bits as one call.
import { hsum, hsum4x4, madd4 } from '../simd';
import { anyF16Special, f16Finite, half4, halfHigh, halfLow, halfToF32, HALF_BF16, HALF_F16_FINITE, widenHalf } from '../half';
import { store1, store4, store4Scalar, storeEmptyProduct } from './epilogue';
import { multiplyPanels } from './gemm';
import { packB } from './pack';
import { DIRECT_M, KC, NR } from './tiles';

/** Scratch bytes gemmHalf needs: gemm's packed block plus one widened 8-row strip; 0 on the rows path. */
export function gemmHalfScratchBytes(m: i32, n: i32, k: i32): i32 {
  if (m < DIRECT_M || n <= 0 || k <= 0) return 0;
  const kc = k < KC ? k : KC;
  return kc * (((n + NR - 1) / NR) * NR) * 4 + kc * NR * 4;
}

/**
 * C[m, n] = A[m, k]·Wᵀ (+ bias[n] if bias != 0) (+ C if accumulate != 0): A and C f32 row-major
 * (lda, ldc in floats), W [n, k] 16-bit rows k values apart, of `format` (../half.ts: HALF_F16,
 * HALF_BF16, HALF_F16_FINITE).
 * scratch: gemmHalfScratchBytes(m, n, k) bytes, 16-byte aligned.
 */
export function gemmHalf(a: usize, lda: i32, w: usize, c: usize, ldc: i32, m: i32, n: i32, k: i32,
                         format: i32, bias: usize, accumulate: i32, scratch: usize): void {
  if (m <= 0 || n <= 0) return;
  const addC = accumulate != 0, b16 = format == HALF_BF16, finite = format == HALF_F16_FINITE;
  const lda4 = <usize>lda << 2, ldw2 = <usize>k << 1, ldc4 = <usize>ldc << 2;
  if (k <= 0) {
    storeEmptyProduct(c, ldc4, m, n, bias, addC);
    return;
  }
  if (m < DIRECT_M) {
    // C[i, :] (op)= A[i, :]·Wᵀ, W read in place: rows in pairs (SIMD), then one at a time
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 2 <= m; i += 2) rows2Half(a + <usize>i * lda4, lda4, w, ldw2, c + <usize>i * ldc4, ldc4, n, k, b16, finite, bias, addC);
    }
    for (; i < m; i++) rowHalf(a + <usize>i * lda4, w, ldw2, c + <usize>i * ldc4, 0, n, k, b16, finite, bias, addC);
    return;
  }
  const panels = (n + NR - 1) / NR;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = k - k0 < KC ? k - k0 : KC;
    const strip = scratch + <usize>panels * <usize>kc * (<usize>NR << 2);
    // panel p = the widened rows 8p … 8p + 7 of W[:, k0:k0+kc], packed as gemm packs Bᵀ
    for (let p = 0; p < panels; p++) {
      const j0 = p * NR;
      const nv = n - j0 < NR ? n - j0 : NR;
      for (let jj = 0; jj < nv; jj++) {
        widenHalf(w + <usize>(j0 + jj) * ldw2 + (<usize>k0 << 1), strip + <usize>jj * (<usize>kc << 2), kc, format);
      }
      packB(strip, <usize>kc << 2, true, 0, kc, nv, scratch + <usize>p * <usize>kc * (<usize>NR << 2));
    }
    multiplyPanels(a, lda4, m, scratch, k0, kc, c, ldc4, n, bias, addC);
  }
}

/** Two rows: C[r, j] (op)= A[r, :]·W[j, :] for r < 2; 2×4 tiles, then row by row (as rows.ts rows2NT). */
function rows2Half(a: usize, lda4: usize, w: usize, ldw2: usize, c: usize, ldc4: usize,
                   n: i32, k: i32, bf16: bool, finite: bool, bias: usize, addC: bool): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const j4 = <usize>j << 2;
    dot2x4Half(a, lda4, w + <usize>j * ldw2, ldw2, c + j4, ldc4, k, bf16, finite, bias ? bias + j4 : 0, addC);
  }
  if (j < n) {
    rowHalf(a, w, ldw2, c, j, n, k, bf16, finite, bias, addC);
    rowHalf(a + lda4, w, ldw2, c + ldc4, j, n, k, bf16, finite, bias, addC);
  }
}

/**
 * C[j] (op)= a·W[j, :] for j0 ≤ j < n (as rows.ts rowNT). SIMD: one weight row per pass of one
 * loop (rowDotHalf), the format a constant in each loop; scalar: columns 4 at a time, then 1.
 */
function rowHalf(a: usize, w: usize, ldw2: usize, c: usize, j0: i32, n: i32, k: i32, bf16: bool, finite: bool, bias: usize, addC: bool): void {
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    if (bf16) for (; j < n; j++) store1(c + (<usize>j << 2), rowDotHalf(a, w + <usize>j * ldw2, k, true, false), bias ? bias + (<usize>j << 2) : 0, addC);
    else if (finite) for (; j < n; j++) store1(c + (<usize>j << 2), rowDotHalf(a, w + <usize>j * ldw2, k, false, true), bias ? bias + (<usize>j << 2) : 0, addC);
    else for (; j < n; j++) store1(c + (<usize>j << 2), rowDotHalf(a, w + <usize>j * ldw2, k, false, false), bias ? bias + (<usize>j << 2) : 0, addC);
    return;
  }
  for (; j + 4 <= n; j += 4) {
    dot1x4Half(a, w + <usize>j * ldw2, ldw2, c + (<usize>j << 2), k, bf16, bias ? bias + (<usize>j << 2) : 0, addC);
  }
  for (; j < n; j++) {
    store1(c + (<usize>j << 2), dotHalf(a, w + <usize>j * ldw2, k, bf16), bias ? bias + (<usize>j << 2) : 0, addC);
  }
}

/** 2×4 tile: C[r, 0:4] (op)= [A_r·W0 … A_r·W3]; each sum in exactly dot1x4Half's order. */
function dot2x4Half(a: usize, lda4: usize, w: usize, ldw2: usize, c: usize, ldc4: usize,
                    k: i32, bf16: bool, finite: bool, bias: usize, addC: bool): void {
  const a1 = a + lda4, w1 = w + ldw2, w2 = w1 + ldw2, w3 = w2 + ldw2;
  // each weight row is streamed for A_0, then again for A_1 while it is in the L1 cache
  const p00 = halfPartials(a, w, k, bf16, finite), p10 = halfPartials(a1, w, k, bf16, finite);
  const p01 = halfPartials(a, w1, k, bf16, finite), p11 = halfPartials(a1, w1, k, bf16, finite);
  const p02 = halfPartials(a, w2, k, bf16, finite), p12 = halfPartials(a1, w2, k, bf16, finite);
  const p03 = halfPartials(a, w3, k, bf16, finite), p13 = halfPartials(a1, w3, k, bf16, finite);
  let r0 = hsum4x4(p00, p01, p02, p03), r1 = hsum4x4(p10, p11, p12, p13);
  // k tail (k mod 4 terms)
  for (let i = k & ~3; i < k; i++) {
    const v = gatherHalf4(w, ldw2, <usize>i << 1, bf16);
    r0 = madd4(v128.load32_splat(a + (<usize>i << 2)), v, r0);
    r1 = madd4(v128.load32_splat(a1 + (<usize>i << 2)), v, r1);
  }
  store4(c, r0, bias, addC);
  store4(c + ldc4, r1, bias, addC);
}

/**
 * x·f32(w) over k values (SIMD builds), as rows.ts rowDot sums a row: lane 0 of what dot2x4Half
 * computes for one row — the partials summed (p0 + p2) + (p1 + p3), then the k mod 4 tail terms
 * one madd each — so a row of x gives the same bits alone or in a pair.
 */
@inline function rowDotHalf(x: usize, w: usize, k: i32, bf16: bool, finite: bool): f32 {
  const p = partials16(x, w, k, bf16, finite);
  let s = (f32x4.extract_lane(p, 0) + f32x4.extract_lane(p, 2)) + (f32x4.extract_lane(p, 1) + f32x4.extract_lane(p, 3));
  for (let i = k & ~3; i < k; i++) {
    s = f32x4.extract_lane(madd4(v128.load32_splat(x + (<usize>i << 2)), f32x4.splat(halfToF32(<u32>load<u16>(w + (<usize>i << 1)), bf16)), f32x4.splat(s)), 0);
  }
  return s;
}

/** partials16 with the format a constant in each branch, so the loop has no test of it. */
@inline function halfPartials(x: usize, w: usize, k: i32, bf16: bool, finite: bool): v128 {
  return bf16 ? partials16(x, w, k, true, false) : finite ? partials16(x, w, k, false, true) : partials16(x, w, k, false, false);
}

/**
 * Lane l = Σ x[kk]·f32(w[kk]) over kk < (k & ~3), kk ≡ l (mod 4), in rows.ts rowPartials' order:
 * four accumulators over 16 values a step (two 16-byte loads of halves; two steps per 64-byte line),
 * then 4 at a time into the first, then (s0 + s1) + (s2 + s3). f16 takes the short conversion
 * (f16Finite) when the matrix is known finite, or else when none of the 16 values is ±∞ or NaN.
 */
@inline function partials16(x: usize, w: usize, k: i32, bf16: bool, finite: bool): v128 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let i: usize = 0;
  const n = <usize>k;
  for (const n16 = n & ~15; i < n16; i += 16) {
    const h0 = v128.load(w + (i << 1)), h1 = v128.load(w + (i << 1), 16);
    const xi = x + (i << 2);
    let w0 = h0, w1 = h0, w2 = h1, w3 = h1;
    if (bf16 || (!finite && anyF16Special(h0, h1))) {
      w0 = halfLow(h0, bf16); w1 = halfHigh(h0, bf16); w2 = halfLow(h1, bf16); w3 = halfHigh(h1, bf16);
    } else {
      w0 = f16Finite(h0, false); w1 = f16Finite(h0, true); w2 = f16Finite(h1, false); w3 = f16Finite(h1, true);
    }
    s0 = madd4(v128.load(xi), w0, s0);
    s1 = madd4(v128.load(xi, 16), w1, s1);
    s2 = madd4(v128.load(xi, 32), w2, s2);
    s3 = madd4(v128.load(xi, 48), w3, s3);
  }
  for (const n4 = n & ~3; i < n4; i += 4) s0 = madd4(v128.load(x + (i << 2)), half4(w + (i << 1), bf16), s0);
  return f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
}

/** [f32(r0[i]), f32(r1[i]), f32(r2[i]), f32(r3[i])] for the four rows at r0, r0 + stride, … (bytes, off = 2i). */
@inline function gatherHalf4(r0: usize, stride: usize, off: usize, bf16: bool): v128 {
  let t = f32x4.splat(halfToF32(<u32>load<u16>(r0 + off), bf16));
  t = f32x4.replace_lane(t, 1, halfToF32(<u32>load<u16>(r0 + stride + off), bf16));
  t = f32x4.replace_lane(t, 2, halfToF32(<u32>load<u16>(r0 + (stride << 1) + off), bf16));
  return f32x4.replace_lane(t, 3, halfToF32(<u32>load<u16>(r0 + stride * 3 + off), bf16));
}

/** Scalar build: C[0:4] (op)= [a·W0, a·W1, a·W2, a·W3], Wr = w + r·ldw2, four dot products of length k (as rows.ts dot1x4RowsScalar). */
function dot1x4Half(a: usize, w: usize, ldw2: usize, c: usize, k: i32, bf16: bool, bias: usize, addC: bool): void {
  const w1 = w + ldw2, w2 = w1 + ldw2, w3 = w2 + ldw2;
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  // sr = Σ_{kk<i} a[kk]·Wr[kk]
  for (let i: usize = 0; i < <usize>k; i++) {
    const x = load<f32>(a + (i << 2)), o = i << 1;
    s0 += x * halfToF32(<u32>load<u16>(w + o), bf16); s1 += x * halfToF32(<u32>load<u16>(w1 + o), bf16);
    s2 += x * halfToF32(<u32>load<u16>(w2 + o), bf16); s3 += x * halfToF32(<u32>load<u16>(w3 + o), bf16);
  }
  store4Scalar(c, s0, s1, s2, s3, 4, bias, addC);
}

/** a·f32(w) over k values, in simd.ts dot's order: four lanes (i ≡ l mod 4), hsum, then the tail. */
function dotHalf(a: usize, w: usize, k: i32, bf16: bool): f32 {
  let sum: f32 = 0;
  let i: usize = 0;
  const n = <usize>k;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (const n4 = n & ~3; i < n4; i += 4) acc = madd4(v128.load(a + (i << 2)), half4(w + (i << 1), bf16), acc);
    sum = hsum(acc);
  }
  for (; i < n; i++) sum += load<f32>(a + (i << 2)) * halfToF32(<u32>load<u16>(w + (i << 1)), bf16);
  return sum;
}
