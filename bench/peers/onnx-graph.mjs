// ONNX models for the attention workloads, written by hand as protobuf bytes (the format is a
// handful of nested messages; no protobuf library needed). Field numbers are from onnx.proto.
//
//   sdpaGraph: Transpose(K) → MatMul(Q, Kᵀ) → Mul(scale) [→ Add(causal mask)] → Softmax → MatMul(·, V),
//              the graph an exporter writes for softmax(Q·Kᵀ·scale)·V; Q, K, V [B, H, L, D].
//   mhaGraph:  the com.microsoft MultiHeadAttention op (onnxruntime's fused attention) on
//              query, key, value [B, L, H·D] (heads interleaved in the rows, as a model produces them).
//   mhaProjGraph: torch.nn.MultiheadAttention with its projections (weights as initializers), as
//              plain ops or around the fused Attention / MultiHeadAttention ops.
// Inputs that are resident for the workload (the encoder states of a decoder step) may be baked in
// as initializers, the closest onnxruntime comes to keeping them resident.

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
const intAttr = (name, n) => msg(5, [str(1, name), int(3, n), int(20, ATTR.INT)]);
const intsAttr = (name, ns) => msg(5, [str(1, name), ...ns.map((n) => int(8, n)), int(20, ATTR.INTS)]);
const floatAttr = (name, x) => msg(5, [str(1, name), float(2, x), int(20, ATTR.FLOAT)]);
function node(op, inputs, outputs, { domain = '', attrs = [] } = {}) {
  return msg(1, [...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_${outputs[0]}`), str(4, op), ...attrs, ...(domain ? [str(7, domain)] : [])]);
}
function valueInfo(field, name, shape) {
  const dims = shape.map((d) => msg(1, [int(1, d)]));
  return msg(field, [str(1, name), msg(2, [msg(1, [int(1, FLOAT), msg(2, dims)])])]);
}
function initializer(name, data, shape) {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return msg(5, [...shape.map((d) => int(1, d)), int(2, FLOAT), str(8, name), bytes(9, raw)]);
}
function int64Initializer(name, values) {
  const data = BigInt64Array.from(values.map(BigInt));
  return msg(5, [int(1, values.length), int(2, 7 /* INT64 */), str(8, name), bytes(9, new Uint8Array(data.buffer))]);
}
function model(nodes, inputs, outputs, inits, opsets) {
  const graph = msg(7, [...nodes, str(2, 'attention'), ...inits, ...inputs.map(([n, s]) => valueInfo(11, n, s)), ...outputs.map(([n, s]) => valueInfo(12, n, s))]);
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
 * softmax(Q·Kᵀ·scale [+ causal mask])·V as plain ONNX ops. Shapes [B, H, Lq, D] etc.
 * `resident`: { k, v } Float32Arrays baked in as initializers instead of graph inputs.
 */
export function sdpaGraph({ b, h, lq, lk, d, scale, causal = false, resident }) {
  const q = [b, h, lq, d];
  const kv = [b, h, lk, d];
  const inits = [initializer('scale', Float32Array.of(scale), [])];
  const inputs = [['q', q]];
  if (resident) inits.push(initializer('k', resident.k, kv), initializer('v', resident.v, kv));
  else inputs.push(['k', kv], ['v', kv]);
  const nodes = [node('Transpose', ['k'], ['kt'], { attrs: [intsAttr('perm', [0, 1, 3, 2])] }), node('MatMul', ['q', 'kt'], ['s']), node('Mul', ['s', 'scale'], ['ss'])];
  let logits = 'ss';
  if (causal) {
    inits.push(initializer('mask', causalMask(lq, lk), [lq, lk]));
    nodes.push(node('Add', ['ss', 'mask'], ['sm']));
    logits = 'sm';
  }
  nodes.push(node('Softmax', [logits], ['p'], { attrs: [intAttr('axis', -1)] }), node('MatMul', ['p', 'v'], ['out']));
  return model(nodes, inputs, [['out', q]], inits, [['', 17]]);
}

/** com.microsoft MultiHeadAttention on query [B, Lq, H·D], key / value [B, Lk, H·D] → [B, Lq, H·D]. */
export function mhaGraph({ b, h, lq, lk, d, scale, causal = false, resident }) {
  const e = h * d;
  const inputs = [['query', [b, lq, e]]];
  const inits = [];
  if (resident) inits.push(initializer('key', resident.k, [b, lk, e]), initializer('value', resident.v, [b, lk, e]));
  else inputs.push(['key', [b, lk, e]], ['value', [b, lk, e]]);
  const attrs = [intAttr('num_heads', h), floatAttr('scale', scale)];
  if (causal) attrs.push(intAttr('unidirectional', 1));
  const nodes = [node('MultiHeadAttention', ['query', 'key', 'value'], ['out'], { domain: 'com.microsoft', attrs })];
  return model(nodes, inputs, [['out', [b, lq, e]]], inits, [['', 17], ['com.microsoft', 1]]);
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
