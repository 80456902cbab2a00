/**
 * A tiny random Llama as loadModel's objects ({ config, weights }): 2 layers, hidden 32, 4 query
 * heads over 2 key/value heads of 8, SwiGLU 48, an untied head. For the tests of mechanics (caches,
 * batches, generation); the logits themselves are checked against reference code in test/lm.test.ts.
 */
import { uniform } from '../../src/reference/random.js';

export const LLAMA = { E: 32, H: 4, KV: 2, D: 8, F: 48, LAYERS: 2 } as const;

export function tinyLlamaObjects(options: { vocab: number; seed: number; headScale?: number; maxPositions?: number }) {
  const { E, H, KV, D, F, LAYERS } = LLAMA;
  const V = options.vocab;
  let seed = options.seed;
  const t = (shape: number[], scale = 0.2, offset = 0) => ({ data: uniform(shape.reduce((a, b) => a * b, 1), seed++).map((x) => offset + x * scale), shape });
  const weights: Record<string, { data: Float32Array; shape: number[] }> = {
    'model.embed_tokens.weight': t([V, E], 1), 'model.norm.weight': t([E], 0.2, 1), 'lm_head.weight': t([V, E], options.headScale ?? 0.2),
  };
  for (let i = 0; i < LAYERS; i++) {
    const p = `model.layers.${i}.`;
    Object.assign(weights, {
      [`${p}input_layernorm.weight`]: t([E], 0.2, 1), [`${p}post_attention_layernorm.weight`]: t([E], 0.2, 1),
      [`${p}self_attn.q_proj.weight`]: t([H * D, E]), [`${p}self_attn.k_proj.weight`]: t([KV * D, E]),
      [`${p}self_attn.v_proj.weight`]: t([KV * D, E]), [`${p}self_attn.o_proj.weight`]: t([E, H * D]),
      [`${p}mlp.gate_proj.weight`]: t([F, E]), [`${p}mlp.up_proj.weight`]: t([F, E]), [`${p}mlp.down_proj.weight`]: t([E, F]),
    });
  }
  const config: Record<string, unknown> = {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: E, num_attention_heads: H, num_key_value_heads: KV,
    num_hidden_layers: LAYERS, intermediate_size: F, vocab_size: V, max_position_embeddings: options.maxPositions ?? 4096, rms_norm_eps: 1e-6,
    rope_theta: 10000, hidden_act: 'silu', tie_word_embeddings: false,
  };
  return { config, weights };
}
