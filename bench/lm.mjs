// `npm run bench:lm`: decoder-only language models, prefill and decode tokens/s, against llama.cpp in
// Wasm (wllama) on the same weights, with the roofline figures measured in the same run.
//  - LM1: a SmolLM2-135M-shaped Llama (random weights); prefill of 128 and of 512 tokens, then 128
//    greedy decode steps after the 512-token prompt. LM2: a Qwen2.5-0.5B shape, 128 decode steps
//    after a 128-token prompt (its prefill of 128 is reported too).
//  - ours: the relaxed-simd and simd builds on 1 and 2 threads; the plain-JS twin (the package's
//    float64 reference ops composed as a Llama, plain-js-lm.mjs), timed on the first prefill length
//    and 16 decode steps after it (it runs at a few tokens/s); wllama: F32 and F16 GGUF files of
//    the same weights (every weight is a float16 value, so both files and our F16 safetensors hold
//    identical numbers), 1 and 2 threads, in Chromium (see peers/wllama.mjs).
//  - first a check: every contender's top-5 next tokens and log-probabilities over 8 greedy steps
//    after a 16-token prompt, against ours (relaxed-simd, 1 thread).
//  - the roofline: this machine's read bandwidth (a Wasm SIMD sum over 512 MiB, built here, and a
//    plain JS Float32Array sum, a lower bound) and our gemm GFLOP/s (rt.matmul 1024³) per build and
//    thread count; decode GB/s = bytes read per token (weights + the KV cache) × tokens/s; prefill
//    GFLOP/s = (2 × matrix parameters × tokens + the causal attention's flops) / time.
//  - steady decode allocates nothing: rt.memoryStats() before and after 1000 decode steps.
//  - --dtypes f32,q8,q4: at q8 / q4 our Q8 / Q4 rows, wllama's Q8_0 / Q4_0 GGUF files and
//    onnxruntime on the Llama graph as transformers.js ships it quantized (model_quantized.onnx:
//    int8, activations quantized at run time; model_q4.onnx: MatMulNBits; peers/onnx-quant.mjs),
//    each checked against float32 (the drift in its check column).
// LM1's contenders are all opened at once and timed in interleaved rounds (drift lands on all
// alike); LM2's (2 GB of float32 weights each) one at a time, loaded again for every round.
import { createRequire } from 'node:module';
import { availableParallelism, homedir, loadavg } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { init, loadModel } from '../dist/index.js';
import { SHAPES, halfToFloat, parameterCounts, prompt, tensorHalf, tensorList, writeCheckpoint, writeGguf } from './lm-weights.mjs';
import { DEFAULT_PEERS_DIR } from './peers/index.mjs';
import { wllamaContenders, wllamaDir } from './peers/wllama.mjs';
import { ortLmContender, ortLmRemote, topLogprobs } from './peers/ort-lm.mjs';
import { ONNX_FILES, ONNX_FORMATS } from './peers/onnx-quant.mjs';
import { plainJsLm } from './plain-js-lm.mjs';

import { environment, machineSlug } from './report.mjs';
import { timeSlice } from './timing.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const HELP = `Usage: npm run bench:lm -- [options]

Decoder-only language models with random weights in real shapes: LM1 (SmolLM2-135M: prefill of 128
and 512 tokens, 128 decode steps after 512) and LM2 (Qwen2.5-0.5B: 128 decode steps after 128), on
this runtime's relaxed-simd and simd builds at 1 and 2 threads and on wllama (llama.cpp in Wasm, F32
and F16, in headless Chromium), with the machine's read bandwidth and gemm GFLOP/s measured in the
same run. The checkpoints are written once into the cache folder (LM1 about 1.1 GB with its GGUF
files, LM2 about 4 GB).

  --quick          LM1 only, at fewer tokens (prefill 32 and 128, 32 decode steps after 128), one
                   round, 100 steps for the memory check
  --workloads ids  LM1, LM2 (default both; --quick: LM1)
  --rounds n       timed rounds per contender (default LM1 3, LM2 2; --quick 1)
  --no-peers       leave the peers out
  --no-plain-js    leave out the plain-JS twin (float64 reference ops, one thread: LM1 takes about a
                   minute per round, LM2 about three; timed on the first prefill length and 16 decode
                   steps after it)
  --peers list     which peers: wllama, ort-web, ort-node (default all three; onnxruntime on LM1
                   only: a Llama graph of plain ops with a KV cache, built here)
  --contenders ids only contenders whose id starts with one of these (wasm-relaxed-simd-1t, wllama-f32,
                   ort-web, …)
  --dtypes list    weight dtypes: f32, q8, q4 (default f32). q8 and q4 add our relaxed-simd rows at
                   that dtype, wllama's Q8_0 / Q4_0 GGUF files of the same weights and onnxruntime on
                   the graphs transformers.js ships as model_quantized.onnx (int8, activations
                   quantized at run time) / model_q4.onnx (MatMulNBits, 4-bit blocks of 32)
  --peers-dir dir  where the peer package lives (default bench/peers; wllama: npm ci there)
  --cache dir      where the checkpoints go (default ~/.cache/wasm-attention-bench)
  --json           also write bench/results/<date>-<machine>-lm.json and .md (-lm-quick with --quick)
  --out dir        where --json writes (default bench/results); --machine name: its file name
  --no-progress    no progress lines on stderr
  --tiny           a 2-layer hidden-32 model, a few tokens, no peers: the bench's own test
  --help, -h       this text
`;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      tiny: { type: 'boolean', default: false },
      workloads: { type: 'string' },
      rounds: { type: 'string' },
      json: { type: 'boolean', default: false },
      out: { type: 'string', default: join(HERE, 'results') },
      machine: { type: 'string' },
      cache: { type: 'string', default: join(homedir(), '.cache', 'wasm-attention-bench') },
      'no-peers': { type: 'boolean', default: false },
      'no-plain-js': { type: 'boolean', default: false },
      peers: { type: 'string' },
      dtypes: { type: 'string', default: 'f32' },
      contenders: { type: 'string' },
      'peers-dir': { type: 'string', default: DEFAULT_PEERS_DIR },
      'no-progress': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  console.error(`${error.message}\n\n${HELP}`);
  process.exit(2);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

const started = performance.now();
const elapsed = () => Math.round((performance.now() - started) / 1000);
const progress = (line) => { if (!args['no-progress']) console.error(`[${elapsed()} s, load ${loadavg()[0].toFixed(1)}] ${line}`); };
// timed rounds: LM1 3, LM2 2 (each of its rounds loads every contender again), quick and tiny 1
const roundsOf = (w) => Number(args.rounds ?? (args.quick || args.tiny ? 1 : w.id === 'LM2' ? 2 : 3));
const peersDir = resolve(args['peers-dir']);
// --tiny: no peers unless named with --peers (the bench's own test of a peer's plumbing)
const usePeers = !args['no-peers'] && (!args.tiny || args.peers !== undefined);
const rootRequire = createRequire(join(HERE, '..', 'package.json'));
const peerFamilies = new Set((args.peers ?? 'wllama,ort-web,ort-node').split(',').map((x) => x.trim()));
const onlyContenders = args.contenders?.split(',').map((x) => x.trim()).filter(Boolean);
const picked = (id) => !onlyContenders || onlyContenders.some((o) => id.startsWith(o));
const DTYPES = (args.dtypes ?? 'f32').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
for (const d of DTYPES) if (!['f32', 'q8', 'q4'].includes(d)) {
  console.error(`--dtypes: '${d}' is not one of f32, q8, q4`);
  process.exit(2);
}
/**
 * Bytes a weight of each precision takes, scales included: ours Q8/Q4 and onnxruntime's MatMulNBits Q4
 * keep an f32 scale per 32, ggml's an f16 one; INT8 (onnxruntime's q8 file) one scale per matrix.
 */
const WEIGHT_BYTES = { F32: 4, F16: 2, Q8: 1 + 4 / 32, Q4: 0.5 + 4 / 32, Q8_0: 34 / 32, Q4_0: 18 / 32, INT8: 1 };

// ---- workloads -------------------------------------------------------------------------------------
const WORKLOADS = {
  LM1: { id: 'LM1', title: 'SmolLM2-135M shape (Llama)', shape: SHAPES.LM1, prefill: [128, 512], decode: { prompt: 512, steps: 128 }, interleave: true, memorySteps: 1000 },
  LM2: { id: 'LM2', title: 'Qwen2.5-0.5B shape (Qwen2, q/k/v biases)', shape: SHAPES.LM2, prefill: [128], decode: { prompt: 128, steps: 128 }, interleave: false, memorySteps: 0 },
};
let chosen;
if (args.tiny) chosen = [{ id: 'TINY', title: 'tiny Llama (2 layers, hidden 32)', shape: SHAPES.TINY, prefill: [8, 16], decode: { prompt: 16, steps: 8 }, interleave: true, memorySteps: 20 }];
else if (args.quick) chosen = [{ ...WORKLOADS.LM1, prefill: [32, 128], decode: { prompt: 128, steps: 32 }, memorySteps: 100 }];
else chosen = Object.values(WORKLOADS);
if (args.workloads) {
  const want = args.workloads.split(',').map((s) => s.trim().toUpperCase());
  chosen = chosen.filter((w) => want.includes(w.id));
  if (!chosen.length) {
    console.error(`--workloads: none of ${want.join(', ')} in this run (LM1, LM2${args.quick ? '; --quick has LM1 only' : ''})`);
    process.exit(2);
  }
}
const CHECK = { prompt: 16, steps: 8, top: 5 };

// ---- the roofline: read bandwidth -------------------------------------------------------------------
// A Wasm module written here byte by byte: sum(ptr, bytes) → f32, four f32x4 accumulators over
// 64-byte steps (v128.load, f32x4.add), over its own memory of 8200 pages (512 MiB + a little).
function sumModule() {
  const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
  const section = (id, body) => [id, ...leb(body.length), ...body];
  const str = (s) => [...leb(s.length), ...Buffer.from(s)];
  const load = (acc, off) => [0x20, acc, 0x20, 0x00, 0xfd, 0x00, 0x04, ...leb(off), 0xfd, 0xe4, 0x01, 0x21, acc];
  const body = [
    0x02, 0x04, 0x7b, 0x01, 0x7f, // locals: 4 × v128 (2–5), 1 × i32 (6: end)
    0x20, 0x00, 0x20, 0x01, 0x6a, 0x21, 0x06,
    0x03, 0x40,
    ...load(2, 0), ...load(3, 16), ...load(4, 32), ...load(5, 48),
    0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x22, 0x00, 0x20, 0x06, 0x49, 0x0d, 0x00,
    0x0b,
    0x20, 0x02, 0x20, 0x03, 0xfd, 0xe4, 0x01, 0x20, 0x04, 0xfd, 0xe4, 0x01, 0x20, 0x05, 0xfd, 0xe4, 0x01, 0x21, 0x02,
    0x20, 0x02, 0xfd, 0x1f, 0x00, 0x20, 0x02, 0xfd, 0x1f, 0x01, 0x92, 0x20, 0x02, 0xfd, 0x1f, 0x02, 0x92, 0x20, 0x02, 0xfd, 0x1f, 0x03, 0x92,
    0x0b,
  ];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7d]),
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, ...leb(8200)]),
    ...section(7, [0x02, ...str('sum'), 0x00, 0x00, ...str('mem'), 0x02, 0x00]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ];
  return new Uint8Array(bytes);
}

async function readBandwidth() {
  const bytes = 512 * 2 ** 20;
  const { instance } = await WebAssembly.instantiate(sumModule());
  const { sum, mem } = instance.exports;
  const f = new Float32Array(mem.buffer, 64, bytes / 4);
  for (let i = 0; i < f.length; i += 1024) f.fill((i % 7) * 0.25, i, i + 1024);
  // JS check of the kernel on the first 1 MiB
  let want = 0;
  for (let i = 0; i < 2 ** 18; i++) want += f[i];
  const got = sum(64, 2 ** 20);
  if (Math.abs(got - want) > 1e-3 * Math.abs(want)) throw new Error(`bandwidth kernel: sum ${got}, expected ${want}`);
  const wasmMs = [];
  for (let r = 0; r < 6; r++) {
    const t = performance.now();
    sum(64, bytes);
    wasmMs.push(performance.now() - t);
  }
  const jsMs = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    let a = 0, b = 0, c = 0, d = 0;
    for (let i = 0; i < f.length; i += 4) { a += f[i]; b += f[i + 1]; c += f[i + 2]; d += f[i + 3]; }
    jsMs.push(performance.now() - t);
    if (a + b + c + d === -1) console.log('');
  }
  const best = (ms) => bytes / Math.min(...ms.slice(1)) / 1e6; // GB/s, the first pass (page faults) left out
  return { bytes, wasmGBs: best(wasmMs), jsGBs: best(jsMs), wasmMs, jsMs };
}

// ---- ours -------------------------------------------------------------------------------------------
async function gemmGflops(rt) {
  const n = args.tiny ? 64 : 1024;
  const a = { data: new Float32Array(n * n).map((_, i) => ((i * 7) % 13) / 13 - 0.5), shape: [n, n] };
  const samples = await timeSlice(() => rt.matmul(a, a), { time: args.tiny ? 20 : args.quick ? 600 : 1500, warmupTime: args.tiny ? 5 : 300 });
  samples.sort((x, y) => x - y);
  return { n, ms: samples[samples.length >> 1], gflops: (2 * n ** 3) / samples[samples.length >> 1] / 1e6 };
}

function ourContenders(w, dir, maxLength) {
  const list = [];
  const variants = [];
  if (DTYPES.includes('f32')) for (const backend of ['relaxed-simd', 'simd']) for (const threads of [1, 2]) variants.push({ backend, threads, dtype: 'f32' });
  for (const dtype of DTYPES.filter((d) => d !== 'f32')) for (const threads of [1, 2]) variants.push({ backend: 'relaxed-simd', threads, dtype });
  for (const { backend, threads, dtype } of variants) {
      let rt, lm, cache;
      list.push({
        id: `wasm-${backend}-${threads}t${dtype === 'f32' ? '' : `-${dtype}`}`,
        label: `wasm ${backend} ${threads}T${dtype === 'f32' ? '' : ` ${dtype.toUpperCase()}`}`,
        group: 'ours',
        precision: dtype.toUpperCase(),
        threads,
        async open() {
          rt = await init({ backend, threads });
          if (rt.threads !== threads) throw new Error(`${rt.threads} thread(s): ${rt.threadsReason}`);
          const t0 = performance.now();
          lm = await loadModel(rt, dir, { kind: 'causal-lm', dtype });
          const loadMs = performance.now() - t0;
          cache = lm.createCache({ maxLength });
          this.info = { backend: rt.backend, threads: rt.threads, loadMs, cacheBytes: cache.bytes };
          return this.info;
        },
        gemm: () => gemmGflops(rt),
        // job: { ids, steps, keep? } → { prefillMs, decodeMs, ids (the greedy tokens), logprobs (top-k per step) }
        run(job) {
          cache.reset();
          const t0 = performance.now();
          let out = lm.forward(job.ids, { cache });
          const prefillMs = performance.now() - t0;
          const gen = [];
          const tops = [];
          const t1 = performance.now();
          for (let s = 0; s < job.steps; s++) {
            const next = argmax(out.logits.data);
            if (job.top) tops.push(topLogprobs(out.logits.data, job.top));
            gen.push(next);
            out = lm.forward([next], { cache });
          }
          const decodeMs = performance.now() - t1;
          return { prefillMs, decodeMs, ids: gen, tops };
        },
        memoryCheck(steps) {
          const c = lm.createCache({ maxLength: steps + 32 });
          let out = lm.forward(prompt(16).ids.map((id) => id % w.shape.vocab_size), { cache: c });
          for (let s = 0; s < 8; s++) out = lm.forward([argmax(out.logits.data)], { cache: c });
          rt.resetPeakMemory();
          const before = rt.memoryStats();
          const t = performance.now();
          for (let s = 0; s < steps; s++) out = lm.forward([argmax(out.logits.data)], { cache: c });
          const ms = performance.now() - t;
          const after = rt.memoryStats();
          c.dispose();
          return { steps, ms, before, after };
        },
        async close() {
          cache?.dispose();
          lm?.dispose();
          rt?.dispose?.();
          rt = lm = cache = undefined;
        },
      });
  }
  return list;
}

/**
 * The plain-JS twin (float64 reference ops, one thread). Being ~40× slower than ours, it is timed on
 * one job per round: a prefill of the workload's first length and 16 decode steps after it (not after
 * the decode job's longer prompt: its decode figure sees fewer cached positions than ours).
 */
function plainJsContender(w, dir, maxLength) {
  let lm, cache;
  const short = { key: 'plain-js', n: w.prefill[0], steps: Math.min(16, w.decode.steps) };
  return {
    id: 'plain-js',
    label: 'plain JS (reference)',
    group: 'reference',
    api: 'ids',
    precision: 'F32',
    threads: 1,
    jobs: (jobs) => [{ ...short, ids: jobs.find((j) => j.n === short.n)?.ids ?? jobs[0].ids.slice(0, short.n) }],
    note: `timed on a prefill of ${short.n} tokens and ${short.steps} decode steps after it${w.prefill.length > 1 ? `; prefill ${w.prefill.filter((n) => n !== short.n).join(', ')} not timed` : ''}`,
    async open() {
      const t0 = performance.now();
      lm = plainJsLm(dir);
      cache = lm.createCache({ maxLength });
      this.version = 'wasm-attention reference';
      return { loadMs: performance.now() - t0 };
    },
    run(job) {
      cache.reset();
      const t0 = performance.now();
      let out = lm.forward(job.ids, cache);
      const prefillMs = performance.now() - t0;
      const ids = [], tops = [];
      const t1 = performance.now();
      for (let s = 0; s < job.steps; s++) {
        const next = argmax(out.logits.data);
        if (job.top) tops.push(topLogprobs(out.logits.data, job.top));
        ids.push(next);
        out = lm.forward([next], cache);
      }
      return { prefillMs, decodeMs: performance.now() - t1, ids, tops };
    },
    async close() {
      lm = cache = undefined;
    },
  };
}

const argmax = (a) => {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
};
// ---- the arithmetic ------------------------------------------------------------------------------------
function model(w) {
  const c = w.shape;
  const counts = parameterCounts(c);
  const d = c.hidden_size / c.num_attention_heads;
  // bytes a decode step reads: every matrix and the tied head once, norms and biases; + the KV cache at `pos` positions
  const weightBytes = (matrixBytes) => (counts.layerMatrices + counts.head) * matrixBytes + counts.other * 4;
  const kvBytes = (pos, elementBytes) => 2 * c.num_hidden_layers * c.num_key_value_heads * d * pos * elementBytes;
  // prefill flops of L tokens: the matrices for every token, the head for the last one, causal attention (q·k and p·v)
  const prefillFlops = (L) => 2 * counts.layerMatrices * L + 2 * counts.head + c.num_hidden_layers * c.num_attention_heads * 4 * d * (L * (L + 1)) / 2;
  return { counts, weightBytes, kvBytes, prefillFlops };
}

// ---- a workload -----------------------------------------------------------------------------------------
async function runWorkload(w) {
  const m = model(w);
  const rounds = roundsOf(w);
  const dir = join(resolve(args.cache), w.id === 'TINY' ? 'tiny' : w.id.toLowerCase());
  progress(`${w.id}: writing the checkpoint into ${dir} (once)`);
  writeCheckpoint(dir, w.shape);
  const maxPrompt = Math.max(...w.prefill, w.decode.prompt, CHECK.prompt);
  const maxLength = maxPrompt + Math.max(w.decode.steps, CHECK.steps) + 8;
  const contenders = ourContenders(w, dir, maxLength).filter((c) => picked(c.id));
  if (!args['no-plain-js'] && DTYPES.includes('f32') && picked('plain-js')) contenders.push(plainJsContender(w, dir, maxLength));
  let peer, browser;
  const peerNotes = [];
  if (usePeers && peerFamilies.has('wllama') && (!onlyContenders || onlyContenders.some((o) => o.startsWith('wllama')))) {
    if (!wllamaDir(peersDir)) peerNotes.push(`wllama: not installed in ${peersDir} (npm ci there: @wllama/wllama is in its package.json)`);
    else {
      const files = [];
      const types = [...(DTYPES.includes('f32') ? ['f32', 'f16'] : []), ...(DTYPES.includes('q8') ? ['q8_0'] : []), ...(DTYPES.includes('q4') ? ['q4_0'] : [])];
      for (const type of types) {
        progress(`${w.id}: writing the ${type.toUpperCase()} GGUF file (once)`);
        writeGguf(dir, w.shape, type);
        files.push({ dir, name: `model-${type}.gguf`, label: type.toUpperCase() });
      }
      try {
        peer = await wllamaContenders({ peersDir, rootRequire, files, threads: [1, 2], nCtx: Math.max(1024, maxLength), log: progress });
        browser = peer.browser;
        contenders.push(...peer.contenders.filter((c) => picked(c.id)));
      } catch (error) {
        peerNotes.push(`wllama: ${error.message}`);
      }
    }
  }
  for (const flavor of ['web', 'node']) {
    if (!usePeers || !peerFamilies.has(`ort-${flavor}`)) continue;
    const pkg = `onnxruntime-${flavor}`;
    if (w.shape.model_type !== 'llama') {
      peerNotes.push(`${pkg}: not run on ${w.id} (the bench's ONNX graph is a Llama without biases, and ${w.id}'s float32 weights pass protobuf's 2 GB limit without external data)`);
      continue;
    }
    if (!existsSync(join(peersDir, 'node_modules', pkg, 'package.json'))) {
      peerNotes.push(`${pkg}: not installed in ${peersDir}`);
      continue;
    }
    const list = new Map(tensorList(w.shape).map((t) => [t.name, t]));
    const weight = (n) => halfToFloat(tensorHalf(list.get(n)));
    for (const dtype of DTYPES)
      for (const threads of [1, 2]) {
        // onnxruntime-web's thread count is per process: its 2-thread session runs in a child process
        const c = flavor === 'web' && threads > 1 ? ortLmRemote({ peersDir, flavor, threads, workload: w.id, dtype }) : ortLmContender({ peersDir, flavor, threads, config: w.shape, weight, dtype });
        c.api = 'ids';
        if (picked(c.id)) contenders.push(c);
      }
  }

  progress(`${w.id}: read bandwidth (a Wasm SIMD sum and a JS sum over 512 MiB)`);
  const bandwidth = await readBandwidth();

  // the jobs: ids for ours; the same prompt as text for wllama
  const vocab = w.shape.vocab_size;
  const ids = (n) => prompt(n).ids.map((id) => id % vocab);
  const check = { ids: ids(CHECK.prompt), text: prompt(CHECK.prompt).text, steps: CHECK.steps, top: CHECK.top };
  const jobs = [
    ...w.prefill.filter((n) => n !== w.decode.prompt).map((n) => ({ key: `prefill${n}`, n, ids: ids(n), text: prompt(n).text, steps: 0 })),
    { key: 'decode', n: w.decode.prompt, ids: ids(w.decode.prompt), text: prompt(w.decode.prompt).text, steps: w.decode.steps },
  ];
  const rows = contenders.map((c) => ({ id: c.id, label: c.label, group: c.group, precision: c.precision, ...(c.dtype ? { dtype: c.dtype } : {}), threads: c.threads, version: c.version, ...(c.note ? { note: c.note } : {}), status: 'ok', samples: {} }));
  const byContender = new Map(contenders.map((c, i) => [c, rows[i]]));
  const run = async (c, job) => {
    if (c.group === 'ours' || c.api === 'ids') return c.run(job);
    const r = await c.run({ text: job.text, maxTokens: Math.max(1, job.steps), logprobs: job.top });
    return { prefillMs: r.timings.prompt_ms, decodeMs: job.steps ? r.timings.predicted_ms : undefined, decodeSteps: r.timings.predicted_n, wallMs: r.wallMs, promptTokens: r.timings.prompt_n, text: r.text, logprobs: r.logprobs };
  };
  const record = (row, job, r) => {
    const add = (k, v) => (row.samples[k] ??= []).push(v);
    if (job.steps === 0 || w.prefill.includes(job.n)) add(`prefill${job.n}`, (r.promptTokens ?? job.n) / (r.prefillMs / 1000));
    if (job.steps) add('decode', (r.decodeSteps ?? job.steps) / (r.decodeMs / 1000));
  };
  const opened = new Set();
  const open = async (c, row, withCheck = true) => {
    progress(`${w.id}: opening ${c.label}`);
    try {
      const info = await c.open();
      row.info ??= info;
      (row.loads ??= []).push(info?.loadMs);
      row.version ??= c.version;
      opened.add(c);
      if (!withCheck) return;
      // the check: top-k tokens and log-probabilities over the first greedy steps
      const r = await run(c, check);
      row.check = c.group === 'ours' || c.api === 'ids' ? { ids: r.ids, tops: r.tops } : { text: r.text, ids: r.logprobs?.content?.map((s) => s.id), tops: r.logprobs?.content?.map((s) => s.top_logprobs.map((t) => ({ id: t.id, logprob: t.logprob }))) };
    } catch (error) {
      row.status = `failed: ${String(error?.message ?? error).split('\n')[0]}`;
      opened.delete(c); // not timed: its first failure is what the row says
      await c.close().catch(() => {});
    }
  };
  const timeRounds = async (c, row, r) => {
    if (c.gemm) {
      progress(`${w.id}: round ${r + 1}/${rounds} ${c.label} gemm`);
      (row.gemm ??= []).push((await c.gemm()).gflops);
    }
    for (const job of c.jobs?.(jobs) ?? jobs) {
      progress(`${w.id}: round ${r + 1}/${rounds} ${c.label} ${job.steps ? `prefill ${job.n} + ${job.steps} decode steps` : `prefill ${job.n}`}`);
      try {
        record(row, job, await run(c, job));
      } catch (error) {
        row.status = `failed: ${String(error?.message ?? error).split('\n')[0]}`;
        await c.close().catch(() => {});
        opened.delete(c);
        return;
      }
    }
  };
  let memory = null;
  try {
    if (w.interleave) {
      for (const [i, c] of contenders.entries()) await open(c, rows[i]);
      for (let r = 0; r < rounds; r++) for (const [i, c] of contenders.entries()) if (opened.has(c)) await timeRounds(c, rows[i], r);
    } else {
      // one contender in memory at a time, loaded again for each round: rounds still interleave
      for (let r = 0; r < rounds; r++)
        for (const [i, c] of contenders.entries()) {
          if (rows[i].status !== 'ok') continue;
          await open(c, rows[i], r === 0);
          if (opened.has(c)) await timeRounds(c, rows[i], r);
          await c.close();
          opened.delete(c);
        }
    }
    const oursFirst = contenders.findIndex((c) => c.group === 'ours');
    if (w.memorySteps && oursFirst >= 0) {
      const c = contenders[oursFirst];
      if (!opened.has(c)) await open(c, rows[oursFirst]);
      progress(`${w.id}: memory: ${w.memorySteps} decode steps on ${c.label}`);
      memory = { contender: c.label, ...c.memoryCheck(w.memorySteps) };
    }
  } finally {
    for (const c of contenders) await c.close().catch(() => {});
    await peer?.close().catch(() => {});
  }
  const loads = loadavg();
  // the check against ours (relaxed-simd 1T)
  const ref = rows.find((r) => r.group === 'ours' && r.precision === 'F32' && r.check) ?? rows.find((r) => r.group === 'ours' && r.check);
  for (const row of rows) if (row.check && ref) row.check.verdict = compare(ref.check, row.check);
  if (ref) for (const row of rows) if (row.check?.verdict) Object.assign(row.check.verdict, { against: ref.label, againstPrecision: ref.precision });
  // figures
  const meanPos = w.decode.prompt + w.decode.steps / 2;
  for (const row of rows) {
    const med = (k) => (row.samples[k]?.length ? median(row.samples[k]) : undefined);
    if (row.gemm) row.gemmGflops = median(row.gemm);
    row.tokensPerS = Object.fromEntries(Object.keys(row.samples).map((k) => [k, med(k)]));
    const bytes = m.weightBytes(WEIGHT_BYTES[row.precision] ?? 4) + m.kvBytes(meanPos, row.id.startsWith('wllama') ? 2 : 4);
    if (row.tokensPerS.decode) row.decodeGBs = (bytes * row.tokensPerS.decode) / 1e9;
    row.bytesPerToken = bytes;
    row.prefillGflops = Object.fromEntries(w.prefill.filter((n) => row.tokensPerS[`prefill${n}`]).map((n) => [n, (m.prefillFlops(n) * row.tokensPerS[`prefill${n}`]) / n / 1e9]));
  }
  return { id: w.id, title: w.title, browser, config: w.shape, counts: m.counts, prefill: w.prefill, decode: w.decode, rounds, bandwidth, rows, memory, peerNotes, loadAfter: loads[0] };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Agreement: the greedy tokens equal, and the log-probabilities of the top-5 tokens both list within
// 5e-3 (float32 against float16 arithmetic moves them by ~1e-3; near-ties may swap places in the
// top 5: counted, not failed).
function compare(ref, got) {
  const tops = got.tops ?? [];
  let sameTop = 0, steps = 0, maxDiff = 0;
  for (let s = 0; s < Math.min(ref.tops.length, tops.length); s++) {
    steps++;
    const a = ref.tops[s], b = tops[s];
    if (a.map((t) => t.id).join() === b.map((t) => t.id).join()) sameTop++;
    for (const t of b) {
      const r = a.find((x) => x.id === t.id);
      if (r) maxDiff = Math.max(maxDiff, Math.abs(r.logprob - t.logprob));
    }
  }
  const greedy = (got.ids ?? []).join() === ref.ids.join();
  let sameTokens = 0;
  while (sameTokens < ref.ids.length && got.ids?.[sameTokens] === ref.ids[sameTokens]) sameTokens++;
  return { greedy, sameTokens, sameTop5Steps: `${sameTop}/${steps}`, maxLogprobDiff: maxDiff, ok: greedy && steps === ref.tops.length && maxDiff < 5e-3 };
}

// ---- report -----------------------------------------------------------------------------------------------
const f = (x, d = 1) => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(d));
function tables(res, { markdown = false } = {}) {
  const lines = [];
  const bw = res.bandwidth.wasmGBs;
  const header = ['contender', ...res.prefill.map((n) => `prefill ${n} tok/s`), `decode tok/s (${res.decode.steps} after ${res.decode.prompt})`, ...res.prefill.map((n) => `prefill ${n} GFLOP/s`), 'gemm GFLOP/s', `prefill ${res.prefill.at(-1)} / gemm`, 'decode GB/s', 'decode / read bw', 'check'];
  const body = res.rows.map((r) => {
    if (r.status !== 'ok') return [r.label, r.status];
    const gemm = r.gemmGflops;
    const lastN = res.prefill.at(-1);
    const v = r.check?.verdict;
    const lowPrecision = !['F32', 'F16'].includes(r.precision);
    const check = !v ? '—' : lowPrecision
      ? `${r.precision} vs ${v.againstPrecision}: first ${v.sameTokens} of ${CHECK.steps} greedy tokens same, top-5 order ${v.sameTop5Steps}, Δlogprob ≤ ${v.maxLogprobDiff.toExponential(0)}`
      : `${v.ok ? 'ok' : 'DIFFERS'} (greedy ${v.greedy ? 'same' : 'differs'}, top-5 order ${v.sameTop5Steps}, Δlogprob ≤ ${v.maxLogprobDiff.toExponential(0)})`;
    return [
      r.label,
      ...res.prefill.map((n) => (r.tokensPerS[`prefill${n}`] === undefined && r.group === 'reference' ? 'not timed' : f(r.tokensPerS[`prefill${n}`]))),
      f(r.tokensPerS.decode),
      ...res.prefill.map((n) => f(r.prefillGflops[n])),
      gemm ? f(gemm) : '—',
      gemm && r.prefillGflops[lastN] ? `${Math.round((100 * r.prefillGflops[lastN]) / gemm)}%` : '—',
      f(r.decodeGBs),
      r.decodeGBs ? `${Math.round((100 * r.decodeGBs) / bw)}%` : '—',
      check,
    ];
  });
  if (markdown) {
    lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
    for (const b of body) lines.push(`| ${b.join(' | ')}${b.length < header.length ? ' |'.repeat(header.length - b.length) : ''} |`);
  } else {
    const widths = header.map((h, i) => Math.max(h.length, ...body.filter((b) => b.length === header.length).map((b) => String(b[i]).length)));
    lines.push(header.map((h, i) => h.padEnd(widths[i])).join('  '));
    for (const b of body) lines.push(b.length === header.length ? b.map((x, i) => String(x).padEnd(widths[i])).join('  ') : `${b[0].padEnd(widths[0])}  ${b[1]}`);
  }
  return lines.join('\n');
}

function notes(res) {
  const c = res.config, bw = res.bandwidth;
  const mib = (b) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(0)} MiB` : `${(b / 1024).toFixed(0)} KiB`);
  const ours = res.rows.find((r) => r.group === 'ours' && r.bytesPerToken);
  const peerF16 = res.rows.find((r) => r.precision === 'F16' && r.bytesPerToken);
  const out = [
    `${res.id} ${res.title}: ${c.num_hidden_layers} layers, hidden ${c.hidden_size}, ${c.num_attention_heads} heads (${c.num_key_value_heads} KV), FF ${c.intermediate_size}, vocab ${c.vocab_size}, tied; ${(res.counts.total / 1e6).toFixed(1)} M parameters (${(res.counts.layerMatrices / 1e6).toFixed(1)} M in the layers' matrices, ${(res.counts.head / 1e6).toFixed(1)} M in the tied embedding / head); random weights, every one a float16 value. Median of ${res.rounds} round${res.rounds === 1 ? '' : 's'}; load average ${res.loadAfter.toFixed(1)} on ${availableParallelism()} cores at the end.`,
    `Read bandwidth, this process: ${bw.wasmGBs.toFixed(1)} GB/s (Wasm SIMD sum over 512 MiB, best of 5 passes; 1 thread), ${bw.jsGBs.toFixed(1)} GB/s (plain JS Float32Array sum, a lower bound). Decode GB/s = bytes read per token × tokens/s: ${ours ? `${mib(ours.bytesPerToken)} for float32 weights` : ''}${peerF16 ? `, ${mib(peerF16.bytesPerToken)} for wllama F16` : ''} (weights once, the tied head once, and the KV cache at the mean position ${res.decode.prompt + res.decode.steps / 2}); 2-thread rows are compared with the 1-thread bandwidth.`,
    `Prefill GFLOP/s = (2 × the layers' matrix parameters × tokens + the head for the last token + causal attention 4·H·D·L(L+1)/2 per layer) / time; gemm: rt.matmul ${res.id === 'TINY' ? 64 : 1024}³ on the same runtime, timed in the same rounds (median). Ours: forward() calls, the greedy argmax in JS included${res.rows.some((r) => r.id.startsWith('wllama')) ? "; wllama's times are llama.cpp's own (prompt_ms, predicted_ms)" : ''}.`,
    `Check: the ${CHECK.steps} greedy tokens after a ${CHECK.prompt}-token prompt and the log-probabilities of each step's top 5, against ${res.rows.find((r) => r.check?.verdict)?.check.verdict.against ?? 'wasm relaxed-simd 1T'} ('top-5 order': steps whose five tokens come in the same order; near-ties within float16 rounding may swap). Quantized rows (Q8, Q4, Q8_0, Q4_0) are expected to drift from float32: their column says how far.`,
  ];
  if (res.memory) {
    const m = res.memory;
    out.push(`Steady decode memory (${m.contender}, ${m.steps} steps, ${(m.ms / m.steps).toFixed(1)} ms/step): bytes in use ${m.before.bytesInUse} before, ${m.after.bytesInUse} after; peak ${m.before.peakBytes} → ${m.after.peakBytes}; allocations ${m.before.allocations} → ${m.after.allocations}; Wasm memory ${mib(m.before.capacityBytes)} → ${mib(m.after.capacityBytes)}.`);
  }
  const wl = res.rows.find((r) => r.id.startsWith('wllama') && r.version);
  if (wl) out.push(`wllama ${wl.version} (llama.cpp ${res.rows.find((r) => r.info?.libllama)?.info.libllama ?? '?'}) in Chromium ${res.browser ?? '?'}: ${[...new Set(res.rows.filter((r) => r.id.startsWith('wllama')).map((r) => r.precision))].join(', ')} GGUF files written by the bench (q/k rows permuted as convert_hf_to_gguf.py does; Q8_0 / Q4_0 blocks rounded as ggml's quantize_row_*_ref, every matrix including the embeddings), KV cache F16 (its default), llama.cpp's own prompt and decode timings.`);
  const ox = res.rows.find((r) => r.id.startsWith('ort-') && r.version);
  if (ox) {
    const kinds = new Set(res.rows.filter((r) => r.id.startsWith('ort-')).map((r) => r.dtype ?? 'f32'));
    const files = [...kinds].map((d) => `${d} ${ONNX_FILES[d]} (${ONNX_FORMATS[d]})`).join(', ');
    out.push(`onnxruntime ${ox.version}: the bench's Llama graph (plain ops, past_key_values inputs / present outputs) as transformers.js's files: ${files}; the q8 graph quantized as transformers.js's converter does for llama (per tensor, full int8 range, the embedding table uint8), q4 as its MatMul4BitsQuantizer (block 32, symmetric; the embedding Gather stays float32); graph optimisation 'all'; web = its wasm build in Node, node = its native CPU library (not Wasm, for reference); one session.run per token, as transformers.js's generation loop does.`);
  }
  const js = res.rows.find((r) => r.group === 'reference' && r.status === 'ok');
  const ours1 = res.rows.find((r) => r.id === 'wasm-relaxed-simd-1t' && r.status === 'ok');
  if (js) {
    const n = Object.keys(js.tokensPerS).find((k) => k.startsWith('prefill'));
    const times = (k) => (ours1?.tokensPerS[k] && js.tokensPerS[k] ? ` (ours relaxed-simd 1T ${f(ours1.tokensPerS[k] / js.tokensPerS[k])}× faster)` : '');
    out.push(`Plain JS: the package's float64 reference ops (reference.rmsNorm, matmul, rope, scaledDotProductAttention, swigluFeedForward) composed as a Llama with a KV cache of Float32Arrays, one thread, no Wasm (bench/plain-js-lm.mjs); ${js.note}: ${n ? `${n.replace('prefill', 'prefill ')} ${f(js.tokensPerS[n])} tok/s${times(n)}, ` : ''}decode ${f(js.tokensPerS.decode)} tok/s${times('decode')} (after ${n?.replace('prefill', '') ?? '?'} positions, ours after ${res.decode.prompt}).`);
  }
  for (const n of res.peerNotes) out.push(n);
  return out;
}

// ---- main ---------------------------------------------------------------------------------------------------
const env = environment({
  versions: { 'wasm-attention': JSON.parse(readFileSync(join(HERE, '..', 'package.json'), 'utf8')).version },
  options: { quick: args.quick, tiny: args.tiny, rounds: args.rounds ?? null, peers: usePeers },
});
console.log(`wasm-attention language-model benchmark${args.quick ? ' (quick run)' : ''} — ${env.machine.cpu} (${env.machine.cores} cores), Node ${env.node}, ${env.date.slice(0, 10)}; load average ${loadavg()[0].toFixed(1)}`);
if (!usePeers && !args.tiny) console.log('  peers left out (--no-peers): no wllama rows');
const results = [];
for (const w of chosen) {
  const res = await runWorkload(w);
  results.push(res);
  console.log(`\n${notes(res).join('\n')}\n\n${tables(res)}`);
}
console.log(`\nRun: ${elapsed()} s.`);
if (args.json) {
  const machineName = args.machine ?? machineSlug(env);
  const stem = `${env.date.slice(0, 10)}-${machineName}-lm${args.quick ? '-quick' : args.tiny ? '-tiny' : ''}`;
  mkdirSync(args.out, { recursive: true });
  const json = join(args.out, `${stem}.json`), md = join(args.out, `${stem}.md`);
  writeFileSync(json, `${JSON.stringify({ ...env, machineName, workloads: results }, null, 1)}\n`);
  writeFileSync(md, `Measured ${env.date.slice(0, 16).replace('T', ' ')} UTC on ${env.machine.cpu}, ${env.machine.cores} cores, Node ${env.node}${args.quick ? ' (quick run)' : ''}.\n\n${results.map((r) => `## ${r.id}\n\n${notes(r).join('\n\n')}\n\n${tables(r, { markdown: true })}`).join('\n\n')}\n`);
  console.log(`\nWrote ${json}, ${md}`);
}
process.exit(0);
