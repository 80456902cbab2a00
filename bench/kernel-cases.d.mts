// Types of bench/kernel-cases.mjs, for the TypeScript that imports it (test/kernels.test.ts).
import type { Kernels, KernelTiles } from '../src/kernels.js';
import type { Heap } from '../src/memory.js';
import type { Problem } from '../src/ops/attention-params.js';

export const TOLERANCE: number;
export const ZERO_TOLERANCE: number;
export const LANES: number;
export const PAD: number;
export const SENTINEL: number;

export type KernelName = 'gemm' | 'attention' | 'attentionWeights' | 'softmax';
export const KERNELS: KernelName[];

export interface GemmDims {
  m: number;
  n: number;
  k: number;
  transB: 0 | 1;
  bias: boolean;
  accumulate: boolean;
  /** Leading dims in floats. */
  lda: number;
  ldb: number;
  ldc: number;
}

export type Layout = 'bhld' | 'blhd' | 'padded';

export interface AttentionDims {
  batch: number;
  heads: number;
  lq: number;
  lk: number;
  d: number;
  dv: number;
  /** Already rounded to float32. */
  scale: number;
  causal: boolean;
  keyLengths: number[] | null;
  layout: Layout;
}

export interface SoftmaxDims {
  rows: number;
  cols: number;
  ldx: number;
  scale: number;
  mask: 'none' | 'row' | 'full';
  visible: number;
}

interface CaseBase {
  name: string;
  flops: number;
  /** A tail / edge case for the test. */
  edge: boolean;
  /** A size worth timing. */
  perf: boolean;
}
export type GemmCase = CaseBase & { kernel: 'gemm'; dims: GemmDims };
export type AttentionCase = CaseBase & { kernel: 'attention' | 'attentionWeights'; dims: AttentionDims };
export type SoftmaxCase = CaseBase & { kernel: 'softmax'; dims: SoftmaxDims };
export type KernelCase = GemmCase | AttentionCase | SoftmaxCase;

export function kernelCases(tiles: KernelTiles, options?: { tiny?: boolean }): KernelCase[];
export function makeCase(kernel: 'gemm', dims: GemmDims, options?: { name?: string; edge?: boolean; perf?: boolean }): GemmCase;
export function makeCase(kernel: 'attention' | 'attentionWeights', dims: AttentionDims, options?: { name?: string; edge?: boolean; perf?: boolean }): AttentionCase;
export function makeCase(kernel: 'softmax', dims: SoftmaxDims, options?: { name?: string; edge?: boolean; perf?: boolean }): SoftmaxCase;
export function gemmDims(m: number, n: number, k: number, transB: 0 | 1, options?: { bias?: boolean; accumulate?: boolean; strided?: boolean }): GemmDims;
export function attentionDims(options: {
  batch?: number;
  heads?: number;
  lq: number;
  lk: number;
  d: number;
  dv?: number;
  causal?: boolean;
  keyLengths?: number[] | null;
  layout?: Layout;
  scale?: number;
}): AttentionDims;
export function describeDims(c: KernelCase): string;
export function tileSummary(kernel: KernelName, tiles: KernelTiles): string;
export function hash32(text: string): number;
export function viewStrides(layout: Layout, B: number, H: number, L: number, dim: number): { sB: number; sH: number; sL: number; span: number };

export function referenceGemm(
  dims: { m: number; n: number; k: number; transB: number },
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  bias?: ArrayLike<number> | null,
  c0?: ArrayLike<number> | null,
): Float64Array;
export function keyVisible(dims: AttentionDims, b: number, i: number, j: number): boolean;
export function referenceAttention(dims: AttentionDims, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>): { out: Float64Array; weights: Float64Array };
export function referenceSoftmax(dims: SoftmaxDims, x: ArrayLike<number>, mask?: ArrayLike<number> | null, maskPerRow?: boolean): Float64Array;

export interface Comparison {
  /** ‖got − ref‖₂ / ‖ref‖₂, or ‖got − ref‖₂ when `absolute` (‖ref‖₂ = 0); Infinity on NaN. */
  error: number;
  absolute: boolean;
  ok: boolean;
  /** Index of the first NaN in got, or -1. */
  nanAt: number;
}
export function compare(got: ArrayLike<number>, ref: ArrayLike<number>): Comparison;

export interface CaseEnv {
  k: Kernels;
  heap: Heap;
  writeAttentionParams(heap: Heap, ptr: number, problem: Problem): void;
  uniform(n: number, seed: number, lo?: number, hi?: number): Float32Array;
  /** References shared by every build (keyed by the case's dims). */
  cache?: Map<string, unknown>;
}

export interface CheckResult {
  ok: boolean;
  /** The largest error over the outputs. */
  error: number;
  errors: Record<string, Comparison>;
  /** Writes outside the outputs, modified inputs. */
  problems: string[];
}

export interface PreparedCase {
  case: KernelCase;
  /** Byte offsets of the case's buffers: gemm a, b, bias, c, scratch; attention q, k, v, out, weights, keyLengths, params, scratch; softmax x, mask. */
  ptr: Record<string, number>;
  /** Work items (attention kernels; 0 otherwise). */
  items: number;
  scratchBytes: number;
  /** Outputs back to their initial state (the sentinel, or C₀ / the softmax input); scratch to the sentinel. */
  reset(): void;
  /** The whole problem, one call. */
  run(): void;
  /** Attention kernels: items [begin, end) with this scratch. */
  runItems?(begin: number, end: number, scratch?: number): void;
  /** Copies of the outputs in logical order (C [m,n]; out [B,H,Lq,Dv], weights [B,H,Lq,Lk]; x [rows,cols]). */
  outputs(): Record<string, Float32Array>;
  references(): Record<string, Float64Array>;
  /** A fresh scratch block (default: the case's size), filled with the sentinel; freed by release(). */
  newScratch(bytes?: number): number;
  /** reset, run, compare every output, look for writes outside the outputs and modified inputs. */
  check(): CheckResult;
  release(): void;
}

export function prepareCase(env: CaseEnv, c: KernelCase): PreparedCase;
export function failureMessage(c: KernelCase, build: string, tiles: KernelTiles, result: CheckResult): string;
