// TensorFlow.js, wasm backend (XNNPACK inside), one thread, written the fastest way it allows:
// its batched matMul with a transposed operand falls back to a scalar loop, so every head is a
// 2-D matMul with K transposed explicitly (`tf.transpose` is a fast kernel), the scale is applied
// to q (Lq·D multiplies instead of Lq·Lk), and the causal mask is a resident additive matrix.
// Inputs are split per head once, outside the timed call; the output is read back with dataSync.
// Multi-head attention with projections (nn.MultiheadAttention): the weights are resident tensors,
// pre-transposed once (Wᵀ [E, 3E], W_oᵀ [E, E]); per call one in-projection matMul + bias, split into
// heads, the same per-head 2-D matMuls, concat, out-projection matMul + bias.
import { Unsupported } from '../errors.mjs';
import { causalMask, transposed } from './onnx-graph.mjs';

export async function tfjsContender(require) {
  const tf = require('@tensorflow/tfjs-core');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  wasm.setThreadsCount?.(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  await tf.ready();
  function prepareProj(w, inp) {
    const { e, heads, l } = w.shape;
    const d = e / heads;
    const scale = 1 / Math.sqrt(d);
    const W = inp.config.weights;
    const kept = [];
    const keep = (t) => (kept.push(t), t);
    const x = keep(tf.tensor2d(inp.x.data, [l, e]));
    const wInT = keep(tf.tensor2d(transposed(W.in_proj_weight.data, 3 * e, e), [e, 3 * e]));
    const bIn = keep(tf.tensor1d(W.in_proj_bias.data));
    const wOutT = keep(tf.tensor2d(transposed(W['out_proj.weight'].data, e, e), [e, e]));
    const bOut = keep(tf.tensor1d(W['out_proj.bias'].data));
    const run = () => {
      const o = tf.tidy(() => {
        const parts = tf.split(tf.add(tf.matMul(x, wInT), bIn), 3 * heads, 1); // q heads, k heads, v heads: [L, D] each
        const ctx = [];
        for (let h = 0; h < heads; h++) {
          const s = tf.matMul(tf.mul(parts[h], scale), tf.transpose(parts[heads + h]));
          ctx.push(tf.matMul(tf.softmax(s), parts[2 * heads + h]));
        }
        return tf.add(tf.matMul(tf.concat(ctx, 1), wOutT), bOut);
      });
      const out = o.dataSync();
      o.dispose();
      return out;
    };
    return { run, result: run, dispose: () => kept.forEach((t) => t.dispose()) };
  }
  return {
    id: 'tfjs-wasm',
    label: 'tfjs-wasm',
    group: 'peer',
    threads: 1,
    status: 'ok',
    version: `@tensorflow/tfjs-core ${tf.version_core}, tfjs-backend-wasm ${wasm.version_wasm}`,
    memory: () => ({ wasmBytes: tf.backend().wasm?.HEAPU8?.length, tensorBytes: tf.memory().numBytes }),
    async prepare(w, inp) {
      if (w.kind === 'mha') return prepareProj(w, inp);
      if (w.kind !== 'sdpa') throw new Unsupported(`no tfjs adapter for ${w.kind}`);
      const { b, h, lq, lk, d, scale, causal } = w.shape;
      const kept = [];
      const keep = (t) => (kept.push(t), t);
      const heads = [];
      for (let bh = 0; bh < b * h; bh++) {
        const q = keep(tf.tensor2d(inp.q.data.subarray(bh * lq * d, (bh + 1) * lq * d), [lq, d]));
        const k = keep(tf.tensor2d(inp.k.data.subarray(bh * lk * d, (bh + 1) * lk * d), [lk, d]));
        const v = keep(tf.tensor2d(inp.v.data.subarray(bh * lk * d, (bh + 1) * lk * d), [lk, d]));
        // Resident encoder states (a decoder step): Kᵀ made once.
        const kt = w.resident === 'kv' ? keep(tf.transpose(k)) : null;
        heads.push({ q, k, v, kt });
      }
      const mask = causal ? keep(tf.tensor2d(causalMask(lq, lk), [lq, lk])) : null;
      const out = new Float32Array(b * h * lq * d);
      const run = () => {
        heads.forEach((t, i) => {
          const o = tf.tidy(() => {
            const s = tf.matMul(scale === 1 ? t.q : tf.mul(t.q, scale), t.kt ?? tf.transpose(t.k));
            return tf.matMul(tf.softmax(mask ? tf.add(s, mask) : s), t.v);
          });
          out.set(o.dataSync(), i * lq * d);
          o.dispose();
        });
        return out;
      };
      return { run, result: run, dispose: () => kept.forEach((t) => t.dispose()) };
    },
  };
}
