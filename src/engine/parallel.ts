/**
 * The kernels that split across threads, called the same way with or without them. How a call is
 * cut into chunks depends on the problem only (never on the thread count), and each kernel gives
 * the same bits for any split of its work range, so every thread count gives the same output.
 * Calls below `ws.parallelMinFlops` (PARALLEL_MIN_FLOPS) stay on the calling thread: waking the
 * others costs more.
 */
import { JOB } from './threads/pool.js';
import { writePartials } from './attention-params.js';
import type { Workspace } from './workspace.js';

/** Attention's cut-off is ATTENTION_FLOPS_FACTOR × the gemm one (ws.parallelMinFlops). */
const ATTENTION_FLOPS_FACTOR = 2;

const MAX_CHUNKS = 4095;

/**
 * Fused attention over all work items of the parameter block at `params`; `flops` sizes the call.
 * A decode step over a long key range is split into key chunks (by the kernel, from the problem),
 * whose partial states are merged in order afterwards on the calling thread.
 */
export function runAttention(ws: Workspace, params: number, flops: number): void {
  const k = ws.kernels;
  const items = k.attentionWorkItems(params);
  const bytes = k.attentionScratchBytes(params);
  const partialBytes = k.attentionPartialBytes(params);
  if (partialBytes > 0) writePartials(ws.heap, params, ws.partials(partialBytes));
  const pool = ws.pool;
  if (!pool || items < 2 || flops < ATTENTION_FLOPS_FACTOR * ws.parallelMinFlops) {
    k.attention(params, 0, items, ws.scratch(bytes));
  } else {
    const per = Math.ceil(items / MAX_CHUNKS);
    const { base, stride } = ws.threadScratch(bytes);
    pool.run(JOB.ATTENTION, Math.ceil(items / per), per, items, [params], base, stride);
  }
  if (partialBytes > 0) k.attentionMerge(params, 0, k.attentionMergeItems(params));
}

/** The same with the weights [B, H, Lq, Lk] written to `weights`. */
export function runAttentionWeights(ws: Workspace, params: number, weights: number, flops: number): void {
  const k = ws.kernels;
  const items = k.attentionWeightsWorkItems(params);
  const bytes = k.attentionWeightsScratchBytes(params);
  const pool = ws.pool;
  if (!pool || items < 2 || flops < ATTENTION_FLOPS_FACTOR * ws.parallelMinFlops) {
    k.attentionWeights(params, 0, items, weights, ws.scratch(bytes));
    return;
  }
  const per = Math.ceil(items / MAX_CHUNKS);
  const { base, stride } = ws.threadScratch(bytes);
  pool.run(JOB.ATTENTION_WEIGHTS, Math.ceil(items / per), per, items, [params, weights], base, stride);
}

/**
 * What a gemm costs, in the units of the cut-off: its flops (2·m·n·k), except that a product of a
 * few rows (a decode step's matrix–vector product) is bound by reading B, 4·n·k bytes, which are
 * counted as flops: a 576 × 1536 weight (3.5 MB) is worth two threads though it is 1.8 MFLOP.
 */
function gemmCost(ws: Workspace, m: number, n: number, kDim: number): number {
  return m < ws.tiles.gemm.DIRECT_M ? Math.max(2 * m, 4) * n * kDim : 2 * m * n * kDim;
}

/**
 * C[m, n] = A·op(B) (+ bias) (+ C) by column panels: at most 16 panels, each a multiple of GEMM_NB
 * columns wide (the kernel's results do not depend on where such a split falls).
 */
export function runGemm(
  ws: Workspace, a: number, lda: number, b: number, ldb: number, c: number, ldc: number,
  m: number, n: number, kDim: number, transB: number, bias: number, accumulate: number,
): void {
  const k = ws.kernels;
  const pool = ws.pool;
  const nb = ws.tiles.gemm.NB;
  if (!pool || n < 2 * nb || gemmCost(ws, m, n, kDim) < ws.parallelMinFlops) {
    k.gemm(a, lda, b, ldb, c, ldc, m, n, kDim, transB, bias, accumulate, ws.scratch(k.gemmScratchBytes(m, n, kDim)));
    return;
  }
  const per = Math.ceil(Math.ceil(n / 16) / nb) * nb;
  const { base, stride } = ws.threadScratch(k.gemmScratchBytes(m, per, kDim));
  pool.run(JOB.GEMM, Math.ceil(n / per), per, n, [a, lda, b, ldb, c, ldc, m, n, kDim, transB, bias, accumulate], base, stride);
}

/**
 * What a product of a few rows (a decode step) with Q8 / Q4 weights costs, in the f32 gemv's units
 * (gemmCost: bytes of f32 weights read, at the read bandwidth): these products are bound by their
 * instructions, one weight taking about the time of 2 (Q8) or 1 (Q4) bytes of an f32 gemv
 * (docs/kernels.md, the gemv table), per row of x; × DECODE_SPLIT_GAIN, because a product this
 * short is worth splitting sooner than an f32 one: with the calling thread spinning for the other
 * chunks (pool.ts), a split costs a few µs, and the 30–60 µs projections of a SmolLM2-135M step
 * split in two ran a Q4 step in 5.3 ms on 2 threads against 8.2 on 1 (×1: 8.2; ×10: 5.2; ×33: 6.9).
 */
function q8DecodeCost(m: number, n: number, kDim: number, q4: boolean): number {
  return DECODE_SPLIT_GAIN * m * (q4 ? 1 : 2) * n * kDim;
}
const DECODE_SPLIT_GAIN = 4;

/**
 * y[m, n] (op)= x·Wᵀ (+ bias) with W in Q8, or Q4 if `q4` (engine/quantized.ts): x is quantized once, on the
 * calling thread, into the scratch (int16 [m, k] for Q8, int8 for Q4, then scales [m, k/32]), followed by each thread's
 * kernel scratch (the int16 panels of the many-rows path); then column panels as for gemm (each
 * column's arithmetic is the same wherever a split falls, so any thread count gives the same bits).
 */
export function runGemmQ8(
  ws: Workspace, x: number, ldx: number, q: number, scales: number, c: number, ldc: number,
  m: number, n: number, kDim: number, bias: number, accumulate: number, q4 = false,
): void {
  const k = ws.kernels;
  const pool = ws.pool;
  const nb = ws.tiles.gemm.NB;
  const qBytes = m * kDim * (q4 ? 1 : 2);
  const xBytes = Math.ceil((qBytes + m * kDim / 8) / 16) * 16;
  const few = m < ws.tiles.q8.PACKED_M;
  const mc = ws.tiles.q8.MC;
  if (pool && m >= 2 * mc && gemmCost(ws, m, n, kDim) >= ws.parallelMinFlops) {
    // many rows: chunks of whole row blocks, each quantizing its rows and multiplying them by every
    // column (a column split would have every chunk widen all of x again; a row split packs each
    // weight panel once per row block, as one thread does)
    const perRows = mc * Math.ceil(Math.ceil(m / 16) / mc);
    const rowStride = Math.ceil(k.gemmQ8ScratchBytes(perRows, n, kDim) / 64) * 64;
    const xqr = ws.scratch(xBytes + rowStride * ws.threads);
    // each chunk quantizes its own rows of x first
    pool.run(q4 ? JOB.GEMM_Q4_ROWS : JOB.GEMM_Q8_ROWS, Math.ceil(m / perRows), perRows, m, [xqr, xqr + qBytes, n, q, scales, c, ldc, kDim, bias, accumulate, x, ldx], xqr + xBytes, rowStride);
    return;
  }
  const single = !pool || n < 2 * nb || (few ? q8DecodeCost(m, n, kDim, q4) : gemmCost(ws, m, n, kDim)) < ws.parallelMinFlops;
  // a few rows: at most 4 chunks (each Q4 chunk prepares the rows of x again); else 16, as gemm
  const per = single ? n : Math.ceil(Math.ceil(n / (few ? 4 : 16)) / nb) * nb;
  const stride = Math.ceil(k.gemmQ8ScratchBytes(m, per, kDim) / 64) * 64;
  const xq = ws.scratch(xBytes + stride * (single ? 1 : ws.threads));
  const xs = xq + qBytes;
  (q4 ? k.quantizeRows8 : k.quantizeRows16)(x, ldx, m, kDim, xq, xs);
  if (single) {
    (q4 ? k.gemmQ4 : k.gemmQ8)(xq, xs, m, q, scales, c, ldc, n, kDim, bias, accumulate, xq + xBytes);
    return;
  }
  pool!.run(q4 ? JOB.GEMM_Q4 : JOB.GEMM_Q8, Math.ceil(n / per), per, n, [xq, xs, m, q, scales, c, ldc, kDim, bias, accumulate], stride === 0 ? 0 : xq + xBytes, stride);
}

/**
 * y[m, n] (op)= x·Wᵀ (+ bias) with W [n, k] held as 16-bit floats of `format` (HALF_FORMAT):
 * column panels as for gemm (each range widens and packs only its own rows of W, and a split at
 * multiples of GEMM_NB gives the same bits). A few rows read W at two bytes a weight, so the
 * cut-off counts half of the f32 product's bytes.
 */
export function runGemmHalf(
  ws: Workspace, x: number, ldx: number, w: number, c: number, ldc: number,
  m: number, n: number, kDim: number, format: number, bias: number, accumulate: number,
): void {
  const k = ws.kernels;
  const pool = ws.pool;
  const nb = ws.tiles.gemm.NB;
  const cost = m < ws.tiles.gemm.DIRECT_M ? Math.max(m, 2) * n * kDim : 2 * m * n * kDim;
  if (!pool || n < 2 * nb || cost < ws.parallelMinFlops) {
    k.gemmHalf(x, ldx, w, c, ldc, m, n, kDim, format, bias, accumulate, ws.scratch(k.gemmHalfScratchBytes(m, n, kDim)));
    return;
  }
  const per = Math.ceil(Math.ceil(n / 16) / nb) * nb;
  const { base, stride } = ws.threadScratch(k.gemmHalfScratchBytes(m, per, kDim));
  pool.run(JOB.GEMM_HALF, Math.ceil(n / per), per, n, [x, ldx, w, c, ldc, m, kDim, format, bias, accumulate], base, stride);
}

/** Elements per chunk of an element-wise job, at least (a multiple of 4). */
const ELEMENTWISE_CHUNK = 16384;
/**
 * An element-wise kernel's cost per element in the cut-off's units (GELU's erf, SiLU's exp: about
 * 30 operations), so a decode step's few thousand elements stay on the calling thread and a
 * prefill's or an encoder batch's millions split.
 */
const ELEMENTWISE_COST = 32;

/** Chunk size of an element-wise job over `count` elements, or 0 when it stays on the calling thread. */
function elementwiseChunk(ws: Workspace, count: number): number {
  if (!ws.pool || count < 2 * ELEMENTWISE_CHUNK || count * ELEMENTWISE_COST < ws.parallelMinFlops) return 0;
  return Math.max(ELEMENTWISE_CHUNK, Math.ceil(count / 64) * 4);
}

/** out[i] = act(x[i]) for i < count (kernel `activation`, kind: ACTIVATION), in element ranges. */
export function runActivation(ws: Workspace, x: number, out: number, count: number, kind: number): void {
  const per = elementwiseChunk(ws, count);
  if (per === 0) ws.kernels.activation(x, out, count, kind);
  else ws.pool!.run(JOB.ACTIVATION, Math.ceil(count / per), per, count, [x, out, kind], 0, 0);
}

/** out[i] = silu(gate[i])·up[i] for i < count (kernel `swiglu`; out may be gate or up), in element ranges. */
export function runSwiglu(ws: Workspace, gate: number, up: number, out: number, count: number): void {
  const per = elementwiseChunk(ws, count);
  if (per === 0) ws.kernels.swiglu(gate, up, out, count);
  else ws.pool!.run(JOB.SWIGLU, Math.ceil(count / per), per, count, [gate, up, out], 0, 0);
}
