/** Elementwise activations: ReLU, GELU (exact erf form and tanh approximation), SiLU, tanh. */
import type { Tensor } from '../engine/memory.js';
import { ACTIVATION } from '../engine/kernels.js';
import { runActivation } from '../engine/parallel.js';
import { checkBoolean, checkOptions, checkTensor, describe, type TensorLike } from '../engine/validate.js';
import type { Workspace } from '../engine/workspace.js';

/**
 * relu: max(x, 0); gelu: 0.5·x·(1 + erf(x/√2)) (`F.gelu`); geluTanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
 * (`F.gelu(approximate='tanh')`, GPT-2's gelu_new); silu: x·σ(x) (`F.silu`, swish); tanh.
 */
export type ActivationKind = 'relu' | 'gelu' | 'geluTanh' | 'silu' | 'tanh';
export const ACTIVATION_KINDS: readonly ActivationKind[] = ['relu', 'gelu', 'geluTanh', 'silu', 'tanh'];

export interface ActivationOptions {
  /** Return the output as a resident `Tensor`. */
  resident?: boolean;
}

export interface GeluOptions {
  /** 'none' (default): the exact erf form; 'tanh': the tanh approximation (PyTorch's `approximate`). */
  approximate?: 'none' | 'tanh';
  /** Return the output as a resident `Tensor`. */
  resident?: boolean;
}

/** f(x) elementwise, same shape. NaN → NaN; ±Infinity → the limits (gelu, silu: −Infinity → 0). */
export function activation(ws: Workspace, x: TensorLike, kind: ActivationKind, options?: ActivationOptions): Float32Array | Tensor {
  const xa = checkTensor('x', x, ws.heap);
  if (!(ACTIVATION_KINDS as readonly unknown[]).includes(kind)) {
    throw new TypeError(`kind must be one of ${ACTIVATION_KINDS.map((k) => `'${k}'`).join(', ')}, received ${describe(kind)}`);
  }
  const opts = checkOptions('options', options, ['resident'], 'activation');
  return apply(ws, xa, kind, checkBoolean('options.resident', opts['resident']));
}

/** `F.gelu(x, approximate)`. */
export function gelu(ws: Workspace, x: TensorLike, options?: GeluOptions): Float32Array | Tensor {
  const xa = checkTensor('x', x, ws.heap);
  const opts = checkOptions('options', options, ['approximate', 'resident'], 'gelu');
  const approximate = opts['approximate'] ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw new TypeError(`options.approximate must be 'none' or 'tanh', received ${describe(approximate)}`);
  return apply(ws, xa, approximate === 'tanh' ? 'geluTanh' : 'gelu', checkBoolean('options.resident', opts['resident']));
}

function apply(ws: Workspace, xa: ReturnType<typeof checkTensor>, kind: ActivationKind, resident: boolean): Float32Array | Tensor {
  return ws.run((temps) => {
    const out = temps.tensor(xa.shape);
    if (kind === 'tanh') {
      const f32 = ws.heap.floats();
      if (xa.tensor) f32.copyWithin(out.ptr >>> 2, xa.tensor.ptr >>> 2, (xa.tensor.ptr >>> 2) + out.size);
      else f32.set(xa.data!, out.ptr >>> 2);
      ws.kernels.tanhInPlace(out.ptr, out.size);
    } else {
      runActivation(ws, temps.input(xa), out.ptr, out.size, ACTIVATION[kind]);
    }
    return resident ? temps.keep(out) : out.toArray();
  });
}
