// `node --experimental-wasm-relaxed-simd bench/q8-encoders.mjs [E1|E2]`: sentence embeddings of the
// encoder bench's checkpoints (bench/encoder-checkpoint.mjs, random weights; E1 the all-MiniLM-L6-v2
// shape, 32 sentences × 128 tokens; E2 the BERT-base shape, 8 × 256) loaded with dtype 'f32', 'q8'
// and 'q4', one thread each, tokenization excluded (model.embed on token ids, mean pooling). CPU time
// per call (process.cpuUsage), the three models alternating, median of the rounds; the Q8 and Q4
// embeddings' normwise difference from f32's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, loadModel } from '../dist/index.js';
import { ENCODER_SHAPES, ensureCheckpoint, sentences } from './encoder-checkpoint.mjs';

const WORKLOADS = { E1: { shapeName: 'minilm', b: 32, l: 128, rounds: 7 }, E2: { shapeName: 'base', b: 8, l: 256, rounds: 5 } };
const id = process.argv[2] ?? 'E1';
const w = WORKLOADS[id];
if (!w) throw new RangeError(`workload: expected one of ${Object.keys(WORKLOADS).join(', ')}, got ${id}`);
const ck = ensureCheckpoint(fileURLToPath(new URL('.cache', import.meta.url)), `bert-${w.shapeName}`, ENCODER_SHAPES[w.shapeName], { log: console.error });
const texts = sentences(JSON.parse(readFileSync(join(ck.dir, 'tokenizer.json'), 'utf8')), w.b, w.l);

const dtypes = ['f32', 'q8', 'q4'];
const models = [];
for (const dtype of dtypes) {
  const rt = await init({ threads: 1 });
  models.push({ dtype, rt, model: await loadModel(rt, ck.dir, { dtype }) });
}
const ids = texts.map((t, k) => models[0].model.tokenizer.encodeForModel(t, undefined, models[0].model.embedDefaults.maxLength, true, `texts[${k}]`).ids);
const opts = { pooling: 'mean', normalize: false, batchSize: w.b };
const cpuMs = (fn) => { const t0 = process.cpuUsage(); const out = fn(); const t = process.cpuUsage(t0); return [(t.user + t.system) / 1e3, out]; };
const median = (x) => [...x].sort((a, b) => a - b)[x.length >> 1];
const times = dtypes.map(() => []);
const outs = [];
for (let round = 0; round <= w.rounds; round++) {
  models.forEach(({ model }, i) => {
    const [ms, out] = cpuMs(() => model.embed(ids, opts));
    if (round === 0) outs[i] = out; // round 0 warms up
    else times[i].push(ms);
  });
}
const flat = (e) => (Array.isArray(e) ? e.flatMap((r) => [...r]) : [...(e.data ?? e)]);
const ref = flat(outs[0]);
const normwise = (a) => Math.sqrt(a.reduce((s, v, i) => s + (v - ref[i]) ** 2, 0) / ref.reduce((s, v) => s + v * v, 0));
const [mf] = [median(times[0])];
console.log(`${id} (${w.b} sentences × ${w.l} tokens, ${ENCODER_SHAPES[w.shapeName].layers} layers, hidden ${ENCODER_SHAPES[w.shapeName].hidden}), build ${models[0].rt.backend}, one thread, median of ${w.rounds} calls (CPU ms):`);
models.forEach(({ dtype }, i) => {
  const ms = median(times[i]);
  const err = i === 0 ? '' : `, ${(mf / ms).toFixed(2)}× f32, embeddings ‖${dtype} − f32‖/‖f32‖ = ${normwise(flat(outs[i])).toExponential(2)}`;
  console.log(`  ${dtype.padEnd(4)} ${ms.toFixed(0).padStart(6)} ms  ${((1e3 * w.b) / ms).toFixed(1).padStart(6)} sentences/s${err}`);
});
for (const { model, rt } of models) { model.dispose(); rt.dispose(); }
