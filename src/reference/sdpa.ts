import { bhld, type ReferenceTensor } from './tensor.js';
import { visibleRange } from './visibility.js';

export interface ReferenceAttentionOptions {
  causal?: boolean;
  keyLengths?: ArrayLike<number>;
  scale?: number;
  returnWeights?: boolean;
}

/**
 * For every (batch b, head h, query i): s_j = q_i·k_j·scale over the keys query i sees
 * (visibleRange: j < keyLengths[b], and j ≤ i + Lk − Lq when causal), w = softmax(s),
 * output_i = Σ_j w_j·v_j.
 * A query that sees no key outputs zeros and zero weights.
 */
export function scaledDotProductAttention(
  q: ReferenceTensor,
  k: ReferenceTensor,
  v: ReferenceTensor,
  options: ReferenceAttentionOptions = {},
): { output: Float32Array; weights?: Float32Array } {
  const [batch, heads, lq, d] = bhld(q.shape);
  const lk = bhld(k.shape)[2];
  const dv = bhld(v.shape)[3];
  const scale = options.scale ?? 1 / Math.sqrt(d);
  const output = new Float32Array(batch * heads * lq * dv);
  const weights = options.returnWeights ? new Float32Array(batch * heads * lq * lk) : undefined;
  const w = new Float64Array(lk);
  const acc = new Float64Array(dv);
  const rule = { lq, lk, causal: options.causal, keyLengths: options.keyLengths };
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const bh = b * heads + h;
      for (let i = 0; i < lq; i++) {
        const [lo, hi] = visibleRange(rule, b, i);
        const qi = (bh * lq + i) * d;
        let max = -Infinity;
        for (let j = lo; j < hi; j++) {
          const kj = (bh * lk + j) * d;
          let dot = 0;
          for (let e = 0; e < d; e++) dot += q.data[qi + e]! * k.data[kj + e]!;
          w[j] = dot * scale;
          if (w[j]! > max) max = w[j]!;
        }
        let sum = 0;
        for (let j = lo; j < hi; j++) sum += w[j] = Math.exp(w[j]! - max);
        acc.fill(0);
        for (let j = lo; j < hi; j++) {
          const p = w[j]! / sum;
          if (weights) weights[(bh * lq + i) * lk + j] = p;
          const vj = (bh * lk + j) * dv;
          for (let e = 0; e < dv; e++) acc[e] += p * v.data[vj + e]!;
        }
        output.set(acc, (bh * lq + i) * dv);
      }
    }
  }
  return weights ? { output, weights } : { output };
}
