// The generation layer over a real decoder-only model of this package: a tiny random Llama loaded
// from objects (loadModel(…, { kind: 'causal-lm' })) with the byte-level test tokenizer, ChatML's
// template and <|im_end|> as its end of sequence. CausalLMModel is a CausalLM as it stands; greedy
// decoding through its cache picks, at every step, the argmax of a cache-less forward pass over the
// whole sequence; a chat session's second turn equals a fresh chat; a full LMCache (which throws on
// overflow) ends generation with 'length' and a note.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createChatSession, generate, loadModel, stream, type AttentionRuntime, type CausalLM, type CausalLMModel } from '../src/index.js';
import { runtimeFor, BUILDS } from './helpers.js';
import { IM_END, QWEN2_TEMPLATE, VOCAB, byteTokenizerJson } from './helpers/fake-lm.js';
import { tinyLlamaObjects } from './helpers/llama.js';

function tinyLlama() {
  // a 2× output head: sharper next-token distributions, so greedy ties are unlikely
  const { config, weights } = tinyLlamaObjects({ vocab: VOCAB, seed: 21, headScale: 2, maxPositions: 512 });
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
