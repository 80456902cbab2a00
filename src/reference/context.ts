import type { ReferenceTensor } from './tensor.js';

/** c[i, :] = Σ_j w[i, j]·v[j, :] for weights [M, S] (or [S]) and values [S, D]. */
export function attentionContext(weights: ReferenceTensor, values: ReferenceTensor): Float32Array {
  const s = values.shape[0]!;
  const d = values.shape[1]!;
  const m = weights.data.length / s;
  const c = new Float32Array(m * d);
  for (let i = 0; i < m; i++) {
    for (let e = 0; e < d; e++) {
      let sum = 0;
      for (let j = 0; j < s; j++) sum += weights.data[i * s + j]! * values.data[j * d + e]!;
      c[i * d + e] = sum;
    }
  }
  return c;
}
