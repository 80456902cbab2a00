/**
 * Plain-JavaScript twins of every op: straightforward loops in float64 arithmetic over
 * float32 storage. They are the test oracle and the benchmark baseline, and they import
 * nothing else of this package. Inputs are `{ data: Float32Array, shape }`, row-major.
 */
export { matmul } from './matmul.js';
export { softmax } from './softmax.js';
export { attentionContext } from './context.js';
export { scaledDotProductAttention } from './sdpa.js';
export { visibleRange, type Visibility } from './visibility.js';
export type { ReferenceTensor } from './tensor.js';
export { luongAttention, bahdanauAttention, ReferenceSeq2seq, type ReferenceLuong, type ReferenceStep } from './seq2seq.js';
export { multiHeadAttention } from './mha.js';
export { sinusoidalEncoding, rope } from './position.js';
export { uniform } from './random.js';
