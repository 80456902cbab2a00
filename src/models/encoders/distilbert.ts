/**
 * DistilBERT (Hugging Face `modeling_distilbert.py`): word + learned position embeddings (no token
 * types) and a LayerNorm (eps 1e-12, fixed in the modeling file); post-norm layers with q_lin, k_lin,
 * v_lin, out_lin, sa_layer_norm, ffn.lin1 → activation → ffn.lin2, output_layer_norm. The
 * classifier: pre_classifier → ReLU → classifier on the first token.
 */
import type { Activation } from '../../nn/transformer.js';
import { ConfigReader } from '../config.js';
import { prefixOf, readLabels, readProblemType } from './bert.js';
import type { EncoderSpec, LinearNames } from './spec.js';

const linear = (name: string): LinearNames => ({ weight: `${name}.weight`, bias: `${name}.bias` });

export function distilbertSpec(config: Record<string, unknown>, names: Set<string>, architecture: string, allowed: readonly string[]): EncoderSpec {
  const c = new ConfigReader(config, 'config.json (distilbert)');
  const hiddenSize = c.int('dim', undefined, 1);
  const numHeads = c.int('n_heads', undefined, 1);
  if (hiddenSize % numHeads !== 0) throw new Error(`config.json (distilbert): dim ${hiddenSize} is not a multiple of n_heads ${numHeads}`);
  const activation = c.oneOf<Activation>('activation', ['gelu', 'relu'], 'gelu');
  // sinusoidal_pos_embds only decides how the position table was initialised: the table is in the weights
  c.ignore('sinusoidal_pos_embds', 'tie_weights_');
  const prefix = prefixOf(names, ['distilbert.'], 'embeddings.word_embeddings.weight');
  const layers = [];
  const numLayers = c.int('n_layers', undefined, 1);
  for (let i = 0; i < numLayers; i++) {
    const p = `${prefix}transformer.layer.${i}.`;
    layers.push({
      query: linear(`${p}attention.q_lin`), key: linear(`${p}attention.k_lin`), value: linear(`${p}attention.v_lin`),
      output: linear(`${p}attention.out_lin`), norm1: linear(`${p}sa_layer_norm`),
      ffIn: linear(`${p}ffn.lin1`), ffOut: linear(`${p}ffn.lin2`), norm2: linear(`${p}output_layer_norm`),
    });
  }
  const spec: EncoderSpec = {
    family: 'distilbert',
    architecture,
    vocabSize: c.int('vocab_size', undefined, 1),
    hiddenSize,
    numHeads,
    numLayers,
    intermediateSize: c.int('hidden_dim', undefined, 1),
    activation,
    layerNormEps: 1e-12,
    maxLength: c.int('max_position_embeddings', 512, 1),
    padTokenId: c.int('pad_token_id', 0),
    positions: 'absolute',
    typeVocabSize: 0,
    embeddings: { word: `${prefix}embeddings.word_embeddings.weight`, position: `${prefix}embeddings.position_embeddings.weight`, norm: linear(`${prefix}embeddings.LayerNorm`) },
    layers,
    head: /ForSequenceClassification$/.test(architecture) ? { kind: 'pre-classifier', hidden: linear('pre_classifier'), out: linear('classifier') } : undefined,
    problemType: readProblemType(c),
    labels: readLabels(config),
    unused: (name) => /(^|\.)position_ids$/.test(name) || /^(vocab_transform|vocab_layer_norm|vocab_projector)\./.test(name),
  };
  c.finish(allowed);
  return spec;
}
