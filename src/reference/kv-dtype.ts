/**
 * Float64 twins of the KV cache element types (src/nn/kv-storage.ts, assembly/kv-store.ts): what an
 * f16 or q8 cache holds for an f32 value, and what attention reads back.
 *   f16: the nearest IEEE half, ties to even (±Infinity from 65520 on, NaN kept).
 *   q8 : per head of dh values, scale = max|x|/127 rounded to f32, q = round-half-even(x/scale) in
 *        [−127, 127]; a head of zeros has scale 0, one holding NaN or ±Infinity scale NaN.
 */
import { halfToNumber, numberToHalf } from './ops/half.js';

/** The bits of the half nearest x (ops/half.ts's rounding, f16). */
export function halfBits(x: number): number {
  return numberToHalf(x, 'f16');
}

/** The value of the half with these bits. */
export function halfValue(bits: number): number {
  return halfToNumber(bits, 'f16');
}

/** One head of dh values at x[offset …] → its int8 values and scale. */
export function quantizeHeadQ8(x: ArrayLike<number>, offset: number, dh: number): { q: Int8Array; scale: number } {
  let amax = 0;
  for (let e = 0; e < dh; e++) {
    const a = Math.abs(x[offset + e]!);
    amax = Number.isNaN(a) || Number.isNaN(amax) ? NaN : Math.max(amax, a);
  }
  const q = new Int8Array(dh);
  if (!(amax < Infinity)) return { q, scale: NaN };
  const scale = Math.fround(amax / 127);
  if (scale !== 0) for (let e = 0; e < dh; e++) q[e] = Math.max(-127, Math.min(127, roundHalfEven(x[offset + e]! / scale)));
  return { q, scale };
}

/** What attention reads for an int8 value q of a head with this scale. */
export function dequantizeQ8(q: number, scale: number): number {
  return q * scale;
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
