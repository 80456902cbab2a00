import { checkBoolean, checkFinite, checkInteger, checkOptions, checkShape, checkTensor, describe, formatShape } from '../check.js';
import type { ReferenceTensor } from '../tensor.js';

/** PE[p, 2i] = sin(p·10000^(−2i/dim)), PE[p, 2i+1] = cos(p·10000^(−2i/dim)): [maxLength, dim]. */
export function sinusoidalEncoding(maxLength: number, dim: number): Float32Array {
  checkInteger('maxLength', maxLength, 1);
  checkInteger('dim', dim, 1);
  const pe = new Float32Array(maxLength * dim);
  for (let p = 0; p < maxLength; p++) {
    for (let i = 0; 2 * i < dim; i++) {
      const angle = p * Math.pow(10000, (-2 * i) / dim);
      pe[p * dim + 2 * i] = Math.sin(angle);
      if (2 * i + 1 < dim) pe[p * dim + 2 * i + 1] = Math.cos(angle);
    }
  }
  return pe;
}

export type ReferenceRopeStyle = 'half' | 'interleaved';

/** The options of `runtime.rope`, by the same names. */
export interface ReferenceRopeOptions {
  /** Shape of x when x is a bare Float32Array: [..., L, D], positions along L, D even. */
  shape?: readonly number[];
  /** Position of the first row along L; default 0. */
  offset?: number;
  /** θ_i = base^(−2i/D); default 10000. */
  base?: number;
  /** 'half': pairs (i, i + D/2) (rotate_half); 'interleaved': pairs (2i, 2i+1) (RoFormer). */
  style: ReferenceRopeStyle;
  /** Rotate x's own Float32Array (and return it) instead of returning a new array. */
  inPlace?: boolean;
}

/**
 * Rotary embedding of x [..., L, D] (`{ data, shape }`, or a bare Float32Array with
 * `options.shape`): at position p = offset + (index along L), pair i turns by p·base^(−2i/D),
 * in float64. 'half' pairs (i, i + D/2) (rotate_half); 'interleaved' pairs (2i, 2i + 1).
 * Returns a new Float32Array, or with `inPlace` x's own data, rotated. (The runtime returns a new
 * resident tensor for a resident input; the twin has no resident tensors and always returns a
 * Float32Array: given a runtime `Tensor`, it reads, and with `inPlace` writes, `tensor.data`.)
 */
export function rope(x: ReferenceTensor | Float32Array, options: ReferenceRopeOptions): Float32Array {
  const opts = checkOptions('options', options, ['style', 'shape', 'offset', 'base', 'inPlace'], 'rope');
  let arg: { data: Float32Array; shape: number[] };
  if (x instanceof Float32Array) arg = checkTensor('x', { data: x, shape: checkShape('options.shape', opts['shape']) });
  else {
    arg = checkTensor('x', x);
    if (opts['shape'] !== undefined) {
      const shape = checkShape('options.shape', opts['shape']);
      if (formatShape(shape) !== formatShape(arg.shape)) throw new RangeError(`options.shape ${formatShape(shape)} differs from the shape of x ${formatShape(arg.shape)}`);
    }
  }
  const style = opts['style'];
  if (style !== 'half' && style !== 'interleaved') {
    throw new TypeError(`options.style must be 'half' (GPT-NeoX / LLaMA rotate_half) or 'interleaved' (RoFormer), received ${describe(style)}`);
  }
  const shape = arg.shape;
  if (shape.length < 2) throw new RangeError(`x: expected shape [..., L, D] with positions along L, received ${formatShape(shape)}`);
  const D = shape[shape.length - 1]!;
  const L = shape[shape.length - 2]!;
  if (D % 2 !== 0) throw new RangeError(`x: the last dimension D must be even to form rotation pairs, received ${formatShape(shape)}`);
  const offset = opts['offset'] === undefined ? 0 : checkInteger('options.offset', opts['offset'], 0);
  const base = checkFinite('options.base', opts['base'], 10000);
  if (base <= 0) throw new RangeError(`options.base must be positive, received ${base}`);
  const inPlace = checkBoolean('options.inPlace', opts['inPlace']);
  const src = arg.data;
  const out = inPlace ? src : new Float32Array(src.length);
  for (let row = 0; row < src.length / D; row++) {
    const p = offset + (row % L);
    for (let i = 0; i < D / 2; i++) {
      const theta = p * Math.pow(base, (-2 * i) / D);
      const [ia, ib] = style === 'half' ? [i, i + D / 2] : [2 * i, 2 * i + 1];
      const a = src[row * D + ia]!;
      const b = src[row * D + ib]!;
      out[row * D + ia] = a * Math.cos(theta) - b * Math.sin(theta);
      out[row * D + ib] = b * Math.cos(theta) + a * Math.sin(theta);
    }
  }
  return out;
}
