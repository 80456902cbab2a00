/**
 * Scaled dot-product attention: output = softmax(q·kᵀ·scale + mask)·v per (batch, head).
 * The fused kernel never materialises the [Lq, Lk] scores; `returnWeights` takes the
 * materialised path (gemm, softmax, gemm) because the weights themselves are the product.
 */
import type { Tensor } from '../memory.js';
import { asBHLD, checkBoolean, checkFinite, checkLengths, checkOptions, checkTensor, expectShape, type TensorLike } from '../validate.js';
import type { Temps, Workspace } from './workspace.js';

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

interface Problem {
  batch: number;
  heads: number;
  lq: number;
  lk: number;
  d: number;
  dv: number;
  outShape: number[];
}

function plan(q: number[], k: number[], v: number[], qRank: number): Problem {
  const [batch, heads, lq, d] = q as [number, number, number, number];
  const [, , lk, dv] = v as [number, number, number, number];
  const outShape = [batch, heads, lq, dv].slice(4 - qRank);
  return { batch, heads, lq, lk, d, dv, outShape };
}

export function scaledDotProductAttention(ws: Workspace, q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions): AttentionResult<Float32Array | Tensor> {
  const heap = ws.heap;
  const qa = checkTensor('q', q, heap);
  const ka = checkTensor('k', k, heap);
  const va = checkTensor('v', v, heap);
  const opts = checkOptions('options', options);
  const q4 = asBHLD(qa);
  const k4 = asBHLD(ka);
  const v4 = asBHLD(va);
  const rank = qa.shape.length;
  const lead = qa.shape.slice(0, rank - 2);
  expectShape('k', ka.shape, [...lead, 'Lk', q4[3]], 'the rank, batch, heads and D of q');
  expectShape('v', va.shape, [...lead, k4[2], 'Dv'], 'the rank, batch and heads of q and the Lk of k');
  const p = plan(q4, k4, v4, rank);
  const causal = checkBoolean('options.causal', opts.causal);
  const returnWeights = checkBoolean('options.returnWeights', opts.returnWeights);
  const resident = checkBoolean('options.resident', opts.resident);
  const scale = checkFinite('options.scale', opts.scale, 1 / Math.sqrt(p.d));
  const keyLengths = checkLengths('options.keyLengths', opts.keyLengths, p.batch, p.lk);

  return ws.run((temps) => {
    const qp = temps.input(qa);
    const kp = temps.input(ka);
    const vp = temps.input(va);
    const out = temps.tensor(p.outShape);
    let weights: Float32Array | undefined;
    if (returnWeights) weights = materialised(ws, temps, p, qp, kp, vp, out.ptr, scale, causal, keyLengths);
    else fused(ws, temps, p, qp, kp, vp, out.ptr, scale, causal, keyLengths);
    const output = resident ? temps.keep(out) : out.toArray();
    return weights ? { output, weights } : { output };
  });
}

function fused(ws: Workspace, temps: Temps, p: Problem, qp: number, kp: number, vp: number, op: number, scale: number, causal: boolean, keyLengths?: Int32Array): void {
  const { batch, heads, lq, lk, d, dv } = p;
  const lengthsPtr = keyLengths ? temps.int32(keyLengths) : 0;
  const scratch = ws.scratch(ws.kernels.attentionScratchBytes(lq, lk, d, dv));
  ws.kernels.attention(
    qp, heads * lq * d, lq * d, d,
    kp, heads * lk * d, lk * d, d,
    vp, heads * lk * dv, lk * dv, dv,
    op, heads * lq * dv, lq * dv, dv,
    batch, heads, lq, lk, d, dv, scale, causal ? 1 : 0, lengthsPtr, scratch,
  );
}

/** Weights [B,H,Lq,Lk] = softmax(q·kᵀ·scale + mask), then output = weights·v, head by head. */
function materialised(ws: Workspace, temps: Temps, p: Problem, qp: number, kp: number, vp: number, op: number, scale: number, causal: boolean, keyLengths?: Int32Array): Float32Array {
  const { batch, heads, lq, lk, d, dv } = p;
  const kern = ws.kernels;
  const w = temps.tensor([batch, heads, lq, lk]);
  const scratch = ws.scratch(Math.max(kern.gemmScratchBytes(lk, d), kern.gemmScratchBytes(dv, lk)));
  for (let b = 0; b < batch; b++) {
    const keyLength = keyLengths ? keyLengths[b]! : lk;
    for (let h = 0; h < heads; h++) {
      const bh = b * heads + h;
      const wp = w.ptr + bh * lq * lk * 4;
      kern.gemm(qp + bh * lq * d * 4, d, kp + bh * lk * d * 4, d, wp, lk, lq, lk, d, 1, 0, 0, scratch);
      kern.softmax(wp, lk, lq, lk, scale, 0, 0, keyLength, causal ? 1 : 0, lk - lq);
      kern.gemm(wp, lk, vp + bh * lk * dv * 4, dv, op + bh * lq * dv * 4, dv, lq, dv, lk, 0, 0, 0, scratch);
    }
  }
  return w.toArray();
}
