/**
 * The Wasm boundary: the exports of `assembly/index.ts`, as the TypeScript side calls them.
 * Pointers are byte offsets into linear memory; strides and sizes are in f32 elements.
 * Kernels never allocate and never validate: the caller passes checked sizes and scratch.
 * Entries that take a work range [begin, end) compute those items only, with the scratch they are
 * given; any split of the items gives the same bits.
 */
export interface Kernels {
  /** First byte after the module's static data: the allocator starts here. */
  heapBase(): number;

  /** Scratch bytes `gemm` needs to pack B (0 on its few-rows path, m < GEMM_DIRECT_M). */
  gemmScratchBytes(m: number, n: number, k: number): number;
  /**
   * C[m,n] = A[m,k]·op(B) (+ bias[n]) (+ C if accumulate); op(B) = B[k,n] or Bᵀ for B stored [n,k].
   * A column range [j0, j1) of C is the call on b + j0 (or b + j0·ldb for Bᵀ), c + j0, bias + j0, n = j1 − j0.
   */
  gemm(
    a: number, lda: number, b: number, ldb: number, c: number, ldc: number,
    m: number, n: number, k: number, transB: number, bias: number, accumulate: number, scratch: number,
  ): void;

  /**
   * Q8 activations (assembly/gemm/q8.ts): x [rows, k] (rows ldx floats apart, k a multiple of 32) →
   * q [rows, k] int8 and scales [rows, k/32], per block of 32: d = max|x|/127, q = round(x/d) in
   * [−127, 127]; a block with NaN or ±Infinity gets d = NaN (its products are NaN).
   */
  quantizeRows8(x: number, ldx: number, rows: number, k: number, q: number, scales: number): void;
  /**
   * The activations of Q8 products (assembly/gemm/q8.ts): x [rows, k] → q [rows, k] int16 and scales
   * [rows, k/32], per block of 32: d = max|x|/4095, q = round(x/d) in [−4095, 4095]; NaN as quantizeRows8.
   */
  quantizeRows16(x: number, ldx: number, rows: number, k: number, q: number, scales: number): void;
  /**
   * y[m, n] (op)= x·Wᵀ (+ bias) with x quantized by quantizeRows16 (xq int16 rows 2k bytes apart, xs) and W [n, k] in Q8
   * (wq int8 rows k bytes apart, ws [n, k/32] scales): Σ over blocks of xs·ws·(exact int32 block sum).
   * Columns [j0, j1) are the call on wq + j0·k, ws + 4·j0·k/32, c + 4·j0, bias + 4·j0, n = j1 − j0.
   * scratch: gemmQ8ScratchBytes(m, n, k) bytes (the int16 panels of the many-rows path).
   */
  gemmQ8(xq: number, xs: number, m: number, wq: number, ws: number, c: number, ldc: number, n: number, k: number, bias: number, accumulate: number, scratch: number): void;
  /** Scratch bytes gemmQ8 and gemmQ4 need for these sizes: 64 + 2·m·k below GEMM_Q8_PACKED_M rows (gemmQ8: a block-sum slot and x by parity; gemmQ4: its prepared rows of x), the int16 panels from there on, 0 in the scalar build. */
  gemmQ8ScratchBytes(m: number, n: number, k: number): number;
  /**
   * Q4 weights (assembly/gemm/q4.ts, ggml's Q4_0 rounding): x [rows, k] (rows ldx floats apart, k a
   * multiple of 32) → q [rows, k/2] bytes (per block of 32: byte i = element i in the low nibble,
   * element 16 + i in the high one) and scales [rows, k/32] f32: d = (first element of largest
   * magnitude)/−8, q = min(15, trunc(x/d + 8.5)), value ≈ d·(q − 8); NaN or ±Infinity: d = NaN.
   * search ≠ 0: d = mx/c of least squared error for c in −8, −7.8, …, −7 (the first on a tie).
   */
  quantizeRows4(x: number, ldx: number, rows: number, k: number, q: number, scales: number, search: number): void;
  /**
   * Q4 rows q [rows, k/2] between the canonical order quantizeRows4 writes and the order gemmQ4 and
   * dequantizeRows4 read (each full group of four blocks transposed by 4-byte units,
   * assembly/gemm/q4-layout.ts), in place; the permutation is its own inverse.
   */
  interleaveRows4(q: number, rows: number, k: number): void;
  /**
   * y[m, n] (op)= x·Wᵀ (+ bias) with x quantized by quantizeRows8 (xq, xs) and W [n, k] in Q4, held
   * as interleaveRows4 leaves it (wq rows k/2 bytes apart, ws [n, k/32] scales): Σ over blocks of xs·ws·(exact int32 block sum).
   * Columns [j0, j1) are the call on wq + j0·k/2, ws + 4·j0·k/32, c + 4·j0, bias + 4·j0, n = j1 − j0.
   * scratch: gemmQ8ScratchBytes(m, n, k) bytes.
   */
  gemmQ4(xq: number, xs: number, m: number, wq: number, ws: number, c: number, ldc: number, n: number, k: number, bias: number, accumulate: number, scratch: number): void;
  /** Scratch bytes `gemmHalf` needs (0 on its few-rows path, m < GEMM_DIRECT_M). */
  gemmHalfScratchBytes(m: number, n: number, k: number): number;
  /**
   * y[m, n] (op)= x·Wᵀ (+ bias) with W [n, k] held as 16-bit floats (assembly/gemm/half.ts), rows k
   * values apart, of `format` (HALF_FORMAT), converted to f32 in the kernel. The same bits as gemm on
   * the widened W. Columns [j0, j1) are the call on w + 2·j0·k, c + 4·j0, bias + 4·j0, n = j1 − j0.
   */
  gemmHalf(a: number, lda: number, w: number, c: number, ldc: number, m: number, n: number, k: number, format: number, bias: number, accumulate: number, scratch: number): void;
  /** dst[i] = f32(src[i]) for i < count: 16-bit floats of `format` (HALF_FORMAT) widened exactly. */
  widenHalf(src: number, dst: number, count: number, format: number): void;
  /** q [rows, k] int8 and scales [rows, k/32] → out [rows, k] f32 (rows ldo floats apart): scale·q per block of 32. */
  dequantizeRows8(q: number, scales: number, rows: number, k: number, out: number, ldo: number): void;
  /** q [rows, k/2] bytes of Q4 pairs and scales [rows, k/32] → out [rows, k] f32 (rows ldo floats apart): scale·(q − 8). */
  dequantizeRows4(q: number, scales: number, rows: number, k: number, out: number, ldo: number): void;

  /**
   * In place, row i of x[rows, cols]: y = softmax(x·scale + mask[i]) over keys [0, visible);
   * the other keys get weight 0, and a row with no visible key (or only -inf) becomes all zeros.
   * mask = 0: none; ldMask = 0: one mask row for all.
   */
  softmax(x: number, ldx: number, rows: number, cols: number, scale: number, mask: number, ldMask: number, visible: number): void;

  /** Work items of `attention` for the parameter block at `params` (src/ops/attention-params.ts). */
  attentionWorkItems(params: number): number;
  /** Scratch bytes one `attention` call needs. */
  attentionScratchBytes(params: number): number;
  /**
   * Fused softmax(q·kᵀ·scale | visible keys)·v for work items [begin, end) (see assembly/attention/fused.ts).
   * A key-split problem (attentionPartialBytes > 0) writes partial states to the block's PARTIALS
   * pointer instead of out; `attentionMerge` over all its items then writes out.
   */
  attention(params: number, begin: number, end: number, scratch: number): void;
  /** Bytes of partial softmax states the problem needs (0: its keys are not split; see assembly/attention/merge.ts). */
  attentionPartialBytes(params: number): number;
  /** Work items of `attentionMerge` (0: nothing to merge). */
  attentionMergeItems(params: number): number;
  /** Combines the key chunks of merge items [begin, end) into out, chunk by chunk in order. */
  attentionMerge(params: number, begin: number, end: number): void;

  /** Work items of `attentionWeights` (one per batch and head). */
  attentionWeightsWorkItems(params: number): number;
  /** Scratch bytes one `attentionWeights` call needs. */
  attentionWeightsScratchBytes(params: number): number;
  /** The same attention with the weights [B, H, Lq, Lk] written to `weights` (assembly/attention/weights.ts). */
  attentionWeights(params: number, begin: number, end: number, weights: number, scratch: number): void;

  /** out[i] = b·e^{a·x[i]}; returns max |x[i]| (see assembly/additive.ts, factored form). */
  expScale(x: number, out: number, n: number, a: number, b: number): number;
  /** scores[s] = c − Σ_i v[i] / (1/2 + f[i]·e[s, i]): the additive score from f = e^{2q}/2, e = e^{2k}, c = Σv + vBias. */
  additiveScoresFactored(f: number, e: number, lde: number, v: number, c: number, scores: number, n: number, h: number): void;
  /** scores[s] = Σ_i v[i]·tanh(q[i] + keys[s, i]) + vBias for s < n, i < h (Bahdanau / Luong concat). */
  additiveScores(q: number, keys: number, ldk: number, v: number, vBias: number, scores: number, n: number, h: number): void;
  /** x[i] = tanh(x[i]) for i < n. */
  tanhInPlace(x: number, n: number): void;

  /**
   * Rotary embedding of x [rows, length, d] at positions 0..length−1 of `table` [length, d/2, (cos, sin)];
   * style 0: pairs (i, i + d/2), style 1: pairs (2i, 2i + 1). out may equal x.
   */
  rope(x: number, out: number, rows: number, length: number, d: number, table: number, style: number): void;
  /** In place, rotary embedding of heads inside wider rows: head h of position p, batch b at x + 4·(b·sB + p·sL + h·sH). */
  ropeHeads(x: number, batch: number, length: number, heads: number, d: number, sB: number, sL: number, sH: number, table: number, style: number): void;

  /**
   * Row i of x [rows, n] → row i of out: y = (x' − mean)/√(var + eps)·weight + bias, x' = x + residual
   * rounded to f32 (residual = 0: none), biased variance (nn.LayerNorm). weight / bias = 0: no scale /
   * no shift. out may equal x. Mean and variance without cancellation (shifted two-pass, see
   * assembly/norm.ts); a NaN or ±Infinity in a row makes that row NaN.
   */
  layerNorm(
    x: number, ldx: number, out: number, ldo: number, rows: number, n: number,
    weight: number, bias: number, eps: number, residual: number, ldr: number,
  ): void;
  /** Row i of x [rows, n] → row i of out: y = x/√(mean(x²) + eps)·weight (Llama RMSNorm; weight = 0: none). out may equal x. */
  rmsNorm(x: number, ldx: number, out: number, ldo: number, rows: number, n: number, weight: number, eps: number): void;
  /**
   * out[i] = f(x[i]) for i < count, out may equal x; `kind` from ACTIVATION: relu, gelu (exact erf
   * form), geluTanh, silu, erf. NaN → NaN, +Infinity → +Infinity (erf 1), −Infinity → 0 (erf −1).
   */
  activation(x: number, out: number, count: number, kind: number): void;
  /** out[i] = silu(gate[i])·up[i] for i < count (Llama's MLP middle); out may equal gate or up. */
  swiglu(gate: number, up: number, out: number, count: number): void;
  /** x[i] += y[i] for i < count. */
  addInPlace(x: number, y: number, count: number): void;
  /** x[i] *= y[i] for i < count (GeGLU's gate times up). */
  mulInPlace(x: number, y: number, count: number): void;
  /**
   * The GRU cell after its projections (assembly/gru.ts): for rows b, with gi = x·W_ihᵀ + b_ih and
   * gh = h·W_hhᵀ + b_hh ([·, 3H], gates r, z, n): r = σ(gi_r + gh_r), z = σ(gi_z + gh_z),
   * n = tanh(gi_n + r ⊙ gh_n), out = (1 − z) ⊙ n + z ⊙ h. Rows of each operand ld floats apart; out may equal h.
   */
  /** KV cache append: x [rows, n] (rows ldx floats apart) → IEEE halves, rounded to nearest even (rows ldh halves apart). */
  storeRowsF16(x: number, ldx: number, rows: number, n: number, h: number, ldh: number): void;
  /**
   * KV cache append: x [rows, heads·dh] → int8 q (rows ldq bytes apart) and one f32 scale per (row, head)
   * (rows lds floats apart): scale = max|x|/127, q = round-half-even(x/scale).
   */
  storeRowsQ8(x: number, ldx: number, rows: number, heads: number, dh: number, q: number, ldq: number, scales: number, lds: number): void;
  gruCell(gi: number, ldgi: number, gh: number, ldgh: number, h: number, ldh: number, out: number, ldo: number, rows: number, hidden: number): void;
  /** In place, row i of x [rows, cols]: y = x − max − log Σ e^{x − max} (log_softmax). */
  logSoftmax(x: number, ldx: number, rows: number, cols: number): void;

  GEMM_MR: WebAssembly.Global;
  GEMM_NR: WebAssembly.Global;
  GEMM_KC: WebAssembly.Global;
  GEMM_MC: WebAssembly.Global;
  GEMM_DIRECT_M: WebAssembly.Global;
  GEMM_NB: WebAssembly.Global;
  Q8_BLOCK: WebAssembly.Global;
  GEMM_Q8_PACKED_M: WebAssembly.Global;
  GEMM_Q8_MC: WebAssembly.Global;
  ATTENTION_QB: WebAssembly.Global;
  ATTENTION_KB: WebAssembly.Global;
  ATTENTION_PW: WebAssembly.Global;
  ATTENTION_DIRECT_MAX_LQ: WebAssembly.Global;
  ATTENTION_SPLIT_KEYS: WebAssembly.Global;
  ATTENTION_PARAMS_BYTES: WebAssembly.Global;
}

type FunctionNames = { [K in keyof Kernels]: Kernels[K] extends (...args: never[]) => unknown ? K : never }[keyof Kernels];
type Arity = { [K in FunctionNames]: Kernels[K] extends (...args: infer P) => unknown ? P['length'] : never };

/**
 * The parameter count of every kernel function, checked against the interface above at compile
 * time (a wrong number does not type-check) and against the module's exports by test/kernels.test.ts.
 */
export const KERNEL_ARITY: Arity = {
  heapBase: 0,
  gemmScratchBytes: 3,
  gemm: 13,
  quantizeRows8: 6,
  quantizeRows16: 6,
  gemmQ8: 12,
  gemmQ8ScratchBytes: 3,
  quantizeRows4: 7,
  interleaveRows4: 3,
  gemmQ4: 12,
  gemmHalfScratchBytes: 3,
  gemmHalf: 12,
  widenHalf: 4,
  dequantizeRows8: 6,
  dequantizeRows4: 6,
  softmax: 8,
  attentionWorkItems: 1,
  attentionScratchBytes: 1,
  attention: 4,
  attentionPartialBytes: 1,
  attentionMergeItems: 1,
  attentionMerge: 3,
  attentionWeightsWorkItems: 1,
  attentionWeightsScratchBytes: 1,
  attentionWeights: 5,
  expScale: 5,
  additiveScoresFactored: 8,
  additiveScores: 8,
  tanhInPlace: 2,
  rope: 7,
  ropeHeads: 10,
  layerNorm: 11,
  rmsNorm: 8,
  activation: 4,
  swiglu: 4,
  addInPlace: 3,
  mulInPlace: 3,
  gruCell: 10,
  storeRowsF16: 6,
  storeRowsQ8: 9,
  logSoftmax: 4,
};

/**
 * The `kind` argument of `activation` (assembly/activation.ts): ReLU; GELU exact, 0.5·x·(1 + erf(x/√2));
 * GELU tanh approximation; SiLU, x·σ(x); erf itself (what GELU uses; for its accuracy check).
 */
export const ACTIVATION = { relu: 0, gelu: 1, geluTanh: 2, silu: 3, erf: 4 } as const;
export type ActivationName = keyof typeof ACTIVATION;

/**
 * The `format` argument of gemmHalf and widenHalf (assembly/half.ts): f16; bf16; f16 values known to
 * hold no ±∞ or NaN (checked when the matrix is made), which the SIMD loops convert in fewer steps.
 */
export const HALF_FORMAT = { f16: 0, bf16: 1, f16Finite: 2 } as const;

/** The tile and block sizes the kernels were compiled with (edge sizes for tests and benches). */
export interface KernelTiles {
  gemm: { MR: number; NR: number; KC: number; MC: number; DIRECT_M: number; NB: number };
  /** Elements per block of the Q8 weights and activations (one scale each); from PACKED_M rows on, gemmQ8 / gemmQ4 pack int16 panels, in row blocks of MC. */
  q8: { BLOCK: number; PACKED_M: number; MC: number };
  attention: { QB: number; KB: number; PW: number; DIRECT_MAX_LQ: number; SPLIT_KEYS: number };
}

export function kernelTiles(k: Kernels): KernelTiles {
  const v = (g: WebAssembly.Global): number => g.value as number;
  return {
    gemm: { MR: v(k.GEMM_MR), NR: v(k.GEMM_NR), KC: v(k.GEMM_KC), MC: v(k.GEMM_MC), DIRECT_M: v(k.GEMM_DIRECT_M), NB: v(k.GEMM_NB) },
    q8: { BLOCK: v(k.Q8_BLOCK), PACKED_M: v(k.GEMM_Q8_PACKED_M), MC: v(k.GEMM_Q8_MC) },
    attention: { QB: v(k.ATTENTION_QB), KB: v(k.ATTENTION_KB), PW: v(k.ATTENTION_PW), DIRECT_MAX_LQ: v(k.ATTENTION_DIRECT_MAX_LQ), SPLIT_KEYS: v(k.ATTENTION_SPLIT_KEYS) },
  };
}
