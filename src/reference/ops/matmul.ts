import { checkBoolean, checkOptions, checkTensor, expectShape, formatShape, type Exact } from '../check.js';
import type { ReferenceTensor } from '../tensor.js';

/** The options of `runtime.matmul`, by the same names. */
export interface ReferenceMatmulOptions {
  /** b is stored [N, K] (a Linear weight [out, in]) and used transposed. */
  transposeB?: boolean;
  /** Added to every output row: shape [N]. */
  bias?: ReferenceTensor;
  /** Accepted for the runtime's sake and ignored: the twin always returns a Float32Array. */
  resident?: boolean;
}

/**
 * a [..., M, K] (leading dims flattened into rows) times b [K, N] → [..., M, N]:
 * y[i, j] = Σ_p a[i, p]·b[p, j] (+ bias[j]) in float64; with transposeB, b is [N, K] and b[j, p] is used.
 */
export function matmul<O extends ReferenceMatmulOptions = {}>(a: ReferenceTensor, b: ReferenceTensor, options?: Exact<O, ReferenceMatmulOptions>): Float32Array;
export function matmul(a: ReferenceTensor, b: ReferenceTensor, options?: ReferenceMatmulOptions): Float32Array;
export function matmul(a: ReferenceTensor, b: ReferenceTensor, options?: ReferenceMatmulOptions): Float32Array {
  const aa = checkTensor('a', a);
  const ba = checkTensor('b', b);
  const opts = checkOptions('options', options, ['transposeB', 'bias', 'resident'], 'matmul');
  const transB = checkBoolean('options.transposeB', opts['transposeB']);
  checkBoolean('options.resident', opts['resident']); // checked, then ignored
  if (aa.shape.length < 2) throw new RangeError(`a: expected shape [..., M, K], received ${formatShape(aa.shape)}`);
  const k = aa.shape[aa.shape.length - 1]!;
  const m = aa.data.length / k;
  expectShape('b', ba.shape, transB ? ['N', k] : [k, 'N'], transB ? 'b is [N, K] with the K of a' : 'b is [K, N] with the K of a');
  const n = transB ? ba.shape[0]! : ba.shape[1]!;
  const bias = opts['bias'] === undefined ? undefined : checkTensor('options.bias', opts['bias']);
  if (bias) expectShape('options.bias', bias.shape, [n], 'one value per output column');
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = bias ? bias.data[j]! : 0;
      for (let p = 0; p < k; p++) sum += aa.data[i * k + p]! * (transB ? ba.data[j * k + p]! : ba.data[p * n + j]!);
      y[i * n + j] = sum;
    }
  }
  return y;
}
