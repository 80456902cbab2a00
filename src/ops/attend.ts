/**
 * One attention problem over strided [batch, heads, length, dim] views in Wasm memory, run by the
 * fused kernel or, when the weights are wanted, the materialised path. Shared by every op that
 * attends (sdpa, multi-head), so the layouts they use (contiguous heads, heads interleaved in
 * [B, L, H·D] rows, a KV cache) need no copy.
 */
import type { Temps, Workspace } from './workspace.js';

/** A strided view: element (b, h, i, e) is at ptr + 4·(b·sB + h·sH + i·sL + e). */
export interface View {
  ptr: number;
  sB: number;
  sH: number;
  sL: number;
}

export interface Problem {
  q: View;
  k: View;
  v: View;
  out: View;
  batch: number;
  heads: number;
  lq: number;
  lk: number;
  d: number;
  dv: number;
  scale: number;
  causal: boolean;
  keyLengths?: Int32Array;
}

/** Contiguous [B, H, L, D] layout. */
export function contiguous(ptr: number, heads: number, length: number, dim: number): View {
  return { ptr, sB: heads * length * dim, sH: length * dim, sL: dim };
}

/** out = softmax(q·kᵀ·scale + mask)·v with the fused kernel (O(L·D) memory). */
export function attendFused(ws: Workspace, temps: Temps, p: Problem): void {
  const { q, k, v, out } = p;
  const lengthsPtr = p.keyLengths ? temps.int32(p.keyLengths) : 0;
  const scratch = ws.scratch(ws.kernels.attentionScratchBytes(p.lq, p.lk, p.d, p.dv));
  ws.kernels.attention(
    q.ptr, q.sB, q.sH, q.sL,
    k.ptr, k.sB, k.sH, k.sL,
    v.ptr, v.sB, v.sH, v.sL,
    out.ptr, out.sB, out.sH, out.sL,
    p.batch, p.heads, p.lq, p.lk, p.d, p.dv, p.scale, p.causal ? 1 : 0, lengthsPtr, scratch,
  );
}

/**
 * The same with the weights materialised, head by head: w = softmax(q·kᵀ·scale + mask) (gemm,
 * softmax), out = w·v (gemm). Returns the resident weights [B, H, Lq, Lk] (a temporary of `temps`).
 */
export function attendMaterialised(ws: Workspace, temps: Temps, p: Problem): number {
  const { q, k, v, out, batch, heads, lq, lk, d, dv } = p;
  const kern = ws.kernels;
  const w = temps.tensor([batch, heads, lq, lk]).ptr;
  const scratch = ws.scratch(Math.max(kern.gemmScratchBytes(lk, d), kern.gemmScratchBytes(dv, lk)));
  for (let b = 0; b < batch; b++) {
    const keyLength = p.keyLengths ? p.keyLengths[b]! : lk;
    for (let h = 0; h < heads; h++) {
      const wp = w + (b * heads + h) * lq * lk * 4;
      const qp = q.ptr + (b * q.sB + h * q.sH) * 4;
      const kp = k.ptr + (b * k.sB + h * k.sH) * 4;
      const vp = v.ptr + (b * v.sB + h * v.sH) * 4;
      const op = out.ptr + (b * out.sB + h * out.sH) * 4;
      kern.gemm(qp, q.sL, kp, k.sL, wp, lk, lq, lk, d, 1, 0, 0, scratch);
      kern.softmax(wp, lk, lq, lk, p.scale, 0, 0, keyLength, p.causal ? 1 : 0, lk - lq);
      kern.gemm(wp, lk, vp, v.sL, op, out.sL, lq, dv, lk, 0, 0, 0, scratch);
    }
  }
  return w;
}
