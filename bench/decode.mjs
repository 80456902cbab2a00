// `npm run bench:decode`: the decoding hot paths, side by side in one tinybench run.
//  - a bound seq2seq decoder step (B1, S = 512, H = 256), Luong dot and Bahdanau, against the
//    plain-JS reference bound the same way (its keys precomputed once too);
//  - multi-head attention (E = 512, 8 heads): mha.step for the 512th token with a KV cache,
//    against recomputing the causal forward over all 512 tokens.
import { Bench } from 'tinybench';
import { init, reference } from '../dist/index.js';

// Deterministic inputs, uniform in [-amp, amp] from reference.uniform, the generator of the tests and the demo.
const T = (shape, seed, amp = 1) => ({ data: reference.uniform(shape.reduce((a, b) => a * b, 1), seed, -amp, amp), shape });
const maxErr = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const report = (bench, flops) => {
  for (const t of bench.tasks) {
    const ms = t.result.latency.p50;
    console.log(`  ${t.name.padEnd(38)} median ${(ms * 1000).toFixed(1).padStart(9)} µs  p75 ${(t.result.latency.p75 * 1000).toFixed(1).padStart(9)} µs  ${flops ? `${(flops / ms / 1e6).toFixed(2).padStart(6)} GFLOP/s` : ''}  (${t.result.latency.samplesCount} samples)`);
  }
};

const rt = await init({ threads: 1 });
console.log(`build: ${rt.backend}`);

// --- seq2seq decoder step -------------------------------------------------------------------
const [S, H] = [512, 256];
const hs = T([1, S, H], 1);
const h = T([1, H], 2);
const a = 1 / Math.sqrt(H);
const bw = {
  'Wa.weight': T([H, H], 3, a), 'Wa.bias': T([H], 4, a), 'Ua.weight': T([H, H], 5, a),
  'Ua.bias': T([H], 6, a), 'Va.weight': T([1, H], 7, a), 'Va.bias': T([1], 8, a),
};
const cases = [
  ['Luong dot', rt.luongAttention({ score: 'dot' }), reference.luongAttention({ score: 'dot' })],
  ['Bahdanau', rt.bahdanauAttention(bw), reference.bahdanauAttention(bw)],
];
for (const [name, att, ref] of cases) {
  const memory = att.bind(hs);
  const refMemory = ref.bind(hs);
  const err = maxErr(memory.step(h).context, refMemory.step(h).context);
  if (!(err <= 1e-5)) throw new Error(`${name}: max abs error ${err}`);
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench.add(`wasm ${name} step`, () => memory.step(h)).add(`plain JS ${name} step`, () => refMemory.step(h));
  await bench.run();
  console.log(`\nseq2seq decoder step, ${name}, B1 S${S} H${H} (encoder states bound once; max abs error ${err.toExponential(1)})`);
  report(bench);
  const [w, j] = bench.tasks.map((t) => t.result.latency.p50);
  console.log(`  speed-up: ${(j / w).toFixed(1)}×`);
}

// --- multi-head attention: incremental decoding ---------------------------------------------
const [E, heads, L] = [512, 8, 512];
const b = 1 / Math.sqrt(E);
const mha = rt.multiHeadAttention({
  embedDim: E, numHeads: heads,
  weights: { in_proj_weight: T([3 * E, E], 9, b), in_proj_bias: T([3 * E], 10, b), 'out_proj.weight': T([E, E], 11, b), 'out_proj.bias': T([E], 12, b) },
});
const x = T([1, L, E], 13);
const cache = mha.createCache({ batch: 1, maxLength: L });
for (let t = 0; t < L - 1; t++) mha.step({ data: x.data.subarray(t * E, (t + 1) * E), shape: [1, E] }, cache);
const last = { data: x.data.subarray((L - 1) * E), shape: [1, E] };
const full = mha.forward(x, undefined, undefined, { causal: true }).output;
const err = maxErr(mha.step(last, cache), full.subarray((L - 1) * E));
if (!(err <= 1e-5)) throw new Error(`mha.step: max abs error ${err}`);
const bench = new Bench({ time: 2000, warmupTime: 300 });
bench
  .add(`mha.step, token ${L} (KV cache)`, () => {
    cache.truncate(L - 1); // forget token L, so each timed call appends it again
    mha.step(last, cache);
  })
  .add(`mha.forward causal over ${L} tokens`, () => mha.forward(x, undefined, undefined, { causal: true }));
await bench.run();
console.log(`\nmulti-head attention E${E} ${heads} heads (step output vs forward's last row: max abs error ${err.toExponential(1)})`);
report(bench);
const [st, fw] = bench.tasks.map((t) => t.result.latency.p50);
console.log(`  step is ${(fw / st).toFixed(1)}× faster than recomputing the forward`);
