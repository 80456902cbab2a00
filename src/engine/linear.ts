/**
 * Matrix products over resident memory for the ops: each sizes its own gemm scratch, so no op
 * knows the kernel's tiles or paths. A `Mat` is a row-major matrix in Wasm memory whose rows are
 * `ld` floats apart; `at(m, row, col)` is the sub-matrix starting there (heads inside [B, L, H·D]
 * rows, the halves of a [c; h] row, one batch of a [B, S, H] tensor).
 */
import { runGemm, runGemmHalf, runGemmQ8 } from './parallel.js';
import { isHalf, isQ8, Q8_BLOCK, type WeightMatrix } from './quantized.js';
import type { Workspace } from './workspace.js';

export interface Mat {
  ptr: number;
  ld: number;
}

export function mat(ptr: number, ld: number): Mat {
  return { ptr, ld };
}

/** The sub-matrix of `m` from (row, col) on, with the same row stride. */
export function at(m: Mat, row: number, col = 0): Mat {
  return { ptr: m.ptr + 4 * (row * m.ld + col), ld: m.ld };
}

/** The address `floats` floats past `ptr` (an element of a vector, e.g. a slice of a bias). */
export function offset(ptr: number, floats: number): number {
  return ptr + 4 * floats;
}

/** Rows of a Q8 or Q4 weight (engine/quantized.ts) from some row on: int8 rows `cols` bytes apart (Q4: cols/2), scales [·, cols/32]. */
export interface Q8Rows {
  q: number;
  scales: number;
  cols: number;
  /** 'q4': 4-bit rows (gemmQ4); otherwise Q8. */
  dtype?: 'q8' | 'q4';
}

/** Rows of a 16-bit weight (engine/quantized.ts HalfMatrix) from some row on: `cols` values each, 2·cols bytes apart. */
export interface HalfRows {
  half: number;
  cols: number;
  /** The kernels' format code (engine/kernels.ts HALF_FORMAT). */
  format: number;
}

/** The rows of a resident weight [out, in] from `row0` on, as `linear` takes them (f32, Q8 / Q4 or 16-bit). */
export function weightRows(w: WeightMatrix, row0 = 0): Mat | Q8Rows | HalfRows {
  if (isHalf(w)) return { half: w.ptr + 2 * row0 * w.cols, cols: w.cols, format: w.format };
  if (isQ8(w)) return { q: w.q + row0 * w.rowBytes, scales: w.scales + (4 * row0 * w.cols) / Q8_BLOCK, cols: w.cols, dtype: w.dtype };
  const cols = w.shape[1]!;
  return { ptr: w.ptr + 4 * row0 * cols, ld: cols };
}

export interface ProductOptions {
  /** A bias [n] added to every row (its pointer), or 0. */
  bias?: number;
  /** y += product instead of y = product (residual adds). */
  accumulate?: boolean;
}

/**
 * y[rows, n] = x[rows, k]·Wᵀ (+ bias) (+ y): a PyTorch Linear with W [n, k] (f32 rows `w.ld` apart;
 * Q8 / Q4 rows: x is then quantized per block of 32 and the product is gemmQ8's or gemmQ4's;
 * 16-bit rows: converted to f32 inside gemmHalf).
 */
export function linear(ws: Workspace, x: Mat, w: Mat | Q8Rows | HalfRows, y: Mat, rows: number, n: number, k: number, options: ProductOptions = {}): void {
  if ('half' in w) return runGemmHalf(ws, x.ptr, x.ld, w.half, y.ptr, y.ld, rows, n, k, w.format, options.bias ?? 0, options.accumulate ? 1 : 0);
  if ('q' in w) return runGemmQ8(ws, x.ptr, x.ld, w.q, w.scales, y.ptr, y.ld, rows, n, k, options.bias ?? 0, options.accumulate ? 1 : 0, w.dtype === 'q4');
  runGemm(ws, x.ptr, x.ld, w.ptr, w.ld, y.ptr, y.ld, rows, n, k, 1, options.bias ?? 0, options.accumulate ? 1 : 0);
}

/** c[m, n] = a[m, k]·b[k, n] (+ bias) (+ c). */
export function matmulNN(ws: Workspace, a: Mat, b: Mat, c: Mat, m: number, n: number, k: number, options: ProductOptions = {}): void {
  runGemm(ws, a.ptr, a.ld, b.ptr, b.ld, c.ptr, c.ld, m, n, k, 0, options.bias ?? 0, options.accumulate ? 1 : 0);
}

const rowwiseChunk = new WeakMap<object, number>();

/**
 * `linear` in chunks of fewer than the gemm's DIRECT_M rows, so that every row takes the rows path,
 * whose arithmetic for a row does not depend on the other rows (pairs and single rows sum in the
 * same order, assembly/gemm/rows.ts): a row gives the same bits in any batch. The decoders use it
 * so that a sentence decoded in a batch equals the sentence decoded alone, bit for bit.
 */
export function linearRowwise(ws: Workspace, x: Mat, w: Mat | Q8Rows | HalfRows, y: Mat, rows: number, n: number, k: number, options: ProductOptions = {}): void {
  if (rows < 2) return linear(ws, x, w, y, rows, n, k, options);
  const kern = ws.kernels;
  let chunk = rowwiseChunk.get(kern);
  if (chunk === undefined) rowwiseChunk.set(kern, (chunk = Math.max(1, (kern.GEMM_DIRECT_M.value as number) - 1)));
  for (let r = 0; r < rows; r += chunk) linear(ws, at(x, r), w, at(y, r), Math.min(chunk, rows - r), n, k, options);
}
