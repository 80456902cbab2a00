// ONNX models for the attention workloads, written by hand as protobuf bytes (the format is a
// handful of nested messages; no protobuf library needed). Field numbers are from onnx.proto.
//
//   sdpaGraph: Transpose(K) → MatMul(Q, Kᵀ) → Mul(scale) [→ Add(causal mask)] [→ Add(bias)] → Softmax
//              → MatMul(·, V), the graph an exporter writes for softmax(Q·Kᵀ·scale)·V; Q, K, V
//              [B, H, L, D]; grouped-query K, V [B, Hk, L, D] repeated to H heads first (Reshape →
//              Expand → Reshape, Hugging Face's repeat_kv as an exporter writes it).
//   mhaGraph:  the com.microsoft MultiHeadAttention op (onnxruntime's fused attention) on
//              query, key, value [B, L, H·D] (heads interleaved in the rows, as a model produces them),
//              with its attention_bias input for an explicit bias.
//   gqaGraph:  the com.microsoft GroupQueryAttention op (kv heads, a causal sliding window).
//   mhaProjGraph: torch.nn.MultiheadAttention with its projections (weights as initializers), as
//              plain ops or around the fused Attention / MultiHeadAttention ops.
//   kvStepGraph: one decode step of that module with a KV cache (past_* in, present_* out).
//   bahdanauGraph: one Bahdanau decoder step, the bound encoder side as initializers.
//   encoderLayerGraph: torch.nn.TransformerEncoderLayer (post- or pre-norm, ReLU or erf GELU),
//              weights as initializers: plain ops with LayerNormalization (opset 17), or the
//              attention core as the fused MultiHeadAttention op.
//   bertGraph: a Hugging Face BertModel as its ONNX export, float32 or quantized as transformers.js
//              ships it (onnx-quant.mjs).
// Inputs that are resident for the workload (the encoder states of a decoder step) may be baked in
// as initializers, the closest onnxruntime comes to keeping them resident.

import { gatherOps, linearOps } from './onnx-quant.mjs';

// ---- protobuf writer -------------------------------------------------------------------------
const utf8 = new TextEncoder();
const varint = (n) => {
  const out = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // two's complement, as int64 fields need
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
};
const concat = (parts) => {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (bytes.set(p, at), (at += p.length));
  return bytes;
};
const tag = (field, wire) => varint((field << 3) | wire);
const int = (field, n) => Uint8Array.from([...tag(field, 0), ...varint(n)]);
const bytes = (field, b) => concat([Uint8Array.from([...tag(field, 2), ...varint(b.length)]), b]);
const str = (field, s) => bytes(field, utf8.encode(s));
const msg = (field, parts) => bytes(field, concat(parts));
const float = (field, x) => {
  const b = new Uint8Array(5);
  b.set(tag(field, 5));
  new DataView(b.buffer).setFloat32(1, x, true);
  return b;
};

// ---- ONNX messages ---------------------------------------------------------------------------
const FLOAT = 1;
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 };
export const intAttr = (name, n) => msg(5, [str(1, name), int(3, n), int(20, ATTR.INT)]);
export const intsAttr = (name, ns) => msg(5, [str(1, name), ...ns.map((n) => int(8, n)), int(20, ATTR.INTS)]);
const floatAttr = (name, x) => msg(5, [str(1, name), float(2, x), int(20, ATTR.FLOAT)]);
export function node(op, inputs, outputs, { domain = '', attrs = [] } = {}) {
  return msg(1, [...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_${outputs[0]}`), str(4, op), ...attrs, ...(domain ? [str(7, domain)] : [])]);
}
function valueInfo(field, name, shape, type = FLOAT) {
  const dims = shape.map((d) => msg(1, [typeof d === 'string' ? str(2, d) : int(1, d)])); // a string: a symbolic dim
  return msg(field, [str(1, name), msg(2, [msg(1, [int(1, type), msg(2, dims)])])]);
}
export function initializer(name, data, shape) {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return msg(5, [...shape.map((d) => int(1, d)), int(2, FLOAT), str(8, name), bytes(9, raw)]);
}
/** An initializer of any element type: `data` a typed array, `type` onnx.proto's TensorProto.DataType (UINT8 2, INT8 3, …). */
export function typedInitializer(name, data, shape, type) {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return msg(5, [...shape.map((d) => int(1, d)), int(2, type), str(8, name), bytes(9, raw)]);
}
export function int64Initializer(name, values) {
  const data = BigInt64Array.from(values.map(BigInt));
  return msg(5, [int(1, values.length), int(2, 7 /* INT64 */), str(8, name), bytes(9, new Uint8Array(data.buffer))]);
}
function int64Scalar(name, value) {
  return msg(5, [int(2, 7 /* INT64 */), str(8, name), bytes(9, new Uint8Array(BigInt64Array.of(BigInt(value)).buffer))]);
}
function int32Initializer(name, values, shape = [values.length]) {
  const data = Int32Array.from(values);
  return msg(5, [...shape.map((d) => int(1, d)), int(2, 6 /* INT32 */), str(8, name), bytes(9, new Uint8Array(data.buffer))]);
}
export function model(nodes, inputs, outputs, inits, opsets) {
  const graph = msg(7, [...nodes, str(2, 'attention'), ...inits, ...inputs.map(([n, s, t]) => valueInfo(11, n, s, t)), ...outputs.map(([n, s, t]) => valueInfo(12, n, s, t))]);
  const imports = opsets.map(([domain, version]) => msg(8, [...(domain ? [str(1, domain)] : []), int(2, version)]));
  return concat([int(1, 8), str(2, 'wasm-attention bench'), graph, ...imports]);
}

/** Upper-triangle additive mask [lq, lk] for bottom-right aligned causal attention. */
export function causalMask(lq, lk) {
  const m = new Float32Array(lq * lk);
  for (let i = 0; i < lq; i++) for (let j = i + lk - lq + 1; j < lk; j++) m[i * lk + j] = -Infinity;
  return m;
}

/**
 * softmax(Q·Kᵀ·scale [+ causal mask] [+ bias])·V as plain ONNX ops. Shapes [B, H, Lq, D] etc.
 * `resident`: { k, v } Float32Arrays baked in as initializers instead of graph inputs (one
 * initializer when k === v: the encoder states of seq2seq attention are keys and values).
 * `hk` < h: K and V have Hk heads (grouped-query), repeated to H heads in the graph (repeat_kv).
 * `bias`: the shape of an explicit additive bias, a graph input named 'bias' (broadcast to [B, H, Lq, Lk]).
 */
export function sdpaGraph({ b, h, hk = h, lq, lk, d, scale, causal = false, resident, bias }) {
  // grouped-query: the batch size symbolic, as in an exported decoder (see repeat_kv below)
  const q = [hk !== h ? 'batch' : b, h, lq, d];
  const kv = [b, hk, lk, d];
  const inits = [initializer('scale', Float32Array.of(scale), [])];
  const inputs = [['q', q]];
  const vName = resident && resident.v === resident.k ? 'k' : 'v';
  if (resident) inits.push(initializer('k', resident.k, kv), ...(vName === 'v' ? [initializer('v', resident.v, kv)] : []));
  else inputs.push(['k', kv], ['v', kv]);
  const nodes = [];
  let [kName, vIn] = ['k', vName];
  if (hk !== h) {
    // repeat_kv: [B, Hk, Lk, D] → [B, Hk, 1, Lk, D] → expand [B, Hk, H/Hk, Lk, D] → [B, H, Lk, D].
    // The target shapes take the batch size from q at run time (Shape → Concat; q's batch dimension
    // is symbolic), as an exported model's do; with constant shapes onnxruntime folds the repeat of resident (initializer) keys
    // into a constant H-head copy at load, and the workload would run as plain multi-head attention.
    inits.push(int64Initializer('kv_5d_tail', [hk, 1, lk, d]), int64Initializer('kv_rep_tail', [hk, h / hk, lk, d]), int64Initializer('kv_4d_tail', [h, lk, d]));
    nodes.push(node('Shape', ['q'], ['batch'], { attrs: [intAttr('start', 0), intAttr('end', 1)] }));
    for (const t of ['kv_5d', 'kv_rep', 'kv_4d']) nodes.push(node('Concat', ['batch', `${t}_tail`], [t], { attrs: [intAttr('axis', 0)] }));
    const repeat = (x) => {
      nodes.push(node('Reshape', [x, 'kv_5d'], [`${x}_5d`]), node('Expand', [`${x}_5d`, 'kv_rep'], [`${x}_rep5`]), node('Reshape', [`${x}_rep5`, 'kv_4d'], [`${x}_rep`]));
      return `${x}_rep`;
    };
    kName = repeat('k');
    vIn = vName === 'k' ? kName : repeat(vName);
  }
  nodes.push(node('Transpose', [kName], ['kt'], { attrs: [intsAttr('perm', [0, 1, 3, 2])] }), node('MatMul', ['q', 'kt'], ['s']), node('Mul', ['s', 'scale'], ['ss']));
  let logits = 'ss';
  if (causal) {
    inits.push(initializer('mask', causalMask(lq, lk), [lq, lk]));
    nodes.push(node('Add', ['ss', 'mask'], ['sm']));
    logits = 'sm';
  }
  if (bias) {
    inputs.push(['bias', bias]);
    nodes.push(node('Add', [logits, 'bias'], ['sb']));
    logits = 'sb';
  }
  nodes.push(node('Softmax', [logits], ['p'], { attrs: [intAttr('axis', -1)] }), node('MatMul', ['p', vIn], ['out']));
  return model(nodes, inputs, [['out', q]], inits, [['', 17]]);
}

/**
 * com.microsoft MultiHeadAttention on query [B, Lq, H·D], key / value [B, Lk, H·D] → [B, Lq, H·D].
 * `bias`: the shape of an explicit additive bias [B or 1, H or 1, Lq, Lk], the op's attention_bias
 * input (its sixth), a graph input named 'attention_bias'.
 */
export function mhaGraph({ b, h, lq, lk, d, scale, causal = false, resident, bias }) {
  const e = h * d;
  const inputs = [['query', [b, lq, e]]];
  const inits = [];
  const vName = resident && resident.v === resident.k ? 'key' : 'value';
  if (resident) inits.push(initializer('key', resident.k, [b, lk, e]), ...(vName === 'value' ? [initializer('value', resident.v, [b, lk, e])] : []));
  else inputs.push(['key', [b, lk, e]], ['value', [b, lk, e]]);
  const attrs = [intAttr('num_heads', h), floatAttr('scale', scale)];
  if (causal) attrs.push(intAttr('unidirectional', 1));
  const opInputs = ['query', 'key', vName];
  if (bias) {
    inputs.push(['attention_bias', bias]);
    opInputs.push('', '', 'attention_bias'); // no packed bias, no key_padding_mask
  }
  const nodes = [node('MultiHeadAttention', opInputs, ['out'], { domain: 'com.microsoft', attrs })];
  return model(nodes, inputs, [['out', [b, lq, e]]], inits, [['', 17], ['com.microsoft', 1]]);
}

/**
 * com.microsoft GroupQueryAttention (causal, for decoders): query [B, Lq, H·D], key / value
 * [B, ·, Hk·D] (heads interleaved in the rows), num_heads H, kv_num_heads Hk, an optional
 * local_window_size (the keys pos − window … pos are visible). Two forms:
 *   Lq = Lk (a prompt, no cache): key, value [B, Lk, Hk·D] are graph inputs;
 *   Lq = 1 < Lk (a decode step over resident keys): `resident` { pastK, pastV } [B, Hk, Lk − 1, D]
 *     (BNSH) and { k, v } [B, 1, Hk·D] of the last position are initializers (the op appends the
 *     last position to the past, copying it into its present_key / present_value outputs).
 * seqlens_k (the last key's index, Lk − 1, per batch) and total_sequence_length Lk are int32
 * initializers. Output [B, Lq, H·D].
 */
export function gqaGraph({ b, h, hk, lq, lk, d, scale, window, resident }) {
  const inputs = [['query', [b, lq, h * d]]];
  const inits = [int32Initializer('seqlens_k', new Array(b).fill(lk - 1)), int32Initializer('total_sequence_length', [lk], [])];
  const opInputs = ['query', 'key', 'value'];
  if (resident) {
    if (lq !== 1) throw new Error('gqaGraph: resident keys only for a decode step (Lq 1)');
    inits.push(initializer('key', resident.k, [b, 1, hk * d]), initializer('value', resident.v, [b, 1, hk * d]), initializer('past_key', resident.pastK, [b, hk, lk - 1, d]), initializer('past_value', resident.pastV, [b, hk, lk - 1, d]));
    opInputs.push('past_key', 'past_value');
  } else {
    if (lq !== lk) throw new Error('gqaGraph: without a cache, Lq must equal Lk');
    inputs.push(['key', [b, lk, hk * d]], ['value', [b, lk, hk * d]]);
    opInputs.push('', '');
  }
  opInputs.push('seqlens_k', 'total_sequence_length');
  const attrs = [intAttr('num_heads', h), intAttr('kv_num_heads', hk), floatAttr('scale', scale)];
  if (window) attrs.push(intAttr('local_window_size', window));
  const nodes = [node('GroupQueryAttention', opInputs, ['out', 'present_key', 'present_value'], { domain: 'com.microsoft', attrs })];
  return model(nodes, inputs, [['out', [b, lq, h * d]]], inits, [['', 17], ['com.microsoft', 1]]);
}

/** Wᵀ of a row-major [rows, cols] matrix. */
export function transposed(w, rows, cols) {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
  return t;
}

/**
 * torch.nn.MultiheadAttention self-attention on x [B, L, E] with its weights as initializers:
 *   variant 'attention': com.microsoft Attention (input, in_proj_weightᵀ [E, 3E], in_proj_bias [3E])
 *                        → MatMul(out_proj.weightᵀ) → Add(out_proj.bias);
 *   variant 'mha':       MatMul(x, W_qᵀ | W_kᵀ | W_vᵀ) → com.microsoft MultiHeadAttention (bias [3E])
 *                        → MatMul(out_proj.weightᵀ) → Add(out_proj.bias);
 *   variant 'matmul':    plain ops, as an exporter writes it: MatMul + Add per projection → Reshape
 *                        [B, L, H, D] → Transpose to [B, H, L, D] (K straight to [B, H, D, L]) →
 *                        MatMul → Mul(scale) → Softmax → MatMul → Transpose → Reshape [B, L, E] →
 *                        MatMul(out_proj.weightᵀ) → Add(out_proj.bias).
 * `weights`: the module's state dict ({ in_proj_weight, in_proj_bias, 'out_proj.weight', 'out_proj.bias' }, data + shape).
 */
export function mhaProjGraph({ b, l, e, heads, weights, variant = 'attention' }) {
  const W = weights.in_proj_weight.data;
  const inits = [initializer('wo_t', transposed(weights['out_proj.weight'].data, e, e), [e, e]), initializer('bo', weights['out_proj.bias'].data, [e])];
  const nodes = [];
  if (variant === 'attention') {
    inits.push(initializer('w_in_t', transposed(W, 3 * e, e), [e, 3 * e]), initializer('bias', weights.in_proj_bias.data, [3 * e]));
    nodes.push(node('Attention', ['x', 'w_in_t', 'bias'], ['attn'], { domain: 'com.microsoft', attrs: [intAttr('num_heads', heads)] }));
  } else if (variant === 'matmul') {
    const d = e / heads;
    inits.push(int64Initializer('split_shape', [b, l, heads, d]), int64Initializer('merge_shape', [b, l, e]), initializer('scale', Float32Array.of(1 / Math.sqrt(d)), []));
    ['q', 'k', 'v'].forEach((n, i) => {
      inits.push(initializer(`w${n}_t`, transposed(W.subarray(i * e * e, (i + 1) * e * e), e, e), [e, e]), initializer(`b${n}`, weights.in_proj_bias.data.slice(i * e, (i + 1) * e), [e]));
      nodes.push(node('MatMul', ['x', `w${n}_t`], [`${n}_mm`]), node('Add', [`${n}_mm`, `b${n}`], [`${n}_p`]), node('Reshape', [`${n}_p`, 'split_shape'], [`${n}_4d`]));
      nodes.push(node('Transpose', [`${n}_4d`], [`${n}_h`], { attrs: [intsAttr('perm', n === 'k' ? [0, 2, 3, 1] : [0, 2, 1, 3])] }));
    });
    nodes.push(node('MatMul', ['q_h', 'k_h'], ['s']), node('Mul', ['s', 'scale'], ['ss']), node('Softmax', ['ss'], ['p'], { attrs: [intAttr('axis', -1)] }), node('MatMul', ['p', 'v_h'], ['ctx']));
    nodes.push(node('Transpose', ['ctx'], ['ctx_t'], { attrs: [intsAttr('perm', [0, 2, 1, 3])] }), node('Reshape', ['ctx_t', 'merge_shape'], ['attn']));
  } else {
    inits.push(initializer('bias', weights.in_proj_bias.data, [3 * e]));
    ['q', 'k', 'v'].forEach((n, i) => {
      inits.push(initializer(`w${n}_t`, transposed(W.subarray(i * e * e, (i + 1) * e * e), e, e), [e, e]));
      nodes.push(node('MatMul', ['x', `w${n}_t`], [n]));
    });
    nodes.push(node('MultiHeadAttention', ['q', 'k', 'v', 'bias'], ['attn'], { domain: 'com.microsoft', attrs: [intAttr('num_heads', heads)] }));
  }
  nodes.push(node('MatMul', ['attn', 'wo_t'], ['o']), node('Add', ['o', 'bo'], ['out']));
  return model(nodes, [['x', [b, l, e]]], [['out', [b, l, e]]], inits, [['', 17], ['com.microsoft', 1]]);
}

/**
 * Keys and values of the first `t` positions of x [1, ≥t, E] under nn.MultiheadAttention's
 * in-projection: { k, v } [t, E] each (heads interleaved in the rows). Used once, untimed, to fill
 * a peer's KV cache before a decode step (float64 sums, stored as float32).
 */
export function projectKV(weights, x, e, t) {
  const W = weights.in_proj_weight.data;
  const bias = weights.in_proj_bias.data;
  const k = new Float32Array(t * e);
  const v = new Float32Array(t * e);
  for (let p = 0; p < t; p++)
    for (let o = 0; o < e; o++) {
      let sk = bias[e + o];
      let sv = bias[2 * e + o];
      for (let i = 0; i < e; i++) {
        const xi = x[p * e + i];
        sk += W[(e + o) * e + i] * xi;
        sv += W[(2 * e + o) * e + i] * xi;
      }
      k[p * e + o] = sk;
      v[p * e + o] = sv;
    }
  return { k, v };
}

/** [L, H·D] rows → [H, L, D] (per head), or [H, D, L] with `transpose`. */
export function splitHeads(x, l, heads, d, transpose = false) {
  const y = new Float32Array(x.length);
  for (let p = 0; p < l; p++)
    for (let h = 0; h < heads; h++)
      for (let c = 0; c < d; c++) y[transpose ? (h * d + c) * l + p : (h * l + p) * d + c] = x[p * heads * d + h * d + c];
  return y;
}

/**
 * One decode step of torch.nn.MultiheadAttention with a KV cache, weights as initializers.
 * Inputs x [1, 1, E], past_key, past_value; outputs out [1, 1, E], present_key, present_value
 * (the cache grown by the new position, to feed back as the next step's past).
 *   variant 'mha':    MatMul(x, W_qᵀ | W_kᵀ | W_vᵀ) → com.microsoft MultiHeadAttention (bias [3E],
 *                     past_key / past_value [1, H, T, D] → present [1, H, T+1, D]) → out-projection.
 *   variant 'matmul': plain ops: MatMul + Add per projection → Reshape / Transpose to heads; the key
 *                     cache kept transposed, past_key [1, H, D, T] (Concat on the last axis, no
 *                     per-step transpose of the cache), past_value [1, H, T, D]; q·scale → MatMul →
 *                     Softmax → MatMul → Transpose / Reshape → out-projection.
 */
export function kvStepGraph({ e, heads, weights, variant = 'mha' }) {
  const d = e / heads;
  const W = weights.in_proj_weight.data;
  const inits = [initializer('wo_t', transposed(weights['out_proj.weight'].data, e, e), [e, e]), initializer('bo', weights['out_proj.bias'].data, [e])];
  const nodes = [];
  // The cache length is symbolic, as in an exported decoder (the same session runs every step).
  const x = [1, 1, e];
  let pastK = [1, heads, 'past', d];
  let presentK = [1, heads, 'present', d];
  const pastV = [1, heads, 'past', d];
  const presentV = [1, heads, 'present', d];
  if (variant === 'mha') {
    inits.push(initializer('bias', weights.in_proj_bias.data, [3 * e]));
    ['q', 'k', 'v'].forEach((n, i) => {
      inits.push(initializer(`w${n}_t`, transposed(W.subarray(i * e * e, (i + 1) * e * e), e, e), [e, e]));
      nodes.push(node('MatMul', ['x', `w${n}_t`], [n]));
    });
    nodes.push(
      node('MultiHeadAttention', ['q', 'k', 'v', 'bias', '', '', 'past_key', 'past_value'], ['attn', 'present_key', 'present_value'], {
        domain: 'com.microsoft',
        attrs: [intAttr('num_heads', heads)],
      }),
    );
  } else {
    pastK = [1, heads, d, 'past'];
    presentK = [1, heads, d, 'present'];
    inits.push(int64Initializer('split_shape', [1, 1, heads, d]), int64Initializer('merge_shape', [1, 1, e]), initializer('scale', Float32Array.of(1 / Math.sqrt(d)), []));
    ['q', 'k', 'v'].forEach((n, i) => {
      inits.push(initializer(`w${n}_t`, transposed(W.subarray(i * e * e, (i + 1) * e * e), e, e), [e, e]), initializer(`b${n}`, weights.in_proj_bias.data.slice(i * e, (i + 1) * e), [e]));
      nodes.push(node('MatMul', ['x', `w${n}_t`], [`${n}_mm`]), node('Add', [`${n}_mm`, `b${n}`], [`${n}_p`]), node('Reshape', [`${n}_p`, 'split_shape'], [`${n}_4d`]));
      nodes.push(node('Transpose', [`${n}_4d`], [`${n}_h`], { attrs: [intsAttr('perm', n === 'k' ? [0, 2, 3, 1] : [0, 2, 1, 3])] }));
    });
    nodes.push(node('Concat', ['past_key', 'k_h'], ['present_key'], { attrs: [intAttr('axis', 3)] }), node('Concat', ['past_value', 'v_h'], ['present_value'], { attrs: [intAttr('axis', 2)] }));
    nodes.push(node('Mul', ['q_h', 'scale'], ['qs']), node('MatMul', ['qs', 'present_key'], ['s']), node('Softmax', ['s'], ['p'], { attrs: [intAttr('axis', -1)] }), node('MatMul', ['p', 'present_value'], ['ctx']));
    nodes.push(node('Transpose', ['ctx'], ['ctx_t'], { attrs: [intsAttr('perm', [0, 2, 1, 3])] }), node('Reshape', ['ctx_t', 'merge_shape'], ['attn']));
  }
  nodes.push(node('MatMul', ['attn', 'wo_t'], ['o']), node('Add', ['o', 'bo'], ['out']));
  return model(
    nodes,
    [['x', x], ['past_key', pastK], ['past_value', pastV]],
    [['out', x], ['present_key', presentK], ['present_value', presentV]],
    inits,
    [['', 17], ['com.microsoft', 1]],
  );
}

/**
 * One Bahdanau decoder step (the PyTorch seq2seq tutorial's module) over S bound encoder states,
 * as plain ops: h [1, H] → MatMul(Wa.weightᵀ) → Add(Wa.bias) → Add(keys) → Tanh → MatMul(Va.weightᵀ)
 * → Add(Va.bias) → Reshape [1, S] → Softmax → MatMul(hs) → context [1, H]. The encoder side is bound
 * once as initializers: keys = hs·Ua.weightᵀ + Ua.bias [S, H] (precomputed, as `bind` does) and hs [S, H].
 */
export function bahdanauGraph({ s, hid, weights, hs }) {
  const H = hid;
  const keys = new Float32Array(s * H);
  const Ua = weights['Ua.weight'].data;
  const ub = weights['Ua.bias'].data;
  for (let r = 0; r < s; r++)
    for (let o = 0; o < H; o++) {
      let sum = ub[o];
      for (let i = 0; i < H; i++) sum += Ua[o * H + i] * hs[r * H + i];
      keys[r * H + o] = sum;
    }
  const inits = [
    initializer('wa_t', transposed(weights['Wa.weight'].data, H, H), [H, H]),
    initializer('ba', weights['Wa.bias'].data, [H]),
    initializer('keys', keys, [s, H]),
    initializer('va_t', weights['Va.weight'].data, [H, 1]),
    initializer('vb', weights['Va.bias'].data, [1]),
    initializer('hs', hs, [s, H]),
    int64Initializer('row_shape', [1, s]),
  ];
  const nodes = [
    node('MatMul', ['h', 'wa_t'], ['q_mm']),
    node('Add', ['q_mm', 'ba'], ['q']),
    node('Add', ['keys', 'q'], ['pre']),
    node('Tanh', ['pre'], ['act']),
    node('MatMul', ['act', 'va_t'], ['sc_mm']),
    node('Add', ['sc_mm', 'vb'], ['sc']),
    node('Reshape', ['sc', 'row_shape'], ['sc_row']),
    node('Softmax', ['sc_row'], ['p'], { attrs: [intAttr('axis', -1)] }),
    node('MatMul', ['p', 'hs'], ['out']),
  ];
  return model(nodes, [['h', [1, H]]], [['out', [1, H]]], inits, [['', 17]]);
}

/**
 * torch.nn.TransformerEncoderLayer (batch_first, eval) on x [B, L, E], its state_dict as
 * initializers (weights pre-transposed for MatMul):
 *   post-norm: h = LN1(x + SA(x)); out = LN2(h + FF(h))
 *   pre-norm:  h = x + SA(LN1(x)); out = h + FF(LN2(h))
 *   FF(y) = MatMul(y, linear1.weightᵀ) → Add(linear1.bias) → act → MatMul(linear2.weightᵀ) → Add(linear2.bias),
 *   act = Relu, or GELU written as an exporter writes the erf form: y·0.5·(1 + Erf(y / √2)) (Div → Erf → Add → Mul → Mul);
 *   LN = LayerNormalization (opset 17, axis −1, epsilon).
 *   SA, variant 'matmul': plain ops as mhaProjGraph's 'matmul' variant (MatMul + Add per projection →
 *                         Reshape [B, L, H, D] → Transpose to heads (K to [B, H, D, L]) → MatMul → Mul(scale)
 *                         → Softmax → MatMul → Transpose → Reshape [B, L, E] → MatMul + Add out-projection);
 *       variant 'mha':    MatMul per projection → com.microsoft MultiHeadAttention (in_proj_bias [3E]) → out-projection.
 * onnxruntime's optimizer (level 'all') may fuse patterns of this graph (Gelu, SkipLayerNormalization,
 * MatMul + Add); that is what its users get.
 */
export function encoderLayerGraph({ b, l, e, heads, ff, activation = 'relu', normFirst = false, eps = 1e-5, weights, variant = 'matmul' }) {
  const d = e / heads;
  const W = (name) => weights[name].data;
  const inits = [
    initializer('wo_t', transposed(W('self_attn.out_proj.weight'), e, e), [e, e]),
    initializer('bo', W('self_attn.out_proj.bias'), [e]),
    initializer('w1_t', transposed(W('linear1.weight'), ff, e), [e, ff]),
    initializer('b1', W('linear1.bias'), [ff]),
    initializer('w2_t', transposed(W('linear2.weight'), e, ff), [ff, e]),
    initializer('b2', W('linear2.bias'), [e]),
    initializer('ln1_w', W('norm1.weight'), [e]),
    initializer('ln1_b', W('norm1.bias'), [e]),
    initializer('ln2_w', W('norm2.weight'), [e]),
    initializer('ln2_b', W('norm2.bias'), [e]),
  ];
  const nodes = [];
  const Win = W('self_attn.in_proj_weight');
  const bIn = W('self_attn.in_proj_bias');
  const layerNorm = (x, n, y) => nodes.push(node('LayerNormalization', [x, `ln${n}_w`, `ln${n}_b`], [y], { attrs: [intAttr('axis', -1), floatAttr('epsilon', eps)] }));
  // self-attention of `x` (the name of a [B, L, E] value) → `y`
  const selfAttention = (x, y) => {
    if (variant === 'mha') {
      inits.push(initializer('bias_qkv', bIn, [3 * e]));
      ['q', 'k', 'v'].forEach((n, i) => {
        inits.push(initializer(`w${n}_t`, transposed(Win.subarray(i * e * e, (i + 1) * e * e), e, e), [e, e]));
        nodes.push(node('MatMul', [x, `w${n}_t`], [n]));
      });
      nodes.push(node('MultiHeadAttention', ['q', 'k', 'v', 'bias_qkv'], ['attn'], { domain: 'com.microsoft', attrs: [intAttr('num_heads', heads)] }));
    } else {
      inits.push(int64Initializer('split_shape', [b, l, heads, d]), int64Initializer('merge_shape', [b, l, e]), initializer('scale', Float32Array.of(1 / Math.sqrt(d)), []));
      ['q', 'k', 'v'].forEach((n, i) => {
        inits.push(initializer(`w${n}_t`, transposed(Win.subarray(i * e * e, (i + 1) * e * e), e, e), [e, e]), initializer(`b${n}`, bIn.slice(i * e, (i + 1) * e), [e]));
        nodes.push(node('MatMul', [x, `w${n}_t`], [`${n}_mm`]), node('Add', [`${n}_mm`, `b${n}`], [`${n}_p`]), node('Reshape', [`${n}_p`, 'split_shape'], [`${n}_4d`]));
        nodes.push(node('Transpose', [`${n}_4d`], [`${n}_h`], { attrs: [intsAttr('perm', n === 'k' ? [0, 2, 3, 1] : [0, 2, 1, 3])] }));
      });
      nodes.push(node('MatMul', ['q_h', 'k_h'], ['s']), node('Mul', ['s', 'scale'], ['ss']), node('Softmax', ['ss'], ['p'], { attrs: [intAttr('axis', -1)] }), node('MatMul', ['p', 'v_h'], ['ctx']));
      nodes.push(node('Transpose', ['ctx'], ['ctx_t'], { attrs: [intsAttr('perm', [0, 2, 1, 3])] }), node('Reshape', ['ctx_t', 'merge_shape'], ['attn']));
    }
    nodes.push(node('MatMul', ['attn', 'wo_t'], ['o']), node('Add', ['o', 'bo'], [y]));
  };
  const feedForward = (x, y) => {
    nodes.push(node('MatMul', [x, 'w1_t'], ['f1_mm']), node('Add', ['f1_mm', 'b1'], ['f1']));
    if (activation === 'gelu') {
      inits.push(initializer('sqrt2', Float32Array.of(Math.SQRT2), []), initializer('one', Float32Array.of(1), []), initializer('half', Float32Array.of(0.5), []));
      nodes.push(node('Div', ['f1', 'sqrt2'], ['g_div']), node('Erf', ['g_div'], ['g_erf']), node('Add', ['g_erf', 'one'], ['g_add']), node('Mul', ['f1', 'g_add'], ['g_mul']), node('Mul', ['g_mul', 'half'], ['act']));
    } else nodes.push(node('Relu', ['f1'], ['act']));
    nodes.push(node('MatMul', ['act', 'w2_t'], ['f2_mm']), node('Add', ['f2_mm', 'b2'], [y]));
  };
  if (normFirst) {
    layerNorm('x', 1, 'n1');
    selfAttention('n1', 'sa');
    nodes.push(node('Add', ['x', 'sa'], ['h']));
    layerNorm('h', 2, 'n2');
    feedForward('n2', 'ff');
    nodes.push(node('Add', ['h', 'ff'], ['out']));
  } else {
    selfAttention('x', 'sa');
    nodes.push(node('Add', ['x', 'sa'], ['r1']));
    layerNorm('r1', 1, 'h');
    feedForward('h', 'ff');
    nodes.push(node('Add', ['h', 'ff'], ['r2']));
    layerNorm('r2', 2, 'out');
  }
  return model(nodes, [['x', [b, l, e]]], [['out', [b, l, e]]], inits, [['', 17], ['com.microsoft', 1]]);
}

/**
 * One incremental decoding step of torch.nn.TransformerDecoderLayer (post-norm, ReLU), plain ops,
 * the state_dict as initializers (pre-transposed). Inputs x [1, 1, E], past_key [1, H, D, T]
 * (kept transposed, as kvStepGraph's 'matmul' variant), past_value [1, H, T, D]; outputs out
 * [1, 1, E], present_key / present_value (T+1 positions). The memory is bound: its cross-attention
 * keys and values, `memoryKV` { k, v } [S, E] projected once, are initializers (keys [1, H, D, S],
 * values [1, H, S, D]), the closest onnxruntime comes to keeping them resident.
 *   x → SA (MatMul + Add per projection → heads, Concat onto the cache, Mul(scale) → MatMul →
 *   Softmax → MatMul → out-projection) → Add(x) → LN1 → CA (q projection → heads → MatMul with the
 *   memory keys → Softmax → MatMul with the memory values → out-projection) → Add → LN2 →
 *   FF (MatMul + Add → Relu → MatMul + Add) → Add → LN3.
 */
export function decoderStepGraph({ e, heads, ff, s, eps = 1e-5, weights, memoryKV }) {
  const d = e / heads;
  const W = (name) => weights[name].data;
  const inits = [
    int64Initializer('split_shape', [1, 1, heads, d]),
    int64Initializer('merge_shape', [1, 1, e]),
    initializer('scale', Float32Array.of(1 / Math.sqrt(d)), []),
    initializer('w1_t', transposed(W('linear1.weight'), ff, e), [e, ff]),
    initializer('b1', W('linear1.bias'), [ff]),
    initializer('w2_t', transposed(W('linear2.weight'), e, ff), [ff, e]),
    initializer('b2', W('linear2.bias'), [e]),
    initializer('mem_k', splitHeads(memoryKV.k, s, heads, d, true), [1, heads, d, s]),
    initializer('mem_v', splitHeads(memoryKV.v, s, heads, d), [1, heads, s, d]),
  ];
  for (const n of [1, 2, 3]) inits.push(initializer(`ln${n}_w`, W(`norm${n}.weight`), [e]), initializer(`ln${n}_b`, W(`norm${n}.bias`), [e]));
  const nodes = [];
  const layerNorm = (x, n, y) => nodes.push(node('LayerNormalization', [x, `ln${n}_w`, `ln${n}_b`], [y], { attrs: [intAttr('axis', -1), floatAttr('epsilon', eps)] }));
  // x [1, 1, E] → MatMul + Add (rows i·E … (i+1)·E of the module's in-projection) → heads
  const project = (p, x, i, n, perm) => {
    const Win = W(`${p}.in_proj_weight`);
    inits.push(initializer(`${p}_w${n}_t`, transposed(Win.subarray(i * e * e, (i + 1) * e * e), e, e), [e, e]), initializer(`${p}_b${n}`, W(`${p}.in_proj_bias`).slice(i * e, (i + 1) * e), [e]));
    nodes.push(node('MatMul', [x, `${p}_w${n}_t`], [`${p}_${n}_mm`]), node('Add', [`${p}_${n}_mm`, `${p}_b${n}`], [`${p}_${n}_p`]), node('Reshape', [`${p}_${n}_p`, 'split_shape'], [`${p}_${n}_4d`]));
    nodes.push(node('Transpose', [`${p}_${n}_4d`], [`${p}_${n}_h`], { attrs: [intsAttr('perm', perm)] }));
    return `${p}_${n}_h`;
  };
  // softmax(q·scale · K) · V over heads, then the out-projection → y [1, 1, E]
  const attend = (p, q, kT, v, y) => {
    inits.push(initializer(`${p}_wo_t`, transposed(W(`${p}.out_proj.weight`), e, e), [e, e]), initializer(`${p}_bo`, W(`${p}.out_proj.bias`), [e]));
    nodes.push(node('Mul', [q, 'scale'], [`${p}_qs`]), node('MatMul', [`${p}_qs`, kT], [`${p}_s`]), node('Softmax', [`${p}_s`], [`${p}_pr`], { attrs: [intAttr('axis', -1)] }), node('MatMul', [`${p}_pr`, v], [`${p}_ctx`]));
    nodes.push(node('Transpose', [`${p}_ctx`], [`${p}_ctx_t`], { attrs: [intsAttr('perm', [0, 2, 1, 3])] }), node('Reshape', [`${p}_ctx_t`, 'merge_shape'], [`${p}_attn`]));
    nodes.push(node('MatMul', [`${p}_attn`, `${p}_wo_t`], [`${p}_o`]), node('Add', [`${p}_o`, `${p}_bo`], [y]));
  };
  const toHeads = [0, 2, 1, 3];
  const q = project('self_attn', 'x', 0, 'q', toHeads);
  const k = project('self_attn', 'x', 1, 'k', [0, 2, 3, 1]);
  const v = project('self_attn', 'x', 2, 'v', toHeads);
  nodes.push(node('Concat', ['past_key', k], ['present_key'], { attrs: [intAttr('axis', 3)] }), node('Concat', ['past_value', v], ['present_value'], { attrs: [intAttr('axis', 2)] }));
  attend('self_attn', q, 'present_key', 'present_value', 'sa');
  nodes.push(node('Add', ['x', 'sa'], ['r1']));
  layerNorm('r1', 1, 'h1');
  attend('multihead_attn', project('multihead_attn', 'h1', 0, 'q', toHeads), 'mem_k', 'mem_v', 'ca');
  nodes.push(node('Add', ['h1', 'ca'], ['r2']));
  layerNorm('r2', 2, 'h2');
  nodes.push(node('MatMul', ['h2', 'w1_t'], ['f1_mm']), node('Add', ['f1_mm', 'b1'], ['f1']), node('Relu', ['f1'], ['act']), node('MatMul', ['act', 'w2_t'], ['f2_mm']), node('Add', ['f2_mm', 'b2'], ['ff']));
  nodes.push(node('Add', ['h2', 'ff'], ['r3']));
  layerNorm('r3', 3, 'out');
  const x = [1, 1, e];
  return model(
    nodes,
    [['x', x], ['past_key', [1, heads, d, 'past']], ['past_value', [1, heads, 'past', d]]],
    [['out', x], ['present_key', [1, heads, d, 'present']], ['present_value', [1, heads, 'present', d]]],
    inits,
    [['', 17], ['com.microsoft', 1]],
  );
}

/**
 * A Hugging Face BertModel as an exporter writes it (torch.onnx / optimum, before onnxruntime's
 * optimizer), plain ops at opset 17, batch and sequence dimensions symbolic:
 *   inputs input_ids, attention_mask, token_type_ids int64 [batch, sequence]; output
 *   last_hidden_state [batch, sequence, hidden].
 *   embeddings: Gather(word) + Gather(position, Range(0, sequence)) + Gather(token type) →
 *     LayerNormalization;
 *   mask: (1 − Cast(attention_mask)) · float32 min, Unsqueeze to [batch, 1, 1, sequence];
 *   each layer: MatMul + Add per projection → Reshape [0, 0, H, D] → Transpose (K to [B, H, D, L])
 *     → MatMul → Mul(1/√D) → Add(mask) → Softmax → MatMul → Transpose → Reshape [0, 0, E] →
 *     MatMul + Add → Add(residual) → LayerNormalization → MatMul + Add → GELU (Div √2, Erf, Add 1,
 *     Mul x, Mul ½) → MatMul + Add → Add(residual) → LayerNormalization.
 * `weights`: the state dict by name (Float32Arrays), HF's names (embeddings.*, encoder.layer.N.*).
 * onnxruntime's optimizer (level 'all', its default) fuses this into its Attention, SkipLayerNorm and
 * BiasGelu kernels when it runs it; that is what its users get.
 * `dtype` 'q8' | 'q4': the file transformers.js ships as onnx/model_quantized.onnx / model_q4.onnx
 * (onnx-quant.mjs: q8 per output column, 7-bit, as its converter quantizes BERT; the embedding tables
 * uint8 for q8).
 */
export function bertGraph({ layers, hidden: e, heads, ff, eps = 1e-12, weights, dtype = 'f32' }) {
  const d = e / heads;
  const W = (name) => weights[name];
  const table = (name) => [W(name), [W(name).length / e, e]];
  const inits = [
    initializer('emb_ln_w', W('embeddings.LayerNorm.weight'), [e]),
    initializer('emb_ln_b', W('embeddings.LayerNorm.bias'), [e]),
    int64Scalar('i0', 0), int64Scalar('i1', 1),
    int64Initializer('unsq_axes', [1, 2]),
    int64Initializer('split_shape', [0, 0, heads, d]),
    int64Initializer('merge_shape', [0, 0, e]),
    initializer('one', Float32Array.of(1), []),
    initializer('half', Float32Array.of(0.5), []),
    initializer('sqrt2', Float32Array.of(Math.SQRT2), []),
    initializer('fmin', Float32Array.of(-3.4028234663852886e38), []),
    initializer('scale', Float32Array.of(1 / Math.sqrt(d)), []),
  ];
  const ln = (x, w, b, y) => node('LayerNormalization', [x, w, b], [y], { attrs: [intAttr('axis', -1), floatAttr('epsilon', eps)] });
  const nodes = [];
  const linear = linearOps(dtype, nodes, inits, { perChannel: true, reduceRange: true });
  const gather = gatherOps(dtype, nodes, inits);
  gather('word', ...table('embeddings.word_embeddings.weight'), 'input_ids', 'we');
  nodes.push(node('Shape', ['input_ids'], ['ids_shape']), node('Gather', ['ids_shape', 'i1'], ['seq_len'], { attrs: [intAttr('axis', 0)] }), node('Range', ['i0', 'seq_len', 'i1'], ['position_ids']));
  gather('position', ...table('embeddings.position_embeddings.weight'), 'position_ids', 'pe');
  gather('token_type', ...table('embeddings.token_type_embeddings.weight'), 'token_type_ids', 'te');
  nodes.push(
    node('Add', ['we', 'pe'], ['wpe']),
    node('Add', ['wpe', 'te'], ['emb']),
    ln('emb', 'emb_ln_w', 'emb_ln_b', 'h0'),
    node('Cast', ['attention_mask'], ['mask_f'], { attrs: [intAttr('to', FLOAT)] }),
    node('Unsqueeze', ['mask_f', 'unsq_axes'], ['mask_4d']),
    node('Sub', ['one', 'mask_4d'], ['mask_inv']),
    node('Mul', ['mask_inv', 'fmin'], ['mask_add']),
  );
  let h = 'h0';
  for (let i = 0; i < layers; i++) {
    const p = `encoder.layer.${i}.`;
    const n = (s) => `l${i}_${s}`;
    // x · Wᵀ + b of the Linear `wName` [rows, cols]
    const apply = (x, name, wName, rows, cols, y) => {
      linear(x, n(`${name}_wt`), W(`${p}${wName}.weight`), rows, cols, n(`${name}_mm`));
      inits.push(initializer(n(`${name}_b`), W(`${p}${wName}.bias`), [rows]));
      nodes.push(node('Add', [n(`${name}_mm`), n(`${name}_b`)], [y]));
    };
    for (const m of ['query', 'key', 'value']) {
      apply(h, m, `attention.self.${m}`, e, e, n(`${m}_p`));
      nodes.push(node('Reshape', [n(`${m}_p`), 'split_shape'], [n(`${m}_4d`)]), node('Transpose', [n(`${m}_4d`)], [n(`${m}_h`)], { attrs: [intsAttr('perm', m === 'key' ? [0, 2, 3, 1] : [0, 2, 1, 3])] }));
    }
    inits.push(
      initializer(n('ln1_w'), W(`${p}attention.output.LayerNorm.weight`), [e]), initializer(n('ln1_b'), W(`${p}attention.output.LayerNorm.bias`), [e]),
      initializer(n('ln2_w'), W(`${p}output.LayerNorm.weight`), [e]), initializer(n('ln2_b'), W(`${p}output.LayerNorm.bias`), [e]),
    );
    nodes.push(
      node('MatMul', [n('query_h'), n('key_h')], [n('s')]), node('Mul', [n('s'), 'scale'], [n('ss')]), node('Add', [n('ss'), 'mask_add'], [n('sm')]),
      node('Softmax', [n('sm')], [n('p')], { attrs: [intAttr('axis', -1)] }), node('MatMul', [n('p'), n('value_h')], [n('ctx')]),
      node('Transpose', [n('ctx')], [n('ctx_t')], { attrs: [intsAttr('perm', [0, 2, 1, 3])] }), node('Reshape', [n('ctx_t'), 'merge_shape'], [n('attn')]),
    );
    apply(n('attn'), 'attn_out', 'attention.output.dense', e, e, n('o'));
    nodes.push(node('Add', [n('o'), h], [n('r1')]), ln(n('r1'), n('ln1_w'), n('ln1_b'), n('h1')));
    apply(n('h1'), 'ff_in', 'intermediate.dense', ff, e, n('f1'));
    nodes.push(node('Div', [n('f1'), 'sqrt2'], [n('g_div')]), node('Erf', [n('g_div')], [n('g_erf')]), node('Add', [n('g_erf'), 'one'], [n('g_add')]), node('Mul', [n('f1'), n('g_add')], [n('g_mul')]), node('Mul', [n('g_mul'), 'half'], [n('act')]));
    apply(n('act'), 'ff_out', 'output.dense', e, ff, n('f2'));
    const out = i === layers - 1 ? 'last_hidden_state' : n('out');
    nodes.push(node('Add', [n('f2'), n('h1')], [n('r2')]), ln(n('r2'), n('ln2_w'), n('ln2_b'), out));
    h = out;
  }
  const INT64 = 7;
  const dims = ['batch_size', 'sequence_length'];
  return model(nodes, [['input_ids', dims, INT64], ['attention_mask', dims, INT64], ['token_type_ids', dims, INT64]], [['last_hidden_state', [...dims, e]]], inits, [['', 17], ...(dtype === 'q4' ? [['com.microsoft', 1]] : [])]);
}
