/**
 * The attention parameter block: one call's problem, written here into linear memory and read by
 * the kernels (assembly/attention/params.ts has the same layout, field for field). A new variant
 * adds its field in both files, the kernel step that uses it, the reference and a test.
 */
import type { Heap } from '../memory.js';

/** A strided view: element (b, h, i, e) is at ptr + 4·(b·sB + h·sH + i·sL + e). */
export interface View {
  ptr: number;
  sB: number;
  sH: number;
  sL: number;
}

/** One attention problem over strided [batch, heads, length, dim] views in Wasm memory. */
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
  /** Pointer to i32[batch] key lengths in Wasm memory, or 0. */
  keyLengths: number;
}

// Field offsets in 4-byte words (assembly/attention/params.ts has them in bytes).
const Q = 0, K = 4, V = 8, OUT = 12;
const BATCH = 16, HEADS = 17, LQ = 18, LK = 19, D = 20, DV = 21, SCALE = 22, CAUSAL = 23, KEY_LENGTHS = 24;
/** Bytes of the block; the module exports the same number (ATTENTION_PARAMS_BYTES), checked at init. */
export const PARAMS_BYTES = 112;

/** Writes `p` into the block at `ptr` (PARAMS_BYTES, 16-byte aligned). */
export function writeAttentionParams(heap: Heap, ptr: number, p: Problem): void {
  const i32 = heap.ints();
  const f32 = heap.floats();
  const at = ptr >>> 2;
  writeView(i32, at + Q, p.q);
  writeView(i32, at + K, p.k);
  writeView(i32, at + V, p.v);
  writeView(i32, at + OUT, p.out);
  i32[at + BATCH] = p.batch;
  i32[at + HEADS] = p.heads;
  i32[at + LQ] = p.lq;
  i32[at + LK] = p.lk;
  i32[at + D] = p.d;
  i32[at + DV] = p.dv;
  f32[at + SCALE] = p.scale;
  i32[at + CAUSAL] = p.causal ? 1 : 0;
  i32[at + KEY_LENGTHS] = p.keyLengths;
}

function writeView(i32: Int32Array, at: number, t: View): void {
  i32[at] = t.ptr;
  i32[at + 1] = t.sB;
  i32[at + 2] = t.sH;
  i32[at + 3] = t.sL;
}
