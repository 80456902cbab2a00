// `node --experimental-wasm-relaxed-simd bench/half-lm.mjs [layers]`: one decode step of a
// SmolLM2-135M-shaped Llama (E 576, 9 heads / 3 kv heads of 64, MLP 1536, vocab 49152, tied
// embeddings; 30 layers unless given), random weights built in memory, loaded with dtype 'f32',
// 'bf16' and 'f16' on one thread each. Reports the weight bytes and Wasm memory of each and the CPU
// time per decoded token (process.cpuUsage, the three models' steps alternating, median), after a
// 32-token prompt, with tokens/s and the bytes of weights read per second.
import { init, loadModel, reference } from '../dist/index.js';
import { SMOL, smolObjects } from './smol-objects.mjs';

const LAYERS = Number(process.argv[2] ?? 30);
const { V } = SMOL;


const DTYPES = ['f32', 'bf16', 'f16'];
const objects = smolObjects(LAYERS);
const runs = [];
for (const dtype of DTYPES) {
  const rt = await init({ threads: 1 });
  runs.push({ dtype, rt, model: await loadModel(rt, objects, { kind: 'causal-lm', dtype }) });
}
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
console.log(`build ${runs[0].rt.backend}, ${LAYERS} layers, one thread each (a shared machine: other work ran beside it)`);
for (const { dtype, rt, model } of runs) {
  const b = model.weightBytes;
  console.log(`${dtype.padEnd(4)} weights: ${Object.entries(b).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${mib(v)}`).join(' + ')}; Wasm memory ${mib(rt.memoryStats().capacityBytes)}`);
}

const prompt = Array.from(reference.uniform(32, 99), (x) => Math.floor(((x + 1) / 2) * (V - 1)));
for (const r of runs) {
  r.cache = r.model.createCache();
  r.logits = r.model.forward(prompt, { cache: r.cache }).logits.data;
  r.times = [];
  r.errors = [];
  r.agree = 0;
}
const argmax = (x) => x.reduce((b, v, i) => (v > x[b] ? i : b), 0);
const normwise = (a, b) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / b.reduce((s, v) => s + v * v, 0));
const cpu = (fn) => { const t0 = process.cpuUsage(); fn(); const t = process.cpuUsage(t0); return (t.user + t.system) / 1e3; };
const STEPS = 24;
for (let s = 0; s < STEPS; s++) {
  const token = argmax(runs[0].logits); // every model fed the f32 model's greedy token
  for (const r of runs.slice(1)) {
    if (argmax(r.logits) === token) r.agree++;
    r.errors.push(normwise(r.logits, runs[0].logits));
  }
  for (const r of runs) r.times.push(cpu(() => (r.logits = r.model.forward([token], { cache: r.cache }).logits.data)));
}
const med = (x) => [...x].sort((a, b) => a - b)[x.length >> 1];
const f32ms = med(runs[0].times);
for (const r of runs) {
  const ms = med(r.times);
  // weights read per token: every matrix, and the tied head reads the whole table (the gather reads one row)
  const bytes = Object.values(r.model.weightBytes).reduce((a, b) => a + b, 0);
  const extra = r.dtype === 'f32' ? '' : `; logits vs f32 normwise median ${med(r.errors).toExponential(2)}, top-1 ${r.agree}/${STEPS}`;
  console.log(`${r.dtype.padEnd(4)} decode step (median of ${STEPS}, CPU): ${ms.toFixed(1)} ms = ${(1000 / ms).toFixed(1)} tokens/s, ${(f32ms / ms).toFixed(2)}× f32; ${mib(bytes)} of weights → ${(bytes / ms / 1e6).toFixed(1)} GB/s${extra}`);
}
for (const r of runs) (r.cache.dispose(), r.model.dispose());
