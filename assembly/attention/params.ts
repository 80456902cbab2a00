// The attention parameter block: one call's problem, written by src/ops/attention-params.ts into
// linear memory and read here. Byte offsets; every field is 4 bytes (i32, or f32 for SCALE).
// A new variant adds its field here and in the TS writer, with the kernel step that uses it.
//
// Tensors are strided [batch, heads, length, dim] views: element (b, h, i, e) of q is at
// q + 4·(b·qSB + h·qSH + i·qSL + e), the innermost dim contiguous; strides in elements (f32, and
// for k and v the KV_DTYPE's: 4, 2 or 1 bytes).

export const Q: i32 = 0;
export const Q_SB: i32 = 4;
export const Q_SH: i32 = 8;
export const Q_SL: i32 = 12;
export const K: i32 = 16;
export const K_SB: i32 = 20;
export const K_SH: i32 = 24;
export const K_SL: i32 = 28;
export const V: i32 = 32;
export const V_SB: i32 = 36;
export const V_SH: i32 = 40;
export const V_SL: i32 = 44;
export const OUT: i32 = 48;
export const OUT_SB: i32 = 52;
export const OUT_SH: i32 = 56;
export const OUT_SL: i32 = 60;
export const BATCH: i32 = 64;
export const HEADS: i32 = 68;
/** Query length Lq and key length Lk. */
export const LQ: i32 = 72;
export const LK: i32 = 76;
/** Head dim of q and k (D) and of v and the output (Dv). */
export const D: i32 = 80;
export const DV: i32 = 84;
/** f32: multiplies q·k (1/√D by default). */
export const SCALE: i32 = 88;
/** i32 0/1: query i sees key j only when j ≤ i + Lk − Lq (bottom-right aligned). */
export const CAUSAL: i32 = 92;
/** Pointer to i32[batch]: keys j ≥ keyLengths[b] are hidden (0 = none; 0 ≤ keyLengths[b] ≤ Lk). */
export const KEY_LENGTHS: i32 = 96;
/** Query heads per kv head (grouped-query attention): query head h reads k and v of head ⌊h / GROUP⌋.
 *  HEADS counts query heads; the k and v views are indexed by kv head. */
export const GROUP: i32 = 100;
/** Sliding window around pos(i) = i + Lk − Lq: keys pos − left … pos + right are visible; −1 = unbounded. */
export const WINDOW_LEFT: i32 = 104;
export const WINDOW_RIGHT: i32 = 108;
/** f32: logit soft-capping s = c·tanh(s/c) of the scaled scores, before bias and mask; 0 = off. */
export const SOFTCAP: i32 = 112;
/** ALiBi: pointer to f32[H] slopes, s −= slope[h]·|j − pos(i)| (0 = none). */
export const ALIBI_SLOPES: i32 = 116;
/** T5 relative position bias: pointer to the f32[numBuckets, H] table, s += table[bucket(j − pos(i)), h] (0 = none). */
export const RELATIVE_TABLE: i32 = 120;
/** Relative: i32[Lk + Lq − 1], the bucket of relative distance d = j − pos(i) at index d + Lk − 1. */
export const RELATIVE_BUCKETS: i32 = 124;
/** Pointer to the mask (0 = none), its kind and its element strides over (b, h, i, j) (0 = broadcast). */
export const MASK: i32 = 128;
export const MASK_KIND: i32 = 132;
export const MASK_SB: i32 = 136;
export const MASK_SH: i32 = 140;
export const MASK_SL: i32 = 144;
export const MASK_SK: i32 = 148;
/** Pointer to the partial softmax states of key-split problems (attentionPartialBytes; 0 when none). */
export const PARTIALS: i32 = 152;
/** i32: a number the caller makes new for each call, so a thread's scratch can keep packed keys
 *  from one range of items to the next of the same call (see fused.ts). */
export const CALL: i32 = 156;
/** i32: the element type of the k and v views (KV_F32, KV_F16 or KV_Q8); their strides count elements. */
export const KV_DTYPE: i32 = 160;
/** KV_Q8: pointer to the f32 scales of k, one per (b, kv head, position), and their element strides
 *  over (b, h, i); element e of k is then scale·int8. The same for v at V_SCALES. */
export const K_SCALES: i32 = 164;
export const K_SCALES_SB: i32 = 168;
export const K_SCALES_SH: i32 = 172;
export const K_SCALES_SL: i32 = 176;
export const V_SCALES: i32 = 180;
export const V_SCALES_SB: i32 = 184;
export const V_SCALES_SH: i32 = 188;
export const V_SCALES_SL: i32 = 192;
/** Bytes of the block (a 16-byte multiple). */
export const PARAMS_BYTES: i32 = 208;

/** k and v element types: f32; IEEE half; int8 with one f32 scale per (b, kv head, position). */
export const KV_F32: i32 = 0;
export const KV_F16: i32 = 1;
export const KV_Q8: i32 = 2;

/** u8 per element, non-zero = may attend (PyTorch's bool convention). */
export const MASK_BOOL: i32 = 1;
/** f32 per element, added to the scores (−inf hides). */
export const MASK_ADD: i32 = 2;

@inline export function i32At(params: usize, field: i32): i32 {
  return load<i32>(params + <usize>field);
}

@inline export function ptrAt(params: usize, field: i32): usize {
  return <usize>load<u32>(params + <usize>field);
}

@inline export function f32At(params: usize, field: i32): f32 {
  return load<f32>(params + <usize>field);
}

/** Byte address of (b, h, i = 0) in the view whose pointer field is `base` (strides follow it;
 *  for k and v, h is the kv head). */
@inline export function headPtr(params: usize, base: i32, b: i32, h: i32): usize {
  return ptrAt(params, base) + (<usize>(b * i32At(params, base + 4) + h * i32At(params, base + 8)) << 2);
}

/** log2 of the bytes of one k or v element (4, 2 or 1 by KV_DTYPE). */
@inline export function kvShift(params: usize): usize {
  const dtype = i32At(params, KV_DTYPE);
  return dtype == KV_F32 ? 2 : dtype == KV_F16 ? 1 : 0;
}

/** headPtr for k or v (base = K or V), whose elements have KV_DTYPE's size. */
@inline export function kvHeadPtr(params: usize, base: i32, b: i32, h: i32): usize {
  return ptrAt(params, base) + (<usize>(b * i32At(params, base + 4) + h * i32At(params, base + 8)) << kvShift(params));
}

/** rowBytes for k or v (base = K or V). */
@inline export function kvRowBytes(params: usize, base: i32): usize {
  return <usize>i32At(params, base + 12) << kvShift(params);
}

/** Row stride in bytes of the view whose pointer field is `base`. */
@inline export function rowBytes(params: usize, base: i32): usize {
  return <usize>i32At(params, base + 12) << 2;
}
