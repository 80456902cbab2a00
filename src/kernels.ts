/**
 * The Wasm boundary: the exports of `assembly/index.ts`, as the TypeScript side calls them.
 * Pointers are byte offsets into linear memory; strides and sizes are in f32 elements.
 * Kernels never allocate and never validate: the caller passes checked sizes and scratch.
 */
export interface Kernels {
  /** First byte after the module's static data: the allocator starts here. */
  heapBase(): number;

  gemmScratchBytes(n: number, k: number): number;
  /** C[m,n] = A[m,k]·op(B) (+ bias[n]) (+ C if accumulate); op(B) = B[k,n] or Bᵀ for B stored [n,k]. */
  gemm(
    a: number, lda: number, b: number, ldb: number, c: number, ldc: number,
    m: number, n: number, k: number, transB: number, bias: number, accumulate: number, scratch: number,
  ): void;

  /**
   * In place, row i of x[rows, cols]: y = softmax(x·scale + mask[i]) over the visible keys
   * j < min(keyLength, causal ? i + causalOffset + 1 : cols); hidden keys get weight 0, and a row
   * with no visible key (or only -inf) becomes all zeros. mask = 0: none; ldMask = 0: one mask row for all.
   */
  softmax(
    x: number, ldx: number, rows: number, cols: number, scale: number,
    mask: number, ldMask: number, keyLength: number, causal: number, causalOffset: number,
  ): void;

  /** out[i, :] = Σ_j w[i, j]·v[j, :] for w [m, s], v [s, d]. */
  context(w: number, ldw: number, v: number, ldv: number, out: number, ldo: number, m: number, s: number, d: number): void;

  attentionScratchBytes(lq: number, lk: number, d: number, dv: number): number;
  /** Fused softmax(q·kᵀ·scale + mask)·v over [batch, heads, length, dim] with strides (see assembly/attention.ts). */
  attention(
    q: number, qSB: number, qSH: number, qSL: number,
    k: number, kSB: number, kSH: number, kSL: number,
    v: number, vSB: number, vSH: number, vSL: number,
    out: number, oSB: number, oSH: number, oSL: number,
    batch: number, heads: number, lq: number, lk: number, d: number, dv: number,
    scale: number, causal: number, keyLengths: number, scratch: number,
  ): void;

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
}
