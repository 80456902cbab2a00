/**
 * The float64 twin of the dequantization kernels (assembly/dequantize.ts): Q8 or Q4 rows (the
 * layouts of src/engine/quantized.ts) back to values, per block of 32 along a row:
 *   Q8: out[32b + i] = scale[b]·q[32b + i]                 q int8 ∈ [−127, 127]
 *   Q4: out[32b + i] = scale[b]·(nibble − 8)               byte i of a block: element i in its low
 *                                                          nibble, element 16 + i in its high one
 * The rows of a quantized embedding table are read this way.
 */

/** Rows `ids` of a Q8 ([rows, k] int8) or Q4 ([rows, k/2] bytes) table with scales [rows, k/32] → [ids.length, k]. */
export function dequantizeRows(dtype: 'q8' | 'q4', values: Int8Array | Uint8Array, scales: Float32Array, k: number, ids: ArrayLike<number>): Float64Array {
  const out = new Float64Array(ids.length * k);
  const rowBytes = dtype === 'q4' ? k / 2 : k;
  const blocks = k / 32;
  const signed = new Int8Array(values.buffer, values.byteOffset, values.length);
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.length);
  for (let n = 0; n < ids.length; n++) {
    const r = ids[n]!;
    for (let b = 0; b < blocks; b++) {
      const d = scales[r * blocks + b]!;
      for (let i = 0; i < 32; i++) {
        let v: number;
        if (dtype === 'q8') v = signed[r * rowBytes + 32 * b + i]!;
        else {
          const byte = bytes[r * rowBytes + 16 * b + (i % 16)]!;
          v = (i < 16 ? byte & 15 : byte >> 4) - 8;
        }
        out[n * k + 32 * b + i] = d * v;
      }
    }
  }
  return out;
}
