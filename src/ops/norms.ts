/**
 * Normalisation over the last dimension: LayerNorm (`torch.nn.functional.layer_norm` with
 * normalized_shape = [N]) and RMSNorm (Llama's). One kernel call over all rows.
 */
import type { Tensor } from '../engine/memory.js';
import { checkBoolean, checkFinite, checkOptions, checkTensor, expectShape, formatShape, type Checked, type TensorLike } from '../engine/validate.js';
import type { Heap } from '../engine/memory.js';
import type { Workspace } from '../engine/workspace.js';

export interface LayerNormOptions {
  /** The scale γ [N] (`elementwise_affine`); default none (1). */
  weight?: TensorLike;
  /** The shift β [N]; default none (0). */
  bias?: TensorLike;
  /** Added to the variance; default 1e-5 (PyTorch's). */
  eps?: number;
  /** Added to x first, with x's shape: layerNorm(x + residual), the post-norm residual step in one pass (the sum rounded to float32). */
  residual?: TensorLike;
  /** Return the output as a resident `Tensor`. */
  resident?: boolean;
}

export interface RmsNormOptions {
  /** The scale [N]; default none (1). */
  weight?: TensorLike;
  /** Added to the mean of squares; default 1e-6 (Llama's `rms_norm_eps`; pass your model's). */
  eps?: number;
  /** Return the output as a resident `Tensor`. */
  resident?: boolean;
}

/** x [..., N] checked, with its row count and N. */
function rowsOf(x: TensorLike, heap: Heap): { xa: Checked; rows: number; n: number } {
  const xa = checkTensor('x', x, heap);
  const n = xa.shape[xa.shape.length - 1]!;
  return { xa, rows: xa.shape.slice(0, -1).reduce((a, b) => a * b, 1), n };
}

/** An optional [N] parameter. */
function vector(name: string, value: unknown, n: number, heap: Heap): Checked | undefined {
  if (value === undefined) return undefined;
  const arg = checkTensor(name, value, heap);
  expectShape(name, arg.shape, [n], 'the last dimension of x');
  return arg;
}

function checkEps(value: unknown, fallback: number): number {
  const eps = checkFinite('options.eps', value, fallback);
  if (!(eps >= 0)) throw new RangeError(`options.eps must be ≥ 0, received ${eps}`);
  return eps;
}

/** (x − mean)/√(var + eps)·weight + bias over the last dim of x [..., N] (biased variance); a row holding NaN or ±Infinity becomes NaN. */
export function layerNorm(ws: Workspace, x: TensorLike, options?: LayerNormOptions): Float32Array | Tensor {
  const { xa, rows, n } = rowsOf(x, ws.heap);
  const opts = checkOptions('options', options, ['weight', 'bias', 'eps', 'residual', 'resident'], 'layerNorm');
  const weight = vector('options.weight', opts['weight'], n, ws.heap);
  const bias = vector('options.bias', opts['bias'], n, ws.heap);
  const eps = checkEps(opts['eps'], 1e-5);
  const residual = opts['residual'] === undefined ? undefined : checkTensor('options.residual', opts['residual'], ws.heap);
  if (residual && !(residual.shape.length === xa.shape.length && residual.shape.every((d, i) => d === xa.shape[i]))) {
    throw new RangeError(`options.residual: expected shape ${formatShape(xa.shape)} (that of x), received ${formatShape(residual.shape)}`);
  }
  const resident = checkBoolean('options.resident', opts['resident']);
  return ws.run((temps) => {
    const out = temps.tensor(xa.shape);
    ws.kernels.layerNorm(
      temps.input(xa), n, out.ptr, n, rows, n,
      weight ? temps.input(weight) : 0, bias ? temps.input(bias) : 0, eps,
      residual ? temps.input(residual) : 0, residual ? n : 0,
    );
    return resident ? temps.keep(out) : out.toArray();
  });
}

/** x/√(mean(x²) + eps)·weight over the last dim of x [..., N]; a row holding NaN or ±Infinity becomes NaN. */
export function rmsNorm(ws: Workspace, x: TensorLike, options?: RmsNormOptions): Float32Array | Tensor {
  const { xa, rows, n } = rowsOf(x, ws.heap);
  const opts = checkOptions('options', options, ['weight', 'eps', 'resident'], 'rmsNorm');
  const weight = vector('options.weight', opts['weight'], n, ws.heap);
  const eps = checkEps(opts['eps'], 1e-6);
  const resident = checkBoolean('options.resident', opts['resident']);
  return ws.run((temps) => {
    const out = temps.tensor(xa.shape);
    ws.kernels.rmsNorm(temps.input(xa), n, out.ptr, n, rows, n, weight ? temps.input(weight) : 0, eps);
    return resident ? temps.keep(out) : out.toArray();
  });
}
