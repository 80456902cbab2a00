/** The context vectors of attention: a weighted sum of value rows, c[i] = Σ_j w[i, j]·v[j]. */
import type { Tensor } from '../engine/memory.js';
import { checkBoolean, checkOptions, checkTensor, expectShape, formatShape, type TensorLike } from '../engine/validate.js';
import { mat, matmulNN } from '../engine/linear.js';
import type { Workspace } from '../engine/workspace.js';

export interface ContextOptions {
  /** Return the output as a resident `Tensor`. */
  resident?: boolean;
}

/** weights [M, S] (or [S]) and values [S, D] → context [M, D] (or [D]). */
export function attentionContext(ws: Workspace, weights: TensorLike, values: TensorLike, options?: ContextOptions): Float32Array | Tensor {
  const wa = checkTensor('weights', weights, ws.heap);
  const va = checkTensor('values', values, ws.heap);
  const resident = checkBoolean('options.resident', checkOptions('options', options, ['resident'], 'attentionContext').resident);
  if (wa.shape.length > 2) throw new RangeError(`weights: expected shape [M, S] or [S], received ${formatShape(wa.shape)}`);
  const s = wa.shape[wa.shape.length - 1]!;
  const m = wa.shape.length === 2 ? wa.shape[0]! : 1;
  expectShape('values', va.shape, [s, 'D'], 'one value row per weight');
  const d = va.shape[1]!;
  return ws.run((temps) => {
    const wp = temps.input(wa);
    const vp = temps.input(va);
    const out = temps.tensor(wa.shape.length === 2 ? [m, d] : [d]);
    matmulNN(ws, mat(wp, s), mat(vp, d), mat(out.ptr, d), m, d, s);
    return resident ? temps.keep(out) : out.toArray();
  });
}
