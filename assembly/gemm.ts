// f32 matrix multiply: C = A·B or C = A·Bᵀ, row-major, over raw pointers.
//
// Packed path (m ≥ DIRECT_M): B is packed, one k block at a time, into column panels NR = 8
// wide (zero-padded at the n tail) so that panel row kk is 8 contiguous floats; an MR×NR = 4×8
// micro-kernel keeps its C tile in 8 f32x4 accumulators over the whole k block, broadcasting one
// element of A per row and step. Row tails use 2×8 and 1×8 kernels; the n tail computes on the
// zero padding and stores only the valid columns.
//
// Direct path (m < DIRECT_M = 16, e.g. a matrix-vector product or a decoder step): packing B
// would cost as much as the multiply, so B is read in place, two rows of A at a time:
// 2×16 row·matrix tiles for B[k,n], 2×4 dot-product tiles for Bᵀ.
//
// One source, three builds: ASC_FEATURE_SIMD selects the f32x4 kernels, ASC_FEATURE_RELAXED_SIMD
// turns multiply-add into f32x4.relaxed_madd; the scalar build uses the same packing and plain
// loops. No allocation: the only memory written is C and the caller's scratch.

/** Columns per packed B panel (two f32x4). */
const NR: i32 = 8;
/** Rows per main micro-kernel tile. */
const MR: i32 = 4;
/** k block: a packed panel is KC·NR·4 = 16 KiB and stays in L1 (32 KiB) while row tiles of A
 *  pass over it; the packed block KC·n·4 bytes (3 MiB for n = 1536) is the scratch. */
const KC: i32 = 512;
/** Row block: A[i0:i0+MC, k0:k0+KC] is 256 KiB and stays in L2 (1 MiB) while the panels pass.
 *  (KC 512 / MC 128 measured best of 128–512 / 64–256 on 1024³ and 2048×512×1024.) */
const MC: i32 = 128;
/** Below this many rows of A the unpacked (direct) kernels are used: with two rows per tile
 *  they match the packed path up to m ≈ 16 (B re-read m/2 times from L2 vs packing it); packed
 *  wins from m = 32 (measured n 256–1536, k 512). */
const DIRECT_M: i32 = 16;

/** Scratch bytes gemm needs to pack B for these sizes (16-byte multiple): min(k, 512) · ⌈n/8⌉·8 · 4. */
export function gemmScratchBytes(n: i32, k: i32): i32 {
  if (n <= 0 || k <= 0) return 0;
  const kc = k < KC ? k : KC;
  return kc * (((n + NR - 1) / NR) * NR) * 4;
}

/**
 * C[m,n] = A[m,k] · op(B) (+ bias[n] if bias != 0) (+ C if accumulate != 0), row-major with leading dims in f32 elements.
 * op(B) = B[k,n] (ldb ≥ n) when transB == 0; op(B) = Bᵀ with B stored [n,k] (ldb ≥ k) when transB != 0
 * (the PyTorch Linear layout: y = x·Wᵀ + b with W [out,in]).
 * scratch: gemmScratchBytes(n, k) bytes, 16-byte aligned (unused when m < 16).
 */
export function gemm(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
                     m: i32, n: i32, k: i32, transB: i32, bias: usize, accumulate: i32, scratch: usize): void {
  if (m <= 0 || n <= 0) return;
  const addC = accumulate != 0;
  const lda4 = <usize>lda << 2, ldb4 = <usize>ldb << 2, ldc4 = <usize>ldc << 2;

  // k = 0: the product is empty, C[i,j] = (C[i,j] if accumulating) + (bias[j] if given).
  if (k <= 0) {
    for (let i = 0; i < m; i++) {
      const ci = c + <usize>i * ldc4;
      for (let j = 0; j < n; j++) store1(ci + (<usize>j << 2), 0, bias ? bias + (<usize>j << 2) : 0, addC);
    }
    return;
  }

  if (m < DIRECT_M) {
    // Rows in pairs (SIMD: each load of B serves two rows), then one at a time:
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

  const panels = (n + NR - 1) / NR;
  // Invariant at the top of each k block: C = A[:, 0:k0]·op(B)[0:k0, :] (+ bias) (+ C₀).
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = k - k0 < KC ? k - k0 : KC;
    packB(b, ldb4, transB != 0, k0, kc, n, scratch);
    const first = k0 == 0;
    const blockBias: usize = first ? bias : 0;     // bias enters once, with the first k block
    const blockAddC = addC || !first;               // later k blocks add onto the partial C
    const ak = a + (<usize>k0 << 2);
    for (let i0 = 0; i0 < m; i0 += MC) {
      const iend = m - i0 < MC ? m : i0 + MC;
      // Panel p holds op(B)[k0:k0+kc, 8p:8p+8]; the row tiles of A[i0:iend, k0:k0+kc] pass over
      // it, each adding its 4×8 (2×8, 1×8 at the row tail) block of C.
      for (let p = 0; p < panels; p++) {
        const j0 = p * NR;
        const nv = n - j0 < NR ? n - j0 : NR;
        const pb = scratch + <usize>p * <usize>kc * (<usize>NR << 2);
        const cj = c + (<usize>j0 << 2);
        const bj: usize = blockBias ? blockBias + (<usize>j0 << 2) : 0;
        let i = i0;
        for (; i + MR <= iend; i += MR) {
          gemm4x8(ak + <usize>i * lda4, lda4, pb, kc, cj + <usize>i * ldc4, ldc4, nv, bj, blockAddC);
        }
        if (i + 2 <= iend) {
          gemm2x8(ak + <usize>i * lda4, lda4, pb, kc, cj + <usize>i * ldc4, ldc4, nv, bj, blockAddC);
          i += 2;
        }
        if (i < iend) gemm1x8(ak + <usize>i * lda4, pb, kc, cj + <usize>i * ldc4, nv, bj, blockAddC);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Packing

/**
 * dst[p][kk][jj] = op(B)[k0+kk, 8p+jj] for kk < kc, jj < 8; 0 where 8p+jj ≥ n.
 * Panel p starts at dst + p·kc·32 bytes; its row kk is 8 contiguous floats.
 */
function packB(b: usize, ldb4: usize, trans: bool, k0: i32, kc: i32, n: i32, dst: usize): void {
  for (let j0 = 0; j0 < n; j0 += NR) {
    const nv = n - j0 < NR ? n - j0 : NR;
    if (!trans) {
      // B[k,n]: panel row kk = B[k0+kk, j0 : j0+nv], zero-padded to 8.
      let src = b + <usize>k0 * ldb4 + (<usize>j0 << 2);
      let kk = 0;
      if (ASC_FEATURE_SIMD) {
        if (nv == NR) {
          for (; kk < kc; kk++) {
            v128.store(dst, v128.load(src));
            v128.store(dst, v128.load(src, 16), 16);
            src += ldb4;
            dst += NR << 2;
          }
        }
      }
      for (; kk < kc; kk++) {
        for (let jj = 0; jj < NR; jj++) {
          store<f32>(dst + (<usize>jj << 2), jj < nv ? load<f32>(src + (<usize>jj << 2)) : 0);
        }
        src += ldb4;
        dst += NR << 2;
      }
    } else {
      // B[n,k]: panel row kk = B[j0 : j0+nv, k0+kk] (a column of the stored B), zero-padded.
      const src = b + <usize>j0 * ldb4 + (<usize>k0 << 2);
      let kk = 0;
      if (ASC_FEATURE_SIMD) if (nv == NR) {
        // 4 k at a time: two 4×4 transposes (columns j0..j0+3 and j0+4..j0+7).
        for (; kk + 4 <= kc; kk += 4) {
          const s = src + (<usize>kk << 2);
          transpose4x4(s, ldb4, dst);
          transpose4x4(s + (ldb4 << 2), ldb4, dst + 16);
          dst += NR << 4;
        }
      }
      // Remaining k (and partial panels): one float at a time.
      for (; kk < kc; kk++) {
        const s = src + (<usize>kk << 2);
        for (let jj = 0; jj < NR; jj++) {
          store<f32>(dst + (<usize>jj << 2), jj < nv ? load<f32>(s + <usize>jj * ldb4) : 0);
        }
        dst += NR << 2;
      }
    }
  }
}

/** dst + 32·q + 4·r ← src[r·ld + q] for r, q < 4: rows of a 4×4 block become packed-panel rows. */
@inline function transpose4x4(src: usize, ld4: usize, dst: usize): void {
  const r0 = v128.load(src), r1 = v128.load(src + ld4);
  const r2 = v128.load(src + (ld4 << 1)), r3 = v128.load(src + ld4 * 3);
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);   // a0 b0 a1 b1
  const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);   // a2 b2 a3 b3
  const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);   // c0 d0 c1 d1
  const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);   // c2 d2 c3 d3
  v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5));       // a0 b0 c0 d0
  v128.store(dst, f32x4.shuffle(t0, t2, 2, 3, 6, 7), 32);   // a1 b1 c1 d1
  v128.store(dst, f32x4.shuffle(t1, t3, 0, 1, 4, 5), 64);   // a2 b2 c2 d2
  v128.store(dst, f32x4.shuffle(t1, t3, 2, 3, 6, 7), 96);   // a3 b3 c3 d3
}

// ---------------------------------------------------------------------------------------------
// Epilogue: x → C (+ C if addC) (+ bias if bias != 0)

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  else return f32x4.add(f32x4.mul(a, b), c);
}

@inline function store1(c: usize, x: f32, bias: usize, addC: bool): void {
  if (addC) x += load<f32>(c);
  if (bias) x += load<f32>(bias);
  store<f32>(c, x);
}

@inline function store4(c: usize, v: v128, bias: usize, addC: bool): void {
  if (addC) v = f32x4.add(v, v128.load(c));
  if (bias) v = f32x4.add(v, v128.load(bias));
  v128.store(c, v);
}

/** The first cnt (< 4) lanes of v, one at a time. */
@inline function storePart(c: usize, v: v128, cnt: i32, bias: usize, addC: bool): void {
  if (cnt > 0) store1(c, f32x4.extract_lane(v, 0), bias, addC);
  if (cnt > 1) store1(c + 4, f32x4.extract_lane(v, 1), bias ? bias + 4 : 0, addC);
  if (cnt > 2) store1(c + 8, f32x4.extract_lane(v, 2), bias ? bias + 8 : 0, addC);
}

/** One 8-wide tile row [v0 v1] into C[0 : nv]. */
function storeRow8(c: usize, v0: v128, v1: v128, nv: i32, bias: usize, addC: bool): void {
  if (nv >= 8) {
    store4(c, v0, bias, addC);
    store4(c + 16, v1, bias ? bias + 16 : 0, addC);
  } else if (nv >= 4) {
    store4(c, v0, bias, addC);
    storePart(c + 16, v1, nv - 4, bias ? bias + 16 : 0, addC);
  } else {
    storePart(c, v0, nv, bias, addC);
  }
}

// ---------------------------------------------------------------------------------------------
// Packed micro-kernels: C[r, 0:nv] (op)= Σ_{kk<kc} A[r, kk]·P[kk, 0:8], P a packed panel
// (row kk at p + 32·kk), A rows lda4 bytes apart.

/** 4×8 tile, 8 accumulators. */
function gemm4x8(a: usize, lda4: usize, p: usize, kc: i32, c: usize, ldc4: usize,
                 nv: i32, bias: usize, addC: bool): void {
  if (ASC_FEATURE_SIMD) {
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
    let a0 = a, a1 = a + lda4, a2 = a1 + lda4, a3 = a2 + lda4;
    const end = p + (<usize>kc << 5);
    // cr0 | cr1 = Σ_{kk so far} A[r, kk]·P[kk, 0:8]
    while (p < end) {
      const b0 = v128.load(p), b1 = v128.load(p, 16);
      let x = v128.load32_splat(a0);
      c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
      x = v128.load32_splat(a1);
      c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
      x = v128.load32_splat(a2);
      c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
      x = v128.load32_splat(a3);
      c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
      a0 += 4; a1 += 4; a2 += 4; a3 += 4; p += 32;
    }
    storeRow8(c, c00, c01, nv, bias, addC); c += ldc4;
    storeRow8(c, c10, c11, nv, bias, addC); c += ldc4;
    storeRow8(c, c20, c21, nv, bias, addC); c += ldc4;
    storeRow8(c, c30, c31, nv, bias, addC);
  } else {
    scalarTile2x4(a, lda4, p, kc, c, ldc4, nv, bias, addC);
    scalarTile2x4(a + (lda4 << 1), lda4, p, kc, c + (ldc4 << 1), ldc4, nv, bias, addC);
    if (nv > 4) {
      const b4: usize = bias ? bias + 16 : 0;
      scalarTile2x4(a, lda4, p + 16, kc, c + 16, ldc4, nv - 4, b4, addC);
      scalarTile2x4(a + (lda4 << 1), lda4, p + 16, kc, c + (ldc4 << 1) + 16, ldc4, nv - 4, b4, addC);
    }
  }
}

/** 2×8 tile (row tail), 4 accumulators. */
function gemm2x8(a: usize, lda4: usize, p: usize, kc: i32, c: usize, ldc4: usize,
                 nv: i32, bias: usize, addC: bool): void {
  if (ASC_FEATURE_SIMD) {
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let a0 = a, a1 = a + lda4;
    const end = p + (<usize>kc << 5);
    // cr0 | cr1 = Σ_{kk so far} A[r, kk]·P[kk, 0:8]
    while (p < end) {
      const b0 = v128.load(p), b1 = v128.load(p, 16);
      let x = v128.load32_splat(a0);
      c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
      x = v128.load32_splat(a1);
      c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
      a0 += 4; a1 += 4; p += 32;
    }
    storeRow8(c, c00, c01, nv, bias, addC);
    storeRow8(c + ldc4, c10, c11, nv, bias, addC);
  } else {
    scalarTile2x4(a, lda4, p, kc, c, ldc4, nv, bias, addC);
    if (nv > 4) scalarTile2x4(a, lda4, p + 16, kc, c + 16, ldc4, nv - 4, bias ? bias + 16 : 0, addC);
  }
}

/** 1×8 tile (row tail), 2 accumulators. */
function gemm1x8(a: usize, p: usize, kc: i32, c: usize, nv: i32, bias: usize, addC: bool): void {
  if (ASC_FEATURE_SIMD) {
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
    const end = p + (<usize>kc << 5);
    // c00 | c01 = Σ_{kk so far} A[0, kk]·P[kk, 0:8]
    while (p < end) {
      const x = v128.load32_splat(a);
      c00 = madd(x, v128.load(p), c00); c01 = madd(x, v128.load(p, 16), c01);
      a += 4; p += 32;
    }
    storeRow8(c, c00, c01, nv, bias, addC);
  } else {
    scalarTile1x4(a, p, kc, c, nv, bias, addC);
    if (nv > 4) scalarTile1x4(a, p + 16, kc, c + 16, nv - 4, bias ? bias + 16 : 0, addC);
  }
}

/** Scalar: 2 rows × 4 columns of a packed panel (p points at the column), nv ≤ 4 valid. */
function scalarTile2x4(a: usize, lda4: usize, p: usize, kc: i32, c: usize, ldc4: usize,
                       nv: i32, bias: usize, addC: bool): void {
  let s00: f32 = 0, s01: f32 = 0, s02: f32 = 0, s03: f32 = 0;
  let s10: f32 = 0, s11: f32 = 0, s12: f32 = 0, s13: f32 = 0;
  const a1 = a + lda4;
  // srj = Σ_{kk<t} A[r, kk]·P[kk, j]
  for (let t: usize = 0, n = <usize>kc << 2; t < n; t += 4) {
    const x0 = load<f32>(a + t), x1 = load<f32>(a1 + t);
    const b0 = load<f32>(p), b1 = load<f32>(p, 4), b2 = load<f32>(p, 8), b3 = load<f32>(p, 12);
    s00 += x0 * b0; s01 += x0 * b1; s02 += x0 * b2; s03 += x0 * b3;
    s10 += x1 * b0; s11 += x1 * b1; s12 += x1 * b2; s13 += x1 * b3;
    p += NR << 2;
  }
  scalarStore4(c, s00, s01, s02, s03, nv, bias, addC);
  scalarStore4(c + ldc4, s10, s11, s12, s13, nv, bias, addC);
}

/** Scalar: 1 row × 4 columns of a packed panel, nv ≤ 4 valid. */
function scalarTile1x4(a: usize, p: usize, kc: i32, c: usize, nv: i32, bias: usize, addC: bool): void {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  // sj = Σ_{kk<t} A[0, kk]·P[kk, j]
  for (let t: usize = 0, n = <usize>kc << 2; t < n; t += 4) {
    const x = load<f32>(a + t);
    s0 += x * load<f32>(p); s1 += x * load<f32>(p, 4); s2 += x * load<f32>(p, 8); s3 += x * load<f32>(p, 12);
    p += NR << 2;
  }
  scalarStore4(c, s0, s1, s2, s3, nv, bias, addC);
}

@inline function scalarStore4(c: usize, s0: f32, s1: f32, s2: f32, s3: f32, nv: i32, bias: usize, addC: bool): void {
  if (nv > 0) store1(c, s0, bias, addC);
  if (nv > 1) store1(c + 4, s1, bias ? bias + 4 : 0, addC);
  if (nv > 2) store1(c + 8, s2, bias ? bias + 8 : 0, addC);
  if (nv > 3) store1(c + 12, s3, bias ? bias + 12 : 0, addC);
}

// ---------------------------------------------------------------------------------------------
// Direct (unpacked) kernels for a few rows: one row a of A, C row c.

/** B[k,n] row-major: C[j0:n] (op)= Σ_kk a[kk]·B[kk, j0:n]; column blocks of 16, 8 (SIMD) or 4 (scalar), then 1. */
function rowNN(a: usize, b: usize, ldb4: usize, c: usize, j0: i32, n: i32, k: i32, bias: usize, addC: bool): void {
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 16 <= n; j += 16) row1x16(a, b + (<usize>j << 2), ldb4, c + (<usize>j << 2), k, bias ? bias + (<usize>j << 2) : 0, addC);
    for (; j + 8 <= n; j += 8) row1x8(a, b + (<usize>j << 2), ldb4, c + (<usize>j << 2), k, bias ? bias + (<usize>j << 2) : 0, addC);
  } else {
    for (; j + 4 <= n; j += 4) row1x4s(a, b + (<usize>j << 2), ldb4, c + (<usize>j << 2), k, bias ? bias + (<usize>j << 2) : 0, addC);
  }
  // Remaining columns: C[j] (op)= Σ_kk a[kk]·B[kk, j]
  for (; j < n; j++) {
    let s: f32 = 0;
    let bp = b + (<usize>j << 2);
    for (let t: usize = 0, e = <usize>k << 2; t < e; t += 4) { s += load<f32>(a + t) * load<f32>(bp); bp += ldb4; }
    store1(c + (<usize>j << 2), s, bias ? bias + (<usize>j << 2) : 0, addC);
  }
}

/** Two rows, B[k,n]: C[r, :] (op)= Σ_kk A[r, kk]·B[kk, :] for r < 2; 2×16 tiles, then row by row. */
function rows2NN(a: usize, lda4: usize, b: usize, ldb4: usize, c: usize, ldc4: usize,
                 n: i32, k: i32, bias: usize, addC: bool): void {
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    const j4 = <usize>j << 2;
    row2x16(a, lda4, b + j4, ldb4, c + j4, ldc4, k, bias ? bias + j4 : 0, addC);
  }
  if (j < n) {
    rowNN(a, b, ldb4, c, j, n, k, bias, addC);
    rowNN(a + lda4, b, ldb4, c + ldc4, j, n, k, bias, addC);
  }
}

/** 2×16 unpacked tile: 8 accumulators over B[kk, 0:16]. */
function row2x16(a: usize, lda4: usize, b: usize, ldb4: usize, c: usize, ldc4: usize,
                 k: i32, bias: usize, addC: bool): void {
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
  const a1 = a + lda4;
  // sr0..sr3 = Σ_{kk < t/4} A[r, kk]·B[kk, 0:16]
  for (let t: usize = 0, e = <usize>k << 2; t < e; t += 4) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
    let x = v128.load32_splat(a + t);
    s00 = madd(x, b0, s00); s01 = madd(x, b1, s01); s02 = madd(x, b2, s02); s03 = madd(x, b3, s03);
    x = v128.load32_splat(a1 + t);
    s10 = madd(x, b0, s10); s11 = madd(x, b1, s11); s12 = madd(x, b2, s12); s13 = madd(x, b3, s13);
    b += ldb4;
  }
  const b32: usize = bias ? bias + 32 : 0;
  storeRow8(c, s00, s01, 8, bias, addC);
  storeRow8(c + 32, s02, s03, 8, b32, addC);
  storeRow8(c + ldc4, s10, s11, 8, bias, addC);
  storeRow8(c + ldc4 + 32, s12, s13, 8, b32, addC);
}

/** 1×16 unpacked tile: 4 accumulators over B[kk, 0:16] (measured faster here than 1×32). */
function row1x16(a: usize, b: usize, ldb4: usize, c: usize, k: i32, bias: usize, addC: bool): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  const end = a + (<usize>k << 2);
  // s0..s3 = Σ_{kk so far} a[kk]·B[kk, 0:16]
  while (a < end) {
    const x = v128.load32_splat(a);
    s0 = madd(x, v128.load(b), s0); s1 = madd(x, v128.load(b, 16), s1);
    s2 = madd(x, v128.load(b, 32), s2); s3 = madd(x, v128.load(b, 48), s3);
    a += 4; b += ldb4;
  }
  storeRow8(c, s0, s1, 8, bias, addC);
  storeRow8(c + 32, s2, s3, 8, bias ? bias + 32 : 0, addC);
}

/** 1×8 unpacked tile: 2 accumulators over B[kk, 0:8]. */
function row1x8(a: usize, b: usize, ldb4: usize, c: usize, k: i32, bias: usize, addC: bool): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  const end = a + (<usize>k << 2);
  // s0 | s1 = Σ_{kk so far} a[kk]·B[kk, 0:8]
  while (a < end) {
    const x = v128.load32_splat(a);
    s0 = madd(x, v128.load(b), s0); s1 = madd(x, v128.load(b, 16), s1);
    a += 4; b += ldb4;
  }
  storeRow8(c, s0, s1, 8, bias, addC);
}

/** Scalar 1×4 unpacked tile over B[kk, 0:4]. */
function row1x4s(a: usize, b: usize, ldb4: usize, c: usize, k: i32, bias: usize, addC: bool): void {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  // sj = Σ_{kk<t} a[kk]·B[kk, j]
  for (let t: usize = 0, e = <usize>k << 2; t < e; t += 4) {
    const x = load<f32>(a + t);
    s0 += x * load<f32>(b); s1 += x * load<f32>(b, 4); s2 += x * load<f32>(b, 8); s3 += x * load<f32>(b, 12);
    b += ldb4;
  }
  scalarStore4(c, s0, s1, s2, s3, 4, bias, addC);
}

/** B[n,k] (Bᵀ): C[j] (op)= a·B[j, :] for j0 ≤ j < n; columns 4 at a time, then 1. */
function rowNT(a: usize, b: usize, ldb4: usize, c: usize, j0: i32, n: i32, k: i32, bias: usize, addC: bool): void {
  let j = j0;
  for (; j + 4 <= n; j += 4) {
    dot1x4(a, b + <usize>j * ldb4, ldb4, c + (<usize>j << 2), k, bias ? bias + (<usize>j << 2) : 0, addC);
  }
  for (; j < n; j++) {
    store1(c + (<usize>j << 2), dot(a, b + <usize>j * ldb4, k), bias ? bias + (<usize>j << 2) : 0, addC);
  }
}

/** Two rows, B[n,k] (Bᵀ): C[r, j] (op)= A[r, :]·B[j, :] for r < 2; 2×4 tiles, then row by row. */
function rows2NT(a: usize, lda4: usize, b: usize, ldb4: usize, c: usize, ldc4: usize,
                 n: i32, k: i32, bias: usize, addC: bool): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const j4 = <usize>j << 2;
    dot2x4(a, lda4, b + <usize>j * ldb4, ldb4, c + j4, ldc4, k, bias ? bias + j4 : 0, addC);
  }
  if (j < n) {
    rowNT(a, b, ldb4, c, j, n, k, bias, addC);
    rowNT(a + lda4, b, ldb4, c + ldc4, j, n, k, bias, addC);
  }
}

/** Lanes of the four accumulators summed: [Σ s0, Σ s1, Σ s2, Σ s3] (a 4×4 transpose-and-add). */
@inline function hsum4(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const u0 = f32x4.add(f32x4.shuffle(s0, s1, 0, 4, 1, 5), f32x4.shuffle(s0, s1, 2, 6, 3, 7));
  const u1 = f32x4.add(f32x4.shuffle(s2, s3, 0, 4, 1, 5), f32x4.shuffle(s2, s3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(u0, u1, 0, 1, 4, 5), f32x4.shuffle(u0, u1, 2, 3, 6, 7));
}

/** 2×4 dot tile: C[r, 0:4] (op)= [A_r·B0 … A_r·B3], A_r = a + r·lda, Bj = b + j·ldb; 8 accumulators. */
function dot2x4(a: usize, lda4: usize, b: usize, ldb4: usize, c: usize, ldc4: usize,
                k: i32, bias: usize, addC: bool): void {
  const a1 = a + lda4, b1 = b + ldb4, b2 = b1 + ldb4, b3 = b2 + ldb4;
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
  let t: usize = 0;
  const e = <usize>k << 2;
  // lane l of srj = Σ_{kk < t/4, kk ≡ l mod 4} A_r[kk]·Bj[kk]
  for (const e4 = e & ~15; t < e4; t += 16) {
    const x0 = v128.load(a + t), x1 = v128.load(a1 + t);
    let y = v128.load(b + t);
    s00 = madd(x0, y, s00); s10 = madd(x1, y, s10);
    y = v128.load(b1 + t);
    s01 = madd(x0, y, s01); s11 = madd(x1, y, s11);
    y = v128.load(b2 + t);
    s02 = madd(x0, y, s02); s12 = madd(x1, y, s12);
    y = v128.load(b3 + t);
    s03 = madd(x0, y, s03); s13 = madd(x1, y, s13);
  }
  let r0 = hsum4(s00, s01, s02, s03), r1 = hsum4(s10, s11, s12, s13);
  // k tail (k mod 4 terms).
  for (; t < e; t += 4) {
    let v = f32x4.splat(load<f32>(b + t));
    v = f32x4.replace_lane(v, 1, load<f32>(b1 + t));
    v = f32x4.replace_lane(v, 2, load<f32>(b2 + t));
    v = f32x4.replace_lane(v, 3, load<f32>(b3 + t));
    r0 = madd(v128.load32_splat(a + t), v, r0);
    r1 = madd(v128.load32_splat(a1 + t), v, r1);
  }
  store4(c, r0, bias, addC);
  store4(c + ldc4, r1, bias, addC);
}

/** C[0:4] (op)= [a·B0, a·B1, a·B2, a·B3] with Br = B + r·ldb: four dot products of length k. */
function dot1x4(a: usize, b: usize, ldb4: usize, c: usize, k: i32, bias: usize, addC: bool): void {
  const b1 = b + ldb4, b2 = b1 + ldb4, b3 = b2 + ldb4;
  let t: usize = 0;
  const e = <usize>k << 2;
  if (ASC_FEATURE_SIMD) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    // lane l of sr = Σ_{kk < t/4, kk ≡ l mod 4} a[kk]·Br[kk]
    for (const e4 = e & ~15; t < e4; t += 16) {
      const x = v128.load(a + t);
      s0 = madd(x, v128.load(b + t), s0); s1 = madd(x, v128.load(b1 + t), s1);
      s2 = madd(x, v128.load(b2 + t), s2); s3 = madd(x, v128.load(b3 + t), s3);
    }
    let r = hsum4(s0, s1, s2, s3);
    // k tail (k mod 4 terms).
    for (; t < e; t += 4) {
      let v = f32x4.splat(load<f32>(b + t));
      v = f32x4.replace_lane(v, 1, load<f32>(b1 + t));
      v = f32x4.replace_lane(v, 2, load<f32>(b2 + t));
      v = f32x4.replace_lane(v, 3, load<f32>(b3 + t));
      r = madd(v128.load32_splat(a + t), v, r);
    }
    store4(c, r, bias, addC);
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    // sr = Σ_{kk<t} a[kk]·Br[kk]
    for (; t < e; t += 4) {
      const x = load<f32>(a + t);
      s0 += x * load<f32>(b + t); s1 += x * load<f32>(b1 + t); s2 += x * load<f32>(b2 + t); s3 += x * load<f32>(b3 + t);
    }
    scalarStore4(c, s0, s1, s2, s3, 4, bias, addC);
  }
}

/** a·b over k floats. */
function dot(a: usize, b: usize, k: i32): f32 {
  let t: usize = 0;
  const e = <usize>k << 2;
  let s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let v = f32x4.splat(0);
    // lane l of v = Σ_{kk < t/4, kk ≡ l mod 4} a[kk]·b[kk]
    for (const e4 = e & ~15; t < e4; t += 16) v = madd(v128.load(a + t), v128.load(b + t), v);
    s = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
  }
  for (; t < e; t += 4) s += load<f32>(a + t) * load<f32>(b + t);
  return s;
}
