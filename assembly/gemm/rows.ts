// Unpacked kernels for a few rows of A (m < DIRECT_M: a matrix-vector product, a decoder step):
// B is read in place, where packing it would cost as much as the multiply.
//   B[k,n] (NN): gemm<rows>x<cols>Rows broadcast A[r, kk] over a row of B;
//   B[n,k] (NT, Bᵀ): dot<rows>x<cols>Rows take dot products of A rows with B rows.
import { dot, gather4, hsum4x4, madd4 } from '../simd';
import { store1, store4, store4Scalar, storeRow8 } from './epilogue';

// ---- B[k,n] ------------------------------------------------------------------------------------

/** C[j0:n] (op)= Σ_kk a[kk]·B[kk, j0:n]; column blocks of 16, 8 (SIMD) or 4 (scalar), then 1. */
export function rowNN(a: usize, b: usize, ldb4: usize, c: usize, j0: i32, n: i32, k: i32, bias: usize, addC: bool): void {
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 16 <= n; j += 16) gemm1x16Rows(a, b + (<usize>j << 2), ldb4, c + (<usize>j << 2), k, bias ? bias + (<usize>j << 2) : 0, addC);
    for (; j + 8 <= n; j += 8) gemm1x8Rows(a, b + (<usize>j << 2), ldb4, c + (<usize>j << 2), k, bias ? bias + (<usize>j << 2) : 0, addC);
  } else {
    for (; j + 4 <= n; j += 4) gemm1x4RowsScalar(a, b + (<usize>j << 2), ldb4, c + (<usize>j << 2), k, bias ? bias + (<usize>j << 2) : 0, addC);
  }
  // Remaining columns: C[j] (op)= Σ_kk a[kk]·B[kk, j]
  for (; j < n; j++) {
    let s: f32 = 0;
    let bp = b + (<usize>j << 2);
    for (let t: usize = 0, e = <usize>k << 2; t < e; t += 4) { s += load<f32>(a + t) * load<f32>(bp); bp += ldb4; }
    store1(c + (<usize>j << 2), s, bias ? bias + (<usize>j << 2) : 0, addC);
  }
}

/** Two rows: C[r, :] (op)= Σ_kk A[r, kk]·B[kk, :] for r < 2; 2×16 tiles, then row by row. */
export function rows2NN(a: usize, lda4: usize, b: usize, ldb4: usize, c: usize, ldc4: usize,
                        n: i32, k: i32, bias: usize, addC: bool): void {
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    const j4 = <usize>j << 2;
    gemm2x16Rows(a, lda4, b + j4, ldb4, c + j4, ldc4, k, bias ? bias + j4 : 0, addC);
  }
  if (j < n) {
    rowNN(a, b, ldb4, c, j, n, k, bias, addC);
    rowNN(a + lda4, b, ldb4, c + ldc4, j, n, k, bias, addC);
  }
}

/** 2×16 tile: 8 accumulators over B[kk, 0:16]. */
function gemm2x16Rows(a: usize, lda4: usize, b: usize, ldb4: usize, c: usize, ldc4: usize,
                      k: i32, bias: usize, addC: bool): void {
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
  const a1 = a + lda4;
  // sr0..sr3 = Σ_{kk < t/4} A[r, kk]·B[kk, 0:16]
  for (let t: usize = 0, e = <usize>k << 2; t < e; t += 4) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
    let x = v128.load32_splat(a + t);
    s00 = madd4(x, b0, s00); s01 = madd4(x, b1, s01); s02 = madd4(x, b2, s02); s03 = madd4(x, b3, s03);
    x = v128.load32_splat(a1 + t);
    s10 = madd4(x, b0, s10); s11 = madd4(x, b1, s11); s12 = madd4(x, b2, s12); s13 = madd4(x, b3, s13);
    b += ldb4;
  }
  const b32: usize = bias ? bias + 32 : 0;
  storeRow8(c, s00, s01, 8, bias, addC);
  storeRow8(c + 32, s02, s03, 8, b32, addC);
  storeRow8(c + ldc4, s10, s11, 8, bias, addC);
  storeRow8(c + ldc4 + 32, s12, s13, 8, b32, addC);
}

/** 1×16 tile: 4 accumulators over B[kk, 0:16] (measured faster here than 1×32). */
function gemm1x16Rows(a: usize, b: usize, ldb4: usize, c: usize, k: i32, bias: usize, addC: bool): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  const end = a + (<usize>k << 2);
  // s0..s3 = Σ_{kk so far} a[kk]·B[kk, 0:16]
  while (a < end) {
    const x = v128.load32_splat(a);
    s0 = madd4(x, v128.load(b), s0); s1 = madd4(x, v128.load(b, 16), s1);
    s2 = madd4(x, v128.load(b, 32), s2); s3 = madd4(x, v128.load(b, 48), s3);
    a += 4; b += ldb4;
  }
  storeRow8(c, s0, s1, 8, bias, addC);
  storeRow8(c + 32, s2, s3, 8, bias ? bias + 32 : 0, addC);
}

/** 1×8 tile: 2 accumulators over B[kk, 0:8]. */
function gemm1x8Rows(a: usize, b: usize, ldb4: usize, c: usize, k: i32, bias: usize, addC: bool): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  const end = a + (<usize>k << 2);
  // s0 | s1 = Σ_{kk so far} a[kk]·B[kk, 0:8]
  while (a < end) {
    const x = v128.load32_splat(a);
    s0 = madd4(x, v128.load(b), s0); s1 = madd4(x, v128.load(b, 16), s1);
    a += 4; b += ldb4;
  }
  storeRow8(c, s0, s1, 8, bias, addC);
}

/** Scalar build: 1×4 tile over B[kk, 0:4]. */
function gemm1x4RowsScalar(a: usize, b: usize, ldb4: usize, c: usize, k: i32, bias: usize, addC: bool): void {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  // sj = Σ_{kk<t} a[kk]·B[kk, j]
  for (let t: usize = 0, e = <usize>k << 2; t < e; t += 4) {
    const x = load<f32>(a + t);
    s0 += x * load<f32>(b); s1 += x * load<f32>(b, 4); s2 += x * load<f32>(b, 8); s3 += x * load<f32>(b, 12);
    b += ldb4;
  }
  store4Scalar(c, s0, s1, s2, s3, 4, bias, addC);
}

// ---- B[n,k] (Bᵀ) -------------------------------------------------------------------------------

/**
 * C[j] (op)= a·B[j, :] for j0 ≤ j < n. SIMD: one row of B at a time (rowDot), each column in its
 * own pass of one loop — four rows' loops in sequence in one loop body read from memory at about
 * half the bandwidth (measured here, 16–17 vs 28–30 GB/s on a decode step's weights). Scalar: columns
 * 4 at a time, then 1.
 */
export function rowNT(a: usize, b: usize, ldb4: usize, c: usize, j0: i32, n: i32, k: i32, bias: usize, addC: bool): void {
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    const e = <usize>k << 2;
    for (; j < n; j++) store1(c + (<usize>j << 2), rowDot(a, b + <usize>j * ldb4, e), bias ? bias + (<usize>j << 2) : 0, addC);
    return;
  }
  for (; j + 4 <= n; j += 4) {
    dot1x4RowsScalar(a, b + <usize>j * ldb4, ldb4, c + (<usize>j << 2), k, bias ? bias + (<usize>j << 2) : 0, addC);
  }
  for (; j < n; j++) {
    store1(c + (<usize>j << 2), dot(a, b + <usize>j * ldb4, k), bias ? bias + (<usize>j << 2) : 0, addC);
  }
}

/** Two rows: C[r, j] (op)= A[r, :]·B[j, :] for r < 2; 2×4 tiles, then row by row. */
export function rows2NT(a: usize, lda4: usize, b: usize, ldb4: usize, c: usize, ldc4: usize,
                        n: i32, k: i32, bias: usize, addC: bool): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const j4 = <usize>j << 2;
    dot2x4Rows(a, lda4, b + <usize>j * ldb4, ldb4, c + j4, ldc4, k, bias ? bias + j4 : 0, addC);
  }
  if (j < n) {
    rowNT(a, b, ldb4, c, j, n, k, bias, addC);
    rowNT(a + lda4, b, ldb4, c + ldc4, j, n, k, bias, addC);
  }
}

/** 2×4 tile: C[r, 0:4] (op)= [A_r·B0 … A_r·B3], A_r = a + r·lda, Bj = b + j·ldb; each sum as rowDot makes it. */
function dot2x4Rows(a: usize, lda4: usize, b: usize, ldb4: usize, c: usize, ldc4: usize,
                    k: i32, bias: usize, addC: bool): void {
  const a1 = a + lda4, b1 = b + ldb4, b2 = b1 + ldb4, b3 = b2 + ldb4;
  const e = <usize>k << 2;
  // row r's sums in exactly the order of rowDot, so a row gives the same bits in a pair or alone
  // each row of B is streamed for A_0, then again for A_1 while it is still in the L1 cache
  const p00 = rowPartials(a, b, e), p10 = rowPartials(a1, b, e);
  const p01 = rowPartials(a, b1, e), p11 = rowPartials(a1, b1, e);
  const p02 = rowPartials(a, b2, e), p12 = rowPartials(a1, b2, e);
  const p03 = rowPartials(a, b3, e), p13 = rowPartials(a1, b3, e);
  let r0 = hsum4x4(p00, p01, p02, p03), r1 = hsum4x4(p10, p11, p12, p13);
  // k tail (k mod 4 terms)
  for (let t = e & ~15; t < e; t += 4) {
    const v = gather4(b, ldb4, t);
    r0 = madd4(v128.load32_splat(a + t), v, r0);
    r1 = madd4(v128.load32_splat(a1 + t), v, r1);
  }
  store4(c, r0, bias, addC);
  store4(c + ldc4, r1, bias, addC);
}

/**
 * Lane l of the result = Σ x[kk]·y[kk] over kk < (k & ~3), kk ≡ l (mod 4): one row of weights
 * streamed on its own with four accumulators (64 bytes a step, then 16), then (s0 + s1) + (s2 + s3).
 * Reading one row at a time keeps a decode step's matrix–vector product at the memory's full read
 * bandwidth (four rows interleaved ran at under half of it).
 */
@inline function rowPartials(x: usize, y: usize, e: usize): v128 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let t: usize = 0;
  for (const e16 = e & ~63; t < e16; t += 64) {
    s0 = madd4(v128.load(x + t), v128.load(y + t), s0);
    s1 = madd4(v128.load(x + t, 16), v128.load(y + t, 16), s1);
    s2 = madd4(v128.load(x + t, 32), v128.load(y + t, 32), s2);
    s3 = madd4(v128.load(x + t, 48), v128.load(y + t, 48), s3);
  }
  for (const e4 = e & ~15; t < e4; t += 16) s0 = madd4(v128.load(x + t), v128.load(y + t), s0);
  return f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
}

/**
 * x·y over e bytes (SIMD builds): lane 0 of what dot2x4Rows computes for one row — the partials
 * summed as hsum4x4 does, (p0 + p2) + (p1 + p3), then the k mod 4 tail terms one madd each — so a
 * row of A gives the same bits alone (here) or in a pair (dot2x4Rows).
 */
@inline function rowDot(x: usize, y: usize, e: usize): f32 {
  const p = rowPartials(x, y, e);
  let s = (f32x4.extract_lane(p, 0) + f32x4.extract_lane(p, 2)) + (f32x4.extract_lane(p, 1) + f32x4.extract_lane(p, 3));
  for (let t = e & ~15; t < e; t += 4) s = f32x4.extract_lane(madd4(v128.load32_splat(x + t), f32x4.splat(load<f32>(y + t)), f32x4.splat(s)), 0);
  return s;
}

/** Scalar build: C[0:4] (op)= [a·B0, a·B1, a·B2, a·B3] with Br = B + r·ldb, four dot products of length k. */
function dot1x4RowsScalar(a: usize, b: usize, ldb4: usize, c: usize, k: i32, bias: usize, addC: bool): void {
  const b1 = b + ldb4, b2 = b1 + ldb4, b3 = b2 + ldb4;
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  // sr = Σ_{kk<t} a[kk]·Br[kk]
  for (let t: usize = 0, e = <usize>k << 2; t < e; t += 4) {
    const x = load<f32>(a + t);
    s0 += x * load<f32>(b + t); s1 += x * load<f32>(b1 + t); s2 += x * load<f32>(b2 + t); s3 += x * load<f32>(b3 + t);
  }
  store4Scalar(c, s0, s1, s2, s3, 4, bias, addC);
}
