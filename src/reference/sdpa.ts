import { asBHLD, checkBoolean, checkFinite, checkLengths, checkOptions, checkTensor, expectShape, type Exact } from './check.js';
import type { ReferenceTensor } from './tensor.js';
import { visibleRange } from './visibility.js';

/** The options of `runtime.scaledDotProductAttention`, by the same names. */
export interface ReferenceAttentionOptions {
  /** Query i of Lq sees key j only when j ≤ i + Lk − Lq (bottom-right aligned). */
  causal?: boolean;
  /** Per batch: keys j ≥ keyLengths[b] are padding and get zero weight. */
  keyLengths?: ArrayLike<number>;
  /** Multiplies q·kᵀ; default 1/√D. */
  scale?: number;
  /** Also return the attention weights [B, H, Lq, Lk]. */
  returnWeights?: boolean;
  /**
   * Accepted for the runtime's sake and ignored: the twin has no Wasm memory to keep a result
   * in, so `output` is always a Float32Array.
   */
  resident?: boolean;
}

export interface ReferenceAttentionResult {
  /** [B, H, Lq, Dv] (or the rank of the inputs: [H, Lq, Dv], [Lq, Dv]). */
  output: Float32Array;
  /** [B, H, Lq, Lk] when `returnWeights`. */
  weights?: Float32Array;
}

/** The result for options O: `weights` is present when O asks for them (as with the runtime). */
export type ReferenceAttentionResultFor<O> = ReferenceAttentionResult & (O extends { returnWeights: true } ? { weights: Float32Array } : unknown);

/**
 * For every (batch b, head h, query i): s_j = q_i·k_j·scale over the keys query i sees
 * (visibleRange: j < keyLengths[b], and j ≤ i + Lk − Lq when causal), w = softmax(s),
 * output_i = Σ_j w_j·v_j, in float64.
 * q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] ([H, L, D] and [L, D] too), as the runtime.
 * A query that sees no key outputs zeros and zero weights.
 */
export function scaledDotProductAttention<O extends ReferenceAttentionOptions = {}>(q: ReferenceTensor, k: ReferenceTensor, v: ReferenceTensor, options?: Exact<O, ReferenceAttentionOptions>): ReferenceAttentionResultFor<O>;
export function scaledDotProductAttention(q: ReferenceTensor, k: ReferenceTensor, v: ReferenceTensor, options?: ReferenceAttentionOptions): ReferenceAttentionResult;
export function scaledDotProductAttention(q: ReferenceTensor, k: ReferenceTensor, v: ReferenceTensor, options?: ReferenceAttentionOptions): ReferenceAttentionResult {
  const qa = checkTensor('q', q);
  const ka = checkTensor('k', k);
  const va = checkTensor('v', v);
  const opts = checkOptions('options', options, ['causal', 'keyLengths', 'scale', 'returnWeights', 'resident'], 'scaledDotProductAttention');
  const [batch, heads, lq, d] = asBHLD('q', qa.shape);
  const lk = asBHLD('k', ka.shape)[2];
  const dv = asBHLD('v', va.shape)[3];
  const lead = qa.shape.slice(0, -2);
  expectShape('k', ka.shape, [...lead, 'Lk', d], 'the rank, batch, heads and D of q');
  expectShape('v', va.shape, [...lead, lk, 'Dv'], 'the rank, batch and heads of q and the Lk of k');
  const causal = checkBoolean('options.causal', opts['causal']);
  const returnWeights = checkBoolean('options.returnWeights', opts['returnWeights']);
  checkBoolean('options.resident', opts['resident']); // checked like the runtime's, then ignored
  const scale = checkFinite('options.scale', opts['scale'], 1 / Math.sqrt(d));
  const keyLengths = checkLengths('options.keyLengths', opts['keyLengths'], batch, lk);

  const output = new Float32Array(batch * heads * lq * dv);
  const weights = returnWeights ? new Float32Array(batch * heads * lq * lk) : undefined;
  const w = new Float64Array(lk);
  const acc = new Float64Array(dv);
  const rule = { lq, lk, causal, keyLengths };
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
          for (let e = 0; e < d; e++) dot += qa.data[qi + e]! * ka.data[kj + e]!;
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
          for (let e = 0; e < dv; e++) acc[e] += p * va.data[vj + e]!;
        }
        output.set(acc, (bh * lq + i) * dv);
      }
    }
  }
  return weights ? { output, weights } : { output };
}
