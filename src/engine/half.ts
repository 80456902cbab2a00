/**
 * 16-bit floats on the JavaScript side: rounding f32 values to f16 or bf16 at load (to nearest,
 * ties to even, as PyTorch's .half() and .bfloat16()) and widening f16 exactly.
 * Within Wasm the kernels convert (assembly/half.ts); this is for weights on their way in.
 */
export type HalfDtype = 'f16' | 'bf16';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f32 bits → bf16 bits, to nearest even; NaN stays NaN (quiet, its top payload bits kept). */
export function bitsToBf16(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40;
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

/**
 * f32 bits → f16 bits, to nearest even; NaN stays NaN (quiet, its top payload bits kept); a finite
 * value at or beyond 65520 (half a step past the largest half, 65504) becomes ±Infinity.
 */
export function bitsToF16(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  let a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00 | ((a >>> 13) & 0x3ff);
  if (a >= 0x477ff000) return sign | 0x7c00;
  if (a < 0x38800000) {
    // below 2^−14: a subnormal half n·2^−24, n = round-half-even(value·2^24) (exact in float64)
    u32[0] = a;
    const v = f32[0]! * 16777216;
    let n = Math.floor(v);
    const rest = v - n;
    if (rest > 0.5 || (rest === 0.5 && (n & 1) === 1)) n++;
    return sign | n;
  }
  // normal: rebias the exponent (127 → 15), then round away the 13 low mantissa bits (a carry moves the exponent)
  a -= 0x38000000;
  return sign | ((a + 0x0fff + ((a >>> 13) & 1)) >>> 13);
}

/** The f32 bits of IEEE 754 half h (exact: every half is a float32; NaN payloads kept). */
export function f16ToBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // ±∞, NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // normal: rebias 15 → 127
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal m·2^-24: normalise so the leading 1 is at bit 10; the exponent drops with each shift.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/**
 * `values` (f32, or 16-bit patterns of another dtype) as 16-bit patterns of `to`, rounded to nearest
 * even (the same patterns when the dtypes agree: no copy). A finite value too large for f16
 * (|x| ≥ 65520) would become ±Infinity: that is a RangeError naming `name`, the value and its
 * index, never a silent infinity.
 */
export function toHalfBits(name: string, values: Float32Array | { bits: Uint16Array; dtype: HalfDtype }, to: HalfDtype): Uint16Array {
  if (!(values instanceof Float32Array) && values.dtype === to) return values.bits;
  // read once: a safetensors tensor's `bits` is a getter that copies the tensor's bytes at each read
  const halves = values instanceof Float32Array ? undefined : values.bits;
  const n = halves ? halves.length : (values as Float32Array).length;
  const out = new Uint16Array(n);
  const source = values instanceof Float32Array ? new Uint32Array(values.buffer, values.byteOffset, n) : undefined;
  const fromBf16 = !(values instanceof Float32Array) && values.dtype === 'bf16';
  const narrow = to === 'f16' ? bitsToF16 : bitsToBf16;
  for (let i = 0; i < n; i++) {
    // u: the f32 bits of value i
    const u = source ? source[i]! : fromBf16 ? (halves![i]! << 16) >>> 0 : f16ToBits(halves![i]!);
    const h = narrow(u);
    if ((u & 0x7f800000) !== 0x7f800000 && (h & 0x7fff) === 0x7c00 && to === 'f16') {
      u32[0] = u;
      throw new RangeError(`${name}: the value ${f32[0]} at index ${i} is beyond the range of f16 (largest finite 65504) and would become ${f32[0]! > 0 ? '' : '−'}Infinity; load this model with dtype 'bf16' or 'f32'`);
    }
    out[i] = h;
  }
  return out;
}
