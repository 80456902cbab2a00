// TensorFlow.js, wasm backend (XNNPACK inside), one thread, written the fastest way it allows:
// its batched matMul with a transposed operand falls back to a scalar loop, so every head is a
// 2-D matMul with K transposed explicitly (`tf.transpose` is a fast kernel), the scale is applied
// to q (Lq·D multiplies instead of Lq·Lk), and the causal mask is a resident additive matrix.
// Inputs are split per head once, outside the timed call; the output is read back with dataSync.
// The attention variants: an explicit bias [Lq, Lk] per head (../variants.mjs), a resident tensor
// added to the scores; grouped-query heads read their kv head's tensors; a decode step over
// resident keys with several heads (V6) is one 2-D matMul per kv head (prepareGroupedDecode).
// Multi-head attention with projections (nn.MultiheadAttention): the weights are resident tensors,
// pre-transposed once (Wᵀ [E, 3E], W_oᵀ [E, E]); per call one in-projection matMul + bias, split into
// heads, the same per-head 2-D matMuls, concat, out-projection matMul + bias.
// Decode step with a KV cache: the same resident weights; the cache is Kᵀ [H, D, T] and V [H, T, D]
// (K kept transposed so the scores are a batched matMul with no transposed operand; batching the
// heads ran 2× faster than per-head 2-D matMuls here, which are dominated by per-op overhead at
// one query row).
// Filled untimed (the first T−1 positions projected in JS, position T by a tfjs step like the timed
// one, whose grown tensors become the cache). Timed: one step of token T+1 over the T cached
// positions: in-projection of the token, the concat of the new column / row onto the
// cache (tfjs tensors are immutable, so the cache is copied into a grown tensor every step, what
// a tfjs decode loop pays), q·scale, batched matMuls, softmax, out-projection, and
// the dataSync read-back. The grown tensors are dropped each call (the same token is re-decoded).
// Bahdanau decoder step: the bound encoder side is resident, keys = hs·Uaᵀ + b [S, H] computed once
// by tfjs at prepare and hs [S, H]; Waᵀ [H, H], Vaᵀ [H, 1] and the decoder state h [1, H] are
// tensors too. Timed: matMul(h, Waᵀ) + b, add keys, tanh, matMul Vaᵀ + b, reshape [1, S], softmax,
// matMul with hs, dataSync. tfjs-wasm's tanh is a scalar loop (~2.5 ms for the S·H = 131k values
// here, 4× its XNNPACK sigmoid), so tanh(z) = 2σ(2z) − 1 is used with the factors folded into the
// resident tensors: Va·tanh(z) + vb = (2Va)·σ(2·keys + 2·(Wa·h + b)) + (vb − ΣVa). Exact algebra;
// BAHDANAU_TANH=1 in the environment times the literal tanh form instead.
// Transformer encoder layers (T…): composed from ops, see prepareEncoder.
import { Unsupported } from '../errors.mjs';
import { biasDescription, biasSlice, explicitBias, hasVariant } from '../variants.mjs';
import { causalMask, projectKV, splitHeads, transposed } from './onnx-graph.mjs';

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
  function prepareStep(w, inp) {
    const { e, heads, t } = w.shape;
    const d = e / heads;
    const scale = 1 / Math.sqrt(d);
    const W = inp.config.weights;
    const kept = [];
    const keep = (t) => (kept.push(t), t);
    const wInT = keep(tf.tensor2d(transposed(W.in_proj_weight.data, 3 * e, e), [e, 3 * e]));
    const bIn = keep(tf.tensor1d(W.in_proj_bias.data));
    const wOutT = keep(tf.tensor2d(transposed(W['out_proj.weight'].data, e, e), [e, e]));
    const bOut = keep(tf.tensor1d(W['out_proj.bias'].data));
    const token = (i) => keep(tf.tensor2d(inp.x.data.slice(i * e, (i + 1) * e), [1, e]));
    // One step: returns the output [1, E] and the grown cache (callers keep or drop it). The heads
    // are batched: a row [1, E] is [H, 1, D] as it stands, so q, the new key column and value row
    // need no copies; cache Kᵀ [H, D, T], V [H, T, D]; batched matMuls without a transposed operand.
    const step = (x, cache) => {
      const [q, k, v] = tf.split(tf.add(tf.matMul(x, wInT), bIn), 3, 1); // [1, E] each
      const kt = tf.concat([cache.kt, tf.reshape(k, [heads, d, 1])], 2);
      const vv = tf.concat([cache.v, tf.reshape(v, [heads, 1, d])], 1);
      const ctx = tf.matMul(tf.softmax(tf.matMul(tf.reshape(tf.mul(q, scale), [heads, 1, d]), kt)), vv); // [H, 1, D]
      return { out: tf.add(tf.matMul(tf.reshape(ctx, [1, e]), wOutT), bOut), grown: { kt, v: vv } };
    };
    const prefill = t - 1;
    const { k, v } = projectKV(W, inp.x.data, e, prefill);
    const start = { kt: tf.tensor3d(splitHeads(k, prefill, heads, d, true), [heads, d, prefill]), v: tf.tensor3d(splitHeads(v, prefill, heads, d), [heads, prefill, d]) };
    const x0 = token(prefill);
    const first = tf.tidy(() => step(x0, start));
    first.out.dispose();
    tf.dispose([start.kt, start.v]);
    const cache = first.grown;
    keep(cache.kt), keep(cache.v);
    const x = token(t);
    const run = () => {
      const o = tf.tidy(() => step(x, cache).out);
      const out = o.dataSync();
      o.dispose();
      return out;
    };
    return { run, result: run, dispose: () => kept.forEach((t) => t.dispose()) };
  }
  function prepareBahdanau(w, inp) {
    const { s, hid: H } = w.shape;
    const W = inp.weights;
    const kept = [];
    const keep = (t) => (kept.push(t), t);
    const literal = process.env.BAHDANAU_TANH === '1';
    const f = literal ? 1 : 2; // the folded factor of the sigmoid form
    const vaSum = W['Va.weight'].data.reduce((a, b) => a + b, 0);
    const hs = keep(tf.tensor2d(inp.hs.data, [s, H]));
    const keys = keep(tf.tidy(() => tf.mul(tf.add(tf.matMul(hs, tf.tensor2d(transposed(W['Ua.weight'].data, H, H), [H, H])), tf.tensor1d(W['Ua.bias'].data)), f)));
    const waT = keep(tf.tensor2d(transposed(W['Wa.weight'].data, H, H).map((x) => f * x), [H, H]));
    const ba = keep(tf.tensor1d(W['Wa.bias'].data.map((x) => f * x)));
    const vaT = keep(tf.tensor2d(W['Va.weight'].data.map((x) => f * x), [H, 1]));
    const vb = keep(tf.tensor1d([literal ? W['Va.bias'].data[0] : W['Va.bias'].data[0] - vaSum]));
    const h = keep(tf.tensor2d(inp.h.data, [1, H]));
    const run = () => {
      const o = tf.tidy(() => {
        const z = tf.add(keys, tf.add(tf.matMul(h, waT), ba));
        const e = literal ? tf.tanh(z) : tf.sigmoid(z);
        return tf.matMul(tf.softmax(tf.reshape(tf.add(tf.matMul(e, vaT), vb), [1, s])), hs);
      });
      const out = o.dataSync();
      o.dispose();
      return out;
    };
    return { run, result: run, dispose: () => kept.forEach((t) => t.dispose()) };
  }
  // torch.nn.TransformerEncoderLayer composed from ops, the state_dict resident and pre-transposed:
  // linear1 Wᵀ [E, F], linear2 Wᵀ [F, E], the norms' weights and biases, and the attention's
  // weights per head (W_q,h ᵀ, W_k,h ᵀ, W_v,h ᵀ [E, D] with their biases, W_o's rows of head h [D, E]).
  // src resident as rows [B·L, E]. Per call: the self-attention per (batch, head) as 2-D ops, q·scale
  // → matMul with Kᵀ (tf.transpose) → softmax → matMul with V, each head's context through its rows
  // of W_o, the heads summed with tf.addN, + out_proj.bias; the linear layers as tf.fused.matMul with
  // the bias (ReLU fused into linear1's), GELU as x·0.5·(1 + tf.erf(x/√2)) (the wasm backend has an
  // Erf kernel; the fused matMul has no GELU); LayerNorm from tf.moments ((x − mean)·rsqrt(variance + eps)·weight + bias); the residual adds; then dataSync.
  // Per-head weights because slicing a tensor in this backend (tf.split, tf.slice, tf.unstack) copies
  // the whole input out of the Wasm heap once per slice: one in-projection matMul split into 3·H
  // heads (prepareProj's form) took 4× the time of the whole attention written this way (112 ms vs
  // 26–30 ms at E 512, 8 heads, L 256 on the 2-core EPYC), and tfjs-wasm's batched matMul runs 3–7×
  // slower than the per-head 2-D ones. Summing the heads through W_o's rows measured 25.5 ms against
  // 29.5 ms for tf.concat then one out-projection matMul. The fused matMul measured as fast or
  // faster than matMul + add (+ relu) in alternating runs (T1 73–105 vs 75–107 ms, T2 10–15 vs
  // 11–19 ms, a loaded 2-core machine); TFJS_ENCODER_FUSED=0 in the environment times matMul + add.
  function prepareEncoder(w, inp) {
    const { b, l, e, heads, ff, activation, normFirst, eps } = w.shape;
    const d = e / heads;
    const scale = 1 / Math.sqrt(d);
    const W = (name) => inp.config.weights[name].data;
    const fused = process.env.TFJS_ENCODER_FUSED !== '0';
    const kept = [];
    const keep = (t) => (kept.push(t), t);
    const x = keep(tf.tensor2d(inp.x.data, [b * l, e]));
    const wIn = W('self_attn.in_proj_weight'); // [3E, E]: rows of q, k, v, each head's D rows consecutive
    const bIn = W('self_attn.in_proj_bias');
    const wOutT = transposed(W('self_attn.out_proj.weight'), e, e); // [E_in, E_out]: head h's rows h·D … (h+1)·D
    const perHead = [];
    for (let h = 0; h < heads; h++) {
      const proj = (i) => {
        const r0 = i * e + h * d;
        return { w: keep(tf.tensor2d(transposed(wIn.subarray(r0 * e, (r0 + d) * e), d, e), [e, d])), b: keep(tf.tensor1d(bIn.slice(r0, r0 + d))) };
      };
      perHead.push({ q: proj(0), k: proj(1), v: proj(2), o: keep(tf.tensor2d(wOutT.subarray(h * d * e, (h + 1) * d * e), [d, e])) });
    }
    const bOut = keep(tf.tensor1d(W('self_attn.out_proj.bias')));
    const w1T = keep(tf.tensor2d(transposed(W('linear1.weight'), ff, e), [e, ff]));
    const b1 = keep(tf.tensor1d(W('linear1.bias')));
    const w2T = keep(tf.tensor2d(transposed(W('linear2.weight'), e, ff), [ff, e]));
    const b2 = keep(tf.tensor1d(W('linear2.bias')));
    const norms = [1, 2].map((n) => ({ weight: keep(tf.tensor1d(W(`norm${n}.weight`))), bias: keep(tf.tensor1d(W(`norm${n}.bias`))) }));
    const linear = (y, wT, bias, act) => (fused ? tf.fused.matMul({ a: y, b: wT, bias, activation: act ?? 'linear' }) : act === 'relu' ? tf.relu(tf.add(tf.matMul(y, wT), bias)) : tf.add(tf.matMul(y, wT), bias));
    const layerNorm = (y, n) => {
      const { mean, variance } = tf.moments(y, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(y, mean), tf.rsqrt(tf.add(variance, eps))), norms[n - 1].weight), norms[n - 1].bias);
    };
    // rows [L, E] of one sequence → its self-attention output [L, E]
    const attendOne = (y) =>
      tf.add(
        tf.addN(
          perHead.map((p) => {
            const q = linear(y, p.q.w, p.q.b);
            const k = linear(y, p.k.w, p.k.b);
            const v = linear(y, p.v.w, p.v.b);
            return tf.matMul(tf.matMul(tf.softmax(tf.matMul(tf.mul(q, scale), tf.transpose(k))), v), p.o);
          }),
        ),
        bOut,
      );
    const selfAttention = (y) => (b === 1 ? attendOne(y) : tf.concat(tf.split(y, b, 0).map(attendOne), 0));
    const feedForward = (y) => {
      if (activation === 'relu') return linear(linear(y, w1T, b1, 'relu'), w2T, b2);
      const h = linear(y, w1T, b1);
      return linear(tf.mul(tf.mul(h, 0.5), tf.add(tf.erf(tf.mul(h, Math.SQRT1_2)), 1)), w2T, b2);
    };
    const run = () => {
      const o = tf.tidy(() => {
        if (normFirst) {
          const h = tf.add(x, selfAttention(layerNorm(x, 1)));
          return tf.add(h, feedForward(layerNorm(h, 2)));
        }
        const h = layerNorm(tf.add(x, selfAttention(x)), 1);
        return layerNorm(tf.add(h, feedForward(h)), 2);
      });
      const out = o.dataSync();
      o.dispose();
      return out;
    };
    const note = `composed from ops: per-head projection weights (2-D matMuls, no slicing), ${fused ? 'tf.fused.matMul (bias, relu)' : 'matMul + add'} per linear layer, LayerNorm from tf.moments, ${activation === 'gelu' ? 'GELU as x·0.5·(1 + tf.erf(x/√2))' : 'tf.relu'}`;
    return { run, result: run, note, dispose: () => kept.forEach((t) => t.dispose()) };
  }
  // A decode step over resident keys with several heads (V6, V6-mha): one 2-D matMul per kv head,
  // its group's query rows together. q [B, H, Lq, D] holds the H/Hk query heads of a kv head one
  // after the other, so they are one [(H/Hk)·Lq, D] block against that head's resident Kᵀ [D, Lk]
  // and V [Lk, D] (grouped-query needs no repeated keys), and the outputs land as [B, H, Lq, D].
  // tfjs-wasm's batched matMul over the kv heads ([Hk, H/Hk, D] × [Hk, D, Lk]) measured 15× slower
  // here (118 vs 7.7 ms at V6's shape), per query head 2.6× (19.9 ms).
  function prepareGroupedDecode(w, inp) {
    const { b, h, hk, lq, lk, d, scale } = w.shape;
    const rows = (h / hk) * lq;
    const kept = [];
    const keep = (t) => (kept.push(t), t);
    const groups = [];
    for (let bk = 0; bk < b * hk; bk++) {
      const k = tf.tensor2d(inp.k.data.subarray(bk * lk * d, (bk + 1) * lk * d), [lk, d]);
      groups.push({
        kt: keep(tf.transpose(k)),
        v: keep(tf.tensor2d(inp.v.data.subarray(bk * lk * d, (bk + 1) * lk * d), [lk, d])),
        q: keep(tf.tensor2d(inp.q.data.subarray(bk * rows * d, (bk + 1) * rows * d), [rows, d])),
      });
      k.dispose();
    }
    const out = new Float32Array(b * h * lq * d);
    const run = () => {
      groups.forEach((g, i) => {
        const o = tf.tidy(() => tf.matMul(tf.softmax(tf.matMul(tf.mul(g.q, scale), g.kt)), g.v));
        out.set(o.dataSync(), i * rows * d);
        o.dispose();
      });
      return out;
    };
    const note =
      hk === h
        ? `one 2-D matMul per head (${b * h}) against its resident Kᵀ [${d}, ${lk}] and V`
        : `one 2-D matMul per kv head (${b * hk}), its ${h / hk} query heads' rows together against the resident Kᵀ [${d}, ${lk}] and V (no repeated keys)`;
    return { run, result: run, note, dispose: () => kept.forEach((t) => t.dispose()) };
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
      if (w.kind === 'decode') return prepareStep(w, inp);
      if (w.kind === 'bahdanau') return prepareBahdanau(w, inp);
      if (w.kind === 'encoder') return prepareEncoder(w, inp);
      if (w.kind === 'decoder-step') throw new Unsupported('not set up for the decoder step');
      if (w.kind !== 'sdpa') throw new Unsupported(`no tfjs adapter for ${w.kind}`);
      const s = w.shape;
      const { b, h, lq, lk, d, scale } = s;
      const hk = s.hk ?? h;
      const group = h / hk;
      if (w.resident === 'kv' && h > 1 && !hasVariant(s)) return prepareGroupedDecode(w, inp);
      const kept = [];
      const keep = (t) => (kept.push(t), t);
      // k / v per kv head (grouped-query: query head hi of batch bi reads kv head hi / (H / Hk), no copies)
      const kvHeads = [];
      for (let bk = 0; bk < b * hk; bk++) {
        const k = keep(tf.tensor2d(inp.k.data.subarray(bk * lk * d, (bk + 1) * lk * d), [lk, d]));
        const v = inp.v === inp.k ? k : keep(tf.tensor2d(inp.v.data.subarray(bk * lk * d, (bk + 1) * lk * d), [lk, d]));
        // Resident encoder states (a decoder step): Kᵀ made once.
        const kt = w.resident === 'kv' ? keep(tf.transpose(k)) : null;
        kvHeads.push({ k, v, kt });
      }
      // The variants: one explicit bias [Lq, Lk] per (batch, head) it varies over, a resident
      // tensor made once and added to each head's scores (the window's as −∞ covers causal too).
      const bias = explicitBias(s, inp);
      const biasTensors = new Map();
      const biasOf = (bi, hi) => {
        if (!bias) return null;
        const key = `${bias.shape[0] === 1 ? 0 : bi},${bias.shape[1] === 1 ? 0 : hi}`;
        if (!biasTensors.has(key)) biasTensors.set(key, keep(tf.tensor2d(biasSlice(bias, bi, hi), [lq, lk])));
        return biasTensors.get(key);
      };
      const heads = [];
      for (let bh = 0; bh < b * h; bh++) {
        const [bi, hi] = [Math.floor(bh / h), bh % h];
        const q = keep(tf.tensor2d(inp.q.data.subarray(bh * lq * d, (bh + 1) * lq * d), [lq, d]));
        heads.push({ q, ...kvHeads[bi * hk + Math.floor(hi / group)], bias: biasOf(bi, hi) });
      }
      const mask = s.causal && !bias?.covers.causal ? keep(tf.tensor2d(causalMask(lq, lk), [lq, lk])) : null;
      const out = new Float32Array(b * h * lq * d);
      const run = () => {
        heads.forEach((t, i) => {
          const o = tf.tidy(() => {
            let scores = tf.matMul(scale === 1 ? t.q : tf.mul(t.q, scale), t.kt ?? tf.transpose(t.k));
            if (mask) scores = tf.add(scores, mask);
            if (t.bias) scores = tf.add(scores, t.bias);
            return tf.matMul(tf.softmax(scores), t.v);
          });
          out.set(o.dataSync(), i * lq * d);
          o.dispose();
        });
        return out;
      };
      const note = bias ? `${biasDescription(s, bias)}, added per head` : hk !== h ? `per-head 2-D matMuls, each query head on its kv head's tensors` : undefined;
      return { run, result: run, note, dispose: () => kept.forEach((t) => t.dispose()) };
    },
  };
}
