export { init, AttentionRuntime, supportedBackends, type InitOptions } from './runtime.js';
export { BACKENDS, type Backend } from './backend.js';
export { Tensor, type MemoryStats } from './memory.js';
export type { TensorData, TensorLike } from './validate.js';
export type { AttentionOptions, AttentionResult } from './ops/sdpa.js';
export type { MatmulOptions } from './ops/matmul.js';
export type { SoftmaxOptions } from './ops/softmax.js';
export * as reference from './reference/index.js';
