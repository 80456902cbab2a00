// Types of bench/peers/onnx-quant.mjs, for the TypeScript that imports it (test/bench.test.ts).
export type OnnxDtype = 'f32' | 'q8' | 'q4';
export const ONNX_FILES: Record<OnnxDtype, string>;
export const ONNX_FORMATS: Record<OnnxDtype, string>;
export function roundHalfEven(x: number): number;
/** int8 symmetric quantization of a MatMul's B [K, N]: per tensor or per output column. */
export function quantizeInt8(b: Float32Array, K: number, N: number, options?: { perChannel?: boolean; reduceRange?: boolean }): { q: Int8Array; scale: Float32Array; zp: Int8Array };
/** uint8 asymmetric per-tensor quantization of a table. */
export function quantizeUint8(t: Float32Array): { q: Uint8Array; scale: number; zp: number };
/** MatMulNBits's B [N, K/32, 16] and scales [N, K/32] from W [N, K]. */
export function quantizeNBits4(w: Float32Array, N: number, K: number, block?: number): { packed: Uint8Array; scales: Float32Array };
