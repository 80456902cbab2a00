// Decoder-only checkpoints through loadModel, against reference code we did not write or that
// follows the upstream modeling files function by function (tools/lm_fixtures.py: nanoGPT's
// model.py for GPT-2; PyTorch after transformers' modeling_llama / mistral / qwen2 / qwen3 /
// gemma3 / phi3 for the rest), with token ids from Hugging Face's Rust tokenizers
// (tools/lm_tokenize_fixtures.mjs): every build, both thread projects.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, loadModel, renderChat, type AttentionRuntime, type CausalLMModel } from '../src/index.js';
import { BUILDS, normwise, runtimeFor } from './helpers.js';

const DIR = fileURLToPath(new URL('./fixtures/lm/', import.meta.url));
interface Prompt {
  text: string;
  input_ids: number[];
  last_logits: number[];
  greedy_tokens: number[];
  all_logits?: number[][];
  steps?: { token: number; logits: number[] }[];
}
interface Batch { input_ids: number[][]; attention_mask: number[][]; last_logits: number[][]; greedy_tokens: number[][]; last_step_logits: number[][] }
interface Expected { architecture: string; prompts: Prompt[]; batch?: Batch }
interface Input { prompts: { text: string; input_ids: number[]; chat?: { messages: { role: string; content: string }[]; enable_thinking?: boolean } }[] }
const EXPECTED = (JSON.parse(readFileSync(`${DIR}expected.json`, 'utf8')) as { checkpoints: Record<string, Expected> }).checkpoints;
const INPUTS = (JSON.parse(readFileSync(`${DIR}inputs.json`, 'utf8')) as { checkpoints: Record<string, Input> }).checkpoints;


const argmax = (x: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
};

describe.each(BUILDS)('language models, %s build', (backend) => {
  let rt: AttentionRuntime;
  const models = new Map<string, CausalLMModel>();
  beforeAll(async () => {
    rt = await runtimeFor(backend);
    for (const name of Object.keys(EXPECTED)) models.set(name, await loadModel(rt, `${DIR}${name}`, { kind: 'causal-lm' }));
  });
  afterAll(() => {
    for (const m of models.values()) m.dispose();
  });

  it('models with different rotary frequencies on one runtime each use their own (cos, sin) table', () => {
    // llama (rope_theta 10000) then llama3-scaled (500000, llama3 scaling) at one prompt length:
    // the table cached for the first must not serve the second
    const prompt = EXPECTED['llama3-scaled']!.prompts[0]!;
    const llama = models.get('llama')!, scaled = models.get('llama3-scaled')!;
    llama.forward(prompt.input_ids.map((t) => t % llama.vocabSize));
    expect(normwise(scaled.forward(prompt.input_ids).logits.data, prompt.last_logits)).toBeLessThan(1e-4);
  });

  describe.each(Object.keys(EXPECTED))('%s', (name) => {
    const want = EXPECTED[name]!;
    const input = INPUTS[name]!;

    it("tokenizes the prompts to the Rust tokenizer's ids, and renders chats as the template does", async () => {
      const lm = models.get(name)!;
      expect(lm.architecture).toBe(want.architecture);
      for (const p of input.prompts) {
        if (p.chat) {
          const templateVariables = p.chat.enable_thinking === undefined ? {} : { enable_thinking: p.chat.enable_thinking };
          expect(await renderChat(lm, p.chat.messages, { templateVariables })).toBe(p.text);
          expect(lm.tokenizer!.encode(p.text, { addSpecialTokens: false })).toEqual(p.input_ids);
        } else expect(lm.tokenizer!.encode(p.text)).toEqual(p.input_ids);
      }
    });

    it('prefill: the last position\'s logits within 1e-4 normwise, and every position\'s', () => {
      const lm = models.get(name)!;
      for (const p of want.prompts) {
        const r = lm.forward(p.input_ids);
        expect(r.logits.shape).toEqual([1, lm.vocabSize]);
        expect(normwise(r.logits.data, p.last_logits)).toBeLessThan(1e-4);
        if (p.all_logits) expect(normwise(lm.forward(p.input_ids, { allLogits: true }).logits.data, p.all_logits.flat())).toBeLessThan(1e-4);
      }
    });

    it('20 greedy steps through the cache: the same tokens, each step\'s logits within 1e-4', () => {
      const lm = models.get(name)!;
      for (const p of want.prompts) {
        const cache = lm.createCache();
        let logits = lm.forward(p.input_ids, { cache }).logits.data;
        const tokens: number[] = [];
        for (let k = 0; k < p.greedy_tokens.length; k++) {
          if (p.steps) expect(normwise(logits, p.steps[k]!.logits), `step ${k}`).toBeLessThan(1e-4);
          const next = argmax(logits);
          tokens.push(next);
          if (k + 1 < p.greedy_tokens.length) logits = lm.forward([next], { cache }).logits.data;
        }
        expect(tokens).toEqual(p.greedy_tokens);
        cache.dispose();
      }
    });

    if (want.batch) {
      it('a left-padded batch (attentionMask): each row\'s logits and 5 greedy steps as the reference', () => {
        const lm = models.get(name)!;
        const b = want.batch!;
        const cache = lm.createCache({ batch: b.input_ids.length });
        let logits = lm.forward(b.input_ids, { cache, attentionMask: b.attention_mask }).logits;
        const V = lm.vocabSize;
        b.last_logits.forEach((row, i) => expect(normwise(logits.data.subarray(i * V, (i + 1) * V), row)).toBeLessThan(1e-4));
        const steps = b.greedy_tokens[0]!.length;
        const tokens: number[][] = b.input_ids.map(() => []);
        for (let k = 0; k < steps; k++) {
          const next = tokens.map((_, i) => argmax(logits.data.subarray(i * V, (i + 1) * V)));
          next.forEach((t, i) => tokens[i]!.push(t));
          if (k === steps - 1) b.last_step_logits.forEach((row, i) => expect(normwise(logits.data.subarray(i * V, (i + 1) * V), row)).toBeLessThan(1e-4));
          else logits = lm.forward(next.map((t) => [t]), { cache }).logits;
        }
        expect(tokens).toEqual(b.greedy_tokens);
        cache.dispose();
      });
    }

    it('generate() greedy reproduces the reference tokens up to the first end-of-sequence token', async () => {
      const lm = models.get(name)!;
      const p = want.prompts[2]!;
      const r = await generate(lm, p.input_ids, { maxNewTokens: p.greedy_tokens.length });
      const end = p.greedy_tokens.findIndex((t) => lm.eosTokenIds.includes(t));
      expect(r.tokens).toEqual(end < 0 ? p.greedy_tokens : p.greedy_tokens.slice(0, end));
      expect(r.finishReason).toBe(end < 0 ? 'length' : 'eos');
    });
  });
});
