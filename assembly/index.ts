// The Wasm boundary: every kernel the TypeScript runtime calls (see src/kernels.ts), nothing else.
export { gemm, gemmScratchBytes } from './gemm';
export { softmax } from './softmax';
export { context } from './context';
export { attention, attentionScratchBytes } from './attention';
export { additiveScores, additiveScoresFactored, expScale, tanhInPlace } from './additive';
export { rope } from './position';

/** First byte after static data: the TypeScript allocator owns memory from here on. */
export function heapBase(): usize {
  return __heap_base;
}
