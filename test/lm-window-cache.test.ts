// Sliding-window layers of language models keep only their window: with the window layers bounded
// to window − 1 + slack positions (and moving their last window − 1 to the front when the next ones
// do not fit, in the prefill or in the middle of decoding), the Mistral and Gemma 3 checkpoints still
// give the reference's logits and greedy tokens (tools/lm_fixtures.py, PyTorch after transformers'
// modeling files), a left-padded batch included; a long decode keeps the window layers' memory
// bounded while the full-attention layers grow; truncation and chat sessions stay correct.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createChatSession, loadModel, renderChat, type AttentionRuntime, type CausalLMModel } from '../src/index.js';
import type { LMCache } from '../src/models/lm/model.js';
import type { CausalLM, ChatMessage } from '../src/models/generation/types.js';
import { BUILDS, maxAbsDiff, normwise, runtimeFor } from './helpers.js';
import { FakeCache, FakeLM, IM_END, QWEN2_TEMPLATE } from './helpers/fake-lm.js';

const DIR = fileURLToPath(new URL('./fixtures/lm/', import.meta.url));
interface Prompt { input_ids: number[]; last_logits: number[]; greedy_tokens: number[]; steps?: { token: number; logits: number[] }[] }
interface Batch { input_ids: number[][]; attention_mask: number[][]; last_logits: number[][]; greedy_tokens: number[][]; last_step_logits: number[][] }
const EXPECTED = (JSON.parse(readFileSync(`${DIR}expected.json`, 'utf8')) as { checkpoints: Record<string, { prompts: Prompt[]; batch: Batch }> }).checkpoints;
const WINDOW = 8; // sliding_window of both fixtures

const argmax = (x: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
};

/** The sliding-window layers of a cache. */
const windowLayers = (cache: LMCache) => cache.layers.filter((_, i) => cache.windows[i] !== undefined);
const plainLayers = (cache: LMCache) => cache.layers.filter((_, i) => cache.windows[i] === undefined);
/** Every window layer holds at most window − 1 + slack slots; returns their oldest positions. */
function boundedFirsts(cache: LMCache, slack: number): number[] {
  for (const c of windowLayers(cache)) {
    expect(c.maxLength).toBeLessThanOrEqual(WINDOW - 1 + slack);
    expect(c.length - c.first).toBeGreaterThanOrEqual(Math.min(c.length, WINDOW - 1));
  }
  return windowLayers(cache).map((c) => c.first);
}

/** The Gemma 3 fixture with a longer position limit (RoPE: the weights do not depend on it). */
function gemma3Objects(maxPositions: number) {
  const config = { ...JSON.parse(readFileSync(`${DIR}gemma3/config.json`, 'utf8')), max_position_embeddings: maxPositions };
  return { config, weights: readFileSync(`${DIR}gemma3/model.safetensors`) };
}

describe.each(BUILDS)('sliding-window layers keep only their window, %s build', (backend) => {
  let rt: AttentionRuntime;
  const models = new Map<string, CausalLMModel>();
  beforeAll(async () => {
    rt = await runtimeFor(backend);
    for (const name of ['mistral', 'gemma3']) models.set(name, await loadModel(rt, `${DIR}${name}`, { kind: 'causal-lm' }));
  });
  afterAll(() => {
    for (const m of models.values()) m.dispose();
  });

  describe.each(['mistral', 'gemma3'])('%s', (name) => {
    const want = EXPECTED[name]!;

    // slack 1: a move before every step; 3: the 19-token prompt overflows the bound (grown for the
    // call, then back to it); 16: the prompt fits and the first move comes in the 6th step
    it.each([1, 3, 16])('prefill and 20 greedy steps give the reference logits and tokens, the window layers bounded (slack %i)', (slack) => {
      const lm = models.get(name)!;
      expect(lm.createCache().windows.filter((w) => w !== undefined)).toEqual(name === 'mistral' ? [WINDOW, WINDOW] : [WINDOW]);
      for (const p of want.prompts) {
        const cache = lm.createCache(undefined, slack);
        let logits = lm.forward(p.input_ids, { cache }).logits.data;
        expect(normwise(logits, p.last_logits)).toBeLessThan(1e-4);
        const afterPrefill = boundedFirsts(cache, slack);
        let moved = false;
        const tokens: number[] = [];
        for (let k = 0; k < p.greedy_tokens.length; k++) {
          if (p.steps) expect(normwise(logits, p.steps[k]!.logits), `step ${k}`).toBeLessThan(1e-4);
          tokens.push(argmax(logits));
          if (k + 1 < p.greedy_tokens.length) {
            logits = lm.forward([tokens[k]!], { cache }).logits.data;
            moved ||= boundedFirsts(cache, slack).some((f, i) => f > afterPrefill[i]!);
          }
        }
        expect(tokens).toEqual(p.greedy_tokens);
        expect(moved, 'the window layers moved their positions while decoding').toBe(true);
        cache.dispose();
      }
    });

    it.each([1, 3])('a left-padded batch gives each row\'s reference logits and tokens, the padding mask following the moved slots (slack %i)', (slack) => {
      const lm = models.get(name)!;
      const b = want.batch;
      const cache = lm.createCache({ batch: 2 }, slack);
      let logits = lm.forward(b.input_ids, { cache, attentionMask: b.attention_mask }).logits;
      const V = lm.vocabSize;
      b.last_logits.forEach((row, i) => expect(normwise(logits.data.subarray(i * V, (i + 1) * V), row)).toBeLessThan(1e-4));
      // the 12 padding slots of row 0 are partly still held: the mask must hide them after the move
      expect(windowLayers(cache).every((c) => c.first > 0 && c.first < 12)).toBe(true);
      const steps = b.greedy_tokens[0]!.length;
      const tokens: number[][] = [[], []];
      for (let k = 0; k < steps; k++) {
        const next = tokens.map((_, i) => argmax(logits.data.subarray(i * V, (i + 1) * V)));
        next.forEach((t, i) => tokens[i]!.push(t));
        if (k === steps - 1) b.last_step_logits.forEach((row, i) => expect(normwise(logits.data.subarray(i * V, (i + 1) * V), row)).toBeLessThan(1e-4));
        else logits = lm.forward(next.map((t) => [t]), { cache }).logits;
        boundedFirsts(cache, slack);
      }
      expect(tokens).toEqual(b.greedy_tokens);
      cache.dispose();
    });

    it('truncate keeps a prefix the window layers still cover, and says which lengths it can keep otherwise', () => {
      const lm = models.get(name)!;
      const p = want.prompts[2]!;
      const sequence = [...p.input_ids, ...p.greedy_tokens];
      const cache = lm.createCache(undefined, 4);
      lm.forward(p.input_ids, { cache });
      for (let k = 0; k < 10; k++) lm.forward([p.greedy_tokens[k]!], { cache });
      const length = cache.length; // 29
      const shortest = Math.max(...windowLayers(cache).map((c) => c.first)) + WINDOW - 1;
      expect(shortest).toBeGreaterThan(0);
      expect(shortest).toBeLessThan(length);
      expect(cache.canTruncate(shortest)).toBe(true);
      expect(cache.canTruncate(shortest - 1)).toBe(false);
      expect(cache.canTruncate(0)).toBe(true);
      expect(cache.canTruncate(length + 1)).toBe(false);
      expect(() => cache.truncate(shortest - 1)).toThrow(new RegExp(`truncate\\(${shortest - 1}\\): the sliding-window layers no longer hold the positions just before ${shortest - 1}, which the next token would attend to .*truncate to ${shortest} … ${length}, or reset\\(\\)`));
      expect(() => cache.truncate(length + 1)).toThrow(RangeError);
      expect(() => cache.truncate(1.5)).toThrow(/truncate: length must be an integer/);
      expect(cache.length).toBe(length);
      // back to `shortest`, then the rest again in one call: the reference's logits at every position
      cache.truncate(shortest);
      const again = lm.forward(sequence.slice(shortest, length), { cache, allLogits: true }).logits.data;
      const V = lm.vocabSize;
      for (let pos = shortest; pos < length; pos++) {
        expect(normwise(again.subarray((pos - shortest) * V, (pos - shortest + 1) * V), p.steps![pos - (p.input_ids.length - 1)]!.logits), `position ${pos}`).toBeLessThan(1e-4);
      }
      cache.truncate(0);
      expect(normwise(lm.forward(p.input_ids, { cache }).logits.data, p.last_logits)).toBeLessThan(1e-4);
      cache.dispose();
    });

    it('attention weights of a window layer cover every position, 0 before the window, as a cache that never moved', () => {
      const lm = models.get(name)!;
      const p = want.prompts[2]!;
      const moving = lm.createCache(undefined, 1), still = lm.createCache();
      lm.forward(p.input_ids, { cache: moving });
      lm.forward(p.input_ids, { cache: still });
      const layer = moving.windows.findIndex((w) => w !== undefined);
      const a = lm.forward([p.greedy_tokens[0]!], { cache: moving, outputAttentions: [layer] }).attentions![layer]!;
      const b = lm.forward([p.greedy_tokens[0]!], { cache: still, outputAttentions: [layer] }).attentions![layer]!;
      expect(moving.layers[layer]!.first).toBeGreaterThan(0);
      expect(still.layers[layer]!.first).toBe(0);
      const positions = p.input_ids.length + 1;
      expect(a.shape).toEqual([1, lm.numHeads, 1, positions]);
      expect(b.shape).toEqual(a.shape);
      expect(maxAbsDiff(a.data, b.data)).toBeLessThan(1e-6);
      for (let h = 0; h < lm.numHeads; h++) {
        const row = a.data.subarray(h * positions, (h + 1) * positions);
        expect(row.subarray(0, positions - WINDOW).every((w) => w === 0)).toBe(true);
        expect(row.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 5);
      }
      moving.dispose();
      still.dispose();
    });
  });

  it('a 1000-step decode: the window layer stays at window − 1 + 256 positions while the full layer grows, with the logits of a cache that never moves', async () => {
    const lm = await loadModel(rt, gemma3Objects(2048), { kind: 'causal-lm' });
    const prompt = EXPECTED['gemma3']!.prompts[2]!.input_ids;
    const cache = lm.createCache(); // grows from 256 positions
    const still = lm.createCache({ maxLength: 2048 }, 2048); // every layer holds every position
    expect(cache.windows).toEqual([WINDOW, undefined]);
    const bytesOf = (slots: number) => 2 * slots * 16 * 4; // K and V, one kv head of 16, f32
    const startBytes = cache.bytes;
    expect(startBytes).toBe(2 * bytesOf(256));
    let logits = lm.forward(prompt, { cache }).logits.data;
    let reference = lm.forward(prompt, { cache: still }).logits.data;
    let worst = 0;
    const moves = new Set<number>();
    for (let k = 0; k < 1000; k++) {
      worst = Math.max(worst, normwise(logits, Array.from(reference)));
      const next = argmax(reference);
      logits = lm.forward([next], { cache }).logits.data;
      reference = lm.forward([next], { cache: still }).logits.data;
      moves.add(windowLayers(cache)[0]!.first);
      expect(windowLayers(cache)[0]!.maxLength).toBeLessThanOrEqual(WINDOW - 1 + 256);
    }
    expect(worst).toBeLessThan(1e-5);
    expect(moves.size).toBeGreaterThan(3); // it moved about every 256 steps
    expect(cache.length).toBe(prompt.length + 1000);
    expect(windowLayers(cache)[0]!.maxLength).toBe(WINDOW - 1 + 256);
    expect(plainLayers(cache)[0]!.maxLength).toBe(1024);
    expect(cache.bytes).toBe(bytesOf(WINDOW - 1 + 256) + bytesOf(1024));
    expect(cache.capacity).toBe(1024);
    cache.dispose();
    still.dispose();
    lm.dispose();
  });

  it('a steady decode allocates nothing while the window layers move their positions', async () => {
    const lm = await loadModel(rt, gemma3Objects(2048), { kind: 'causal-lm' });
    const cache = lm.createCache({ maxLength: 1200 }); // allocated at once
    lm.forward(EXPECTED['gemma3']!.prompts[2]!.input_ids, { cache });
    lm.forward([3], { cache }); // warm: the first step sizes the workspace
    const before = rt.memoryStats();
    const firsts = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      lm.forward([i % lm.vocabSize], { cache });
      firsts.add(windowLayers(cache)[0]!.first);
    }
    const after = rt.memoryStats();
    expect(firsts.size).toBeGreaterThan(3);
    expect(after.bytesInUse).toBe(before.bytesInUse);
    expect(after.allocations).toBe(before.allocations);
    cache.dispose();
    lm.dispose();
  });

  it('a model whose every layer slides: bounded memory, and the cache reaches its maxLength without growing', () => {
    const lm = models.get('mistral')!;
    const cache = lm.createCache();
    expect(cache.capacity).toBe(256); // the window layers first grow with the cache, up to window − 1 + 256
    lm.forward(EXPECTED['mistral']!.prompts[2]!.input_ids, { cache });
    for (let i = 0; cache.length < lm.maxLength; i++) lm.forward([i % lm.vocabSize], { cache });
    expect(cache.length).toBe(512);
    expect(cache.capacity).toBe(512);
    expect(cache.layers.every((c) => c.maxLength === WINDOW - 1 + 256)).toBe(true);
    expect(() => lm.forward([1], { cache })).toThrow(/the cache is full: it holds 512 of 512 positions and 1 more do not fit/);
    cache.dispose();
  });

  it('a chat session over a model with window layers gives the tokens of a fresh chat, turn after turn', async () => {
    const lm = models.get('gemma3')!;
    // the session's cache with a slack of 2: the window layer moves its positions every other token
    const small: CausalLM = {
      vocabSize: lm.vocabSize, maxLength: lm.maxLength, tokenizer: lm.tokenizer, eosTokenIds: lm.eosTokenIds, bosTokenId: lm.bosTokenId,
      chatTemplate: lm.chatTemplate, specialTokens: lm.specialTokens,
      createCache: (options) => lm.createCache(options, 2),
      forward: (ids, options) => lm.forward(ids, options as never),
    };
    const session = createChatSession(small);
    const messages: ChatMessage[] = [];
    for (const text of ['Hello there', 'And then?', 'Thanks']) {
      const r = await session.send(text, { maxNewTokens: 12, eosTokenId: [] });
      const fresh = await chat(lm, [...messages, { role: 'user', content: text }], { maxNewTokens: 12, eosTokenId: [] });
      expect(r.tokens).toEqual(fresh.tokens);
      messages.push({ role: 'user', content: text }, r.message);
    }
    session.dispose();
  });
});

describe('chat sessions over a cache that cannot truncate', () => {
  /** A cache that can only start over (as one whose window layers dropped what the prefix needs). */
  class WindowedCache extends FakeCache {
    canTruncate(length: number): boolean {
      return length === 0;
    }
  }
  class WindowedLM extends FakeLM {
    override createCache(options?: { maxLength?: number }): FakeCache {
      const cache = new WindowedCache(options?.maxLength ?? this.maxLength);
      this.caches.push(cache);
      return cache;
    }
  }

  it('run the whole conversation again when the shared prefix cannot be kept, with the tokens of a fresh chat', async () => {
    const model = new WindowedLM({ chatTemplate: QWEN2_TEMPLATE, eosTokenIds: [IM_END] });
    const session = createChatSession(model);
    await session.send('Hi!', { maxNewTokens: 5 });
    const callsBefore = model.calls.length;
    const second = await session.send('More?', { maxNewTokens: 5 });
    const conversation = session.messages.slice(0, -1);
    const rendered = model.tokenizer.encode(await renderChat(model, conversation), { addSpecialTokens: false });
    expect(model.calls[callsBefore]).toEqual(rendered); // the whole rendering, from position 0
    const fresh = await chat(new FakeLM({ chatTemplate: QWEN2_TEMPLATE, eosTokenIds: [IM_END] }), conversation, { maxNewTokens: 5 });
    expect(second.tokens).toEqual(fresh.tokens);
    session.dispose();
  });
});
