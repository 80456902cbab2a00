// The plain-JS twin of a Llama / Qwen2 causal language model, for bench:lm: the package's float64
// reference ops (reference.rmsNorm, matmul, rope, scaledDotProductAttention, swigluFeedForward)
// composed as LlamaDecoderLayer does (h = x + o_proj(attn(rope(q), rope(k), v)); x = h + mlp(norm(h))),
// with a KV cache of plain Float32Arrays. One thread, no Wasm: what the same model costs in
// straightforward JavaScript. It reads the checkpoint folder the bench wrote (config.json +
// model.safetensors) and knows only the bench's shapes: Llama, and Qwen2 with q/k/v biases, tied head.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, reference } from '../dist/index.js';

const KNOWN = new Set(['model_type', 'architectures', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size', 'rope_theta', 'rms_norm_eps', 'tie_word_embeddings', 'max_position_embeddings', 'hidden_act', 'use_sliding_window', 'bos_token_id', 'eos_token_id', 'torch_dtype']);

/** → { forward(ids, cache) → { logits: { data: Float32Array } } (the last position), createCache({ maxLength }) }. */
export function plainJsLm(dir) {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const unknown = Object.keys(c).filter((k) => !KNOWN.has(k));
  if (unknown.length || !['llama', 'qwen2'].includes(c.model_type) || c.hidden_act !== 'silu' || c.tie_word_embeddings !== true || c.use_sliding_window === true)
    throw new Error(`plain-JS language model: only the bench's tied Llama / Qwen2 shapes (model_type ${c.model_type}${unknown.length ? `, fields ${unknown.join(', ')}` : ''})`);
  const st = readSafetensors(readFileSync(join(dir, 'model.safetensors')));
  const W = (name) => {
    if (!st[name]) throw new Error(`plain-JS language model: ${name} is not in ${dir}/model.safetensors`);
    return st[name];
  };
  const e = c.hidden_size, heads = c.num_attention_heads, kvHeads = c.num_key_value_heads, d = e / heads, eps = c.rms_norm_eps;
  const biased = c.model_type === 'qwen2';
  const layers = Array.from({ length: c.num_hidden_layers }, (_, i) => {
    const p = `model.layers.${i}.`;
    return {
      norm1: W(`${p}input_layernorm.weight`),
      norm2: W(`${p}post_attention_layernorm.weight`),
      q: W(`${p}self_attn.q_proj.weight`), k: W(`${p}self_attn.k_proj.weight`), v: W(`${p}self_attn.v_proj.weight`), o: W(`${p}self_attn.o_proj.weight`),
      qb: biased ? W(`${p}self_attn.q_proj.bias`) : undefined, kb: biased ? W(`${p}self_attn.k_proj.bias`) : undefined, vb: biased ? W(`${p}self_attn.v_proj.bias`) : undefined,
      mlp: reference.swigluFeedForward({ hiddenSize: e, intermediateSize: c.intermediate_size, weights: st, prefix: `${p}mlp` }),
    };
  });
  const embed = W('model.embed_tokens.weight');
  const finalNorm = W('model.norm.weight');
  const linear = (x, w, b) => reference.matmul(x, w, b ? { transposeB: true, bias: b } : { transposeB: true });

  // [L, n·d] (rows of heads) ↔ [n, L, d] (the attention's layout)
  const toHeads = (x, L, n) => {
    const out = new Float32Array(x.length);
    for (let t = 0; t < L; t++) for (let h = 0; h < n; h++) out.set(x.subarray((t * n + h) * d, (t * n + h + 1) * d), (h * L + t) * d);
    return out;
  };
  const fromHeads = (x, L, n) => {
    const out = new Float32Array(x.length);
    for (let h = 0; h < n; h++) for (let t = 0; t < L; t++) out.set(x.subarray((h * L + t) * d, (h * L + t + 1) * d), (t * n + h) * d);
    return out;
  };

  return {
    config: c,
    /** k and v per layer, [kvHeads, maxLength, d]; `length` positions filled. */
    createCache({ maxLength }) {
      const make = () => Array.from({ length: c.num_hidden_layers }, () => new Float32Array(kvHeads * maxLength * d));
      return { maxLength, length: 0, k: make(), v: make(), reset() { this.length = 0; } };
    },
    forward(ids, cache) {
      const L = ids.length, pos = cache.length, total = pos + L;
      if (total > cache.maxLength) throw new RangeError(`plain-JS language model: ${total} positions, the cache holds ${cache.maxLength}`);
      let x = new Float32Array(L * e);
      ids.forEach((id, t) => x.set(embed.data.subarray(id * e, (id + 1) * e), t * e));
      for (const [i, layer] of layers.entries()) {
        const h = { data: reference.rmsNorm({ data: x, shape: [L, e] }, { weight: layer.norm1, eps }), shape: [L, e] };
        const q = reference.rope(toHeads(linear(h, layer.q, layer.qb), L, heads), { shape: [heads, L, d], offset: pos, base: c.rope_theta, style: 'half', inPlace: true });
        const k = reference.rope(toHeads(linear(h, layer.k, layer.kb), L, kvHeads), { shape: [kvHeads, L, d], offset: pos, base: c.rope_theta, style: 'half', inPlace: true });
        const v = toHeads(linear(h, layer.v, layer.vb), L, kvHeads);
        // append to the cache, then per kv head the attention of its group of query heads over positions
        // 0 … total − 1 (causal, bottom-right aligned), on views of the cache (nothing copied)
        const group = heads / kvHeads;
        const attended = new Float32Array(heads * L * d);
        for (let g = 0; g < kvHeads; g++) {
          const at = g * cache.maxLength * d;
          cache.k[i].set(k.subarray(g * L * d, (g + 1) * L * d), at + pos * d);
          cache.v[i].set(v.subarray(g * L * d, (g + 1) * L * d), at + pos * d);
          const view = (c) => ({ data: c.subarray(at, at + total * d), shape: [1, total, d] });
          const qg = { data: q.subarray(g * group * L * d, (g + 1) * group * L * d), shape: [group, L, d] };
          attended.set(reference.scaledDotProductAttention(qg, view(cache.k[i]), view(cache.v[i]), { causal: true }).output, g * group * L * d);
        }
        const o = linear({ data: fromHeads(attended, L, heads), shape: [L, e] }, layer.o);
        for (let j = 0; j < x.length; j++) x[j] += o[j];
        const f = layer.mlp.forward({ data: reference.rmsNorm({ data: x, shape: [L, e] }, { weight: layer.norm2, eps }), shape: [L, e] });
        for (let j = 0; j < x.length; j++) x[j] += f[j];
      }
      cache.length = total;
      // the head (tied to the embeddings) on the last position only
      const last = reference.rmsNorm({ data: x.subarray((L - 1) * e), shape: [1, e] }, { weight: finalNorm, eps });
      return { logits: { data: reference.matmul({ data: last, shape: [1, e] }, embed, { transposeB: true }) } };
    },
  };
}
