/**
 * Position information: the sinusoidal table of "Attention Is All You Need" and rotary
 * embeddings (RoPE). Angles are computed in float64 and rounded once to float32.
 */
import { Tensor } from '../engine/memory.js';
import { checkBoolean, checkFinite, checkInteger, checkOptions, checkShape, checkTensor, describe, formatShape, type TensorLike } from '../engine/validate.js';
import type { Workspace } from '../engine/workspace.js';

/** PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos(p / 10000^(2i/dim)): [maxLength, dim]. */
export function sinusoidalEncoding(maxLength: number, dim: number): Float32Array {
  checkInteger('maxLength', maxLength, 1);
  checkInteger('dim', dim, 1);
  const pe = new Float32Array(maxLength * dim);
  for (let p = 0; p < maxLength; p++) {
    for (let e = 0; e < dim; e++) {
      const angle = p / Math.pow(10000, (e - (e % 2)) / dim);
      pe[p * dim + e] = e % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return pe;
}

export type RopeStyle = 'half' | 'interleaved';

export interface RopeOptions {
  /** Shape of x when x is a bare Float32Array: [..., L, D], positions along L, D even. */
  shape?: readonly number[];
  /** Position of the first row along L (e.g. the number of tokens already in a KV cache); default 0. */
  offset?: number;
  /** θ_i = base^(−2i/D); default 10000. */
  base?: number;
  /** 'half': pairs (i, i + D/2), GPT-NeoX / Hugging Face LLaMA `rotate_half`; 'interleaved': pairs (2i, 2i+1), RoFormer. */
  style: RopeStyle;
  /** Rotate x itself (its Float32Array, or the resident tensor) instead of returning a new array. */
  inPlace?: boolean;
}

/** The (cos, sin) table [L, D/2, 2] for positions offset..offset+L−1, kept resident for the next call with the same key. */
export function ropeTable(ws: Workspace, length: number, d: number, offset: number, base: number): number {
  const key = `${length},${d},${offset},${base}`;
  const cached = ws.ropeTable;
  if (cached && cached.key === key) return cached.ptr;
  if (cached) ws.heap.release(cached.ptr);
  ws.ropeTable = undefined;
  const half = d / 2;
  const ptr = ws.heap.alloc(length * half * 8);
  const t = ws.heap.view(ptr, length * half * 2);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (offset + p) * Math.pow(base, (-2 * i) / d);
      t[(p * half + i) * 2] = Math.cos(angle);
      t[(p * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  ws.ropeTable = { key, ptr };
  return ptr;
}

/**
 * θ_i = base^(−2i/D) for i < D/2: the default rotary frequencies (Hugging Face's `inv_freq`;
 * models with scaled RoPE adjust them, see the language-model configs).
 */
export function ropeFrequencies(d: number, base: number): Float64Array {
  const f = new Float64Array(d / 2);
  for (let i = 0; i < d / 2; i++) f[i] = Math.pow(base, (-2 * i) / d);
  return f;
}

/**
 * The (cos, sin) table [L, D/2, 2] of positions offset … offset + L − 1 for the frequencies
 * `invFreq` [D/2] (angle p·invFreq[i], in float64, rounded once), kept resident for the next call
 * with the same frequencies (the same array: two models' tables never mix), name, length and offset.
 */
export function ropeTableOf(ws: Workspace, length: number, invFreq: Float64Array, offset: number, name: string): number {
  const key = `${name},${length},${offset}`;
  const cached = ws.ropeTable;
  if (cached && cached.key === key && cached.freq === invFreq) return cached.ptr;
  if (cached) ws.heap.release(cached.ptr);
  ws.ropeTable = undefined;
  const half = invFreq.length;
  const ptr = ws.heap.alloc(length * half * 8);
  const t = ws.heap.view(ptr, length * half * 2);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (offset + p) * invFreq[i]!;
      t[(p * half + i) * 2] = Math.cos(angle);
      t[(p * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  ws.ropeTable = { key, ptr, freq: invFreq };
  return ptr;
}

/** Rotary embedding of x [..., L, D]: each pair (a, b) at position p turns by p·θ_i. */
export function rope(ws: Workspace, x: TensorLike | Float32Array, options: RopeOptions): Float32Array | Tensor {
  const opts = checkOptions('options', options, ['style', 'shape', 'offset', 'base', 'inPlace'], 'rope');
  let arg;
  if (x instanceof Float32Array) {
    const shape = checkShape('options.shape', opts.shape);
    arg = checkTensor('x', { data: x, shape }, ws.heap);
  } else {
    arg = checkTensor('x', x, ws.heap);
    if (opts.shape !== undefined) {
      const shape = checkShape('options.shape', opts.shape);
      if (formatShape(shape) !== formatShape(arg.shape)) throw new RangeError(`options.shape ${formatShape(shape)} differs from the shape of x ${formatShape(arg.shape)}`);
    }
  }
  if (opts.style !== 'half' && opts.style !== 'interleaved') {
    throw new TypeError(`options.style must be 'half' (GPT-NeoX / LLaMA rotate_half) or 'interleaved' (RoFormer), received ${describe(opts.style)}`);
  }
  const shape = arg.shape;
  if (shape.length < 2) throw new RangeError(`x: expected shape [..., L, D] with positions along L, received ${formatShape(shape)}`);
  const d = shape[shape.length - 1]!;
  const length = shape[shape.length - 2]!;
  if (d % 2 !== 0) throw new RangeError(`x: the last dimension D must be even to form rotation pairs, received ${formatShape(shape)}`);
  const offset = opts.offset === undefined ? 0 : checkInteger('options.offset', opts.offset, 0);
  const base = checkFinite('options.base', opts.base, 10000);
  if (base <= 0) throw new RangeError(`options.base must be positive, received ${base}`);
  const inPlace = checkBoolean('options.inPlace', opts.inPlace);
  if (inPlace && !arg.tensor && !(x instanceof Float32Array) && !((x as { data?: unknown }).data instanceof Float32Array)) {
    throw new TypeError('options.inPlace needs x to be a resident tensor or Float32Array data (an array of numbers is copied to float32, so it cannot be rotated in place)');
  }
  const rows = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const style = opts.style === 'half' ? 0 : 1;

  return ws.run((temps) => {
    const table = ropeTable(ws, length, d, offset, base);
    if (arg.tensor && inPlace) {
      ws.kernels.rope(arg.tensor.ptr, arg.tensor.ptr, rows, length, d, table, style);
      return arg.tensor;
    }
    const out = temps.tensor(shape);
    const src = arg.tensor ? arg.tensor.ptr : out.ptr;
    if (!arg.tensor) ws.heap.floats().set(arg.data!, out.ptr >>> 2);
    ws.kernels.rope(src, out.ptr, rows, length, d, table, style);
    if (arg.tensor) return temps.keep(out);
    if (inPlace) {
      arg.data!.set(out.data);
      return arg.data!;
    }
    return out.toArray();
  });
}
