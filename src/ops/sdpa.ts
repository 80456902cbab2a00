/**
 * Scaled dot-product attention: output = softmax(q·kᵀ·scale + mask)·v per (batch, head).
 * The fused kernel never materialises the [Lq, Lk] scores; `returnWeights` takes the
 * materialised path (gemm, softmax, gemm) because the weights themselves are the product.
 */
import type { Tensor } from '../memory.js';
import { asBHLD, checkBoolean, checkFinite, checkLengths, checkOptions, checkTensor, expectShape, type TensorLike } from '../validate.js';
import { attendFused, attendMaterialised, contiguous, type Problem } from './attend.js';
import type { Workspace } from './workspace.js';

export interface AttentionOptions {
  /** Mask the future: query i of Lq sees key j only when j ≤ i + Lk − Lq (bottom-right aligned). */
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


export function scaledDotProductAttention(ws: Workspace, q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions): AttentionResult<Float32Array | Tensor> {
  const heap = ws.heap;
  const qa = checkTensor('q', q, heap);
  const ka = checkTensor('k', k, heap);
  const va = checkTensor('v', v, heap);
  const opts = checkOptions('options', options, ['causal', 'keyLengths', 'scale', 'returnWeights', 'resident'], 'scaledDotProductAttention');
  const q4 = asBHLD(qa);
  const k4 = asBHLD(ka);
  const v4 = asBHLD(va);
  const rank = qa.shape.length;
  const lead = qa.shape.slice(0, rank - 2);
  expectShape('k', ka.shape, [...lead, 'Lk', q4[3]], 'the rank, batch, heads and D of q');
  expectShape('v', va.shape, [...lead, k4[2], 'Dv'], 'the rank, batch and heads of q and the Lk of k');
  const [batch, heads, lq, d] = q4;
  const [lk, dv] = [k4[2], v4[3]];
  const p = { batch, heads, lq, lk, d, dv };
  const outShape = [batch, heads, lq, dv].slice(4 - rank);
  const causal = checkBoolean('options.causal', opts.causal);
  const returnWeights = checkBoolean('options.returnWeights', opts.returnWeights);
  const resident = checkBoolean('options.resident', opts.resident);
  const scale = checkFinite('options.scale', opts.scale, 1 / Math.sqrt(p.d));
  const keyLengths = checkLengths('options.keyLengths', opts.keyLengths, p.batch, p.lk);

  return ws.run((temps) => {
    const qp = temps.input(qa);
    const kp = temps.input(ka);
    const vp = temps.input(va);
    const out = temps.tensor(outShape);
    const problem: Problem = {
      q: contiguous(qp, p.heads, p.lq, p.d),
      k: contiguous(kp, p.heads, p.lk, p.d),
      v: contiguous(vp, p.heads, p.lk, p.dv),
      out: contiguous(out.ptr, p.heads, p.lq, p.dv),
      ...p,
      scale,
      causal,
      keyLengths: keyLengths ? temps.int32(keyLengths) : 0,
    };
    let weights: Float32Array | undefined;
    if (returnWeights) weights = ws.heap.view(attendMaterialised(ws, temps, problem), p.batch * p.heads * p.lq * p.lk).slice();
    else attendFused(ws, problem);
    const output = resident ? temps.keep(out) : out.toArray();
    return weights ? { output, weights } : { output };
  });
}
