// `node --experimental-wasm-relaxed-simd bench/q8-lm.mjs [layers] [prefill lengths]`: a
// SmolLM2-135M-shaped Llama (E 576, 9 heads / 3 kv heads of 64, MLP 1536, vocab 49152, tied
// embeddings; 30 layers unless given), random weights built in memory, loaded with dtype 'f32', 'q8'
// and 'q4' on one thread each. Reports the weight bytes of each, the CPU time of a prefill of each
// length (default 128,512: a fresh cache each time, the three models alternating, median of the
// rounds) and the CPU time per decoded token (process.cpuUsage, f32, q8 and q4 steps alternating,
// median), after a 32-token prompt.
import { init, loadModel, reference } from '../dist/index.js';
import { SMOL, smolObjects } from './smol-objects.mjs';

const LAYERS = Number(process.argv[2] ?? 30);
const PREFILLS = (process.argv[3] ?? '128,512').split(',').filter(Boolean).map(Number);
const { V } = SMOL;


const objects = smolObjects(LAYERS);
const rtF = await init({ threads: 1 });
const rtQ = await init({ threads: 1 });
const rt4 = await init({ threads: 1 });
const f32 = await loadModel(rtF, objects, { kind: 'causal-lm', dtype: 'f32' });
const q8 = await loadModel(rtQ, objects, { kind: 'causal-lm', dtype: 'q8' });
const q4 = await loadModel(rt4, objects, { kind: 'causal-lm', dtype: 'q4' });
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
console.log(`build ${rtF.backend}, ${LAYERS} layers`);
console.log(`weights f32 model: f32 ${mib(f32.weightBytes.f32)}; q8 model: f32 ${mib(q8.weightBytes.f32)} (embeddings, norms) + q8 ${mib(q8.weightBytes.q8)}; q4 model: f32 ${mib(q4.weightBytes.f32)} + q4 ${mib(q4.weightBytes.q4)}`);
console.log(`Wasm memory: f32 model ${mib(rtF.memoryStats().capacityBytes)}, q8 model ${mib(rtQ.memoryStats().capacityBytes)}, q4 model ${mib(rt4.memoryStats().capacityBytes)}`);

const tokens = (count, seed) => Array.from(reference.uniform(count, seed), (x) => Math.floor(((x + 1) / 2) * (V - 1)));
const cpuMs = (fn) => { const t0 = process.cpuUsage(); fn(); const t = process.cpuUsage(t0); return (t.user + t.system) / 1e3; };
const median = (x) => [...x].sort((a, b) => a - b)[x.length >> 1];
for (const length of PREFILLS) {
  const ids = tokens(length, 7);
  const times = [[], [], []];
  const rounds = length >= 512 ? 3 : 5;
  for (let round = 0; round <= rounds; round++) {
    [f32, q8, q4].forEach((model, i) => {
      const cache = model.createCache({ maxLength: length + 1 });
      const ms = cpuMs(() => model.forward(ids, { cache }));
      cache.dispose();
      if (round > 0) times[i].push(ms); // round 0 warms up
    });
  }
  const [mf, m8, m4] = times.map(median);
  const tps = (ms) => ((1e3 * length) / ms).toFixed(0);
  console.log(`prefill ${length} tokens (median of ${rounds}, CPU ms): f32 ${mf.toFixed(0)} ms (${tps(mf)} tokens/s), q8 ${m8.toFixed(0)} ms (${tps(m8)} tokens/s, ${(mf / m8).toFixed(2)}× f32), q4 ${m4.toFixed(0)} ms (${tps(m4)} tokens/s, ${(mf / m4).toFixed(2)}× f32)`);
}

const prompt = tokens(32, 99);
const cf = f32.createCache(), cq = q8.createCache(), c4 = q4.createCache();
let lf = f32.forward(prompt, { cache: cf }).logits.data, lq = q8.forward(prompt, { cache: cq }).logits.data, l4 = q4.forward(prompt, { cache: c4 }).logits.data;
const argmax = (x) => x.reduce((b, v, i) => (v > x[b] ? i : b), 0);
const normwise = (a, b) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / b.reduce((s, v) => s + v * v, 0));
const cpu = (fn) => { const t0 = process.cpuUsage(); fn(); const t = process.cpuUsage(t0); return (t.user + t.system) / 1e3; };
const tf = [], tq = [], t4 = [], errs = [], errs4 = [];
let agree = 0, agree4 = 0;
const STEPS = 24;
for (let s = 0; s < STEPS; s++) {
  const token = argmax(lf); // both models fed the f32 model's greedy token
  if (argmax(lq) === token) agree++;
  if (argmax(l4) === token) agree4++;
  errs.push(normwise(lq, lf));
  errs4.push(normwise(l4, lf));
  tf.push(cpu(() => (lf = f32.forward([token], { cache: cf }).logits.data)));
  tq.push(cpu(() => (lq = q8.forward([token], { cache: cq }).logits.data)));
  t4.push(cpu(() => (l4 = q4.forward([token], { cache: c4 }).logits.data)));
}
const med = (x) => [...x].sort((a, b) => a - b)[x.length >> 1];
// read per token: every weight (the output head is the embedding table, held in the model's dtype)
const bytesF = f32.weightBytes.f32, bytesQ = q8.weightBytes.q8 + q8.weightBytes.f32, bytes4 = q4.weightBytes.q4 + q4.weightBytes.f32;
console.log(`decode step (median of ${STEPS}, CPU ms): f32 ${med(tf).toFixed(1)} ms, q8 ${med(tq).toFixed(1)} ms, ${(med(tf) / med(tq)).toFixed(2)}× ` +
  `(weights read per token: f32 ${mib(bytesF)} → ${(bytesF / med(tf) / 1e6).toFixed(1)} GB/s; q8 ${mib(bytesQ)} → ${(bytesQ / med(tq) / 1e6).toFixed(1)} GB/s)`);
console.log(`                                       q4 ${med(t4).toFixed(1)} ms, ${(med(tf) / med(t4)).toFixed(2)}× f32 (q4 ${mib(bytes4)} → ${(bytes4 / med(t4) / 1e6).toFixed(1)} GB/s)`);
console.log(`q8 vs f32 logits on these random weights: normwise median ${med(errs).toExponential(2)}, top-1 agreement ${agree}/${STEPS}`);
console.log(`q4 vs f32 logits on these random weights: normwise median ${med(errs4).toExponential(2)}, top-1 agreement ${agree4}/${STEPS}`);
for (const m of [f32, q8, q4]) m.dispose();
cf.dispose(); cq.dispose(); c4.dispose();
