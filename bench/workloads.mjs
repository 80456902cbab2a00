// The workloads: shapes, inputs (deterministic, row-major float32), the work they count and what
// a contender must compute. Every contender's output is checked against the plain-JS reference
// before it is timed.
//
//   kind 'sdpa'      softmax(q·kᵀ·scale [+ causal])·v, q [B, H, Lq, D], k / v [B, H, Lk, D]; the
//                    variant workloads (V…) add scaledDotProductAttention's variant options:
//                    a sliding window, ALiBi, T5 relative bias, masks, grouped-query heads (k / v
//                    [B, Hk, Lk, D]); the options are `inputs.options`, the same for the runtime and
//                    the reference; peers get them as an explicit bias (./variants.mjs)
//   kind 'bahdanau'  one decoder step of Bahdanau attention over bound encoder states [1, S, H]
//   kind 'mha'       torch.nn.MultiheadAttention forward (projections + attention), x [1, L, E]
//   kind 'decode'    one incremental decode step of that module with a KV cache of T positions
//   kind 'encoder'   torch.nn.TransformerEncoderLayer forward (batch_first, eval), src [B, L, E]:
//                    self-attention, feed-forward, two LayerNorms, post- or pre-norm (T1, T2)
//   kind 'decoder-step' one incremental decoding step of torch.nn.TransformerDecoderLayer
//                    (batch_first, eval): token T+1 over a self-attention cache of T positions and
//                    a bound memory [1, S, E] (T3)
import { reference } from '../dist/index.js';

// reference.uniform: the deterministic generator the tests and the demo use too, the same in every process.
const tensor = (shape, seed, scale = 1) => ({ data: reference.uniform(shape.reduce((a, b) => a * b, 1), seed, -scale, scale), shape });

/**
 * Query–key pairs that are computed: causal (bottom-right aligned) keeps j ≤ pos = i + Lk − Lq, a
 * window [left, right] keeps pos − left ≤ j ≤ pos + right (−1: unbounded). Masks and biases do not
 * change the count (every pair is still scored).
 */
export function livePairs(lq, lk, causal, window) {
  if (!causal && !window) return lq * lk;
  const [left, right] = window ?? [-1, -1];
  let n = 0;
  for (let i = 0; i < lq; i++) {
    const pos = i + lk - lq;
    const lo = left < 0 ? 0 : Math.max(0, pos - left);
    let hi = lk;
    if (causal) hi = Math.min(hi, pos + 1);
    if (right >= 0) hi = Math.min(hi, pos + right + 1);
    n += Math.max(0, hi - lo);
  }
  return n;
}

// ---- definitions ------------------------------------------------------------------------------
// `tiny` shapes keep the kernels' tails in play and run in milliseconds (the bench's own test).
const SDPA = [
  {
    id: 'S1',
    title: 'seq2seq decoder step (dot): 1 query [256] over 512 resident encoder states hs (key = value = hs)',
    shape: { b: 1, h: 1, lq: 1, lk: 512, d: 256, scale: 1 },
    tiny: { b: 1, h: 1, lq: 1, lk: 37, d: 24, scale: 1 },
    resident: 'kv',
    // dot attention of seq2seq: the encoder states are both the keys and the values
    sharedKV: true,
  },
  { id: 'S2', title: 'self-attention, 1 head, N 512, D 64', shape: { b: 1, h: 1, lq: 512, lk: 512, d: 64 }, tiny: { b: 1, h: 1, lq: 33, lk: 33, d: 16 } },
  { id: 'S3', title: 'multi-head core, B 1, H 8, N 256, D 64', shape: { b: 1, h: 8, lq: 256, lk: 256, d: 64 }, tiny: { b: 1, h: 2, lq: 19, lk: 19, d: 8 } },
  { id: 'S4', title: 'causal, H 4, N 1024, D 64', shape: { b: 1, h: 4, lq: 1024, lk: 1024, d: 64, causal: true }, tiny: { b: 1, h: 2, lq: 40, lk: 40, d: 8, causal: true } },
  {
    id: 'S4-full',
    title: 'S4 without the mask: what causal is compared to',
    shape: { b: 1, h: 4, lq: 1024, lk: 1024, d: 64 },
    tiny: { b: 1, h: 2, lq: 40, lk: 40, d: 8 },
  },
  { id: 'S5', title: 'long, H 1, N 4096, D 64', shape: { b: 1, h: 1, lq: 4096, lk: 4096, d: 64 }, tiny: { b: 1, h: 1, lq: 70, lk: 70, d: 16 } },
];

// The attention variants. V2–V5 are S3's shape (B 1, H 8, N 256, D 64) with one option each, so
// the summary can put each next to plain S3. `checkRows`: the reference (≈1 GFLOP/s) would take
// seconds to tens of seconds on the whole output, so contenders are checked on the first and last
// `checkRows` query rows of every head (the first rows see the window's left edge clipped at key
// 0, the last rows full windows); `--tiny` checks that slice against the whole reference too.
// `fusedOp: 'gqa'`: the fused-op peer contender runs onnxruntime's GroupQueryAttention op (sliding
// window, kv heads) on this workload and its comparison twin. `base`: the plain twin the summary
// compares the variant with (it runs whenever the variant does, --filter or not).
const { shape: S3_SHAPE, tiny: S3_TINY } = SDPA.find((d) => d.id === 'S3');
const VARIANTS = [
  {
    id: 'V1',
    title: 'sliding-window attention: causal, each query sees itself and the 512 keys before it (Mistral-style), H 1, N 8192, D 64',
    shape: { b: 1, h: 1, lq: 8192, lk: 8192, d: 64, causal: true, window: [512, 0] },
    tiny: { b: 1, h: 1, lq: 70, lk: 70, d: 16, causal: true, window: [8, 0] },
    checkRows: { full: 64, tiny: 12 },
    fusedOp: 'gqa',
    base: 'V1-full',
  },
  {
    id: 'V1-full',
    title: 'V1 without the window: causal over every earlier key, what the window is compared to',
    shape: { b: 1, h: 1, lq: 8192, lk: 8192, d: 64, causal: true },
    tiny: { b: 1, h: 1, lq: 70, lk: 70, d: 16, causal: true },
    checkRows: { full: 64, tiny: 12 },
    fusedOp: 'gqa',
  },
  { id: 'V2', title: 'ALiBi position bias on the S3 shape: BLOOM slopes, H 8, N 256, D 64', shape: { ...S3_SHAPE, alibi: true }, tiny: { ...S3_TINY, alibi: true }, base: 'S3' },
  {
    id: 'V3',
    title: 'T5 relative position bias on the S3 shape: 32 buckets, max distance 128, bidirectional',
    shape: { ...S3_SHAPE, relative: { numBuckets: 32, maxDistance: 128, bidirectional: true } },
    tiny: { ...S3_TINY, relative: { numBuckets: 32, maxDistance: 128, bidirectional: true } },
    base: 'S3',
  },
  { id: 'V4', title: 'boolean mask on the S3 shape: [Lq, Lk], 1 key in 10 hidden at random', shape: { ...S3_SHAPE, mask: 'bool' }, tiny: { ...S3_TINY, mask: 'bool' }, base: 'S3' },
  { id: 'V5', title: 'float mask on the S3 shape: [B, H, Lq, Lk], added to the scores', shape: { ...S3_SHAPE, mask: 'float' }, tiny: { ...S3_TINY, mask: 'float' }, base: 'S3' },
  {
    id: 'V6',
    title: 'grouped-query decode step: 32 query heads share 8 kv heads, 1 query over 4096 resident cached keys, D 128',
    shape: { b: 1, h: 32, hk: 8, lq: 1, lk: 4096, d: 128 },
    tiny: { b: 1, h: 4, hk: 2, lq: 1, lk: 37, d: 16 },
    resident: 'kv',
    fusedOp: 'gqa',
    kvLabel: true,
    base: 'V6-mha',
  },
  {
    id: 'V6-mha',
    title: 'V6 with 32 kv heads (plain multi-head): what grouped-query is compared to',
    shape: { b: 1, h: 32, hk: 32, lq: 1, lk: 4096, d: 128 },
    tiny: { b: 1, h: 4, hk: 4, lq: 1, lk: 37, d: 16 },
    resident: 'kv',
    fusedOp: 'gqa',
    kvLabel: true,
  },
];

/** What the shape label says about the variant options. */
function variantLabel(s) {
  const parts = [];
  if (s.window) parts.push(`window [${s.window.join(', ')}]`);
  if (s.alibi) parts.push('ALiBi');
  if (s.relative) parts.push(`T5 ${s.relative.numBuckets} buckets`);
  if (s.mask === 'bool') parts.push('bool mask [Lq, Lk]');
  if (s.mask === 'float') parts.push('float mask [B, H, Lq, Lk]');
  return parts.map((p) => ` ${p}`).join('');
}

function sdpaWorkload(def, tiny) {
  const s = { causal: false, ...(tiny ? def.tiny : def.shape) };
  s.scale ??= 1 / Math.sqrt(s.d);
  s.hk ??= s.h;
  const attend = (q, k, v, options) => reference.scaledDotProductAttention(q, k, v, { causal: s.causal, scale: s.scale, ...options }).output;
  const rows = def.checkRows?.[tiny ? 'tiny' : 'full'];
  return {
    id: def.id,
    kind: 'sdpa',
    title: def.title,
    shape: s,
    resident: def.resident ?? 'qkv',
    fusedOp: def.fusedOp,
    base: def.base,
    shapeLabel: `B${s.b} H${s.h}${s.hk !== s.h || def.kvLabel ? ` Hkv${s.hk}` : ''} Lq${s.lq} Lk${s.lk} D${s.d}${s.causal ? ' causal' : ''}${variantLabel(s)}`,
    flops: 4 * s.b * s.h * livePairs(s.lq, s.lk, s.causal, s.window) * s.d,
    makeInputs: () => sdpaInputs(s, def.sharedKV),
    reference: (inp) => attend(inp.q, inp.k, inp.v, inp.options),
    ...(rows ? { checkSlice: rowSlice(s, rows, attend) } : {}),
  };
}

/** Rows [r0, r1) of every (batch, head) of x [B, H, L, D]: a new tensor [B, H, r1 − r0, D]. */
function rowsOf(x, r0, r1) {
  const [b, h, l, d] = x.shape;
  const out = new Float32Array(b * h * (r1 - r0) * d);
  for (let bh = 0; bh < b * h; bh++) out.set(x.data.subarray((bh * l + r0) * d, (bh * l + r1) * d), bh * (r1 - r0) * d);
  return { data: out, shape: [b, h, r1 - r0, d] };
}

/**
 * The check on a slice of a big self-attention workload: the first and the last `n` query rows of
 * every head. The last rows are the reference on q's last rows over all keys (pos(i) = i + Lk − Lq
 * keeps their positions); the first rows, the reference over the first n queries and keys, exact
 * when a query sees no key after its own position (causal, or a window with right bound 0), which
 * the workloads that use it are. `pick` takes the same rows out of a contender's output.
 */
function rowSlice(s, n, attend) {
  if (s.lq !== s.lk || !(s.causal || s.window?.[1] === 0) || s.mask || 2 * n > s.lq) throw new Error('rowSlice: a causal self-attention shape without masks, at least 2n rows');
  const out = (parts) => {
    const [b, h, , d] = parts[0].shape;
    const r = parts.reduce((a, p) => a + p.shape[2], 0);
    const data = new Float32Array(b * h * r * d);
    for (let bh = 0; bh < b * h; bh++) {
      let at = bh * r * d;
      for (const p of parts) {
        const len = p.shape[2] * d;
        data.set(p.data.subarray(bh * len, (bh + 1) * len), at);
        at += len;
      }
    }
    return data;
  };
  const { lq, d } = s;
  const full = (data) => ({ data, shape: [s.b, s.h, lq, d] });
  return {
    label: `query rows 0–${n - 1} and ${lq - n}–${lq - 1} of every head`,
    reference: (inp) => {
      const first = attend(rowsOf(inp.q, 0, n), rowsOf(inp.k, 0, n), rowsOf(inp.v, 0, n), inp.options);
      const last = attend(rowsOf(inp.q, lq - n, lq), inp.k, inp.v, inp.options);
      return out([{ data: first, shape: [s.b, s.h, n, d] }, { data: last, shape: [s.b, s.h, n, d] }]);
    },
    pick: (output) => out([rowsOf(full(output), 0, n), rowsOf(full(output), lq - n, lq)]),
  };
}

/**
 * q [B, H, Lq, D], k / v [B, Hk, Lk, D] for one sdpa shape (Hk = H unless grouped-query); with
 * `sharedKV`, v is the same object as k. `options`: the variant options of the shape (window,
 * ALiBi, T5 bias with its table, masks with their data), as scaledDotProductAttention takes them.
 */
export function sdpaInputs(s, sharedKV = false) {
  const hk = s.hk ?? s.h;
  const k = tensor([s.b, hk, s.lk, s.d], 2);
  return { q: tensor([s.b, s.h, s.lq, s.d], 1), k, v: sharedKV ? k : tensor([s.b, hk, s.lk, s.d], 3), options: variantOptions(s) };
}

function variantOptions(s) {
  const o = {};
  if (s.window) o.window = s.window;
  if (s.alibi) o.alibi = true;
  // T5's table: learned values of order 1 (a trained t5-small's are within ±10)
  if (s.relative) o.relativeBias = { ...s.relative, table: tensor([s.relative.numBuckets, s.h], 41, 2) };
  if (s.mask === 'bool') {
    // 1 key in 10 hidden at random; the diagonal always visible (no query without keys)
    const u = reference.uniform(s.lq * s.lk, 42, 0, 1);
    const data = Uint8Array.from(u, (x, n) => (x >= 0.1 || Math.floor(n / s.lk) === n % s.lk ? 1 : 0));
    o.attnMask = { data, shape: [s.lq, s.lk] };
  }
  if (s.mask === 'float') o.attnMask = { data: reference.uniform(s.b * s.h * s.lq * s.lk, 43, -2, 2), shape: [s.b, s.h, s.lq, s.lk] };
  return o;
}

/**
 * Single-head D 64 self-attention of length n: the memory-scaling workload. `variant` (the memory
 * check of the variants): { alibi: true } or { causal: true, window: [left, right] }.
 */
export function scalingWorkload(n, d = 64, variant = {}) {
  const s = { b: 1, h: 1, hk: 1, lq: n, lk: n, d, scale: 1 / Math.sqrt(d), causal: false, ...variant };
  return {
    id: `N${n}`,
    kind: 'sdpa',
    title: `memory scaling N ${n}`,
    shape: s,
    resident: 'qkv',
    shapeLabel: `H1 N${n} D${d}${s.causal ? ' causal' : ''}${variantLabel(s)}`,
    flops: 4 * livePairs(n, n, s.causal, s.window) * d,
    makeInputs: () => sdpaInputs(s),
    reference: (inp) => reference.scaledDotProductAttention(inp.q, inp.k, inp.v, { causal: s.causal, scale: s.scale, ...inp.options }).output,
  };
}

// Bahdanau (additive) step: the PyTorch seq2seq tutorial's BahdanauAttention, H 256, S 512.
function bahdanauWorkload(tiny) {
  const s = tiny ? { s: 29, hid: 12 } : { s: 512, hid: 256 };
  const H = s.hid;
  const weights = () => ({
    'Wa.weight': tensor([H, H], 11, 1 / Math.sqrt(H)),
    'Wa.bias': tensor([H], 12, 0.1),
    'Ua.weight': tensor([H, H], 13, 1 / Math.sqrt(H)),
    'Ua.bias': tensor([H], 14, 0.1),
    'Va.weight': tensor([1, H], 15, 1 / Math.sqrt(H)),
    'Va.bias': tensor([1], 16, 0.1),
  });
  return {
    id: 'S1-bahdanau',
    kind: 'bahdanau',
    title: `seq2seq decoder step (Bahdanau): 1 state [${H}] over ${s.s} bound encoder states`,
    shape: s,
    shapeLabel: `S${s.s} H${H}`,
    // per step: Wa·h (2H²), S·(add, tanh, ·Va) (~4·S·H), context 2·S·H
    flops: 2 * H * H + 6 * s.s * H,
    requires: { runtime: 'bahdanauAttention', reference: 'bahdanauAttention' },
    makeInputs: () => ({ weights: weights(), hs: tensor([1, s.s, H], 17), h: tensor([1, H], 18) }),
    reference: (inp) => reference.bahdanauAttention(inp.weights).bind(inp.hs).step(inp.h).context,
  };
}

function mhaWeights(E, seed) {
  const a = 1 / Math.sqrt(E);
  return {
    in_proj_weight: tensor([3 * E, E], seed, a),
    in_proj_bias: tensor([3 * E], seed + 1, 0.1),
    'out_proj.weight': tensor([E, E], seed + 2, a),
    'out_proj.bias': tensor([E], seed + 3, 0.1),
  };
}

// Multi-head attention with projections: torch.nn.MultiheadAttention(512, 8), L 256, self-attention
// (the quick set's MHA-L64: L 64).
function mhaWorkload(tiny, { id = 'MHA', l = 256 } = {}) {
  const s = tiny ? { e: 32, heads: 4, l: 21 } : { e: 512, heads: 8, l };
  return {
    id,
    kind: 'mha',
    title: `multi-head attention with projections, E ${s.e}, ${s.heads} heads, L ${s.l}`,
    shape: s,
    shapeLabel: `E${s.e} heads${s.heads} L${s.l}`,
    // in-projection 2·L·E·3E, attention 4·L·L·E, out-projection 2·L·E·E
    flops: 8 * s.l * s.e * s.e + 4 * s.l * s.l * s.e,
    requires: { runtime: 'multiHeadAttention', reference: 'multiHeadAttention' },
    makeInputs: () => ({ config: { embedDim: s.e, numHeads: s.heads, weights: mhaWeights(s.e, 21) }, x: tensor([1, s.l, s.e], 25) }),
    reference: (inp) => reference.multiHeadAttention(inp.config).forward(inp.x).output,
  };
}

// Incremental decode: the same module, one new token attending over a KV cache of T positions.
function decodeWorkload(tiny) {
  const s = tiny ? { e: 32, heads: 4, t: 20 } : { e: 512, heads: 8, t: 255 };
  return {
    id: 'KV-step',
    kind: 'decode',
    title: `decode step with a KV cache, E ${s.e}, ${s.heads} heads, token ${s.t + 1} over ${s.t} cached`,
    shape: s,
    shapeLabel: `E${s.e} heads${s.heads} T${s.t}+1`,
    // projections of one token 2·4E², attention over T+1 keys 4·(T+1)·E
    flops: 8 * s.e * s.e + 4 * (s.t + 1) * s.e,
    requires: { runtime: 'multiHeadAttention', reference: 'multiHeadAttention' },
    // x: the whole sequence [1, T+1, E]; the step feeds its last token after T cached ones.
    makeInputs: () => ({ config: { embedDim: s.e, numHeads: s.heads, weights: mhaWeights(s.e, 31) }, x: tensor([1, s.t + 1, s.e], 35) }),
    // The last row of the causal forward is what the step must produce.
    reference: (inp) => reference.multiHeadAttention(inp.config).forward(inp.x, { causal: true }).output.slice(s.t * s.e),
  };
}

// Transformer encoder layers: torch.nn.TransformerEncoderLayer(E, heads, F, activation,
// norm_first, batch_first=True) in eval mode, from its state_dict names. T1 is the base-size
// post-norm ReLU layer (PyTorch's defaults), T2 a smaller pre-norm GELU (erf) layer. The plain-JS
// reference is timed on the whole layer (float64 loops: T1 takes seconds per call, so it gets only
// a few samples). The tiny shapes keep the kernels' tails in play (E, F and L not multiples of the
// tiles) and T2's runs two sequences (B 2).
const ENCODERS = [
  {
    id: 'T1',
    title: 'transformer encoder layer, post-norm, ReLU: E 512, 8 heads, FF 2048, L 256 (plain JS: whole layer, few samples)',
    shape: { b: 1, l: 256, e: 512, heads: 8, ff: 2048, activation: 'relu', normFirst: false },
    tiny: { b: 1, l: 21, e: 40, heads: 4, ff: 72, activation: 'relu', normFirst: false },
  },
  {
    id: 'T2',
    title: 'transformer encoder layer, pre-norm, GELU (erf): E 256, 4 heads, FF 1024, L 128',
    shape: { b: 1, l: 128, e: 256, heads: 4, ff: 1024, activation: 'gelu', normFirst: true },
    tiny: { b: 2, l: 13, e: 24, heads: 4, ff: 56, activation: 'gelu', normFirst: true },
  },
];

/** A TransformerEncoderLayer's state_dict, deterministic: projections ~U(±1/√fan_in), biases ±0.1, norm weights 1 ± 0.1. */
function encoderWeights(e, ff, seed) {
  const near1 = (n, s) => ({ data: reference.uniform(n, s, 0.9, 1.1), shape: [n] });
  return {
    'self_attn.in_proj_weight': tensor([3 * e, e], seed, 1 / Math.sqrt(e)),
    'self_attn.in_proj_bias': tensor([3 * e], seed + 1, 0.1),
    'self_attn.out_proj.weight': tensor([e, e], seed + 2, 1 / Math.sqrt(e)),
    'self_attn.out_proj.bias': tensor([e], seed + 3, 0.1),
    'linear1.weight': tensor([ff, e], seed + 4, 1 / Math.sqrt(e)),
    'linear1.bias': tensor([ff], seed + 5, 0.1),
    'linear2.weight': tensor([e, ff], seed + 6, 1 / Math.sqrt(ff)),
    'linear2.bias': tensor([e], seed + 7, 0.1),
    'norm1.weight': near1(e, seed + 8),
    'norm1.bias': tensor([e], seed + 9, 0.1),
    'norm2.weight': near1(e, seed + 10),
    'norm2.bias': tensor([e], seed + 11, 0.1),
  };
}

function encoderWorkload(def, tiny) {
  const s = { ...(tiny ? def.tiny : def.shape), eps: 1e-5 };
  return {
    id: def.id,
    kind: 'encoder',
    title: def.title,
    shape: s,
    shapeLabel: `B${s.b} L${s.l} E${s.e} heads${s.heads} FF${s.ff} ${s.normFirst ? 'pre-norm' : 'post-norm'} ${s.activation === 'gelu' ? 'GELU' : 'ReLU'}`,
    // in-projection 2·BL·E·3E, attention 4·B·L²·E, out-projection 2·BL·E², feed-forward 4·BL·E·F (norms, activation, residuals not counted)
    flops: 8 * s.b * s.l * s.e * s.e + 4 * s.b * s.l * s.l * s.e + 4 * s.b * s.l * s.e * s.ff,
    requires: { runtime: 'transformerEncoderLayer', reference: 'transformerEncoderLayer' },
    makeInputs: () => ({
      config: { dModel: s.e, nhead: s.heads, dimFeedforward: s.ff, activation: s.activation, layerNormEps: s.eps, normFirst: s.normFirst, weights: encoderWeights(s.e, s.ff, 51) },
      x: tensor([s.b, s.l, s.e], 65),
    }),
    reference: (inp) => reference.transformerEncoderLayer(inp.config).forward(inp.x),
  };
}

// One incremental decoding step of torch.nn.TransformerDecoderLayer(512, 8, 2048, relu,
// batch_first=True), post-norm, eval: token T+1 = 257 after a self-attention cache of T = 256
// positions, cross-attention over a bound memory of S = 256 positions. The state_dict is the
// encoder layer's plus multihead_attn.* and norm3.*. The reference is the last row of the twin's
// causal forward over the 257 tokens (the twin has no cache).
const DECODER_STEP = {
  id: 'T3',
  title: 'transformer decoder layer, one incremental step: E 512, 8 heads, FF 2048, post-norm ReLU, token 257 over a 256-token self-attention cache and a bound 256-token memory',
  shape: { e: 512, heads: 8, ff: 2048, t: 256, s: 256, activation: 'relu', normFirst: false },
  tiny: { e: 24, heads: 4, ff: 40, t: 12, s: 12, activation: 'relu', normFirst: false },
};

/** A TransformerDecoderLayer's state_dict: the encoder layer's, plus multihead_attn.* and norm3.*. */
function decoderWeights(e, ff, seed) {
  const w = encoderWeights(e, ff, seed);
  const a = mhaWeights(e, seed + 20);
  for (const [k, v] of Object.entries(a)) w[`multihead_attn.${k}`] = v;
  w['norm3.weight'] = { data: reference.uniform(e, seed + 24, 0.9, 1.1), shape: [e] };
  w['norm3.bias'] = tensor([e], seed + 25, 0.1);
  return w;
}

function decoderStepWorkload(tiny) {
  const s = { ...(tiny ? DECODER_STEP.tiny : DECODER_STEP.shape), eps: 1e-5 };
  const { e, ff, t } = s;
  return {
    id: DECODER_STEP.id,
    kind: 'decoder-step',
    title: DECODER_STEP.title,
    shape: s,
    shapeLabel: `E${e} heads${s.heads} FF${ff} T${t}+1 S${s.s} post-norm ReLU`,
    // one token: self-attention projections 2·4E², attention over T+1 keys 4·(T+1)·E; cross-attention
    // q and out projections 2·2E² (memory keys / values projected once, at bind), attention over S
    // keys 4·S·E; feed-forward 4·E·F (norms, activation, residuals not counted)
    flops: 8 * e * e + 4 * (t + 1) * e + 4 * e * e + 4 * s.s * e + 4 * e * ff,
    requires: { runtime: 'transformerDecoderLayer', reference: 'transformerDecoderLayer' },
    // tgt: the whole target [1, T+1, E]; the step feeds its last token after T cached ones.
    makeInputs: () => ({
      config: { dModel: e, nhead: s.heads, dimFeedforward: ff, activation: s.activation, layerNormEps: s.eps, normFirst: s.normFirst, weights: decoderWeights(e, ff, 71) },
      tgt: tensor([1, t + 1, e], 101),
      memory: tensor([1, s.s, e], 102),
    }),
    // The last row of the causal forward is what the step must produce.
    reference: (inp) => reference.transformerDecoderLayer(inp.config).forward(inp.tgt, inp.memory, { causal: true }).slice(t * e),
  };
}

/** Every workload, in report order; `tiny` swaps in small shapes. */
export function workloads({ tiny = false } = {}) {
  const [s1, ...rest] = SDPA.map((d) => sdpaWorkload(d, tiny));
  return [s1, bahdanauWorkload(tiny), ...rest, mhaWorkload(tiny), decodeWorkload(tiny), ...ENCODERS.map((d) => encoderWorkload(d, tiny)), decoderStepWorkload(tiny), ...VARIANTS.map((d) => sdpaWorkload(d, tiny))];
}

// ---- the quick set ------------------------------------------------------------------------------
// `npm run bench -- --quick`: one workload of each kind on small shapes, about a minute with every
// peer. S1 and KV-step are the full suite's own; the others are S2, S4 and MHA made smaller (their
// ids say how). `timeReference: false`: the plain-JS reference (≈1 GFLOP/s) would take about
// 100 ms per call there; it still checks every contender's output, but it is not timed and its
// row says so (no ratio against it is given, none is estimated).
const QUICK_SDPA = [
  { id: 'S2-N256', title: 'self-attention, 1 head, N 256, D 64 (S2 at half the length)', shape: { b: 1, h: 1, lq: 256, lk: 256, d: 64 }, tiny: { b: 1, h: 1, lq: 33, lk: 33, d: 16 } },
  {
    id: 'S4-N512',
    title: 'causal, H 4, N 512, D 64 (S4 at half the length)',
    shape: { b: 1, h: 4, lq: 512, lk: 512, d: 64, causal: true },
    tiny: { b: 1, h: 2, lq: 40, lk: 40, d: 8, causal: true },
    timeReference: false,
  },
];

/** The quick set, in report order: seq2seq step, self-attention, causal, multi-head attention, decode step. */
export function quickWorkloads({ tiny = false } = {}) {
  const [s2, s4] = QUICK_SDPA.map((d) => ({ ...sdpaWorkload(d, tiny), ...(d.timeReference === false ? { timeReference: false } : {}) }));
  return [sdpaWorkload(SDPA[0], tiny), s2, s4, { ...mhaWorkload(tiny, { id: 'MHA-L64', l: 64 }), timeReference: false }, decodeWorkload(tiny)];
}

/** Why a workload cannot run in this version of the runtime (its API or reference is missing), or null. */
export function unavailable(workload, runtime) {
  const r = workload.requires;
  if (!r) return null;
  if (typeof runtime?.[r.runtime] !== 'function') return `not available in this version (no runtime.${r.runtime})`;
  if (typeof reference[r.reference] !== 'function') return `not available in this version (no reference.${r.reference})`;
  return null;
}

/**
 * The memory check of the variants (one call per fresh process, like memory scaling): ALiBi next
 * to plain attention at the same N, and a causal sliding window at a longer N.
 */
export const variantMemoryRuns = ({ tiny = false } = {}) =>
  tiny
    ? [
        { id: 'plain', label: 'plain', n: 256, variant: {} },
        { id: 'alibi', label: 'ALiBi', n: 256, variant: { alibi: true } },
        { id: 'window', label: 'causal window [16, 0]', n: 512, variant: { causal: true, window: [16, 0] } },
      ]
    : [
        { id: 'plain', label: 'plain', n: 32768, variant: {} },
        { id: 'alibi', label: 'ALiBi', n: 32768, variant: { alibi: true } },
        { id: 'window', label: 'causal window [512, 0]', n: 65536, variant: { causal: true, window: [512, 0] } },
      ];

/** Memory-scaling lengths: N = 4096 … 65536, doubling (tiny: 64 … 256); quick: one call at N 16384 (tiny: 256). */
export const scalingLengths = ({ tiny = false, quick = false } = {}) => (quick ? (tiny ? [256] : [16384]) : tiny ? [64, 128, 256] : [4096, 8192, 16384, 32768, 65536]);
