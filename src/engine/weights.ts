/** Module weights copied into Wasm memory once, at construction: all of them or none. */
import { Tensor, type Heap } from './memory.js';
import type { Checked } from './validate.js';
import { asDtype, HalfMatrix, isHalfDtype, weightTally, type WeightDtype, type WeightMatrix } from './quantized.js';
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
  weightTally(heap).f32 += made.reduce((n, t) => n + 4 * t.size, 0);
  return out;
}

/** The pointer of a resident weight, 0 when absent. */
export function ptrOf(t: Tensor | undefined): number {
  return t === undefined ? 0 : t.ptr;
}

/**
 * A checked matrix [rows, cols] made resident in `dtype`: 16-bit values are copied in as they are
 * when the file holds that dtype, else rounded to nearest even (f32 → f16 / bf16, bf16 ↔ f16; a
 * value beyond f16's range is a RangeError); f32, Q8 and Q4 as `asDtype`. Never an f32 copy in Wasm
 * memory on the way to 16 bits.
 */
export function residentMatrix(ws: Workspace, w: Checked, dtype: WeightDtype): WeightMatrix {
  const [rows, cols] = w.shape as [number, number];
  if (isHalfDtype(dtype)) {
    const source = w.tensor ? w.tensor.data : (w.half ?? w.data!);
    return new HalfMatrix(ws.heap, toHalfBits(w.name, source, dtype), rows, cols, dtype);
  }
  return asDtype(ws, residentWeights(ws.heap, { w }).w!, dtype);
}
