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

/** y = W·x (+ b) for W [out, in] stored row-major, reading x from `xs` at offset `at`. */
function linear(W: ReferenceTensor, x: ArrayLike<number>, b?: ReferenceTensor, inOffset = 0): number[] {
  const [out, inp] = W.shape as [number, number];
  const y: number[] = [];
  for (let o = 0; o < out; o++) {
    let sum = b ? b.data[o]! : 0;
    for (let i = 0; i < inp; i++) sum += W.data[o * inp + i]! * x[inOffset + i]!;
    y.push(sum);
  }
  return y;
}

/**
 * One decoder step for every batch b: scores over hs[b] (h [B, H], hs [B, S, H]), weights =
 * softmax over s < lengths[b] (0 beyond), context = Σ_s weights[s]·hs[b, s], and, with Wc,
 * attentional = tanh(Wc·[context; h] + bc).
 */
function step(
  h: ReferenceTensor,
  hs: ReferenceTensor,
  score: (b: number, hb: number[], hsRow: number[]) => number,
  lengths: ArrayLike<number> | undefined,
  Wc?: ReferenceTensor,
  bc?: ReferenceTensor,
): ReferenceStep {
  const H = hs.shape[hs.shape.length - 1]!;
  const S = hs.shape[hs.shape.length - 2]!;
  const B = hs.data.length / (S * H);
  const out: ReferenceStep = { context: new Float32Array(B * H), weights: new Float32Array(B * S), scores: new Float32Array(B * S) };
  if (Wc) out.attentional = new Float32Array(B * H);
  for (let b = 0; b < B; b++) {
    const hb = Array.from(h.data.subarray(b * H, (b + 1) * H));
    const rows = Array.from({ length: S }, (_, s) => Array.from(hs.data.subarray((b * S + s) * H, (b * S + s + 1) * H)));
    const scores = rows.map((row) => score(b, hb, row));
    const n = lengths ? lengths[b]! : S;
    const max = Math.max(...scores.slice(0, n));
    const e = scores.map((x, s) => (s < n ? Math.exp(x - max) : 0));
    const sum = e.reduce((a, x) => a + x, 0);
    const w = e.map((x) => (n > 0 ? x / sum : 0));
    const c = new Array<number>(H).fill(0);
    rows.forEach((row, s) => row.forEach((x, i) => (c[i]! += w[s]! * x)));
    out.scores.set(scores, b * S);
    out.weights.set(w, b * S);
    out.context.set(c, b * H);
    if (Wc) out.attentional!.set(linear(Wc, [...c, ...hb], bc).map(Math.tanh), b * H);
  }
  return out;
}

/** Luong attention: dot h·hs, general h·(W·hs), concat va·tanh(Wa·[h; hs] + ba). */
export function luongStep(p: ReferenceLuong, h: ReferenceTensor, hs: ReferenceTensor, lengths?: ArrayLike<number>): ReferenceStep {
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
  const score =
    p.score === 'dot'
      ? (_: number, hb: number[], row: number[]) => dot(hb, row)
      : p.score === 'general'
        ? (_: number, hb: number[], row: number[]) => dot(hb, linear(p.W!, row))
        : (_: number, hb: number[], row: number[]) => dot(Array.from(p.va!.data), linear(p.Wa!, [...hb, ...row], p.ba).map(Math.tanh));
  return step(h, hs, score, lengths, p.Wc, p.bc);
}

/** Bahdanau attention as the PyTorch tutorial's module: Va(tanh(Wa(h) + Ua(hs))). */
export function bahdanauStep(w: Record<string, ReferenceTensor>, h: ReferenceTensor, hs: ReferenceTensor, lengths?: ArrayLike<number>): ReferenceStep {
  const score = (_: number, hb: number[], row: number[]) => {
    const q = linear(w['Wa.weight']!, hb, w['Wa.bias']);
    const k = linear(w['Ua.weight']!, row, w['Ua.bias']);
    return linear(w['Va.weight']!, q.map((x, i) => Math.tanh(x + k[i]!)), w['Va.bias'])[0]!;
  };
  return step(h, hs, score, lengths);
}
