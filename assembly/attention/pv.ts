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

// Strip kernels by width (the argument is a constant after inlining): 16, 4 (SIMD) or 4 (scalar
// build, kind 3), and 1. A pair call needs count ≥ 1; a single-row call takes count 0 (α only).

@inline function pvPair(kind: i32, pa: usize, pb: usize, v: usize, vRow: usize, w: i32,
                        oa: usize, ob: usize, alphaA: f32, alphaB: f32): void {
  if (ASC_FEATURE_SIMD) {
    if (kind == 16) {
      pv2x16(pa, pb, v, vRow, w, oa, ob, alphaA, alphaB);
      return;
    }
    if (kind == 4) {
      pv2x4(pa, pb, v, vRow, w, oa, ob, alphaA, alphaB);
      return;
    }
  }
  if (kind == 3) pv2x4Scalar(pa, pb, v, vRow, w, oa, ob, alphaA, alphaB);
  else {
    pv1x1(pa, v, vRow, w, oa, alphaA);
    pv1x1(pb, v, vRow, w, ob, alphaB);
  }
}

@inline function pvSingle(kind: i32, pa: usize, v: usize, vRow: usize, w: i32, oa: usize, alphaA: f32): void {
  if (ASC_FEATURE_SIMD) {
    if (kind == 16) {
      pv1x16(pa, v, vRow, w, oa, alphaA);
      return;
    }
    if (kind == 4) {
      pv1x4(pa, v, vRow, w, oa, alphaA);
      return;
    }
  }
  if (kind == 3) pv1x4Scalar(pa, v, vRow, w, oa, alphaA);
  else pv1x1(pa, v, vRow, w, oa, alphaA);
}

/**
 * Rows a and b (P rows pa, pb; O rows oa, ob) of one column strip, each over its own visible keys
 * [aa, ca) and [ab, cb): the keys both see go through the pair kernel, the rest row by row (α
 * applied once per row). A key outside a row's range is never multiplied into its O, so a
 * non-finite value there cannot reach it (0·∞ would be NaN). A key that a mask tensor hides inside
 * the range has P = 0 and is multiplied like the others (as in PyTorch's attention).
 */
@inline function pvRowPair(kind: i32, pa: usize, pb: usize, v: usize, vRow: usize,
                           oa: usize, ob: usize, alphaA: f32, alphaB: f32,
                           aa: i32, ca: i32, ab: i32, cb: i32): void {
  const lo = max<i32>(aa, ab), hi = min<i32>(ca, cb);
  if (hi > lo) {
    pvPair(kind, pa + (<usize>lo << 2), pb + (<usize>lo << 2), v + <usize>lo * vRow, vRow, hi - lo, oa, ob, alphaA, alphaB);
    if (aa < lo) pvSingle(kind, pa + (<usize>aa << 2), v + <usize>aa * vRow, vRow, lo - aa, oa, 1);
    if (ca > hi) pvSingle(kind, pa + (<usize>hi << 2), v + <usize>hi * vRow, vRow, ca - hi, oa, 1);
    if (ab < lo) pvSingle(kind, pb + (<usize>ab << 2), v + <usize>ab * vRow, vRow, lo - ab, ob, 1);
    if (cb > hi) pvSingle(kind, pb + (<usize>hi << 2), v + <usize>hi * vRow, vRow, cb - hi, ob, 1);
  } else {
    pvSingle(kind, pa + (<usize>aa << 2), v + <usize>aa * vRow, vRow, ca - aa, oa, alphaA);
    pvSingle(kind, pb + (<usize>ab << 2), v + <usize>ab * vRow, vRow, cb - ab, ob, alphaB);
  }
}

/** One column strip of width `kind` at byte offset co, every row of the block. */
@inline function pvStrip(kind: i32, p: usize, pRow: usize, v: usize, vRow: usize, o: usize, oRow: usize,
                         nr: i32, alpha: usize, range: usize): void {
  let r = 0;
  for (; r + 2 <= nr; r += 2) {
    const pa = p + <usize>r * pRow, oa = o + <usize>r * oRow;
    const ar = alpha + (<usize>r << 2), rr = range + (<usize>r << 3);
    pvRowPair(kind, pa, pa + pRow, v, vRow, oa, oa + oRow, load<f32>(ar), load<f32>(ar, 4),
              load<i32>(rr), load<i32>(rr, 4), load<i32>(rr, 8), load<i32>(rr, 12));
  }
  if (r < nr) {
    const rr = range + (<usize>r << 3);
    const a = load<i32>(rr);
    pvSingle(kind, p + <usize>r * pRow + (<usize>a << 2), v + <usize>a * vRow, vRow, load<i32>(rr, 4) - a,
             o + <usize>r * oRow, load<f32>(alpha + (<usize>r << 2)));
  }
}

/**
 * O[r][c] = A[r]·O[r][c] + Σ_{j ∈ [a_r, c_r)} P[r][j]·v[j][c] for r < nr, c < dv, where
 * range[r] = (a_r, c_r) is row r's visible keys in this block (i32 pairs); P = score tile (row
 * stride KB), O row stride dvP, v row stride vRow bytes. Column strips outer, row pairs inner: one
 * strip of V (w × 16 floats) stays in L1 across the query block.
 */
export function pvBlock(p: usize, v: usize, vRow: usize, nr: i32, dv: i32, dvP: i32,
                        o: usize, alpha: usize, range: usize): void {
  const pRow = <usize>KB << 2;
  const oRow = <usize>dvP << 2;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 16 <= dv; c += 16) pvStrip(16, p, pRow, v + (<usize>c << 2), vRow, o + (<usize>c << 2), oRow, nr, alpha, range);
    for (; c + 4 <= dv; c += 4) pvStrip(4, p, pRow, v + (<usize>c << 2), vRow, o + (<usize>c << 2), oRow, nr, alpha, range);
  } else {
    for (; c + 4 <= dv; c += 4) pvStrip(3, p, pRow, v + (<usize>c << 2), vRow, o + (<usize>c << 2), oRow, nr, alpha, range);
  }
  // single columns (dv % 4)
  for (; c < dv; c++) pvStrip(1, p, pRow, v + (<usize>c << 2), vRow, o + (<usize>c << 2), oRow, nr, alpha, range);
}
