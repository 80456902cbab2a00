/**
 * The decoding searches of `gruSeq2seq` (greedy and beam), over any decoder step: plain JS on
 * the step's log-probabilities, shared by the runtime and its twin (they differ in the step).
 * The step runs a batch of rows; `keep` then says which rows continue (and from which parent), so
 * finished sentences drop out of the batch and beams are reordered without copying in JS.
 */

/** What a search needs from a decoder bound to its source(s). */
export interface SearchStep {
  /**
   * One decoder step for `rows` rows fed tokens[0..rows): log-probabilities [rows, V] and attention
   * weights (row r at r·ldAttention, the first S of the row's source). Views: read them before the
   * next call.
   */
  step(tokens: Int32Array, rows: number): { logProbs: Float32Array; attention: Float32Array; ldAttention: number };
  /** Rows to go on: new row i continues old row parents[i] (its state after the last step), i < count. */
  keep(parents: Int32Array, count: number): void;
}

/** One decoded sentence. */
export interface GreedyResult {
  /** The argmax tokens, ending with EOS when it was emitted. */
  tokens: number[];
  /** [T, V]: the log-probabilities of every step. */
  logProbs: Float32Array;
  /** [T, S]: the attention weights over the source at every step. */
  attentions: Float32Array;
}

/** One beam-search hypothesis. */
export interface BeamHypothesis {
  /** The emitted tokens, ending with EOS when the hypothesis finished. */
  tokens: number[];
  /** Σ of the log-probabilities of the emitted tokens (EOS included). */
  score: number;
  /** [T]: the log-probability of each emitted token at its step (their sum is `score`). */
  tokenLogProbs: number[];
  /** [T, S]: the attention weights of every step. */
  attentions: Float32Array;
}

/** The first index of the largest value of row [from, from + n) (NaN never wins). */
export function argmax(x: Float32Array, from: number, n: number): number {
  let best = 0;
  let value = -Infinity;
  for (let v = 0; v < n; v++) {
    if (x[from + v]! > value) {
      value = x[from + v]!;
      best = v;
    }
  }
  return best;
}

/**
 * Greedy decoding of B sentences in one batch: every row starts from `sos`, feeds back its argmax,
 * and leaves the batch after emitting `eos` or after maxLength steps. Row b's source length is
 * sourceLengths[b] (the width of its attention rows).
 */
export function greedySearch(dec: SearchStep, sourceLengths: readonly number[], vocab: number, sos: number, eos: number, maxLength: number): GreedyResult[] {
  const B = sourceLengths.length;
  const tokens: number[][] = Array.from({ length: B }, () => []);
  const logProbs: Float32Array[][] = Array.from({ length: B }, () => []);
  const attentions: Float32Array[][] = Array.from({ length: B }, () => []);
  // row r decodes sentence active[r]; the first `rows` entries of each buffer are in use
  let active = new Int32Array(B), nextActive = new Int32Array(B);
  let feed = new Int32Array(B), nextFeed = new Int32Array(B);
  for (let b = 0; b < B; b++) active[b] = b;
  feed.fill(sos);
  const parents = new Int32Array(B);
  let rows = B;
  for (let t = 0; t < maxLength && rows > 0; t++) {
    const out = dec.step(feed, rows);
    let count = 0;
    for (let r = 0; r < rows; r++) {
      const b = active[r]!;
      const token = argmax(out.logProbs, r * vocab, vocab);
      tokens[b]!.push(token);
      logProbs[b]!.push(out.logProbs.slice(r * vocab, (r + 1) * vocab));
      attentions[b]!.push(out.attention.slice(r * out.ldAttention, r * out.ldAttention + sourceLengths[b]!));
      if (token !== eos) {
        parents[count] = r;
        nextActive[count] = b;
        nextFeed[count++] = token;
      }
    }
    dec.keep(parents, count); // also when every row goes on: the state moves to the next step
    [active, nextActive, feed, nextFeed] = [nextActive, active, nextFeed, feed];
    rows = count;
  }
  return tokens.map((toks, b) => ({ tokens: toks, logProbs: concat(logProbs[b]!, vocab), attentions: concat(attentions[b]!, sourceLengths[b]!) }));
}

export interface BeamOptions {
  beamSize: number;
  maxLength: number;
  lengthPenalty: number;
}

/** A hypothesis in the search: its last token, score, length and where it came from. */
interface Node {
  token: number;
  score: number;
  /** log p(token) at its step. */
  logProb: number;
  length: number;
  parent: Node | undefined;
  /** Its step's attention row. */
  attention: Float32Array;
}

/**
 * Beam search over one source of length S. The rule:
 * - the live beams (at most beamSize, at first one: `sos`) run as one batch through the step;
 * - every (beam, token) extension is scored score + log p(token); the extensions are taken best
 *   first (ties: lower beam, then lower token): one ending in `eos` among the best beamSize
 *   finishes (its tokens include EOS); the others become the next live beams until there are
 *   beamSize of them;
 * - ranking: score / T^α with T the number of tokens (EOS included) and α = lengthPenalty (0: the
 *   score itself);
 * - the search stops after maxLength steps, or once beamSize hypotheses have finished and no live
 *   beam can reach the rank of the beamSize-th: a live beam's score can only fall (log p ≤ 0), so
 *   its best rank is score / maxLength^α (α ≥ 0), score itself for α = 0;
 * - the result: the finished hypotheses, with the beams still live at maxLength counted as
 *   finished there (without EOS), the best beamSize by rank, best first.
 */
export function beamSearch(dec: SearchStep, source: number, vocab: number, sos: number, eos: number, options: BeamOptions): BeamHypothesis[] {
  const { beamSize, maxLength, lengthPenalty: alpha } = options;
  const rank = (n: Node): number => (alpha === 0 ? n.score : n.score / Math.pow(n.length, alpha));
  let live: Node[] = [{ token: sos, score: 0, logProb: 0, length: 0, parent: undefined, attention: new Float32Array(0) }];
  const finished: Node[] = [];
  const feed = new Int32Array(beamSize);
  const parents = new Int32Array(beamSize);
  // The best 2·beamSize extensions suffice: at most one EOS per beam (≤ beamSize) comes before the
  // beamSize-th non-EOS one.
  const K = 2 * beamSize;
  const topIndex = new Int32Array(K);
  const topScore = new Float64Array(K);
  for (let t = 0; t < maxLength && live.length > 0; t++) {
    const rows = live.length;
    for (let r = 0; r < rows; r++) feed[r] = live[r]!.token;
    const out = dec.step(feed, rows);
    // the best K extensions, best first; ties: the lower index (beam-major, token-minor) first
    let n = 0;
    for (let i = 0; i < rows * vocab; i++) {
      const score = live[(i / vocab) | 0]!.score + out.logProbs[i]!;
      if (!(score > -Infinity) || (n === K && !(score > topScore[K - 1]!))) continue;
      let at = n < K ? n++ : K - 1;
      for (; at > 0 && topScore[at - 1]! < score; at--) {
        topScore[at] = topScore[at - 1]!;
        topIndex[at] = topIndex[at - 1]!;
      }
      topScore[at] = score;
      topIndex[at] = i;
    }
    const next: Node[] = [];
    for (let k = 0; k < n && next.length < beamSize; k++) {
      const i = topIndex[k]!;
      const r = (i / vocab) | 0, token = i % vocab;
      const node: Node = { token, score: topScore[k]!, logProb: out.logProbs[i]!, length: live[r]!.length + 1, parent: live[r], attention: out.attention.slice(r * out.ldAttention, r * out.ldAttention + source) };
      if (token === eos) {
        if (k < beamSize) finished.push(node);
      } else {
        parents[next.length] = r;
        next.push(node);
      }
    }
    live = next;
    if (t + 1 === maxLength) break;
    if (finished.length >= beamSize) {
      const kth = finished.map(rank).sort((a, b) => b - a)[beamSize - 1]!;
      const bound = (n: Node): number => (alpha === 0 || n.score > 0 ? n.score : n.score / Math.pow(maxLength, alpha));
      if (live.every((n) => bound(n) <= kth)) break;
    }
    dec.keep(parents, live.length);
  }
  const all = [...finished, ...live].map((n, i) => ({ n, i, r: rank(n) }));
  all.sort((a, b) => b.r - a.r || a.i - b.i);
  return all.slice(0, beamSize).map(({ n }) => {
    const path: Node[] = [];
    for (let p: Node | undefined = n; p && p.parent; p = p.parent) path.unshift(p);
    return { tokens: path.map((p) => p.token), score: n.score, tokenLogProbs: path.map((p) => p.logProb), attentions: concat(path.map((p) => p.attention), source) };
  });
}

function concat(rows: Float32Array[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => out.set(row, i * width));
  return out;
}
