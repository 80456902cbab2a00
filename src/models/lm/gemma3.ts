/**
 * Gemma 3 text models (Hugging Face's modeling_gemma3.py, Gemma3ForCausalLM): word embeddings
 * scaled by √hidden; pre- and post-norms around both sub-layers (input_layernorm → attention →
 * post_attention_layernorm → residual; pre_feedforward_layernorm → GeGLU MLP (tanh GELU) →
 * post_feedforward_layernorm → residual); RMSNorms that scale by (1 + w) (the 1 is added to the
 * weights on load); per-head q_norm / k_norm; scores scaled by query_pre_attn_scalar^−½; local
 * (sliding-window) layers with their own RoPE base (rope_local_base_freq) and global layers with
 * rope_theta and rope_scaling, as layer_types (or the older sliding_window_pattern) says; the
 * output head tied to the embeddings; optional logit soft-capping.
 */
import { describe, type TensorLike } from '../../engine/validate.js';
import type { StateDict } from '../checkpoint.js';
import { ConfigReader } from '../config.js';
import { ropeInvFreq } from './rope.js';
import { tokenId, tokenIdList, type LMLayerTensors, type LMSpec } from './spec.js';

export function gemma3Spec(config: Record<string, unknown>, architecture: string, allowed: readonly string[]): LMSpec {
  const place = 'config.json (gemma3_text)';
  const c = new ConfigReader(config, place);
  const hidden = c.int('hidden_size', undefined, 1);
  const heads = c.int('num_attention_heads', undefined, 1);
  const kvHeads = c.int('num_key_value_heads', heads, 1);
  const headDim = c.int('head_dim', 256, 2);
  const layers = c.int('num_hidden_layers', undefined, 1);
  c.oneOf('hidden_activation', ['gelu_pytorch_tanh'], 'gelu_pytorch_tanh');
  c.ignore('hidden_act');
  c.only('attention_bias', (v) => v === false, 'false');
  c.only('use_bidirectional_attention', (v) => v === false, 'false');
  const softcap = (name: string): number | undefined => {
    const v = config[name];
    c.ignore(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !(v > 0)) throw new Error(`${place}: "${name}" must be a positive number or null, found ${describe(v)}`);
    return v;
  };
  const global = ropeInvFreq(place, headDim, c.number('rope_theta', 1_000_000), config['rope_scaling']);
  c.ignore('rope_scaling');
  const local = ropeInvFreq(place, headDim, c.number('rope_local_base_freq', 10_000), null);
  const window = c.int('sliding_window', 4096, 1);
  // which layers slide: layer_types, or every sliding_window_pattern-th layer global (older configs)
  let sliding: boolean[];
  const types = config['layer_types'];
  c.ignore('layer_types', 'sliding_window_pattern');
  if (Array.isArray(types)) {
    if (types.length !== layers || !types.every((t) => t === 'sliding_attention' || t === 'full_attention')) {
      throw new Error(`${place}: layer_types must list "sliding_attention" or "full_attention" for each of the ${layers} layers`);
    }
    sliding = types.map((t) => t === 'sliding_attention');
  } else {
    const pattern = typeof config['sliding_window_pattern'] === 'number' ? config['sliding_window_pattern'] : 6;
    sliding = Array.from({ length: layers }, (_, i) => (i + 1) % pattern !== 0);
  }
  c.ignore('tie_word_embeddings', 'cache_implementation', 'attn_implementation');
  const eos = config['eos_token_id'];
  const required = ['model.embed_tokens.weight', 'model.norm.weight'];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    required.push(
      ...['input_layernorm', 'post_attention_layernorm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm'].map((n) => `${p}${n}.weight`),
      ...['q_proj', 'k_proj', 'v_proj', 'o_proj', 'q_norm', 'k_norm'].map((n) => `${p}self_attn.${n}.weight`),
      ...['gate_proj', 'up_proj', 'down_proj'].map((n) => `${p}mlp.${n}.weight`),
    );
  }
  const spec: LMSpec = {
    family: 'gemma3',
    architecture,
    vocabSize: c.int('vocab_size', undefined, 1),
    hiddenSize: hidden,
    numLayers: layers,
    numHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    intermediateSize: c.int('intermediate_size', undefined, 1),
    norm: 'rms',
    normEps: c.number('rms_norm_eps', 1e-6),
    activation: 'gelu_tanh',
    maxPositions: c.int('max_position_embeddings', 131072, 1),
    rope: sliding.map((s) => (s ? { invFreq: local, name: 'rope-local' } : { invFreq: global, name: 'rope-global' })),
    windows: sliding.map((s) => (s ? window : undefined)),
    scale: Math.pow(c.number('query_pre_attn_scalar', headDim), -0.5),
    attnSoftcap: softcap('attn_logit_softcapping'),
    finalSoftcap: softcap('final_logit_softcapping'),
    embedScale: Math.fround(Math.sqrt(hidden)), // a buffer in the embedding dtype (float32 here)
    bosTokenId: tokenId(config['bos_token_id']),
    padTokenId: tokenId(config['pad_token_id']),
    eosTokenIds: tokenIdList(eos),
    required,
    unused: (name) => name === 'lm_head.weight' || /\.rotary_emb(_local)?\.inv_freq$/.test(name),
    tensors: (w: StateDict) => {
      const t = (name: string): TensorLike => w[name]!;
      const plusOne = (name: string) => { // Gemma's RMSNorm scales by (1 + w)
        const { data, shape } = t(name) as { data: Float32Array; shape: number[] };
        return { data: data.map((v) => v + 1), shape };
      };
      const layerTensors: LMLayerTensors[] = [];
      for (let i = 0; i < layers; i++) {
        const p = `model.layers.${i}.`;
        layerTensors.push({
          inputNorm: { weight: plusOne(`${p}input_layernorm.weight`) },
          attention: Object.fromEntries(['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((n) => [`${n}.weight`, t(`${p}self_attn.${n}.weight`)])),
          qNorm: plusOne(`${p}self_attn.q_norm.weight`),
          kNorm: plusOne(`${p}self_attn.k_norm.weight`),
          postAttentionNorm: { weight: plusOne(`${p}post_attention_layernorm.weight`) },
          preFeedForwardNorm: { weight: plusOne(`${p}pre_feedforward_layernorm.weight`) },
          postFeedForwardNorm: { weight: plusOne(`${p}post_feedforward_layernorm.weight`) },
          mlp: { gate: { weight: t(`${p}mlp.gate_proj.weight`) }, up: { weight: t(`${p}mlp.up_proj.weight`) }, down: { weight: t(`${p}mlp.down_proj.weight`) } },
        });
      }
      return { embed: { word: t('model.embed_tokens.weight') }, layers: layerTensors, finalNorm: { weight: plusOne('model.norm.weight') } };
    },
  };
  c.finish(allowed);
  return spec;
}
