/** Matrix multiply through the packed gemm kernel: y = a·b (+ bias), or a·bᵀ (+ bias) for b [N, K] (PyTorch Linear). */
import type { Tensor } from '../engine/memory.js';
import { checkBoolean, checkOptions, checkTensor, expectShape, formatShape, type TensorLike } from '../engine/validate.js';
import { linear, mat, matmulNN } from '../engine/linear.js';
import type { Workspace } from '../engine/workspace.js';

export interface MatmulOptions {
  /** b is stored [N, K] (a Linear weight [out, in]) and used transposed. */
  transposeB?: boolean;
  /** Added to every output row: shape [N]. */
  bias?: TensorLike;
  /** Return the output as a resident `Tensor`. */
  resident?: boolean;
}

/** a [..., M, K] (leading dims flattened into rows) times b [K, N] → [..., M, N]. */
export function matmul(ws: Workspace, a: TensorLike, b: TensorLike, options?: MatmulOptions): Float32Array | Tensor {
  const aa = checkTensor('a', a, ws.heap);
  const ba = checkTensor('b', b, ws.heap);
  const opts = checkOptions('options', options, ['transposeB', 'bias', 'resident'], 'matmul');
  const transB = checkBoolean('options.transposeB', opts.transposeB);
  const resident = checkBoolean('options.resident', opts.resident);
  if (aa.shape.length < 2) throw new RangeError(`a: expected shape [..., M, K], received ${formatShape(aa.shape)}`);
  const k = aa.shape[aa.shape.length - 1]!;
  const m = aa.shape.slice(0, -1).reduce((x, y) => x * y, 1);
  expectShape('b', ba.shape, transB ? ['N', k] : [k, 'N'], transB ? 'b is [N, K] with the K of a' : 'b is [K, N] with the K of a');
  const n = transB ? ba.shape[0]! : ba.shape[1]!;
  const biasArg = opts.bias === undefined ? undefined : checkTensor('options.bias', opts.bias, ws.heap);
  if (biasArg) expectShape('options.bias', biasArg.shape, [n], 'one value per output column');
  return ws.run((temps) => {
    const ap = temps.input(aa);
    const bp = temps.input(ba);
    const biasPtr = biasArg ? temps.input(biasArg) : 0;
    const out = temps.tensor([...aa.shape.slice(0, -1), n]);
    const product = transB ? linear : matmulNN;
    product(ws, mat(ap, k), mat(bp, transB ? k : n), mat(out.ptr, n), m, n, k, { bias: biasPtr });
    return resident ? temps.keep(out) : out.toArray();
  });
}
