// Row normalisations of a transformer layer: LayerNorm (PyTorch nn.LayerNorm, with the residual add
// of a post-norm block fused in) and RMSNorm (Llama). Row by row, every pass over a row while it is
// in cache; f32x4 with scalar tails.
//
// LayerNorm's mean and variance in f32 without cancellation: a row with a large common offset
// (x = 1000 + u) would lose the u in a plain Σx (a rounding of 1000·n is ~1e-4 of the mean) and in
// E[x²] − E[x]² (all of it). So the row is shifted by its first element K:
//   pass 1: s = Σ (x_j − K),  m = s/n                  (x_j − K is exact when x_j and K are within 2×)
//   pass 2: v = Σ ((x_j − K) − m)²                     (the two-pass variance, about the mean K + m)
//   pass 3: y_j = ((x_j − K) − m)·rstd·w_j + b_j,     rstd = 1/√(v/n + eps)  (the scalars in f64)
// The mean K + m is never rounded to one f32 (at 1000, one ulp is 6e-5 of a unit-scale deviation).
// Partial sums run in eight lanes (two f32x4 accumulators). A NaN anywhere in a row makes the whole
// row NaN (through m), as does ±Infinity (∞ − ∞), as PyTorch's float32 LayerNorm does.
import { hsum, madd4 } from './simd';

/**
 * Row i of x [rows, n] (leading dim ldx) → row i of out (ldo):
 *   x' = x + residual (residual = 0: x' = x; leading dim ldr), the sum rounded to f32,
 *   y = (x' − mean(x')) / √(var(x') + eps) · weight + bias      (biased variance, as nn.LayerNorm)
 * weight = 0: no scale; bias = 0: no shift. out may equal x (or residual). With a residual the
 * first pass writes x' to out and the later passes read it there.
 */
export function layerNorm(x: usize, ldx: i32, out: usize, ldo: i32, rows: i32, n: i32,
                          weight: usize, bias: usize, eps: f32, residual: usize, ldr: i32): void {
  if (n <= 0) return;
  for (let i = 0; i < rows; i++) {
    const xi = x + ((<usize>i * <usize>ldx) << 2);
    const oi = out + ((<usize>i * <usize>ldo) << 2);
    let src = xi;
    let k: f32;
    let s: f32;
    if (residual != 0) {
      const ri = residual + ((<usize>i * <usize>ldr) << 2);
      k = load<f32>(xi) + load<f32>(ri);
      s = addShiftedSum(xi, ri, oi, n, k);
      src = oi;
    } else {
      k = load<f32>(xi);
      s = shiftedSum(xi, n, k);
    }
    const m = s / <f32>n;
    const v = centredSquares(src, n, k, m);
    const rstd = <f32>(1.0 / Math.sqrt(<f64>v / <f64>n + <f64>eps));
    if (weight != 0) {
      if (bias != 0) normalise(src, oi, n, k, m, rstd, weight, bias, true, true);
      else normalise(src, oi, n, k, m, rstd, weight, 0, true, false);
    } else {
      if (bias != 0) normalise(src, oi, n, k, m, rstd, 0, bias, false, true);
      else normalise(src, oi, n, k, m, rstd, 0, 0, false, false);
    }
  }
}

/** Σ_j (p_j − k) for j < n. */
@inline function shiftedSum(p: usize, n: i32, k: f32): f32 {
  let s: f32 = 0;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const k4 = f32x4.splat(k);
    let a0 = f32x4.splat(0), a1 = a0;
    for (; j + 8 <= n; j += 8) {
      const o = <usize>j << 2;
      a0 = f32x4.add(a0, f32x4.sub(v128.load(p + o), k4));
      a1 = f32x4.add(a1, f32x4.sub(v128.load(p + o, 16), k4));
    }
    if (j + 4 <= n) {
      a0 = f32x4.add(a0, f32x4.sub(v128.load(p + (<usize>j << 2)), k4));
      j += 4;
    }
    s = hsum(f32x4.add(a0, a1));
  }
  for (; j < n; j++) s += load<f32>(p + (<usize>j << 2)) - k;
  return s;
}

/** out_j = x_j + r_j for j < n; returns Σ_j (out_j − k). */
@inline function addShiftedSum(x: usize, r: usize, out: usize, n: i32, k: f32): f32 {
  let s: f32 = 0;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const k4 = f32x4.splat(k);
    let a0 = f32x4.splat(0), a1 = a0;
    for (; j + 8 <= n; j += 8) {
      const o = <usize>j << 2;
      const y0 = f32x4.add(v128.load(x + o), v128.load(r + o));
      const y1 = f32x4.add(v128.load(x + o, 16), v128.load(r + o, 16));
      v128.store(out + o, y0);
      v128.store(out + o, y1, 16);
      a0 = f32x4.add(a0, f32x4.sub(y0, k4));
      a1 = f32x4.add(a1, f32x4.sub(y1, k4));
    }
    if (j + 4 <= n) {
      const o = <usize>j << 2;
      const y0 = f32x4.add(v128.load(x + o), v128.load(r + o));
      v128.store(out + o, y0);
      a0 = f32x4.add(a0, f32x4.sub(y0, k4));
      j += 4;
    }
    s = hsum(f32x4.add(a0, a1));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    const y = load<f32>(x + o) + load<f32>(r + o);
    store<f32>(out + o, y);
    s += y - k;
  }
  return s;
}

/** Σ_j ((p_j − k) − m)² for j < n. */
@inline function centredSquares(p: usize, n: i32, k: f32, m: f32): f32 {
  let s: f32 = 0;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const k4 = f32x4.splat(k), m4 = f32x4.splat(m);
    let a0 = f32x4.splat(0), a1 = a0;
    for (; j + 8 <= n; j += 8) {
      const o = <usize>j << 2;
      const d0 = f32x4.sub(f32x4.sub(v128.load(p + o), k4), m4);
      const d1 = f32x4.sub(f32x4.sub(v128.load(p + o, 16), k4), m4);
      a0 = madd4(d0, d0, a0);
      a1 = madd4(d1, d1, a1);
    }
    if (j + 4 <= n) {
      const d0 = f32x4.sub(f32x4.sub(v128.load(p + (<usize>j << 2)), k4), m4);
      a0 = madd4(d0, d0, a0);
      j += 4;
    }
    s = hsum(f32x4.add(a0, a1));
  }
  for (; j < n; j++) {
    const d = (load<f32>(p + (<usize>j << 2)) - k) - m;
    s += d * d;
  }
  return s;
}

/** out_j = ((p_j − k) − m)·rstd (·w_j if hasW) (+ b_j if hasB) for j < n (the flags are constants at each call). */
@inline function normalise(p: usize, out: usize, n: i32, k: f32, m: f32, rstd: f32,
                           w: usize, b: usize, hasW: bool, hasB: bool): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const k4 = f32x4.splat(k), m4 = f32x4.splat(m), r4 = f32x4.splat(rstd);
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      let y = f32x4.mul(f32x4.sub(f32x4.sub(v128.load(p + o), k4), m4), r4);
      if (hasW && hasB) y = madd4(y, v128.load(w + o), v128.load(b + o));
      else if (hasW) y = f32x4.mul(y, v128.load(w + o));
      else if (hasB) y = f32x4.add(y, v128.load(b + o));
      v128.store(out + o, y);
    }
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    let y = ((load<f32>(p + o) - k) - m) * rstd;
    if (hasW && hasB) y = y * load<f32>(w + o) + load<f32>(b + o);
    else if (hasW) y *= load<f32>(w + o);
    else if (hasB) y += load<f32>(b + o);
    store<f32>(out + o, y);
  }
}

/**
 * Row i of x [rows, n] (leading dim ldx) → row i of out (ldo):
 *   y = x / √(mean(x²) + eps) · weight      (Llama's RMSNorm; weight = 0: no scale)
 * out may equal x. Σx² runs in f32 (as the float32 module computes it): a NaN makes the row NaN, an
 * Infinity (or a Σx² that overflows) scales the row by 0.
 */
export function rmsNorm(x: usize, ldx: i32, out: usize, ldo: i32, rows: i32, n: i32, weight: usize, eps: f32): void {
  if (n <= 0) return;
  for (let i = 0; i < rows; i++) {
    const xi = x + ((<usize>i * <usize>ldx) << 2);
    const oi = out + ((<usize>i * <usize>ldo) << 2);
    const rstd = <f32>(1.0 / Math.sqrt(<f64>sumSquares(xi, n) / <f64>n + <f64>eps));
    if (weight != 0) scaleRow(xi, oi, n, rstd, weight, true);
    else scaleRow(xi, oi, n, rstd, 0, false);
  }
}

/** Σ_j p_j² for j < n. */
@inline function sumSquares(p: usize, n: i32): f32 {
  let s: f32 = 0;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    let a0 = f32x4.splat(0), a1 = a0;
    for (; j + 8 <= n; j += 8) {
      const o = <usize>j << 2;
      const x0 = v128.load(p + o), x1 = v128.load(p + o, 16);
      a0 = madd4(x0, x0, a0);
      a1 = madd4(x1, x1, a1);
    }
    if (j + 4 <= n) {
      const x0 = v128.load(p + (<usize>j << 2));
      a0 = madd4(x0, x0, a0);
      j += 4;
    }
    s = hsum(f32x4.add(a0, a1));
  }
  for (; j < n; j++) {
    const v = load<f32>(p + (<usize>j << 2));
    s += v * v;
  }
  return s;
}

/** out_j = (p_j·rstd) (·w_j if hasW) for j < n. */
@inline function scaleRow(p: usize, out: usize, n: i32, rstd: f32, w: usize, hasW: bool): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const r4 = f32x4.splat(rstd);
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      let y = f32x4.mul(v128.load(p + o), r4);
      if (hasW) y = f32x4.mul(y, v128.load(w + o));
      v128.store(out + o, y);
    }
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    let y = load<f32>(p + o) * rstd;
    if (hasW) y *= load<f32>(w + o);
    store<f32>(out + o, y);
  }
}
