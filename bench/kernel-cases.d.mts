// Types of bench/kernel-cases.mjs, for the TypeScript that imports it (test/kernels.test.ts).
import type { Kernels, KernelTiles } from '../src/engine/kernels.js';
import type { Heap } from '../src/engine/memory.js';
import type { Problem } from '../src/engine/attention-params.js';

export const TOLERANCE: number;
export const ZERO_TOLERANCE: number;
/** Normalised error bound of gemmQ8 and gemmQ4 against the float64 product of the dequantized operands (relative to the magnitude of its terms). */
export const Q8_TOLERANCE: number;
export const LANES: number;
export const PAD: number;
export const SENTINEL: number;

export type KernelName = 'gemm' | 'attention' | 'attentionWeights' | 'softmax' | 'layerNorm' | 'rmsNorm' | 'activation' | 'swiglu' | 'addInPlace' | 'mulInPlace' | 'quantizeRows8' | 'quantizeRows16' | 'gemmQ8' | 'quantizeRows4' | 'gemmQ4' | 'dequantizeRows8' | 'dequantizeRows4' | 'storeRowsF16' | 'storeRowsQ8' | 'gemmHalf';
export const KERNELS: KernelName[];

export type ActivationKind = 'relu' | 'gelu' | 'geluTanh' | 'silu' | 'erf';
/** The `kind` argument of the activation kernel, by name (equal to src/kernels.ts ACTIVATION). */
export const ACTIVATION_KINDS: Record<ActivationKind, number>;
/** The special inputs of the 'mixed' activation data. */
export const SPECIAL_VALUES: number[];

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
  /** k and v held as IEEE halves or int8 with an f32 scale per (b, head, position); absent: f32. */
  kvDtype?: 'f16' | 'q8';
}

export interface SoftmaxDims {
  rows: number;
  cols: number;
  ldx: number;
  scale: number;
  mask: 'none' | 'row' | 'full';
  visible: number;
}

export type NormData = 'unit' | 'offset' | 'small' | 'special';

export interface LayerNormDims {
  rows: number;
  n: number;
  /** Leading dims in floats (ldo = ldx in place; ldr = 0 without a residual). */
  ldx: number;
  ldo: number;
  ldr: number;
  weight: boolean;
  bias: boolean;
  residual: boolean;
  /** Already rounded to float32. */
  eps: number;
  inPlace: boolean;
  data: NormData;
}

export interface RmsNormDims {
  rows: number;
  n: number;
  ldx: number;
  ldo: number;
  weight: boolean;
  /** Already rounded to float32. */
  eps: number;
  inPlace: boolean;
  data: NormData;
}

export interface ActivationDims {
  count: number;
  kind: ActivationKind;
  inPlace: boolean;
  data: 'uniform' | 'mixed';
}

export interface SwigluDims {
  count: number;
  /** Where out is: its own buffer, or over gate or up. */
  out: 'new' | 'gate' | 'up';
  data: 'uniform' | 'mixed';
}

export interface AddDims {
  count: number;
}

export interface QuantizeDims {
  rows: number;
  k: number;
  ldx: number;
  data: 'uniform' | 'special';
  /** quantizeRows4 only: the least-error scale search of Linear weights (else ggml's d = mx/−8). */
  search?: boolean;
}

export interface DequantizeDims {
  rows: number;
  k: number;
  ldo: number;
  data: 'uniform' | 'special';
}

export interface GemmQ8Dims {
  m: number;
  n: number;
  k: number;
  bias: boolean;
  accumulate: boolean;
  ldc: number;
  data: 'uniform' | 'special';
}

export interface GemmHalfDims {
  m: number;
  n: number;
  k: number;
  /** 0: f16, 1: bf16 */
  bf16: 0 | 1;
  bias: boolean;
  accumulate: boolean;
  lda: number;
  ldc: number;
  data: 'uniform' | 'special';
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
export type LayerNormCase = CaseBase & { kernel: 'layerNorm'; dims: LayerNormDims };
export type RmsNormCase = CaseBase & { kernel: 'rmsNorm'; dims: RmsNormDims };
export type ActivationCase = CaseBase & { kernel: 'activation'; dims: ActivationDims };
export type SwigluCase = CaseBase & { kernel: 'swiglu'; dims: SwigluDims };
export type AddCase = CaseBase & { kernel: 'addInPlace' | 'mulInPlace'; dims: AddDims };
export type QuantizeCase = CaseBase & { kernel: 'quantizeRows8' | 'quantizeRows16' | 'quantizeRows4'; dims: QuantizeDims };
export type GemmQ8Case = CaseBase & { kernel: 'gemmQ8' | 'gemmQ4'; dims: GemmQ8Dims };
export type GemmHalfCase = CaseBase & { kernel: 'gemmHalf'; dims: GemmHalfDims };
export type DequantizeCase = CaseBase & { kernel: 'dequantizeRows8' | 'dequantizeRows4'; dims: DequantizeDims };
export type KernelCase = DequantizeCase | GemmCase | AttentionCase | SoftmaxCase | LayerNormCase | RmsNormCase | ActivationCase | SwigluCase | AddCase | QuantizeCase | GemmQ8Case | StoreRowsCase | GemmHalfCase;
/** A KV cache append: rows of heads × dh f32 values (rows ldx floats apart). */
export interface StoreRowsDims {
  rows: number;
  heads: number;
  dh: number;
  ldx: number;
  data: 'uniform' | 'special';
}
export type StoreRowsCase = CaseBase & { kernel: 'storeRowsF16' | 'storeRowsQ8'; dims: StoreRowsDims };
/** The bits of the half nearest x, ties to even. */
export function halfBits(x: number): number;
/** One head of dh values → its int8s and scale (float64 twin of storeRowsQ8). */
export function quantizeHeadQ8(x: ArrayLike<number>, offset: number, dh: number): { q: Int8Array; scale: number };

export function kernelCases(tiles: KernelTiles, options?: { tiny?: boolean }): KernelCase[];
export function makeCase(kernel: 'gemm', dims: GemmDims, options?: { name?: string; edge?: boolean; perf?: boolean }): GemmCase;
export function makeCase(kernel: 'attention' | 'attentionWeights', dims: AttentionDims, options?: { name?: string; edge?: boolean; perf?: boolean }): AttentionCase;
export function makeCase(kernel: 'softmax', dims: SoftmaxDims, options?: { name?: string; edge?: boolean; perf?: boolean }): SoftmaxCase;
export function makeCase(kernel: 'layerNorm', dims: LayerNormDims, options?: { name?: string; edge?: boolean; perf?: boolean }): LayerNormCase;
export function makeCase(kernel: 'rmsNorm', dims: RmsNormDims, options?: { name?: string; edge?: boolean; perf?: boolean }): RmsNormCase;
export function makeCase(kernel: 'activation', dims: ActivationDims, options?: { name?: string; edge?: boolean; perf?: boolean }): ActivationCase;
export function makeCase(kernel: 'swiglu', dims: SwigluDims, options?: { name?: string; edge?: boolean; perf?: boolean }): SwigluCase;
export function makeCase(kernel: 'addInPlace' | 'mulInPlace', dims: AddDims, options?: { name?: string; edge?: boolean; perf?: boolean }): AddCase;
export function makeCase(kernel: 'quantizeRows8' | 'quantizeRows16' | 'quantizeRows4', dims: QuantizeDims, options?: { name?: string; edge?: boolean; perf?: boolean }): QuantizeCase;
export function makeCase(kernel: 'gemmQ8' | 'gemmQ4', dims: GemmQ8Dims, options?: { name?: string; edge?: boolean; perf?: boolean }): GemmQ8Case;
export function makeCase(kernel: 'gemmHalf', dims: GemmHalfDims, options?: { name?: string; edge?: boolean; perf?: boolean }): GemmHalfCase;
export function gemmHalfDims(m: number, n: number, k: number, bf16: 0 | 1, options?: { bias?: boolean; accumulate?: boolean; strided?: boolean; data?: 'uniform' | 'special' }): GemmHalfDims;
/** The value of a 16-bit pattern from the definition: f16 (bf16 = 0) or bf16. */
export function halfValue(bits: number, bf16?: 0 | 1): number;
export function makeCase(kernel: 'dequantizeRows8' | 'dequantizeRows4', dims: DequantizeDims, options?: { name?: string; edge?: boolean; perf?: boolean }): DequantizeCase;
/** The float64 dequantization of Q8 or Q4 rows: scales[r, b]·values (the int8s, or Q4's unpacked q − 8). */
export function dequantizeRowsReference(values: ArrayLike<number>, scales: ArrayLike<number>, rows: number, k: number, block?: number): Float64Array;
export function makeCase(kernel: 'storeRowsF16' | 'storeRowsQ8', dims: StoreRowsDims, options?: { name?: string; edge?: boolean; perf?: boolean }): StoreRowsCase;
export function gemmQ8Dims(m: number, n: number, k: number, options?: { bias?: boolean; accumulate?: boolean; strided?: boolean; data?: 'uniform' | 'special' }): GemmQ8Dims;
/** The float32 replica of quantizeRows8 (x [rows, k] contiguous). */
export function quantizeRows8Reference(x: ArrayLike<number>, rows: number, k: number, block?: number): { q: Int8Array; scales: Float32Array };
/** The float32 replica of quantizeRows16, the activations of Q8 products (x [rows, k] contiguous): int16 in [−X16_MAX, X16_MAX]. */
export function quantizeRows16Reference(x: ArrayLike<number>, rows: number, k: number, block?: number): { q: Int16Array; scales: Float32Array };
/** Largest level of quantizeRows16. */
export const X16_MAX: number;
/** The float32 replica of quantizeRows4 (ggml's Q4_0 rounding; search: the least-error scale of Linear weights): packed bytes, the unpacked values q − 8, the scales. */
export function quantizeRows4Reference(x: ArrayLike<number>, rows: number, k: number, block?: number, search?: boolean): { q: Uint8Array; values: Int8Array; scales: Float32Array };
/** The divisors c of the Q4 scale search, d = mx/c, as f32. */
export const Q4_SEARCH_DIVISORS: number[];
/** Σ_b xs·ws·Σ_i xq·wq (+ bias) (+ c0) in float64. */
export function referenceGemmQ8(
  dims: { m: number; n: number; k: number },
  xq: ArrayLike<number>, xs: ArrayLike<number>, wq: ArrayLike<number>, ws: ArrayLike<number>,
  bias?: ArrayLike<number> | null, c0?: ArrayLike<number> | null, block?: number, magnitude?: boolean,
): Float64Array;
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
  kvDtype?: 'f32' | 'f16' | 'q8';
}): AttentionDims;
export function layerNormDims(options: {
  rows: number;
  n: number;
  weight?: boolean;
  bias?: boolean;
  residual?: boolean;
  eps?: number;
  strided?: boolean;
  inPlace?: boolean;
  data?: NormData;
}): LayerNormDims;
export function rmsNormDims(options: { rows: number; n: number; weight?: boolean; eps?: number; strided?: boolean; inPlace?: boolean; data?: NormData }): RmsNormDims;
export function describeDims(c: KernelCase): string;
/** The dims that matter for timing, short, for every kernel. */
export function shortDims(c: KernelCase): string;
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
/** erf in float64 (series and continued fraction), within 9e-16 absolute. */
export function erf64(x: number): number;
/** erfc in float64, relative error below 2e-13. */
export function erfc64(x: number): number;
/** The activations in float64, by kind. */
export const ACTIVATIONS64: Record<ActivationKind, (x: number) => number>;
export function referenceActivation(kind: ActivationKind, x: ArrayLike<number>): Float64Array;
export function referenceSwiglu(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array;
/** x' = fround(x + residual), then nn.LayerNorm per row; contiguous inputs. */
export function referenceLayerNorm(
  dims: { rows: number; n: number; eps: number },
  x: ArrayLike<number>,
  residual?: ArrayLike<number> | null,
  weight?: ArrayLike<number> | null,
  bias?: ArrayLike<number> | null,
): Float64Array;
export function referenceRmsNorm(dims: { rows: number; n: number; eps: number }, x: ArrayLike<number>, weight?: ArrayLike<number> | null): Float64Array;

export interface Comparison {
  /** ‖got − ref‖₂ / ‖ref‖₂, or ‖got − ref‖₂ when `absolute` (‖ref‖₂ = 0), over the finite references; Infinity on a mismatch below. */
  error: number;
  absolute: boolean;
  ok: boolean;
  /** Index of the first NaN in got where the reference is finite, or -1. */
  nanAt: number;
  /** Index of the first element whose reference is NaN or ±Infinity and got is not the same, or -1. */
  specialAt: number;
}
export function compare(got: ArrayLike<number>, ref: ArrayLike<number>, tolerance?: number, magnitude?: ArrayLike<number> | null): Comparison;

export interface CaseEnv {
  k: Kernels;
  heap: Heap;
  writeAttentionParams(heap: Heap, ptr: number, problem: Problem): void;
  writePartials(heap: Heap, params: number, ptr: number): void;
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
  /**
   * Byte offsets of the case's buffers: gemm a, b, bias, c, scratch; attention q, k, v, out, weights, keyLengths, params, scratch;
   * softmax x, mask; layerNorm / rmsNorm x, out, residual, weight, bias; activation a (x), out; swiglu a (gate), b (up), out; addInPlace / mulInPlace a (x = out), b (y).
   */
  ptr: Record<string, number>;
  /** Work items (attention kernels; 0 otherwise). */
  items: number;
  scratchBytes: number;
  /** Outputs back to their initial state (the sentinel, or C₀ / the softmax input); scratch to the sentinel. */
  reset(): void;
  /** The whole problem, one call. */
  run(): void;
  /** Attention kernels: items [begin, end) with this scratch; after all ranges, finishItems() once. */
  runItems?(begin: number, end: number, scratch?: number): void;
  /** gemmQ8: columns [j0, j1) as their own call (its work range). */
  runColumns?(j0: number, j1: number): void;
  /** gemmQ8 / gemmQ4: rows [r0, r1) as their own call. */
  runRows?(r0: number, r1: number): void;
  /** Attention kernels: merges a key-split problem's partial states into out (nothing otherwise). */
  finishItems?(): void;
  /** Copies of the outputs in logical order (C [m,n]; out [B,H,Lq,Dv], weights [B,H,Lq,Lk]; x [rows,cols]; norms out [rows,n]; elementwise out [count]). */
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
