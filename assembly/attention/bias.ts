// The score step between the QK tile and the softmax: soft-capping, a position bias (ALiBi, T5's
// relative buckets) and a mask tensor, computed from their parameters one row at a time (nothing
// of size Lq×Lk is ever made). Both attention paths call it: the fused kernel on its log2-domain
// score tile (unit = log2 e), the materialised path on natural-unit scores (unit = 1).
import { tanhf32, tanhf32x4 } from '../vmath';
import {
  ALIBI_SLOPES, f32At, HEADS, i32At, LK, LQ, MASK, MASK_BOOL, MASK_KIND, MASK_SB, MASK_SH, MASK_SK, MASK_SL,
  ptrAt, RELATIVE_BUCKETS, RELATIVE_TABLE, SOFTCAP,
} from './params';

/** Whether the block asks for any of the steps below (when not, the kernels skip them entirely). */
export function hasScoreStep(params: usize): bool {
  return f32At(params, SOFTCAP) > 0 || ptrAt(params, ALIBI_SLOPES) != 0 || ptrAt(params, RELATIVE_TABLE) != 0 || ptrAt(params, MASK) != 0;
}

/**
 * Scores row[0..n) of query i (head h, batch b) against keys j0 … j0 + n − 1, with u = unit:
 *   softcap c:  s ← (c·u)·tanh(s / (c·u))       (the scaled score, before bias and mask)
 *   ALiBi:      s ← s − slope[h]·u·|j − pos(i)|
 *   relative:   s ← s + table[bucket(j − pos(i)), h]·u
 *   mask:       s ← −inf where a bool mask is false; s ← s + m·u for a float mask
 * with pos(i) = i + Lk − Lq. Returns how many keys of [ja, jc) the mask hides (a false bool or a
 * −inf float), so the caller can tell a masked-out row (zeros) from −inf scores (NaN).
 */
export function scoreStep(params: usize, b: i32, h: i32, i: i32, j0: i32, n: i32, row: usize, unit: f32, ja: i32, jc: i32): i32 {
  const pos = i + i32At(params, LK) - i32At(params, LQ);
  const cap = f32At(params, SOFTCAP);
  if (cap > 0) softcapRow(row, n, cap * unit);
  const slopes = ptrAt(params, ALIBI_SLOPES);
  if (slopes != 0) alibiRow(row, n, <f32>(j0 - pos), load<f32>(slopes + (<usize>h << 2)) * unit);
  const relative = ptrAt(params, RELATIVE_TABLE);
  if (relative != 0) {
    const heads = i32At(params, HEADS);
    const table = relative + (<usize>h << 2);
    // buckets[d + Lk − 1] for d = j − pos
    const buckets = ptrAt(params, RELATIVE_BUCKETS) + (<usize>(j0 - pos + i32At(params, LK) - 1) << 2);
    for (let j = 0; j < n; j++) {
      const p = row + (<usize>j << 2);
      const bucket = load<i32>(buckets + (<usize>j << 2));
      store<f32>(p, load<f32>(p) + load<f32>(table + (<usize>(bucket * heads) << 2)) * unit);
    }
  }
  const mask = ptrAt(params, MASK);
  if (mask == 0) return 0;
  const at = b * i32At(params, MASK_SB) + h * i32At(params, MASK_SH) + i * i32At(params, MASK_SL);
  const step = i32At(params, MASK_SK);
  let hidden = 0;
  if (i32At(params, MASK_KIND) == MASK_BOOL) {
    const m = mask + <usize>(at + j0 * step);
    for (let j = 0; j < n; j++) {
      if (load<u8>(m + <usize>(j * step)) == 0) {
        store<f32>(row + (<usize>j << 2), -Infinity);
        if (j0 + j >= ja && j0 + j < jc) hidden++;
      }
    }
  } else {
    const m = mask + (<usize>(at + j0 * step) << 2);
    for (let j = 0; j < n; j++) {
      const x = load<f32>(m + (<usize>(j * step) << 2));
      const p = row + (<usize>j << 2);
      store<f32>(p, load<f32>(p) + x * unit);
      if (x == -Infinity && j0 + j >= ja && j0 + j < jc) hidden++;
    }
  }
  return hidden;
}

/** row[j] = c·tanh(row[j]/c) for j < n. */
function softcapRow(row: usize, n: i32, c: f32): void {
  const inv: f32 = <f32>1.0 / c;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const cv = f32x4.splat(c), iv = f32x4.splat(inv);
    for (; j + 4 <= n; j += 4) {
      const p = row + (<usize>j << 2);
      v128.store(p, f32x4.mul(cv, tanhf32x4(f32x4.mul(v128.load(p), iv))));
    }
  }
  for (; j < n; j++) {
    const p = row + (<usize>j << 2);
    store<f32>(p, c * tanhf32(load<f32>(p) * inv));
  }
}

/** row[j] −= slope·|d0 + j| for j < n (d0 = j0 − pos: the relative distance of the first key). */
function alibiRow(row: usize, n: i32, d0: f32, slope: f32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const sv = f32x4.splat(slope), four = f32x4.splat(4);
    let d = f32x4.add(f32x4.splat(d0), f32x4(0, 1, 2, 3));
    for (; j + 4 <= n; j += 4) {
      const p = row + (<usize>j << 2);
      v128.store(p, f32x4.sub(v128.load(p), f32x4.mul(sv, f32x4.abs(d))));
      d = f32x4.add(d, four);
    }
  }
  for (; j < n; j++) {
    const p = row + (<usize>j << 2);
    store<f32>(p, load<f32>(p) - slope * Mathf.abs(d0 + <f32>j));
  }
}
