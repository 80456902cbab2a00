/**
 * The twins of `runtime.luongAttention` and `runtime.bahdanauAttention`: the same attention object
 * (score, hiddenSize, bind, attend, dispose) and bound memory (batch, sourceLength, hiddenSize,
 * step, dispose), computed in plain float64 loops.
 *
 *   dot       score(h, hs) = h·hs
 *   general   score(h, hs) = h·(W·hs)                      W [H, H]       (Luong)
 *   concat    score(h, hs) = va·tanh(Wa·[h; hs] + ba)       Wa [H, 2H]     (Luong)
 *   additive  score(h, hs) = Va·tanh(Wa·h + ba + Ua·hs + bu) + bv           (Bahdanau, PyTorch tutorial)
 *
 * weights = softmax(scores) over s < lengths[b] (0 beyond; all 0 when lengths[b] = 0),
 * context = Σ_s weights[s]·hs[b, s], attentional = tanh(Wc·[context; h] + bc) when Wc is given.
 */
import { checkLengths, checkOptions, checkTensor, checkWeight, describe, expectShape, formatShape } from '../check.js';
import type { ReferenceTensor } from '../tensor.js';
import { entriesUnder, modulePrefix, nameMismatch } from '../state-dict.js';
import { checkWeightDtype, inputLevels, roundInput, weightAs, type DtypeOption, type WeightDtype } from '../dtype.js';

export type ReferenceLuongScore = 'dot' | 'general' | 'concat';

/** The options of `runtime.luongAttention`, by the same names. */
export interface ReferenceLuongOptions {
  score: ReferenceLuongScore;
  /** general: W [H, H] (no bias), score = h·(W·hs). */
  W?: ReferenceTensor;
  /** concat: Wa [H, 2H] applied to [h; hs]. */
  Wa?: ReferenceTensor;
  /** concat: bias of Wa [H] (optional). */
  ba?: ReferenceTensor;
  /** concat: va [H]. */
  va?: ReferenceTensor;
  /** Attentional state h̃ = tanh(Wc·[c; h] + bc): Wc [H, 2H]. */
  Wc?: ReferenceTensor;
  /** Bias of Wc [H] (optional). */
  bc?: ReferenceTensor;
  /** W, Wa and Wc held as the runtime holds them in this dtype (reference/dtype.ts); default 'f32'. */
  dtype?: DtypeOption;
}

/** The state_dict of the PyTorch seq2seq tutorial's `BahdanauAttention` (Wa, Ua = Linear(H, H); Va = Linear(H, 1)). */
export interface ReferenceBahdanauWeights {
  'Wa.weight': ReferenceTensor;
  'Wa.bias': ReferenceTensor;
  'Ua.weight': ReferenceTensor;
  'Ua.bias': ReferenceTensor;
  'Va.weight': ReferenceTensor;
  'Va.bias': ReferenceTensor;
}

/** The options of `bind` / `attend`, by the same names. */
export interface ReferenceBindOptions {
  /** Source lengths per batch: positions s ≥ lengths[b] are padding and get zero weight. */
  lengths?: ArrayLike<number>;
}

/** What a step returns: the runtime's `StepResult`. */
export interface ReferenceStepResult {
  /** [B, H] (or [H]). */
  context: Float32Array;
  /** [B, S] (or [S]). */
  weights: Float32Array;
  /** [B, S] (or [S]): the raw scores (padding positions included, as computed). */
  scores: Float32Array;
  /** [B, H] (or [H]): tanh(Wc·[c; h] + bc), when the attention has Wc. */
  attentional?: Float32Array;
}

/** @deprecated the same as `ReferenceStepResult` */
export type ReferenceStep = ReferenceStepResult;
/** @deprecated the same as `ReferenceLuongOptions` */
export type ReferenceLuong = ReferenceLuongOptions;

/** A weight: row-major data and its shape [out, ldw] (or [n] for a vector). */
interface Weight {
  data: Float32Array;
  shape: number[];
}

/**
 * Columns [col0, col0 + n) of a Linear weight [out, ldw] as the runtime holds them in `dtype`
 * (rounded by weightAs), and whether the product rounds its input rows as the Q8 / Q4 kernels do.
 */
interface Held {
  w: ArrayLike<number>;
  out: number;
  n: number;
  /** the levels the product rounds its input rows to (0: not rounded) */
  roundX: number;
}

function held(W: Weight, col0: number, n: number, dtype: WeightDtype): Held {
  const [out, ldw] = W.shape as [number, number];
  const slice = new Float32Array(out * n);
  for (let o = 0; o < out; o++) slice.set(W.data.subarray(o * ldw + col0, o * ldw + col0 + n), o * n);
  return { w: weightAs(slice, out, n, dtype), out, n, roundX: inputLevels(n, dtype) };
}

/** y[r, o] = Σ_i x[r, i]·W[o, i] (+ b[o]) for x [rows, n] and a held W [out, n]. */
function linear(x: ArrayLike<number>, rows: number, W: Held, b?: Weight): Float64Array {
  const { out, n, w } = W;
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    const xr = W.roundX ? roundInput(x, r * n, n, W.roundX) : x, at = W.roundX ? 0 : r * n;
    for (let o = 0; o < out; o++) {
      let sum = b ? b.data[o]! : 0;
      for (let i = 0; i < n; i++) sum += xr[at + i]! * w[o * n + i]!;
      y[r * out + o] = sum;
    }
  }
  return y;
}

/** How one attention scores: keys from hs (once per source, at bind), a query from h (per step), and the score of (query, key). */
interface Scorer {
  keys(hs: Float32Array, rows: number, H: number): ArrayLike<number>;
  query(h: Float32Array, H: number): ArrayLike<number>;
  /** additive: v and its bias; dot product otherwise. */
  v?: Float32Array;
  vBias?: number;
}

/** What an attention hands its bound memories: the scorer, the attentional state, and a liveness check. */
interface Module {
  scorer: Scorer;
  Wc?: Held;
  bc?: Weight;
  assertLive(): void;
}

/** The twin of the runtime's `BoundAttention`: encoder states bound for a decode; call `step` once per decoder step. */
export class ReferenceBoundAttention {
  readonly batch: number;
  readonly sourceLength: number;
  readonly hiddenSize: number;
  readonly #module: Module;
  readonly #unbatched: boolean;
  readonly #lengths: Int32Array;
  #hs: Float32Array | undefined;
  #keys: ArrayLike<number> | undefined;

  /** @internal use `attention.bind(...)` */
  constructor(module: Module, hs: Float32Array, batch: number, source: number, hidden: number, lengths: Int32Array, unbatched: boolean) {
    this.#module = module;
    this.batch = batch;
    this.sourceLength = source;
    this.hiddenSize = hidden;
    this.#lengths = lengths;
    this.#unbatched = unbatched;
    this.#hs = hs;
    // What depends only on hs, once per source (as the runtime does at bind).
    this.#keys = module.scorer.keys(hs, batch * source, hidden);
  }

  /** One decoder step: h [B, H] (or [H] when bound to [S, H]) → context, weights, scores (and attentional state). */
  step(decoderHidden: ReferenceTensor): ReferenceStepResult {
    const hs = this.#hs;
    const keys = this.#keys;
    if (hs === undefined || keys === undefined) throw new Error('seq2seq attention: this bound memory was disposed');
    this.#module.assertLive();
    const { batch: B, sourceLength: S, hiddenSize: H } = this;
    const h = checkTensor('decoderHidden', decoderHidden);
    expectShape('decoderHidden', h.shape, this.#unbatched ? [H] : [B, H], 'batch and hidden size of the bound encoder states');
    const { scorer, Wc, bc } = this.#module;
    const out: ReferenceStepResult = { context: new Float32Array(B * H), weights: new Float32Array(B * S), scores: new Float32Array(B * S) };
    if (Wc) out.attentional = new Float32Array(B * H);
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
      const n = this.#lengths[b]!;
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
      if (Wc) {
        const cat = new Float64Array(2 * H);
        cat.set(c);
        cat.set(hb, H);
        out.attentional!.set(linear(cat, 1, Wc, bc).map(Math.tanh), b * H);
      }
    }
    return out;
  }

  /** Drops the bound encoder states and keys: `step` throws afterwards. Idempotent. */
  dispose(): void {
    this.#hs = undefined;
    this.#keys = undefined;
  }
}

/** The twin of the runtime's `Seq2seqAttention`: `bind(hs).step(h)`, or `attend(h, hs)`. */
export class ReferenceSeq2seqAttention {
  /** 'dot' | 'general' | 'concat' (Luong) or 'additive' (Bahdanau). */
  readonly score: ReferenceLuongScore | 'additive';
  /** The dtype its matrices are held in (as the runtime's `dtype`). */
  readonly dtype: WeightDtype;
  readonly #hidden: number;
  readonly #where: string;
  #module: Module | undefined;

  /** @internal use `reference.luongAttention` / `reference.bahdanauAttention` */
  constructor(score: ReferenceLuongScore | 'additive', where: string, hidden: number, scorer: Scorer, dtype: WeightDtype, Wc?: Held, bc?: Weight) {
    this.score = score;
    this.dtype = dtype;
    this.#where = where;
    this.#hidden = hidden;
    const module: Module = { scorer, assertLive: () => this.#assertLive() };
    if (Wc) module.Wc = Wc;
    if (bc) module.bc = bc;
    this.#module = module;
  }

  #assertLive(): Module {
    if (this.#module === undefined) throw new Error(`${this.#where}: this attention was disposed`);
    return this.#module;
  }

  /** Hidden size H fixed by the weights (0 for dot without Wc: any H). */
  get hiddenSize(): number {
    return this.#hidden;
  }

  /** Binds the encoder states [B, S, H] (or [S, H]; steps then take h [H]) for a whole decode, computing what depends only on them once. */
  bind(encoderStates: ReferenceTensor, options?: ReferenceBindOptions): ReferenceBoundAttention {
    const module = this.#assertLive();
    const hs = checkTensor('encoderStates', encoderStates);
    const opts = checkOptions('options', options, ['lengths'], 'bind');
    if (hs.shape.length !== 2 && hs.shape.length !== 3) {
      throw new RangeError(`encoderStates: expected shape [B, S, H] or [S, H], received ${formatShape(hs.shape)}`);
    }
    const [batch, source, hidden] = hs.shape.length === 3 ? (hs.shape as [number, number, number]) : [1, hs.shape[0]!, hs.shape[1]!];
    if (this.#hidden !== 0 && hidden !== this.#hidden) {
      throw new RangeError(`encoderStates: expected shape ${formatShape(hs.shape.length === 3 ? ['B', 'S', this.#hidden] : ['S', this.#hidden])} (the hidden size of the weights), received ${formatShape(hs.shape)}`);
    }
    const lengths = checkLengths('options.lengths', opts['lengths'], batch, source) ?? new Int32Array(batch).fill(source);
    // A copy, as the runtime copies plain encoder states into its memory at bind.
    return new ReferenceBoundAttention(module, hs.data.slice(), batch, source, hidden, lengths, hs.shape.length === 2);
  }

  /** One decoder step without binding: bind, step, dispose. */
  attend(decoderHidden: ReferenceTensor, encoderStates: ReferenceTensor, options?: ReferenceBindOptions): ReferenceStepResult {
    const memory = this.bind(encoderStates, options);
    try {
      return memory.step(decoderHidden);
    } finally {
      memory.dispose();
    }
  }

  /** Drops the weights: the attention and its bound memories throw on use afterwards. Idempotent. */
  dispose(): void {
    this.#module = undefined;
  }
}

/** Luong: dot h·hs; general h·(W·hs); concat va·tanh(Wa·[h; hs] + ba) = va·tanh(Wa[:, :H]·h + (Wa[:, H:]·hs + ba)). */
export function luongAttention(options: ReferenceLuongOptions): ReferenceSeq2seqAttention {
  const where = 'luongAttention';
  const opts = checkOptions('options', options, ['score', 'W', 'Wa', 'ba', 'va', 'Wc', 'bc', 'dtype'], where);
  const score = opts['score'];
  if (score !== 'dot' && score !== 'general' && score !== 'concat') {
    throw new TypeError(`${where}: options.score must be 'dot', 'general' or 'concat', received ${describe(score)}`);
  }
  const dtype = checkWeightDtype(where, 'options.dtype', opts['dtype']);
  // The hidden size comes from the first weight present (0 for dot without Wc); every other weight must agree.
  const firstName = score === 'general' ? 'W' : score === 'concat' ? 'Wa' : 'Wc';
  const first = opts[firstName];
  const hidden = first === undefined ? 0 : checkTensor(`${where}: ${firstName}`, first).shape[0]!;
  const weight = (name: string, expected: (number | string)[], why: string): Weight => checkWeight(where, name, opts[name], expected, why);
  let scorer: Scorer;
  if (score === 'dot') scorer = { keys: (hs) => hs, query: (h) => h };
  else if (score === 'general') {
    const W = held(weight('W', [hidden, hidden], 'W [H, H] with score = h·(W·hs)'), 0, hidden, dtype);
    scorer = { keys: (hs, rows) => linear(hs, rows, W), query: (h) => h };
  } else {
    const Wa = weight('Wa', [hidden, 2 * hidden], 'Wa [H, 2H] applied to [h; hs]');
    const va = weight('va', [hidden], 'va [H]');
    const ba = opts['ba'] === undefined ? undefined : weight('ba', [hidden], 'the bias of Wa, [H]');
    // the h half per step, the hs half (and ba) at bind: two [H, H] matrices, as the runtime holds them
    const Wq = held(Wa, 0, hidden, dtype), Wk = held(Wa, hidden, hidden, dtype);
    scorer = { keys: (hs, rows) => linear(hs, rows, Wk, ba), query: (h) => linear(h, 1, Wq), v: va.data };
  }
  const Wc = opts['Wc'] === undefined ? undefined : held(weight('Wc', [hidden, 2 * hidden], 'Wc [H, 2H] applied to [c; h]'), 0, 2 * hidden, dtype);
  let bc: Weight | undefined;
  if (opts['bc'] !== undefined) {
    if (Wc === undefined) throw new TypeError(`${where}: bc is given without Wc`);
    bc = weight('bc', [hidden], 'the bias of Wc, [H]');
  }
  return new ReferenceSeq2seqAttention(score, where, hidden, scorer, dtype, Wc, bc);
}

const BAHDANAU_NAMES = ['Wa.weight', 'Wa.bias', 'Ua.weight', 'Ua.bias', 'Va.weight', 'Va.bias'];

/** Bahdanau as the PyTorch tutorial's module: scores = Va(tanh(Wa(h) + Ua(hs))). */
export function bahdanauAttention(stateDict: ReferenceBahdanauWeights | Record<string, unknown>, options?: { prefix?: string; dtype?: DtypeOption }): ReferenceSeq2seqAttention {
  const where = 'bahdanauAttention';
  // `prefix` picks the attention out of a whole model's state_dict (e.g. 'decoder.attention.')
  const opts = checkOptions('options', options, ['prefix', 'dtype'], where);
  const given = opts['prefix'] ?? '';
  const dtype = checkWeightDtype(where, 'options.dtype', opts['dtype']);
  if (typeof given !== 'string') throw new TypeError(`${where}: prefix must be a string, received ${describe(given)}`);
  if (typeof stateDict !== 'object' || stateDict === null || Array.isArray(stateDict)) {
    throw new TypeError(`${where}: weights must be the state_dict of the tutorial's BahdanauAttention (${BAHDANAU_NAMES.join(', ')}), received ${describe(stateDict)}`);
  }
  const prefix = modulePrefix(given);
  const message = nameMismatch({ where, all: stateDict as Record<string, unknown>, prefix, required: BAHDANAU_NAMES });
  if (message !== undefined) throw new TypeError(message);
  const weights = entriesUnder(stateDict as Record<string, unknown>, prefix) as unknown as ReferenceBahdanauWeights;
  const Wa = checkWeight(where, "weights['Wa.weight']", weights['Wa.weight'], ['H', 'H'], 'Linear(H, H) weight as [out, in]');
  const hidden = Wa.shape[0]!;
  const lin = `Linear(${hidden}, ${hidden})`;
  expectShape(`${where}: weights['Wa.weight']`, Wa.shape, [hidden, hidden], `${lin} weight as [out, in]`);
  const Wab = checkWeight(where, "weights['Wa.bias']", weights['Wa.bias'], [hidden], `${lin} bias`);
  const Ua = checkWeight(where, "weights['Ua.weight']", weights['Ua.weight'], [hidden, hidden], `${lin} weight as [out, in]`);
  const Uab = checkWeight(where, "weights['Ua.bias']", weights['Ua.bias'], [hidden], `${lin} bias`);
  const Va = checkWeight(where, "weights['Va.weight']", weights['Va.weight'], [1, hidden], `Linear(${hidden}, 1) weight as [out, in]`);
  const Vab = checkWeight(where, "weights['Va.bias']", weights['Va.bias'], [1], `Linear(${hidden}, 1) bias`);
  const WaHeld = held(Wa, 0, hidden, dtype), UaHeld = held(Ua, 0, hidden, dtype);
  return new ReferenceSeq2seqAttention('additive', where, hidden, {
    keys: (hs, rows) => linear(hs, rows, UaHeld, Uab),
    query: (h) => linear(h, 1, WaHeld, Wab),
    v: Va.data,
    vBias: Vab.data[0]!,
  }, dtype);
}
