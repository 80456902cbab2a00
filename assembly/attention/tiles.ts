// The fused kernel's block sizes. The kernel test harness and the per-kernel bench read them
// through the module's exports (ATTENTION_* in assembly/index.ts), so their edge cases follow.

/** Query rows per block: one work item of the fused kernel. */
export const QB: i32 = 16;
/**
 * Keys per block (score tile width). 512, not 128: a decode step reads K and V once each, and longer
 * runs of each made SmolLM2-135M-shaped decode attention at 576 positions 6–15% faster from memory
 * (K and V alternate every block); prefill attention (L 256 … 2048, D 64 and 128) was unchanged.
 */
export const KB: i32 = 512;
/** Keys per packed K panel (= 4 v128). */
export const PW: i32 = 16;
/** Heads with at most this many query rows read K in place instead of packing it (one query
 *  block per head uses each key once, so packing would be a full extra pass over K). */
export const DIRECT_MAX_LQ: i32 = QB;
/** Decode problems (≤ DIRECT_MAX_LQ virtual rows) over at least 2·SPLIT_KEYS keys split their keys
 *  into chunks of SPLIT_KEYS, merged in order by `attentionMerge` (a multiple of KB). */
export const SPLIT_KEYS: i32 = 1024;
