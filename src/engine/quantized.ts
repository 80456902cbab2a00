/**
 * Weight matrices of Linear layers as the ops read them: f32 (a resident Tensor [out, in]) or Q8.
 *
 * Q8 is llama.cpp's Q8_0 layout held as two arrays: int8 rows q [out, in] and one f32 scale per
 * block of 32 inputs, scales [out, in/32]; scale = max|w|/127 over the block, q = round(w/scale) in
 * [−127, 127] (assembly/gemm/q8.ts quantizes with the same kernel it uses for activations). A
 * matrix whose `in` is not a multiple of 32 stays f32. `linear()` (engine/linear.ts) takes either
 * form through `weightRows`, so modules hold a `WeightMatrix` and never branch on the dtype.
 */
import { Tensor, type Heap } from './memory.js';
import type { Workspace } from './workspace.js';

/** The weight types a model can be loaded with. */
export type WeightDtype = 'f32' | 'q8';

/** Elements per Q8 block (one scale each); the kernels export the same as Q8_BLOCK. */
export const Q8_BLOCK = 32;

/** A Linear weight [rows = out, cols = in] in Q8: int8 rows and per-block f32 scales, resident. */
export class Q8Matrix {
  readonly dtype = 'q8' as const;
  readonly rows: number;
  readonly cols: number;
  /** The int8 values, held in a tensor of rows·cols/4 floats (the allocator counts floats). */
  private readonly values: Tensor;
  private readonly scaleTensor: Tensor;

  /** @internal Quantizes `rows` × `cols` f32 values at byte offset `src` (rows `cols` floats apart). */
  constructor(ws: Workspace, src: number, rows: number, cols: number) {
    this.rows = rows;
    this.cols = cols;
    this.values = new Tensor(ws.heap, [(rows * cols) / 4]);
    try {
      this.scaleTensor = new Tensor(ws.heap, [rows, cols / Q8_BLOCK]);
    } catch (error) {
      this.values.dispose();
      throw error;
    }
    ws.kernels.quantizeRows8(src, cols, rows, cols, this.values.ptr, this.scaleTensor.ptr);
  }

  /** Byte offset of the int8 rows. */
  get q(): number {
    return this.values.ptr;
  }

  /** Byte offset of the scales [rows, cols/32]. */
  get scales(): number {
    return this.scaleTensor.ptr;
  }

  /** Bytes held: one per weight and four per block of 32. */
  get bytes(): number {
    return this.rows * this.cols + (4 * this.rows * this.cols) / Q8_BLOCK;
  }

  get disposed(): boolean {
    return this.values.disposed;
  }

  dispose(): void {
    this.values.dispose();
    this.scaleTensor.dispose();
  }
}

/** A resident Linear weight [out, in]: f32 or Q8. */
export type WeightMatrix = Tensor | Q8Matrix;

/** Bytes of resident weights by dtype, per heap: what models made since they started counting. */
const tallies = new WeakMap<Heap, Record<WeightDtype, number>>();

/** The running tally of weight bytes made resident on this heap (f32 by residentWeights, Q8 here). */
export function weightTally(heap: Heap): Record<WeightDtype, number> {
  let t = tallies.get(heap);
  if (!t) tallies.set(heap, (t = { f32: 0, q8: 0 }));
  return t;
}

/**
 * The resident f32 matrix `t` [out, in] in `dtype`: itself for 'f32' (or when `in` is not a
 * multiple of 32), else a Q8 copy, and `t` is freed. On failure `t` is freed too.
 */
export function asDtype(ws: Workspace, t: Tensor, dtype: WeightDtype): WeightMatrix {
  const [rows, cols] = t.shape as [number, number];
  if (dtype === 'f32' || cols % Q8_BLOCK !== 0) return t;
  try {
    const q = new Q8Matrix(ws, t.ptr, rows, cols);
    const tally = weightTally(ws.heap);
    tally.q8 += q.bytes;
    tally.f32 -= 4 * rows * cols;
    return q;
  } finally {
    t.dispose();
  }
}

/** A Q8 copy of a resident f32 matrix that stays (a head tied to the input embeddings). */
export function quantizedCopy(ws: Workspace, t: Tensor): Q8Matrix | undefined {
  const [rows, cols] = t.shape as [number, number];
  if (cols % Q8_BLOCK !== 0) return undefined;
  const q = new Q8Matrix(ws, t.ptr, rows, cols);
  weightTally(ws.heap).q8 += q.bytes;
  return q;
}

/** Is this weight Q8? */
export function isQ8(w: WeightMatrix): w is Q8Matrix {
  return w instanceof Q8Matrix;
}
