// PV micro-kernels and the block update they make: O = α·O + P·V for a query block.
// pv<rows>x<columns>[Scalar]: p is a probability row (contiguous), v points at v[0][c] (row
// stride vRow bytes), o at the accumulator row; o[c] = α·o[c] + Σ_{j<w} p[j]·v[j][c].
import { madd4 } from '../simd';
import { KB } from './tiles';

/** 2 rows × 16 columns, 8 v128 accumulators over the whole key loop. */
@inline function pv2x16(pa: usize, pb: usize, v: usize, vRow: usize, w: i32,
                        oa: usize, ob: usize, alphaA: f32, alphaB: f32): void {
  const xa = f32x4.splat(alphaA), xb = f32x4.splat(alphaB);
  let a0 = f32x4.mul(v128.load(oa), xa), a1 = f32x4.mul(v128.load(oa, 16), xa);
  let a2 = f32x4.mul(v128.load(oa, 32), xa), a3 = f32x4.mul(v128.load(oa, 48), xa);
  let b0 = f32x4.mul(v128.load(ob), xb), b1 = f32x4.mul(v128.load(ob, 16), xb);
  let b2 = f32x4.mul(v128.load(ob, 32), xb), b3 = f32x4.mul(v128.load(ob, 48), xb);
  // do-while (w ≥ 1) over the probability pointer, as in qk2x16Packed
  const paEnd = pa + (<usize>w << 2);
  do {
    const v0 = v128.load(v), v1 = v128.load(v, 16), v2 = v128.load(v, 32), v3 = v128.load(v, 48);
    const x = v128.load32_splat(pa), y = v128.load32_splat(pb);
    a0 = madd4(x, v0, a0); a1 = madd4(x, v1, a1); a2 = madd4(x, v2, a2); a3 = madd4(x, v3, a3);
    b0 = madd4(y, v0, b0); b1 = madd4(y, v1, b1); b2 = madd4(y, v2, b2); b3 = madd4(y, v3, b3);
    v += vRow; pa += 4; pb += 4;
  } while (pa < paEnd);
  v128.store(oa, a0); v128.store(oa, a1, 16); v128.store(oa, a2, 32); v128.store(oa, a3, 48);
  v128.store(ob, b0); v128.store(ob, b1, 16); v128.store(ob, b2, 32); v128.store(ob, b3, 48);
}

/** 1 row × 16 columns. */
@inline function pv1x16(pa: usize, v: usize, vRow: usize, w: i32, oa: usize, alphaA: f32): void {
  const xa = f32x4.splat(alphaA);
  let a0 = f32x4.mul(v128.load(oa), xa), a1 = f32x4.mul(v128.load(oa, 16), xa);
  let a2 = f32x4.mul(v128.load(oa, 32), xa), a3 = f32x4.mul(v128.load(oa, 48), xa);
  for (let j = 0; j < w; j++) {
    const x = v128.load32_splat(pa);
    a0 = madd4(x, v128.load(v), a0); a1 = madd4(x, v128.load(v, 16), a1);
    a2 = madd4(x, v128.load(v, 32), a2); a3 = madd4(x, v128.load(v, 48), a3);
    v += vRow; pa += 4;
  }
  v128.store(oa, a0); v128.store(oa, a1, 16); v128.store(oa, a2, 32); v128.store(oa, a3, 48);
}

/** 2 rows × 4 columns (column tail of the SIMD build). */
@inline function pv2x4(pa: usize, pb: usize, v: usize, vRow: usize, w: i32,
                       oa: usize, ob: usize, alphaA: f32, alphaB: f32): void {
  let a = f32x4.mul(v128.load(oa), f32x4.splat(alphaA));
  let b = f32x4.mul(v128.load(ob), f32x4.splat(alphaB));
  for (let j = 0; j < w; j++) {
    const vv = v128.load(v);
    a = madd4(v128.load32_splat(pa), vv, a);
    b = madd4(v128.load32_splat(pb), vv, b);
    v += vRow; pa += 4; pb += 4;
  }
  v128.store(oa, a); v128.store(ob, b);
}

/** 1 row × 4 columns. */
@inline function pv1x4(pa: usize, v: usize, vRow: usize, w: i32, oa: usize, alphaA: f32): void {
  let a = f32x4.mul(v128.load(oa), f32x4.splat(alphaA));
  for (let j = 0; j < w; j++) {
    a = madd4(v128.load32_splat(pa), v128.load(v), a);
    v += vRow; pa += 4;
  }
  v128.store(oa, a);
}

/** Scalar build: 2 rows × 4 columns, 8 accumulators. */
@inline function pv2x4Scalar(pa: usize, pb: usize, v: usize, vRow: usize, w: i32,
                             oa: usize, ob: usize, alphaA: f32, alphaB: f32): void {
  let a0 = load<f32>(oa) * alphaA, a1 = load<f32>(oa, 4) * alphaA;
  let a2 = load<f32>(oa, 8) * alphaA, a3 = load<f32>(oa, 12) * alphaA;
  let b0 = load<f32>(ob) * alphaB, b1 = load<f32>(ob, 4) * alphaB;
  let b2 = load<f32>(ob, 8) * alphaB, b3 = load<f32>(ob, 12) * alphaB;
  for (let j = 0; j < w; j++) {
    const v0 = load<f32>(v), v1 = load<f32>(v, 4), v2 = load<f32>(v, 8), v3 = load<f32>(v, 12);
    const x = load<f32>(pa), y = load<f32>(pb);
    a0 += x * v0; a1 += x * v1; a2 += x * v2; a3 += x * v3;
    b0 += y * v0; b1 += y * v1; b2 += y * v2; b3 += y * v3;
    v += vRow; pa += 4; pb += 4;
  }
  store<f32>(oa, a0); store<f32>(oa, a1, 4); store<f32>(oa, a2, 8); store<f32>(oa, a3, 12);
  store<f32>(ob, b0); store<f32>(ob, b1, 4); store<f32>(ob, b2, 8); store<f32>(ob, b3, 12);
}

/** Scalar build: 1 row × 4 columns. */
@inline function pv1x4Scalar(pa: usize, v: usize, vRow: usize, w: i32, oa: usize, alphaA: f32): void {
  let a0 = load<f32>(oa) * alphaA, a1 = load<f32>(oa, 4) * alphaA;
  let a2 = load<f32>(oa, 8) * alphaA, a3 = load<f32>(oa, 12) * alphaA;
  for (let j = 0; j < w; j++) {
    const x = load<f32>(pa);
    a0 += x * load<f32>(v); a1 += x * load<f32>(v, 4);
    a2 += x * load<f32>(v, 8); a3 += x * load<f32>(v, 12);
    v += vRow; pa += 4;
  }
  store<f32>(oa, a0); store<f32>(oa, a1, 4); store<f32>(oa, a2, 8); store<f32>(oa, a3, 12);
}

/** 1 row × 1 column (dv % 4 tail, both builds). */
@inline function pv1x1(pa: usize, v: usize, vRow: usize, w: i32, oa: usize, alphaA: f32): void {
  let a = load<f32>(oa) * alphaA;
  for (let j = 0; j < w; j++) {
    a += load<f32>(pa) * load<f32>(v);
    v += vRow; pa += 4;
  }
  store<f32>(oa, a);
}

/**
 * O[r][c] = A[r]·O[r][c] + Σ_{j<w} P[r][j]·v[j][c] for r < nr, c < dv
 * (P = score tile, row stride KB; O row stride dvP; v row stride vRow bytes).
 * Column strips outer, row pairs inner: one strip of V (w × 16 floats) stays in L1 across the
 * query block.
 */
export function pvBlock(p: usize, v: usize, vRow: usize, w: i32, nr: i32, dv: i32, dvP: i32,
                        o: usize, alpha: usize): void {
  const pRow = <usize>KB << 2;
  const oRow = <usize>dvP << 2;
  const pairs = nr & ~1;
  const odd = nr & 1;
  const pLast = p + <usize>pairs * pRow, oLast = o + <usize>pairs * oRow;
  const aLast: f32 = odd ? load<f32>(alpha + (<usize>pairs << 2)) : 0;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    // 16-column strips
    for (; c + 16 <= dv; c += 16) {
      const co = <usize>c << 2;
      for (let r = 0; r < pairs; r += 2) {
        const pa = p + <usize>r * pRow, oa = o + <usize>r * oRow + co;
        const ar = alpha + (<usize>r << 2);
        pv2x16(pa, pa + pRow, v + co, vRow, w, oa, oa + oRow, load<f32>(ar), load<f32>(ar, 4));
      }
      if (odd) pv1x16(pLast, v + co, vRow, w, oLast + co, aLast);
    }
    // 4-column strips
    for (; c + 4 <= dv; c += 4) {
      const co = <usize>c << 2;
      for (let r = 0; r < pairs; r += 2) {
        const pa = p + <usize>r * pRow, oa = o + <usize>r * oRow + co;
        const ar = alpha + (<usize>r << 2);
        pv2x4(pa, pa + pRow, v + co, vRow, w, oa, oa + oRow, load<f32>(ar), load<f32>(ar, 4));
      }
      if (odd) pv1x4(pLast, v + co, vRow, w, oLast + co, aLast);
    }
  } else {
    // 4-column strips, scalar
    for (; c + 4 <= dv; c += 4) {
      const co = <usize>c << 2;
      for (let r = 0; r < pairs; r += 2) {
        const pa = p + <usize>r * pRow, oa = o + <usize>r * oRow + co;
        const ar = alpha + (<usize>r << 2);
        pv2x4Scalar(pa, pa + pRow, v + co, vRow, w, oa, oa + oRow, load<f32>(ar), load<f32>(ar, 4));
      }
      if (odd) pv1x4Scalar(pLast, v + co, vRow, w, oLast + co, aLast);
    }
  }
  // single columns (dv % 4)
  for (; c < dv; c++) {
    const co = <usize>c << 2;
    for (let r = 0; r < nr; r++) {
      pv1x1(p + <usize>r * pRow, v + co, vRow, w, o + <usize>r * oRow + co, load<f32>(alpha + (<usize>r << 2)));
    }
  }
}
