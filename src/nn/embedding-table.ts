/**
 * An embedding table [V, E] resident in its dtype, read by rows: `gather` writes rows ids[i] as f32
 * into Wasm memory. f32 tables copy the rows; Q8 and Q4 tables (the layouts of engine/quantized.ts,
 * E a multiple of 32) dequantize the rows they read (dequantizeRows8 / dequantizeRows4:
 * row = scale·q per block of 32); F16 and BF16 tables (any E) widen the rows they read exactly
 * (widenHalf). The table is also the matrix of an output head tied to it (one copy).
 * A table kind is a class with a dtype, `gather` and its held `matrix`.
 */
import type { Mat } from '../engine/linear.js';
import { HalfMatrix, Q8_BLOCK, Q8Matrix, isHalfMatrixData, isQuantizedData, type HalfMatrixData, type QuantizedData, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import type { Tensor } from '../engine/memory.js';
import type { Checked } from '../engine/validate.js';
import { residentMatrix } from '../engine/weights.js';
import type { Workspace } from '../engine/workspace.js';

export interface EmbeddingTable {
  /** The dtype the rows are held in. */
  readonly dtype: WeightDtype;
  /** V */
  readonly rows: number;
  /** E */
  readonly cols: number;
  /** The resident matrix [V, E] (a tied output head multiplies by it). */
  readonly matrix: WeightMatrix;
  readonly disposed: boolean;
  /** Row i of `out` (ld out.ld floats) = row ids[i] as f32, for i < count; ids are checked (< V). */
  gather(ids: ArrayLike<number>, count: number, out: Mat): void;
  dispose(): void;
}

/** f32 rows, copied. */
class F32Table implements EmbeddingTable {
  readonly dtype = 'f32';
  readonly rows: number;
  readonly cols: number;
  constructor(private readonly ws: Workspace, readonly matrix: Tensor) {
    [this.rows, this.cols] = matrix.shape as [number, number];
  }
  get disposed(): boolean {
    return this.matrix.disposed;
  }
  gather(ids: ArrayLike<number>, count: number, out: Mat): void {
    const e = this.cols;
    const f32 = this.ws.heap.floats();
    const base = this.matrix.ptr >>> 2;
    for (let i = 0; i < count; i++) f32.copyWithin((out.ptr >>> 2) + i * out.ld, base + ids[i]! * e, base + (ids[i]! + 1) * e);
  }
  dispose(): void {
    this.matrix.dispose();
  }
}

/** Q8 or Q4 rows, dequantized as they are read. */
class QuantizedTable implements EmbeddingTable {
  readonly rows: number;
  readonly cols: number;
  constructor(private readonly ws: Workspace, readonly matrix: Q8Matrix) {
    this.rows = matrix.rows;
    this.cols = matrix.cols;
  }
  get dtype(): 'q8' | 'q4' {
    return this.matrix.dtype;
  }
  get disposed(): boolean {
    return this.matrix.disposed;
  }
  gather(ids: ArrayLike<number>, count: number, out: Mat): void {
    const { matrix: m, cols: e } = this;
    const kernel = m.dtype === 'q4' ? this.ws.kernels.dequantizeRows4 : this.ws.kernels.dequantizeRows8;
    const scaleBytes = (4 * e) / Q8_BLOCK;
    for (let i = 0; i < count; i++) kernel(m.q + ids[i]! * m.rowBytes, m.scales + ids[i]! * scaleBytes, 1, e, out.ptr + 4 * i * out.ld, out.ld);
  }
  dispose(): void {
    this.matrix.dispose();
  }
}

/** F16 or BF16 rows, widened exactly as they are read. */
class HalfTable implements EmbeddingTable {
  readonly rows: number;
  readonly cols: number;
  constructor(private readonly ws: Workspace, readonly matrix: HalfMatrix) {
    this.rows = matrix.rows;
    this.cols = matrix.cols;
  }
  get dtype(): 'f16' | 'bf16' {
    return this.matrix.dtype;
  }
  get disposed(): boolean {
    return this.matrix.disposed;
  }
  gather(ids: ArrayLike<number>, count: number, out: Mat): void {
    const { matrix: m, cols: e } = this;
    for (let i = 0; i < count; i++) this.ws.kernels.widenHalf(m.ptr + 2 * ids[i]! * e, out.ptr + 4 * i * out.ld, e, m.format);
  }
  dispose(): void {
    this.matrix.dispose();
  }
}

/**
 * The table of a checked [V, E] weight in `dtype` ('q8' / 'q4' when E is a multiple of 32, else f32),
 * 'f16' / 'bf16' (any E), or of QuantizedData / HalfMatrixData as saved (held as it is).
 */
export function embeddingTable(ws: Workspace, weight: Checked | QuantizedData | HalfMatrixData, dtype: WeightDtype): EmbeddingTable {
  // Q4 tables keep ggml's scales: the least-error scale search of Linear weights moved a trained
  // GPT-2's next-token distributions more when its tied table was searched too (docs/kernels.md, Q4)
  const m = residentMatrix(ws, weight, isQuantizedData(weight) || isHalfMatrixData(weight) ? weight.dtype : dtype, 'ggml');
  if (m instanceof HalfMatrix) return new HalfTable(ws, m);
  return m instanceof Q8Matrix ? new QuantizedTable(ws, m) : new F32Table(ws, m);
}
