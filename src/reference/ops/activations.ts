/**
 * The twins of runtime.activation and runtime.gelu in float64: relu max(x, 0); gelu
 * 0.5·x·(1 + erf(x/√2)); geluTanh 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); silu x/(1 + e^−x);
 * tanh. NaN → NaN; ±Infinity → the limits (gelu and silu of −Infinity are 0).
 */
import { checkBoolean, checkOptions, checkTensor, describe, type Exact } from '../check.js';
import type { ReferenceTensor } from '../tensor.js';

export type ReferenceActivationKind = 'relu' | 'gelu' | 'geluTanh' | 'silu' | 'tanh';
const KINDS: readonly ReferenceActivationKind[] = ['relu', 'gelu', 'geluTanh', 'silu', 'tanh'];

/** The options of `runtime.activation`. */
export interface ReferenceActivationOptions {
  /** Accepted and ignored. */
  resident?: boolean;
}

/** The options of `runtime.gelu`. */
export interface ReferenceGeluOptions {
  approximate?: 'none' | 'tanh';
  /** Accepted and ignored. */
  resident?: boolean;
}

/** erf in float64 (Abramowitz–Stegun 7.1.26 is too coarse: a series / continued fraction pair). */
export function erf(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 2.5) {
    // Taylor series: erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = a, sum = a;
    for (let n = 1; n < 60; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // continued fraction for erfc, Lentz's method
    let f = a, c = a, d = 0;
    for (let n = 1; n < 200; n++) {
      const an = n / 2;
      d = a + an * d;
      d = 1 / d;
      c = a + an / c;
      f *= c * d;
    }
    r = 1 - Math.exp(-a * a) / (f * Math.sqrt(Math.PI));
  }
  return x < 0 ? -r : r;
}

/** One activation of x in float64. */
export function activate(kind: ReferenceActivationKind, x: number): number {
  if (Number.isNaN(x)) return NaN;
  switch (kind) {
    case 'relu': return x > 0 ? x : 0;
    case 'tanh': return Math.tanh(x);
    case 'silu': return x === -Infinity ? 0 : x / (1 + Math.exp(-x));
    case 'gelu': return x === -Infinity ? 0 : x === Infinity ? x : 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'geluTanh': return x === -Infinity ? 0 : x === Infinity ? x : 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  }
}

export function activation<O extends ReferenceActivationOptions = {}>(x: ReferenceTensor, kind: ReferenceActivationKind, options?: Exact<O, ReferenceActivationOptions>): Float32Array;
export function activation(x: ReferenceTensor, kind: ReferenceActivationKind, options?: ReferenceActivationOptions): Float32Array;
export function activation(x: ReferenceTensor, kind: ReferenceActivationKind, options?: ReferenceActivationOptions): Float32Array {
  const xa = checkTensor('x', x);
  if (!(KINDS as readonly unknown[]).includes(kind)) throw new TypeError(`kind must be one of ${KINDS.map((k) => `'${k}'`).join(', ')}, received ${describe(kind)}`);
  const opts = checkOptions('options', options, ['resident'], 'activation');
  checkBoolean('options.resident', opts['resident']);
  return Float32Array.from(xa.data, (v) => activate(kind, v));
}

export function gelu<O extends ReferenceGeluOptions = {}>(x: ReferenceTensor, options?: Exact<O, ReferenceGeluOptions>): Float32Array;
export function gelu(x: ReferenceTensor, options?: ReferenceGeluOptions): Float32Array;
export function gelu(x: ReferenceTensor, options?: ReferenceGeluOptions): Float32Array {
  const xa = checkTensor('x', x);
  const opts = checkOptions('options', options, ['approximate', 'resident'], 'gelu');
  const approximate = opts['approximate'] ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw new TypeError(`options.approximate must be 'none' or 'tanh', received ${describe(approximate)}`);
  checkBoolean('options.resident', opts['resident']);
  const kind = approximate === 'tanh' ? 'geluTanh' : 'gelu';
  return Float32Array.from(xa.data, (v) => activate(kind, v));
}
