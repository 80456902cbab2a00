// `npm run bench:accuracy -- [--backend b] [--cache DIR] [--no-e1] [--no-lm-shapes] [--lm-cache DIR]` (bench/quantized-accuracy.mjs):
// how far q8 and q4 weights move each model from its f32 self, printed as the tables of
// docs/accuracy.md ("Q8 and Q4 weights"). `--checkpoint DIR [--texts FILE]` measures one Hugging Face
// checkpoint folder instead, on the lines of FILE (default: six sentences of the test fixtures): an
// encoder's embedding cosines, or a language model's next-token KL over every position of each line
// (q8, q4) and the f16 / bf16 / cache table below.
// The figures:
//   language models (test/fixtures/lm/*): KL(f32 ‖ q) of the next-token distribution, mean over
//     every position of the fixtures' prompts (allLogits), and how often the top token agrees;
//   encoders (test/fixtures/checkpoints/*, and the trained BERT of test/fixtures/encoder-trained on
//     its 32 held-out sentences): cosine of each sentence embedding (the checkpoint's pooling) to the
//     f32 one, the lowest and the mean over the batch;
//   the trained language models (test/fixtures/lm-trained/*: a Llama and a GPT-2 trained on Moby-Dick
//     chapters 1–125): the same KL over every position of four held-out prompts of 64 ids, and a
//     second table with f16 / bf16 weights (KL and the logits' normwise error) and f16 / q8 caches
//     (48 ids decoded one at a time after a 16-id prefill, against an f32 cache), and a third with
//     the tables and head in another dtype than the layers (embeddingDtype);
//   LM1 and LM2, the language-model bench's SmolLM2-135M- and Qwen2.5-0.5B-shaped checkpoints
//     (bench/lm-weights.mjs, random N(0, 0.02) weights, written once into --lm-cache): the same KL
//     over three id prompts of 24, 48 and 64 tokens;
//   E1, the all-MiniLM-L6-v2-shaped BERT of the encoder benchmark (bench/encoder-checkpoint.mjs,
//     random N(0, 0.02) weights): the same cosines over its 32 sentences × 128 tokens;
//   the date normaliser: exact answers on the test's 2,000 random dates (seed 20251).
// The builds agree to about the digits printed (the block sums are exact integers; a scalar-build
// product input can round to the neighbouring integer). test/quantized-accuracy.test.ts checks the
// fixtures' bounds on every build.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, loadDateNormalizer, loadModel } from '../dist/index.js';
import { ENCODER_SHAPES, ensureCheckpoint, sentences } from './encoder-checkpoint.mjs';
import { randomDates } from './date-rows.mjs';
import { SHAPES, prompt, writeCheckpoint } from './lm-weights.mjs';
import { homedir } from 'node:os';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const LM_DIR = join(HERE, '../test/fixtures/lm/');
const TRAINED_DIR = join(HERE, '../test/fixtures/lm-trained/');
const ENC_DIR = join(HERE, '../test/fixtures/checkpoints/');
const rt = await init({ threads: 1, ...(arg('--backend') ? { backend: arg('--backend') } : {}) });
console.log(`build ${rt.backend}, 1 thread\n`);

/** log-softmax of one row. */
function logSoftmax(x) {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  let z = 0;
  for (const v of x) z += Math.exp(v - max);
  const lse = max + Math.log(z);
  return Float64Array.from(x, (v) => v - lse);
}

/** Σ_v p(v)·(log p(v) − log q(v)) for logit rows a (p) and b (q). */
function kl(a, b) {
  const lp = logSoftmax(a), lq = logSoftmax(b);
  let s = 0;
  for (let v = 0; v < lp.length; v++) s += Math.exp(lp[v]) * (lp[v] - lq[v]);
  return s;
}

function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) (ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i]);
  return ab / Math.sqrt(aa * bb);
}

const argmax = (x) => x.reduce((best, v, i) => (v > x[best] ? i : best), 0);
const fmt = (x) => (x === 0 ? '0' : x.toExponential(1));

/** Mean and largest KL(f32 ‖ q) and the share of positions with the same top token, over every position of the prompts (token-id rows). */
async function lmRow(source, prompts) {
  const f32 = await loadModel(rt, source, { kind: 'causal-lm' });
  const ref = prompts.map((ids) => f32.forward(ids, { allLogits: true }).logits.data);
  const V = f32.vocabSize;
  f32.dispose();
  const cells = [];
  let positions = 0;
  for (const dtype of ['q8', 'q4']) {
    const m = await loadModel(rt, source, { kind: 'causal-lm', dtype });
    let sum = 0, max = 0, agree = 0;
    positions = 0;
    prompts.forEach((ids, i) => {
      const got = m.forward(ids, { allLogits: true }).logits.data;
      for (let t = 0; t < ids.length; t++) {
        const a = ref[i].subarray(t * V, (t + 1) * V), b = got.subarray(t * V, (t + 1) * V);
        const d = kl(a, b);
        sum += d;
        max = Math.max(max, d);
        if (argmax(a) === argmax(b)) agree++;
        positions++;
      }
    });
    m.dispose();
    cells.push(fmt(sum / positions), fmt(max), `${((100 * agree) / positions).toFixed(0)}%`);
  }
  return { positions, cells };
}
/** Token-id prompts for a checkpoint without a tokenizer: the language-model bench's prompts of 24, 48 and 64 ids. */
const lmPrompts = (vocab) => [24, 48, 64].map((n, i) => prompt(n, 7 + i).ids.map((id) => id % vocab));
const LM_HEADER = ['| checkpoint | positions | q8 mean KL | q8 max KL | q8 top-1 | q4 mean KL | q4 max KL | q4 top-1 |', '|---|---|---|---|---|---|---|---|'];
const ENC_HEADER = ['| encoder | sentences | q8 lowest cosine | q8 mean cosine | q4 lowest cosine | q4 mean cosine |', '|---|---|---|---|---|---|'];

/** ‖a − b‖₂ / ‖b‖₂ over rows taken as one vector. */
function normwiseRows(a, b) {
  let d = 0, n = 0;
  b.forEach((row, r) => row.forEach((v, i) => ((d += (a[r][i] - v) ** 2), (n += v * v))));
  return Math.sqrt(d / n);
}
const meanKl = (ref, got) => ref.reduce((s, r, i) => s + kl(r, got[i]), 0) / ref.length;
/** Logit rows of every position of every prompt. */
function allRows(lm, prompts) {
  const V = lm.vocabSize;
  return prompts.flatMap((ids) => {
    const data = lm.forward(ids, { allLogits: true }).logits.data;
    return ids.map((_, t) => data.slice(t * V, (t + 1) * V));
  });
}
/** 16 ids (fewer in a shorter prompt) prefilled into a cache of kvDtype, the rest of each prompt fed one at a time: the rows of each step. */
function decodedRows(lm, prompts, kvDtype) {
  return prompts.filter((ids) => ids.length > 1).flatMap((ids) => {
    const cache = lm.createCache({ maxLength: ids.length, kvDtype });
    const prefill = Math.min(16, ids.length - 1);
    const rows = [lm.forward(ids.slice(0, prefill), { cache }).logits.data];
    for (const t of ids.slice(prefill)) rows.push(lm.forward([t], { cache }).logits.data);
    cache.dispose();
    return rows;
  });
}
const HALF_HEADER = ['| checkpoint | f16 weights: mean KL | f16 logits normwise | bf16 weights: mean KL | bf16 logits normwise | kv f16: logits normwise | kv q8: mean KL |', '|---|---|---|---|---|---|---|'];
/** f16 / bf16 weights against f32 (every position), and f16 / q8 caches against an f32 one (decoded rows). */
async function halfRow(dir, prompts) {
  const f32 = await loadModel(rt, dir, { kind: 'causal-lm' });
  const ref = allRows(f32, prompts);
  const dec = decodedRows(f32, prompts, 'f32');
  const kv = [normwiseRows(decodedRows(f32, prompts, 'f16'), dec), meanKl(dec, decodedRows(f32, prompts, 'q8'))];
  f32.dispose();
  const cells = [];
  for (const dtype of ['f16', 'bf16']) {
    const m = await loadModel(rt, dir, { kind: 'causal-lm', dtype });
    const got = allRows(m, prompts);
    m.dispose();
    cells.push(fmt(meanKl(ref, got)), fmt(normwiseRows(got, ref)));
  }
  return [...cells, fmt(kv[0]), fmt(kv[1])];
}

if (arg('--checkpoint')) {
  const dir = resolve(arg('--checkpoint'));
  const fixtureTexts = JSON.parse(readFileSync(join(HERE, '../test/fixtures/checkpoints/inputs.json'), 'utf8')).checkpoints['bert-mini-st'].batch.texts;
  const texts = arg('--texts') ? readFileSync(arg('--texts'), 'utf8').split('\n').filter((l) => l.trim() !== '') : fixtureTexts;
  const probe = await loadModel(rt, dir);
  const kind = probe.kind;
  // a language model without a tokenizer (the bench's random checkpoints): the id prompts of LM_PROMPTS
  const prompts = kind === 'causal-lm' ? (probe.tokenizer ? texts.map((t) => probe.tokenizer.encode(t)) : lmPrompts(probe.vocabSize)) : undefined;
  probe.dispose();
  if (kind === 'causal-lm') {
    const { positions, cells } = await lmRow(dir, prompts);
    console.log([...LM_HEADER, `| ${dir} | ${positions} | ${cells.join(' | ')} |`].join('\n'));
    console.log(['', ...HALF_HEADER, `| ${dir} | ${(await halfRow(dir, prompts)).join(' | ')} |`].join('\n'));
  } else {
    console.log([...ENC_HEADER, `| ${dir} | ${texts.length} | ${(await cosines(dir, texts)).join(' | ')} |`].join('\n'));
  }
  rt.dispose();
  process.exit(0);
}

// ---- language models
const lmInputs = JSON.parse(readFileSync(join(LM_DIR, 'expected.json'), 'utf8')).checkpoints;
console.log(LM_HEADER.join('\n'));
for (const name of Object.keys(lmInputs)) {
  const { positions, cells } = await lmRow(join(LM_DIR, name), lmInputs[name].prompts.map((p) => p.input_ids));
  console.log(`| ${name} | ${positions} | ${cells.join(' | ')} |`);
}
// the trained checkpoints: q8 / q4 rows here, 16-bit weights and caches in their own table below
const trained = JSON.parse(readFileSync(join(TRAINED_DIR, 'expected.json'), 'utf8')).checkpoints;
const trainedPrompts = (name) => trained[name].prompts.map((p) => p.input_ids);
for (const name of Object.keys(trained)) {
  const { positions, cells } = await lmRow(join(TRAINED_DIR, name), trainedPrompts(name));
  console.log(`| trained ${name} | ${positions} | ${cells.join(' | ')} |`);
}
// the language-model bench's random checkpoints (N(0, 0.02) weights, as Hugging Face initialises them) at real shapes
if (!process.argv.includes('--no-lm-shapes')) {
  const cache = resolve(arg('--lm-cache', join(homedir(), '.cache', 'wasm-attention-bench')));
  for (const [id, title] of [['LM1', 'SmolLM2-135M shape, Llama'], ['LM2', 'Qwen2.5-0.5B shape, Qwen2']]) {
    const dir = writeCheckpoint(join(cache, id.toLowerCase()), SHAPES[id]);
    const { positions, cells } = await lmRow(dir, lmPrompts(SHAPES[id].vocab_size));
    console.log(`| ${id}: ${title}, random N(0, 0.02) weights (\`bench/lm-weights.mjs\`) | ${positions} | ${cells.join(' | ')} |`);
  }
}

console.log(`\n${HALF_HEADER.join('\n').replace('| checkpoint |', '| trained checkpoint |')}`);
for (const name of Object.keys(trained)) console.log(`| ${name} | ${(await halfRow(join(TRAINED_DIR, name), trainedPrompts(name))).join(' | ')} |`);
// layers and tables in different dtypes (embeddingDtype): q4 layers with q8 tables and head, q8 layers with f16 ones
console.log('\n| trained checkpoint | q4 layers, q8 tables and head: mean KL | q8 layers, f16 tables and head: mean KL |\n|---|---|---|');
for (const name of Object.keys(trained)) {
  const dir = join(TRAINED_DIR, name), prompts = trainedPrompts(name);
  const f32 = await loadModel(rt, dir, { kind: 'causal-lm' });
  const ref = allRows(f32, prompts);
  f32.dispose();
  const cells = [];
  for (const [dtype, embeddingDtype] of [['q4', 'q8'], ['q8', 'f16']]) {
    const m = await loadModel(rt, dir, { kind: 'causal-lm', dtype, embeddingDtype });
    cells.push(fmt(meanKl(ref, allRows(m, prompts))));
    m.dispose();
  }
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}

// ---- encoders
const encInputs = JSON.parse(readFileSync(join(ENC_DIR, 'expected.json'), 'utf8')).checkpoints;
/** Each sentence's embedding (the checkpoint's pooling) for token-id rows. */
async function embeddings(dir, dtype, rows) {
  const m = await loadModel(rt, dir, { kind: 'encoder', dtype });
  const e = m.hiddenSize;
  const out = m.embed(rows);
  m.dispose();
  return rows.map((_, i) => out.subarray(i * e, (i + 1) * e));
}
async function cosines(dir, rows) {
  const ref = await embeddings(dir, 'f32', rows);
  const cells = [];
  for (const dtype of ['q8', 'q4']) {
    const got = await embeddings(dir, dtype, rows);
    const c = got.map((g, i) => cosine(g, ref[i]));
    cells.push(Math.min(...c).toFixed(5), (c.reduce((a, x) => a + x, 0) / c.length).toFixed(5));
  }
  return cells;
}
console.log(`\n${ENC_HEADER.join('\n')}`);
for (const name of Object.keys(encInputs)) {
  const b = encInputs[name].batch;
  const rows = b.input_ids.map((ids, i) => ids.filter((_, j) => b.attention_mask[i][j] === 1));
  console.log(`| ${name} | ${rows.length} | ${(await cosines(join(ENC_DIR, name), rows)).join(' | ')} |`);
}
// the trained BERT (test/fixtures/encoder-trained: masked-LM on Moby-Dick), 32 held-out sentences
{
  const dir = join(HERE, '../test/fixtures/encoder-trained/');
  const rows = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')).sentences.map((x) => x.input_ids);
  console.log(`| trained bert | ${rows.length} | ${(await cosines(join(dir, 'bert'), rows)).join(' | ')} |`);
}
if (!process.argv.includes('--no-e1')) {
  const shape = ENCODER_SHAPES.minilm;
  const ck = ensureCheckpoint(resolve(arg('--cache', join(HERE, '.cache'))), 'bert-minilm', shape, { log: (s) => console.error(s) });
  const tok = JSON.parse(readFileSync(join(ck.dir, 'tokenizer.json'), 'utf8'));
  const texts = sentences(tok, 32, 128);
  console.log(`| E1 (all-MiniLM-L6-v2 shape, random weights) | ${texts.length} × 128 tokens | ${(await cosines(ck.dir, texts)).join(' | ')} |`);
}

// ---- the date normaliser
const rows = randomDates(2000, 20251);
const cells = [];
for (const dtype of ['f32', 'q8', 'q4']) {
  const dn = await loadDateNormalizer(rt, { dtype });
  const out = dn.normalizeBatch(rows.map((r) => r.text));
  const right = out.filter((o, i) => o.output === rows[i].iso).length;
  cells.push(`${((100 * right) / rows.length).toFixed(2)}%`);
  dn.dispose();
}
console.log(`\n| date normaliser, 2,000 random dates | f32 ${cells[0]} | q8 ${cells[1]} | q4 ${cells[2]} |`);
rt.dispose();
