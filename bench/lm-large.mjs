// `npm run bench:lm-large`: a Qwen2.5-1.5B-shaped model (28 layers, hidden 1536, 12 heads, 2 kv heads,
// FF 8960, vocab 151936, tied embeddings, q/k/v biases; random weights) loaded at q4 or q8 within
// wasm32's 4 GiB: the checkpoint is 3.1 GB of BF16 shards (6.2 GB as f32), read and quantized tensor
// by tensor. Prints the load time, the peak Wasm memory, the resident weights by dtype, prefill and
// decode tokens/s; then saves the quantized model (model.save()), loads that file in a fresh runtime
// and prints the same figures for it, and whether its logits are the same bits.
import { homedir } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { init, loadModel } from '../dist/index.js';
import { SHAPES, writeShardedCheckpoint } from './lm-weights.mjs';

const HELP = `Usage: npm run bench:lm-large -- [options]

A Qwen2.5-1.5B-shaped model with random weights (written once into the cache folder as 3.1 GB of
BF16 shards), loaded quantized inside wasm32's 4 GiB: load time, peak Wasm memory, prefill and decode
tokens/s; then the model saved quantized (model.save()) and loaded from that file.

  --dtype q4|q8    the weights' dtype (default q4)
  --prompt n       prompt tokens (default 16)
  --tokens n       greedy decode steps after the prompt (default 16)
  --threads n      threads (default 1)
  --no-saved       skip saving and loading the saved file
  --cache dir      where the checkpoints go (default ~/.cache/wasm-attention-bench)
  --help`;

const { values: args } = parseArgs({
  options: {
    dtype: { type: 'string', default: 'q4' },
    prompt: { type: 'string', default: '16' },
    tokens: { type: 'string', default: '16' },
    threads: { type: 'string', default: '1' },
    'no-saved': { type: 'boolean', default: false },
    cache: { type: 'string', default: join(homedir(), '.cache', 'wasm-attention-bench') },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) (console.log(HELP), process.exit(0));
const dtype = args.dtype;
if (dtype !== 'q4' && dtype !== 'q8') throw new Error(`--dtype must be q4 or q8, received ${dtype}`);
const promptLength = Number(args.prompt), steps = Number(args.tokens), threads = Number(args.threads);

const GiB = 2 ** 30;
const gib = (b) => `${(b / GiB).toFixed(2)} GiB`;
const size = (b) => (b >= GiB / 4 ? gib(b) : `${(b / 2 ** 20).toFixed(2)} MiB`);
const bytesByDtype = (r) => Object.entries(r).map(([k, v]) => `${k} ${size(v)}`).join(' + ') || '0';

const config = SHAPES.LM3;
const dir = join(args.cache, 'LM3-qwen2.5-1.5b-bf16');
const t0 = performance.now();
writeShardedCheckpoint(dir, config);
const shardBytes = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
console.log(`checkpoint ${dir}: ${gib(shardBytes)} of BF16 shards (${((performance.now() - t0) / 1000).toFixed(1)} s to find or write)`);

/** Loads `source` on a fresh runtime, then prefill + greedy decode; → the figures and the first logits. */
async function run(label, source, options) {
  const rt = await init({ threads });
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const model = await loadModel(rt, source, { kind: 'causal-lm', ...options });
  const loadMs = performance.now() - start;
  const loadCpu = process.cpuUsage(cpu0);
  const afterLoad = rt.memoryStats();
  const ids = Array.from({ length: promptLength }, (_, i) => (i * 7919 + 13) % config.vocab_size);
  const cache = model.createCache({ maxLength: promptLength + steps });
  const p0 = performance.now();
  let logits = model.forward(ids, { cache }).logits.data;
  const prefillMs = performance.now() - p0;
  const first = logits.slice();
  const argmax = (x) => x.reduce((b, v, i) => (v > x[b] ? i : b), 0);
  const d0 = performance.now();
  const out = [];
  for (let i = 0; i < steps; i++) {
    const next = argmax(logits);
    out.push(next);
    logits = model.forward([next], { cache }).logits.data;
  }
  const decodeMs = performance.now() - d0;
  const stats = rt.memoryStats();
  console.log(`${label} (${rt.backend}, ${rt.threads} thread${rt.threads > 1 ? 's' : ''}):`);
  console.log(`  load ${(loadMs / 1000).toFixed(1)} s (CPU user ${(loadCpu.user / 1e6).toFixed(1)} s, system ${(loadCpu.system / 1e6).toFixed(1)} s)`);
  console.log(`  Wasm memory after load: in use ${gib(afterLoad.bytesInUse)}, peak ${gib(afterLoad.peakBytes)}, capacity ${gib(afterLoad.capacityBytes)}`);
  console.log(`  resident weights ${bytesByDtype(stats.weights)}; KV cache ${bytesByDtype(stats.caches)}`);
  console.log(`  prefill ${promptLength} tokens: ${(promptLength / (prefillMs / 1000)).toFixed(1)} tokens/s; decode ${steps} tokens: ${(steps / (decodeMs / 1000)).toFixed(2)} tokens/s`);
  console.log(`  peak Wasm memory over the run: ${gib(stats.peakBytes)} (capacity ${gib(stats.capacityBytes)}); greedy tokens ${out.slice(0, 8).join(' ')}…`);
  cache.dispose();
  return { rt, model, first, loadMs };
}

const a = await run(`${dtype} from the BF16 checkpoint`, dir, { dtype });
if (!args['no-saved']) {
  const s0 = performance.now();
  const bytes = a.model.save();
  const savedDir = join(args.cache, `LM3-qwen2.5-1.5b-${dtype}-saved`);
  mkdirSync(savedDir, { recursive: true });
  writeFileSync(join(savedDir, 'model.safetensors'), bytes);
  writeFileSync(join(savedDir, 'config.json'), readFileSync(join(dir, 'config.json')));
  console.log(`model.save(): ${gib(bytes.length)} in ${((performance.now() - s0) / 1000).toFixed(1)} s → ${savedDir}`);
  a.model.dispose();
  a.rt.dispose();
  const b = await run(`${dtype} from the saved file`, savedDir, {});
  const same = b.first.length === a.first.length && b.first.every((v, i) => Object.is(v, a.first[i]));
  console.log(`saved file: logits ${same ? 'the same bits' : 'DIFFERENT'}; load ${(a.loadMs / b.loadMs).toFixed(1)}× faster than quantizing the BF16 checkpoint`);
  b.model.dispose();
  b.rt.dispose();
} else {
  a.model.dispose();
  a.rt.dispose();
}
console.log('(one run on a shared machine: other processes compete for the same cores and memory bandwidth)');
