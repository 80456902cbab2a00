import type { ReferenceTensor } from './tensor.js';

/** PE[p, 2i] = sin(p·10000^(−2i/dim)), PE[p, 2i+1] = cos(p·10000^(−2i/dim)). */
export function sinusoidalEncoding(maxLength: number, dim: number): Float32Array {
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

/**
 * Rotary embedding of x [..., L, D]: at position p = offset + (index along L), pair i turns by
 * p·base^(−2i/D). 'half' pairs (i, i + D/2) (rotate_half); 'interleaved' pairs (2i, 2i + 1).
 */
export function rope(x: ReferenceTensor, options: { offset?: number; base?: number; style: 'half' | 'interleaved' }): Float32Array {
  const D = x.shape[x.shape.length - 1]!;
  const L = x.shape[x.shape.length - 2]!;
  const out = new Float32Array(x.data.length);
  for (let row = 0; row < x.data.length / D; row++) {
    const p = (options.offset ?? 0) + (row % L);
    for (let i = 0; i < D / 2; i++) {
      const theta = p * Math.pow(options.base ?? 10000, (-2 * i) / D);
      const [ia, ib] = options.style === 'half' ? [i, i + D / 2] : [2 * i, 2 * i + 1];
      const a = x.data[row * D + ia]!;
      const b = x.data[row * D + ib]!;
      out[row * D + ia] = a * Math.cos(theta) - b * Math.sin(theta);
      out[row * D + ib] = b * Math.cos(theta) + a * Math.sin(theta);
    }
  }
  return out;
}
