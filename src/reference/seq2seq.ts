import type { ReferenceTensor } from './tensor.js';

export interface ReferenceStep {
  context: Float32Array;
  weights: Float32Array;
  scores: Float32Array;
  attentional?: Float32Array;
}

export interface ReferenceLuong {
  score: 'dot' | 'general' | 'concat';
  W?: ReferenceTensor;
  Wa?: ReferenceTensor;
  ba?: ReferenceTensor;
  va?: ReferenceTensor;
  Wc?: ReferenceTensor;
  bc?: ReferenceTensor;
}

/** y[r, o] = Σ_i x[r, i]·W[o, col0 + i] (+ b[o]) for x [rows, n], W [out, ldw] (a Linear weight, maybe a column slice). */
function linear(x: ArrayLike<number>, rows: number, n: number, W: ReferenceTensor, col0 = 0, b?: ReferenceTensor): Float64Array {
  const [out, ldw] = W.shape as [number, number];
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let sum = b ? b.data[o]! : 0;
      for (let i = 0; i < n; i++) sum += x[r * n + i]! * W.data[o * ldw + col0 + i]!;
      y[r * out + o] = sum;
    }
  }
  return y;
}

/** How one attention scores: keys from hs (once per source), a query from h (per step), and the score of (query, key). */
interface Scorer {
  keys(hs: Float32Array, rows: number, H: number): ArrayLike<number>;
  query(h: Float32Array, H: number): ArrayLike<number>;
  /** additive: v and its bias; dot product otherwise. */
  v?: Float32Array;
  vBias?: number;
}

/**
 * A bound decode over hs [B, S, H]: per step, for every batch b,
 *   scores[s] = query·keys[s] (dot, general) or v·tanh(query + keys[s]) + vBias (concat, additive)
 *   weights = softmax(scores) over s < lengths[b] (0 beyond; all 0 when lengths[b] = 0)
 *   context = Σ_s weights[s]·hs[b, s];   attentional = tanh(Wc·[context; h] + bc) when Wc is given.
 */
class ReferenceMemory {
  private readonly keys: ArrayLike<number>;
  constructor(
    private readonly scorer: Scorer,
    private readonly hs: Float32Array,
    private readonly B: number,
    private readonly S: number,
    private readonly H: number,
    private readonly lengths: ArrayLike<number> | undefined,
    private readonly Wc?: ReferenceTensor,
    private readonly bc?: ReferenceTensor,
  ) {
    this.keys = scorer.keys(hs, B * S, H);
  }

  step(h: ReferenceTensor): ReferenceStep {
    const { B, S, H, hs, keys, scorer } = this;
    const out: ReferenceStep = { context: new Float32Array(B * H), weights: new Float32Array(B * S), scores: new Float32Array(B * S) };
    if (this.Wc) out.attentional = new Float32Array(B * H);
    const e = new Float64Array(S);
    for (let b = 0; b < B; b++) {
      const hb = h.data.subarray(b * H, (b + 1) * H);
      const q = scorer.query(hb, H);
      for (let s = 0; s < S; s++) {
        let score = scorer.vBias ?? 0;
        for (let i = 0; i < H; i++) {
          const k = keys[(b * S + s) * H + i]!;
          score += scorer.v ? scorer.v[i]! * Math.tanh(q[i]! + k) : q[i]! * k;
        }
        out.scores[b * S + s] = e[s] = score;
      }
      const n = this.lengths ? this.lengths[b]! : S;
      let max = -Infinity;
      for (let s = 0; s < n; s++) max = Math.max(max, e[s]!);
      let sum = 0;
      for (let s = 0; s < n; s++) sum += e[s] = Math.exp(e[s]! - max);
      const c = new Float64Array(H);
      for (let s = 0; s < n; s++) {
        const w = e[s]! / sum;
        out.weights[b * S + s] = w;
        for (let i = 0; i < H; i++) c[i] += w * hs[(b * S + s) * H + i]!;
      }
      out.context.set(c, b * H);
      if (this.Wc) {
        const cat = new Float64Array(2 * H);
        cat.set(c);
        cat.set(hb, H);
        out.attentional!.set(linear(cat, 1, 2 * H, this.Wc, 0, this.bc).map(Math.tanh), b * H);
      }
    }
    return out;
  }
}

/** Plain-JS twin of `runtime.luongAttention` / `runtime.bahdanauAttention`: `bind(hs).step(h)`, or `attend(h, hs)`. */
export class ReferenceSeq2seq {
  constructor(
    private readonly scorer: Scorer,
    private readonly Wc?: ReferenceTensor,
    private readonly bc?: ReferenceTensor,
  ) {}

  bind(hs: ReferenceTensor, options: { lengths?: ArrayLike<number> } = {}): ReferenceMemory {
    const H = hs.shape[hs.shape.length - 1]!;
    const S = hs.shape[hs.shape.length - 2]!;
    return new ReferenceMemory(this.scorer, hs.data, hs.data.length / (S * H), S, H, options.lengths, this.Wc, this.bc);
  }

  attend(h: ReferenceTensor, hs: ReferenceTensor, options: { lengths?: ArrayLike<number> } = {}): ReferenceStep {
    return this.bind(hs, options).step(h);
  }
}

/** Luong: dot h·hs; general h·(W·hs); concat va·tanh(Wa·[h; hs] + ba) = va·tanh(Wa[:, :H]·h + (Wa[:, H:]·hs + ba)). */
export function luongAttention(p: ReferenceLuong): ReferenceSeq2seq {
  const identity: Scorer = { keys: (hs) => hs, query: (h) => h };
  const scorer: Scorer =
    p.score === 'dot'
      ? identity
      : p.score === 'general'
        ? { keys: (hs, rows, H) => linear(hs, rows, H, p.W!), query: (h) => h }
        : {
            keys: (hs, rows, H) => linear(hs, rows, H, p.Wa!, H, p.ba),
            query: (h, H) => linear(h, 1, H, p.Wa!, 0),
            v: p.va!.data,
          };
  return new ReferenceSeq2seq(scorer, p.Wc, p.bc);
}

/** Bahdanau as the PyTorch tutorial's module: scores = Va(tanh(Wa(h) + Ua(hs))). */
export function bahdanauAttention(w: Record<string, ReferenceTensor>): ReferenceSeq2seq {
  return new ReferenceSeq2seq({
    keys: (hs, rows, H) => linear(hs, rows, H, w['Ua.weight']!, 0, w['Ua.bias']),
    query: (h, H) => linear(h, 1, H, w['Wa.weight']!, 0, w['Wa.bias']),
    v: w['Va.weight']!.data,
    vBias: w['Va.bias']!.data[0]!,
  });
}
