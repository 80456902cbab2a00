// `npm start`: the worked example (a decoder state scoring four encoder states) step by step, then one self-attention shape timed
// against the plain-JS reference (tinybench, side by side in one run).
import { Bench } from 'tinybench';
import { init, reference } from '../dist/index.js';

const rt = await init();
console.log(`wasm-attention on the ${rt.backend} build (${rt.backendReason}); ${rt.threadsReason}\n`);

// The worked example: the decoder state is the query; the encoder states are keys and values.
const h = { data: new Float32Array([10, 5, 10]), shape: [1, 3] };
const hs = { data: new Float32Array([0, 1, 1, 5, 0, 1, 1, 1, 0, 0, 5, 1]), shape: [4, 3] };
const fmt = (xs) => `[${[...xs].map((x) => (Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(2) : +x.toFixed(4))).join(', ')}]`;

console.log('The worked example: decoder state h = [10, 5, 10] scoring four encoder states hs =');
for (let s = 0; s < 4; s++) console.log(`  hs[${s}] = ${fmt(hs.data.subarray(s * 3, s * 3 + 3))}`);
const scores = rt.matmul(h, hs, { transposeB: true });
console.log(`1. scores   = hs·h                 = ${fmt(scores)}`);
const weights = rt.softmax({ data: scores, shape: [1, 4] });
console.log(`2. weights  = softmax(scores)      = ${fmt(weights)}`);
const context = rt.attentionContext({ data: weights, shape: [1, 4] }, hs);
console.log(`3. context  = Σ weights[s]·hs[s]   = ${fmt(context)}`);
const fused = rt.scaledDotProductAttention(h, hs, hs, { scale: 1 }).output;
console.log(`   in one fused call                = ${fmt(fused)}\n`);

// One self-attention shape: B1 H8 L256 D64, as in a small transformer layer.
const [B, H, L, D] = [1, 8, 256, 64];
// Seeded inputs, uniform in [-1, 1]: reference.uniform, the generator of the tests and benchmarks.
const q = { data: reference.uniform(B * H * L * D, 1), shape: [B, H, L, D] };
const k = { data: reference.uniform(B * H * L * D, 2), shape: [B, H, L, D] };
const v = { data: reference.uniform(B * H * L * D, 3), shape: [B, H, L, D] };
const bench = new Bench({ time: 1000, warmupTime: 200 });
bench
  .add(`wasm ${rt.backend}${rt.threads > 1 ? ` ${rt.threads}T` : ''}`, () => rt.scaledDotProductAttention(q, k, v))
  .add('plain JS reference', () => reference.scaledDotProductAttention(q, k, v));
await bench.run();
const flops = 4 * B * H * L * L * D;
const medians = bench.tasks.map((t) => t.result.latency.p50);
console.log(`Self-attention B${B} H${H} L${L} D${D} (inputs copied in and out on every call):`);
bench.tasks.forEach((t, i) => {
  const ms = medians[i];
  console.log(`  ${t.name.padEnd(20)} median ${ms.toFixed(3).padStart(8)} ms  ${(flops / ms / 1e6).toFixed(2).padStart(6)} GFLOP/s  (${t.result.latency.samplesCount} samples)`);
});
console.log(`  speed-up: ${(medians[1] / medians[0]).toFixed(1)}× the plain-JS reference`);

// The date normaliser, with the attention of each output character over the input (examples/date-heatmap.mjs).
await (await import('./date-heatmap.mjs')).showDates(rt, ['November 22, 2026', 'nov 22, 2026', '22 NOVEMBER 2026', 'Sunday, November 22, 2026', '11/22/2026', '22.11.2026', '2026년 11월 22일']);
