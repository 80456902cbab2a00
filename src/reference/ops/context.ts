import { checkBoolean, checkOptions, checkTensor, expectShape, formatShape, type Exact } from '../check.js';
import type { ReferenceTensor } from '../tensor.js';

/** The options of `runtime.attentionContext`, by the same names. */
export interface ReferenceContextOptions {
  /** Accepted for the runtime's sake and ignored: the twin always returns a Float32Array. */
  resident?: boolean;
}

/** c[i, :] = Σ_j w[i, j]·v[j, :] in float64, for weights [M, S] (or [S]) and values [S, D] → [M, D] (or [D]). */
export function attentionContext<O extends ReferenceContextOptions = {}>(weights: ReferenceTensor, values: ReferenceTensor, options?: Exact<O, ReferenceContextOptions>): Float32Array;
export function attentionContext(weights: ReferenceTensor, values: ReferenceTensor, options?: ReferenceContextOptions): Float32Array;
export function attentionContext(weights: ReferenceTensor, values: ReferenceTensor, options?: ReferenceContextOptions): Float32Array {
  const wa = checkTensor('weights', weights);
  const va = checkTensor('values', values);
  checkBoolean('options.resident', checkOptions('options', options, ['resident'], 'attentionContext')['resident']); // checked, then ignored
  if (wa.shape.length > 2) throw new RangeError(`weights: expected shape [M, S] or [S], received ${formatShape(wa.shape)}`);
  const s = wa.shape[wa.shape.length - 1]!;
  const m = wa.shape.length === 2 ? wa.shape[0]! : 1;
  expectShape('values', va.shape, [s, 'D'], 'one value row per weight');
  const d = va.shape[1]!;
  const c = new Float32Array(m * d);
  for (let i = 0; i < m; i++) {
    for (let e = 0; e < d; e++) {
      let sum = 0;
      for (let j = 0; j < s; j++) sum += wa.data[i * s + j]! * va.data[j * d + e]!;
      c[i * d + e] = sum;
    }
  }
  return c;
}
