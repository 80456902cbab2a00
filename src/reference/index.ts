/**
 * Plain-JavaScript twins of every op: straightforward loops in float64 arithmetic over
 * float32 storage. They are the test oracle and the benchmark baseline, and they import
 * nothing else of this package. Inputs are `{ data: Float32Array, shape }`, row-major.
 *
 * The twins mirror the runtime's public API: the same names, call shapes, option names and
 * result shapes, so code written against `rt` (an `AttentionRuntime`) runs unchanged against
 * `reference`. `reference.multiHeadAttention(config)` is a module with forward / createCache /
 * step; `reference.luongAttention(options)` and `reference.bahdanauAttention(stateDict)` bind
 * and step. The `resident` option is accepted and ignored (results are always Float32Arrays).
 */
export { matmul, type ReferenceMatmulOptions } from './ops/matmul.js';
export { softmax, type ReferenceSoftmaxOptions } from './ops/softmax.js';
export { layerNorm, rmsNorm, type ReferenceLayerNormOptions, type ReferenceRmsNormOptions } from './ops/norms.js';
export { activation, gelu, type ReferenceActivationKind, type ReferenceActivationOptions, type ReferenceGeluOptions } from './ops/activations.js';
export { attentionContext, type ReferenceContextOptions } from './ops/context.js';
export { scaledDotProductAttention, type ReferenceAttentionOptions, type ReferenceAttentionResult, type ReferenceAttentionResultFor } from './ops/sdpa.js';
export { visibleRange, type Visibility } from './visibility.js';
export type { ReferenceTensor } from './tensor.js';
export type { Exact } from './check.js';
export {
  luongAttention,
  bahdanauAttention,
  ReferenceSeq2seqAttention,
  ReferenceBoundAttention,
  type ReferenceLuongScore,
  type ReferenceLuongOptions,
  type ReferenceBahdanauWeights,
  type ReferenceBindOptions,
  type ReferenceStepResult,
  type ReferenceLuong,
  type ReferenceStep,
} from './nn/seq2seq.js';
export {
  multiHeadAttention,
  ReferenceMultiHeadAttention,
  ReferenceKVCache,
  type ReferenceMultiHeadAttentionConfig,
  type ReferenceMultiHeadAttentionWeights,
  type ReferenceSplitProjectionWeights,
  type ReferenceForwardOptions,
  type ReferenceForwardResult,
  type ReferenceCacheOptions,
} from './nn/mha.js';
export { sinusoidalEncoding, rope, type ReferenceRopeOptions, type ReferenceRopeStyle } from './ops/position.js';
export { uniform } from './random.js';
export {
  transformerDecoder,
  ReferenceTransformerDecoder,
  transformerEncoder,
  ReferenceTransformerEncoder,
  type ReferenceTransformerEncoderConfig,
  transformerEncoderLayer,
  transformerDecoderLayer,
  ReferenceTransformerEncoderLayer,
  ReferenceTransformerDecoderLayer,
  type ReferenceTransformerLayerConfig,
  type ReferenceEncoderForwardOptions,
  type ReferenceDecoderForwardOptions,
  type ReferenceTransformerMask,
  type ReferenceKeyPaddingMask,
} from './nn/transformer.js';
export { swigluFeedForward, ReferenceSwigluFeedForward, type ReferenceSwigluFeedForwardConfig } from './nn/swiglu.js';
export { gru, ReferenceGRU, embedding, ReferenceEmbedding, type ReferenceGruConfig, type ReferenceGruResult } from './nn/gru.js';
export { attnDecoderRNN, ReferenceAttnDecoderRNN, ReferenceBoundAttnDecoder, type ReferenceAttnDecoderStep } from './nn/attn-decoder.js';
export { gruSeq2seq, ReferenceGruSeq2seq, type ReferenceGruSeq2seqConfig, type ReferenceGreedyResult, type ReferenceBeamHypothesis } from './nn/gru-seq2seq.js';
