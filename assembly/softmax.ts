// Row softmax with scale, an additive mask and a visible key range.
import { expf32, expf32x4 } from './vmath';
import { hmax, hsum } from './simd';

/**
 * In place, for each row i of x [rows, cols] (leading dim ldx): softmaxRange over keys
 * [0, visible) (visible clamped to [0, cols]), with mask row i·ldMask (mask = 0: none;
 * ldMask = 0: one mask row for all rows).
 */
export function softmax(x: usize, ldx: i32, rows: i32, cols: i32, scale: f32,
                        mask: usize, ldMask: i32, visible: i32): void {
  const hi = min<i32>(max<i32>(visible, 0), cols);
  for (let i = 0; i < rows; i++) {
    const row = x + ((<usize>i * <usize>ldx) << 2);
    const maskRow: usize = mask == 0 ? 0 : mask + ((<usize>i * <usize>ldMask) << 2);
    softmaxRange(row, 0, hi, cols, scale, maskRow, false);
  }
}

/**
 * One row of cols values, visible keys [lo, hi) (0 ≤ lo ≤ hi ≤ cols):
 *   z_j = x_j·scale + mask_j,  y_j = exp(z_j − max z) / Σ exp(z − max z)  for lo ≤ j < hi,
 *   y_j = 0 elsewhere. A row that sees no key becomes zeros. A NaN z (or +Infinity, through
 *   ∞ − ∞) makes the visible y NaN. A row whose visible z are all -Infinity becomes zeros when
 *   -Infinity is a mask (allNegInfIsNaN false: the additive-mask softmax) and NaN when it came
 *   from the inputs (true: attention, whose masks are ranges), as the softmax of all -inf is.
 */
export function softmaxRange(row: usize, lo: i32, hi: i32, cols: i32, scale: f32, maskRow: usize, allNegInfIsNaN: bool): void {
  const first = row + (<usize>lo << 2);
  const n = hi - lo;
  const max = scaleMaskMax(first, maskRow == 0 ? 0 : maskRow + (<usize>lo << 2), n, scale);
  if (max == -Infinity) {
    // the max skips NaN: the visible z are all -inf, or some are NaN
    let nan = n > 0 && allNegInfIsNaN;
    for (let j = 0; j < n && !nan; j++) {
      const z = load<f32>(first + (<usize>j << 2));
      nan = z != z;
    }
    fillZero(row, cols);
    if (nan) for (let j = lo; j < hi; j++) store<f32>(row + (<usize>j << 2), NaN);
    return;
  }
  const sum = expSum(first, n, max);
  scaleRow(first, n, 1.0 / sum);
  fillZero(row, lo);
  fillZero(row + (<usize>hi << 2), cols - hi);
}

/** z_j = x_j·scale + m_j in place for j < n; returns max_j z_j (-Infinity when n = 0). */
@inline function scaleMaskMax(row: usize, maskRow: usize, n: i32, scale: f32): f32 {
  let max: f32 = -Infinity;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const s4 = f32x4.splat(scale);
    let m4 = f32x4.splat(-Infinity);
    for (; j + 4 <= n; j += 4) {
      const p = row + (<usize>j << 2);
      let z = f32x4.mul(v128.load(p), s4);
      if (maskRow != 0) z = f32x4.add(z, v128.load(maskRow + (<usize>j << 2)));
      v128.store(p, z);
      m4 = f32x4.pmax(m4, z);
    }
    max = hmax(m4);
  }
  for (; j < n; j++) {
    const p = row + (<usize>j << 2);
    let z = load<f32>(p) * scale;
    if (maskRow != 0) z += load<f32>(maskRow + (<usize>j << 2));
    store<f32>(p, z);
    if (z > max) max = z;
  }
  return max;
}

/** y_j = exp(z_j − max) in place for j < n; returns Σ_j y_j. */
@inline function expSum(row: usize, n: i32, max: f32): f32 {
  let sum: f32 = 0;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const max4 = f32x4.splat(max);
    let sum4 = f32x4.splat(0);
    for (; j + 4 <= n; j += 4) {
      const p = row + (<usize>j << 2);
      const y = expf32x4(f32x4.sub(v128.load(p), max4));
      v128.store(p, y);
      sum4 = f32x4.add(sum4, y);
    }
    sum = hsum(sum4);
  }
  for (; j < n; j++) {
    const p = row + (<usize>j << 2);
    const y = expf32(load<f32>(p) - max);
    store<f32>(p, y);
    sum += y;
  }
  return sum;
}

/** row[j] ·= factor for j < n. */
@inline export function scaleRow(row: usize, n: i32, factor: f32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const f4 = f32x4.splat(factor);
    for (; j + 4 <= n; j += 4) {
      const p = row + (<usize>j << 2);
      v128.store(p, f32x4.mul(v128.load(p), f4));
    }
  }
  for (; j < n; j++) {
    const p = row + (<usize>j << 2);
    store<f32>(p, load<f32>(p) * factor);
  }
}

@inline function fillZero(p: usize, n: i32): void {
  if (n > 0) memory.fill(p, 0, <usize>n << 2);
}

/**
 * In place, for each row i of x [rows, cols] (leading dim ldx): log_softmax,
 *   y_j = x_j − m − log Σ_k e^{x_k − m},  m = max_k x_k
 * (the decoder's log-probabilities; m keeps every e^{x − m} ≤ 1). Error ≤ ~2e-7 absolute: the
 * sum has relative error ~1e-7 and log turns that into an absolute one. A NaN in a row makes the
 * row NaN; a row of −Infinity (or with +Infinity) becomes NaN, as PyTorch's log_softmax.
 */
export function logSoftmax(x: usize, ldx: i32, rows: i32, cols: i32): void {
  for (let i = 0; i < rows; i++) {
    const row = x + ((<usize>i * <usize>ldx) << 2);
    const max = scaleMaskMax(row, 0, cols, 1); // z = x·1: x itself, and its max (NaN skipped)
    let nan = false;
    for (let j = 0; j < cols && !nan; j++) {
      const z = load<f32>(row + (<usize>j << 2));
      nan = z != z;
    }
    const shift = nan ? <f32>NaN : max + Mathf.log(expSumOnly(row, cols, max));
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const s4 = f32x4.splat(shift);
      for (; j + 4 <= cols; j += 4) {
        const p = row + (<usize>j << 2);
        v128.store(p, f32x4.sub(v128.load(p), s4));
      }
    }
    for (; j < cols; j++) {
      const p = row + (<usize>j << 2);
      store<f32>(p, load<f32>(p) - shift);
    }
  }
}

/** Σ_j exp(z_j − max) for j < n (z left as it is). */
@inline function expSumOnly(row: usize, n: i32, max: f32): f32 {
  let sum: f32 = 0;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const max4 = f32x4.splat(max);
    let sum4 = f32x4.splat(0);
    for (; j + 4 <= n; j += 4) sum4 = f32x4.add(sum4, expf32x4(f32x4.sub(v128.load(row + (<usize>j << 2)), max4)));
    sum = hsum(sum4);
  }
  for (; j < n; j++) sum += expf32(load<f32>(row + (<usize>j << 2)) - max);
  return sum;
}
