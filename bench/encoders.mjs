// `npm run bench:encoders`: sentence embeddings from BERT-family checkpoints (loadModel), against
// the plain-JS twin, transformers.js and raw onnxruntime sessions on the same weights.
//   E1  an all-MiniLM-L6-v2-shaped BERT (6 layers, hidden 384, 12 heads, FF 1536), 32 sentences × 128 tokens
//   E2  a BERT-base shape (12 layers, hidden 768, 12 heads, FF 3072), 8 sentences × 256 tokens
// Random weights (seeded), written once per shape into a cache folder as a Hugging Face checkpoint
// with its ONNX export (bench/encoder-checkpoint.mjs). The texts are the same for every contender
// and tokenize to exactly 128 / 256 tokens.
// Before timing, every contender's mean-pooled embeddings are checked against ours (and the raw
// sessions' last_hidden_state against our forward's), normwise per sentence within 1e-4; a wrong
// contender stops the run (exit 1). Then each contender × mode is timed in interleaved rounds (one
// call per round, the order rotating), so machine drift lands on all of them alike; the check
// call is the warmup. Throughput: sentences per second from the median call.
// --dtypes f32,q8,q4: low-precision rows on the same weights: ours with loadModel's dtype (Q8 / Q4
// blocks of 32; the relaxed-simd build, else simd), transformers.js with dtype 'q8' / 'q4' and raw
// sessions on the files it loads for them (onnx/model_quantized.onnx, onnx/model_q4.onnx, written
// here as its converter writes them: peers/onnx-quant.mjs). A quantized row is checked against the
// float32 embeddings (ours): the least cosine over the sentences, in its check column; below
// COSINE_FLOOR it is a wrong result, not drift.
//   mode 'texts': tokenization included (ours: model.embed(texts); transformers.js: the pipeline)
//   mode 'ids':   tokenization excluded (ours: model.embed(token ids) = forward + mean pooling;
//                 transformers.js: the model on pre-tokenized inputs + mean_pooling; raw sessions:
//                 session.run + mean pooling in JS)
// The plain-JS twin (reference.transformerEncoder over embeddings computed in JS, float64) is timed
// on a few sentences of E1 (its throughput per sentence does not depend on the batch); on E2 one
// layer on one sentence, scaled to the model's layers (said in its row).
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { init, loadModel, readSafetensors, reference, supportedBackends } from '../dist/index.js';
import { ENCODER_SHAPES, ensureCheckpoint, sentences } from './encoder-checkpoint.mjs';
import { encoderPeers, meanPool, peerVersion } from './peers/encoders.mjs';
import { ONNX_FILES, ONNX_FORMATS } from './peers/onnx-quant.mjs';
import { DEFAULT_PEERS_DIR } from './peers/index.mjs';
import { environment, machineSlug } from './report.mjs';
import { timeSlice } from './timing.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const HELP = `Usage: npm run bench:encoders -- [options]

Sentence embeddings (mean pooling) from BERT checkpoints with random weights: this runtime
(relaxed-simd and simd, 1 and 2 threads), the plain-JS twin, transformers.js on onnxruntime-web
(wasm) and on onnxruntime-node, and raw onnxruntime-web / -node sessions on the same ONNX file.
  E1  all-MiniLM-L6-v2 shape, 32 sentences × 128 tokens
  E2  BERT-base shape, 8 sentences × 256 tokens

  --quick          E1 only, one timed call per contender
  --filter E1      workloads whose id starts with one of these (comma-separated)
  --no-peers       leave transformers.js and onnxruntime out
  --peers-dir dir  where the peer package lives (default bench/peers; npm run bench -- --install-peers)
  --cache dir      where the checkpoints are written once (default bench/.cache)
  --rounds n       timed calls per contender and mode (default 3 on E1, 2 on E2)
  --dtypes list    weight dtypes: f32, q8, q4 (default f32). q8 and q4 add our rows at that dtype
                   (loadModel's dtype: blocks of 32, the relaxed-simd build), transformers.js with
                   dtype 'q8' / 'q4' and raw sessions on the files it loads for them
                   (onnx/model_quantized.onnx: int8, activations quantized at run time;
                   onnx/model_q4.onnx: MatMulNBits, 4-bit blocks of 32), each checked against
                   the float32 embeddings (least cosine)
  --json           also write bench/results/<date>-<machine>-encoders.{json,md}
  --out dir        where --json writes (default bench/results); --machine name: its file name
  --no-progress    no progress lines on stderr
  --tiny           tiny shapes (2 layers, hidden 32), the bench's own test; its timings mean nothing
  --help, -h       this text
`;
let args;
try {
  ({ values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      tiny: { type: 'boolean', default: false },
      filter: { type: 'string' },
      'no-peers': { type: 'boolean', default: false },
      'peers-dir': { type: 'string', default: DEFAULT_PEERS_DIR },
      cache: { type: 'string', default: join(HERE, '.cache') },
      rounds: { type: 'string' },
      dtypes: { type: 'string', default: 'f32' },
      json: { type: 'boolean', default: false },
      out: { type: 'string', default: join(HERE, 'results') },
      machine: { type: 'string' },
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
const TOLERANCE = 1e-4;
const COSINE_FLOOR = 0.99;
const started = performance.now();
const progressLine = (text) => args['no-progress'] || process.stderr.write(`${text} (elapsed ${Math.round((performance.now() - started) / 1000)} s)\n`);
const list = (s) => s?.split(',').map((x) => x.trim()).filter(Boolean);
const filters = list(args.filter);
const peersDir = args['no-peers'] ? false : resolve(args['peers-dir']);
const cacheDir = resolve(args.cache);
const DTYPES = list(args.dtypes) ?? ['f32'];
for (const d of DTYPES)
  if (!(d in ONNX_FILES)) {
    console.error(`--dtypes: '${d}' is not one of f32, q8, q4`);
    process.exit(2);
  }

// ---- workloads -----------------------------------------------------------------------------------
const WORKLOADS = args.tiny
  ? [{ id: 'E1', title: 'tiny BERT (2 layers, hidden 32)', shapeName: 'tiny', b: 4, l: 16, rounds: 1, plainJs: { count: 4, layers: 2 } }]
  : [
      { id: 'E1', title: 'all-MiniLM-L6-v2 shape (6 layers, hidden 384, 12 heads, FF 1536)', shapeName: 'minilm', b: 32, l: 128, rounds: args.quick ? 1 : 3, plainJs: { count: 2, layers: 6 } },
      { id: 'E2', title: 'BERT-base shape (12 layers, hidden 768, 12 heads, FF 3072)', shapeName: 'base', b: 8, l: 256, rounds: 2, plainJs: { count: 1, layers: 1 } },
    ];
const chosen = WORKLOADS.filter((w) => (args.quick ? w.id === 'E1' : true) && (!filters || filters.some((f) => w.id.toLowerCase().startsWith(f.toLowerCase()))));
if (args.rounds) for (const w of chosen) w.rounds = Math.max(1, Number(args.rounds));

// ---- contenders ----------------------------------------------------------------------------------
const THREADS = availableParallelism() >= 2 ? [1, 2] : [1];
const builds = supportedBackends().filter((b) => b === 'relaxed-simd' || b === 'simd');
const oursAt = (backend, threads, dtype) => ({
  id: `ours-${backend}-${threads}t${dtype === 'f32' ? '' : `-${dtype}`}`,
  label: `wasm-attention ${backend} ${threads}T${dtype === 'f32' ? '' : ` ${dtype.toUpperCase()}`}`,
  group: 'ours', backend, threads, dtype, status: 'ok', modes: ['texts', 'ids'],
});
const ours = [
  ...(DTYPES.includes('f32') ? builds.flatMap((backend) => THREADS.map((threads) => oursAt(backend, threads, 'f32'))) : []),
  ...DTYPES.filter((d) => d !== 'f32').flatMap((dtype) => THREADS.map((threads) => oursAt(builds[0], threads, dtype))),
];
const plainJs = { id: 'plain-js', label: 'plain JS (reference)', group: 'reference', threads: 1, dtype: 'f32', status: 'ok', modes: ['ids'] };
const peers = encoderPeers(peersDir, DTYPES);
const contenders = [...ours, plainJs, ...peers];

const env = environment({
  versions: {
    'wasm-attention': JSON.parse(readFileSync(join(HERE, '..', 'package.json'), 'utf8')).version,
    tinybench: JSON.parse(readFileSync(join(HERE, '..', 'node_modules', 'tinybench', 'package.json'), 'utf8')).version,
    ...(peersDir ? Object.fromEntries(['@huggingface/transformers', 'onnxruntime-web', 'onnxruntime-node'].flatMap((p) => { try { return [[p, peerVersion(peersDir, p)]]; } catch { return []; } })) : {}),
  },
  options: { quick: args.quick, tiny: args.tiny, filter: filters ?? null, dtypes: DTYPES },
});
console.log(`wasm-attention encoder benchmark${args.quick ? ' (quick run)' : ''} — ${env.machine.cpu} (${env.machine.cores} cores), Node ${env.node}${env.execArgv.length ? ` ${env.execArgv.join(' ')}` : ''}, ${env.date.slice(0, 10)}`);
for (const c of peers.filter((p) => p.status !== 'ok')) console.log(`  ${c.label}: ${c.status}`);

// ---- helpers -------------------------------------------------------------------------------------
const quantile = (sorted, p) => {
  const x = (sorted.length - 1) * p;
  const lo = Math.floor(x);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (x - lo);
};
/** The largest ‖a_i − b_i‖ / ‖b_i‖ over rows of `width` (NaN counts as a failure: Infinity). */
function rowError(a, b, width) {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let r = 0; r < a.length / width; r++) {
    let num = 0;
    let den = 0;
    for (let j = r * width; j < (r + 1) * width; j++) {
      num += (a[j] - b[j]) ** 2;
      den += b[j] ** 2;
    }
    const e = Math.sqrt(num / den);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}
class WrongResult extends Error {}
const check = (label, what, got, want, width) => {
  const error = rowError(got, want, width);
  if (!(error <= TOLERANCE)) throw new WrongResult(`${label}: ${what} differ from ours by ${error.toExponential(2)} (normwise per row; the bound is ${TOLERANCE})`);
  return error;
};
/** The least cosine similarity between rows of `width` of a and b (NaN: −Infinity). */
function leastCosine(a, b, width) {
  if (a.length !== b.length) return -Infinity;
  let worst = 1;
  for (let r = 0; r < a.length / width; r++) {
    let dot = 0, na = 0, nb = 0;
    for (let j = r * width; j < (r + 1) * width; j++) (dot += a[j] * b[j]), (na += a[j] * a[j]), (nb += b[j] * b[j]);
    const c = dot / Math.sqrt(na * nb);
    if (!(c >= worst)) worst = Number.isNaN(c) ? -Infinity : c;
  }
  return worst;
}
const checkCosine = (label, what, got, want, width) => {
  const c = leastCosine(got, want, width);
  if (!(c >= COSINE_FLOOR)) throw new WrongResult(`${label}: ${what} are ${c.toFixed(4)} cosine from the float32 ones at worst (a quantized file should stay above ${COSINE_FLOOR})`);
  return c;
};
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** The plain-JS twin: embeddings in float64 (gather + LayerNorm), reference.transformerEncoder, mean pooling. */
function plainJsEncoder(dir, shape, layers) {
  const st = readSafetensors(readFileSync(join(dir, 'model.safetensors')));
  const W = (n) => st[n].data;
  const e = shape.hidden;
  const weights = {};
  for (let i = 0; i < layers; i++) {
    const p = `encoder.layer.${i}.`;
    const q = (n) => `layers.${i}.${n}`;
    const cat = (...xs) => {
      const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
      let at = 0;
      for (const x of xs) (out.set(x, at), (at += x.length));
      return out;
    };
    weights[q('self_attn.in_proj_weight')] = { data: cat(W(`${p}attention.self.query.weight`), W(`${p}attention.self.key.weight`), W(`${p}attention.self.value.weight`)), shape: [3 * e, e] };
    weights[q('self_attn.in_proj_bias')] = { data: cat(W(`${p}attention.self.query.bias`), W(`${p}attention.self.key.bias`), W(`${p}attention.self.value.bias`)), shape: [3 * e] };
    weights[q('self_attn.out_proj.weight')] = { data: W(`${p}attention.output.dense.weight`), shape: [e, e] };
    weights[q('self_attn.out_proj.bias')] = { data: W(`${p}attention.output.dense.bias`), shape: [e] };
    weights[q('linear1.weight')] = { data: W(`${p}intermediate.dense.weight`), shape: [shape.ff, e] };
    weights[q('linear1.bias')] = { data: W(`${p}intermediate.dense.bias`), shape: [shape.ff] };
    weights[q('linear2.weight')] = { data: W(`${p}output.dense.weight`), shape: [e, shape.ff] };
    weights[q('linear2.bias')] = { data: W(`${p}output.dense.bias`), shape: [e] };
    weights[q('norm1.weight')] = { data: W(`${p}attention.output.LayerNorm.weight`), shape: [e] };
    weights[q('norm1.bias')] = { data: W(`${p}attention.output.LayerNorm.bias`), shape: [e] };
    weights[q('norm2.weight')] = { data: W(`${p}output.LayerNorm.weight`), shape: [e] };
    weights[q('norm2.bias')] = { data: W(`${p}output.LayerNorm.bias`), shape: [e] };
  }
  const encoder = reference.transformerEncoder({ numLayers: layers, dModel: e, nhead: shape.heads, dimFeedforward: shape.ff, activation: 'gelu', layerNormEps: 1e-12, weights });
  const [word, pos, type, lnW, lnB] = ['word_embeddings.weight', 'position_embeddings.weight', 'token_type_embeddings.weight', 'LayerNorm.weight', 'LayerNorm.bias'].map((n) => W(`embeddings.${n}`));
  return (idRows) => {
    const b = idRows.length;
    const l = idRows[0].length;
    const x = new Float32Array(b * l * e);
    const v = new Float64Array(e);
    for (let i = 0; i < b; i++) {
      for (let t = 0; t < l; t++) {
        const id = idRows[i][t];
        let mean = 0;
        for (let j = 0; j < e; j++) (v[j] = word[id * e + j] + pos[t * e + j] + type[j]), (mean += v[j]);
        mean /= e;
        let variance = 0;
        for (let j = 0; j < e; j++) variance += (v[j] - mean) ** 2;
        variance /= e;
        const inv = 1 / Math.sqrt(variance + 1e-12);
        for (let j = 0; j < e; j++) x[(i * l + t) * e + j] = (v[j] - mean) * inv * lnW[j] + lnB[j];
      }
    }
    const states = encoder.forward({ data: x, shape: [b, l, e] });
    return meanPool(states, new Uint8Array(b * l).fill(1), b, l, e);
  };
}

// ---- a workload ----------------------------------------------------------------------------------
async function runEncoderWorkload(w, stepOf) {
  const shape = ENCODER_SHAPES[w.shapeName];
  const loadStart = loadavg()[0];
  const onnxDtypes = [...new Set(['f32', ...contenders.filter((c) => c.group === 'peer' && c.status === 'ok').map((c) => c.dtype)])];
  const ck = ensureCheckpoint(cacheDir, `bert-${w.shapeName}`, shape, { log: (s) => progressLine(`      ${s}`), dtypes: onnxDtypes });
  const tokJson = JSON.parse(readFileSync(join(ck.dir, 'tokenizer.json'), 'utf8'));
  const texts = sentences(tokJson, w.b, w.l);
  const e = shape.hidden;
  const rows = contenders.map((c) => ({ id: c.id, label: c.label, group: c.group, threads: c.threads, backend: c.backend, dtype: c.dtype, status: c.status, modes: {} }));
  const live = []; // { c, row, run(mode) → Promise|value, dispose }
  let want = null; // { embeddings, states, ids }: ours at float32
  let wantIds = null;
  const fail = [];
  if (!contenders.some((c) => c.group === 'ours' && c.dtype === 'f32' && c.status === 'ok')) {
    // no float32 row of ours in this run: its embeddings are computed once for the checks
    stepOf(`${w.id} float32 embeddings for the checks (${builds[0]} 1T)`);
    const rt = await init({ backend: builds[0], threads: 1 });
    const model = await loadModel(rt, ck.dir);
    wantIds = texts.map((t, k) => model.tokenizer.encodeForModel(t, undefined, model.embedDefaults.maxLength, true, `texts[${k}]`).ids);
    want = { embeddings: model.embed(texts, { pooling: 'mean', normalize: false, batchSize: w.b }), states: model.forward({ inputIds: wantIds }).lastHiddenState.data, label: `wasm-attention ${builds[0]} 1T` };
    model.dispose();
    rt.dispose();
  }
  // f32 rows: within TOLERANCE of ours; quantized rows: the least cosine to ours at float32
  const compare = (c, row, what, got, wantData) => {
    if (c.dtype === 'f32') return (row.error = Math.max(row.error ?? 0, check(c.label, what, got, wantData, e)));
    row.minCosine = Math.min(row.minCosine ?? 1, checkCosine(c.label, what, got, wantData, e));
  };
  for (const [i, c] of contenders.entries()) {
    const row = rows[i];
    if (c.status !== 'ok') continue;
    stepOf(`${w.id} load and check ${c.label}`);
    try {
      if (c.group === 'ours') {
        const rt = await init({ backend: c.backend, threads: c.threads });
        if (rt.threads !== c.threads) throw new Error(`runs ${rt.threads} threads (${rt.threadsReason})`);
        const model = await loadModel(rt, ck.dir, { dtype: c.dtype });
        const idRows = texts.map((t, k) => model.tokenizer.encodeForModel(t, undefined, model.embedDefaults.maxLength, true, `texts[${k}]`).ids);
        if (idRows.some((r) => r.length !== w.l)) throw new Error(`the texts tokenize to ${[...new Set(idRows.map((r) => r.length))].join(', ')} tokens, not ${w.l}`);
        const opts = { pooling: 'mean', normalize: false, batchSize: w.b };
        row.weightsBytes = rt.memoryStats().bytesInUse;
        rt.resetPeakMemory();
        const embeddings = model.embed(texts, opts);
        row.peakBytes = rt.memoryStats().peakBytes;
        const fromIds = model.embed(idRows, opts);
        if (!want) {
          const states = model.forward({ inputIds: idRows }).lastHiddenState.data;
          want = { embeddings, states, label: c.label };
          wantIds = idRows;
          row.error = 0;
        } else compare(c, row, 'the embeddings', embeddings, want.embeddings);
        compare(c, row, 'the embeddings from token ids', fromIds, want.embeddings);
        row.weights = c.dtype === 'f32' ? 'model.safetensors (float32)' : `model.safetensors → ${c.dtype.toUpperCase()} blocks of 32 (loadModel dtype '${c.dtype}')`;
        row.version = `wasm-attention ${env.versions['wasm-attention']}`;
        live.push({ c, row, run: (mode) => model.embed(mode === 'texts' ? texts : idRows, opts), dispose: () => (model.dispose(), rt.dispose()) });
      } else if (c.group === 'reference') {
        if (!wantIds) throw new Error('needs a build of ours for the token ids');
        const { count, layers } = w.plainJs;
        const embed = plainJsEncoder(ck.dir, shape, layers);
        const few = wantIds.slice(0, count);
        const t0 = performance.now();
        const got = embed(few);
        row.checkMs = performance.now() - t0;
        if (layers === shape.layers) row.error = check(c.label, 'the embeddings', got, want.embeddings.subarray(0, count * e), e);
        else row.note = `one call = ${layers} of ${shape.layers} layers on ${count} sentence${count > 1 ? 's' : ''}, scaled ×${shape.layers / layers} (not checked: a partial model)`;
        row.sentencesPerCall = count;
        if (layers !== shape.layers) row.scale = shape.layers / layers;
        if (layers === shape.layers) row.note = `timed on ${count} of the ${w.b} sentences (the time per sentence does not depend on the batch)`;
        row.version = `wasm-attention ${env.versions['wasm-attention']} reference`;
        live.push({ c, row, run: () => embed(few), dispose: () => {} });
      } else {
        const prepared = await c.prepare({ id: w.id, dir: ck.dir, name: ck.name, cacheDir, b: w.b, l: w.l, hidden: e, texts, ids: wantIds.flat() });
        row.version = prepared.version;
        const got = await prepared.result();
        if (got.ids && got.ids.join() !== wantIds.flat().join()) throw new WrongResult(`${c.label}: its tokenizer gives other token ids than ours`);
        if (c.dtype === 'f32') row.error = 0;
        if (got.embeddings) compare(c, row, 'the pipeline embeddings', got.embeddings, want.embeddings);
        if (got.embeddingsIds) compare(c, row, 'the embeddings from token ids', got.embeddingsIds, want.embeddings);
        if (got.lastHiddenState && c.dtype === 'f32') compare(c, row, 'last_hidden_state', got.lastHiddenState, want.states);
        row.weights = `onnx/${ONNX_FILES[c.dtype]} (${ONNX_FORMATS[c.dtype]}${c.dtype === 'q8' ? "; per output column and 7-bit as transformers.js's converter quantizes BERT, the embedding tables uint8" : c.dtype === 'q4' ? '; the embeddings float32' : ''})`;
        live.push({ c, row, slice: prepared.slice, dispose: async () => (await prepared.dispose(), c.close()) });
      }
    } catch (error) {
      row.status = `${error instanceof WrongResult ? 'wrong result' : 'failed'}: ${String(error?.message ?? error).split('\n')[0].slice(0, 300)}`;
      if (error instanceof WrongResult || c.group === 'ours') fail.push(row);
      c.close?.();
    }
  }
  // interleaved rounds: one call per contender and mode, the order rotating
  const tasks = live.flatMap((l) => l.c.modes.map((mode) => ({ ...l, mode, samples: [] })));
  for (let r = 0; r < w.rounds; r++) {
    const order = tasks.map((_, i) => tasks[(i + r) % tasks.length]);
    for (const t of order) {
      stepOf(`${w.id} round ${r + 1}/${w.rounds} ${t.c.label} ${t.mode}`);
      if (t.row.status !== 'ok') continue;
      try {
        const options = { time: 0, warmupTime: 0 };
        t.samples.push(...(t.slice ? await t.slice(t.mode, options) : await timeSlice(() => t.run(t.mode), { ...options, async: t.c.group !== 'ours' && t.c.group !== 'reference' })));
      } catch (error) {
        t.row.status = `failed while timed: ${String(error?.message ?? error).split('\n')[0].slice(0, 200)}`;
      }
    }
  }
  for (const t of tasks) {
    if (t.row.status !== 'ok' || !t.samples.length) continue;
    const sorted = [...t.samples].sort((a, b) => a - b);
    const scale = t.row.scale ?? 1;
    const median = quantile(sorted, 0.5) * scale;
    const sentencesPerCall = t.row.sentencesPerCall ?? w.b;
    t.row.modes[t.mode] = { samples: sorted.length, medianMs: median, p75Ms: quantile(sorted, 0.75) * scale, sentencesPerS: (1000 * sentencesPerCall) / median, msPerSentence: median / sentencesPerCall };
  }
  for (const l of live) await Promise.resolve(l.dispose()).catch(() => {});
  for (const p of peers) p.close?.();
  const res = { id: w.id, title: w.title, shape, b: w.b, l: w.l, rounds: w.rounds, loadAverage: [loadStart, loadavg()[0]], rows };
  res.findings = findings(res);
  return { res, fail };
}

// ---- report --------------------------------------------------------------------------------------
const rate = (row, mode = 'ids') => row?.modes?.[mode]?.sentencesPerS;
const fmtRate = (x) => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toPrecision(2));
const ratio = (x) => (x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`);
/** Our fastest build on `threads` at `dtype` (ids mode). */
const bestOurs = (res, threads, dtype = 'f32') => res.rows.filter((r) => r.group === 'ours' && r.threads === threads && (r.dtype ?? 'f32') === dtype && rate(r)).sort((a, b) => rate(b) - rate(a))[0];

function findings(res) {
  const out = {};
  const o1 = bestOurs(res, 1);
  const o2 = bestOurs(res, 2);
  const row = (id) => res.rows.find((r) => r.id === id && rate(r));
  for (const t of THREADS) {
    const o = t === 1 ? o1 : o2;
    const tw = row(`tjs-web-${t}t`);
    if (o && tw) out[`oursOverTjsWasm${t}T`] = { texts: rate(o, 'texts') / rate(tw, 'texts'), ids: rate(o) / rate(tw), ours: o.label };
    const tn = row(`tjs-node-${t}t`);
    if (o && tn) out[`oursOverTjsNode${t}T`] = { texts: rate(o, 'texts') / rate(tn, 'texts'), ids: rate(o) / rate(tn), ours: o.label };
    // the same at each low precision: ours at that dtype against transformers.js on its file for it
    for (const dtype of ['q8', 'q4']) {
      const oq = bestOurs(res, t, dtype);
      const tq = row(`tjs-web-${t}t-${dtype}`);
      if (oq && tq) out[`oursOverTjsWasm${t}T-${dtype}`] = { texts: rate(oq, 'texts') / rate(tq, 'texts'), ids: rate(oq) / rate(tq), ours: oq.label };
    }
  }
  for (const b of builds) {
    const [a, c] = [row(`ours-${b}-1t`), row(`ours-${b}-2t`)];
    if (a && c) out[`twoThreads-${b}`] = rate(c) / rate(a);
  }
  for (const p of ['tjs-web', 'tjs-node', 'ort-web', 'ort-node']) {
    const [a, c] = [row(`${p}-1t`), row(`${p}-2t`)];
    if (a && c) out[`twoThreads-${p}`] = rate(c) / rate(a);
  }
  const js = row('plain-js');
  if (js && o1) out.oursOverPlainJs = rate(o1) / rate(js);
  const peak = res.rows.filter((r) => r.group === 'ours' && r.peakBytes);
  if (peak.length) out.peakWasm = Object.fromEntries(peak.map((r) => [r.label, { peakBytes: r.peakBytes, weightsBytes: r.weightsBytes }]));
  return out;
}

function table(res, { markdown = false } = {}) {
  const head = ['contender', 'sent/s (texts)', 'sent/s (ids)', 'ms/call (ids)', 'p75/median', 'ours same T ×', '2T/1T', 'check vs F32'];
  const body = res.rows.map((r) => {
    if (r.status !== 'ok') return [r.label, r.status];
    const ids = r.modes.ids;
    const o = bestOurs(res, r.threads, r.dtype ?? 'f32');
    const one = r.threads === 2 ? res.rows.find((x) => x.id === r.id.replace(/2t(-q\d)?$/, '1t$1')) : null;
    return [
      r.label,
      fmtRate(rate(r, 'texts')),
      fmtRate(rate(r)),
      ids ? (r.scale ? `${ids.medianMs.toFixed(0)}*` : ids.medianMs.toFixed(ids.medianMs >= 100 ? 0 : 1)) : '—',
      ids ? (ids.p75Ms / ids.medianMs).toFixed(2) : '—',
      o && rate(r) && r.group !== 'ours' ? ratio(rate(o) / rate(r)) : r.id === o?.id ? 'best' : '',
      one && rate(one) && rate(r) ? ratio(rate(r) / rate(one)) : '',
      r.minCosine !== undefined ? `cos ${r.minCosine.toFixed(6)}` : r.error === undefined ? '' : r.error.toExponential(1),
    ];
  });
  const title = `${res.id}  ${res.title}, ${res.b} sentences × ${res.l} tokens, ${res.rounds} timed call${res.rounds > 1 ? 's' : ''} per contender and mode; load average ${res.loadAverage.map((x) => x.toFixed(1)).join(' → ')} on ${env.machine.cores} cores`;
  const notes = res.rows.filter((r) => r.note).map((r) => `${r.label}: ${r.note}${r.scale ? ' (* scaled)' : ''}`);
  const peak = Object.entries(res.findings.peakWasm ?? {}).map(([k, v]) => `${k} ${mib(v.peakBytes)} (weights ${mib(v.weightsBytes)})`);
  const weights = [...new Set(res.rows.filter((r) => r.weights).map((r) => r.dtype ?? 'f32'))].map((d) => {
    const files = [...new Set(res.rows.filter((r) => r.weights && (r.dtype ?? 'f32') === d).map((r) => r.weights))];
    return `${d} rows run ${files.join('; ')}`;
  });
  const foot = [
    ...notes,
    ...weights,
    ...(res.rows.some((r) => r.minCosine !== undefined) ? [`check vs F32: the normwise error per sentence against ours at float32, or for a quantized row the least cosine similarity of its embeddings to those (below ${COSINE_FLOOR}: a wrong result)`] : []),
    ...(peak.length ? [`peak Wasm memory of one embed call (memoryStats().peakBytes): ${peak.join(', ')}`] : []),
    `versions: ${[...new Set(res.rows.filter((r) => r.version).map((r) => r.version))].join('; ')}`,
  ];
  if (markdown) {
    const esc = (s) => String(s).replace(/\|/g, '\\|');
    return [`**${title}**`, '', `| ${head.join(' | ')} |`, `|${head.map((_, i) => (i ? ' ---: ' : ' --- ')).join('|')}|`, ...body.map((b) => (b.length > 2 ? `| ${b.map(esc).join(' | ')} |` : `| ${esc(b[0])} | ${esc(b[1])} |${' |'.repeat(head.length - 2)}`)), '', ...foot.map((f) => `- ${f}`)].join('\n');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b.length > 2 ? b[i].length : i === 0 ? b[0].length : 0))));
  const line = (cols) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [title, line(head), line(widths.map((x) => '-'.repeat(x))), ...body.map((b) => (b.length > 2 ? line(b) : `${b[0].padEnd(widths[0])}  ${b[1]}`)), ...foot].join('\n');
}

function summary(results) {
  const lines = [];
  for (const res of results) {
    const f = res.findings;
    const parts = [];
    for (const t of THREADS) {
      const x = f[`oursOverTjsWasm${t}T`];
      if (x) parts.push(`${t}T: ours ${ratio(x.texts)} transformers.js-wasm with tokenization, ${ratio(x.ids)} without`);
    }
    for (const t of THREADS) {
      const x = f[`oursOverTjsNode${t}T`];
      if (x) parts.push(`${t}T: ours ${ratio(x.ids)} transformers.js-node (ids)`);
    }
    for (const dtype of ['q8', 'q4'])
      for (const t of THREADS) {
        const x = f[`oursOverTjsWasm${t}T-${dtype}`];
        if (x) parts.push(`${dtype} ${t}T: ours ${ratio(x.texts)} transformers.js-wasm with tokenization, ${ratio(x.ids)} without`);
      }
    for (const b of builds) if (f[`twoThreads-${b}`]) parts.push(`ours ${b} 2T over 1T ${ratio(f[`twoThreads-${b}`])}`);
    for (const p of ['tjs-web', 'tjs-node', 'ort-web', 'ort-node']) if (f[`twoThreads-${p}`]) parts.push(`${p} 2T over 1T ${ratio(f[`twoThreads-${p}`])}`);
    if (f.oursOverPlainJs) parts.push(`plain JS ${ratio(f.oursOverPlainJs)} slower than ours on 1 thread`);
    lines.push(`${res.id}: ${parts.join('; ') || 'no comparisons (contenders missing)'}.`);
  }
  return lines.join('\n');
}

// ---- run -----------------------------------------------------------------------------------------
const perWorkload = contenders.filter((c) => c.status === 'ok').length;
const totalSteps = chosen.reduce((n, w) => n + perWorkload + w.rounds * contenders.filter((c) => c.status === 'ok').reduce((m, c) => m + c.modes.length, 0), 0);
let step = 0;
const stepOf = (label) => progressLine(`[${++step}/${totalSteps}] ${label} …`);
const results = [];
let failed = [];
for (const w of chosen) {
  const { res, fail } = await runEncoderWorkload(w, stepOf);
  results.push(res);
  failed = failed.concat(fail.map((r) => `${w.id} ${r.label}: ${r.status}`));
  console.log(`\n${table(res)}`);
}
const text = summary(results);
console.log(`\n${text}`);
console.log(`Run: ${Math.round((performance.now() - started) / 1000)} s.`);
if (args.json) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const stem = `${env.date.slice(0, 10)}-${args.machine ?? machineSlug(env)}-encoders${args.quick ? '-quick' : ''}`;
  mkdirSync(args.out, { recursive: true });
  const record = { ...env, contenders: contenders.map(({ id, label, group, threads, dtype, status }) => ({ id, label, group, threads, dtype, status })), workloads: results, summary: text };
  const jsonFile = join(args.out, `${stem}.json`);
  const mdFile = join(args.out, `${stem}.md`);
  writeFileSync(jsonFile, `${JSON.stringify(record, null, 1)}\n`);
  const md = [
    `Measured ${env.date.slice(0, 16).replace('T', ' ')} UTC on ${env.machine.cpu}, ${env.machine.cores} cores, Node ${env.node}${args.quick ? ' (quick run)' : ''}: \`npm run bench:encoders\`.`,
    'Sentence embeddings (mean pooling) from BERT checkpoints with random weights; sentences per second from the median call; "texts": tokenization included, "ids": token ids in. "ours same T ×": how many times faster our fastest build on the same thread count is; "2T/1T": the 2-thread row over its 1-thread row; "check vs F32": normwise error per sentence against ours at float32, or for a quantized row the least cosine similarity to those embeddings.',
    ...text.split('\n').map((l) => `- ${l}`),
    ...results.map((r) => table(r, { markdown: true })),
  ].join('\n\n');
  writeFileSync(mdFile, `${md}\n`);
  console.log(`\nWrote ${jsonFile}, ${mdFile}`);
}
if (failed.length) {
  console.error(`\nThe run failed:\n${failed.map((f) => `  ${f}`).join('\n')}`);
  process.exit(1);
}
process.exit(0);
