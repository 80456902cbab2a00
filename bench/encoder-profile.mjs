// Where the time of one model.embed call goes on one thread: every Wasm kernel call timed by
// wrapping the runtime's kernel table (performance.now() around each call; the wrapper's own cost
// lands on the kernels), the rest is JavaScript (checks, id layout, copies, pooling). Tokenization:
// embed(texts) − embed(token ids). Uses the checkpoints bench:encoders wrote (bench/.cache).
//   node --experimental-wasm-relaxed-simd bench/encoder-profile.mjs [E1|E2] [--backend simd] [--dtype q8] [--calls 2]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { init, loadModel } from '../dist/index.js';
import { ENCODER_SHAPES, ensureCheckpoint, sentences } from './encoder-checkpoint.mjs';

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { backend: { type: 'string' }, dtype: { type: 'string', default: 'f32' }, calls: { type: 'string', default: '2' }, cache: { type: 'string', default: fileURLToPath(new URL('.cache', import.meta.url)) } } });
const w = (positionals[0] ?? 'E1') === 'E2' ? { shape: 'base', b: 8, l: 256 } : { shape: 'minilm', b: 32, l: 128 };
const ck = ensureCheckpoint(args.cache, `bert-${w.shape}`, ENCODER_SHAPES[w.shape]);
const rt = await init({ threads: 1, ...(args.backend ? { backend: args.backend } : {}) });
const model = await loadModel(rt, ck.dir, { dtype: args.dtype });
const texts = sentences(JSON.parse(readFileSync(join(ck.dir, 'tokenizer.json'), 'utf8')), w.b, w.l);
const ids = texts.map((t) => model.tokenizer.encodeForModel(t, undefined, 512, true, 'text').ids);
const opts = { pooling: 'mean', normalize: false, batchSize: w.b };
model.embed(ids, opts); // warm up
const ws = rt.workspace;
const real = ws.kernels;
const spent = new Map();
const wrapped = {};
for (const name of Object.keys(real)) {
  const f = real[name];
  if (typeof f !== 'function') {
    Object.defineProperty(wrapped, name, { get: () => real[name] });
    continue;
  }
  wrapped[name] = (...a) => {
    const t0 = performance.now();
    try {
      return f(...a);
    } finally {
      const s = spent.get(name) ?? { ms: 0, calls: 0 };
      s.ms += performance.now() - t0;
      s.calls++;
      spent.set(name, s);
    }
  };
}
ws.liveKernels = wrapped;
const calls = Number(args.calls);
let total = 0;
for (let i = 0; i < calls; i++) {
  const t0 = performance.now();
  model.embed(ids, opts);
  total += performance.now() - t0;
}
ws.liveKernels = real;
let tok = 0;
for (let i = 0; i < calls; i++) {
  const t0 = performance.now();
  model.embed(texts, opts);
  const t1 = performance.now();
  model.embed(ids, opts);
  tok += t1 - t0 - (performance.now() - t1);
}
const kernelMs = [...spent.values()].reduce((a, s) => a + s.ms, 0);
console.log(`${positionals[0] ?? 'E1'} ${args.dtype} on ${rt.backend}, 1 thread: embed(ids) ${(total / calls).toFixed(0)} ms per call of ${w.b} × ${w.l} tokens (kernel table wrapped)`);
for (const [name, s] of [...spent].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) console.log(`  ${name.padEnd(28)} ${(s.ms / calls).toFixed(1).padStart(8)} ms  ${((100 * s.ms) / total).toFixed(1).padStart(5)} %  ${String(s.calls / calls).padStart(6)} calls`);
console.log(`  ${'JavaScript (the rest)'.padEnd(28)} ${((total - kernelMs) / calls).toFixed(1).padStart(8)} ms  ${((100 * (total - kernelMs)) / total).toFixed(1).padStart(5)} %`);
console.log(`  tokenization (embed(texts) − embed(ids), unwrapped): ${(tok / calls).toFixed(1)} ms per call`);
rt.dispose();
