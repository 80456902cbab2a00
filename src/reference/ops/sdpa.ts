import { asBHLD, checkBoolean, checkFinite, checkLengths, checkOptions, checkTensor, expectShape, formatShape, type Exact } from '../check.js';
import { alibiSlopes, t5Bucket } from './position-bias.js';
import type { ReferenceTensor } from '../tensor.js';
import { visibleRange } from '../visibility.js';

/** The options of `runtime.scaledDotProductAttention`, by the same names. */
export interface ReferenceAttentionOptions {
  /** Query i of Lq sees key j only when j ≤ pos(i) = i + Lk − Lq (bottom-right aligned). */
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
  /** Keys pos(i) − left … pos(i) + right are visible (−1: unbounded on that side). */
  window?: readonly [number, number];
  /** Scores become c·tanh(s/c) (after scaling, before bias and mask). */
  softcap?: number;
  /** s −= slope[h]·|j − pos(i)|: true for BLOOM's slopes, or one slope per head. */
  alibi?: boolean | Float32Array | readonly number[];
  /** s += table[bucket(j − pos(i)), h] (T5), table [numBuckets, H]. */
  relativeBias?: { table: ReferenceTensor; numBuckets: number; maxDistance: number; bidirectional: boolean };
  /** Broadcastable to [B, H, Lq, Lk]: Uint8Array / boolean[] (true: may attend) or Float32Array (added). */
  attnMask?: { data: Uint8Array | Float32Array | readonly boolean[]; shape: readonly number[] };
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
  const opts = checkOptions('options', options, OPTIONS, 'scaledDotProductAttention');
  const [batch, heads, lq, d] = asBHLD('q', qa.shape);
  const [, kvHeads, lk] = asBHLD('k', ka.shape);
  const dv = asBHLD('v', va.shape)[3];
  const rank = qa.shape.length;
  const kOk = ka.shape.length === rank && (rank < 4 || ka.shape[0] === batch) && heads % kvHeads === 0 && ka.shape[rank - 1] === d;
  if (!kOk) throw new RangeError(`k: expected shape ${formatShape([...qa.shape.slice(0, -2), 'Lk', d])} (the rank, batch and D of q; heads H = ${heads} or a divisor of it for grouped-query attention), received ${formatShape(ka.shape)}`);
  expectShape('v', va.shape, [...ka.shape.slice(0, -1), 'Dv'], 'the rank, batch and heads of k and its Lk');
  const causal = checkBoolean('options.causal', opts['causal']);
  const returnWeights = checkBoolean('options.returnWeights', opts['returnWeights']);
  checkBoolean('options.resident', opts['resident']); // checked like the runtime's, then ignored
  const scale = checkFinite('options.scale', opts['scale'], 1 / Math.sqrt(d));
  const keyLengths = checkLengths('options.keyLengths', opts['keyLengths'], batch, lk);
  const window = opts['window'] as [number, number] | undefined;
  const softcap = opts['softcap'] as number | undefined;
  const alibi = opts['alibi'] === true ? alibiSlopes(heads) : opts['alibi'] ? Float32Array.from(opts['alibi'] as ArrayLike<number>) : undefined;
  const relative = opts['relativeBias'] as ReferenceAttentionOptions['relativeBias'];
  const mask = opts['attnMask'] as ReferenceAttentionOptions['attnMask'];
  // the mask's value at (b, h, i, j), broadcast from the right; undefined when there is none
  const maskAt = mask ? broadcastMask(mask, [batch, heads, lq, lk]) : undefined;

  const output = new Float32Array(batch * heads * lq * dv);
  const weights = returnWeights ? new Float32Array(batch * heads * lq * lk) : undefined;
  const s = new Float64Array(lk);
  const seen = new Uint8Array(lk);
  const acc = new Float64Array(dv);
  const rule = { lq, lk, causal, keyLengths, window };
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const bh = b * heads + h;
      const bkv = b * kvHeads + Math.floor(h / (heads / kvHeads)); // grouped-query: the kv head of h
      for (let i = 0; i < lq; i++) {
        const pos = i + lk - lq;
        const [lo, hi] = visibleRange(rule, b, i);
        const qi = (bh * lq + i) * d;
        seen.fill(0);
        let max = -Infinity;
        for (let j = lo; j < hi; j++) {
          let dot = 0;
          for (let e = 0; e < d; e++) dot += qa.data[qi + e]! * ka.data[(bkv * lk + j) * d + e]!;
          let x = dot * scale;
          if (softcap !== undefined) x = softcap * Math.tanh(x / softcap);
          if (alibi) x -= alibi[h]! * Math.abs(j - pos);
          if (relative) x += relative.table.data[t5Bucket(j - pos, relative.bidirectional, relative.numBuckets, relative.maxDistance) * heads + h]!;
          if (maskAt) {
            const m = maskAt(b, h, i, j);
            if (mask!.data instanceof Float32Array) {
              if (m === -Infinity) continue; // a −inf mask entry hides the key
              x += m;
            } else if (!m) continue; // a false bool entry hides the key
          }
          seen[j] = 1;
          s[j] = x;
          if (x > max) max = x;
        }
        let sum = 0;
        for (let j = lo; j < hi; j++) if (seen[j]) sum += s[j] = Math.exp(s[j]! - max);
        acc.fill(0);
        for (let j = lo; j < hi; j++) {
          if (!seen[j]) continue;
          const p = s[j]! / sum;
          if (weights) weights[(bh * lq + i) * lk + j] = p;
          for (let e = 0; e < dv; e++) acc[e] += p * va.data[(bkv * lk + j) * dv + e]!;
        }
        output.set(acc, (bh * lq + i) * dv);
      }
    }
  }
  return weights ? { output, weights } : { output };
}

const OPTIONS = ['causal', 'keyLengths', 'scale', 'returnWeights', 'resident', 'window', 'softcap', 'alibi', 'relativeBias', 'attnMask'];

/** (b, h, i, j) → the mask value, numpy-broadcast from the right to `target` (also the multi-head module's attnMask). */
export function broadcastMask(mask: NonNullable<ReferenceAttentionOptions['attnMask']>, target: number[]): (b: number, h: number, i: number, j: number) => number {
  const dims = [...new Array(4 - mask.shape.length).fill(1), ...mask.shape] as number[];
  if (!dims.every((x, n) => x === 1 || x === target[n])) {
    throw new RangeError(`options.attnMask: shape ${formatShape(mask.shape)} does not broadcast to [B, H, Lq, Lk] = ${formatShape(target)}`);
  }
  const data = Array.isArray(mask.data) ? mask.data.map((x) => (x ? 1 : 0)) : (mask.data as ArrayLike<number>);
  return (b, h, i, j) => {
    const at = [b, h, i, j].map((x, n) => (dims[n] === 1 ? 0 : x));
    return data[((at[0]! * dims[1]! + at[1]!) * dims[2]! + at[2]!) * dims[3]! + at[3]!]!;
  };
}
