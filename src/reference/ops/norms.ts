/**
 * The twins of runtime.layerNorm and runtime.rmsNorm in float64, over the last dimension:
 *   layerNorm: x' = x + residual (rounded to float32, as the runtime's fused add), then
 *              (x' − mean)/√(biased variance + eps)·weight + bias
 *   rmsNorm:   x/√(mean(x²) + eps)·weight
 */
import { checkBoolean, checkFinite, checkOptions, checkTensor, expectShape, formatShape, type Exact } from '../check.js';
import type { ReferenceTensor } from '../tensor.js';

/** The options of `runtime.layerNorm`, by the same names. */
export interface ReferenceLayerNormOptions {
  weight?: ReferenceTensor;
  bias?: ReferenceTensor;
  /** Default 1e-5. */
  eps?: number;
  residual?: ReferenceTensor;
  /** Accepted for the runtime's sake and ignored: the twin always returns a Float32Array. */
  resident?: boolean;
}

/** The options of `runtime.rmsNorm`, by the same names. */
export interface ReferenceRmsNormOptions {
  weight?: ReferenceTensor;
  /** Default 1e-6. */
  eps?: number;
  /** Accepted and ignored. */
  resident?: boolean;
}

function vector(name: string, value: unknown, n: number): Float32Array | undefined {
  if (value === undefined) return undefined;
  const t = checkTensor(name, value);
  expectShape(name, t.shape, [n], 'the last dimension of x');
  return t.data;
}

function checkEps(value: unknown, fallback: number): number {
  const eps = checkFinite('options.eps', value, fallback);
  if (!(eps >= 0)) throw new RangeError(`options.eps must be ≥ 0, received ${eps}`);
  return eps;
}

export function layerNorm<O extends ReferenceLayerNormOptions = {}>(x: ReferenceTensor, options?: Exact<O, ReferenceLayerNormOptions>): Float32Array;
export function layerNorm(x: ReferenceTensor, options?: ReferenceLayerNormOptions): Float32Array;
export function layerNorm(x: ReferenceTensor, options?: ReferenceLayerNormOptions): Float32Array {
  const xa = checkTensor('x', x);
  const opts = checkOptions('options', options, ['weight', 'bias', 'eps', 'residual', 'resident'], 'layerNorm');
  const n = xa.shape[xa.shape.length - 1]!;
  const weight = vector('options.weight', opts['weight'], n);
  const bias = vector('options.bias', opts['bias'], n);
  const eps = checkEps(opts['eps'], 1e-5);
  const residual = opts['residual'] === undefined ? undefined : checkTensor('options.residual', opts['residual']);
  if (residual && !(residual.shape.length === xa.shape.length && residual.shape.every((d, i) => d === xa.shape[i]))) {
    throw new RangeError(`options.residual: expected shape ${formatShape(xa.shape)} (that of x), received ${formatShape(residual.shape)}`);
  }
  checkBoolean('options.resident', opts['resident']);
  const y = new Float32Array(xa.data.length);
  const row = new Float64Array(n);
  for (let r = 0; r < xa.data.length / n; r++) {
    let mean = 0;
    for (let i = 0; i < n; i++) {
      row[i] = residual ? Math.fround(xa.data[r * n + i]! + residual.data[r * n + i]!) : xa.data[r * n + i]!;
      mean += row[i]!;
    }
    mean /= n;
    let variance = 0;
    for (let i = 0; i < n; i++) variance += (row[i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / n + eps);
    for (let i = 0; i < n; i++) y[r * n + i] = (row[i]! - mean) * inv * (weight ? weight[i]! : 1) + (bias ? bias[i]! : 0);
  }
  return y;
}

export function rmsNorm<O extends ReferenceRmsNormOptions = {}>(x: ReferenceTensor, options?: Exact<O, ReferenceRmsNormOptions>): Float32Array;
export function rmsNorm(x: ReferenceTensor, options?: ReferenceRmsNormOptions): Float32Array;
export function rmsNorm(x: ReferenceTensor, options?: ReferenceRmsNormOptions): Float32Array {
  const xa = checkTensor('x', x);
  const opts = checkOptions('options', options, ['weight', 'eps', 'resident'], 'rmsNorm');
  const n = xa.shape[xa.shape.length - 1]!;
  const weight = vector('options.weight', opts['weight'], n);
  const eps = checkEps(opts['eps'], 1e-6);
  checkBoolean('options.resident', opts['resident']);
  const y = new Float32Array(xa.data.length);
  for (let r = 0; r < xa.data.length / n; r++) {
    let squares = 0;
    for (let i = 0; i < n; i++) squares += xa.data[r * n + i]! ** 2;
    const inv = 1 / Math.sqrt(squares / n + eps);
    for (let i = 0; i < n; i++) y[r * n + i] = xa.data[r * n + i]! * inv * (weight ? weight[i]! : 1);
  }
  return y;
}
