// onnxruntime (web: its wasm build; node: the native CPU library) on two graphs built by the
// bench (./onnx-graph.mjs): the plain-op graph an exporter writes, and onnxruntime's fused
// com.microsoft MultiHeadAttention op. Inputs are ort.Tensors made once; onnxruntime copies them
// in per run (the web build into its wasm heap), which is part of the price of using it. For a
// decoder step the encoder states are baked into the model as initializers: resident, the most
// onnxruntime allows. For multi-head attention with projections the module's weights are
// initializers (pre-transposed), and the graphs are onnx-graph.mjs's mhaProjGraph.
import { Unsupported } from '../errors.mjs';
import { mhaGraph, mhaProjGraph, sdpaGraph } from './onnx-graph.mjs';

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
  return {
    id: `ort-${flavor}-${graph}-${threads}t`,
    label: `ort-${flavor} ${graph === 'mha' ? 'MHA op' : 'MatMul graph'} ${threads}T`,
    group: 'peer',
    threads,
    status: 'ok',
    version: `onnxruntime-${flavor} ${version}`,
    async prepare(w, inp) {
      if (w.kind === 'mha') return prepareProj(w, inp);
      if (w.kind !== 'sdpa') throw new Unsupported(`no onnxruntime adapter for ${w.kind}`);
      const s = w.shape;
      const mha = graph === 'mha';
      const qShape = [s.b, s.h, s.lq, s.d];
      const kvShape = [s.b, s.h, s.lk, s.d];
      const lay = (t, shape) => (mha ? toBLE(t.data, shape) : t.data);
      const dims = (shape) => (mha ? [shape[0], shape[2], shape[1] * shape[3]] : shape);
      const resident = w.resident === 'kv' ? { k: lay(inp.k, kvShape), v: lay(inp.v, kvShape) } : undefined;
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
