// `npm run bench:dates`: the shipped date normaliser (models/date-normalizer), side by side in one
// tinybench run, greedy decoding:
//   DN1    one date (a fixed mix: each task cycles through 64 dates, one per call)
//   DN256  a batch of 256 dates (normalizeBatch: one batched decode)
// Contenders: this runtime (each build, threads: 1), the plain-JS twin (loadDateNormalizer over
// `reference`), onnxruntime-web (wasm, 1 thread) and onnxruntime-node (CPU, 1 thread) running the
// exported graphs (onnx/encoder.onnx once, onnx/decoder-step.onnx per step) with the same greedy
// loop in JS (argmax, stop at <eos> or maxLength); the graphs take one sentence, so DN256 is 256
// such loops. Every contender's outputs are checked against the ISO dates first.
//
//   node --experimental-wasm-relaxed-simd bench/date-normalizer.mjs [--peers DIR] [--time MS]
// DIR holds node_modules with onnxruntime-web / onnxruntime-node (default bench/peers).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { init, loadDateNormalizer, reference, supportedBackends } from '../dist/index.js';
import { randomDates } from './date-rows.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const peersDir = resolve(arg('--peers', fileURLToPath(new URL('./peers/', import.meta.url))));
const time = Number(arg('--time', '2000'));
const modelDir = new URL('../models/date-normalizer/', import.meta.url);
const vocab = JSON.parse(readFileSync(new URL('vocab.json', modelDir), 'utf8'));

const rows = randomDates(256, 31337);
const texts = rows.map((r) => r.text);
const one = texts.slice(0, 64);

/** contenders: { name, one(text) → iso, batch(texts) → iso[] } */
const contenders = [];
const runtimes = [];
for (const backend of supportedBackends()) {
  const rt = await init({ backend, threads: 1 });
  runtimes.push(rt);
  const dn = await loadDateNormalizer(rt);
  contenders.push({ name: `wasm-attention ${backend} 1T`, one: (t) => dn.normalize(t).output, batch: (ts) => dn.normalizeBatch(ts).map((r) => r.output) });
}
{
  const dn = await loadDateNormalizer(reference);
  contenders.push({ name: 'plain JS (reference)', one: (t) => dn.normalize(t).output, batch: (ts) => dn.normalizeBatch(ts).map((r) => r.output) });
}

// onnxruntime: -node first (it must own the 'cpu' backend name), then -web ('wasm').
const require = createRequire(join(peersDir, 'package.json'));
const skipped = [];
for (const [pkg, label] of [['onnxruntime-node', 'ort-node 1T'], ['onnxruntime-web', 'ort-web 1T']]) {
  let ort;
  try {
    ort = require(pkg);
  } catch (error) {
    skipped.push(`${label}: not installed in ${peersDir} (${error.code ?? error.message})`);
    continue;
  }
  const web = pkg === 'onnxruntime-web';
  if (web) {
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
  }
  const options = web ? { executionProviders: ['wasm'], graphOptimizationLevel: 'all' } : { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 };
  const encoder = await ort.InferenceSession.create(readFileSync(new URL('onnx/encoder.onnx', modelDir)), options);
  const step = await ort.InferenceSession.create(readFileSync(new URL('onnx/decoder-step.onnx', modelDir)), options);
  const index = new Map(vocab.input.map((s, i) => [s, i]));
  const V = vocab.output.length;
  const decode = async (text) => {
    const ids = [...text].map((c) => index.get(c));
    ids.push(vocab.inputEos);
    const enc = await encoder.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
    let hidden = enc.hidden;
    let token = vocab.sos;
    let out = '';
    for (let t = 0; t < vocab.maxLength; t++) {
      const r = await step.run({ token: new ort.Tensor('int64', BigInt64Array.of(BigInt(token)), [1, 1]), hidden, encoder_outputs: enc.outputs });
      const lp = r.log_probs.data;
      token = 0;
      for (let v = 1; v < V; v++) if (lp[v] > lp[token]) token = v;
      if (token === vocab.eos) break;
      out += vocab.output[token];
      hidden = r.hidden_out;
    }
    return out;
  };
  contenders.push({
    name: label,
    async: true,
    one: decode,
    batch: async (ts) => {
      const out = [];
      for (const t of ts) out.push(await decode(t));
      return out;
    },
  });
}

// correctness first
for (const c of contenders) {
  const got = await c.batch(texts);
  const right = got.filter((o, i) => o === rows[i].iso).length;
  if (right < 0.99 * texts.length) throw new Error(`${c.name}: ${right} of ${texts.length} dates right`);
  c.accuracy = right / texts.length;
}

const results = {};
for (const [workload, fn] of [
  ['DN1 one date', (c) => {
    let i = 0;
    return c.async ? async () => void (await c.one(one[i++ % one.length])) : () => void c.one(one[i++ % one.length]);
  }],
  ['DN256 batch of 256 dates', (c) => (c.async ? async () => void (await c.batch(texts)) : () => void c.batch(texts))],
]) {
  const bench = new Bench({ time, warmupTime: Math.min(500, time / 4) });
  for (const c of contenders) bench.add(c.name, fn(c));
  await bench.run();
  results[workload] = bench.tasks.map((t) => ({ name: t.name, median: t.result.latency.p50, samples: t.result.latency.samplesCount }));
}

console.log(`date normaliser (H=${vocab.hiddenSize}), greedy, Node ${process.version}; medians (tinybench), ratio = contender / fastest wasm-attention build`);
for (const [workload, list] of Object.entries(results)) {
  const best = Math.min(...list.filter((r) => r.name.startsWith('wasm-attention')).map((r) => r.median));
  console.log(`\n${workload}`);
  for (const r of list) console.log(`  ${r.name.padEnd(34)} ${r.median.toFixed(3).padStart(10)} ms   ×${(r.median / best).toFixed(2).padStart(6)}   (${r.samples} samples)`);
}
for (const s of skipped) console.log(`skipped: ${s}`);
for (const rt of runtimes) rt.dispose();
