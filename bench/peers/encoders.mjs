// The peers of `npm run bench:encoders`, each in its own child process (thread counts and the
// onnxruntime that transformers.js binds are fixed once per process):
//   transformers.js (@huggingface/transformers) feature-extraction pipelines, fp32, mean pooling:
//     'web': on onnxruntime-web's wasm backend — the onnxruntime-web build transformers.js ships
//       with (its own dependency), handed to it through globalThis[Symbol.for('onnxruntime')], the
//       hook transformers.js reads at load; its Node build otherwise binds onnxruntime-node and
//       refuses device 'wasm'. With the hook it lists no devices, so the pipeline gets device
//       'auto' and session_options.executionProviders ['wasm']. Threads: env.wasm.numThreads.
//     'node': its default Node backend, onnxruntime-node; threads: session_options intraOpNumThreads.
//     Modes: 'texts' (the pipeline on the texts: tokenization included) and 'ids' (the model on
//     inputs tokenized once by its tokenizer, then mean_pooling: tokenization excluded).
//   onnxruntime-web / -node InferenceSessions on the checkpoint's onnx/model.onnx (mode 'ids'
//     only: session.run on the token ids, then mean pooling in JS).
// At dtype 'q8' / 'q4' each of them runs the file transformers.js loads for that dtype,
// onnx/model_quantized.onnx / onnx/model_q4.onnx (the pipelines get dtype 'q8' / 'q4'; the raw
// sessions open the file), written next to model.onnx by encoder-checkpoint.mjs.
// Messages to the child: prepare, result, slice, dispose → { ok, value | error }.
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ONNX_FILES } from './onnx-quant.mjs';

export const ENCODER_PEERS = [
  { id: 'tjs-web-1t', label: 'transformers.js wasm 1T', kind: 'tjs', flavor: 'web', threads: 1, pkg: '@huggingface/transformers' },
  { id: 'tjs-web-2t', label: 'transformers.js wasm 2T', kind: 'tjs', flavor: 'web', threads: 2, pkg: '@huggingface/transformers' },
  { id: 'tjs-node-1t', label: 'transformers.js node 1T', kind: 'tjs', flavor: 'node', threads: 1, pkg: '@huggingface/transformers' },
  { id: 'tjs-node-2t', label: 'transformers.js node 2T', kind: 'tjs', flavor: 'node', threads: 2, pkg: '@huggingface/transformers' },
  { id: 'ort-web-1t', label: 'ort-web session 1T', kind: 'ort', flavor: 'web', threads: 1, pkg: 'onnxruntime-web' },
  { id: 'ort-web-2t', label: 'ort-web session 2T', kind: 'ort', flavor: 'web', threads: 2, pkg: 'onnxruntime-web' },
  { id: 'ort-node-1t', label: 'ort-node session 1T', kind: 'ort', flavor: 'node', threads: 1, pkg: 'onnxruntime-node' },
  { id: 'ort-node-2t', label: 'ort-node session 2T', kind: 'ort', flavor: 'node', threads: 2, pkg: 'onnxruntime-node' },
];

/** The peers at each dtype ('f32', 'q8', 'q4'): ids and labels carry the dtype and the file. */
export function encoderPeerSpecs(dtypes = ['f32']) {
  return dtypes.flatMap((dtype) => ENCODER_PEERS.map((p) => (dtype === 'f32' ? { ...p, dtype } : { ...p, dtype, id: `${p.id}-${dtype}`, label: `${p.label} ${dtype} (${ONNX_FILES[dtype]})` })));
}

const installed = (dir, pkg) => existsSync(join(dir, 'node_modules', pkg, 'package.json'));
export const peerVersion = (dir, pkg) => JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')).version;

/** Mean pooling over [B, L, E] states and a [B, L] mask (sums in float64). */
export function meanPool(states, mask, b, l, e) {
  const out = new Float32Array(b * e);
  const acc = new Float64Array(e);
  for (let i = 0; i < b; i++) {
    acc.fill(0);
    let n = 0;
    for (let t = 0; t < l; t++) {
      if (!Number(mask[i * l + t])) continue;
      n++;
      const base = (i * l + t) * e;
      for (let j = 0; j < e; j++) acc[j] += states[base + j];
    }
    for (let j = 0; j < e; j++) out[i * e + j] = acc[j] / Math.max(n, 1e-9);
  }
  return out;
}

// ---- in the child ------------------------------------------------------------------------------

/** onnxruntime-web's Node build (ESM) as resolved from `from` (a file inside the package that depends on it). */
async function importOrtWeb(from) {
  const path = createRequire(from).resolve('onnxruntime-web');
  const mjs = path.replace(/\.js$/, '.mjs');
  return { ort: await import(pathToFileURL(existsSync(mjs) ? mjs : path).href), dist: path.replace(/[^/\\]+$/, '') };
}

/** A peer for one workload: { run(mode) → Promise, result() → { embeddings?, lastHiddenState?, ids? }, dispose(), version }. */
export async function makeEncoderPeer(spec, peersDir, w) {
  const require = createRequire(join(peersDir, 'package.json'));
  const { b, l, texts, ids } = w;
  if (spec.kind === 'tjs') {
    const tjsPath = require.resolve('@huggingface/transformers');
    let ortVersion;
    if (spec.flavor === 'web') {
      const { ort, dist } = await importOrtWeb(tjsPath);
      ort.env.wasm.numThreads = spec.threads;
      ort.env.wasm.wasmPaths = pathToFileURL(dist).href; // its own files (transformers.js would point it at a CDN)
      ort.env.logLevel = 'error';
      globalThis[Symbol.for('onnxruntime')] = ort;
      ortVersion = `onnxruntime-web ${ort.env.versions.web}`;
    } else ortVersion = `onnxruntime-node ${createRequire(tjsPath)('onnxruntime-node/package.json').version}`;
    const tjs = await import(pathToFileURL(tjsPath.replace(/\.cjs$/, '.mjs')).href);
    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.localModelPath = w.cacheDir.endsWith('/') ? w.cacheDir : `${w.cacheDir}/`;
    const session_options = spec.flavor === 'web' ? { executionProviders: ['wasm'] } : { intraOpNumThreads: spec.threads, interOpNumThreads: 1 };
    const extractor = await tjs.pipeline('feature-extraction', w.name, { dtype: spec.dtype === 'f32' ? 'fp32' : spec.dtype, ...(spec.flavor === 'web' ? { device: 'auto' } : {}), session_options });
    if (spec.flavor === 'web' && tjs.env.backends.onnx.wasm.numThreads !== spec.threads) throw new Error(`onnxruntime-web runs ${tjs.env.backends.onnx.wasm.numThreads} threads, not ${spec.threads}`);
    const inputs = extractor.tokenizer(texts, { padding: true, truncation: true });
    return {
      version: `transformers.js ${tjs.env.version} on ${ortVersion}`,
      async run(mode) {
        if (mode === 'texts') return extractor(texts, { pooling: 'mean', normalize: false });
        const out = await extractor.model(inputs);
        return tjs.mean_pooling(out.last_hidden_state, inputs.attention_mask);
      },
      async result() {
        const a = await this.run('texts');
        const c = await this.run('ids');
        return { embeddings: a.data, embeddingsIds: c.data, ids: Array.from(inputs.input_ids.data, Number) };
      },
      dispose: () => extractor.dispose?.(),
    };
  }
  // raw onnxruntime session
  let ort;
  if (spec.flavor === 'web') {
    ({ ort } = await importOrtWeb(join(peersDir, 'package.json')));
    ort.env.wasm.numThreads = spec.threads;
    ort.env.logLevel = 'error';
  } else ort = require('onnxruntime-node');
  const file = join(w.dir, 'onnx', ONNX_FILES[spec.dtype ?? 'f32']);
  const options = spec.flavor === 'web' ? { executionProviders: ['wasm'], graphOptimizationLevel: 'all' } : { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: spec.threads, interOpNumThreads: 1 };
  const session = await ort.InferenceSession.create(spec.flavor === 'web' ? readFileSync(file) : file, options);
  const t = (data) => new ort.Tensor('int64', BigInt64Array.from(data, BigInt), [b, l]);
  const feeds = { input_ids: t(ids), attention_mask: t(new Array(b * l).fill(1)), token_type_ids: t(new Array(b * l).fill(0)) };
  const mask = new Uint8Array(b * l).fill(1);
  return {
    version: `onnxruntime-${spec.flavor} ${spec.flavor === 'web' ? ort.env.versions.web : peerVersion(peersDir, 'onnxruntime-node')}`,
    async run() {
      const out = await session.run(feeds);
      const pooled = meanPool(out.last_hidden_state.data, mask, b, l, w.hidden);
      return { out, pooled };
    },
    async result() {
      const { out, pooled } = await this.run('ids');
      return { lastHiddenState: out.last_hidden_state.data, embeddingsIds: pooled };
    },
    dispose: () => session.release?.(),
  };
}

// ---- in the parent -------------------------------------------------------------------------------

const CHILD = fileURLToPath(import.meta.url);

/**
 * The peer contenders: { id, label, threads, status, modes, prepare(w) → { result(), slice(mode, options), dispose() }, close() }.
 * Not installed (or `peersDir` false): the status says so.
 */
export function encoderPeers(peersDir, dtypes = ['f32']) {
  // left out: one row per peer, not one per dtype
  return encoderPeerSpecs(peersDir ? dtypes : dtypes.slice(0, 1)).map((spec) => {
    const base = { id: spec.id, label: spec.label, group: 'peer', kind: spec.kind, flavor: spec.flavor, threads: spec.threads, dtype: spec.dtype, modes: spec.kind === 'tjs' ? ['texts', 'ids'] : ['ids'] };
    if (!peersDir) return { ...base, status: 'left out (--no-peers)' };
    if (!installed(peersDir, spec.pkg)) return { ...base, status: `not installed (${spec.pkg} in ${peersDir})` };
    return { ...base, status: 'ok', ...childHost(spec, peersDir) };
  });
}

function childHost(spec, peersDir) {
  let child = null;
  let seq = 0;
  const pending = new Map();
  const call = (msg) =>
    new Promise((resolve, reject) => {
      if (!child) {
        child = fork(CHILD, ['--encoder-peer-child'], { execArgv: process.execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
        child.on('message', ({ id, ok, value, error }) => {
          const p = pending.get(id);
          pending.delete(id);
          if (ok) p.resolve(value);
          else p.reject(new Error(error));
        });
        child.on('exit', (code) => {
          for (const p of pending.values()) p.reject(new Error(`peer process exited (${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
          pending.clear();
          child = null;
        });
      }
      const id = ++seq;
      pending.set(id, { resolve, reject });
      child.send({ id, spec, peersDir, ...msg });
    });
  return {
    async prepare(w) {
      const { version } = await call({ cmd: 'prepare', workload: w });
      return { version, result: () => call({ cmd: 'result' }), slice: (mode, options) => call({ cmd: 'slice', mode, options }), dispose: () => call({ cmd: 'dispose' }) };
    },
    /** Ends the child (its memory with it). */
    close() {
      child?.kill();
      child = null;
    },
  };
}

if (process.argv.includes('--encoder-peer-child')) {
  const { timeSlice } = await import('../timing.mjs');
  let peer = null;
  process.on('disconnect', () => process.exit(0)); // the parent ended
  process.on('message', async ({ id, spec, peersDir, cmd, workload, mode, options }) => {
    try {
      let value;
      if (cmd === 'prepare') {
        await peer?.dispose?.();
        peer = await makeEncoderPeer(spec, peersDir, workload);
        value = { version: peer.version };
      } else if (cmd === 'result') value = await peer.result();
      else if (cmd === 'slice') value = await timeSlice(() => peer.run(mode), { ...options, async: true });
      else if (cmd === 'dispose') (await peer?.dispose?.(), (peer = null));
      process.send({ id, ok: true, value });
    } catch (error) {
      process.send({ id, ok: false, error: String(error?.stack ?? error).split('\n').slice(0, 3).join(' ') });
    }
  });
}
