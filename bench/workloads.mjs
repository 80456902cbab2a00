// The workloads: shapes, inputs (deterministic, row-major float32), the work they count and what
// a contender must compute. Every contender's output is checked against the plain-JS reference
// before it is timed.
//
//   kind 'sdpa'      softmax(q·kᵀ·scale [+ causal])·v, q [B, H, Lq, D], k / v [B, H, Lk, D]
//   kind 'bahdanau'  one decoder step of Bahdanau attention over bound encoder states [1, S, H]
//   kind 'mha'       torch.nn.MultiheadAttention forward (projections + attention), x [1, L, E]
//   kind 'decode'    one incremental decode step of that module with a KV cache of T positions
import { reference } from '../dist/index.js';

// reference.uniform: the deterministic generator the tests and the demo use too, the same in every process.
const tensor = (shape, seed, scale = 1) => ({ data: reference.uniform(shape.reduce((a, b) => a * b, 1), seed, -scale, scale), shape });

/** Query–key pairs that are computed: causal (bottom-right aligned) keeps j ≤ i + Lk − Lq. */
export function livePairs(lq, lk, causal) {
  if (!causal) return lq * lk;
  let n = 0;
  for (let i = 0; i < lq; i++) n += Math.max(0, Math.min(lk, i + lk - lq + 1));
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

function sdpaWorkload(def, tiny) {
  const s = { causal: false, ...(tiny ? def.tiny : def.shape) };
  s.scale ??= 1 / Math.sqrt(s.d);
  return {
    id: def.id,
    kind: 'sdpa',
    title: def.title,
    shape: s,
    resident: def.resident ?? 'qkv',
    shapeLabel: `B${s.b} H${s.h} Lq${s.lq} Lk${s.lk} D${s.d}${s.causal ? ' causal' : ''}`,
    flops: 4 * s.b * s.h * livePairs(s.lq, s.lk, s.causal) * s.d,
    makeInputs: () => sdpaInputs(s, def.sharedKV),
    reference: (inp) => reference.scaledDotProductAttention(inp.q, inp.k, inp.v, { causal: s.causal, scale: s.scale }).output,
  };
}

/** q, k, v [B, H, L, D] for one sdpa shape; with `sharedKV`, v is the same object as k. */
export function sdpaInputs(s, sharedKV = false) {
  const k = tensor([s.b, s.h, s.lk, s.d], 2);
  return { q: tensor([s.b, s.h, s.lq, s.d], 1), k, v: sharedKV ? k : tensor([s.b, s.h, s.lk, s.d], 3) };
}

/** Single-head D 64 self-attention of length n: the memory-scaling workload. */
export function scalingWorkload(n, d = 64) {
  const s = { b: 1, h: 1, lq: n, lk: n, d, scale: 1 / Math.sqrt(d), causal: false };
  return { id: `N${n}`, kind: 'sdpa', title: `memory scaling N ${n}`, shape: s, resident: 'qkv', shapeLabel: `H1 N${n} D${d}`, flops: 4 * n * n * d, makeInputs: () => sdpaInputs(s), reference: (inp) => reference.scaledDotProductAttention(inp.q, inp.k, inp.v, { scale: s.scale }).output };
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

// Multi-head attention with projections: torch.nn.MultiheadAttention(512, 8), L 256, self-attention.
function mhaWorkload(tiny) {
  const s = tiny ? { e: 32, heads: 4, l: 21 } : { e: 512, heads: 8, l: 256 };
  return {
    id: 'MHA',
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

/** Every workload, in report order; `tiny` swaps in small shapes. */
export function workloads({ tiny = false } = {}) {
  const [s1, ...rest] = SDPA.map((d) => sdpaWorkload(d, tiny));
  return [s1, bahdanauWorkload(tiny), ...rest, mhaWorkload(tiny), decodeWorkload(tiny)];
}

/** Why a workload cannot run in this version of the runtime (its API or reference is missing), or null. */
export function unavailable(workload, runtime) {
  const r = workload.requires;
  if (!r) return null;
  if (typeof runtime?.[r.runtime] !== 'function') return `not available in this version (no runtime.${r.runtime})`;
  if (typeof reference[r.reference] !== 'function') return `not available in this version (no reference.${r.reference})`;
  return null;
}

/** Memory-scaling lengths: N = 4096 … 65536, doubling (tiny: 64 … 256). */
export const scalingLengths = ({ tiny = false, quick = false } = {}) => (tiny ? [64, 128, 256] : quick ? [4096, 8192] : [4096, 8192, 16384, 32768, 65536]);
