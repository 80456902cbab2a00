// Packed micro-kernels: C[r, 0:nv] (op)= Σ_{kk<kc} A[r, kk]·P[kk, 0:8], P a packed panel (row kk
// at p + 32·kk, see pack.ts), A rows lda4 bytes apart. Names: gemm<rows>x<cols>Packed[Scalar].
import { madd4 } from '../simd';
import { store4Scalar, storeRow8 } from './epilogue';
import { NR } from './tiles';

/** 4×8 tile, 8 accumulators (the main tile). */
export function gemm4x8Packed(a: usize, lda4: usize, p: usize, kc: i32, c: usize, ldc4: usize,
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
      c00 = madd4(x, b0, c00); c01 = madd4(x, b1, c01);
      x = v128.load32_splat(a1);
      c10 = madd4(x, b0, c10); c11 = madd4(x, b1, c11);
      x = v128.load32_splat(a2);
      c20 = madd4(x, b0, c20); c21 = madd4(x, b1, c21);
      x = v128.load32_splat(a3);
      c30 = madd4(x, b0, c30); c31 = madd4(x, b1, c31);
      a0 += 4; a1 += 4; a2 += 4; a3 += 4; p += 32;
    }
    storeRow8(c, c00, c01, nv, bias, addC); c += ldc4;
    storeRow8(c, c10, c11, nv, bias, addC); c += ldc4;
    storeRow8(c, c20, c21, nv, bias, addC); c += ldc4;
    storeRow8(c, c30, c31, nv, bias, addC);
  } else {
    gemm2x4PackedScalar(a, lda4, p, kc, c, ldc4, nv, bias, addC);
    gemm2x4PackedScalar(a + (lda4 << 1), lda4, p, kc, c + (ldc4 << 1), ldc4, nv, bias, addC);
    if (nv > 4) {
      const b4: usize = bias ? bias + 16 : 0;
      gemm2x4PackedScalar(a, lda4, p + 16, kc, c + 16, ldc4, nv - 4, b4, addC);
      gemm2x4PackedScalar(a + (lda4 << 1), lda4, p + 16, kc, c + (ldc4 << 1) + 16, ldc4, nv - 4, b4, addC);
    }
  }
}

/** 2×8 tile (row tail), 4 accumulators. */
export function gemm2x8Packed(a: usize, lda4: usize, p: usize, kc: i32, c: usize, ldc4: usize,
                              nv: i32, bias: usize, addC: bool): void {
  if (ASC_FEATURE_SIMD) {
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let a0 = a, a1 = a + lda4;
    const end = p + (<usize>kc << 5);
    // cr0 | cr1 = Σ_{kk so far} A[r, kk]·P[kk, 0:8]
    while (p < end) {
      const b0 = v128.load(p), b1 = v128.load(p, 16);
      let x = v128.load32_splat(a0);
      c00 = madd4(x, b0, c00); c01 = madd4(x, b1, c01);
      x = v128.load32_splat(a1);
      c10 = madd4(x, b0, c10); c11 = madd4(x, b1, c11);
      a0 += 4; a1 += 4; p += 32;
    }
    storeRow8(c, c00, c01, nv, bias, addC);
    storeRow8(c + ldc4, c10, c11, nv, bias, addC);
  } else {
    gemm2x4PackedScalar(a, lda4, p, kc, c, ldc4, nv, bias, addC);
    if (nv > 4) gemm2x4PackedScalar(a, lda4, p + 16, kc, c + 16, ldc4, nv - 4, bias ? bias + 16 : 0, addC);
  }
}

/** 1×8 tile (row tail), 2 accumulators. */
export function gemm1x8Packed(a: usize, p: usize, kc: i32, c: usize, nv: i32, bias: usize, addC: bool): void {
  if (ASC_FEATURE_SIMD) {
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
    const end = p + (<usize>kc << 5);
    // c00 | c01 = Σ_{kk so far} A[0, kk]·P[kk, 0:8]
    while (p < end) {
      const x = v128.load32_splat(a);
      c00 = madd4(x, v128.load(p), c00); c01 = madd4(x, v128.load(p, 16), c01);
      a += 4; p += 32;
    }
    storeRow8(c, c00, c01, nv, bias, addC);
  } else {
    gemm1x4PackedScalar(a, p, kc, c, nv, bias, addC);
    if (nv > 4) gemm1x4PackedScalar(a, p + 16, kc, c + 16, nv - 4, bias ? bias + 16 : 0, addC);
  }
}

/** Scalar build: 2 rows × 4 columns of a packed panel (p points at the column), nv ≤ 4 valid. */
function gemm2x4PackedScalar(a: usize, lda4: usize, p: usize, kc: i32, c: usize, ldc4: usize,
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
  store4Scalar(c, s00, s01, s02, s03, nv, bias, addC);
  store4Scalar(c + ldc4, s10, s11, s12, s13, nv, bias, addC);
}

/** Scalar build: 1 row × 4 columns of a packed panel, nv ≤ 4 valid. */
function gemm1x4PackedScalar(a: usize, p: usize, kc: i32, c: usize, nv: i32, bias: usize, addC: bool): void {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  // sj = Σ_{kk<t} A[0, kk]·P[kk, j]
  for (let t: usize = 0, n = <usize>kc << 2; t < n; t += 4) {
    const x = load<f32>(a + t);
    s0 += x * load<f32>(p); s1 += x * load<f32>(p, 4); s2 += x * load<f32>(p, 8); s3 += x * load<f32>(p, 12);
    p += NR << 2;
  }
  store4Scalar(c, s0, s1, s2, s3, nv, bias, addC);
}
