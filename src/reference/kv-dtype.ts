/**
 * Float64 twins of the KV cache element types (src/nn/kv-storage.ts, assembly/kv-store.ts): what an
 * f16 or q8 cache holds for an f32 value, and what attention reads back.
 *   f16: the nearest IEEE half, ties to even (±Infinity from 65520 on, NaN kept).
 *   q8 : per head of dh values, scale = max|x|/127 rounded to f32, q = round-half-even(x/scale) in
 *        [−127, 127]; a head of zeros has scale 0, one holding NaN or ±Infinity scale NaN.
 */

/** The bits of the half nearest x. */
export function halfBits(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (Number.isNaN(x)) return 0x7e00;
  if (a >= 65520) return sign | 0x7c00;
  // the grid of halves: spacing 2^(e − 10) in [2^e, 2^(e + 1)) for e ≥ −14, and 2^−24 below 2^−14
  const e = a < 2 ** -14 ? -14 : Math.floor(Math.log2(a));
  const step = 2 ** (e - 10);
  const value = roundHalfEven(a / step) * step;
  if (value < 2 ** -14) return sign | (value / 2 ** -24);
  const ex = Math.floor(Math.log2(value));
  return sign | ((ex + 15) << 10) | (value / 2 ** (ex - 10) - 1024);
}

/** The value of the half with these bits. */
export function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const ex = (bits >>> 10) & 31, m = bits & 1023;
  if (ex === 31) return m ? NaN : sign * Infinity;
  return sign * (ex === 0 ? m * 2 ** -24 : (1024 + m) * 2 ** (ex - 25));
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
