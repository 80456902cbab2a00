// Row softmax with scale, additive mask and visible-key limits (causal, key lengths).
import { expf32, expf32x4 } from './vmath';

/**
 * In place, for row i of x [rows, cols] (leading dim ldx):
 *   visible(i) = clamp(min(keyLength, causal ? i + causalOffset + 1 : cols), 0, cols)
 *   z_j = x_j·scale + mask[i·ldMask + j]  for j < visible(i)      (mask == 0: no mask)
 *   y_j = exp(z_j − max z) / Σ_j exp(z_j − max z),  y_j = 0 for j ≥ visible(i)
 * A row whose z are all -Infinity (or that sees no key) becomes zeros, never NaN.
 */
export function softmax(x: usize, ldx: i32, rows: i32, cols: i32, scale: f32,
                        mask: usize, ldMask: i32, keyLength: i32, causal: i32, causalOffset: i32): void {
  for (let i = 0; i < rows; i++) {
    const row = x + ((<usize>i * <usize>ldx) << 2);
    let visible = keyLength < cols ? keyLength : cols;
    if (causal != 0 && i + causalOffset + 1 < visible) visible = i + causalOffset + 1;
    if (visible < 0) visible = 0;
    const maskRow: usize = mask == 0 ? 0 : mask + ((<usize>i * <usize>ldMask) << 2);
    const max = scaleMaskMax(row, maskRow, visible, scale);
    if (max == -Infinity) {
      fillZero(row, cols);
      continue;
    }
    const sum = expSum(row, visible, max);
    scaleRow(row, visible, 1.0 / sum);
    fillZero(row + (<usize>visible << 2), cols - visible);
  }
}

/** z_j = x_j·scale + m_j in place for j < n; returns max_j z_j (-Infinity when n = 0). */
// @ts-ignore: decorator
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
    max = Mathf.max(Mathf.max(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)),
                    Mathf.max(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)));
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
// @ts-ignore: decorator
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
    sum = (f32x4.extract_lane(sum4, 0) + f32x4.extract_lane(sum4, 1)) +
          (f32x4.extract_lane(sum4, 2) + f32x4.extract_lane(sum4, 3));
  }
  for (; j < n; j++) {
    const p = row + (<usize>j << 2);
    const y = expf32(load<f32>(p) - max);
    store<f32>(p, y);
    sum += y;
  }
  return sum;
}

// @ts-ignore: decorator
@inline function scaleRow(row: usize, n: i32, factor: f32): void {
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

// @ts-ignore: decorator
@inline function fillZero(p: usize, n: i32): void {
  if (n > 0) memory.fill(p, 0, <usize>n << 2);
}
