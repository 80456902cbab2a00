/**
 * BERT and RoBERTa / XLM-RoBERTa (Hugging Face `modeling_bert.py`, `modeling_roberta.py`,
 * `modeling_xlm_roberta.py`): word + learned absolute position + token-type embeddings and a
 * LayerNorm; post-norm encoder layers (self-attention query/key/value, attention.output.dense +
 * LayerNorm, intermediate.dense → activation → output.dense + LayerNorm). RoBERTa differs in its
 * positions (padding_idx + 1 onwards, pad tokens at padding_idx) and its classification head.
 */
import type { Activation } from '../../nn/transformer.js';
import { ConfigReader } from '../config.js';
import type { EncoderSpec, HeadNames, LayerNames, LinearNames } from './spec.js';

const ACTIVATIONS: Record<string, Activation> = { gelu: 'gelu', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', relu: 'relu' };

const linear = (name: string): LinearNames => ({ weight: `${name}.weight`, bias: `${name}.bias` });

/** The task prefix the checkpoint uses ('bert.' in task models, '' in base models and sentence-transformers). */
export function prefixOf(names: Set<string>, candidates: string[], probe: string): string {
  for (const p of candidates) if (names.has(p + probe)) return p;
  return '';
}

/** Reads a BERT (`roberta: false`) or RoBERTa / XLM-RoBERTa config into the encoder spec. */
export function bertSpec(config: Record<string, unknown>, names: Set<string>, family: 'bert' | 'roberta' | 'xlm-roberta', architecture: string, allowed: readonly string[]): EncoderSpec {
  const roberta = family !== 'bert';
  const c = new ConfigReader(config, `config.json (${family})`);
  const hiddenSize = c.int('hidden_size', undefined, 1);
  const numHeads = c.int('num_attention_heads', undefined, 1);
  if (hiddenSize % numHeads !== 0) throw new Error(`config.json (${family}): hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  const act = c.oneOf('hidden_act', Object.keys(ACTIVATIONS));
  c.oneOf('position_embedding_type', ['absolute'], 'absolute');
  c.only('is_decoder', (v) => v === false, 'false: an encoder');
  c.only('add_cross_attention', (v) => v === false, 'false');
  c.only('pruned_heads', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0, '{}: no pruned heads');
  c.ignore('tie_word_embeddings'); // ties the masked-LM head, which an encoder does not run
  const maxPositions = c.int('max_position_embeddings', 512, 1);
  const padTokenId = c.int('pad_token_id', roberta ? 1 : 0);
  const typeVocabSize = c.int('type_vocab_size', 2);
  const vocabSize = c.int('vocab_size', undefined, 1);
  const problemType = readProblemType(c);
  const labels = readLabels(config);
  const spec: EncoderSpec = {
    family,
    architecture,
    vocabSize,
    hiddenSize,
    numHeads,
    numLayers: c.int('num_hidden_layers', undefined, 1),
    intermediateSize: c.int('intermediate_size', undefined, 1),
    activation: ACTIVATIONS[act]!,
    layerNormEps: c.number('layer_norm_eps', 1e-12),
    // RoBERTa's positions start at padding_idx + 1, so max_position_embeddings − padding_idx − 1 tokens fit
    maxLength: roberta ? maxPositions - padTokenId - 1 : maxPositions,
    padTokenId,
    positions: roberta ? 'padding-offset' : 'absolute',
    typeVocabSize,
    embeddings: { word: '', position: '', norm: linear('') }, // filled below, once the prefix is known
    layers: [],
    problemType,
    labels,
    unused: () => false,
  };
  const taskPrefix = roberta ? 'roberta.' : 'bert.';
  const prefix = prefixOf(names, [taskPrefix, ''], 'embeddings.word_embeddings.weight');
  spec.embeddings = {
    word: `${prefix}embeddings.word_embeddings.weight`,
    position: `${prefix}embeddings.position_embeddings.weight`,
    tokenType: `${prefix}embeddings.token_type_embeddings.weight`,
    norm: linear(`${prefix}embeddings.LayerNorm`),
  };
  for (let i = 0; i < spec.numLayers; i++) spec.layers.push(layerNames(`${prefix}encoder.layer.${i}.`));
  if (/ForSequenceClassification$/.test(architecture)) {
    spec.head = roberta
      ? { kind: 'dense-out', hidden: linear('classifier.dense'), out: linear('classifier.out_proj') }
      : { kind: 'pooler-classifier', hidden: linear(`${prefix}pooler.dense`), out: linear('classifier') };
  }
  const usedPooler = spec.head?.kind === 'pooler-classifier';
  // buffers, the pooler of a base model (used only by its own heads), and the heads of pre-training tasks
  spec.unused = (name) =>
    /(^|\.)(position_ids|token_type_ids)$/.test(name) ||
    (!usedPooler && name.startsWith(`${prefix}pooler.`)) ||
    /^(cls|lm_head)\./.test(name);
  c.finish(allowed);
  return spec;
}

function layerNames(p: string): LayerNames {
  return {
    query: linear(`${p}attention.self.query`),
    key: linear(`${p}attention.self.key`),
    value: linear(`${p}attention.self.value`),
    output: linear(`${p}attention.output.dense`),
    norm1: linear(`${p}attention.output.LayerNorm`),
    ffIn: linear(`${p}intermediate.dense`),
    ffOut: linear(`${p}output.dense`),
    norm2: linear(`${p}output.LayerNorm`),
  };
}

export function readProblemType(c: ConfigReader): EncoderSpec['problemType'] {
  return c.oneOf('problem_type', ['single_label_classification', 'multi_label_classification', 'regression'], 'single_label_classification');
}

/** id2label as a list in id order (keys are strings of 0 … n − 1 in config.json). */
export function readLabels(config: Record<string, unknown>): string[] | undefined {
  const map = config['id2label'];
  if (typeof map !== 'object' || map === null) return undefined;
  const entries = Object.entries(map as Record<string, unknown>);
  const labels = new Array<string>(entries.length);
  for (const [k, v] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length) throw new Error(`config.json: id2label key "${k}" is not an id in 0 … ${entries.length - 1}`);
    labels[i] = String(v);
  }
  return labels;
}

export type { HeadNames };
