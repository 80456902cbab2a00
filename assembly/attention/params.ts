// The attention parameter block: one call's problem, written by src/ops/attention-params.ts into
// linear memory and read here. Byte offsets; every field is 4 bytes (i32, or f32 for SCALE).
// A new variant adds its field here and in the TS writer, with the kernel step that uses it.
//
// Tensors are strided [batch, heads, length, dim] views: element (b, h, i, e) of q is at
// q + 4·(b·qSB + h·qSH + i·qSL + e), the innermost dim contiguous; strides in f32 elements.

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
/** Bytes of the block (a 16-byte multiple). */
export const PARAMS_BYTES: i32 = 112;

@inline export function i32At(params: usize, field: i32): i32 {
  return load<i32>(params + <usize>field);
}

@inline export function ptrAt(params: usize, field: i32): usize {
  return <usize>load<u32>(params + <usize>field);
}

@inline export function f32At(params: usize, field: i32): f32 {
  return load<f32>(params + <usize>field);
}

/** Byte address of (b, h, i = 0) in the view whose pointer field is `base` (strides follow it). */
@inline export function headPtr(params: usize, base: i32, b: i32, h: i32): usize {
  return ptrAt(params, base) + (<usize>(b * i32At(params, base + 4) + h * i32At(params, base + 8)) << 2);
}

/** Row stride in bytes of the view whose pointer field is `base`. */
@inline export function rowBytes(params: usize, base: i32): usize {
  return <usize>i32At(params, base + 12) << 2;
}
