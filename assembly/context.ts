// Context vectors: a weighted sum of value rows (the decoder-step GEMV of seq2seq attention).
import { madd4 } from './vmath';

/**
 * out[i, e] = Σ_j w[i, j]·v[j, e]  for w [m, s] (ld ldw), v [s, d] (ld ldv), out [m, d] (ld ldo).
 * The output columns are walked in 16-wide strips held in four v128 accumulators over the whole
 * j loop, so each value row is read once per strip and nothing is packed: at m = 1 this is
 * bound by reading v once.
 */
export function context(w: usize, ldw: i32, v: usize, ldv: i32, out: usize, ldo: i32, m: i32, s: i32, d: i32): void {
  for (let i = 0; i < m; i++) {
    const wRow = w + ((<usize>i * <usize>ldw) << 2);
    const oRow = out + ((<usize>i * <usize>ldo) << 2);
    let e = 0;
    if (ASC_FEATURE_SIMD) {
      for (; e + 16 <= d; e += 16) contextStrip16(wRow, v + (<usize>e << 2), ldv, oRow + (<usize>e << 2), s);
      for (; e + 4 <= d; e += 4) contextStrip4(wRow, v + (<usize>e << 2), ldv, oRow + (<usize>e << 2), s);
    }
    for (; e < d; e++) {
      let sum: f32 = 0;
      for (let j = 0; j < s; j++) sum += load<f32>(wRow + (<usize>j << 2)) * load<f32>(v + ((<usize>j * <usize>ldv + <usize>e) << 2));
      store<f32>(oRow + (<usize>e << 2), sum);
    }
  }
}

/** out[0..16) = Σ_j w[j]·v[j, 0..16) */
// @ts-ignore: decorator
@inline function contextStrip16(wRow: usize, v: usize, ldv: i32, out: usize, s: i32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const step = <usize>ldv << 2;
  let vp = v;
  for (let j = 0; j < s; j++) {
    const wj = v128.load32_splat(wRow + (<usize>j << 2));
    a0 = madd4(wj, v128.load(vp), a0);
    a1 = madd4(wj, v128.load(vp, 16), a1);
    a2 = madd4(wj, v128.load(vp, 32), a2);
    a3 = madd4(wj, v128.load(vp, 48), a3);
    vp += step;
  }
  v128.store(out, a0);
  v128.store(out, a1, 16);
  v128.store(out, a2, 32);
  v128.store(out, a3, 48);
}

/** out[0..4) = Σ_j w[j]·v[j, 0..4) */
// @ts-ignore: decorator
@inline function contextStrip4(wRow: usize, v: usize, ldv: i32, out: usize, s: i32): void {
  let a0 = f32x4.splat(0);
  const step = <usize>ldv << 2;
  let vp = v;
  for (let j = 0; j < s; j++) {
    a0 = madd4(v128.load32_splat(wRow + (<usize>j << 2)), v128.load(vp), a0);
    vp += step;
  }
  v128.store(out, a0);
}
