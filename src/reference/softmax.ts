import type { ReferenceTensor } from './tensor.js';

/**
 * Row softmax over the last dim: y = exp(z − max z) / Σ exp(z − max z) with z = x·scale + mask.
 * Entries with z = -Infinity get 0; a row where every z is -Infinity is all zeros.
 */
export function softmax(x: ReferenceTensor, options: { mask?: ReferenceTensor; scale?: number } = {}): Float32Array {
  const n = x.shape[x.shape.length - 1]!;
  const rows = x.data.length / n;
  const scale = options.scale ?? 1;
  const mask = options.mask;
  const y = new Float32Array(x.data.length);
  const z = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const m = mask ? mask.data[mask.data.length === n ? j : r * n + j]! : 0;
      z[j] = x.data[r * n + j]! * scale + m;
      if (z[j]! > max) max = z[j]!;
    }
    if (max === -Infinity) continue;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += z[j] = Math.exp(z[j]! - max);
    for (let j = 0; j < n; j++) y[r * n + j] = z[j]! / sum;
  }
  return y;
}
