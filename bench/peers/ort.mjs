// onnxruntime (web: its wasm build; node: the native CPU library) on two graphs built by the
// bench (./onnx-graph.mjs): the plain-op graph an exporter writes, and onnxruntime's fused
// com.microsoft MultiHeadAttention op. Inputs are ort.Tensors made once; onnxruntime copies them
// in per run (the web build into its wasm heap), which is part of the price of using it. For a
// decoder step the encoder states are baked into the model as initializers: resident, the most
// onnxruntime allows. For multi-head attention with projections the module's weights are
// initializers (pre-transposed), and the graphs are onnx-graph.mjs's mhaProjGraph; the KV-cache
// decode step and the Bahdanau step are described at prepareStep / prepareBahdanau below, the
// transformer encoder layers (T…) at prepareEncoder.
//
// The attention variants (V…): biases and masks are one explicit additive bias (../variants.mjs)
// fed as a graph input, built once outside the timed call: Add before Softmax in the MatMul graph,
// the MultiHeadAttention op's attention_bias input; the sliding window is the same kind of bias
// (−∞ outside the window) in the MatMul graph. Grouped-query K / V are repeated to H heads in the
// MatMul graph (repeat_kv); the fused-op contender runs com.microsoft GroupQueryAttention where the
// workload says so (`fusedOp: 'gqa'`: its kv heads and its local_window_size), see prepareGqa.
import { Unsupported } from '../errors.mjs';
import { biasDescription, explicitBias } from '../variants.mjs';
import { bahdanauGraph, decoderStepGraph, encoderLayerGraph, gqaGraph, kvStepGraph, mhaGraph, mhaProjGraph, projectKV, sdpaGraph, splitHeads } from './onnx-graph.mjs';

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

/** Rows [r0, r1) of every head of x [B, H, L, D] (a Float32Array) → [B, H, r1 − r0, D]. */
function headRows(x, [b, h, l, d], r0, r1) {
  const y = new Float32Array(b * h * (r1 - r0) * d);
  for (let bh = 0; bh < b * h; bh++) y.set(x.subarray((bh * l + r0) * d, (bh * l + r1) * d), bh * (r1 - r0) * d);
  return y;
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
  // torch.nn.TransformerEncoderLayer (encoderLayerGraph): the state_dict as initializers
  // (pre-transposed), LayerNormalization (opset 17), Relu or the Erf form of GELU; 'matmul': plain
  // ops throughout; 'mha': the attention core as the fused MultiHeadAttention op, the rest plain ops.
  // Timed: one session.run on x [B, L, E] (the web build copies x in and the output out).
  async function prepareEncoder(w, inp) {
    const { b, l, e, heads, ff, activation, normFirst, eps } = w.shape;
    const session = await createSession(encoderLayerGraph({ b, l, e, heads, ff, activation, normFirst, eps, weights: inp.config.weights, variant: graph === 'mha' ? 'mha' : 'matmul' }));
    const feeds = { x: new ort.Tensor('float32', inp.x.data, [b, l, e]) };
    const run = async () => (await session.run(feeds)).out.data;
    const note = `the layer as an ONNX graph: LayerNormalization (opset 17), ${activation === 'gelu' ? 'GELU as Div → Erf → Add → Mul → Mul' : 'Relu'}, weights as initializers; the attention ${graph === 'mha' ? 'as the com.microsoft MultiHeadAttention op' : 'as MatMul / Reshape / Transpose / Softmax'}`;
    return { run, async: true, note, result: run, dispose: () => session.release() };
  }
  // One step of torch.nn.TransformerDecoderLayer (decoderStepGraph, T3): plain ops only (the
  // MatMul-graph contenders; the MHA-op ones are not set up for it). Untimed: the memory's
  // cross-attention keys and values projected in JS and baked in as initializers (bound), the
  // self-attention cache of the first T−1 tokens projected in JS, then onnxruntime steps token T on
  // it and its present_* (T positions) become the cache of the timed step, as prepareStep does.
  // Timed: one session.run of token T+1: the layer's work for one token plus the growth of the
  // cache (Concat copies past into a fresh present of T+1 positions).
  async function prepareDecoderStep(w, inp) {
    if (graph === 'mha') throw new Unsupported('not set up for the decoder step (see the MatMul graph)');
    const { e, heads, ff, t, s, eps } = w.shape;
    const d = e / heads;
    const W = inp.config.weights;
    const weightsOf = (p) => ({ in_proj_weight: W[`${p}.in_proj_weight`], in_proj_bias: W[`${p}.in_proj_bias`] });
    const memoryKV = projectKV(weightsOf('multihead_attn'), inp.memory.data, e, s);
    const session = await createSession(decoderStepGraph({ e, heads, ff, s, eps, weights: W, memoryKV }));
    const prefill = t - 1;
    const { k, v } = projectKV(weightsOf('self_attn'), inp.tgt.data, e, prefill);
    const token = (i) => new ort.Tensor('float32', inp.tgt.data.slice(i * e, (i + 1) * e), [1, 1, e]);
    const first = await session.run({ x: token(prefill), past_key: new ort.Tensor('float32', splitHeads(k, prefill, heads, d, true), [1, heads, d, prefill]), past_value: new ort.Tensor('float32', splitHeads(v, prefill, heads, d), [1, heads, prefill, d]) });
    const feeds = { x: token(t), past_key: first.present_key, past_value: first.present_value };
    const run = async () => (await session.run(feeds)).out.data;
    const note = `one decoder-layer step as an ONNX graph of plain ops: x, past K/V (${t} positions, fed back from the previous step) in, the memory's projected K/V (${s} positions) as initializers; LayerNormalization (opset 17), Relu`;
    return { run, async: true, note, result: run, dispose: () => session.release() };
  }
  // com.microsoft GroupQueryAttention (gqaGraph), for the workloads that name it (V1 and V1-full, V6
  // and V6-mha): the op is causal by definition, with kv_num_heads and local_window_size. A prompt
  // (Lq = Lk): q, k, v are graph inputs in the op's layout [B, L, heads·D]. A decode step over
  // resident keys (Lq 1): the first Lk − 1 keys / values are past_key / past_value initializers and
  // the last position the op's key / value (initializers too); every call the op appends it to the
  // past into fresh present_key / present_value outputs (its KV-cache API), and attends over all Lk.
  async function prepareGqa(w, inp) {
    const s = w.shape;
    const { b, h, hk, lq, lk, d } = s;
    if (s.alibi || s.relative || s.mask) throw new Unsupported('GroupQueryAttention takes no bias here (see the MatMul graph)');
    if (lq === lk && !s.causal) throw new Unsupported('GroupQueryAttention is causal only');
    if (s.window && s.window[1] !== 0) throw new Unsupported('GroupQueryAttention windows look back only (window [left, 0])');
    const qShape = [b, h, lq, d];
    const kvShape = [b, hk, lk, d];
    const decode = w.resident === 'kv';
    if (decode && lq !== 1) throw new Unsupported('GroupQueryAttention over resident keys: decode steps (Lq 1) only');
    const resident = decode && {
      pastK: headRows(inp.k.data, kvShape, 0, lk - 1),
      pastV: headRows(inp.v.data, kvShape, 0, lk - 1),
      k: toBLE(headRows(inp.k.data, kvShape, lk - 1, lk), [b, hk, 1, d]),
      v: toBLE(headRows(inp.v.data, kvShape, lk - 1, lk), [b, hk, 1, d]),
    };
    // local_window_size counts the query's own key: window [left, 0] is local_window_size left + 1
    // (measured: 5 matches [4, 0] on onnxruntime 1.30).
    const windowSize = s.window?.[0] >= 0 ? s.window[0] + 1 : undefined;
    let session;
    try {
      session = await createSession(gqaGraph({ ...s, window: windowSize, resident }));
    } catch (error) {
      throw new Error(`GroupQueryAttention op: ${String(error?.message ?? error).split('\n')[0]}`);
    }
    const feeds = { query: new ort.Tensor('float32', toBLE(inp.q.data, qShape), [b, lq, h * d]) };
    if (!decode) {
      feeds.key = new ort.Tensor('float32', toBLE(inp.k.data, kvShape), [b, lk, hk * d]);
      feeds.value = new ort.Tensor('float32', toBLE(inp.v.data, kvShape), [b, lk, hk * d]);
    }
    const run = async () => (await session.run(feeds, ['out'])).out.data;
    const note = `com.microsoft GroupQueryAttention op (kv_num_heads ${hk}${windowSize !== undefined ? `, local_window_size ${windowSize}` : ''}${decode ? `; past_key / past_value ${lk - 1} positions + the last one, initializers` : ''})`;
    return { run, async: true, note, result: async () => toBHLD(await run(), qShape), dispose: () => session.release() };
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
      if (w.kind === 'encoder') return prepareEncoder(w, inp);
      if (w.kind === 'decoder-step') return prepareDecoderStep(w, inp);
      if (w.kind !== 'sdpa') throw new Unsupported(`no onnxruntime adapter for ${w.kind}`);
      const s = w.shape;
      const hk = s.hk ?? s.h;
      const mha = graph === 'mha';
      if (mha && (w.fusedOp === 'gqa' || hk !== s.h)) return prepareGqa(w, inp);
      const qShape = [s.b, s.h, s.lq, s.d];
      const kvShape = [s.b, hk, s.lk, s.d];
      const lay = (t, shape) => (mha ? toBLE(t.data, shape) : t.data);
      const dims = (shape) => (mha ? [shape[0], shape[2], shape[1] * shape[3]] : shape);
      const residentK = w.resident === 'kv' ? lay(inp.k, kvShape) : undefined;
      // keys that are also the values (seq2seq encoder states): one initializer feeds both
      const resident = residentK && { k: residentK, v: inp.v === inp.k ? residentK : lay(inp.v, kvShape) };
      // The variants: the explicit bias, a graph input (it covers causal when it holds a window).
      const bias = explicitBias(s, inp);
      const model = (mha ? mhaGraph : sdpaGraph)({ ...s, hk, causal: s.causal && !bias?.covers.causal, resident, bias: bias?.shape });
      const session = await createSession(model);
      const names = mha ? ['query', 'key', 'value'] : ['q', 'k', 'v'];
      const feeds = { [names[0]]: new ort.Tensor('float32', lay(inp.q, qShape), dims(qShape)) };
      if (!resident) {
        feeds[names[1]] = new ort.Tensor('float32', lay(inp.k, kvShape), dims(kvShape));
        feeds[names[2]] = new ort.Tensor('float32', lay(inp.v, kvShape), dims(kvShape));
      }
      if (bias) feeds[mha ? 'attention_bias' : 'bias'] = new ort.Tensor('float32', bias.data, bias.shape);
      const note = bias ? `${biasDescription(s, bias)}, ${mha ? "the op's attention_bias input" : 'a graph input added before Softmax'}` : hk !== s.h ? `K, V repeated to ${s.h} heads in the graph every call (Reshape → Expand → Reshape, the shapes from q's batch size as an exporter writes them; constant shapes let onnxruntime fold the repeat of the resident keys into a ${s.h / hk}× larger constant)` : undefined;
      const run = async () => (await session.run(feeds)).out.data;
      return {
        run,
        async: true,
        note,
        result: async () => (mha ? toBHLD(await run(), qShape) : await run()),
        dispose: () => session.release(),
      };
    },
  };
}
