import { checkBoolean, checkFinite, checkOptions, checkTensor, formatShape, type Exact } from '../check.js';
import type { ReferenceTensor } from '../tensor.js';

/** The options of `runtime.softmax`, by the same names. */
export interface ReferenceSoftmaxOptions {
  /** Added before the softmax: the shape of x, or [N] (the same for every row). */
  mask?: ReferenceTensor;
  /** Multiplies x before the mask is added; default 1. */
  scale?: number;
  /** Accepted for the runtime's sake and ignored: the twin always returns a Float32Array. */
  resident?: boolean;
}

/**
 * Row softmax over the last dim: y = exp(z − max z) / Σ exp(z − max z) with z = x·scale + mask,
 * in float64. Entries with z = -Infinity get 0; a row where every z is -Infinity is all zeros.
 */
export function softmax<O extends ReferenceSoftmaxOptions = {}>(x: ReferenceTensor, options?: Exact<O, ReferenceSoftmaxOptions>): Float32Array;
export function softmax(x: ReferenceTensor, options?: ReferenceSoftmaxOptions): Float32Array;
export function softmax(x: ReferenceTensor, options?: ReferenceSoftmaxOptions): Float32Array {
  const xa = checkTensor('x', x);
  const opts = checkOptions('options', options, ['mask', 'scale', 'resident'], 'softmax');
  const scale = checkFinite('options.scale', opts['scale'], 1);
  checkBoolean('options.resident', opts['resident']); // checked, then ignored
  const n = xa.shape[xa.shape.length - 1]!;
  const rows = xa.data.length / n;
  const mask = opts['mask'] === undefined ? undefined : checkTensor('options.mask', opts['mask']);
  let perRow = false;
  if (mask) {
    perRow = mask.shape.length === xa.shape.length && mask.shape.every((d, i) => d === xa.shape[i]);
    if (!perRow && !(mask.shape.length === 1 && mask.shape[0] === n)) {
      throw new RangeError(`options.mask: expected shape ${formatShape(xa.shape)} (that of x) or [${n}] (one row for all), received ${formatShape(mask.shape)}`);
    }
  }
  const y = new Float32Array(xa.data.length);
  const z = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const m = mask ? mask.data[perRow ? r * n + j : j]! : 0;
      z[j] = xa.data[r * n + j]! * scale + m;
      if (z[j]! > max) max = z[j]!;
    }
    if (max === -Infinity) continue;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += z[j] = Math.exp(z[j]! - max);
    for (let j = 0; j < n; j++) y[r * n + j] = z[j]! / sum;
  }
  return y;
}
