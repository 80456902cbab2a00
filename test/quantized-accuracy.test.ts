// How far q8 and q4 weights move each model from its own f32 self (docs/accuracy.md, "Q8 and Q4
// weights"; bench/quantized-accuracy.mjs prints the same figures and the E1 checkpoint's):
//   language models: KL(f32 ‖ q) of the next-token distribution, mean over every position of the
//     fixtures' prompts (allLogits);
//   encoders: the cosine of each sentence embedding (the checkpoint's pooling) to the f32 one.
// Every build and both thread projects: threads do not change a bit, and the builds agree to the
// digits given here (the quantized block sums are exact integers; the scalar build's float32 steps
// differ just enough to round an occasional product input to the neighbouring integer: bert-mini-st
// in q4 differs there from the SIMD builds in the fourth digit).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { BUILDS, runtimeFor } from './helpers.js';
import { klDivergence } from './helpers/kl.js';

const LM_DIR = fileURLToPath(new URL('./fixtures/lm/', import.meta.url));
const ENC_DIR = fileURLToPath(new URL('./fixtures/checkpoints/', import.meta.url));
const LM = (JSON.parse(readFileSync(`${LM_DIR}expected.json`, 'utf8')) as { checkpoints: Record<string, { prompts: { input_ids: number[] }[] }> }).checkpoints;
const ENC = (JSON.parse(readFileSync(`${ENC_DIR}expected.json`, 'utf8')) as { checkpoints: Record<string, { batch: { input_ids: number[][]; attention_mask: number[][] } }> }).checkpoints;

/**
 * Mean KL bounds per checkpoint, about 1.5× the measured figure (given in the comment). The targets
 * are q8 ≤ 1e-3 and q4 ≤ 2e-2. In q8 llama, llama3-scaled, mistral and phi3 meet it (gemma3
 * trivially, below); qwen2, qwen3 and the gpt2 pair do not: KL grows with the square of the logits'
 * spread, and their f32 logits have a standard deviation near 5.6 to 7 (llama, mistral, phi3 near
 * 1.5). Swapping modules between the f32 and the quantized model puts most of it in the attention
 * projections (40–76%), then the MLP (21–43%), the head least (5–19%). The products' inputs are
 * rounded to 13 bits for Q8 weights, so there the weights' own rounding gives nearly all of it (with
 * int8 inputs the mean KL was 1.4–5× higher); in q4 the weights give nearly all too. gemma3 and
 * llama3-scaled have hidden 48: every matrix reading the hidden state stays f32 (48 is not a multiple
 * of 32) and only o_proj / down_proj are quantized; in gemma3 those add little to a residual stream
 * scaled by √48, hence ~1e-11.
 */
const KL_BOUNDS: Record<string, { q8: number; q4: number }> = {
  llama: { q8: 1.1e-3, q4: 0.27 }, // measured 7.2e-4, 1.8e-1
  'llama3-scaled': { q8: 7.5e-4, q4: 0.15 }, // 5.0e-4, 1.0e-1
  mistral: { q8: 9e-4, q4: 0.18 }, // 5.8e-4, 1.2e-1
  qwen2: { q8: 1e-2, q4: 2.1 }, // 6.4e-3, 1.4
  qwen3: { q8: 4.7e-3, q4: 1.7 }, // 3.1e-3, 1.1
  gemma3: { q8: 1e-9, q4: 1e-7 }, // 7.7e-12, 1.4e-9
  gpt2: { q8: 2.9e-3, q4: 0.68 }, // 1.9e-3, 4.5e-1
  'gpt2-noprefix': { q8: 4.2e-3, q4: 1.2 }, // 2.8e-3, 7.7e-1
  phi3: { q8: 1.1e-3, q4: 0.23 }, // 7.1e-4, 1.5e-1
};

/**
 * Encoder targets: q8 ≥ 0.999 (met by every fixture: lowest 0.9996) and q4 ≥ 0.99, which none of
 * these hidden-32 checkpoints meets (lowest per checkpoint 0.938 … 0.979; attention and feed-forward
 * share the loss about equally). Their weights (std ≈ 0.25) lengthen vectors at each projection and
 * make attention sharp, so errors grow through the layers; the MiniLM-shaped E1 checkpoint
 * (N(0, 0.02) weights, nearly uniform attention) reaches 0.99999 (q8) and 0.9979 (q4). The word tables are quantized too (one Q8 / Q4 table,
 * shared with a tied head).
 */
const COSINE_FLOOR = { q8: 0.999, q4: 0.93 };

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) (ab += a[i]! * b[i]!, aa += a[i]! ** 2, bb += b[i]! ** 2);
  return ab / Math.sqrt(aa * bb);
}

describe.each(BUILDS)('q8 and q4 against f32, %s build', (backend) => {
  it.each(Object.keys(LM))('language model %s: mean next-token KL within its bound', async (name) => {
    const rt = await runtimeFor(backend);
    const prompts = LM[name]!.prompts.map((p) => p.input_ids);
    const f32 = await loadModel(rt, `${LM_DIR}${name}`, { kind: 'causal-lm' });
    const V = f32.vocabSize;
    const ref = prompts.map((ids) => f32.forward(ids, { allLogits: true }).logits.data);
    f32.dispose();
    for (const dtype of ['q8', 'q4'] as const) {
      const m = await loadModel(rt, `${LM_DIR}${name}`, { kind: 'causal-lm', dtype });
      let sum = 0, positions = 0;
      prompts.forEach((ids, i) => {
        const got = m.forward(ids, { allLogits: true }).logits.data;
        for (let t = 0; t < ids.length; t++, positions++) sum += klDivergence(ref[i]!.subarray(t * V, (t + 1) * V), got.subarray(t * V, (t + 1) * V));
      });
      m.dispose();
      const mean = sum / positions;
      console.log(`${dtype} ${name} ${backend}: mean KL ${mean.toExponential(2)} over ${positions} positions`);
      expect(mean).toBeGreaterThanOrEqual(0);
      expect(mean).toBeLessThan(KL_BOUNDS[name]![dtype]);
    }
  });

  it.each(Object.keys(ENC))('encoder %s: every sentence embedding within the cosine floor of the f32 one', async (name) => {
    const rt = await runtimeFor(backend);
    const b = ENC[name]!.batch;
    const rows = b.input_ids.map((ids, i) => ids.filter((_, j) => b.attention_mask[i]![j] === 1));
    const embed = async (dtype: 'f32' | 'q8' | 'q4') => {
      const m = await loadModel(rt, `${ENC_DIR}${name}`, { kind: 'encoder', dtype });
      const e = m.hiddenSize;
      const out = m.embed(rows);
      m.dispose();
      return rows.map((_, i) => out.subarray(i * e, (i + 1) * e));
    };
    const ref = await embed('f32');
    for (const dtype of ['q8', 'q4'] as const) {
      const got = await embed(dtype);
      const lowest = Math.min(...got.map((g, i) => cosine(g, ref[i]!)));
      console.log(`${dtype} encoder ${name} ${backend}: lowest cosine ${lowest.toFixed(5)}`);
      expect(lowest).toBeGreaterThanOrEqual(COSINE_FLOOR[dtype]);
      expect(lowest).toBeLessThanOrEqual(1 + 1e-6);
    }
  });
});
