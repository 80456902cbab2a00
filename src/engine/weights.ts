/** Module weights copied into Wasm memory once, at construction: all of them or none. */
import { Tensor, type Heap } from './memory.js';
import type { Checked } from './validate.js';
import { asDtype, countWeight, isQuantizedData, Q8Matrix, Q8_BLOCK, type QuantizedData, type WeightDtype, type WeightMatrix } from './quantized.js';
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
 * a multiple of 32, else copied in; QuantizedData (a file model.save() wrote) is copied in as it is.
 */
export function residentMatrix(ws: Workspace, value: Checked | QuantizedData, dtype: WeightDtype): WeightMatrix {
  if (isQuantizedData(value)) {
    const q = Q8Matrix.fromData(ws, value);
    countWeight(ws.heap, q);
    return q;
  }
  const [rows, cols] = value.shape as [number, number];
  if (dtype === 'f32' || cols % Q8_BLOCK !== 0 || value.tensor) {
    const t = residentWeights(ws.heap, { w: value }).w!;
    if (dtype === 'f32' || cols % Q8_BLOCK !== 0) return t;
    return asDtype(ws, t, dtype);
  }
  const q = Q8Matrix.fromFloats(ws, value.data!, rows, cols, dtype);
  countWeight(ws.heap, q);
  return q;
}
