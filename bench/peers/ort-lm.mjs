// onnxruntime (onnxruntime-web's wasm build, or onnxruntime-node's CPU library) running
// onnx-lm.mjs's Llama graph with its KV cache: the loop transformers.js's text generation runs
// (one session.run for the prompt, then one per token with past_key_values fed back), greedy. The
// web build reads its thread count once per process: its contender takes the count this process
// was started with (ORT_WEB_THREADS, default 1).
// dtype 'q8' / 'q4': the graph as transformers.js's model_quantized.onnx / model_q4.onnx
// (onnx-quant.mjs), the rows' precision INT8 (int8 matrices, per tensor, activations quantized at run
// time) and Q4 (MatMulNBits: 4-bit blocks of 32 with a float32 scale).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { llamaFeeds, llamaOnnx } from './onnx-lm.mjs';
import { ONNX_FILES } from './onnx-quant.mjs';

/** The row's id suffix, label suffix and precision for a dtype. */
export const ORT_DTYPES = {
  f32: { suffix: '', label: '', precision: 'F32' },
  q8: { suffix: '-q8', label: ` q8 (${ONNX_FILES.q8})`, precision: 'INT8' },
  q4: { suffix: '-q4', label: ` q4 (${ONNX_FILES.q4})`, precision: 'Q4' },
};

/** The k largest logits as { id, logprob } (log-softmax), best first. */
export function topLogprobs(a, k) {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.exp(a[i] - m);
  const lse = m + Math.log(s);
  const idx = [];
  for (let i = 0; i < a.length; i++) {
    if (idx.length < k || a[i] > a[idx[idx.length - 1]]) {
      idx.push(i);
      idx.sort((x, y) => a[y] - a[x]);
      if (idx.length > k) idx.pop();
    }
  }
  return idx.map((id) => ({ id, logprob: a[id] - lse }));
}

/**
 * The same contender in a child process (./ort-lm-child.mjs): onnxruntime-web with `threads`
 * threads next to a 1-thread one in this process. The child regenerates the weights from the
 * workload's seed (lm-weights.mjs).
 */
export function ortLmRemote({ peersDir, flavor, threads, workload, dtype = 'f32' }) {
  let child, pending, seq = 0;
  const call = (msg) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending = { id, resolve, reject };
      child.send({ ...msg, id });
    });
  const dt = ORT_DTYPES[dtype];
  return {
    id: `ort-${flavor}-${threads}t${dt.suffix}`,
    label: `onnxruntime-${flavor} ${threads}T${dt.label}`,
    group: 'peer',
    precision: dt.precision,
    dtype,
    threads,
    async open() {
      child = fork(fileURLToPath(new URL('./ort-lm-child.mjs', import.meta.url)), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', (m) => {
        if (!pending || m.id !== pending.id) return;
        const p = pending;
        pending = undefined;
        if (m.error) p.reject(new Error(m.error));
        else p.resolve(m.result);
      });
      child.on('exit', (code) => pending?.reject(new Error(`the onnxruntime child exited (${code})`)));
      const info = await call({ op: 'open', peersDir, flavor, threads, workload, dtype });
      this.version = info.version;
      return info;
    },
    run: (job) => call({ op: 'run', job }),
    async close() {
      if (!child) return;
      await call({ op: 'close' }).catch(() => {});
      child.kill();
      child = undefined;
    },
  };
}

/** → a contender { id, label, …, open(), run(job), close() } for `flavor` 'web' | 'node'. */
export function ortLmContender({ peersDir, flavor, threads, config, weight, dtype = 'f32' }) {
  const dt = ORT_DTYPES[dtype];
  if (!dt) throw new Error(`ortLmContender: dtype '${dtype}' is not one of ${Object.keys(ORT_DTYPES).join(', ')}`);
  const require = createRequire(join(peersDir, 'package.json'));
  const pkg = flavor === 'web' ? 'onnxruntime-web' : 'onnxruntime-node';
  let ort, session, version;
  const c = config, kv = c.num_key_value_heads, d = c.hidden_size / c.num_attention_heads;
  const argmax = (a) => { let b = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i; return b; };
  const step = async (ids, past, start) => {
    const { cos, sin, mask } = llamaFeeds(c, start, ids.length);
    const T = start + ids.length;
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      cos: new ort.Tensor('float32', cos, [ids.length, d]),
      sin: new ort.Tensor('float32', sin, [ids.length, d]),
      mask: new ort.Tensor('float32', mask, [mask.length / T, T]),
    };
    for (let i = 0; i < c.num_hidden_layers; i++) {
      feeds[`past_key_values.${i}.key`] = past?.[`present.${i}.key`] ?? new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, d]);
      feeds[`past_key_values.${i}.value`] = past?.[`present.${i}.value`] ?? new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, d]);
    }
    return session.run(feeds);
  };
  return {
    id: `ort-${flavor}-${threads}t${dt.suffix}`,
    label: `onnxruntime-${flavor} ${threads}T${dt.label}`,
    group: 'peer',
    precision: dt.precision,
    dtype,
    threads,
    async open() {
      ort = require(pkg);
      version = JSON.parse(readFileSync(join(peersDir, 'node_modules', pkg, 'package.json'), 'utf8')).version;
      this.version = version;
      const t0 = performance.now();
      const bytes = llamaOnnx(c, weight, { dtype });
      const buildMs = performance.now() - t0;
      if (flavor === 'web') {
        ort.env.wasm.numThreads = threads;
        ort.env.logLevel = 'error';
      }
      const opts = flavor === 'web' ? { executionProviders: ['wasm'], graphOptimizationLevel: 'all' } : { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' };
      const t1 = performance.now();
      session = await ort.InferenceSession.create(bytes, opts);
      return { version, graphBytes: bytes.length, buildMs, loadMs: performance.now() - t1 };
    },
    // job: { ids, steps, top? } → { prefillMs, decodeMs, ids, tops } (as ours)
    async run(job) {
      const t0 = performance.now();
      let out = await step(job.ids, null, 0);
      const prefillMs = performance.now() - t0;
      const gen = [], tops = [];
      let pos = job.ids.length;
      const t1 = performance.now();
      for (let s = 0; s < job.steps; s++) {
        const logits = out.logits.data;
        const next = argmax(logits);
        if (job.top) tops.push(topLogprobs(logits, job.top));
        gen.push(next);
        const past = out;
        out = await step([next], past, pos++);
        for (const k of Object.keys(past)) past[k].dispose?.();
      }
      const decodeMs = performance.now() - t1;
      for (const k of Object.keys(out)) out[k].dispose?.();
      return { prefillMs, decodeMs, ids: gen, tops };
    },
    async close() {
      await session?.release?.();
      session = undefined;
    },
  };
}
