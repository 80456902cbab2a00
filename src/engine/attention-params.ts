/**
 * The attention parameter block: one call's problem, written here into linear memory and read by
 * the kernels (assembly/attention/params.ts has the same layout, field for field). A new variant
 * adds its field in both files, the kernel step that uses it, the reference and a test.
 */
import type { Heap } from './memory.js';

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
  /** Query heads per kv head (default 1); `heads` counts query heads, the k and v views kv heads. */
  group?: number;
  /** Sliding window (−1 = unbounded on that side); default none. */
  windowLeft?: number;
  windowRight?: number;
  /** Logit soft-capping c (0 = off). */
  softcap?: number;
  /** ALiBi: pointer to f32[H] slopes (0 = none). */
  alibiSlopes?: number;
  /** T5 relative bias: pointers to the f32[numBuckets, H] table and the i32[Lk + Lq − 1] buckets by distance (0 = none). */
  relativeTable?: number;
  relativeBuckets?: number;
  /** Pointer to the mask (0 = none): maskKind 1 = u8 (non-zero: may attend), 2 = f32 added; element strides over (b, h, i, j). */
  mask?: number;
  maskKind?: number;
  maskStrides?: readonly number[];
  /** The element type of k and v (default 'f32'): IEEE halves, or int8 with the f32 scales of kScales / vScales. */
  kvDtype?: KVDtype;
  /** 'q8': one f32 scale per (b, kv head, position) of k and of v (sH / sL strides over head and position). */
  kScales?: View;
  vScales?: View;
}

/** Element types of k and v in the fused kernel: f32, IEEE half, int8 with an f32 scale per (b, head, position). */
export type KVDtype = 'f32' | 'f16' | 'q8';

/** KV_DTYPE's codes (assembly/attention/params.ts). */
const KV_CODES: Record<KVDtype, number> = { f32: 0, f16: 1, q8: 2 };
const NO_VIEW: View = { ptr: 0, sB: 0, sH: 0, sL: 0 };

// Field offsets in 4-byte words (assembly/attention/params.ts has them in bytes).
const Q = 0, K = 4, V = 8, OUT = 12;
const BATCH = 16, HEADS = 17, LQ = 18, LK = 19, D = 20, DV = 21, SCALE = 22, CAUSAL = 23, KEY_LENGTHS = 24;
const GROUP = 25, WINDOW_LEFT = 26, WINDOW_RIGHT = 27, SOFTCAP = 28, ALIBI_SLOPES = 29, RELATIVE_TABLE = 30, RELATIVE_BUCKETS = 31;
const MASK = 32, MASK_KIND = 33, MASK_STRIDES = 34, PARTIALS = 38, CALL = 39;
const KV_DTYPE = 40, K_SCALES = 41, V_SCALES = 45;

/** Makes each written block a new call for the kernels' per-thread caches (see assembly/attention/fused.ts). */
let calls = 0;
/** Bytes of the block; the module exports the same number (ATTENTION_PARAMS_BYTES), checked at init. */
export const PARAMS_BYTES = 208;

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
  i32[at + GROUP] = p.group ?? 1;
  i32[at + WINDOW_LEFT] = p.windowLeft ?? -1;
  i32[at + WINDOW_RIGHT] = p.windowRight ?? -1;
  f32[at + SOFTCAP] = p.softcap ?? 0;
  i32[at + ALIBI_SLOPES] = p.alibiSlopes ?? 0;
  i32[at + RELATIVE_TABLE] = p.relativeTable ?? 0;
  i32[at + RELATIVE_BUCKETS] = p.relativeBuckets ?? 0;
  i32[at + MASK] = p.mask ?? 0;
  i32[at + MASK_KIND] = p.maskKind ?? 0;
  for (let s = 0; s < 4; s++) i32[at + MASK_STRIDES + s] = p.maskStrides?.[s] ?? 0;
  i32[at + PARTIALS] = 0;
  i32[at + KV_DTYPE] = KV_CODES[p.kvDtype ?? 'f32'];
  writeView(i32, at + K_SCALES, p.kScales ?? NO_VIEW);
  writeView(i32, at + V_SCALES, p.vScales ?? NO_VIEW);
  calls = (calls + 1) | 0;
  i32[at + CALL] = calls;
}

/** Points the block at `ptr` to the buffer for its key chunks' partial states (attentionPartialBytes). */
export function writePartials(heap: Heap, params: number, ptr: number): void {
  heap.ints()[(params >>> 2) + PARTIALS] = ptr;
}

function writeView(i32: Int32Array, at: number, t: View): void {
  i32[at] = t.ptr;
  i32[at + 1] = t.sB;
  i32[at + 2] = t.sH;
  i32[at + 3] = t.sL;
}
