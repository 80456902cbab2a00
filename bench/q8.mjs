// `npm run bench:q8`: f32 weights against Q8 and Q4 weights on the raw kernels of each build, one
// thread. Decode-shaped matrix-vector products: a decode step reads every weight once per token, so
// the figure that matters is the weight bytes read per second: f32 reads 4 bytes per weight, Q8
// reads 1 + 4/32 (an int8 and its share of the block's f32 scale), Q4 1/2 + 4/32. Prefill-shaped
// products (many rows, weights in cache): operations per second, 2·m·n·k, as fractions of one
// core's f32x4 multiply-add peak (PEAK_GFLOPS, 54) and i32x4.dot_i16x8_s peak (PEAK_GOPS, 84). The
// Q8 and Q4 times include quantizing the activation rows (Q8: quantizeRows16, 13-bit integers; Q4:
// quantizeRows8), as linear() does.
//
// Timing: CPU time of this thread (process.cpuUsage), alternating f32, Q8 and Q4 in rounds, so a
// core shared with other work slows them alike; the median round is reported.
import { readFileSync } from 'node:fs';

const BUILDS = (process.argv[2] ?? 'relaxed-simd,simd,scalar').split(',');
const SHAPES = [
  [576, 1536, 'SmolLM2-135M q/gate/up: 1×576 → 1536'],
  [1536, 576, 'SmolLM2-135M down: 1×1536 → 576'],
  [576, 49152, 'SmolLM2-135M lm_head: 1×576 → 49152'],
];
/** Read bandwidth of one core from Wasm memory, measured on the machine these figures come from. */
const PEAK_GBS = Number(process.env.PEAK_GBS ?? 27);
const PEAK_GFLOPS = Number(process.env.PEAK_GFLOPS ?? 54);
const PEAK_GOPS = Number(process.env.PEAK_GOPS ?? 84);
const PREFILL_SHAPES = [
  [16, 576, 1536, 'SmolLM2-135M q/gate/up, 16 rows'],
  [128, 576, 1536, 'SmolLM2-135M q/gate/up, 128 rows'],
  [512, 576, 1536, 'SmolLM2-135M q/gate/up, 512 rows'],
  [512, 1536, 576, 'SmolLM2-135M down, 512 rows'],
  [128, 384, 1536, 'MiniLM-L6 FF in, 128 rows'],
  [128, 1536, 384, 'MiniLM-L6 FF out, 128 rows'],
];
/** Bytes of f32 weight copies cycled through in the cold runs (well past the last-level cache). */
const COLD_BYTES = 256 * 2 ** 20;

function cpuSeconds(fn, reps) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) fn();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1e6 / reps;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const build of BUILDS) {
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536 }); // grown per shape
  const { instance } = await WebAssembly.instantiate(readFileSync(new URL(`../build/${build}.wasm`, import.meta.url)), {
    env: { memory, abort: () => { throw new Error('abort'); }, seed: Date.now },
  });
  const k = instance.exports;
  let top = (k.heapBase() + 63) & ~63;
  const alloc = (bytes) => {
    const p = top;
    top = top + bytes + 63 - ((top + bytes + 63) % 64);
    return p;
  };
  console.log(`\n${build} (one thread; weight bytes per second, fraction of ${PEAK_GBS} GB/s)`);
  const start = top;
  for (const [kDim, n, label] of SHAPES) for (const cold of [false, true]) {
    top = start;
    // cold: enough copies of the weights (≥ COLD_BYTES of f32) to read them from memory, not cache, as
    // a model's decode step does (every layer's weights once per token)
    const copies = cold ? Math.ceil(COLD_BYTES / (4 * n * kDim)) : 1;
    const x = alloc(4 * kDim), y = alloc(4 * n), y8 = alloc(4 * n), y4 = alloc(4 * n);
    const need = top + copies * (4 * n * kDim + n * kDim + n * kDim / 2 + 8 * n * (kDim / 32) + 320) + 13 * kDim + 4096;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    const f32 = new Float32Array(memory.buffer); // after growing
    const blocks = kDim / 32;
    const xq = alloc(2 * kDim), xs = alloc(4 * blocks), qScratch = alloc(k.gemmQ8ScratchBytes(1, n, kDim));
    const w = [], wq = [], ws = [], w4 = [], s4 = [];
    let seed = 1;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    for (let i = 0; i < kDim; i++) f32[(x >> 2) + i] = rnd();
    for (let c = 0; c < copies; c++) {
      w.push(alloc(4 * n * kDim));
      for (let i = 0; i < n * kDim; i++) f32[(w[c] >> 2) + i] = rnd() * 0.05;
      wq.push(alloc(n * kDim));
      ws.push(alloc(4 * n * blocks));
      k.quantizeRows8(w[c], kDim, n, kDim, wq[c], ws[c]); // the weights, once (as at load)
      w4.push(alloc(n * kDim / 2));
      s4.push(alloc(4 * n * blocks));
      k.quantizeRows4(w[c], kDim, n, kDim, w4[c], s4[c], 1);
      k.interleaveRows4(w4[c], n, kDim); // the order gemmQ4 reads (assembly/gemm/q4-layout.ts), as loadModel holds them
    }
    let cf = 0, cq = 0, c4 = 0;
    const runF32 = () => { k.gemm(x, kDim, w[cf], kDim, y, n, 1, n, kDim, 1, 0, 0, 0); cf = (cf + 1) % copies; };
    const runQ8 = () => {
      k.quantizeRows16(x, kDim, 1, kDim, xq, xs);
      k.gemmQ8(xq, xs, 1, wq[cq], ws[cq], y8, n, n, kDim, 0, 0, qScratch);
      cq = (cq + 1) % copies;
    };
    const runQ4 = () => {
      k.quantizeRows8(x, kDim, 1, kDim, xq, xs);
      k.gemmQ4(xq, xs, 1, w4[c4], s4[c4], y4, n, n, kDim, 0, 0, qScratch);
      c4 = (c4 + 1) % copies;
    };
    runF32(); runQ8(); runQ4();
    // normwise difference of the results (the Q8 / Q4 error on random weights)
    const err = (yq) => {
      let d = 0, r = 0;
      for (let j = 0; j < n; j++) { d += (f32[(y >> 2) + j] - f32[(yq >> 2) + j]) ** 2; r += f32[(y >> 2) + j] ** 2; }
      return Math.sqrt(d / r);
    };
    const e8 = err(y8), e4 = err(y4);
    // a product this far from f32 is a wrong result, not a measurement (measured: Q8 5e-3, Q4 9e-2)
    if (!(e8 < 2e-2 && e4 < 2e-1)) throw new Error(`${label}: Q8 / Q4 products ${e8.toExponential(2)} / ${e4.toExponential(2)} normwise from f32`);
    const bytesF32 = 4 * n * kDim, bytesQ8 = n * kDim + 4 * n * blocks, bytesQ4 = n * kDim / 2 + 4 * n * blocks;
    const reps = Math.max(copies, Math.round(2e8 / bytesF32));
    const tf = [], tq = [], t4 = [];
    for (let round = 0; round < 15; round++) {
      tf.push(cpuSeconds(runF32, reps));
      tq.push(cpuSeconds(runQ8, reps * 2));
      t4.push(cpuSeconds(runQ4, reps * 2));
    }
    const sf = median(tf), sq = median(tq), s4m = median(t4);
    const gf = bytesF32 / sf / 1e9, gq = bytesQ8 / sq / 1e9, g4 = bytesQ4 / s4m / 1e9;
    console.log(`  ${label}${cold ? `, weights from memory (${copies} copies)` : ', weights in cache'}`);
    console.log(`    f32  ${(sf * 1e6).toFixed(1).padStart(8)} µs  ${gf.toFixed(1).padStart(5)} GB/s (${((100 * gf) / PEAK_GBS).toFixed(0)}%)  ${(bytesF32 / 2 ** 20).toFixed(2)} MiB`);
    console.log(`    q8   ${(sq * 1e6).toFixed(1).padStart(8)} µs  ${gq.toFixed(1).padStart(5)} GB/s (${((100 * gq) / PEAK_GBS).toFixed(0)}%)  ${(bytesQ8 / 2 ** 20).toFixed(2)} MiB   ${(sf / sq).toFixed(2)}× f32   ‖q8 − f32‖/‖f32‖ = ${e8.toExponential(2)}`);
    console.log(`    q4   ${(s4m * 1e6).toFixed(1).padStart(8)} µs  ${g4.toFixed(1).padStart(5)} GB/s (${((100 * g4) / PEAK_GBS).toFixed(0)}%)  ${(bytesQ4 / 2 ** 20).toFixed(2)} MiB   ${(sf / s4m).toFixed(2)}× f32   ‖q4 − f32‖/‖f32‖ = ${e4.toExponential(2)}`);
  }
  console.log(`  prefill-shaped products, weights in cache (fractions of ${PEAK_GFLOPS} GFLOP/s f32 and ${PEAK_GOPS} G int-ops/s)`);
  for (const [m, kDim, n, label] of PREFILL_SHAPES) {
    top = start;
    const x = alloc(4 * m * kDim), y = alloc(4 * m * n), w = alloc(4 * n * kDim);
    const wq = alloc(n * kDim), ws = alloc(n * kDim / 8), w4 = alloc(n * kDim / 2), s4 = alloc(n * kDim / 8);
    const xq = alloc(2 * m * kDim), xs = alloc(m * kDim / 8);
    const scratch = alloc(Math.max(k.gemmScratchBytes(m, n, kDim), k.gemmQ8ScratchBytes(m, n, kDim)));
    if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
    const f32 = new Float32Array(memory.buffer);
    let seed = 1;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    for (let i = 0; i < m * kDim; i++) f32[(x >> 2) + i] = rnd();
    for (let i = 0; i < n * kDim; i++) f32[(w >> 2) + i] = rnd() * 0.05;
    k.quantizeRows8(w, kDim, n, kDim, wq, ws);
    k.quantizeRows4(w, kDim, n, kDim, w4, s4, 1);
    k.interleaveRows4(w4, n, kDim);
    const runs = [
      () => k.gemm(x, kDim, w, kDim, y, n, m, n, kDim, 1, 0, 0, scratch),
      () => { k.quantizeRows16(x, kDim, m, kDim, xq, xs); k.gemmQ8(xq, xs, m, wq, ws, y, n, n, kDim, 0, 0, scratch); },
      () => { k.quantizeRows8(x, kDim, m, kDim, xq, xs); k.gemmQ4(xq, xs, m, w4, s4, y, n, n, kDim, 0, 0, scratch); },
    ];
    const ops = 2 * m * n * kDim;
    const reps = Math.max(1, Math.round(2e8 / ops));
    const t = runs.map(() => []);
    for (let round = 0; round < 15; round++) runs.forEach((fn, i) => t[i].push(cpuSeconds(fn, reps)));
    const [sf, s8, s4m] = t.map(median);
    const g = (s) => ops / s / 1e9;
    console.log(`    ${label}: ${m}×${kDim} → ${n}`);
    console.log(`      f32 ${(sf * 1e3).toFixed(3).padStart(8)} ms  ${g(sf).toFixed(1).padStart(5)} GFLOP/s (${((100 * g(sf)) / PEAK_GFLOPS).toFixed(0)}%)`);
    console.log(`      q8  ${(s8 * 1e3).toFixed(3).padStart(8)} ms  ${g(s8).toFixed(1).padStart(5)} G int-ops/s (${((100 * g(s8)) / PEAK_GOPS).toFixed(0)}%)  ${(sf / s8).toFixed(2)}× f32`);
    console.log(`      q4  ${(s4m * 1e3).toFixed(3).padStart(8)} ms  ${g(s4m).toFixed(1).padStart(5)} G int-ops/s (${((100 * g(s4m)) / PEAK_GOPS).toFixed(0)}%)  ${(sf / s4m).toFixed(2)}× f32`);
  }
}
