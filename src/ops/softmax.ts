/** Row softmax over the last dimension, with an optional additive mask (-Infinity hides an entry). */
import type { Tensor } from '../engine/memory.js';
import { checkBoolean, checkFinite, checkOptions, checkTensor, formatShape, type TensorLike } from '../engine/validate.js';
import type { Workspace } from '../engine/workspace.js';

export interface SoftmaxOptions {
  /** Added before the softmax: the shape of x, or [N] (the same for every row). */
  mask?: TensorLike;
  /** Multiplies x before the mask is added; default 1. */
  scale?: number;
  /** Return the output as a resident `Tensor`. */
  resident?: boolean;
}

/** softmax(x·scale + mask) over the last dim of x [..., N]; a row with every entry -Infinity becomes zeros. */
export function softmax(ws: Workspace, x: TensorLike, options?: SoftmaxOptions): Float32Array | Tensor {
  const xa = checkTensor('x', x, ws.heap);
  const opts = checkOptions('options', options, ['mask', 'scale', 'resident'], 'softmax');
  const scale = checkFinite('options.scale', opts.scale, 1);
  const resident = checkBoolean('options.resident', opts.resident);
  const n = xa.shape[xa.shape.length - 1]!;
  const rows = xa.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const maskArg = opts.mask === undefined ? undefined : checkTensor('options.mask', opts.mask, ws.heap);
  let ldMask = 0;
  if (maskArg) {
    const same = maskArg.shape.length === xa.shape.length && maskArg.shape.every((d, i) => d === xa.shape[i]);
    if (same) ldMask = n;
    else if (!(maskArg.shape.length === 1 && maskArg.shape[0] === n)) {
      throw new RangeError(`options.mask: expected shape ${formatShape(xa.shape)} (that of x) or [${n}] (one row for all), received ${formatShape(maskArg.shape)}`);
    }
  }
  return ws.run((temps) => {
    const out = temps.tensor(xa.shape);
    if (xa.tensor) ws.heap.floats().copyWithin(out.ptr >>> 2, xa.tensor.ptr >>> 2, (xa.tensor.ptr >>> 2) + out.size);
    else ws.heap.floats().set(xa.data!, out.ptr >>> 2);
    const maskPtr = maskArg ? temps.input(maskArg) : 0;
    ws.kernels.softmax(out.ptr, n, rows, n, scale, maskPtr, ldMask, n);
    return resident ? temps.keep(out) : out.toArray();
  });
}
