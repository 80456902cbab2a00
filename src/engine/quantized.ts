/**
 * Weight matrices of Linear layers as the ops read them: f32 (a resident Tensor [out, in]), Q8 or Q4.
 *
 * Q8 is llama.cpp's Q8_0 layout held as two arrays: int8 rows q [out, in] and one f32 scale per
 * block of 32 inputs, scales [out, in/32]; scale = max|w|/127 over the block, q = round(w/scale) in
 * [−127, 127] (assembly/gemm/q8.ts quantizes with the same kernel it uses for activations). A
 * matrix whose `in` is not a multiple of 32 stays f32.
 *
 * Q4 is llama.cpp's Q4_0 layout with an f32 scale: 16 bytes per block of 32 inputs (byte i holds
 * input i in its low nibble and input 16 + i in its high one) and one f32 scale per block; the weight
 * is scale·(q − 8), q ∈ [0, 15], rounded as ggml's quantize_row_q4_0_ref (scale = the input of
 * largest magnitude / −8). Q4_0 stores the scale as f16; here it stays the f32 the values were
 * rounded with (dequantization uses exactly that scale, and the kernels read it as Q8's), for
 * 5 bits per weight instead of 4.5. `linear()` (engine/linear.ts) takes either
 * form through `weightRows`, so modules hold a `WeightMatrix` and never branch on the dtype.
 */
import { Tensor, type Heap } from './memory.js';
import type { Workspace } from './workspace.js';
import type { WeightDtype } from '../reference/dtype.js';

/** The weight dtypes ('f32', 'q8', 'q4'), the `dtype` option's check and its accepted spellings: one definition for the runtime and the twins. */
export { checkWeightDtype, type DtypeOption, type WeightDtype } from '../reference/dtype.js';

/** Elements per Q8 block (one scale each); the kernels export the same as Q8_BLOCK. */
export const Q8_BLOCK = 32;

/** A Linear weight [rows = out, cols = in] in Q8 (int8 rows) or Q4 (4-bit rows), with per-block f32 scales, resident. */
export class Q8Matrix {
  readonly dtype: 'q8' | 'q4';
  readonly rows: number;
  readonly cols: number;
  /** The int8 values (Q4: the bytes of 4-bit pairs), held in a tensor of floats (the allocator counts floats). */
  private readonly values: Tensor;
  private readonly scaleTensor: Tensor;

  /** @internal Quantizes `rows` × `cols` f32 values at byte offset `src` (rows `cols` floats apart). */
  constructor(ws: Workspace, src: number, rows: number, cols: number, dtype: 'q8' | 'q4' = 'q8') {
    this.dtype = dtype;
    this.rows = rows;
    this.cols = cols;
    this.values = new Tensor(ws.heap, [(rows * cols) / (dtype === 'q4' ? 8 : 4)]);
    try {
      this.scaleTensor = new Tensor(ws.heap, [rows, cols / Q8_BLOCK]);
    } catch (error) {
      this.values.dispose();
      throw error;
    }
    if (dtype === 'q4') ws.kernels.quantizeRows4(src, cols, rows, cols, this.values.ptr, this.scaleTensor.ptr);
    else ws.kernels.quantizeRows8(src, cols, rows, cols, this.values.ptr, this.scaleTensor.ptr);
  }

  /** Bytes per row of values: cols (Q8) or cols/2 (Q4). */
  get rowBytes(): number {
    return this.dtype === 'q4' ? this.cols / 2 : this.cols;
  }

  /** Byte offset of the value rows. */
  get q(): number {
    return this.values.ptr;
  }

  /** Byte offset of the scales [rows, cols/32]. */
  get scales(): number {
    return this.scaleTensor.ptr;
  }

  /** Bytes held: one per weight (Q4: half) and four per block of 32. */
  get bytes(): number {
    return this.rows * this.rowBytes + (4 * this.rows * this.cols) / Q8_BLOCK;
  }

  get disposed(): boolean {
    return this.values.disposed;
  }

  dispose(): void {
    this.values.dispose();
    this.scaleTensor.dispose();
  }
}

/** A resident Linear weight [out, in]: f32, Q8 or Q4. */
export type WeightMatrix = Tensor | Q8Matrix;

/** Bytes of resident weights by dtype, per heap: what models made since they started counting. */
const tallies = new WeakMap<Heap, Record<WeightDtype, number>>();

/** The running tally of weight bytes made resident on this heap (f32 by residentWeights, Q8 and Q4 here). */
export function weightTally(heap: Heap): Record<WeightDtype, number> {
  let t = tallies.get(heap);
  if (!t) tallies.set(heap, (t = { f32: 0, q8: 0, q4: 0 }));
  return t;
}

/**
 * The resident f32 matrix `t` [out, in] in `dtype`: itself for 'f32' (or when `in` is not a
 * multiple of 32), else a Q8 or Q4 copy, and `t` is freed. On failure `t` is freed too.
 */
export function asDtype(ws: Workspace, t: Tensor, dtype: WeightDtype): WeightMatrix {
  const [rows, cols] = t.shape as [number, number];
  if (dtype === 'f32' || cols % Q8_BLOCK !== 0) return t;
  try {
    const q = new Q8Matrix(ws, t.ptr, rows, cols, dtype);
    const tally = weightTally(ws.heap);
    tally[dtype] += q.bytes;
    tally.f32 -= 4 * rows * cols;
    return q;
  } finally {
    t.dispose();
  }
}

/** A Q8 or Q4 copy of a resident f32 matrix that stays (a head tied to the input embeddings). */
export function quantizedCopy(ws: Workspace, t: Tensor, dtype: 'q8' | 'q4' = 'q8'): Q8Matrix | undefined {
  const [rows, cols] = t.shape as [number, number];
  if (cols % Q8_BLOCK !== 0) return undefined;
  const q = new Q8Matrix(ws, t.ptr, rows, cols, dtype);
  weightTally(ws.heap)[dtype] += q.bytes;
  return q;
}

/** Is this weight quantized (Q8 or Q4)? */
export function isQ8(w: WeightMatrix): w is Q8Matrix {
  return w instanceof Q8Matrix;
}

/**
 * The resident f32 tensors `t` with the matrices named in `matrices` converted to `dtype` (asDtype);
 * the others (biases, tables) as they are. On failure every tensor of `t` is freed.
 */
export function matricesAs<K extends string>(ws: Workspace, t: Record<K, Tensor>, matrices: readonly K[], dtype: WeightDtype): Record<K, WeightMatrix> {
  const out: Record<K, WeightMatrix> = { ...t };
  const done: K[] = [];
  try {
    for (const name of matrices) {
      const converted = asDtype(ws, t[name], dtype);
      done.push(name);
      out[name] = converted;
    }
  } catch (error) {
    // asDtype freed the matrix it failed on; the converted ones and the rest are freed here
    const failed = matrices[done.length];
    for (const name of Object.keys(t) as K[]) if (name !== failed) out[name].dispose();
    throw error;
  }
  return out;
}
