// Attention with its weights materialised, for callers that want to see them: per (batch, head),
//   W = softmax(step(q·kᵀ·scale) over visibleRange(b, i)) [Lq, Lk]   (gemm, score step, row softmax)
//   out = W·v                                                        (gemm per run of rows with one range)
// Same parameter block, visibility rule and score step (bias.ts) as the fused kernel; O(Lq·Lk)
// memory per head, so it is for visualisation and small shapes. A work item is one (b, query
// head): item n = b·H + h; it reads k and v of kv head ⌊h / GROUP⌋.
import { gemm, gemmScratchBytes } from '../gemm/gemm';
import { scaleRow, softmaxRange } from '../softmax';
import { hasScoreStep, scoreStep } from './bias';
import { BATCH, D, DV, f32At, GROUP, HEADS, headPtr, i32At, K, LK, LQ, OUT, Q, SCALE, V } from './params';
import { visibleHi, visibleLo } from './visibility';

/** Work items of `attentionWeights`: B·H. */
export function attentionWeightsWorkItems(params: usize): i32 {
  return i32At(params, BATCH) * i32At(params, HEADS);
}

/** Scratch bytes one `attentionWeights` call needs for this parameter block. */
export function attentionWeightsScratchBytes(params: usize): i32 {
  const lq = i32At(params, LQ), lk = i32At(params, LK);
  return max<i32>(gemmScratchBytes(lq, lk, i32At(params, D)), gemmScratchBytes(lq, i32At(params, DV), lk));
}

/** Items [begin, end): out as the fused kernel computes it, and weights [B, H, Lq, Lk] (contiguous). */
export function attentionWeights(params: usize, begin: i32, end: i32, weights: usize, scratch: usize): void {
  const heads = i32At(params, HEADS), group = i32At(params, GROUP);
  const lq = i32At(params, LQ), lk = i32At(params, LK);
  const d = i32At(params, D), dv = i32At(params, DV);
  const scale = f32At(params, SCALE);
  const step = hasScoreStep(params);
  const qSL = i32At(params, Q + 12), kSL = i32At(params, K + 12);
  const vSL = i32At(params, V + 12), oSL = i32At(params, OUT + 12);
  for (let item = begin; item < end; item++) {
    const b = item / heads, h = item - b * heads, kvh = h / group;
    const w = weights + (<usize>item * <usize>lq * <usize>lk << 2);
    gemm(headPtr(params, Q, b, h), qSL, headPtr(params, K, b, kvh), kSL, w, lk, lq, lk, d, 1, 0, 0, scratch);
    for (let i = 0; i < lq; i++) {
      const row = w + (<usize>i * <usize>lk << 2);
      const lo = visibleLo(params, b, i), hi = visibleHi(params, b, i);
      let unmasked = hi - lo;
      if (step) {
        scaleRow(row, lk, scale);
        unmasked -= scoreStep(params, b, h, i, 0, lk, row, 1, lo, hi);
        softmaxRange(row, lo, hi, lk, 1, 0, unmasked > 0);
      } else {
        softmaxRange(row, lo, hi, lk, scale, 0, true);
      }
    }
    // out = W·v over each run of rows that see the same keys [lo, hi), reading only those keys of
    // v (a zero weight times a non-finite hidden value would be NaN)
    const vh = headPtr(params, V, b, kvh), oh = headPtr(params, OUT, b, h);
    for (let i0 = 0; i0 < lq;) {
      const lo = visibleLo(params, b, i0), hi = visibleHi(params, b, i0);
      let i1 = i0 + 1;
      while (i1 < lq && visibleLo(params, b, i1) == lo && visibleHi(params, b, i1) == hi) i1++;
      gemm(w + ((<usize>i0 * <usize>lk + <usize>lo) << 2), lk, vh + (<usize>(lo * vSL) << 2), vSL,
           oh + (<usize>(i0 * oSL) << 2), oSL, i1 - i0, dv, hi - lo, 0, 0, 0, scratch);
      i0 = i1;
    }
  }
}
