/**
 * Seq2seq (encoder–decoder) attention: the decoder state h is the query, the encoder states hs
 * are keys and values. Scores, then weights = softmax(scores) over the source (padding hidden),
 * then context = Σ_s weights[s]·hs[s], and optionally Luong's attentional state tanh(Wc·[c; h]).
 *
 *   dot       score(h, hs) = h·hs
 *   general   score(h, hs) = h·(W·hs)                      W [H, H]       (Luong)
 *   concat    score(h, hs) = va·tanh(Wa·[h; hs] + ba)       Wa [H, 2H]     (Luong)
 *   additive  score(h, hs) = Va·tanh(Wa·h + ba + Ua·hs + bu) + bv           (Bahdanau, PyTorch tutorial)
 *
 * Everything that depends only on hs (W·hs, Ua·hs + bu, the hs half of Wa) is computed once in
 * `bind`; a step then costs one small projection of h, the scores, the softmax and the context,
 * reading the resident encoder states in place.
 */
import { Tensor } from '../engine/memory.js';
import { checkLengths, checkOptions, checkTensor, checkWeight, describe, expectShape, formatShape, type Checked, type TensorLike } from '../engine/validate.js';
import { at, linear, mat, matmulNN, weightRows, type HalfRows, type Mat, type Q8Rows } from '../engine/linear.js';
import { ptrOf, residentWeights } from '../engine/weights.js';
import { checkWeightDtype, matricesAs, type DtypeOption, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import { checkNames, underPrefix } from '../engine/state-dict.js';
import type { Workspace } from '../engine/workspace.js';

export type LuongScore = 'dot' | 'general' | 'concat';

export interface LuongOptions {
  score: LuongScore;
  /** general: W [H, H] (no bias), score = h·(W·hs). */
  W?: TensorLike;
  /** concat: Wa [H, 2H] applied to [h; hs]. */
  Wa?: TensorLike;
  /** concat: bias of Wa [H] (optional; nn.Linear(2H, H) has one). */
  ba?: TensorLike;
  /** concat: va [H]. */
  va?: TensorLike;
  /** Attentional state h̃ = tanh(Wc·[c; h] + bc): Wc [H, 2H]. */
  Wc?: TensorLike;
  /** Bias of Wc [H] (optional). */
  bc?: TensorLike;
  /**
   * The dtype of W, Wa and Wc (va and the biases stay f32): 'f32' (default, or 'fp32'), 'q8' / 'q4'
   * (blocks of 32 along the input; an H not a multiple of 32 stays f32), 'f16' / 'fp16' or 'bf16'.
   */
  dtype?: DtypeOption;
}

/** The options of `bahdanauAttention`. */
export interface BahdanauOptions {
  /** Picks the attention out of a whole model's state_dict (e.g. 'decoder.attention.'). */
  prefix?: string;
  /** The dtype of Wa and Ua (Va and the biases stay f32), as LuongOptions.dtype. */
  dtype?: DtypeOption;
}

/** The state_dict of the PyTorch seq2seq tutorial's `BahdanauAttention` (Wa, Ua = Linear(H, H); Va = Linear(H, 1)). */
export interface BahdanauWeights {
  'Wa.weight': TensorLike;
  'Wa.bias': TensorLike;
  'Ua.weight': TensorLike;
  'Ua.bias': TensorLike;
  'Va.weight': TensorLike;
  'Va.bias': TensorLike;
}

export interface BindOptions {
  /** Source lengths per batch: positions s ≥ lengths[b] are padding and get zero weight. */
  lengths?: ArrayLike<number>;
}

export interface StepResult {
  /** [B, H] (or [H]): Σ_s weights[s]·hs[s]. */
  context: Float32Array;
  /** [B, S] (or [S]): softmax of the scores over the visible source positions. */
  weights: Float32Array;
  /** [B, S] (or [S]): the raw scores (padding positions included, as computed). */
  scores: Float32Array;
  /** [B, H] (or [H]): tanh(Wc·[c; h] + bc), when the attention has Wc. */
  attentional?: Float32Array;
}

type Kind = 'dot' | 'general' | 'concat' | 'additive';

/**
 * Additive scores use the factored form v − v/(1/2 + e^{2q}/2·e^{2k}) while every |q| and |k| is at
 * most this (e^{±80} stays a normal float32); larger values take the tanh kernel.
 */
export const FACTORED_LIMIT = 20;

/** Resident weights of one attention module (matrices as `linear` reads them; pointers into Wasm memory, 0 = absent). */
interface Weights {
  hidden: number;
  /** Applied to h per step: h·Qᵀ (+ qBias), Q [H, H]. */
  q: Mat | Q8Rows | HalfRows | undefined;
  qBias: number;
  /** Applied to hs at bind: hs·Kᵀ (+ kBias), K [H, H]. */
  k: Mat | Q8Rows | HalfRows | undefined;
  kBias: number;
  /** Additive scores: v [H] and its scalar bias. */
  v: number;
  vBias: number;
  /** Attentional state: Wc [H, 2H]. */
  c: Mat | Q8Rows | HalfRows | undefined;
  cBias: number;
}

export class Seq2seqAttention {
  /** 'dot' | 'general' | 'concat' (Luong) or 'additive' (Bahdanau). */
  readonly score: Kind;
  /** The dtype of the matrices (W, Wa, Wc; Wa and Ua): 'f32', 'q8' / 'q4' (H a multiple of 32), 'f16' or 'bf16'. */
  readonly dtype: WeightDtype;
  private readonly ws: Workspace;
  private readonly w: Weights;
  private readonly owned: { dispose(): void }[];
  private disposed = false;
  private readonly where: string;

  /** @internal use `runtime.luongAttention` / `runtime.bahdanauAttention` */
  constructor(ws: Workspace, score: Kind, where: string, w: Weights, owned: { dispose(): void }[], dtype: WeightDtype) {
    this.ws = ws;
    this.score = score;
    this.dtype = dtype;
    this.where = where;
    this.w = w;
    this.owned = owned;
  }

  /** Hidden size H fixed by the weights (0 for dot: any H). */
  get hiddenSize(): number {
    return this.w.hidden;
  }

  /**
   * Keeps the encoder states [B, S, H] (or [S, H]) resident and precomputes what depends only on
   * them, for a whole decode. Dispose the returned memory when the sequence is done.
   */
  bind(encoderStates: TensorLike, options?: BindOptions): BoundAttention {
    this.assertLive();
    const hs = checkTensor('encoderStates', encoderStates, this.ws.heap);
    const opts = checkOptions('options', options, ['lengths'], 'bind');
    if (hs.shape.length !== 2 && hs.shape.length !== 3) {
      throw new RangeError(`encoderStates: expected shape [B, S, H] or [S, H], received ${formatShape(hs.shape)}`);
    }
    const [batch, source, hidden] = hs.shape.length === 3 ? (hs.shape as [number, number, number]) : [1, hs.shape[0]!, hs.shape[1]!];
    if (this.w.hidden !== 0 && hidden !== this.w.hidden) {
      throw new RangeError(`encoderStates: expected shape ${formatShape(hs.shape.length === 3 ? ['B', 'S', this.w.hidden] : ['S', this.w.hidden])} (the hidden size of the weights), received ${formatShape(hs.shape)}`);
    }
    const lengths = checkLengths('options.lengths', opts.lengths, batch, source) ?? new Int32Array(batch).fill(source);
    return new BoundAttention(this, this.ws, this.w, hs, batch, source, hidden, lengths, hs.shape.length === 2);
  }

  /** One decoder step without binding: bind, step, dispose (for following the math; decoding loops should bind once). */
  attend(decoderHidden: TensorLike, encoderStates: TensorLike, options?: BindOptions): StepResult {
    const memory = this.bind(encoderStates, options);
    try {
      return memory.step(decoderHidden);
    } finally {
      memory.dispose();
    }
  }

  /** Frees the resident weights. Memories bound to this attention stop working. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.owned) t.dispose();
  }

  /** @internal */
  assertLive(): void {
    if (this.disposed) throw new Error(`${this.where}: this attention was disposed`);
  }
}

/** Encoder states bound for a decode: call `step` once per decoder step. */
export class BoundAttention {
  readonly batch: number;
  readonly sourceLength: number;
  readonly hiddenSize: number;
  private readonly owner: Seq2seqAttention;
  private readonly ws: Workspace;
  private readonly w: Weights;
  private readonly unbatched: boolean;
  private readonly lengths: Int32Array;
  private readonly blocks: Tensor[] = [];
  private readonly hs: number;
  private readonly hsTensor: Tensor | undefined;
  private readonly keys: number;
  /** e^{2·keys} [B, S, H] for the factored additive score, or 0 (not additive, or some |key| > FACTORED_LIMIT). */
  private readonly keysExp: number = 0;
  /** e^{2q}/2 [B, H], the step's half of the factored score (with keysExp). */
  private readonly queryExp: number = 0;
  /** Σ Va + vBias: the constant of the factored score. */
  private readonly vTotal: number = 0;
  private readonly query: number; // [B, H] projected decoder state (0 when the query is h itself)
  private readonly cat: number; // [B, 2H]: [c; h]
  private readonly scores: number; // [B, S]
  private readonly weights: number; // [B, S]
  private readonly state: number; // [B, H] attentional state
  private disposed = false;

  /** @internal use `attention.bind(...)` */
  constructor(owner: Seq2seqAttention, ws: Workspace, w: Weights, hs: Checked, batch: number, source: number, hidden: number, lengths: Int32Array, unbatched: boolean) {
    this.owner = owner;
    this.ws = ws;
    this.w = w;
    this.batch = batch;
    this.sourceLength = source;
    this.hiddenSize = hidden;
    this.lengths = lengths;
    this.unbatched = unbatched;
    const k = ws.kernels;
    const alloc = (shape: number[]): number => {
      const t = new Tensor(ws.heap, shape);
      this.blocks.push(t);
      return t.ptr;
    };
    try {
      // The encoder states: the caller's resident tensor as is, or one copy for the whole decode.
      if (hs.tensor) {
        this.hs = hs.tensor.ptr;
        this.hsTensor = hs.tensor; // the caller's tensor, read in place: keep it from being collected
      }
      else {
        this.hs = alloc([batch, source, hidden]);
        ws.heap.floats().set(hs.data!, this.hs >>> 2);
      }
      // Keys for scoring: hs itself (dot) or hs·Kᵀ + kBias, once per source sequence.
      if (w.k === undefined) this.keys = this.hs;
      else {
        this.keys = alloc([batch, source, hidden]);
        linear(ws, mat(this.hs, hidden), w.k, mat(this.keys, hidden), batch * source, hidden, hidden, { bias: w.kBias });
      }
      // Additive scores: e^{2·keys} once, so a step needs no tanh (assembly/additive.ts, factored form).
      if (w.v !== 0) {
        const e = alloc([batch, source, hidden]);
        if (k.expScale(this.keys, e, batch * source * hidden, 2, 1) <= FACTORED_LIMIT) {
          this.keysExp = e;
          this.queryExp = alloc([batch, hidden]);
          const va = ws.heap.floats().subarray(w.v >>> 2, (w.v >>> 2) + hidden);
          this.vTotal = va.reduce((acc, x) => acc + x, 0) + w.vBias;
        } else this.blocks.pop()!.dispose();
      }
      this.cat = alloc([batch, 2 * hidden]);
      this.query = w.q === undefined ? 0 : alloc([batch, hidden]);
      this.scores = alloc([batch, source]);
      this.weights = alloc([batch, source]);
      this.state = w.c === undefined ? 0 : alloc([batch, hidden]);
    } catch (error) {
      for (const t of this.blocks) t.dispose();
      throw error;
    }
  }

  /** One decoder step: h [B, H] (or [H] when bound to [S, H]) → context, weights, scores (and attentional state). */
  step(decoderHidden: TensorLike): StepResult {
    if (this.disposed) throw new Error('seq2seq attention: this bound memory was disposed');
    this.owner.assertLive();
    const { ws, w, batch, hiddenSize: hidden, sourceLength: source } = this;
    const h = checkTensor('decoderHidden', decoderHidden, ws.heap);
    expectShape('decoderHidden', h.shape, this.unbatched ? [hidden] : [batch, hidden], 'batch and hidden size of the bound encoder states');
    const k = ws.kernels;
    const f32 = ws.heap.floats();
    // h goes into the second half of each [c; h] row (the attentional state reads it there too).
    const hData = h.tensor ? h.tensor.data : h.data!;
    for (let b = 0; b < batch; b++) f32.set(hData.subarray(b * hidden, (b + 1) * hidden), ((this.cat >>> 2) + b * 2 * hidden + hidden));
    // [c; h] rows: the context goes into the first half, h is in the second
    const cat = mat(this.cat, 2 * hidden);
    const query = w.q === undefined ? at(cat, 0, hidden) : mat(this.query, hidden);
    if (w.q !== undefined) linear(ws, at(cat, 0, hidden), w.q, query, batch, hidden, hidden, { bias: w.qBias });
    // per batch entry: [B, S, H] as S rows of H, [B, S] as one row of S
    const keys = mat(this.keys, hidden), hs = mat(this.hs, hidden);
    const scores = mat(this.scores, source), weights = mat(this.weights, source);
    const keysExp = mat(this.keysExp, hidden), queryExp = mat(this.queryExp, hidden);
    for (let b = 0; b < batch; b++) {
      const q = at(query, b).ptr, kb = at(keys, b * source).ptr, sb = at(scores, b).ptr;
      if (w.v === 0) linear(ws, at(query, b), at(keys, b * source), at(scores, b), 1, source, hidden);
      else if (this.queryExp !== 0 && k.expScale(q, at(queryExp, b).ptr, hidden, 2, 0.5) <= FACTORED_LIMIT) {
        k.additiveScoresFactored(at(queryExp, b).ptr, at(keysExp, b * source).ptr, hidden, w.v, this.vTotal, sb, source, hidden);
      } else k.additiveScores(q, kb, hidden, w.v, w.vBias, sb, source, hidden);
    }
    f32.copyWithin(this.weights >>> 2, this.scores >>> 2, (this.scores >>> 2) + batch * source);
    for (let b = 0; b < batch; b++) {
      k.softmax(at(weights, b).ptr, source, 1, source, 1, 0, 0, this.lengths[b]!);
      // only the visible source positions: a zero weight times a non-finite padding value would be NaN
      matmulNN(ws, at(weights, b), at(hs, b * source), at(cat, b), 1, hidden, this.lengths[b]!);
    }
    if (this.state !== 0) {
      linear(ws, cat, w.c!, mat(this.state, hidden), batch, hidden, 2 * hidden, { bias: w.cBias });
      k.tanhInPlace(this.state, batch * hidden);
    }
    const view = ws.heap.floats();
    const context = new Float32Array(batch * hidden);
    for (let b = 0; b < batch; b++) context.set(view.subarray((this.cat >>> 2) + b * 2 * hidden, (this.cat >>> 2) + b * 2 * hidden + hidden), b * hidden);
    const result: StepResult = {
      context,
      weights: view.slice(this.weights >>> 2, (this.weights >>> 2) + batch * source),
      scores: view.slice(this.scores >>> 2, (this.scores >>> 2) + batch * source),
    };
    if (this.state !== 0) result.attentional = view.slice(this.state >>> 2, (this.state >>> 2) + batch * hidden);
    return result;
  }

  /** Frees the resident encoder states and buffers (not a tensor the caller passed in). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.blocks) t.dispose();
  }
}

// --- construction ------------------------------------------------------------------------------

const NONE: Omit<Weights, 'hidden'> = { q: undefined, qBias: 0, k: undefined, kBias: 0, v: 0, vBias: 0, c: undefined, cBias: 0 };

/** columns [c0, c0 + n) of a checked [rows, cols] weight, as a [rows, n] tensor (Luong's Wa halves). */
function columns(w: Checked, c0: number, n: number): TensorLike {
  const [rows, cols] = w.shape as [number, number];
  const data = w.tensor ? w.tensor.data : w.data!;
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols + c0, r * cols + c0 + n), r * n);
  return { data: out, shape: [rows, n] };
}

/**
 * The weights made resident: the named matrices in `dtype` (matricesAs), vectors f32; `rows` gives a
 * matrix as `linear` reads it, `ptr` a vector's pointer (0 when absent), `owned` what to dispose.
 */
function hold<K extends string, M extends K>(ws: Workspace, checked: Record<K, Checked | undefined>, matrices: readonly M[], dtype: WeightDtype) {
  const t = residentWeights(ws.heap, checked);
  const present = Object.fromEntries(Object.entries(t).filter(([, x]) => x !== undefined)) as Record<K, Tensor>;
  const m: Record<K, WeightMatrix | undefined> = matricesAs<K>(ws, present, matrices.filter((name) => present[name] !== undefined), dtype);
  return {
    rows: (name: M): Mat | Q8Rows | HalfRows | undefined => (m[name] === undefined ? undefined : weightRows(m[name]!)),
    ptr: (name: Exclude<K, M>): number => ptrOf(m[name] as Tensor | undefined),
    owned: Object.values(m) as WeightMatrix[],
  };
}

export function luongAttention(ws: Workspace, options: LuongOptions): Seq2seqAttention {
  const where = 'luongAttention';
  const opts = checkOptions('options', options, ['score', 'W', 'Wa', 'ba', 'va', 'Wc', 'bc', 'dtype'], 'luongAttention');
  const score = opts.score;
  if (score !== 'dot' && score !== 'general' && score !== 'concat') {
    throw new TypeError(`${where}: options.score must be 'dot', 'general' or 'concat', received ${describe(score)}`);
  }
  const dtype = checkWeightDtype(where, 'options.dtype', opts.dtype);
  const heap = ws.heap;
  // The hidden size comes from the first weight present; every other weight must agree.
  const first = (score === 'general' ? opts.W : score === 'concat' ? opts.Wa : opts.Wc) as TensorLike | undefined;
  let hidden = 0;
  if (first !== undefined) {
    const probe = checkTensor(`${where}: ${score === 'general' ? 'W' : score === 'concat' ? 'Wa' : 'Wc'}`, first, heap);
    hidden = probe.shape[0]!;
  }
  const checked: Partial<Record<'W' | 'Wq' | 'Wk' | 'ba' | 'va' | 'Wc' | 'bc', Checked>> = {};
  if (score === 'general') checked.W = checkWeight(where, 'W', opts.W, heap, [hidden, hidden], 'W [H, H] with score = h·(W·hs)');
  if (score === 'concat') {
    // Wa·[h; hs] = Wa[:, :H]·h + Wa[:, H:]·hs: the h half per step, the hs half (and ba) to the keys at bind
    const wa = checkWeight(where, 'Wa', opts.Wa, heap, [hidden, 2 * hidden], 'Wa [H, 2H] applied to [h; hs]');
    checked.Wq = checkTensor(`${where}: Wa[:, :H]`, columns(wa, 0, hidden), heap);
    checked.Wk = checkTensor(`${where}: Wa[:, H:]`, columns(wa, hidden, hidden), heap);
    checked.va = checkWeight(where, 'va', opts.va, heap, [hidden], 'va [H]');
    if (opts.ba !== undefined) checked.ba = checkWeight(where, 'ba', opts.ba, heap, [hidden], 'the bias of Wa, [H]');
  }
  if (opts.Wc !== undefined) checked.Wc = checkWeight(where, 'Wc', opts.Wc, heap, [hidden, 2 * hidden], 'Wc [H, 2H] applied to [c; h]');
  if (opts.bc !== undefined) {
    if (opts.Wc === undefined) throw new TypeError(`${where}: bc is given without Wc`);
    checked.bc = checkWeight(where, 'bc', opts.bc, heap, [hidden], 'the bias of Wc, [H]');
  }
  const held = hold(ws, checked as Record<'W' | 'Wq' | 'Wk' | 'ba' | 'va' | 'Wc' | 'bc', Checked | undefined>, ['W', 'Wq', 'Wk', 'Wc'], dtype);
  const w: Weights = { hidden, ...NONE };
  if (score === 'general') w.k = held.rows('W');
  if (score === 'concat') Object.assign(w, { q: held.rows('Wq'), k: held.rows('Wk'), kBias: held.ptr('ba'), v: held.ptr('va') });
  Object.assign(w, { c: held.rows('Wc'), cBias: held.ptr('bc') });
  return new Seq2seqAttention(ws, score, where, w, held.owned, dtype);
}

const BAHDANAU_NAMES = ['Wa.weight', 'Wa.bias', 'Ua.weight', 'Ua.bias', 'Va.weight', 'Va.bias'];

export function bahdanauAttention(ws: Workspace, stateDict: BahdanauWeights | Record<string, unknown>, options?: BahdanauOptions): Seq2seqAttention {
  const where = 'bahdanauAttention';
  // `prefix` picks the attention out of a whole model's state_dict (e.g. 'decoder.attention.')
  const opts = checkOptions('options', options, ['prefix', 'dtype'], where);
  const dtype = checkWeightDtype(where, 'options.dtype', opts['dtype']);
  if (stateDict === undefined) throw new TypeError(`${where}: weights must be the state_dict of the tutorial's BahdanauAttention (${BAHDANAU_NAMES.join(', ')}), received undefined`);
  const under = underPrefix(where, stateDict, opts['prefix']);
  checkNames(where, under, BAHDANAU_NAMES);
  const weights = under.record as unknown as BahdanauWeights;
  const heap = ws.heap;
  const wa = checkWeight(where, "weights['Wa.weight']", weights['Wa.weight'], heap, ['H', 'H'], 'Linear(H, H) weight as [out, in]');
  const hidden = wa.shape[0]!;
  const linear = `Linear(${hidden}, ${hidden})`;
  expectShape(`${where}: weights['Wa.weight']`, wa.shape, [hidden, hidden], `${linear} weight as [out, in]`);
  const args = {
    wab: checkWeight(where, "weights['Wa.bias']", weights['Wa.bias'], heap, [hidden], `${linear} bias`),
    ua: checkWeight(where, "weights['Ua.weight']", weights['Ua.weight'], heap, [hidden, hidden], `${linear} weight as [out, in]`),
    uab: checkWeight(where, "weights['Ua.bias']", weights['Ua.bias'], heap, [hidden], `${linear} bias`),
    va: checkWeight(where, "weights['Va.weight']", weights['Va.weight'], heap, [1, hidden], `Linear(${hidden}, 1) weight as [out, in]`),
    vab: checkWeight(where, "weights['Va.bias']", weights['Va.bias'], heap, [1], `Linear(${hidden}, 1) bias`),
  };
  const vBias = (args.vab.tensor ? args.vab.tensor.data : args.vab.data!)[0]!;
  const held = hold(ws, { wa, wab: args.wab, ua: args.ua, uab: args.uab, va: args.va }, ['wa', 'ua'], dtype);
  const w: Weights = {
    ...NONE,
    hidden,
    q: held.rows('wa'),
    qBias: held.ptr('wab'),
    k: held.rows('ua'),
    kBias: held.ptr('uab'),
    v: held.ptr('va'),
    vBias,
  };
  return new Seq2seqAttention(ws, 'additive', where, w, held.owned, dtype);
}
