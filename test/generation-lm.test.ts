// The generation layer over a real decoder-only model of this package: a tiny random Llama loaded
// from objects (loadModel(…, { kind: 'causal-lm' })) with the byte-level test tokenizer, ChatML's
// template and <|im_end|> as its end of sequence. CausalLMModel is a CausalLM as it stands; greedy
// decoding through its cache picks, at every step, the argmax of a cache-less forward pass over the
// whole sequence; a chat session's second turn equals a fresh chat; a full LMCache (which throws on
// overflow) ends generation with 'length' and a note.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createChatSession, generate, loadModel, reference, stream, type AttentionRuntime, type CausalLM, type CausalLMModel } from '../src/index.js';
import { runtimeFor, BUILDS } from './helpers.js';
import { IM_END, QWEN2_TEMPLATE, VOCAB, byteTokenizerJson } from './helpers/fake-lm.js';

const E = 32, H = 4, KV = 2, D = 8, F = 48, LAYERS = 2;

function tinyLlama() {
  let seed = 21;
  const t = (shape: number[], scale = 0.5, offset = 0) => ({ data: reference.uniform(shape.reduce((a, b) => a * b, 1), seed++).map((x) => offset + x * scale), shape });
  const weights: Record<string, { data: Float32Array; shape: number[] }> = { 'model.embed_tokens.weight': t([VOCAB, E], 1), 'model.norm.weight': t([E], 0.2, 1), 'lm_head.weight': t([VOCAB, E], 2) };
  for (let i = 0; i < LAYERS; i++) {
    const p = `model.layers.${i}.`;
    Object.assign(weights, {
      [`${p}input_layernorm.weight`]: t([E], 0.2, 1), [`${p}post_attention_layernorm.weight`]: t([E], 0.2, 1),
      [`${p}self_attn.q_proj.weight`]: t([H * D, E]), [`${p}self_attn.k_proj.weight`]: t([KV * D, E]),
      [`${p}self_attn.v_proj.weight`]: t([KV * D, E]), [`${p}self_attn.o_proj.weight`]: t([E, H * D]),
      [`${p}mlp.gate_proj.weight`]: t([F, E]), [`${p}mlp.up_proj.weight`]: t([F, E]), [`${p}mlp.down_proj.weight`]: t([E, F]),
    });
  }
  const config = {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: E, num_attention_heads: H, num_key_value_heads: KV,
    num_hidden_layers: LAYERS, intermediate_size: F, vocab_size: VOCAB, max_position_embeddings: 512, rms_norm_eps: 1e-6,
    rope_theta: 10000, hidden_act: 'silu', tie_word_embeddings: false,
  };
  return {
    config,
    weights,
    tokenizer: byteTokenizerJson(),
    tokenizerConfig: { chat_template: QWEN2_TEMPLATE, eos_token: '<|im_end|>', pad_token: '<|endoftext|>', clean_up_tokenization_spaces: false },
    generationConfig: { eos_token_id: IM_END },
  };
}

describe('generation over a CausalLMModel (tiny random Llama)', () => {
  let rt: AttentionRuntime;
  let lm: CausalLMModel;
  beforeAll(async () => {
    rt = await runtimeFor(BUILDS[0]!);
    lm = await loadModel(rt, tinyLlama(), { kind: 'causal-lm' });
  });
  afterAll(() => lm?.dispose());

  it('is a CausalLM, with the end of sequence, special tokens and template it was given', () => {
    const model: CausalLM = lm; // compiles: the interface fits the model as it is
    expect(model.eosTokenIds).toEqual([IM_END]);
    expect(model.specialTokens).toMatchObject({ eos_token: '<|im_end|>' });
    expect(model.chatTemplate).toBe(QWEN2_TEMPLATE);
  });

  it('greedy decoding through the cache is the argmax of a cache-less pass over the whole sequence', async () => {
    const prompt = lm.tokenizer!.encode('hello world');
    const r = await generate(lm, prompt, { maxNewTokens: 12, eosTokenId: [] });
    expect(r.tokens).toHaveLength(12);
    const sequence = [...prompt];
    for (const id of r.tokens) {
      const logits = lm.forward(sequence).logits.data;
      const max = logits.reduce((m, x) => Math.max(m, x), -Infinity);
      expect(max - logits[id]!).toBeLessThanOrEqual(1e-4); // the largest, up to rounding between the two paths
      sequence.push(id);
    }
    expect(r.text).toBe(lm.tokenizer!.decode(r.tokens));
  });

  it('samples reproducibly by seed, and streams what generate gives', async () => {
    const options = { temperature: 0.9, topP: 0.95, seed: 5, maxNewTokens: 10, eosTokenId: [] };
    const a = await generate(lm, 'he', options);
    const s = stream(lm, 'he', options);
    let text = '';
    for await (const e of s) text += e.text;
    expect((await s.result).tokens).toEqual(a.tokens);
    expect(text).toBe(a.text);
  });

  it('a chat session turn equals a fresh chat over the whole conversation', async () => {
    const session = createChatSession(lm, { system: 'Be brief.' });
    await session.send('hi', { maxNewTokens: 6 });
    const second = await session.send('more', { maxNewTokens: 6 });
    const fresh = await chat(lm, session.messages.slice(0, -1), { maxNewTokens: 6 });
    expect(second.tokens).toEqual(fresh.tokens);
    expect(second.timings.prefillTokens).toBeLessThan(fresh.timings.prefillTokens);
    session.dispose();
  });

  it("a full LMCache ends generation with 'length' and a note", async () => {
    const prompt = [1, 2, 3, 4];
    const r = await generate(lm, prompt, { maxLength: 10, maxNewTokens: 50, eosTokenId: [] });
    expect(r.finishReason).toBe('length');
    expect(r.note).toMatch(/cache is full/);
    expect(r.tokens).toHaveLength(10 - 4 + 1);
  });
});
