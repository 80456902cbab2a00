/**
 * The Llama family of decoder-only models, from Hugging Face's modeling_llama.py and the files
 * that differ from it in a few lines: Mistral (a sliding window), Qwen2 (q/k/v biases, no o_proj
 * bias), Qwen3 (per-head q_norm / k_norm before RoPE, its own head_dim), Phi-3 (fused qkv_proj and
 * gate_up_proj). Pre-norm RMSNorm layers, GQA attention with rotate-half RoPE, a SwiGLU MLP, a final
 * RMSNorm and an output head (or the word embeddings, tied).
 */
import { describe, type TensorLike } from '../../engine/validate.js';
import type { StateDict } from '../checkpoint.js';
import { ConfigReader } from '../config.js';
import { ropeInvFreq } from './rope.js';
import { tokenId, tokenIdList, type LinearTensors, type LMLayerTensors, type LMSpec } from './spec.js';

export type LlamaFamily = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'phi3';

export function llamaSpec(config: Record<string, unknown>, family: LlamaFamily, architecture: string, allowed: readonly string[]): LMSpec {
  const place = `config.json (${family})`;
  const c = new ConfigReader(config, place);
  const hidden = c.int('hidden_size', undefined, 1);
  const heads = c.int('num_attention_heads', undefined, 1);
  const kvHeads = c.int('num_key_value_heads', heads, 1);
  if (heads % kvHeads !== 0) throw new Error(`${place}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const headDim = c.has('head_dim') ? c.int('head_dim', undefined, 2) : hidden / heads;
  if (!Number.isInteger(headDim)) throw new Error(`${place}: hidden_size ${hidden} is not a multiple of num_attention_heads ${heads} (and head_dim is not given)`);
  const layers = c.int('num_hidden_layers', undefined, 1);
  c.oneOf('hidden_act', ['silu'], 'silu');
  c.only('pretraining_tp', (v) => v === 1, '1');
  c.only('partial_rotary_factor', (v) => v === 1, '1');
  // rope_theta / rope_scaling, or the newer rope_parameters holding both
  let base = c.number('rope_theta', 10000);
  let scaling: unknown = config['rope_scaling'];
  c.ignore('rope_scaling');
  if (c.has('rope_parameters')) {
    const p = config['rope_parameters'] as Record<string, unknown>;
    c.ignore('rope_parameters');
    if (typeof p !== 'object' || p === null) throw new Error(`${place}: rope_parameters must be an object, found ${describe(p)}`);
    if (typeof p['rope_theta'] === 'number') base = p['rope_theta'];
    scaling = p;
  }
  const invFreq = ropeInvFreq(place, headDim, base, scaling);
  c.ignore('original_max_position_embeddings', 'max_window_layers', 'resid_pdrop', 'embd_pdrop', 'mlp_bias', 'attention_bias');
  const attentionBias = config['attention_bias'] === true;
  const mlpBias = config['mlp_bias'] === true;
  // sliding windows: Mistral and Phi-3 on every layer; Qwen's use_sliding_window is off in the models people run
  let window: number | undefined;
  if (family === 'mistral' || family === 'phi3') {
    const w = config['sliding_window'];
    c.ignore('sliding_window');
    if (w !== undefined && w !== null) {
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 1) throw new Error(`${place}: sliding_window must be a positive integer or null, found ${describe(w)}`);
      window = w;
    }
  } else {
    c.only('use_sliding_window', (v) => v === false, 'false');
    c.ignore('sliding_window', 'layer_types');
    const types = config['layer_types'];
    if (Array.isArray(types) && types.some((t) => t !== 'full_attention')) throw new Error(`${place}: layer_types other than "full_attention" are not supported for ${family}`);
  }
  // transformers' LlamaConfig, MistralConfig, Qwen2/3Config and Phi3Config default to untied heads
  const tied = config['tie_word_embeddings'] === true;
  c.ignore('tie_word_embeddings');
  const eos = config['eos_token_id'];
  const spec: LMSpec = {
    family,
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
    activation: 'silu',
    maxPositions: c.int('max_position_embeddings', 2048, 1),
    rope: Array.from({ length: layers }, () => ({ invFreq, name: 'rope' })),
    windows: Array.from({ length: layers }, () => window),
    bosTokenId: tokenId(config['bos_token_id']),
    padTokenId: tokenId(config['pad_token_id']),
    eosTokenIds: tokenIdList(eos),
    required: [],
    unused: (name) => /\.rotary_emb\.inv_freq$/.test(name) || (tied && name === 'lm_head.weight'),
    tensors: () => { throw new Error('unreachable'); },
  };
  c.finish(allowed);

  const L = (i: number) => `model.layers.${i}.`;
  const names: string[] = ['model.embed_tokens.weight', 'model.norm.weight'];
  if (!tied) names.push('lm_head.weight');
  const linearNames = (base: string, bias: boolean) => (bias ? [`${base}.weight`, `${base}.bias`] : [`${base}.weight`]);
  for (let i = 0; i < layers; i++) {
    const p = L(i);
    names.push(`${p}input_layernorm.weight`, `${p}post_attention_layernorm.weight`);
    if (family === 'phi3') names.push(`${p}self_attn.qkv_proj.weight`, `${p}self_attn.o_proj.weight`, `${p}mlp.gate_up_proj.weight`, `${p}mlp.down_proj.weight`);
    else {
      const qkvBias = family === 'qwen2' || attentionBias;
      for (const proj of ['q_proj', 'k_proj', 'v_proj']) names.push(...linearNames(`${p}self_attn.${proj}`, qkvBias));
      names.push(...linearNames(`${p}self_attn.o_proj`, attentionBias));
      for (const proj of ['gate_proj', 'up_proj', 'down_proj']) names.push(...linearNames(`${p}mlp.${proj}`, mlpBias));
      if (family === 'qwen3') names.push(`${p}self_attn.q_norm.weight`, `${p}self_attn.k_norm.weight`);
    }
  }
  spec.required = names;
  spec.tensors = (w: StateDict) => {
    const t = (name: string): TensorLike => w[name]!;
    const lin = (base: string): LinearTensors => ({ weight: t(`${base}.weight`), ...(w[`${base}.bias`] ? { bias: t(`${base}.bias`) } : {}) });
    const layerTensors: LMLayerTensors[] = [];
    for (let i = 0; i < layers; i++) {
      const p = L(i);
      let attention: Record<string, TensorLike>;
      let mlp: LMLayerTensors['mlp'];
      if (family === 'phi3') {
        const [q, k, v] = splitRows(t(`${p}self_attn.qkv_proj.weight`), [heads * headDim, kvHeads * headDim, kvHeads * headDim], `${p}self_attn.qkv_proj.weight`);
        attention = { 'q_proj.weight': q!, 'k_proj.weight': k!, 'v_proj.weight': v!, 'o_proj.weight': t(`${p}self_attn.o_proj.weight`) };
        const fused = t(`${p}mlp.gate_up_proj.weight`);
        const rows = (fused as { shape: readonly number[] }).shape[0]! / 2;
        const [gate, up] = splitRows(fused, [rows, rows], `${p}mlp.gate_up_proj.weight`);
        mlp = { gate: { weight: gate! }, up: { weight: up! }, down: lin(`${p}mlp.down_proj`) };
      } else {
        attention = {};
        for (const proj of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) {
          attention[`${proj}.weight`] = t(`${p}self_attn.${proj}.weight`);
          if (w[`${p}self_attn.${proj}.bias`]) attention[`${proj}.bias`] = t(`${p}self_attn.${proj}.bias`);
        }
        mlp = { gate: lin(`${p}mlp.gate_proj`), up: lin(`${p}mlp.up_proj`), down: lin(`${p}mlp.down_proj`) };
      }
      layerTensors.push({
        inputNorm: { weight: t(`${p}input_layernorm.weight`) },
        attention,
        ...(family === 'qwen3' ? { qNorm: t(`${p}self_attn.q_norm.weight`), kNorm: t(`${p}self_attn.k_norm.weight`) } : {}),
        preFeedForwardNorm: { weight: t(`${p}post_attention_layernorm.weight`) },
        mlp,
      });
    }
    return {
      embed: { word: t('model.embed_tokens.weight') },
      layers: layerTensors,
      finalNorm: { weight: t('model.norm.weight') },
      head: tied ? undefined : { weight: t('lm_head.weight') },
    };
  };
  return spec;
}

/** Rows of a [Σ rows, n] tensor cut into consecutive blocks (fused projections). */
export function splitRows(tensor: TensorLike, rows: number[], name: string): { data: Float32Array; shape: number[] }[] {
  const { data, shape } = tensor as { data: Float32Array; shape: readonly number[] };
  const total = rows.reduce((a, b) => a + b, 0);
  if (shape.length !== 2 || shape[0] !== total) throw new Error(`${name}: expected ${total} rows (${rows.join(' + ')}), found shape [${shape.join(', ')}]`);
  const n = shape[1]!;
  let at = 0;
  return rows.map((r) => {
    const part = { data: data.slice(at * n, (at + r) * n), shape: [r, n] };
    at += r;
    return part;
  });
}
