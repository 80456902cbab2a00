// Language-model mechanics that need no reference outputs: a prompt prefilled at once equals the
// same tokens fed one by one through the cache, on every build; the cache grows past its first
// allocation without changing results; a steady decode allocates nothing; a full cache and bad
// ids are clear errors. The logits themselves are checked against upstream code in test/lm.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, reference, type AttentionRuntime, type CausalLMModel } from '../src/index.js';
import { BUILDS, initRuntime, maxAbsDiff, runtimeFor } from './helpers.js';
import { tinyLlamaObjects } from './helpers/llama.js';

const V = 61;
const llamaObjects = () => tinyLlamaObjects({ vocab: V, seed: 11 });

const ids = (n: number, seed: number) => Array.from(reference.uniform(n, seed), (x) => Math.floor((x + 1) / 2 * (V - 1)));

describe.each(BUILDS)('language-model cache, %s build', (backend) => {
  let rt: AttentionRuntime;
  let lm: CausalLMModel;
  beforeAll(async () => {
    rt = await runtimeFor(backend);
    lm = await loadModel(rt, llamaObjects(), { kind: 'causal-lm' });
  });
  afterAll(() => lm.dispose());

  it('a prompt prefilled at once gives the logits of feeding it token by token', () => {
    const prompt = ids(40, 3);
    const all = lm.forward(prompt, { allLogits: true }).logits;
    expect(all.shape).toEqual([1, 40, V]);
    const cache = lm.createCache({ maxLength: 64 });
    const first = lm.forward(prompt.slice(0, 5), { cache }).logits.data;
    expect(maxAbsDiff(first, all.data.subarray(4 * V, 5 * V))).toBeLessThan(1e-5);
    for (let i = 5; i < 40; i++) {
      const step = lm.forward([prompt[i]!], { cache }).logits.data;
      expect(maxAbsDiff(step, all.data.subarray(i * V, (i + 1) * V))).toBeLessThan(1e-5);
    }
    expect(cache.length).toBe(40);
    cache.dispose();
  });

  it('the cache grows past its first allocation and keeps what it held', () => {
    const prompt = ids(300, 5);
    const cache = lm.createCache();
    expect(cache.maxLength).toBe(4096);
    const before = cache.capacity;
    expect(before).toBeLessThan(300);
    lm.forward(prompt.slice(0, 250), { cache });
    const stepwise = [];
    for (let i = 250; i < 300; i++) stepwise.push(lm.forward([prompt[i]!], { cache }).logits.data);
    expect(cache.capacity).toBeGreaterThanOrEqual(300);
    const all = lm.forward(prompt, { allLogits: true }).logits.data;
    stepwise.forEach((s, k) => expect(maxAbsDiff(s, all.subarray((250 + k) * V, (251 + k) * V))).toBeLessThan(1e-5));
    cache.dispose();
  });

  it('prompts of different lengths are left-padded: each gets its own logits', () => {
    const a = ids(5, 13), b = ids(9, 14);
    const both = lm.forward([a, b]).logits.data;
    expect(maxAbsDiff(both.subarray(0, V), lm.forward(a).logits.data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(both.subarray(V), lm.forward(b).logits.data)).toBeLessThan(1e-5);
  });

  it('a batch of equal-length prompts gives each prompt its own logits', () => {
    const a = ids(12, 7), b = ids(12, 8);
    const both = lm.forward([a, b]).logits;
    expect(both.shape).toEqual([2, V]);
    expect(maxAbsDiff(both.data.subarray(0, V), lm.forward(a).logits.data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(both.data.subarray(V), lm.forward(b).logits.data)).toBeLessThan(1e-5);
  });

  it('a steady decode loop allocates nothing: memory flat over 1000 tokens', () => {
    const cache = lm.createCache({ maxLength: 1200 }); // an explicit size is allocated at once
    expect(cache.capacity).toBe(1200);
    lm.forward(ids(100, 9), { cache });
    lm.forward([3], { cache }); // warm: the first step sizes the workspace
    const before = rt.memoryStats();
    for (let i = 0; i < 1000; i++) lm.forward([i % V], { cache });
    const after = rt.memoryStats();
    expect(after.bytesInUse).toBe(before.bytesInUse);
    expect(after.allocations).toBe(before.allocations);
    cache.dispose();
  });

  it('gives the same logits when the Wasm memory has to grow in the middle of a prefill or a step', async () => {
    const prompt = ids(20, 12);
    const cache = lm.createCache({ maxLength: 32 });
    const want = [lm.forward(prompt, { cache }).logits.data, lm.forward([5], { cache }).logits.data];
    cache.dispose();
    let grew = 0;
    for (let free = 512; free <= 16384; free += 512) {
      const small = await initRuntime({ backend, initialMemoryMiB: 1, threads: 1 });
      const m = await loadModel(small, llamaObjects(), { kind: 'causal-lm' });
      const c = m.createCache({ maxLength: 32 });
      const s = small.memoryStats();
      const filler = small.zeros([Math.floor((s.capacityBytes - s.bytesInUse - free) / 4)]);
      const before = small.memoryStats().capacityBytes;
      expect(m.forward(prompt, { cache: c }).logits.data, `free ${free}: prefill`).toEqual(want[0]);
      expect(m.forward([5], { cache: c }).logits.data, `free ${free}: step`).toEqual(want[1]);
      if (small.memoryStats().capacityBytes > before) grew++;
      filler.dispose();
      small.dispose();
    }
    expect(grew).toBeGreaterThan(10);
  });

  it('says when the cache is full, and names bad ids', () => {
    const cache = lm.createCache({ maxLength: 8 });
    lm.forward(ids(6, 10), { cache });
    expect(() => lm.forward(ids(3, 11), { cache })).toThrow(/the cache is full: it holds 6 of 8 positions and 3 more do not fit/);
    expect(cache.length).toBe(6);
    expect(() => lm.forward([V])).toThrow(RangeError);
    expect(() => lm.forward([[1, 2], [3]], { attentionMask: [[1, 1], [1]] })).toThrow(/with an attentionMask, the sequences must be padded to one length/);
    expect(() => lm.forward([[1, 2], [3, 4]], { attentionMask: [[1, 1], [1, 0]] })).toThrow(/only left padding/);
    expect(() => lm.forward([1], { cache: {} as never })).toThrow(/made by this model's createCache/);
    cache.dispose();
  });
});
