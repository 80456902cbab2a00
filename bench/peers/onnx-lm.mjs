// A Llama decoder as an ONNX graph with a KV cache, written by hand (onnx-graph.mjs's protobuf
// writer) the way torch.onnx writes Hugging Face's modeling_llama.py for transformers.js: plain ops
// (RMSNorm as Pow → ReduceMean → Add → Sqrt → Div → Mul, rotate-half RoPE from cos / sin inputs,
// grouped-query attention without repeating K / V, SiLU as x·Sigmoid(x)), the KV cache as
// past_key_values.N.key / .value inputs and present.N.key / .value outputs [1, kv heads, positions,
// head dim] (optimum's names), the logits of the last position only. Weights are float32
// initializers; the tied head is a Gemm with transB on the embedding table (one copy).
// dtype 'q8' | 'q4': the files transformers.js ships as onnx/model_quantized.onnx / model_q4.onnx
// (onnx-quant.mjs; q8 per tensor and full-range, as its converter quantizes llama / qwen2). There the
// head is the MatMul an export of a tied lm_head has (x · embedᵀ), quantized like the other matrices:
// q8 an int8 copy of the table beside the uint8 one the Gather reads, q4 MatMulNBits on the table
// while the Gather reads it as float32.
import { initializer, int64Initializer, intAttr, intsAttr, model, node } from './onnx-graph.mjs';
import { gatherOps, linearOps } from './onnx-quant.mjs';

const INT64 = 7;

/** config: Hugging Face config.json fields (llama, no biases); weight(name) → Float32Array in HF layout. */
export function llamaOnnx(c, weight, { dtype = 'f32' } = {}) {
  const e = c.hidden_size, h = c.num_attention_heads, kv = c.num_key_value_heads, d = e / h, g = h / kv, ff = c.intermediate_size, V = c.vocab_size;
  const nodes = [];
  const inits = [
    initializer('eps', Float32Array.of(c.rms_norm_eps), []),
    initializer('two', Float32Array.of(2), []),
    initializer('scale', Float32Array.of(1 / Math.sqrt(d)), []),
    int64Initializer('q_shape', [0, 0, h, d]),
    int64Initializer('kv_shape', [0, 0, kv, d]),
    int64Initializer('grouped', [1, kv, -1, d]),
    int64Initializer('heads', [1, h, -1, d]),
    int64Initializer('merge', [0, 0, e]),
    int64Initializer('row', [1, e]),
    int64Initializer('zero', [0]), int64Initializer('half', [d / 2]), int64Initializer('full', [d]), int64Initializer('axis3', [3]),
    int64Initializer('minus1', [-1]), int64Initializer('big', [2 ** 31]), int64Initializer('axis1', [1]),
  ];
  const rms = (x, w, out) => {
    nodes.push(
      node('Pow', [x, 'two'], [`${out}_sq`]),
      node('ReduceMean', [`${out}_sq`], [`${out}_ms`], { attrs: [intsAttr('axes', [-1]), intAttr('keepdims', 1)] }),
      node('Add', [`${out}_ms`, 'eps'], [`${out}_mse`]),
      node('Sqrt', [`${out}_mse`], [`${out}_rms`]),
      node('Div', [x, `${out}_rms`], [`${out}_n`]),
      node('Mul', [`${out}_n`, w], [out]),
    );
  };
  const rope = (x, out) => {
    nodes.push(
      node('Slice', [x, 'zero', 'half', 'axis3'], [`${out}_1`]),
      node('Slice', [x, 'half', 'full', 'axis3'], [`${out}_2`]),
      node('Neg', [`${out}_2`], [`${out}_n2`]),
      node('Concat', [`${out}_n2`, `${out}_1`], [`${out}_rot`], { attrs: [intAttr('axis', 3)] }),
      node('Mul', [x, 'cos'], [`${out}_c`]),
      node('Mul', [`${out}_rot`, 'sin'], [`${out}_s`]),
      node('Add', [`${out}_c`, `${out}_s`], [out]),
    );
  };
  const linear = linearOps(dtype, nodes, inits, { perChannel: false, reduceRange: false });
  gatherOps(dtype, nodes, inits)('embed', weight('model.embed_tokens.weight'), [V, e], 'input_ids', 'h_0');
  const inputs = [['input_ids', [1, 'L'], INT64], ['cos', ['L', d]], ['sin', ['L', d]], ['mask', ['GL', 'T']]];
  const outputs = [['logits', [1, V]]];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`, hi = `h_${i}`, l = `l${i}`;
    // x · Wᵀ for the Linear `name` [rows, cols] → y
    const mm = (x, name, rows, cols, y) => linear(x, `${l}_${name}`, weight(`${p}.${name}.weight`), rows, cols, y);
    inits.push(initializer(`${l}_in_norm`, weight(`${p}.input_layernorm.weight`), [e]), initializer(`${l}_post_norm`, weight(`${p}.post_attention_layernorm.weight`), [e]));
    rms(hi, `${l}_in_norm`, `${l}_x`);
    mm(`${l}_x`, 'self_attn.q_proj', h * d, e, `${l}_q`);
    mm(`${l}_x`, 'self_attn.k_proj', kv * d, e, `${l}_k`);
    mm(`${l}_x`, 'self_attn.v_proj', kv * d, e, `${l}_v`);
    nodes.push(
      node('Reshape', [`${l}_q`, 'q_shape'], [`${l}_q4`]), node('Transpose', [`${l}_q4`], [`${l}_qh`], { attrs: [intsAttr('perm', [0, 2, 1, 3])] }),
      node('Reshape', [`${l}_k`, 'kv_shape'], [`${l}_k4`]), node('Transpose', [`${l}_k4`], [`${l}_kh`], { attrs: [intsAttr('perm', [0, 2, 1, 3])] }),
      node('Reshape', [`${l}_v`, 'kv_shape'], [`${l}_v4`]), node('Transpose', [`${l}_v4`], [`${l}_vh`], { attrs: [intsAttr('perm', [0, 2, 1, 3])] }),
    );
    rope(`${l}_qh`, `${l}_qr`);
    rope(`${l}_kh`, `${l}_kr`);
    nodes.push(
      node('Concat', [`past_key_values.${i}.key`, `${l}_kr`], [`present.${i}.key`], { attrs: [intAttr('axis', 2)] }),
      node('Concat', [`past_key_values.${i}.value`, `${l}_vh`], [`present.${i}.value`], { attrs: [intAttr('axis', 2)] }),
      // grouped: q [1, H, L, D] = [1, kv, g·L, D] against K [1, kv, T, D]; the mask comes as [g·L, T]
      node('Reshape', [`${l}_qr`, 'grouped'], [`${l}_qg`]),
      node('Mul', [`${l}_qg`, 'scale'], [`${l}_qs`]),
      node('Transpose', [`present.${i}.key`], [`${l}_kt`], { attrs: [intsAttr('perm', [0, 1, 3, 2])] }),
      node('MatMul', [`${l}_qs`, `${l}_kt`], [`${l}_scores`]),
      node('Add', [`${l}_scores`, 'mask'], [`${l}_masked`]),
      node('Softmax', [`${l}_masked`], [`${l}_probs`], { attrs: [intAttr('axis', -1)] }),
      node('MatMul', [`${l}_probs`, `present.${i}.value`], [`${l}_ctx`]),
      node('Reshape', [`${l}_ctx`, 'heads'], [`${l}_ctxh`]),
      node('Transpose', [`${l}_ctxh`], [`${l}_ctxt`], { attrs: [intsAttr('perm', [0, 2, 1, 3])] }),
      node('Reshape', [`${l}_ctxt`, 'merge'], [`${l}_attn`]),
    );
    mm(`${l}_attn`, 'self_attn.o_proj', e, h * d, `${l}_o`);
    nodes.push(node('Add', [hi, `${l}_o`], [`${l}_h1`]));
    rms(`${l}_h1`, `${l}_post_norm`, `${l}_y`);
    mm(`${l}_y`, 'mlp.gate_proj', ff, e, `${l}_gate`);
    mm(`${l}_y`, 'mlp.up_proj', ff, e, `${l}_up`);
    nodes.push(node('Sigmoid', [`${l}_gate`], [`${l}_sig`]), node('Mul', [`${l}_gate`, `${l}_sig`], [`${l}_silu`]), node('Mul', [`${l}_silu`, `${l}_up`], [`${l}_m`]));
    mm(`${l}_m`, 'mlp.down_proj', e, ff, `${l}_down`);
    nodes.push(node('Add', [`${l}_h1`, `${l}_down`], [`h_${i + 1}`]));
    inputs.push([`past_key_values.${i}.key`, [1, kv, 'P', d]], [`past_key_values.${i}.value`, [1, kv, 'P', d]]);
    outputs.push([`present.${i}.key`, [1, kv, 'T', d]], [`present.${i}.value`, [1, kv, 'T', d]]);
  }
  inits.push(initializer('final_norm', weight('model.norm.weight'), [e]));
  nodes.push(node('Slice', [`h_${c.num_hidden_layers}`, 'minus1', 'big', 'axis1'], ['h_last']));
  rms('h_last', 'final_norm', 'h_final');
  nodes.push(node('Reshape', ['h_final', 'row'], ['h_row']));
  if (dtype === 'f32') nodes.push(node('Gemm', ['h_row', 'embed'], ['logits'], { attrs: [intAttr('transB', 1)] }));
  else linear('h_row', 'lm_head', weight('model.embed_tokens.weight'), V, e, 'logits');
  return model(nodes, inputs, outputs, inits, [['', 17], ...(dtype === 'q4' ? [['com.microsoft', 1]] : [])]);
}

/** cos / sin [L, D] (rotate-half layout) for positions start … start + L − 1 and the additive causal mask [g·L, start + L]. */
export function llamaFeeds(c, start, length) {
  const d = c.hidden_size / c.num_attention_heads, g = c.num_attention_heads / c.num_key_value_heads;
  const cos = new Float32Array(length * d), sin = new Float32Array(length * d);
  for (let t = 0; t < length; t++)
    for (let i = 0; i < d / 2; i++) {
      const inv = 1 / c.rope_theta ** ((2 * i) / d);
      const a = (start + t) * inv;
      cos[t * d + i] = cos[t * d + i + d / 2] = Math.cos(a);
      sin[t * d + i] = sin[t * d + i + d / 2] = Math.sin(a);
    }
  const T = start + length;
  const mask = new Float32Array(g * length * T);
  for (let r = 0; r < g; r++) for (let t = 0; t < length; t++) for (let j = start + t + 1; j < T; j++) mask[(r * length + t) * T + j] = -Infinity;
  return { cos, sin, mask, d };
}
