import type { ReferenceTensor } from './tensor.js';
import { visibleRange } from './visibility.js';

/**
 * torch.nn.MultiheadAttention (batch_first, bias) forward, written out: q = query·W_qᵀ + b_q,
 * k = key·W_kᵀ + b_k, v = value·W_vᵀ + b_v; per head h, softmax(q_h·k_hᵀ/√Dh + mask)·v_h;
 * output = concat(heads)·W_oᵀ + b_o; weights averaged over heads. Masks as in
 * scaledDotProductAttention: causal bottom-right aligned, keys j ≥ keyLengths[b] hidden, a query
 * that sees no key gives zeros.
 */
export function multiHeadAttention(
  config: { embedDim: number; numHeads: number; weights: Record<string, ReferenceTensor> },
  query: ReferenceTensor,
  key: ReferenceTensor = query,
  value: ReferenceTensor = key,
  options: { causal?: boolean; keyLengths?: ArrayLike<number>; needWeights?: boolean } = {},
): { output: Float32Array; weights?: Float32Array } {
  const E = config.embedDim;
  const H = config.numHeads;
  const Dh = E / H;
  const L = query.shape[query.shape.length - 2]!;
  const S = key.shape[key.shape.length - 2]!;
  const B = query.data.length / (L * E);
  const W = config.weights['in_proj_weight']!.data;
  const bIn = config.weights['in_proj_bias']!.data;
  const Wo = config.weights['out_proj.weight']!.data;
  const bo = config.weights['out_proj.bias']!.data;
  const project = (x: Float32Array, rows: number, part: number): Float64Array => {
    const y = new Float64Array(rows * E);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < E; o++) {
        let sum = bIn[part * E + o]!;
        for (let i = 0; i < E; i++) sum += W[(part * E + o) * E + i]! * x[r * E + i]!;
        y[r * E + o] = sum;
      }
    return y;
  };
  const q = project(query.data, B * L, 0);
  const k = project(key.data, B * S, 1);
  const v = project(value.data, B * S, 2);
  const attn = new Float64Array(B * L * E);
  const weights = options.needWeights ? new Float32Array(B * L * S) : undefined;
  const rule = { lq: L, lk: S, causal: options.causal, keyLengths: options.keyLengths };
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++) {
        const [lo, hi] = visibleRange(rule, b, i);
        const s = new Float64Array(hi);
        for (let j = lo; j < hi; j++) {
          let dot = 0;
          for (let e = 0; e < Dh; e++) dot += q[(b * L + i) * E + h * Dh + e]! * k[(b * S + j) * E + h * Dh + e]!;
          s[j] = dot / Math.sqrt(Dh);
        }
        const max = Math.max(...s.subarray(lo));
        let sum = 0;
        for (let j = lo; j < hi; j++) sum += s[j] = Math.exp(s[j]! - max);
        for (let j = lo; j < hi; j++) {
          const p = s[j]! / sum;
          if (weights) weights[(b * L + i) * S + j] += p / H;
          for (let e = 0; e < Dh; e++) attn[(b * L + i) * E + h * Dh + e] += p * v[(b * S + j) * E + h * Dh + e]!;
        }
      }
    }
  }
  const output = new Float32Array(B * L * E);
  for (let r = 0; r < B * L; r++)
    for (let o = 0; o < E; o++) {
      let sum = bo[o]!;
      for (let i = 0; i < E; i++) sum += Wo[o * E + i]! * attn[r * E + i]!;
      output[r * E + o] = sum;
    }
  return weights ? { output, weights } : { output };
}
