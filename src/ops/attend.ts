/**
 * Runs one attention problem (a parameter block) with the fused kernel or, when the weights are
 * wanted, the materialised path. Shared by every op that attends (sdpa, multi-head), so the
 * layouts they use (contiguous heads, heads interleaved in [B, L, H·D] rows, a KV cache) need no copy.
 */
import { writeAttentionParams, type Problem, type View } from './attention-params.js';
import type { Temps, Workspace } from './workspace.js';

export type { Problem, View };

/** Contiguous [B, H, L, D] layout. */
export function contiguous(ptr: number, heads: number, length: number, dim: number): View {
  return { ptr, sB: heads * length * dim, sH: length * dim, sL: dim };
}

/** out = softmax(q·kᵀ·scale | visible keys)·v with the fused kernel (O(L·D) memory): every work item on this thread. */
export function attendFused(ws: Workspace, p: Problem): void {
  const k = ws.kernels;
  const params = ws.attentionParams();
  writeAttentionParams(ws.heap, params, p);
  const scratch = ws.scratch(k.attentionScratchBytes(params));
  k.attention(params, 0, k.attentionWorkItems(params), scratch);
}

/** The same with the weights materialised; returns the resident weights [B, H, Lq, Lk] (a temporary of `temps`). */
export function attendMaterialised(ws: Workspace, temps: Temps, p: Problem): number {
  const k = ws.kernels;
  const weights = temps.tensor([p.batch, p.heads, p.lq, p.lk]).ptr;
  const params = ws.attentionParams();
  writeAttentionParams(ws.heap, params, p);
  const scratch = ws.scratch(k.attentionWeightsScratchBytes(params));
  k.attentionWeights(params, 0, k.attentionWeightsWorkItems(params), weights, scratch);
  return weights;
}
