// f32 matrix multiply: C = A·B or C = A·Bᵀ, row-major, over raw pointers.
//
// Packed path (m ≥ DIRECT_M): B is packed, one k block at a time, into column panels NR = 8
// wide (zero-padded at the n tail) so that panel row kk is 8 contiguous floats; an MR×NR = 4×8
// micro-kernel keeps its C tile in 8 f32x4 accumulators over the whole k block, broadcasting one
// element of A per row and step. Row tails use 2×8 and 1×8 kernels; the n tail computes on the
// zero padding and stores only the valid columns.
//
// Rows path (m < DIRECT_M, e.g. a matrix-vector product or a decoder step): packing B would cost
// as much as the multiply, so B is read in place, two rows of A at a time: 2×16 row·matrix tiles
// for B[k,n], 2×4 dot-product tiles for Bᵀ.
//
// Work range: a range of column panels [j0, j1) of C is this same call on b + j0 (B[k,n]) or
// b + j0·ldb (Bᵀ), c + j0, bias + j0 and n = j1 − j0. Split at multiples of NB (16) the ranges
// give bit-identical results to one whole call, and each packs only its own columns of B, so
// threads split a product by columns without sharing a packed B.
//
// One source, three builds: ASC_FEATURE_SIMD selects the f32x4 kernels, ASC_FEATURE_RELAXED_SIMD
// turns multiply-add into f32x4.relaxed_madd; the scalar build uses the same packing and plain
// loops. No allocation: the only memory written is C and the caller's scratch.
import { storeEmptyProduct } from './epilogue';
import { packB } from './pack';
import { gemm1x8Packed, gemm2x8Packed, gemm4x8Packed } from './packed';
import { rowNN, rowNT, rows2NN, rows2NT } from './rows';
import { DIRECT_M, KC, MC, MR, NR } from './tiles';

/** Scratch bytes gemm needs for these sizes (16-byte multiple): min(k, KC)·⌈n/8⌉·8·4 to pack B, 0 on the rows path. */
export function gemmScratchBytes(m: i32, n: i32, k: i32): i32 {
  if (m < DIRECT_M || n <= 0 || k <= 0) return 0;
  const kc = k < KC ? k : KC;
  return kc * (((n + NR - 1) / NR) * NR) * 4;
}

/**
 * C[m,n] = A[m,k] · op(B) (+ bias[n] if bias != 0) (+ C if accumulate != 0), row-major with leading dims in f32 elements.
 * op(B) = B[k,n] (ldb ≥ n) when transB == 0; op(B) = Bᵀ with B stored [n,k] (ldb ≥ k) when transB != 0
 * (the PyTorch Linear layout: y = x·Wᵀ + b with W [out,in]).
 * scratch: gemmScratchBytes(m, n, k) bytes, 16-byte aligned.
 */
export function gemm(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
                     m: i32, n: i32, k: i32, transB: i32, bias: usize, accumulate: i32, scratch: usize): void {
  if (m <= 0 || n <= 0) return;
  const addC = accumulate != 0;
  const lda4 = <usize>lda << 2, ldb4 = <usize>ldb << 2, ldc4 = <usize>ldc << 2;

  if (k <= 0) {
    storeEmptyProduct(c, ldc4, m, n, bias, addC);
    return;
  }

  if (m < DIRECT_M) {
    // Rows in pairs (SIMD: each row of B read for both while it is in the L1 cache), then one at a time:
    // C[i,:] (op)= A[i,:]·op(B), B read in place.
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 2 <= m; i += 2) {
        const ai = a + <usize>i * lda4, ci = c + <usize>i * ldc4;
        if (transB) rows2NT(ai, lda4, b, ldb4, ci, ldc4, n, k, bias, addC);
        else rows2NN(ai, lda4, b, ldb4, ci, ldc4, n, k, bias, addC);
      }
    }
    for (; i < m; i++) {
      const ai = a + <usize>i * lda4, ci = c + <usize>i * ldc4;
      if (transB) rowNT(ai, b, ldb4, ci, 0, n, k, bias, addC);
      else rowNN(ai, b, ldb4, ci, 0, n, k, bias, addC);
    }
    return;
  }

  // Invariant at the top of each k block: C = A[:, 0:k0]·op(B)[0:k0, :] (+ bias) (+ C₀).
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = k - k0 < KC ? k - k0 : KC;
    packB(b, ldb4, transB != 0, k0, kc, n, scratch);
    multiplyPanels(a, lda4, m, scratch, k0, kc, c, ldc4, n, bias, addC);
  }
}

/**
 * One k block of the packed path: C (op)= A[:, k0:k0+kc]·P, P = op(B)[k0:k0+kc, 0:n] packed in
 * panels at `panels` (packB's layout). The bias enters with the first block (k0 = 0); later blocks
 * add onto the partial C.
 */
export function multiplyPanels(a: usize, lda4: usize, m: i32, panels: usize, k0: i32, kc: i32,
                               c: usize, ldc4: usize, n: i32, bias: usize, addC: bool): void {
  const count = (n + NR - 1) / NR;
  const first = k0 == 0;
  const blockBias: usize = first ? bias : 0;     // bias enters once, with the first k block
  const blockAddC = addC || !first;               // later k blocks add onto the partial C
  const ak = a + (<usize>k0 << 2);
  for (let i0 = 0; i0 < m; i0 += MC) {
    const iend = m - i0 < MC ? m : i0 + MC;
    // Panel p holds op(B)[k0:k0+kc, 8p:8p+8]; the row tiles of A[i0:iend, k0:k0+kc] pass over
    // it, each adding its 4×8 (2×8, 1×8 at the row tail) block of C.
    for (let p = 0; p < count; p++) {
      const j0 = p * NR;
      const nv = n - j0 < NR ? n - j0 : NR;
      const pb = panels + <usize>p * <usize>kc * (<usize>NR << 2);
      const cj = c + (<usize>j0 << 2);
      const bj: usize = blockBias ? blockBias + (<usize>j0 << 2) : 0;
      let i = i0;
      for (; i + MR <= iend; i += MR) {
        gemm4x8Packed(ak + <usize>i * lda4, lda4, pb, kc, cj + <usize>i * ldc4, ldc4, nv, bj, blockAddC);
      }
      if (i + 2 <= iend) {
        gemm2x8Packed(ak + <usize>i * lda4, lda4, pb, kc, cj + <usize>i * ldc4, ldc4, nv, bj, blockAddC);
        i += 2;
      }
      if (i < iend) gemm1x8Packed(ak + <usize>i * lda4, pb, kc, cj + <usize>i * ldc4, nv, bj, blockAddC);
    }
  }
}
