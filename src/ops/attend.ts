/**
 * Runs one attention problem (a parameter block) with the fused kernel or, when the weights are
 * wanted, the materialised path. Shared by every op that attends (sdpa, multi-head), so the
 * layouts they use (contiguous heads, heads interleaved in [B, L, H·D] rows, a KV cache) need no copy.
 */
import { writeAttentionParams, type Problem, type View } from '../engine/attention-params.js';
import { runAttention, runAttentionWeights } from '../engine/parallel.js';
import type { Temps, Workspace } from '../engine/workspace.js';

export type { Problem, View };

/** Contiguous [B, H, L, D] layout. */
export function contiguous(ptr: number, heads: number, length: number, dim: number): View {
  return { ptr, sB: heads * length * dim, sH: length * dim, sL: dim };
}

/** Multiply-adds × 2 of a dense problem (what decides whether it is worth threads). */
function flops(p: Problem): number {
  return 2 * p.batch * p.heads * p.lq * p.lk * (p.d + p.dv);
}

/** out = softmax(q·kᵀ·scale | visible keys)·v with the fused kernel (O(L·D) memory). */
export function attendFused(ws: Workspace, p: Problem): void {
  const params = ws.attentionParams();
  writeAttentionParams(ws.heap, params, p);
  runAttention(ws, params, flops(p));
}

/** The same with the weights materialised; returns the resident weights [B, H, Lq, Lk] (a temporary of `temps`). */
export function attendMaterialised(ws: Workspace, temps: Temps, p: Problem): number {
  if ((p.kvDtype ?? 'f32') !== 'f32') throw new Error(`attention weights are computed from f32 keys and values only, received a ${p.kvDtype} cache`);
  const weights = temps.tensor([p.batch, p.heads, p.lq, p.lk]).ptr;
  const params = ws.attentionParams();
  writeAttentionParams(ws.heap, params, p);
  runAttentionWeights(ws, params, weights, flops(p));
  return weights;
}
