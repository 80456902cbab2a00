/** Module weights copied into Wasm memory once, at construction: all of them or none. */
import { Tensor, type Heap } from './memory.js';
import type { Checked } from './validate.js';
import { asDtype, countWeight, halfMatrix, isHalfMatrixData, isHalfDtype, isQuantizedData, Q8Matrix, Q8_BLOCK, type HalfMatrixData, type Q4Rounding, type QuantizedData, type WeightDtype, type WeightMatrix } from './quantized.js';
import { toHalfBits } from './half.js';
import type { Workspace } from './workspace.js';

/**
 * A resident copy of every checked weight (undefined stays undefined). If an allocation fails
 * part-way, the copies already made are freed before the error propagates, so a failed
 * constructor leaves the memory as it found it.
 */
export function residentWeights<K extends string>(heap: Heap, args: Record<K, Checked | undefined>): Record<K, Tensor | undefined> {
  const made: Tensor[] = [];
  const out = {} as Record<K, Tensor | undefined>;
  try {
    for (const name of Object.keys(args) as K[]) {
      const arg = args[name];
      if (arg === undefined) continue;
      const t = new Tensor(heap, arg.shape);
      made.push(t);
      heap.floats().set(arg.tensor ? arg.tensor.data : arg.data!, t.ptr >>> 2);
      out[name] = t;
    }
  } catch (error) {
    for (const t of made) t.dispose();
    throw error;
  }
  for (const t of made) countWeight(heap, t);
  return out;
}

/** The pointer of a resident weight, 0 when absent. */
export function ptrOf(t: Tensor | undefined): number {
  return t === undefined ? 0 : t.ptr;
}

/**
 * A matrix weight [rows, cols] resident in `dtype`: f32 `{ data, shape }` is quantized a slice of rows
 * at a time (the f32 matrix is never whole in Wasm memory) when `dtype` is 'q8' or 'q4' and cols is
 * a multiple of 32 (Q4 blocks' scales by `rounding`), else copied in; QuantizedData (a file model.save() wrote) is copied in as it is.
 * With 'f16' / 'bf16' the 16-bit values are copied in as they are when the tensor was read in that
 * format (readSafetensors' keep16), else rounded to nearest even (f32 → f16 / bf16, bf16 ↔ f16; a
 * value beyond f16's range is a RangeError naming the tensor): never an f32 copy in Wasm memory.
 */
export function residentMatrix(ws: Workspace, value: Checked | QuantizedData | HalfMatrixData, dtype: WeightDtype, rounding: Q4Rounding = 'search'): WeightMatrix {
  if (isQuantizedData(value)) {
    const q = Q8Matrix.fromData(ws, value);
    countWeight(ws.heap, q);
    return q;
  }
  if (isHalfMatrixData(value)) {
    const [rows, cols] = value.shape;
    return halfMatrix(ws.heap, isHalfDtype(dtype) ? toHalfBits('weight', value, dtype) : value.bits, rows, cols, isHalfDtype(dtype) ? dtype : value.dtype);
  }
  const [rows, cols] = value.shape as [number, number];
  if (isHalfDtype(dtype)) {
    const source = value.tensor ? value.tensor.data : (value.half ?? value.data!);
    return halfMatrix(ws.heap, toHalfBits(value.name, source, dtype), rows, cols, dtype);
  }
  if (dtype === 'f32' || cols % Q8_BLOCK !== 0 || value.tensor) {
    const t = residentWeights(ws.heap, { w: value }).w!;
    if (dtype === 'f32' || cols % Q8_BLOCK !== 0) return t;
    return asDtype(ws, t, dtype, 'weight', rounding);
  }
  const q = Q8Matrix.fromFloats(ws, value.data!, rows, cols, dtype, rounding);
  countWeight(ws.heap, q);
  return q;
}
