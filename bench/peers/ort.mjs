// onnxruntime (web: its wasm build; node: the native CPU library) on two graphs built by the
// bench (./onnx-graph.mjs): the plain-op graph an exporter writes, and onnxruntime's fused
// com.microsoft MultiHeadAttention op. Inputs are ort.Tensors made once; onnxruntime copies them
// in per run (the web build into its wasm heap), which is part of the price of using it. For a
// decoder step the encoder states are baked into the model as initializers: resident, the most
// onnxruntime allows. For multi-head attention with projections the module's weights are
// initializers (pre-transposed), and the graphs are onnx-graph.mjs's mhaProjGraph; the KV-cache
// decode step and the Bahdanau step are described at prepareStep / prepareBahdanau below.
import { Unsupported } from '../errors.mjs';
import { bahdanauGraph, kvStepGraph, mhaGraph, mhaProjGraph, projectKV, sdpaGraph, splitHeads } from './onnx-graph.mjs';

/** [B, H, L, D] ↔ [B, L, H·D] (the MultiHeadAttention op's layout). */
function toBLE(x, [b, h, l, d]) {
  const y = new Float32Array(x.length);
  for (let bi = 0; bi < b; bi++)
    for (let hi = 0; hi < h; hi++)
      for (let li = 0; li < l; li++) y.set(x.subarray(((bi * h + hi) * l + li) * d, ((bi * h + hi) * l + li + 1) * d), ((bi * l + li) * h + hi) * d);
  return y;
}
function toBHLD(y, [b, h, l, d]) {
  const x = new Float32Array(y.length);
  for (let bi = 0; bi < b; bi++)
    for (let hi = 0; hi < h; hi++)
      for (let li = 0; li < l; li++) x.set(y.subarray(((bi * l + li) * h + hi) * d, ((bi * l + li) * h + hi + 1) * d), ((bi * h + hi) * l + li) * d);
  return x;
}

/** flavor 'web' | 'node'; graph 'matmul' | 'mha'. */
export function ortContender(ort, { flavor, graph, threads, version }) {
  const web = flavor === 'web';
  const sessionOptions = web
    ? { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }
    : { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' };
  async function createSession(model) {
    const session = await ort.InferenceSession.create(model, sessionOptions);
    if (!web && session.handler?.constructor?.name !== 'OnnxruntimeSessionHandler') {
      await session.release();
      throw new Error("onnxruntime-node's 'cpu' backend is shadowed by onnxruntime-web's (load onnxruntime-node first)");
    }
    return session;
  }
  // nn.MultiheadAttention with projections, weights as initializers. 'mha': the projections as
  // MatMuls feeding the fused MultiHeadAttention op (with the in-projection bias); the fused
  // Attention op (projection included) measured the same within noise, see onnx-graph.mjs.
  // 'matmul': the plain-op graph.
  async function prepareProj(w, inp) {
    const { e, heads, l } = w.shape;
    const model = mhaProjGraph({ b: 1, l, e, heads, weights: inp.config.weights, variant: graph === 'mha' ? 'mha' : 'matmul' });
    const session = await createSession(model);
    const feeds = { x: new ort.Tensor('float32', inp.x.data, [1, l, e]) };
    const run = async () => (await session.run(feeds)).out.data;
    return { run, async: true, result: run, dispose: () => session.release() };
  }
  // Decode step with a KV cache (kvStepGraph): the cache is a pair of ort.Tensors that a decode
  // loop feeds back each step (present_* of one run is past_* of the next). Untimed: the cache of
  // the first T−1 positions is projected in JS, then onnxruntime steps token T on it, and its
  // present_key / present_value (T positions) become the cache of the timed step, so the check of
  // the output also checks the feed-back. Timed: one session.run of token T+1 over that T-position
  // cache, i.e. the new token's projections, the growth of the cache (the op / Concat copies past
  // into a fresh present of T+1 positions; the web build also copies x and the cache into its wasm
  // heap and the outputs back out), the attention and the out-projection. Every timed call decodes
  // the same token over the same cache (its present is dropped), as the other contenders do.
  async function prepareStep(w, inp) {
    const { e, heads, t } = w.shape;
    const d = e / heads;
    const variant = graph === 'mha' ? 'mha' : 'matmul';
    const session = await createSession(kvStepGraph({ e, heads, weights: inp.config.weights, variant }));
    const prefill = t - 1;
    const { k, v } = projectKV(inp.config.weights, inp.x.data, e, prefill);
    const kDims = variant === 'mha' ? [1, heads, prefill, d] : [1, heads, d, prefill];
    const token = (i) => new ort.Tensor('float32', inp.x.data.slice(i * e, (i + 1) * e), [1, 1, e]);
    const first = await session.run({ x: token(prefill), past_key: new ort.Tensor('float32', splitHeads(k, prefill, heads, d, variant !== 'mha'), kDims), past_value: new ort.Tensor('float32', splitHeads(v, prefill, heads, d), [1, heads, prefill, d]) });
    const feeds = { x: token(t), past_key: first.present_key, past_value: first.present_value };
    const run = async () => (await session.run(feeds)).out.data;
    return { run, async: true, result: run, dispose: () => session.release() };
  }
  // Bahdanau decoder step (bahdanauGraph): the bound encoder side (Ua·hs + b and hs) is baked in as
  // initializers, resident; timed: one session.run with the decoder state h [1, H] (Wa·h + b, add,
  // tanh, ·Va, softmax, weights·hs). Plain ops only (no fused op for additive attention), so only
  // the MatMul-graph contenders run it.
  async function prepareBahdanau(w, inp) {
    if (graph === 'mha') throw new Unsupported('no fused op for additive attention (see the MatMul graph)');
    const { s, hid } = w.shape;
    const session = await createSession(bahdanauGraph({ s, hid, weights: inp.weights, hs: inp.hs.data }));
    const feeds = { h: new ort.Tensor('float32', inp.h.data, [1, hid]) };
    const run = async () => (await session.run(feeds)).out.data;
    return { run, async: true, result: run, dispose: () => session.release() };
  }
  return {
    id: `ort-${flavor}-${graph}-${threads}t`,
    label: `ort-${flavor} ${graph === 'mha' ? 'MHA op' : 'MatMul graph'} ${threads}T`,
    group: 'peer',
    threads,
    status: 'ok',
    version: `onnxruntime-${flavor} ${version}`,
    async prepare(w, inp) {
      if (w.kind === 'mha') return prepareProj(w, inp);
      if (w.kind === 'decode') return prepareStep(w, inp);
      if (w.kind === 'bahdanau') return prepareBahdanau(w, inp);
      if (w.kind !== 'sdpa') throw new Unsupported(`no onnxruntime adapter for ${w.kind}`);
      const s = w.shape;
      const mha = graph === 'mha';
      const qShape = [s.b, s.h, s.lq, s.d];
      const kvShape = [s.b, s.h, s.lk, s.d];
      const lay = (t, shape) => (mha ? toBLE(t.data, shape) : t.data);
      const dims = (shape) => (mha ? [shape[0], shape[2], shape[1] * shape[3]] : shape);
      const residentK = w.resident === 'kv' ? lay(inp.k, kvShape) : undefined;
      // keys that are also the values (seq2seq encoder states): one initializer feeds both
      const resident = residentK && { k: residentK, v: inp.v === inp.k ? residentK : lay(inp.v, kvShape) };
      const model = (mha ? mhaGraph : sdpaGraph)({ ...s, resident });
      const session = await createSession(model);
      const names = mha ? ['query', 'key', 'value'] : ['q', 'k', 'v'];
      const feeds = { [names[0]]: new ort.Tensor('float32', lay(inp.q, qShape), dims(qShape)) };
      if (!resident) {
        feeds[names[1]] = new ort.Tensor('float32', lay(inp.k, kvShape), dims(kvShape));
        feeds[names[2]] = new ort.Tensor('float32', lay(inp.v, kvShape), dims(kvShape));
      }
      const run = async () => (await session.run(feeds)).out.data;
      return {
        run,
        async: true,
        result: async () => (mha ? toBHLD(await run(), qShape) : await run()),
        dispose: () => session.release(),
      };
    },
  };
}
