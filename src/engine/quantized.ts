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
 * 5 bits per weight instead of 4.5.
 *
 * F16 and BF16 are the 16-bit floats themselves, rows of `in` values (HalfMatrix, any width); the
 * kernels convert them to f32 as they read them (assembly/gemm/half.ts). `linear()` (engine/linear.ts)
 * takes every form through `weightRows`, so modules hold a `WeightMatrix` and never branch on the dtype.
 */
import { Tensor, type Heap } from './memory.js';
import type { Workspace } from './workspace.js';
import { trackResident } from './resident.js';
import type { WeightDtype } from '../reference/dtype.js';
import { isHalfDtype } from '../reference/dtype.js';
import { toHalfBits, type HalfDtype } from './half.js';
import { HALF_FORMAT } from './kernels.js';

/** The weight dtypes ('f32', 'q8', 'q4'), the `dtype` option's check and its accepted spellings: one definition for the runtime and the twins. */
export { checkWeightDtype, isHalfDtype, WEIGHT_DTYPES, type DtypeOption, type WeightDtype } from '../reference/dtype.js';

/** Elements per Q8 block (one scale each); the kernels export the same as Q8_BLOCK. */
export const Q8_BLOCK = 32;

/**
 * A Q8 or Q4 matrix in JavaScript memory, as model.save() writes it and loadModel reads it back:
 * the value bytes (Q8: int8 [rows, cols]; Q4: bytes [rows, cols/2]) and the f32 scales [rows, cols/32].
 */
export interface QuantizedData {
  dtype: 'q8' | 'q4';
  /** [rows, cols] of the matrix the values stand for. */
  shape: readonly [number, number];
  values: Int8Array | Uint8Array;
  scales: Float32Array;
}

/** Is `value` a QuantizedData (rather than f32 `{ data, shape }`)? */
export function isQuantizedData(value: unknown): value is QuantizedData {
  return typeof value === 'object' && value !== null && 'values' in value && 'scales' in value && 'dtype' in value;
}

/** Rows of f32 staged in Wasm memory at a time when quantizing from JavaScript: at most this many floats. */
const STAGE_FLOATS = 1 << 20;

/**
 * Q4 rows [rows, cols/2] from the order they are held in (each full group of four blocks of 32
 * transposed by 4-byte units, assembly/gemm/q4-layout.ts) back to the canonical Q4_0 order, in place.
 */
function canonicalQ4(bytes: Uint8Array, rows: number, cols: number): void {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const rowWords = cols / 8, groups = cols >> 7;
  for (let r = 0; r < rows; r++)
    for (let g = 0; g < groups; g++) {
      const p = r * rowWords + g * 16;
      for (let u = 0; u < 4; u++)
        for (let l = u + 1; l < 4; l++) {
          const t = words[p + 4 * u + l]!;
          words[p + 4 * u + l] = words[p + 4 * l + u]!;
          words[p + 4 * l + u] = t;
        }
    }
}

/**
 * How Q4 picks a block's scale: 'search' (Linear weights) the d of least squared error among mx/c for
 * c in −8, −7.8, …, −7 (assembly/gemm/q4.ts); 'ggml' (embedding tables) ggml's d = mx/−8.
 */
export type Q4Rounding = 'search' | 'ggml';

/** A Linear weight [rows = out, cols = in] in Q8 (int8 rows) or Q4 (4-bit rows, held as q4-layout.ts says), with per-block f32 scales, resident. */
export class Q8Matrix {
  readonly dtype: 'q8' | 'q4';
  readonly rows: number;
  readonly cols: number;
  /** The int8 values (Q4: the bytes of 4-bit pairs), held in a tensor of floats (the allocator counts floats). */
  private readonly values: Tensor;
  private readonly scaleTensor: Tensor;

  /** @internal Quantizes `rows` × `cols` f32 values at byte offset `src` (rows `cols` floats apart); src < 0: leaves the memory to fill. */
  constructor(ws: Workspace, src: number, rows: number, cols: number, dtype: 'q8' | 'q4' = 'q8', private readonly rounding: Q4Rounding = 'search') {
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
    if (src >= 0) this.quantizeRows(ws, src, 0, rows);
  }

  /**
   * @internal Quantizes f32 `data` [rows, cols] held in JavaScript a slice of rows at a time (at most
   * STAGE_FLOATS staged in Wasm memory), so the f32 matrix is never whole in Wasm memory.
   */
  static fromFloats(ws: Workspace, data: Float32Array, rows: number, cols: number, dtype: 'q8' | 'q4', rounding: Q4Rounding = 'search'): Q8Matrix {
    const m = new Q8Matrix(ws, -1, rows, cols, dtype, rounding);
    const step = Math.max(1, Math.min(rows, Math.floor(STAGE_FLOATS / cols)));
    try {
      const stage = new Tensor(ws.heap, [step, cols]);
      try {
        for (let r = 0; r < rows; r += step) {
          const n = Math.min(step, rows - r);
          ws.heap.floats().set(data.subarray(r * cols, (r + n) * cols), stage.ptr >>> 2);
          m.quantizeRows(ws, stage.ptr, r, n);
        }
      } finally {
        stage.dispose();
      }
    } catch (error) {
      m.dispose();
      throw error;
    }
    return m;
  }

  /** @internal The matrix from its value bytes and scales (a file model.save() wrote): copied in as they are. */
  static fromData(ws: Workspace, q: QuantizedData): Q8Matrix {
    const [rows, cols] = q.shape;
    const m = new Q8Matrix(ws, -1, rows, cols, q.dtype);
    const u8 = ws.heap.bytes();
    u8.set(new Uint8Array(q.values.buffer, q.values.byteOffset, q.values.byteLength), m.q);
    u8.set(new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength), m.scales);
    if (q.dtype === 'q4') ws.kernels.interleaveRows4(m.q, rows, cols);
    return m;
  }

  /** Quantizes `count` f32 rows at byte offset `src` into rows [row0, row0 + count). */
  private quantizeRows(ws: Workspace, src: number, row0: number, count: number): void {
    const q = this.q + row0 * this.rowBytes;
    const s = this.scales + (4 * row0 * this.cols) / Q8_BLOCK;
    if (this.dtype === 'q4') {
      ws.kernels.quantizeRows4(src, this.cols, count, this.cols, q, s, this.rounding === 'search' ? 1 : 0);
      ws.kernels.interleaveRows4(q, count, this.cols);
    } else ws.kernels.quantizeRows8(src, this.cols, count, this.cols, q, s);
  }

  /** @internal A copy of rows [r0, r1) (default all): values and scales in JavaScript memory (what model.save() writes). */
  toData(heap: Heap, r0 = 0, r1 = this.rows): QuantizedData {
    const u8 = heap.bytes();
    const bytes = u8.slice(this.q + r0 * this.rowBytes, this.q + r1 * this.rowBytes);
    if (this.dtype === 'q4') canonicalQ4(bytes, r1 - r0, this.cols);
    const scaleRow = (4 * this.cols) / Q8_BLOCK;
    const scales = new Float32Array(u8.slice(this.scales + r0 * scaleRow, this.scales + r1 * scaleRow).buffer);
    return { dtype: this.dtype, shape: [r1 - r0, this.cols], values: this.dtype === 'q8' ? new Int8Array(bytes.buffer) : bytes, scales };
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

/**
 * 16-bit floats in JavaScript memory, as read from a file (readSafetensors' keep16) or as
 * model.save() writes them: the bit patterns [rows, cols] and their format.
 */
export interface HalfMatrixData {
  dtype: HalfDtype;
  shape: readonly [number, number];
  bits: Uint16Array;
}

/** Is `value` HalfMatrixData (16-bit patterns with their shape)? */
export function isHalfMatrixData(value: unknown): value is HalfMatrixData {
  return typeof value === 'object' && value !== null && 'bits' in value && (value as HalfMatrixData).bits instanceof Uint16Array && ((value as HalfMatrixData).dtype === 'f16' || (value as HalfMatrixData).dtype === 'bf16');
}

/** A matrix [rows, cols] of 16-bit floats (f16 or bf16), resident: a Linear weight [out, in] or an embedding table [V, E]. */
export class HalfMatrix {
  readonly dtype: HalfDtype;
  readonly rows: number;
  readonly cols: number;
  /** The kernels' format code (HALF_FORMAT): f16 without ±∞ or NaN is marked so, and read faster. */
  readonly format: number;
  /** The 16-bit values, held in a tensor of floats (the allocator counts floats: two values each). */
  private readonly values: Tensor;

  /** @internal `bits`: rows·cols 16-bit patterns of `dtype`, row-major, copied in as they are. */
  constructor(heap: Heap, bits: Uint16Array, rows: number, cols: number, dtype: HalfDtype) {
    this.dtype = dtype;
    this.rows = rows;
    this.cols = cols;
    this.values = new Tensor(heap, [Math.max(1, Math.ceil((rows * cols) / 2))]);
    new Uint16Array(heap.memory.buffer, this.values.ptr, rows * cols).set(bits);
    this.format = dtype === 'bf16' ? HALF_FORMAT.bf16 : bits.every((h) => (h & 0x7c00) !== 0x7c00) ? HALF_FORMAT.f16Finite : HALF_FORMAT.f16;
  }

  /** [rows, cols] */
  get shape(): readonly [number, number] {
    return [this.rows, this.cols];
  }

  /** Byte offset of the values (rows 2·cols bytes apart). */
  get ptr(): number {
    return this.values.ptr;
  }

  /** Bytes held: two per value. */
  get bytes(): number {
    return 2 * this.rows * this.cols;
  }

  /** @internal A copy of rows [r0, r1) (default all) as HalfMatrixData (what model.save() writes). */
  toData(heap: Heap, r0 = 0, r1 = this.rows): HalfMatrixData {
    const bits = new Uint16Array(heap.memory.buffer, this.ptr + 2 * r0 * this.cols, (r1 - r0) * this.cols).slice();
    return { dtype: this.dtype, shape: [r1 - r0, this.cols], bits };
  }

  get disposed(): boolean {
    return this.values.disposed;
  }

  dispose(): void {
    this.values.dispose();
  }
}

/** A resident Linear weight [out, in]: f32, Q8, Q4, F16 or BF16. */
export type WeightMatrix = Tensor | Q8Matrix | HalfMatrix;

/** Bytes of weights made resident by dtype, per heap: what models made since they started counting. */
const tallies = new WeakMap<Heap, Record<WeightDtype, number>>();

/** The running tally of weight bytes made resident on this heap (a model's share is the growth while it loads). */
export function weightTally(heap: Heap): Record<WeightDtype, number> {
  let t = tallies.get(heap);
  if (!t) tallies.set(heap, (t = { f32: 0, q8: 0, q4: 0, f16: 0, bf16: 0 }));
  return t;
}

/** Counts a weight made resident: in the running tally, and in memoryStats() while it lives. */
export function countWeight(heap: Heap, w: WeightMatrix): void {
  const dtype = dtypeOf(w);
  const bytes = w instanceof Tensor ? 4 * w.size : w.bytes;
  weightTally(heap)[dtype] += bytes;
  trackResident(heap, 'weights', dtype, w, bytes);
}

/** The bytes by dtype a model made: the tally now less the tally when it started. */
export function tallySince(heap: Heap, before: Readonly<Record<WeightDtype, number>>): Readonly<Record<WeightDtype, number>> {
  const now = weightTally(heap);
  return Object.freeze({ f32: now.f32 - before.f32, q8: now.q8 - before.q8, q4: now.q4 - before.q4, f16: now.f16 - before.f16, bf16: now.bf16 - before.bf16 });
}

/** A matrix [rows, cols] of 16-bit patterns made resident and counted. */
export function halfMatrix(heap: Heap, bits: Uint16Array, rows: number, cols: number, dtype: HalfDtype): HalfMatrix {
  const m = new HalfMatrix(heap, bits, rows, cols, dtype);
  countWeight(heap, m);
  return m;
}

/**
 * The resident f32 matrix `t` [out, in] in `dtype`: itself for 'f32' (or for Q8 / Q4 when `in` is
 * not a multiple of 32), else a Q8, Q4, F16 or BF16 copy, and `t` is freed. On failure `t` is freed too
 * (`name` is the weight's, for the error of a value beyond f16's range).
 */
export function asDtype(ws: Workspace, t: Tensor, dtype: WeightDtype, name = 'weight', rounding: Q4Rounding = 'search'): WeightMatrix {
  const [rows, cols] = t.shape as [number, number];
  if (isHalfDtype(dtype)) {
    try {
      const h = halfMatrix(ws.heap, toHalfBits(name, t.data, dtype), rows, cols, dtype);
      weightTally(ws.heap).f32 -= 4 * rows * cols;
      return h;
    } finally {
      t.dispose();
    }
  }
  if (dtype === 'f32' || cols % Q8_BLOCK !== 0) return t;
  try {
    const q = new Q8Matrix(ws, t.ptr, rows, cols, dtype, rounding);
    countWeight(ws.heap, q);
    weightTally(ws.heap).f32 -= 4 * rows * cols;
    return q;
  } finally {
    t.dispose();
  }
}

/** Is this weight quantized (Q8 or Q4)? */
export function isQ8(w: WeightMatrix): w is Q8Matrix {
  return w instanceof Q8Matrix;
}

/** Is this weight held as 16-bit floats? */
export function isHalf(w: WeightMatrix): w is HalfMatrix {
  return w instanceof HalfMatrix;
}

/** The dtype a weight is held in. */
export function dtypeOf(w: WeightMatrix): WeightDtype {
  return w instanceof Tensor ? 'f32' : w.dtype;
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
