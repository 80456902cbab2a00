// Elementwise kernels of a transformer layer: activations (ReLU, GELU exact and tanh forms, SiLU),
// SwiGLU's middle and the residual add. Each is one pass over its floats, f32x4 with a scalar tail
// (the scalar twin of the vector step, so body and tail agree bit for bit outside the relaxed build).
//
// Accuracy against float64 over 2^22 points of [−10, 10] (test/kernels.test.ts), max absolute error:
//   GELU 4.2e-7 (relaxed 3.0e-7), GELU tanh 8.1e-7 (relaxed 5.9e-7), SiLU 1.07e-6 (a result near 10 is
//   rounded to 9.5e-7 steps; SiLU's relative error is ≤ 1.6e-7 everywhere).
// Both GELU forms compute 0.5·x·(1 + erf) and 0.5·x·(1 + tanh) as PyTorch does, so for x ≲ −2 the
// sum cancels: the absolute error stays ≤ 0.5·|x|·(error of erf, 7.9e-8, or of tanh, 2.1e-7) while
// the relative error grows (1.1e-4 for GELU and 3e-4 for the tanh form where |GELU| ≥ 1e-3), and
// the result is exactly 0 once erf or tanh rounds to −1 (x below ≈ −5.5 and −5.1; GELU(−5.5) ≈ −1e-7).
import { madd4 } from './simd';
import { erff32, erff32x4 } from './erf';
import { expf32, expf32x4, tanhf32, tanhf32x4 } from './vmath';

// activation kinds (src/kernels.ts: ACTIVATION)
@inline const RELU: i32 = 0;
@inline const GELU: i32 = 1;
@inline const GELU_TANH: i32 = 2;
@inline const SILU: i32 = 3;
@inline const ERF: i32 = 4;

/** 1/√2 rounded to f32. */
@inline const RSQRT2: f32 = 0.707106781186547524;
/** √(2/π) and 0.044715·√(2/π): the tanh form's argument is x·(GT1 + GT3·x²). */
@inline const GT1: f32 = 0.797884560802865356;
@inline const GT3: f32 = 0.0356774081363001;
/** GELU below −10 is 0 in f32 (|GELU(−10)| ≈ 7.6e-23): both forms clamp x there, so −Infinity gives 0, not ∞·0. */
@inline const GELU_FLOOR: f32 = -10.0;
/** SiLU below −88 is 0 (|SiLU(−88)| ≈ 5e-37; e^88 is vmath's cap, beyond it x/(1 + e^{−x}) would not go to 0). */
@inline const SILU_FLOOR: f32 = -88.0;

// f32x4 constants in linear memory (see vmath.ts: loaded once before each loop).
@inline const A_ZERO: i32 = 0;
@inline const A_HALF: i32 = 16;
@inline const A_ONE: i32 = 32;
@inline const A_RSQRT2: i32 = 48;
@inline const A_GT1: i32 = 64;
@inline const A_GT3: i32 = 80;
@inline const A_GELU_FLOOR: i32 = 96;
@inline const A_SILU_FLOOR: i32 = 112;
@inline const A_NEG_ZERO: i32 = 128;
const A4: usize = memory.data<f32>([
  0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0, RSQRT2, RSQRT2, RSQRT2, RSQRT2,
  GT1, GT1, GT1, GT1, GT3, GT3, GT3, GT3, GELU_FLOOR, GELU_FLOOR, GELU_FLOOR, GELU_FLOOR,
  SILU_FLOOR, SILU_FLOOR, SILU_FLOOR, SILU_FLOOR, -0.0, -0.0, -0.0, -0.0,
], 16);

@inline function a4(offset: i32): v128 {
  return v128.load(A4 + <usize>offset);
}

/**
 * out[i] = f(x[i]) for i < count; out may equal x (in place). kind:
 *   0 ReLU        max(x, 0)
 *   1 GELU        0.5·x·(1 + erf(x/√2))                          (PyTorch's default gelu)
 *   2 GELU tanh   0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))     (gelu(approximate='tanh'))
 *   3 SiLU        x·σ(x) = x / (1 + e^{−x})
 *   4 erf         erf(x)                                         (the erf GELU uses, for its accuracy check)
 * Other kinds leave out untouched. NaN → NaN; +Infinity → +Infinity (erf: 1); −Infinity → 0 (erf: −1).
 */
export function activation(x: usize, out: usize, count: i32, kind: i32): void {
  if (kind == RELU) relu(x, out, count);
  else if (kind == GELU) gelu(x, out, count);
  else if (kind == GELU_TANH) geluTanh(x, out, count);
  else if (kind == SILU) silu(x, out, count);
  else if (kind == ERF) erf(x, out, count);
}

function relu(x: usize, out: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = a4(A_ZERO);
    for (; i + 4 <= count; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, f32x4.max(v128.load(x + o), zero)); // max, not pmax: NaN propagates
    }
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, max<f32>(load<f32>(x + o), 0));
  }
}

// GELU, exact form: with xc = max(x, −10) (NaN stays), h = xc/2: y = h + h·erf(xc/√2).
function gelu(x: usize, out: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const half = a4(A_HALF), rsqrt2 = a4(A_RSQRT2), floor = a4(A_GELU_FLOOR);
    for (; i + 4 <= count; i += 4) {
      const o = <usize>i << 2;
      const xc = f32x4.pmax(v128.load(x + o), floor); // pmax(a, c) = a < c ? c : a
      const h = f32x4.mul(xc, half);
      v128.store(out + o, madd4(h, erff32x4(f32x4.mul(xc, rsqrt2)), h));
    }
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, gelu1(load<f32>(x + o)));
  }
}

@inline function gelu1(x: f32): f32 {
  const xc = x < GELU_FLOOR ? GELU_FLOOR : x;
  const h = xc * <f32>0.5;
  return h * erff32(xc * RSQRT2) + h;
}

// GELU, tanh form: xc = max(x, −10), h = xc/2: y = h + h·tanh(xc·(√(2/π) + 0.044715·√(2/π)·xc²)).
function geluTanh(x: usize, out: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const half = a4(A_HALF), gt1 = a4(A_GT1), gt3 = a4(A_GT3), floor = a4(A_GELU_FLOOR);
    for (; i + 4 <= count; i += 4) {
      const o = <usize>i << 2;
      const xc = f32x4.pmax(v128.load(x + o), floor);
      const h = f32x4.mul(xc, half);
      const u = f32x4.mul(xc, madd4(gt3, f32x4.mul(xc, xc), gt1));
      v128.store(out + o, madd4(h, tanhf32x4(u), h));
    }
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, geluTanh1(load<f32>(x + o)));
  }
}

@inline function geluTanh1(x: f32): f32 {
  const xc = x < GELU_FLOOR ? GELU_FLOOR : x;
  const h = xc * <f32>0.5;
  const u = xc * (GT3 * (xc * xc) + GT1);
  return h * tanhf32(u) + h;
}

// SiLU: x / (1 + e^{−x}), and −0 below −88 (there e^{−x} is capped at e^88, and −Infinity would give −∞/e^88).
@inline function silu4(x: v128, one: v128, floor: v128, negZero: v128): v128 {
  const y = f32x4.div(x, f32x4.add(one, expf32x4(f32x4.neg(x))));
  return v128.bitselect(negZero, y, f32x4.lt(x, floor)); // NaN: lt is false → y (NaN)
}

@inline function silu1(x: f32): f32 {
  return x < SILU_FLOOR ? -0.0 : x / (<f32>1.0 + expf32(-x));
}

function silu(x: usize, out: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = a4(A_ONE), floor = a4(A_SILU_FLOOR), negZero = a4(A_NEG_ZERO);
    for (; i + 4 <= count; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, silu4(v128.load(x + o), one, floor, negZero));
    }
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, silu1(load<f32>(x + o)));
  }
}

function erf(x: usize, out: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= count; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, erff32x4(v128.load(x + o)));
    }
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, erff32(load<f32>(x + o)));
  }
}

/**
 * out[i] = silu(gate[i])·up[i] for i < count (the middle of Llama's MLP: down(silu(gate(x))·up(x))).
 * out may equal gate or up. silu(−Infinity) = 0, so −Infinity in gate gives ±0 (NaN where up is ±Infinity).
 */
export function swiglu(gate: usize, up: usize, out: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = a4(A_ONE), floor = a4(A_SILU_FLOOR), negZero = a4(A_NEG_ZERO);
    for (; i + 4 <= count; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, f32x4.mul(silu4(v128.load(gate + o), one, floor, negZero), v128.load(up + o)));
    }
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, silu1(load<f32>(gate + o)) * load<f32>(up + o));
  }
}

/** x[i] += y[i] for i < count (the residual add where it cannot be fused into layerNorm). */
export function addInPlace(x: usize, y: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= count; i += 8) {
      const o = <usize>i << 2;
      v128.store(x + o, f32x4.add(v128.load(x + o), v128.load(y + o)));
      v128.store(x + o, f32x4.add(v128.load(x + o, 16), v128.load(y + o, 16)), 16);
    }
    for (; i + 4 <= count; i += 4) {
      const o = <usize>i << 2;
      v128.store(x + o, f32x4.add(v128.load(x + o), v128.load(y + o)));
    }
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, load<f32>(x + o) + load<f32>(y + o));
  }
}

/** x[i] *= y[i] for i < count (the gate of GeGLU: act(gate) ⊙ up, after the activation in place). */
export function mulInPlace(x: usize, y: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= count; i += 4) {
      const o = <usize>i << 2;
      v128.store(x + o, f32x4.mul(v128.load(x + o), v128.load(y + o)));
    }
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, load<f32>(x + o) * load<f32>(y + o));
  }
}
