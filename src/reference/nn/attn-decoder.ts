/**
 * The twin of `runtime.attnDecoderRNN`: the PyTorch seq2seq tutorial's AttnDecoderRNN (eval) in
 * float64 loops. One step for a row with hidden h over source states hs [S, H]:
 *   e = embedding[token];  score_s = Va·tanh(Wa·h + ba + Ua·hs_s + bu) + bv;  w = softmax(score)
 *   c = Σ_s w_s·hs_s;  h' = GRU([e; c], h);  logProbs = log_softmax(out·h' + out.bias)
 */
import { checkLengths, checkOptions, checkTensor, formatShape } from '../check.js';
import { checkIds } from '../ids.js';
import { gruCell64, gruParams, gruShapes64, namedWeights, type GruParams } from './gru.js';
import type { ReferenceTensor } from '../tensor.js';
import { modulePrefix } from '../state-dict.js';
import { checkWeightDtype, inputLevels, roundInput, weightAs, type DtypeOption, type WeightDtype } from '../dtype.js';

export interface ReferenceAttnDecoderStep {
  /** [B, V] */
  logProbs: Float32Array;
  /** [B, H] */
  hidden: Float32Array;
  /** [B, S] */
  attention: Float32Array;
}

/** @internal The decoder's weights (float32 copies; the Linear ones as the runtime holds them in its dtype). */
export interface DecoderParams {
  H: number;
  V: number;
  emb: Float32Array;
  wa: ArrayLike<number>; wab: Float32Array; ua: ArrayLike<number>; uab: Float32Array; va: Float32Array; vb: number;
  gru: GruParams;
  out: ArrayLike<number>; outb: Float32Array;
  /** Wa, Ua and out are quantized: their inputs (h, the source states, h') are rounded as the kernels round them, to these levels (0: not rounded) */
  roundH: number;
}

/** @internal A bound source: its states (float32) and keys Ua·hs + bu (float64). */
export interface Source64 {
  hs: Float32Array;
  keys: Float64Array;
  length: number;
}

/** @internal The decoder's names under `prefix`, checked. */
export function decoderParams(where: string, stateDict: unknown, prefix: unknown, dtype: WeightDtype = 'f32'): DecoderParams {
  const p = typeof prefix === 'string' ? modulePrefix(prefix) : '';
  const probe = typeof stateDict === 'object' && stateDict !== null ? (stateDict as Record<string, unknown>)[`${p}out.weight`] : undefined;
  const shape = probe === undefined ? [1, 1] : checkTensor(`${where}: weights['${p}out.weight']`, probe).shape;
  const [V, H] = shape.length === 2 ? (shape as [number, number]) : [1, 1];
  const w = namedWeights(where, stateDict, prefix, {
    'embedding.weight': [V, H], 'attention.Wa.weight': [H, H], 'attention.Wa.bias': [H], 'attention.Ua.weight': [H, H], 'attention.Ua.bias': [H],
    'attention.Va.weight': [1, H], 'attention.Va.bias': [1], ...gruShapes64(2 * H, H, 'gru.'), 'out.weight': [V, H], 'out.bias': [V],
  });
  return {
    H, V, emb: w['embedding.weight']!,
    wa: weightAs(w['attention.Wa.weight']!, H, H, dtype), wab: w['attention.Wa.bias']!, ua: weightAs(w['attention.Ua.weight']!, H, H, dtype), uab: w['attention.Ua.bias']!,
    va: w['attention.Va.weight']!, vb: w['attention.Va.bias']![0]!,
    // W_ih is held as its token and context halves [3H, H]: quantized when H is a multiple of 32
    gru: gruParams(where, w, 'gru.', 2 * H, H, dtype, H), out: weightAs(w['out.weight']!, V, H, dtype), outb: w['out.bias']!,
    roundH: inputLevels(H, dtype),
  };
}

/** @internal keys = hs·Uaᵀ + bu over a source's rows. */
export function source64(p: DecoderParams, hs: Float32Array, length: number): Source64 {
  const H = p.H;
  const keys = new Float64Array(length * H);
  for (let s = 0; s < length; s++) {
    const x = p.roundH ? roundInput(hs, s * H, H, p.roundH) : hs.subarray(s * H, (s + 1) * H);
    for (let o = 0; o < H; o++) {
      let sum = p.uab[o]!;
      for (let i = 0; i < H; i++) sum += p.ua[o * H + i]! * x[i]!;
      keys[s * H + o] = sum;
    }
  }
  return { hs, keys, length };
}

/** @internal One decoder step of one row. */
export function decoderStep64(p: DecoderParams, src: Source64, token: number, h: ArrayLike<number>): { logProbs: Float64Array; hidden: Float64Array; attention: Float64Array } {
  const { H, V } = p;
  const S = src.length;
  const q = new Float64Array(H);
  const hr = p.roundH ? roundInput(h, 0, H, p.roundH) : h;
  for (let o = 0; o < H; o++) {
    let sum = p.wab[o]!;
    for (let i = 0; i < H; i++) sum += p.wa[o * H + i]! * hr[i]!;
    q[o] = sum;
  }
  const attention = new Float64Array(S);
  let max = -Infinity;
  for (let s = 0; s < S; s++) {
    let score = p.vb;
    for (let i = 0; i < H; i++) score += p.va[i]! * Math.tanh(q[i]! + src.keys[s * H + i]!);
    attention[s] = score;
    max = Math.max(max, score);
  }
  let total = 0;
  for (let s = 0; s < S; s++) total += attention[s] = Math.exp(attention[s]! - max);
  const x = new Float64Array(2 * H);
  for (let i = 0; i < H; i++) x[i] = p.emb[token * H + i]!;
  for (let s = 0; s < S; s++) {
    attention[s] = attention[s]! / total;
    for (let i = 0; i < H; i++) x[H + i] += attention[s]! * src.hs[s * H + i]!;
  }
  const hidden = gruCell64(p.gru, x, 0, h);
  const hn = p.roundH ? roundInput(hidden, 0, H, p.roundH) : hidden;
  const logProbs = new Float64Array(V);
  let lmax = -Infinity;
  for (let v = 0; v < V; v++) {
    let sum = p.outb[v]!;
    for (let i = 0; i < H; i++) sum += p.out[v * H + i]! * hn[i]!;
    logProbs[v] = sum;
    lmax = Math.max(lmax, sum);
  }
  let z = 0;
  for (let v = 0; v < V; v++) z += Math.exp(logProbs[v]! - lmax);
  const lse = lmax + Math.log(z);
  for (let v = 0; v < V; v++) logProbs[v] = logProbs[v]! - lse;
  return { logProbs, hidden, attention };
}

/** The twin of the runtime's `BoundAttnDecoder`. */
export class ReferenceBoundAttnDecoder {
  readonly batch: number;
  readonly sourceLength: number;
  readonly hiddenSize: number;
  #sources: Source64[] | undefined;
  readonly #params: () => DecoderParams;

  /** @internal use `decoder.bind(...)` */
  constructor(owner: ReferenceAttnDecoderRNN, params: () => DecoderParams, sources: Source64[], sourceLength: number) {
    this.#params = params;
    this.batch = sources.length;
    this.sourceLength = sourceLength;
    this.hiddenSize = owner.hiddenSize;
    this.#sources = sources;
  }

  /** tokens (one id or B ids), hidden [B, H] → { logProbs [B, V], hidden [B, H], attention [B, S] }. */
  step(tokens: number | ArrayLike<number>, hidden: ReferenceTensor): ReferenceAttnDecoderStep {
    const sources = this.#sources;
    if (!sources) throw new Error('attnDecoderRNN: this bound decoder was disposed');
    const p = this.#params();
    const H = this.hiddenSize;
    const single = typeof tokens === 'number';
    const ids = checkIds('tokens', single ? [tokens] : tokens, p.V);
    const rows = ids.length;
    if (rows === 0) throw new RangeError('tokens: expected at least one token');
    if (this.batch !== 1 && rows !== this.batch) throw new RangeError(`tokens: expected ${this.batch} tokens (the batch of the bound encoder outputs), received ${rows}`);
    const h = checkTensor('hidden', hidden);
    const s = h.shape;
    const ok = (s.length === 2 && s[0] === rows && s[1] === H) || (s.length === 3 && s[0] === 1 && s[1] === rows && s[2] === H) || (single && s.length === 1 && s[0] === H);
    if (!ok) throw new RangeError(`hidden: expected shape [${rows}, ${H}] or [1, ${rows}, ${H}]${single ? ` or [${H}]` : ''} (one row per token, hiddenSize), received ${formatShape(s)}`);
    const S = this.sourceLength;
    const out = { logProbs: new Float32Array(rows * p.V), hidden: new Float32Array(rows * H), attention: new Float32Array(rows * S) };
    for (let r = 0; r < rows; r++) {
      const o = decoderStep64(p, sources[this.batch === 1 ? 0 : r]!, ids[r]!, h.data.subarray(r * H, (r + 1) * H));
      out.logProbs.set(o.logProbs, r * p.V);
      out.hidden.set(o.hidden, r * H);
      out.attention.set(o.attention, r * S);
    }
    return out;
  }

  /** Drops the bound sources. Idempotent. */
  dispose(): void {
    this.#sources = undefined;
  }
}

/** The twin of the runtime's `AttnDecoderRNN`. */
export class ReferenceAttnDecoderRNN {
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly dtype: WeightDtype;
  #p: DecoderParams | undefined;

  /** @internal use `reference.attnDecoderRNN(...)` */
  constructor(p: DecoderParams, dtype: WeightDtype) {
    this.hiddenSize = p.H;
    this.vocabSize = p.V;
    this.dtype = dtype;
    this.#p = p;
  }

  #live = (): DecoderParams => {
    if (!this.#p) throw new Error('attnDecoderRNN: this module was disposed');
    return this.#p;
  };

  /** encoderOutputs [B, S, H] (or [S, H]), per-batch lengths → a bound decoder. */
  bind(encoderOutputs: ReferenceTensor, options?: { lengths?: ArrayLike<number> }): ReferenceBoundAttnDecoder {
    const p = this.#live();
    const H = p.H;
    const hs = checkTensor('encoderOutputs', encoderOutputs);
    const opts = checkOptions('options', options, ['lengths'], 'bind');
    const s = hs.shape;
    if (!((s.length === 3 && s[2] === H) || (s.length === 2 && s[1] === H))) {
      throw new RangeError(`encoderOutputs: expected shape [B, S, ${H}] or [S, ${H}] (the hidden size of the decoder), received ${formatShape(s)}`);
    }
    const [B, S] = s.length === 3 ? [s[0]!, s[1]!] : [1, s[0]!];
    const lengths = checkLengths('options.lengths', opts['lengths'], B, S) ?? new Int32Array(B).fill(S);
    const sources = Array.from({ length: B }, (_, b) => source64(p, hs.data.slice(b * S * H, (b + 1) * S * H), lengths[b]!));
    return new ReferenceBoundAttnDecoder(this, this.#live, sources, S);
  }

  /** Drops the weights. Idempotent. */
  dispose(): void {
    this.#p = undefined;
  }
}

/** The tutorial's AttnDecoderRNN from its state_dict (`prefix`): the twin of `runtime.attnDecoderRNN`. */
export function attnDecoderRNN(stateDict: Record<string, ReferenceTensor>, options?: { prefix?: string; dtype?: DtypeOption }): ReferenceAttnDecoderRNN {
  const opts = checkOptions('options', options, ['prefix', 'dtype'], 'attnDecoderRNN');
  const dtype = checkWeightDtype('attnDecoderRNN', 'options.dtype', opts['dtype']);
  return new ReferenceAttnDecoderRNN(decoderParams('attnDecoderRNN', stateDict, opts['prefix'], dtype), dtype);
}
