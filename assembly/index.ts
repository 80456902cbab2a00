// The Wasm boundary: every kernel the TypeScript runtime calls (see src/kernels.ts), nothing else.
//
// Kernel families: gemm/ (packing, packed and rows micro-kernels, driver), attention/ (parameter
// block, visibility rule, packing, QK / online softmax / PV, fused and materialised drivers), and
// single-file kernels (softmax, additive scores, rotary embedding, the row norms and elementwise
// kernels of a transformer layer, the GRU cell). simd.ts, vmath.ts and erf.ts hold the helpers they share.
import { DIRECT_M, KC, MC, MR, NB, NR } from './gemm/tiles';
import { QBLOCK } from './gemm/q8';
import { Q8_MC, Q8_PACKED_M } from './gemm/q8-packed';
import { DIRECT_MAX_LQ, KB, PW, QB, SPLIT_KEYS } from './attention/tiles';
import { PARAMS_BYTES } from './attention/params';

export { gemm, gemmScratchBytes } from './gemm/gemm';
export { gemmQ8, gemmQ8ScratchBytes, quantizeRows16, quantizeRows8 } from './gemm/q8';
export { gemmQ4, quantizeRows4 } from './gemm/q4';
export { interleaveRows4 } from './gemm/q4-layout';
export { gemmHalf, gemmHalfScratchBytes } from './gemm/half';
export { widenHalf } from './half';
export { dequantizeRows4, dequantizeRows8 } from './dequantize';
export { logSoftmax, softmax } from './softmax';
export { attention, attentionScratchBytes, attentionWorkItems } from './attention/fused';
export { attentionMerge, attentionMergeItems, attentionPartialBytes } from './attention/merge';
export { attentionWeights, attentionWeightsScratchBytes, attentionWeightsWorkItems } from './attention/weights';
export { additiveScores, additiveScoresFactored, expScale, tanhInPlace } from './additive';
export { rope, ropeHeads } from './position';
export { layerNorm, rmsNorm } from './norm';
export { activation, addInPlace, mulInPlace, swiglu } from './activation';
export { gruCell } from './gru';
export { storeRowsF16, storeRowsQ8 } from './kv-store';

// Tile and block sizes, for the kernel test harness and the per-kernel bench (their edge cases).
export const GEMM_MR: i32 = MR;
export const GEMM_NR: i32 = NR;
export const GEMM_KC: i32 = KC;
export const GEMM_MC: i32 = MC;
export const GEMM_DIRECT_M: i32 = DIRECT_M;
export const GEMM_NB: i32 = NB;
/** Elements per block of the Q8 weights and activations (one scale each). */
export const Q8_BLOCK: i32 = QBLOCK;
/** From this many rows on, gemmQ8 and gemmQ4 pack int16 panels (SIMD builds). */
export const GEMM_Q8_PACKED_M: i32 = Q8_PACKED_M;
/** Rows per row block of that packed path. */
export const GEMM_Q8_MC: i32 = Q8_MC;
export const ATTENTION_QB: i32 = QB;
export const ATTENTION_KB: i32 = KB;
export const ATTENTION_PW: i32 = PW;
export const ATTENTION_DIRECT_MAX_LQ: i32 = DIRECT_MAX_LQ;
export const ATTENTION_SPLIT_KEYS: i32 = SPLIT_KEYS;
/** Bytes of the attention parameter block (src/ops/attention-params.ts writes it). */
export const ATTENTION_PARAMS_BYTES: i32 = PARAMS_BYTES;

/** First byte after static data: the TypeScript allocator owns memory from here on. */
export function heapBase(): usize {
  return __heap_base;
}
