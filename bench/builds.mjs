// `npm run bench:builds`: fused attention, every build this engine runs, against the plain-JS
// reference, interleaved in one tinybench run (medians and ratios side by side), then the peak
// Wasm memory of a 16384-token single-head self-attention. The full suite against the other
// libraries is `npm run bench` (a short run of it: `npm run bench -- --quick`).
import { Bench } from 'tinybench';
import { init, reference, supportedBackends } from '../dist/index.js';

// Deterministic inputs, uniform in [-1, 1] from reference.uniform, the generator of the tests and the demo.
const qkv = (b, h, l, d) => ['q', 'k', 'v'].map((_, i) => ({ data: reference.uniform(b * h * l * d, i + 1), shape: [b, h, l, d] }));

const runtimes = [];
for (const backend of supportedBackends()) runtimes.push(await init({ backend, threads: 1 }));

const shapes = [
  { name: 'B1 H8 L256 D64', b: 1, h: 8, l: 256, d: 64, causal: false },
  { name: 'B1 H8 L256 D64 causal', b: 1, h: 8, l: 256, d: 64, causal: true },
  { name: 'B1 H1 L1024 D64', b: 1, h: 1, l: 1024, d: 64, causal: false },
];
for (const s of shapes) {
  const [q, k, v] = qkv(s.b, s.h, s.l, s.d);
  const opts = { causal: s.causal };
  const want = reference.scaledDotProductAttention(q, k, v, opts).output;
  const bench = new Bench({ time: 1500, warmupTime: 200 });
  for (const rt of runtimes) {
    // Resident inputs: what is timed is the kernel plus the output copy, not the input copies.
    const [qt, kt, vt] = [q, k, v].map((t) => rt.tensor(t.data, t.shape));
    const got = rt.scaledDotProductAttention(qt, kt, vt, opts).output;
    let err = 0;
    for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    if (!(err <= 1e-5)) throw new Error(`${rt.backend}: max abs error ${err} on ${s.name}`);
    bench.add(`wasm ${rt.backend}`, () => rt.scaledDotProductAttention(qt, kt, vt, opts));
  }
  bench.add('plain JS reference', () => reference.scaledDotProductAttention(q, k, v, opts));
  await bench.run();
  const flops = 4 * s.b * s.h * s.l * s.l * s.d * (s.causal ? 0.5 : 1); // causal: half the (i, j) pairs are live
  const base = bench.tasks.at(-1).result.latency.p50;
  console.log(`\n${s.name}  (${(flops / 1e6).toFixed(0)} MFLOP${s.causal ? ', live pairs only' : ''})`);
  for (const t of bench.tasks) {
    const ms = t.result.latency.p50;
    console.log(
      `  ${t.name.padEnd(20)} median ${ms.toFixed(3).padStart(9)} ms  p75 ${t.result.latency.p75.toFixed(3).padStart(9)} ms  ` +
        `${(flops / ms / 1e6).toFixed(2).padStart(6)} GFLOP/s  ${(base / ms).toFixed(1).padStart(6)}× JS  (${t.result.latency.samplesCount} samples)`,
    );
  }
}

// Memory: one head, L = 16384, D = 64, through the fused kernel (the score matrix alone would be 1 GiB).
for (const rt of runtimes) {
  const [q, k, v] = qkv(1, 1, 16384, 64);
  const before = rt.memoryStats();
  rt.resetPeakMemory();
  const t0 = performance.now();
  rt.scaledDotProductAttention(q, k, v);
  const ms = performance.now() - t0;
  const after = rt.memoryStats();
  console.log(
    `\nL16384 D64 on ${rt.backend}: ${ms.toFixed(0)} ms, peak ${((after.peakBytes - before.bytesInUse) / 2 ** 20).toFixed(1)} MiB allocated ` +
      `(q, k, v, output = 16 MiB), Wasm memory ${(after.capacityBytes / 2 ** 20).toFixed(0)} MiB`,
  );
}
