// The demo's small deterministic inputs: the worked example (a decoder state scoring four encoder
// states) and a sentence with position encodings for self-attention.
import { reference } from '../dist/index.js';

/** The worked example: decoder state h [1, 3] attending over four encoder states hs [4, 3]. */
export const WORKED_EXAMPLE = {
  h: [10, 5, 10],
  hs: [
    [0, 1, 1],
    [5, 0, 1],
    [1, 1, 0],
    [0, 5, 1],
  ],
};

/**
 * The worked example step by step with the runtime's ops, and once fused:
 * scores = h·hsᵀ [4], weights = softmax(scores) [4], context = Σ_s weights[s]·hs[s] [3].
 */
export function workedExample(rt, h = WORKED_EXAMPLE.h, hs = WORKED_EXAMPLE.hs) {
  const hT = { data: Float32Array.from(h), shape: [1, h.length] };
  const hsT = { data: Float32Array.from(hs.flat()), shape: [hs.length, h.length] };
  const scores = rt.matmul(hT, hsT, { transposeB: true });
  const weights = rt.softmax({ data: scores, shape: [1, hs.length] });
  const context = rt.attentionContext({ data: weights, shape: [1, hs.length] }, hsT);
  const fused = rt.scaledDotProductAttention(hT, hsT, hsT, { scale: 1, returnWeights: true });
  return { scores, weights, context, fused: { output: fused.output, weights: fused.weights } };
}

/**
 * `n` standard normal samples from `seed` (Box–Muller, a pair of uniforms per sample) drawn with
 * the package's deterministic generator, `reference.uniform`, the one the tests and benchmarks
 * use: the same pictures on every load.
 */
function gaussians(n, seed) {
  // lo = 1, hi = 0: the values are 1 − u for u in [0, 1), so in (0, 1] and the logarithm is finite.
  const u = reference.uniform(2 * n, seed, 1, 0);
  return Array.from({ length: n }, (_, i) => Math.sqrt(-2 * Math.log(u[2 * i])) * Math.cos(2 * Math.PI * u[2 * i + 1]));
}
function hash(text) {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.codePointAt(0), 16777619);
  return h >>> 0;
}
/** A unit vector of `dim` Gaussian entries from `seed`. */
function unitVector(seed, dim) {
  const v = gaussians(dim, seed);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

export const SENTENCE = 'the cat sat on the mat and the cat slept'.split(' ');
/** The longest sentence the self-attention example draws: four L×L heatmaps stay readable up to here. */
export const MAX_WORDS = 16;
const WORD_DIM = 16;
const POS_DIM = 16;

/** What each head of the self-attention example looks at (head dim 16). */
export const HEADS = [
  { name: 'same word', note: 'q = k = word embedding' },
  { name: 'previous token', note: 'q = PE(p) rotated back one position, k = PE' },
  { name: 'nearby tokens', note: 'q = k = PE (sinusoidal)' },
  { name: 'random projection', note: 'q, k = fixed pseudo-random maps of [word; PE]' },
];

/**
 * Self-attention over `words` with 4 heads: each token is [word embedding (16); sinusoidal
 * position encoding (16)]; each head projects it to q, k, v of size 16 (see HEADS), and the
 * runtime returns the weights [1, 4, L, L] (causal: query i sees keys j ≤ i).
 */
export function sentenceAttention(rt, { words = SENTENCE, causal = false } = {}) {
  const L = words.length;
  const H = HEADS.length;
  const D = 16;
  const pe = rt.sinusoidalEncoding(L, POS_DIM);
  const word = words.map((w) => unitVector(hash(w), WORD_DIM));
  const pos = (p) => Array.from(pe.subarray(p * POS_DIM, (p + 1) * POS_DIM));
  // PE(p − 1) is a linear function of PE(p): each (sin, cos) pair of frequency ω turns by −ω.
  // That is why a head can attend "one back" with a fixed projection of the position encoding.
  const back = (v) => {
    const out = v.slice();
    for (let i = 0; i < POS_DIM / 2; i++) {
      const w = 1 / Math.pow(10000, (2 * i) / POS_DIM);
      const [s, c] = [v[2 * i], v[2 * i + 1]];
      out[2 * i] = s * Math.cos(w) - c * Math.sin(w);
      out[2 * i + 1] = c * Math.cos(w) + s * Math.sin(w);
    }
    return out;
  };
  const g = gaussians(2 * D * 32, 404);
  const Wq = g.slice(0, D * 32).map((x) => x / Math.sqrt(32));
  const Wk = g.slice(D * 32).map((x) => x / Math.sqrt(32));
  const project = (W, x) => Array.from({ length: D }, (_, r) => x.reduce((acc, xi, c) => acc + W[r * 32 + c] * xi, 0));
  // Per-head sharpness is folded into q, so one call with scale 1 serves all heads.
  const perHead = [
    (p) => [word[p].map((x) => 5 * x), word[p]],
    (p) => [back(pos(p)).map((x) => 6 * x), pos(p)],
    (p) => [pos(p).map((x) => 1.5 * x), pos(p)],
    (p) => {
      const x = [...word[p], ...pos(p)];
      return [project(Wq, x).map((v) => v * 1.5), project(Wk, x)];
    },
  ];
  const q = new Float32Array(H * L * D);
  const k = new Float32Array(H * L * D);
  for (let h = 0; h < H; h++) {
    for (let p = 0; p < L; p++) {
      const [qv, kv] = perHead[h](p);
      q.set(qv, (h * L + p) * D);
      k.set(kv, (h * L + p) * D);
    }
  }
  const shape = [1, H, L, D];
  const { weights } = rt.scaledDotProductAttention({ data: q, shape }, { data: k, shape }, { data: k, shape }, { scale: 1, causal, returnWeights: true });
  return { words, heads: H, length: L, weights };
}
