/**
 * Scaled dot-product attention: output = softmax(step(q·kᵀ·scale) | visible keys)·v per (batch,
 * head), with the variants of ./variants.ts. The fused kernel never materialises the [Lq, Lk]
 * scores; `returnWeights` takes the materialised path (gemm, softmax, gemm) because the weights
 * themselves are the product.
 */
import type { Tensor } from '../engine/memory.js';
import { asBHLD, checkBoolean, checkFinite, checkLengths, checkOptions, checkTensor, formatShape, type TensorLike } from '../engine/validate.js';
import { attendFused, attendMaterialised, contiguous, type Problem } from './attend.js';
import { checkVariants, variantFields, type VariantOptions } from './variants.js';
import type { Workspace } from '../engine/workspace.js';

export type { AttentionMask, RelativeBias } from './variants.js';

export interface AttentionOptions extends VariantOptions {
  /** Mask the future: query i of Lq sees key j only when j ≤ pos(i) = i + Lk − Lq (bottom-right aligned). */
  causal?: boolean;
  /** Per batch: keys j ≥ keyLengths[b] are padding and get zero weight. */
  keyLengths?: ArrayLike<number>;
  /** Multiplies q·kᵀ; default 1/√D. */
  scale?: number;
  /** Also return the attention weights [B, H, Lq, Lk] (O(Lq·Lk) memory). */
  returnWeights?: boolean;
  /** Return the output as a resident `Tensor` (no copy out; dispose it yourself). */
  resident?: boolean;
}

export interface AttentionResult<Output = Float32Array> {
  /** [B, H, Lq, Dv] (or the rank of the inputs: [H, Lq, Dv], [Lq, Dv]). */
  output: Output;
  /** [B, H, Lq, Lk] when `returnWeights`; each visible row sums to 1, a row that sees no key is 0. */
  weights?: Float32Array;
}

const OPTIONS = ['causal', 'keyLengths', 'scale', 'returnWeights', 'resident', 'window', 'softcap', 'alibi', 'relativeBias', 'attnMask'];

export function scaledDotProductAttention(ws: Workspace, q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions): AttentionResult<Float32Array | Tensor> {
  const heap = ws.heap;
  const qa = checkTensor('q', q, heap);
  const ka = checkTensor('k', k, heap);
  const va = checkTensor('v', v, heap);
  const opts = checkOptions('options', options, OPTIONS, 'scaledDotProductAttention');
  const [batch, heads, lq, d] = asBHLD(qa);
  const [, kvHeads, lk] = asBHLD(ka);
  const dv = asBHLD(va)[3];
  const rank = qa.shape.length;
  // k and v: the rank and batch of q, Hk heads dividing H (grouped-query attention), the D of q
  const sameLead = (s: number[]) => s.length === rank && (rank < 4 || s[0] === batch);
  if (!sameLead(ka.shape) || (rank >= 3 && heads % kvHeads !== 0) || ka.shape[rank - 1] !== d) {
    const expected = [...(rank === 4 ? [batch] : []), ...(rank >= 3 ? [heads] : []), 'Lk', d];
    throw new RangeError(`k: expected shape ${formatShape(expected)} (the rank, batch and D of q; heads H = ${heads} or a divisor of it for grouped-query attention), received ${formatShape(ka.shape)}`);
  }
  const vExpected = [...ka.shape.slice(0, -1), 'Dv'];
  if (va.shape.length !== rank || !ka.shape.slice(0, -1).every((x, i) => va.shape[i] === x)) {
    throw new RangeError(`v: expected shape ${formatShape(vExpected)} (the rank, batch and heads of k and its Lk), received ${formatShape(va.shape)}`);
  }
  const outShape = [batch, heads, lq, dv].slice(4 - rank);
  const causal = checkBoolean('options.causal', opts['causal']);
  const returnWeights = checkBoolean('options.returnWeights', opts['returnWeights']);
  const resident = checkBoolean('options.resident', opts['resident']);
  const scale = checkFinite('options.scale', opts['scale'], 1 / Math.sqrt(d));
  const keyLengths = checkLengths('options.keyLengths', opts['keyLengths'], batch, lk);
  const variants = checkVariants(opts, batch, heads, lq, lk, heap);

  return ws.run((temps) => {
    const qp = temps.input(qa);
    const kp = temps.input(ka);
    const vp = v === k ? kp : temps.input(va); // key = value (seq2seq dot attention): one copy
    const out = temps.tensor(outShape);
    const problem: Problem = {
      q: contiguous(qp, heads, lq, d),
      k: contiguous(kp, kvHeads, lk, d),
      v: contiguous(vp, kvHeads, lk, dv),
      out: contiguous(out.ptr, heads, lq, dv),
      batch, heads, lq, lk, d, dv, scale, causal,
      keyLengths: keyLengths ? temps.int32(keyLengths) : 0,
      group: heads / kvHeads,
      ...variantFields(temps, variants),
    };
    let weights: Float32Array | undefined;
    if (returnWeights) weights = ws.heap.view(attendMaterialised(ws, temps, problem), batch * heads * lq * lk).slice();
    else attendFused(ws, problem);
    const output = resident ? temps.keep(out) : out.toArray();
    return weights ? { output, weights } : { output };
  });
}
