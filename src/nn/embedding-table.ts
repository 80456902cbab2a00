/**
 * An embedding table [V, E], resident, in f32 or as 16-bit floats (f16 / bf16: half the bytes), and
 * its one operation: gather rows by id into f32 rows of Wasm memory (a 16-bit row is widened exactly
 * by the widenHalf kernel on the way). A language model's tied output head reads the same table in
 * place (`matrix`), so a 16-bit table is held once.
 */
import { residentWeights } from '../engine/weights.js';
import { HalfMatrix, isHalfDtype, type WeightDtype } from '../engine/quantized.js';
import { toHalfBits } from '../engine/half.js';
import type { Tensor } from '../engine/memory.js';
import type { Checked } from '../engine/validate.js';
import type { Mat } from '../engine/linear.js';
import type { Workspace } from '../engine/workspace.js';

export class EmbeddingTable {
  /** How the rows are held: 'f32', 'f16' or 'bf16'. */
  readonly dtype: 'f32' | 'f16' | 'bf16';
  /** V */
  readonly rows: number;
  /** E */
  readonly cols: number;
  /** The resident table [V, E]. */
  readonly matrix: Tensor | HalfMatrix;
  private readonly ws: Workspace;

  /** @internal `dtype` 'f16' / 'bf16' holds the table in 16 bits (rounded to nearest even unless the file holds that format); any other dtype keeps it f32. */
  constructor(ws: Workspace, arg: Checked, dtype: WeightDtype = 'f32') {
    this.ws = ws;
    [this.rows, this.cols] = arg.shape as [number, number];
    if (isHalfDtype(dtype)) {
      const source = arg.tensor ? arg.tensor.data : (arg.half ?? arg.data!);
      this.matrix = new HalfMatrix(ws.heap, toHalfBits(arg.name, source, dtype), this.rows, this.cols, dtype);
      this.dtype = dtype;
    } else {
      this.matrix = residentWeights(ws.heap, { table: arg }).table!;
      this.dtype = 'f32';
    }
  }

  /** Row i of `out` (rows out.ld floats apart) = table[ids[i]] for i < count; ids already checked (< V). */
  gather(ids: Int32Array, count: number, out: Mat): void {
    const e = this.cols;
    const m = this.matrix;
    if (m instanceof HalfMatrix) {
      for (let i = 0; i < count; i++) this.ws.kernels.widenHalf(m.ptr + 2 * ids[i]! * e, out.ptr + 4 * i * out.ld, e, m.format);
      return;
    }
    const f32 = this.ws.heap.floats();
    const base = m.ptr >>> 2;
    for (let i = 0; i < count; i++) f32.copyWithin((out.ptr >>> 2) + i * out.ld, base + ids[i]! * e, base + (ids[i]! + 1) * e);
  }

  get disposed(): boolean {
    return this.matrix.disposed;
  }

  dispose(): void {
    this.matrix.dispose();
  }
}
