// The generation loop (src/models/generation/) over a fake causal LM (test/helpers/fake-lm.ts):
// greedy decoding is the argmax of the model's logits at every step, the cache holds exactly the
// sequence, sampling reproduces by seed and follows the softmax, each logits processor matches a hand
// computation, stop strings match across token boundaries, text pieces hold whole characters, and
// eos / length / a full cache / abort end generation with the right reason.
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it, vi } from 'vitest';
import { generate, stream } from '../src/models/generation/index.js';
import type { GenerationEvent } from '../src/models/generation/types.js';
import { resolveOptions } from '../src/models/generation/options.js';
import { createYielder } from '../src/models/generation/yield.js';
import {
  buildProcessors,
  frequencyPresenceProcessor,
  kthLargest,
  logitBiasProcessor,
  minPProcessor,
  repetitionPenaltyProcessor,
  temperatureProcessor,
  topKProcessor,
  topPProcessor,
} from '../src/models/generation/processors.js';
import { TextTokenizer } from '../src/models/tokenizer.js';
import { BYTE, EOT, FakeLM, HE, LL, SPACE_W, VOCAB, bytesOf, spell } from './helpers/fake-lm.js';

const argmax = (xs: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
};

const noContext = { seen: new Set<number>(), counts: new Map<number, number>() };

async function collect(s: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const events: GenerationEvent[] = [];
  for await (const e of s) events.push(e);
  return events;
}

describe('the byte-level test tokenizer', () => {
  it('encodes bytes with the three merges and decodes back', () => {
    const t = new FakeLM().tokenizer;
    expect(t.encode('hello world')).toEqual([HE, LL, 'o'.charCodeAt(0), SPACE_W, ...bytesOf('orld')]);
    expect(t.encode('a😀')).toEqual(bytesOf('a😀'));
    expect(t.decode([HE, LL, 'o'.charCodeAt(0), SPACE_W])).toBe('hello w');
    expect(t.encode('<|im_start|>x<|im_end|>', { addSpecialTokens: false })).toEqual([260, 'x'.charCodeAt(0), 261]);
    expect(BYTE[32]).toBe('Ġ');
  });
});

describe('greedy decoding', () => {
  it('takes the argmax of the logits of the whole sequence at every step, feeding each id once', async () => {
    const model = new FakeLM();
    const prompt = [5, 17, 99];
    const r = await generate(model, prompt, { maxNewTokens: 12, eosTokenId: [] });
    expect(r.finishReason).toBe('length');
    expect(r.tokens).toHaveLength(12);
    const sequence = [...prompt];
    for (const id of r.tokens) {
      expect(id).toBe(argmax(model.logitsAt(sequence)));
      sequence.push(id);
    }
    // one prefill of the prompt, then one id per call (the last token is never fed)
    expect(model.calls).toEqual([prompt, ...r.tokens.slice(0, -1).map((id) => [id])]);
    expect(r.timings.prefillTokens).toBe(3);
    expect(r.timings.perTokenMs).toHaveLength(12);
    expect(r.timings.decodeMs).toBeGreaterThanOrEqual(0);
    expect(r.text).toBe(model.tokenizer.decode(r.tokens));
    expect(model.caches[0]!.disposed).toBe(true); // the cache it made is freed
  });

  it('prefills a long prompt in one call', async () => {
    const model = new FakeLM({ maxLength: 300_000 });
    const prompt = Array.from({ length: 200_000 }, (_, i) => i % 250);
    const r = await generate(model, prompt, { maxNewTokens: 2, eosTokenId: [] });
    expect(model.calls[0]).toHaveLength(200_000);
    expect(r.timings.prefillTokens).toBe(200_000);
  });

  it('tokenizes a string prompt with the model tokenizer', async () => {
    const model = new FakeLM();
    await generate(model, 'hello', { maxNewTokens: 2 });
    expect(model.calls[0]).toEqual(model.tokenizer.encode('hello'));
  });

  it('appends to a cache it is given and leaves it holding the sequence', async () => {
    const model = new FakeLM();
    const cache = model.createCache();
    const first = await generate(model, [1, 2, 3], { maxNewTokens: 4, cache, eosTokenId: [] });
    expect(cache.ids).toEqual([1, 2, 3, ...first.tokens.slice(0, -1)]);
    const second = await generate(model, [first.tokens.at(-1)!, 7], { maxNewTokens: 3, cache, eosTokenId: [] });
    const whole = await generate(new FakeLM(), [1, 2, 3, ...first.tokens, 7], { maxNewTokens: 3, eosTokenId: [] });
    expect(second.tokens).toEqual(whole.tokens);
    expect(cache.disposed).toBe(false);
  });
});

describe('sampling', () => {
  it('reproduces with a seed, and differs between seeds', async () => {
    const run = (seed: number) => generate(new FakeLM(), [1, 2], { temperature: 1, seed, maxNewTokens: 20, eosTokenId: [] });
    const [a, b, c] = await Promise.all([run(7), run(7), run(8)]);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).not.toEqual(c.tokens);
  });

  it('draws from softmax(logits / temperature)', async () => {
    const constant = new Float32Array(VOCAB).fill(-Infinity);
    constant.set([Math.log(0.5), Math.log(0.3), Math.log(0.2)], 0);
    const model = new FakeLM({ constant, maxLength: 5000 });
    const r = await generate(model, [9], { temperature: 1, seed: 1, maxNewTokens: 4000, eosTokenId: [] });
    expect(r.tokens).toHaveLength(4000);
    const freq = [0, 1, 2].map((id) => r.tokens.filter((t) => t === id).length / r.tokens.length);
    expect(freq[0]).toBeCloseTo(0.5, 1);
    expect(freq[1]).toBeCloseTo(0.3, 1);
    expect(freq[2]).toBeCloseTo(0.2, 1);
    // temperature 0.5 squares the odds: 25 : 9 : 4
    const cold = await generate(new FakeLM({ constant, maxLength: 5000 }), [9], { temperature: 0.5, seed: 2, maxNewTokens: 4000, eosTokenId: [] });
    const share0 = cold.tokens.filter((t) => t === 0).length / cold.tokens.length;
    expect(Math.abs(share0 - 25 / 38)).toBeLessThan(0.03);
  });

  it('topK 1 with sampling is greedy', async () => {
    const greedy = await generate(new FakeLM(), [3], { maxNewTokens: 10, eosTokenId: [] });
    const sampled = await generate(new FakeLM(), [3], { temperature: 1.5, topK: 1, seed: 3, maxNewTokens: 10, eosTokenId: [] });
    expect(sampled.tokens).toEqual(greedy.tokens);
  });
});

describe('logits processors, by hand', () => {
  const scores = (...xs: number[]) => Float64Array.from(xs);

  it('logitBias adds, -Infinity bans', () => {
    const s = scores(1, 2, 3);
    logitBiasProcessor([[0, 0.5], [2, -Infinity]])(s, noContext);
    expect([...s]).toEqual([1.5, 2, -Infinity]);
  });

  it("repetitionPenalty divides positive and multiplies negative scores of seen ids, once each", () => {
    const s = scores(2, -1, 0.5, 3);
    repetitionPenaltyProcessor(2)(s, { seen: new Set([0, 1]), counts: new Map([[0, 5]]) });
    expect([...s]).toEqual([1, -2, 0.5, 3]);
  });

  it('frequency and presence penalties follow OpenAI: count × frequency + presence', () => {
    const s = scores(1, 1, 1);
    frequencyPresenceProcessor(0.5, 0.25)(s, { seen: new Set([0, 1, 2]), counts: new Map([[0, 3], [1, 1]]) });
    expect([...s]).toEqual([1 - 1.5 - 0.25, 1 - 0.5 - 0.25, 1]);
  });

  it('temperature divides', () => {
    const s = scores(1, -2, 4);
    temperatureProcessor(0.5)(s, noContext);
    expect([...s]).toEqual([2, -4, 8]);
  });

  it('topK keeps scores ≥ the k-th largest, ties kept', () => {
    const s = scores(1, 5, 3, 3, 0);
    topKProcessor(2)(s, noContext);
    expect([...s]).toEqual([-Infinity, 5, 3, 3, -Infinity]);
    expect(kthLargest(scores(4, 1, 9, 7, 2), 3)).toBe(4);
    const all = scores(1, 2);
    topKProcessor(5)(all, noContext);
    expect([...all]).toEqual([1, 2]);
  });

  it('topP keeps the most likely ids up to a cumulative probability of topP', () => {
    const probs = [0.15, 0.5, 0.05, 0.3];
    const s = Float64Array.from(probs, Math.log);
    topPProcessor(0.75)(s, noContext); // ascending: 0.05 (cum 0.05 ≤ 0.25, out), 0.15 (0.2, out), 0.3 (0.5, kept)
    expect([...s].map((x) => x > -Infinity)).toEqual([false, true, false, true]);
    const one = Float64Array.from(probs, Math.log);
    topPProcessor(0.1)(one, noContext); // the most likely always stays
    expect([...one].map((x) => x > -Infinity)).toEqual([false, true, false, false]);
  });

  it('minP drops ids below minP × the top probability', () => {
    const s = Float64Array.from([0.5, 0.3, 0.15, 0.05], Math.log);
    minPProcessor(0.2)(s, noContext); // threshold 0.1
    expect([...s].map((x) => x > -Infinity)).toEqual([true, true, true, false]);
  });

  it('are chained in transformers order: bias, repetition, frequency/presence, then (sampling) temperature, topK, topP, minP', () => {
    const model = new FakeLM();
    const all = resolveOptions('test', model, { logitBias: { 1: 1 }, repetitionPenalty: 1.1, frequencyPenalty: 0.1, temperature: 0.7, topK: 5, topP: 0.9, minP: 0.05 });
    expect(buildProcessors(all).map((p) => p.name)).toEqual(['logitBias', 'repetitionPenalty', 'frequencyPresencePenalty', 'temperature', 'topK', 'topP', 'minP']);
    const greedy = resolveOptions('test', model, { repetitionPenalty: 1.1, temperature: 0, topK: 5 });
    expect(buildProcessors(greedy).map((p) => p.name)).toEqual(['repetitionPenalty']);
  });

  it('logitBias comes before the repetition penalty (as transformers applies sequence_bias first)', async () => {
    // id 0 is in the prompt with logit 1; id 1 has 1.2. Bias +1 then penalty 2: (1 + 1) / 2 = 1 < 1.2.
    // The other order would give 1 / 2 + 1 = 1.5 > 1.2.
    const constant = new Float32Array(VOCAB).fill(-5);
    constant[0] = 1;
    constant[1] = 1.2;
    const r = await generate(new FakeLM({ constant }), [0], { logitBias: { 0: 1 }, repetitionPenalty: 2, maxNewTokens: 1 });
    expect(r.tokens).toEqual([1]);
  });

  it('the penalties see the prompt (repetition) and the generated ids (frequency)', async () => {
    const constant = new Float32Array(VOCAB).fill(-5);
    constant[0] = 3;
    constant[1] = 2;
    constant[2] = 1;
    expect((await generate(new FakeLM({ constant }), [0], { repetitionPenalty: 4, maxNewTokens: 1 })).tokens).toEqual([1]);
    // frequency 0.6: 0 (3) → 2.4 → 1.8 …; presence adds 0.5 once
    const r = await generate(new FakeLM({ constant }), [7], { frequencyPenalty: 0.6, presencePenalty: 0.5, maxNewTokens: 4, eosTokenId: [] });
    // step 1: [3, 2, 1] → 0; step 2: [3 - 1.1, 2, 1] → 1; step 3: [1.9, 0.9, 1] → 0; step 4: [3 - 1.7, 0.9, 1] → 0 (1.3)
    expect(r.tokens).toEqual([0, 1, 0, 0]);
  });
});

describe('text', () => {
  it('holds back a character split across byte tokens until it is complete', async () => {
    const ids = bytesOf('a😀b');
    const model = new FakeLM({ script: spell(1, ids) });
    const events: GenerationEvent[] = [];
    const r = await generate(model, [0], { maxNewTokens: ids.length, onToken: (e) => events.push(e) });
    expect(r.tokens).toEqual(ids);
    expect(events.map((e) => e.text)).toEqual(['a', '', '', '', '😀', 'b']);
    expect(events.map((e) => e.token)).toEqual(ids);
    expect(r.text).toBe('a😀b');
  });

  it('ends with U+FFFD when generation stops inside a character, as decode does', async () => {
    const ids = bytesOf('a😀');
    const r = await generate(new FakeLM({ script: spell(1, ids) }), [0], { maxNewTokens: 3 });
    expect(r.text).toBe('a\uFFFD');
  });

  it('keeps the spaces a SentencePiece decoder strips from the first token (Llama-2 style, byte fallback)', async () => {
    // Llama 2's tokenizer.json: ▁ for spaces, <0xNN> byte tokens, a decoder that strips one leading space
    const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
    for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
    Object.assign(vocab, { '▁hello': 259, '▁world': 260, '▁again': 261 });
    const json = {
      version: '1.0',
      added_tokens: [0, 1, 2].map((id) => ({ id, content: ['<unk>', '<s>', '</s>'][id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: null,
      decoder: {
        type: 'Sequence',
        decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
      },
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges: [] },
    };
    const tokenizer = new TextTokenizer(Tokenizer, json, { clean_up_tokenization_spaces: false });
    const ids = [259, 260, ...bytesOf('😀').map((b) => 3 + b), 261];
    const model = Object.assign(new FakeLM({ script: spell(1, ids, 2) }), { tokenizer });
    const events: GenerationEvent[] = [];
    const r = await generate(model, [1], { eosTokenId: 2, onToken: (e) => events.push(e) });
    expect(events.map((e) => e.text)).toEqual(['hello', ' world', '', '', '', '😀', ' again']);
    expect(r.text).toBe('hello world😀 again');
    expect(r.text).toBe(tokenizer.decode(r.tokens));
    expect(tokenizer.decode([260])).toBe('world'); // what decoding one token at a time would have lost
  });

  it('stops at a stop string split across tokens, leaving it out of the text', async () => {
    const reply = new FakeLM().tokenizer.encode('Hi there. END of it');
    const model = new FakeLM({ script: spell(1, reply) });
    const events: GenerationEvent[] = [];
    const r = await generate(model, [0], { stop: ['. END', 'never'], maxNewTokens: 50, onToken: (e) => events.push(e) });
    expect(r.finishReason).toBe('stop');
    expect(r.text).toBe('Hi there');
    expect(events.map((e) => e.text).join('')).toBe('Hi there');
    expect(events.every((e) => !e.text.includes('.'))).toBe(true); // '.' was held back, then dropped
    // the tokens run to the one that completed the stop string
    expect(r.tokens).toEqual(reply.slice(0, reply.indexOf('D'.charCodeAt(0)) + 1));
  });

  it('releases held-back text that did not become a stop string', async () => {
    const reply = new FakeLM().tokenizer.encode('ab. E');
    const events: GenerationEvent[] = [];
    const r = await generate(new FakeLM({ script: spell(1, reply, EOT) }), [0], { stop: '. END', onToken: (e) => events.push(e) });
    expect(r.finishReason).toBe('eos');
    expect(r.text).toBe('ab. E');
    expect(events.at(-1)).toEqual({ token: null, text: '. E' });
  });
});

describe('how generation ends', () => {
  it("at an end-of-sequence id ('eos'), which is left out of tokens", async () => {
    const model = new FakeLM({ script: spell(2, bytesOf('hi'), EOT) });
    const r = await generate(model, [4, 5]);
    expect(r).toMatchObject({ finishReason: 'eos', tokens: bytesOf('hi'), text: 'hi' });
    const other = await generate(new FakeLM({ script: spell(2, bytesOf('hi'), 77) }), [4, 5], { eosTokenId: [76, 77] });
    expect(other).toMatchObject({ finishReason: 'eos', tokens: bytesOf('hi') });
  });

  it("at maxNewTokens ('length', no note)", async () => {
    const r = await generate(new FakeLM(), [1], { maxNewTokens: 5, eosTokenId: [] });
    expect(r.finishReason).toBe('length');
    expect(r.tokens).toHaveLength(5);
    expect(r.note).toBeUndefined();
  });

  it("when the cache is full ('length' with a note, never an overflow)", async () => {
    const model = new FakeLM();
    const r = await generate(model, [1, 2, 3], { maxLength: 8, maxNewTokens: 100, eosTokenId: [] });
    expect(r.finishReason).toBe('length');
    expect(r.note).toMatch(/cache is full/);
    expect(r.tokens).toHaveLength(8 - 3 + 1); // the last token is sampled, never fed
    expect(model.caches[0]!.length).toBe(8);
    await expect(generate(new FakeLM(), [1, 2, 3, 4], { maxLength: 3 })).rejects.toThrow(RangeError);
    await expect(generate(new FakeLM(), [1, 2, 3, 4], { maxLength: 3 })).rejects.toThrow(/prompt is 4 tokens, more than the cache's 3 positions/);
  });

  it("on abort mid-stream ('abort', the partial result returned)", async () => {
    const controller = new AbortController();
    const model = new FakeLM();
    let seen = 0;
    const r = await generate(model, [1], {
      signal: controller.signal,
      maxNewTokens: 50,
      eosTokenId: [],
      onToken: () => {
        if (++seen === 3) controller.abort();
      },
    });
    expect(r.finishReason).toBe('abort');
    expect(r.tokens).toHaveLength(3);
    expect(model.calls).toHaveLength(3);

    const before = new AbortController();
    before.abort();
    const none = new FakeLM();
    const r0 = await generate(none, [1], { signal: before.signal });
    expect(r0).toMatchObject({ finishReason: 'abort', tokens: [], text: '' });
    expect(none.calls).toHaveLength(0);
  });

  it('breaking out of a stream stops generation', async () => {
    const model = new FakeLM();
    const s = stream(model, [1], { maxNewTokens: 50, eosTokenId: [] });
    let n = 0;
    for await (const _ of s) if (++n === 4) break;
    const r = await s.result;
    expect(r.finishReason).toBe('abort');
    expect(r.tokens.length).toBeLessThan(50);
  });
});

describe('stream', () => {
  it('yields the tokens and text generate gives, and the same result', async () => {
    const options = { maxNewTokens: 30, temperature: 0.8, seed: 11, stop: ['zz'], eosTokenId: [] };
    const g = await generate(new FakeLM(), 'hello', options);
    const s = stream(new FakeLM(), 'hello', options);
    const events = await collect(s);
    const r = await s.result;
    expect(events.filter((e) => e.token !== null).map((e) => e.token)).toEqual(r.tokens);
    expect(events.map((e) => e.text).join('')).toBe(r.text);
    expect({ ...r, timings: undefined }).toEqual({ ...g, timings: undefined });
  });

  it('gives the event loop a turn between tokens (a timer fires during generation)', async () => {
    const model = new FakeLM({ delayMs: 2 });
    let tokensWhenTimerFired = -1;
    let count = 0;
    setTimeout(() => (tokensWhenTimerFired = count), 0);
    await generate(model, [1], { maxNewTokens: 20, eosTokenId: [], onToken: () => count++ });
    expect(tokensWhenTimerFired).toBeGreaterThanOrEqual(1);
    expect(tokensWhenTimerFired).toBeLessThan(20);
  });

  it('yields through a MessageChannel, or setTimeout, where there is no setImmediate (browsers)', async () => {
    // Only that each turn resolves: whether timers run between MessageChannel messages is the
    // browser's scheduling (Chromium interleaves them; Node drains a port's messages in one go, which
    // is why Node takes the setImmediate path).
    vi.stubGlobal('setImmediate', undefined);
    try {
      const channel = createYielder();
      for (let i = 0; i < 50; i++) await channel.next();
      channel.close();
      vi.stubGlobal('MessageChannel', undefined);
      const fallback = createYielder();
      await fallback.next();
      fallback.close();
      const r = await generate(new FakeLM(), [1], { maxNewTokens: 5, eosTokenId: [] });
      expect(r.tokens).toHaveLength(5);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('throws bad arguments synchronously and model errors from next() and result', async () => {
    expect(() => stream(new FakeLM(), [1], { top_k: 3 } as never)).toThrow(/^options\.top_k is not an option of stream; did you mean topK\?$/);
    const broken = new FakeLM();
    broken.forward = () => {
      throw new Error('boom');
    };
    const s = stream(broken, [1]);
    await expect(collect(s)).rejects.toThrow('boom');
    await expect(s.result).rejects.toThrow('boom');
  });
});

describe('options are checked', () => {
  const model = new FakeLM();
  const bad = (options: object) => generate(model, [1], options as never);

  it("unknown names suggest ours, including transformers' and OpenAI's spellings", async () => {
    await expect(bad({ max_new_tokens: 5 })).rejects.toThrow(/^options\.max_new_tokens is not an option of generate; did you mean maxNewTokens\?$/);
    // @ts-expect-error the type rejects it too
    await expect(generate(model, [1], { top_k: 3 })).rejects.toThrow(/did you mean topK\?/);
    await expect(bad({ top_p: 0.9 })).rejects.toThrow(/did you mean topP\?/);
    await expect(bad({ min_p: 0.1 })).rejects.toThrow(/did you mean minP\?/);
    await expect(bad({ repetition_penalty: 1.2 })).rejects.toThrow(/did you mean repetitionPenalty\?/);
    await expect(bad({ logit_bias: {} })).rejects.toThrow(/did you mean logitBias\?/);
    await expect(bad({ eos_token_id: 2 })).rejects.toThrow(/did you mean eosTokenId\?/);
    await expect(bad({ do_sample: true })).rejects.toThrow(/sampling is on when temperature > 0/);
    await expect(bad({ max_length: 20 })).rejects.toThrow(/max_length counts the prompt too: use maxNewTokens/);
    await expect(bad({ max_tokens: 20 })).rejects.toThrow(/did you mean maxNewTokens\?/);
    await expect(bad({ temprature: 1 })).rejects.toThrow(/did you mean temperature\?/);
    await expect(bad({ num_beams: 4 })).rejects.toThrow(/beam search is not supported/);
  });

  it('bad values name the option, what it takes and what it got', async () => {
    await expect(bad({ temperature: -1 })).rejects.toThrow(/^generate: options\.temperature must be a finite number ≥ 0.*received -1$/);
    await expect(bad({ temperature: '1' })).rejects.toThrow(TypeError);
    await expect(bad({ topP: 0, temperature: 1 })).rejects.toThrow(/topP must be a number in \(0, 1\]/);
    await expect(bad({ topK: 1.5, temperature: 1 })).rejects.toThrow(/topK must be an integer ≥ 0.*received 1.5/);
    await expect(bad({ minP: 2, temperature: 1 })).rejects.toThrow(RangeError);
    await expect(bad({ repetitionPenalty: 0 })).rejects.toThrow(/repetitionPenalty must be a finite number > 0/);
    await expect(bad({ frequencyPenalty: 3 })).rejects.toThrow(/frequencyPenalty must be a number in \[-2, 2\]/);
    await expect(bad({ maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens must be an integer ≥ 1, received 0/);
    await expect(bad({ seed: 1.5 })).rejects.toThrow(/seed must be an integer/);
    await expect(bad({ stop: '' })).rejects.toThrow(/stop must not be empty/);
    await expect(bad({ stop: ['a', 3] })).rejects.toThrow(/stop\[1\] must be a string, received 3/);
    await expect(bad({ eosTokenId: VOCAB })).rejects.toThrow(/eosTokenId must be a token id, an integer in \[0, 261\], received 262/);
    await expect(bad({ logitBias: { x: 1 } })).rejects.toThrow(/logitBias keys must be token ids/);
    await expect(bad({ logitBias: { 3: Infinity } })).rejects.toThrow(/logitBias\[3\] must be a finite number or -Infinity/);
    await expect(bad({ signal: {} })).rejects.toThrow(/signal must be an AbortSignal/);
    await expect(bad({ cache: {} })).rejects.toThrow(/cache must be a cache from model.createCache/);
    await expect(bad({ cache: model.createCache(), maxLength: 10 })).rejects.toThrow(/pass cache or maxLength, not both/);
    await expect(bad({ maxLength: 1000 })).rejects.toThrow(/maxLength must be an integer in \[1, 256\]/);
    await expect(bad({ onToken: 3 })).rejects.toThrow(/onToken must be a function/);
    await expect(bad({ topP: 0.9 })).rejects.toThrow(/topP applies only when sampling: pass temperature > 0/);
  });

  it('checks the prompt', async () => {
    await expect(generate(model, [1, VOCAB])).rejects.toThrow(/prompt\[1\] must be a token id/);
    await expect(generate(model, [])).rejects.toThrow(/prompt is empty/);
    await expect(generate(model, 42 as never)).rejects.toThrow(/prompt must be a string or an array of token ids/);
    await expect(generate({} as never, [1])).rejects.toThrow(/model must be a causal language model/);
  });
});
