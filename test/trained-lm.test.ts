// Two small trained language models (test/fixtures/lm-trained: a Llama trained with the
// transformers-following PyTorch of tools/lm_fixtures.py, stored BF16; a GPT-2 trained with
// karpathy/nanoGPT's model.py, stored F32; both on Moby-Dick chapters 1–125, evaluated on held-out
// chapters, tools/trained_lm_fixtures.py). First, that f32 loads them as their trainers run them;
// then how far each weight dtype and each cache dtype moves their next-token distributions, with the
// targets mean KL ≤ 1e-3 (q8, kv q8), ≤ 2e-2 (q4) and logits within 1e-3 normwise (f16, bf16, kv f16);
// and q4 layers with the word table and head kept at q8 (embeddingDtype).
// Bounds are about 1.5× the figure measured (in the comments); docs/accuracy.md has the table.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel, type CausalLMModel } from '../src/index.js';
import { BUILDS, normwise, runtimeFor } from './helpers.js';
import { klDivergence } from './helpers/kl.js';

const DIR = fileURLToPath(new URL('./fixtures/lm-trained/', import.meta.url));
interface Prompt { input_ids: number[]; last_logits: number[]; greedy_tokens?: number[] }
const EXPECTED = (JSON.parse(readFileSync(`${DIR}expected.json`, 'utf8')) as { checkpoints: Record<string, { prompts: Prompt[] }> }).checkpoints;

type WeightDtype = 'f16' | 'bf16' | 'q8' | 'q4';
/**
 * Per checkpoint and dtype: the bound on the mean KL and (f16, bf16) on the normwise logit error;
 * about 1.5× the figure measured on every build (in the comments). Targets met: q8, f16 and both
 * caches on both models; bf16 on the Llama (stored BF16: exact); q4 layers with q8 tables on both
 * (asserted at the target itself). Missed: q4 alone on both (Q4_0's rounding of a trained model:
 * attention, MLP and the tied word table each move the Llama ~1e-2; the tables alone give ~70% of
 * GPT-2's), and bf16 on the F32-stored GPT-2 (normwise 1.8e-3: bf16 keeps 8 significant bits, its
 * next-token KL is 3e-5).
 */
const BOUNDS: Record<string, Record<WeightDtype, { kl: number; normwise?: number }> & { kvF16: number; kvQ8: number; q4Q8Tables: number }> = {
  llama: {
    f16: { kl: 1e-11, normwise: 1e-6 }, // 4.9e-13, 2.5e-7 (BF16 values below f16's normal range lose bits)
    bf16: { kl: 0, normwise: 0 }, // stored BF16: the same bits as f32
    q8: { kl: 2.1e-4 }, // 1.37e-4
    q4: { kl: 4.4e-2 }, // 2.92e-2
    q4Q8Tables: 2e-2, // 1.77e-2 (the target)
    kvF16: 2e-4, // 1.34e-4
    kvQ8: 7.5e-5, // 5.0e-5
  },
  gpt2: {
    f16: { kl: 6e-7, normwise: 2.7e-4 }, // 3.7e-7, 1.8e-4
    bf16: { kl: 5e-5, normwise: 2.7e-3 }, // 3.2e-5, 1.8e-3
    q8: { kl: 6e-4 }, // 4.0e-4
    q4: { kl: 0.13 }, // 8.69e-2
    q4Q8Tables: 2e-2, // 1.76e-2 (the target)
    kvF16: 1.3e-4, // 8.4e-5
    kvQ8: 6e-5, // 4.0e-5
  },
};

/** Logit rows of every position of every prompt, split per position. */
function allRows(lm: CausalLMModel, prompts: number[][]): Float32Array[] {
  const V = lm.vocabSize;
  return prompts.flatMap((ids) => {
    const data = lm.forward(ids, { allLogits: true }).logits.data;
    return ids.map((_, t) => data.slice(t * V, (t + 1) * V));
  });
}

/** Each prompt's first PREFILL ids prefilled into a cache of kvDtype, the rest fed one at a time: the last prefill row and each step's row. */
const PREFILL = 16;
function decodedRows(lm: CausalLMModel, prompts: number[][], kvDtype: 'f32' | 'f16' | 'q8'): Float32Array[] {
  return prompts.flatMap((ids) => {
    const cache = lm.createCache({ maxLength: ids.length, kvDtype });
    try {
      const rows = [lm.forward(ids.slice(0, PREFILL), { cache }).logits.data];
      for (const t of ids.slice(PREFILL)) rows.push(lm.forward([t], { cache }).logits.data);
      return rows;
    } finally {
      cache.dispose();
    }
  });
}

const meanKl = (ref: Float32Array[], got: Float32Array[]) => ref.reduce((s, r, i) => s + klDivergence(r, got[i]!), 0) / ref.length;

describe.each(BUILDS)('trained language models, %s build', (backend) => {
  describe.each(Object.keys(EXPECTED))('%s', (name) => {
    const expected = EXPECTED[name]!;
    const prompts = expected.prompts.map((p) => p.input_ids);

    it('f32: each prompt\'s last logits within 1e-4 normwise of its trainer\'s code, and the same 20 greedy tokens', async () => {
      const rt = await runtimeFor(backend);
      const lm = await loadModel(rt, `${DIR}${name}`, { kind: 'causal-lm' });
      try {
        for (const p of expected.prompts) expect(normwise(lm.forward(p.input_ids).logits.data, p.last_logits)).toBeLessThan(1e-4);
        const first = expected.prompts[0]!;
        const cache = lm.createCache({ maxLength: first.input_ids.length + first.greedy_tokens!.length });
        let logits = lm.forward(first.input_ids, { cache }).logits.data;
        const tokens: number[] = [];
        for (let k = 0; k < first.greedy_tokens!.length; k++) {
          const next = logits.reduce((best, v, i) => (v > logits[best]! ? i : best), 0);
          tokens.push(next);
          logits = lm.forward([next], { cache }).logits.data;
        }
        cache.dispose();
        expect(tokens).toEqual(first.greedy_tokens);
      } finally {
        lm.dispose();
      }
    });

    it('weights in f16, bf16, q8, q4: mean next-token KL (and f16 / bf16 logits normwise) within bounds', async () => {
      const rt = await runtimeFor(backend);
      const f32 = await loadModel(rt, `${DIR}${name}`, { kind: 'causal-lm' });
      const ref = allRows(f32, prompts);
      f32.dispose();
      for (const dtype of ['f16', 'bf16', 'q8', 'q4'] as const) {
        const lm = await loadModel(rt, `${DIR}${name}`, { kind: 'causal-lm', dtype });
        const got = allRows(lm, prompts);
        lm.dispose();
        const bound = BOUNDS[name]![dtype];
        const mean = meanKl(ref, got);
        const nw = normwise(got.flatMap((r) => [...r]), ref.flatMap((r) => [...r]));
        console.log(`${name} ${dtype} ${backend}: mean KL ${mean.toExponential(2)}, logits normwise ${nw.toExponential(2)} over ${ref.length} positions`);
        expect(mean).toBeGreaterThanOrEqual(0);
        expect(mean).toBeLessThanOrEqual(bound.kl);
        if (bound.normwise !== undefined) expect(nw).toBeLessThanOrEqual(bound.normwise);
      }
    });

    it('q4 layers with the tables and head at q8 (embeddingDtype): mean KL within its bound, the tables\' bytes in q8', async () => {
      const rt = await runtimeFor(backend);
      const f32 = await loadModel(rt, `${DIR}${name}`, { kind: 'causal-lm' });
      const ref = allRows(f32, prompts);
      f32.dispose();
      const lm = await loadModel(rt, `${DIR}${name}`, { kind: 'causal-lm', dtype: 'q4', embeddingDtype: 'q8' });
      try {
        const mean = meanKl(ref, allRows(lm, prompts));
        console.log(`${name} q4 + q8 tables ${backend}: mean KL ${mean.toExponential(2)}`);
        expect(mean).toBeGreaterThanOrEqual(0);
        expect(mean).toBeLessThanOrEqual(BOUNDS[name]!.q4Q8Tables);
        const config = JSON.parse(readFileSync(`${DIR}${name}/config.json`, 'utf8')) as Record<string, number>;
        const tableRows = lm.vocabSize + (name === 'gpt2' ? config['n_positions']! : 0); // GPT-2's learned positions too; both heads tied
        expect(lm.weightBytes.q8).toBe(tableRows * lm.hiddenSize * (1 + 4 / 32));
      } finally {
        lm.dispose();
      }
    });

    it('caches in f16 and q8: decoding logits within bounds of the f32 cache\'s', async () => {
      const rt = await runtimeFor(backend);
      const lm = await loadModel(rt, `${DIR}${name}`, { kind: 'causal-lm' });
      try {
        const ref = decodedRows(lm, prompts, 'f32');
        const f16 = decodedRows(lm, prompts, 'f16');
        const q8 = decodedRows(lm, prompts, 'q8');
        const nw = normwise(f16.flatMap((r) => [...r]), ref.flatMap((r) => [...r]));
        const klQ8 = meanKl(ref, q8);
        console.log(`${name} kv ${backend}: f16 normwise ${nw.toExponential(2)}, q8 mean KL ${klQ8.toExponential(2)} over ${ref.length} rows`);
        expect(nw).toBeLessThan(BOUNDS[name]!.kvF16);
        expect(klQ8).toBeLessThan(BOUNDS[name]!.kvQ8);
      } finally {
        lm.dispose();
      }
    });
  });
});
