/**
 * What a decoder-only config.json and its weight names come down to. A family file reads the
 * config into an LMSpec and maps the checkpoint's tensors onto the canonical pieces below
 * (transposing or splitting them where the checkpoint fuses or stores them differently);
 * `CausalLMModel` builds the modules from it.
 */
import type { QuantizedData } from '../../engine/quantized.js';
import type { TensorLike } from '../../engine/validate.js';
import type { StateDict } from '../checkpoint.js';

export interface LinearTensors {
  /** f32, or QuantizedData as a saved model holds it. */
  weight: TensorLike | QuantizedData;
  bias?: TensorLike;
}

/** One decoder layer, pre-norm: h = x + [postAttentionNorm](attn(inputNorm(x))); y = h + [postFeedForwardNorm](mlp(preFeedForwardNorm(h))). */
export interface LMLayerTensors {
  inputNorm: LinearTensors;
  /** q_proj / k_proj / v_proj / o_proj `.weight` (and `.bias`), [out, in]. */
  attention: Record<string, TensorLike | QuantizedData>;
  qNorm?: TensorLike;
  kNorm?: TensorLike;
  postAttentionNorm?: LinearTensors;
  preFeedForwardNorm: LinearTensors;
  postFeedForwardNorm?: LinearTensors;
  mlp: { gate?: LinearTensors; up: LinearTensors; down: LinearTensors };
}

export interface LMTensors {
  embed: { word: TensorLike | QuantizedData; position?: TensorLike | QuantizedData };
  layers: LMLayerTensors[];
  finalNorm: LinearTensors;
  /** The output head; absent when tied to the word embeddings. */
  head?: LinearTensors;
}

export interface LMSpec {
  family: string;
  architecture: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  /** The feed-forward width. */
  intermediateSize: number;
  norm: 'rms' | 'layer';
  normEps: number;
  activation: 'silu' | 'gelu_tanh';
  /** Positions the model was built for (the longest cache by default). */
  maxPositions: number;
  /** Rotary frequencies per layer (undefined: learned absolute positions, GPT-2). */
  rope?: { invFreq: Float64Array; name: string }[];
  /** Sliding window per layer (undefined: full causal attention). */
  windows: (number | undefined)[];
  /** Score scale (default 1/√headDim). */
  scale?: number;
  attnSoftcap?: number;
  finalSoftcap?: number;
  /** Multiply the word embeddings by this (Gemma: √hidden). */
  embedScale?: number;
  bosTokenId?: number;
  padTokenId?: number;
  eosTokenIds: number[];
  /** The tensors, from the state_dict (names checked first). */
  tensors(weights: StateDict): LMTensors;
  /** Every name `tensors` reads. */
  required: string[];
  /** Names read but not used (buffers such as attn.bias, rotary inv_freq). */
  unused: (name: string) => boolean;
}

/** A config's token id field (`eos_token_id` may be a number or a list) as a list. */
export function tokenIdList(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  return Array.isArray(value) ? value.filter((x): x is number => typeof x === 'number') : [];
}

/** A config's single token id field, or undefined. */
export function tokenId(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}
