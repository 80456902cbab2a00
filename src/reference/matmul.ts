import type { ReferenceTensor } from './tensor.js';

/** y[i, j] = Σ_p a[i, p]·b[p, j] (+ bias[j]); with transposeB, b is [N, K] and b[j, p] is used. */
export function matmul(a: ReferenceTensor, b: ReferenceTensor, options: { transposeB?: boolean; bias?: ReferenceTensor } = {}): Float32Array {
  const k = a.shape[a.shape.length - 1]!;
  const m = a.data.length / k;
  const n = options.transposeB ? b.shape[0]! : b.shape[1]!;
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = options.bias ? options.bias.data[j]! : 0;
      for (let p = 0; p < k; p++) sum += a.data[i * k + p]! * (options.transposeB ? b.data[j * k + p]! : b.data[p * n + j]!);
      y[i * n + j] = sum;
    }
  }
  return y;
}
