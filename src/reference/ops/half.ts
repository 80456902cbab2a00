/**
 * 16-bit floats in plain float64 arithmetic: the value a bit pattern stands for, and the bit
 * pattern of a number rounded to the nearest 16-bit float (ties to even), for
 *   f16  (IEEE binary16): 1 sign, 5 exponent (bias 15), 10 mantissa bits;
 *   bf16 (bfloat16):      1 sign, 8 exponent (bias 127), 7 mantissa bits.
 * Written from the definition (value = ±(1 + m/2^M)·2^(e − bias), subnormal ±m·2^(1 − bias − M)),
 * not from bit tricks: the oracle for the kernels' conversions and the runtime's rounding at load.
 */
export type HalfFormat = 'f16' | 'bf16';

const LAYOUT: Record<HalfFormat, { exponentBits: number; mantissaBits: number }> = {
  f16: { exponentBits: 5, mantissaBits: 10 },
  bf16: { exponentBits: 8, mantissaBits: 7 },
};

/** The value of the 16-bit pattern `bits` (NaN for every NaN pattern). */
export function halfToNumber(bits: number, format: HalfFormat): number {
  const { exponentBits: E, mantissaBits: M } = LAYOUT[format];
  const bias = 2 ** (E - 1) - 1;
  const sign = (bits >> (E + M)) & 1 ? -1 : 1;
  const e = (bits >> M) & (2 ** E - 1);
  const m = bits & (2 ** M - 1);
  if (e === 2 ** E - 1) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** (1 - bias - M);
  return sign * (1 + m / 2 ** M) * 2 ** (e - bias);
}

/**
 * The 16-bit pattern nearest to x (ties to the even mantissa); beyond the largest finite value (by
 * at least half a step) ±Infinity; NaN → the quiet NaN with no payload (f16 0x7e00, bf16 0x7fc0).
 */
export function numberToHalf(x: number, format: HalfFormat): number {
  const { exponentBits: E, mantissaBits: M } = LAYOUT[format];
  const bias = 2 ** (E - 1) - 1;
  const signBit = 2 ** (E + M);
  const infinity = (2 ** E - 1) * 2 ** M;
  if (Number.isNaN(x)) return infinity | (2 ** (M - 1));
  const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  if (a === Infinity) return sign | infinity;
  // a = r·q with q the spacing of the 16-bit floats around a (subnormal spacing below the normals)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const q = 2 ** (Math.max(e, 1 - bias) - M);
  const r = a / q;
  let n = Math.floor(r);
  const rest = r - n;
  if (rest > 0.5 || (rest === 0.5 && n % 2 === 1)) n++;
  const value = n * q;
  if (value >= 2 ** (bias + 1)) return sign | infinity;
  if (value < 2 ** (1 - bias)) return sign | n; // subnormal (n < 2^M), or zero
  // normal: value = (n / 2^M)·2^eb with n in [2^M, 2^(M+1)]
  const eb = n === 2 ** (M + 1) ? Math.max(e, 1 - bias) + 1 : Math.max(e, 1 - bias);
  const mantissa = n === 2 ** (M + 1) ? 0 : n - 2 ** M;
  return sign | ((eb + bias) * 2 ** M) | mantissa;
}

/** y[rows, n] = x[rows, k]·Wᵀ with W [n, k] given as 16-bit patterns, in float64 (the twin of a 16-bit Linear). */
export function linearHalf(x: Float32Array, w: Uint16Array, rows: number, n: number, k: number, format: HalfFormat, bias?: Float32Array): Float64Array {
  const wv = Float64Array.from(w, (b) => halfToNumber(b, format));
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j]! : 0;
      for (let i = 0; i < k; i++) s += x[r * k + i]! * wv[j * k + i]!;
      y[r * n + j] = s;
    }
  return y;
}
