// A SmolLM2-135M-shaped Llama (E 576, 9 heads / 3 kv heads of 64, MLP 1536, vocab 49152, tied
// embeddings) with random weights built in memory, as loadModel's { config, weights } objects: the
// decode benches (q8-lm, half-lm, kv-cache) load it at several dtypes side by side.
import { reference } from '../dist/index.js';

export const SMOL = { E: 576, H: 9, KV: 3, D: 64, F: 1536, V: 49152 };

/** { config, weights } of `layers` layers, `maxPositions` positions; the same numbers on every call. */
export function smolObjects(layers = 30, maxPositions = 2048) {
  const { E, H, KV, D, F, V } = SMOL;
  let seed = 1;
  const t = (shape, scale = 0.05, offset = 0) => ({ data: reference.uniform(shape.reduce((a, b) => a * b, 1), seed++).map((x) => offset + x * scale), shape });
  const weights = { 'model.embed_tokens.weight': t([V, E], 0.5), 'model.norm.weight': t([E], 0.1, 1) };
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    Object.assign(weights, {
      [`${p}input_layernorm.weight`]: t([E], 0.1, 1), [`${p}post_attention_layernorm.weight`]: t([E], 0.1, 1),
      [`${p}self_attn.q_proj.weight`]: t([H * D, E]), [`${p}self_attn.k_proj.weight`]: t([KV * D, E]),
      [`${p}self_attn.v_proj.weight`]: t([KV * D, E]), [`${p}self_attn.o_proj.weight`]: t([E, H * D]),
      [`${p}mlp.gate_proj.weight`]: t([F, E]), [`${p}mlp.up_proj.weight`]: t([F, E]), [`${p}mlp.down_proj.weight`]: t([E, F]),
    });
  }
  const config = {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: E, num_attention_heads: H, num_key_value_heads: KV,
    num_hidden_layers: layers, intermediate_size: F, vocab_size: V, max_position_embeddings: maxPositions, rms_norm_eps: 1e-5,
    rope_theta: 100000, hidden_act: 'silu', tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2,
  };
  return { config, weights };
}
