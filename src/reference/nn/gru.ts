/**
 * The twins of `runtime.gru` and `runtime.embedding`, in float64 loops (the state stays float64
 * through the recurrence; results are rounded to float32 once).
 *
 *   r = σ(W_ir·x + b_ir + W_hr·h + b_hr)   z = σ(W_iz·x + b_iz + W_hz·h + b_hz)
 *   n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn))   h' = (1 − z) ⊙ n + z ⊙ h
 */
import { checkIds } from '../ids.js';
import { checkInteger, checkLengths, checkOptions, checkShape, checkTensor, describe, formatShape, isOptionsObject } from '../check.js';
import type { ReferenceTensor } from '../tensor.js';
import { entriesUnder, modulePrefix, nameMismatch } from '../state-dict.js';
import { checkWeightDtype, heldDtype, inputLevels, roundInput, weightAs, type DtypeOption, type WeightDtype } from '../dtype.js';

/** The config of `runtime.gru`, by the same names. */
export interface ReferenceGruConfig {
  inputSize: number;
  hiddenSize: number;
  weights: Record<string, ReferenceTensor>;
  prefix?: string;
  /** weight_ih and weight_hh held as the runtime holds them in 'q8' or 'q4' (reference/dtype.ts); default 'f32'. */
  dtype?: DtypeOption;
}

export interface ReferenceGruResult {
  /** [B, L, H] */
  output: Float32Array;
  /** [B, H] */
  hidden: Float32Array;
}

/** @internal The weights of a GRU layer: float32 copies, or the values the runtime uses in Q8 / Q4. */
export interface GruParams {
  input: number;
  hidden: number;
  wih: ArrayLike<number>;
  whh: ArrayLike<number>;
  bih: Float32Array;
  bhh: Float32Array;
  /** W_ih, W_hh quantized: the products round x, h as the kernels do, to these levels (reference/dtype.ts; 0: not rounded) */
  roundX: number;
  roundH: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** @internal One GRU step in float64: x [I] (at x[xo…]), h [H] → h'. */
export function gruCell64(p: GruParams, x: ArrayLike<number>, xo: number, h: ArrayLike<number>): Float64Array {
  const { input: I, hidden: H, wih, whh, bih, bhh } = p;
  const gi = new Float64Array(3 * H), gh = new Float64Array(3 * H);
  const xr = p.roundX ? roundInput(x, xo, I, p.roundX) : x, xro = p.roundX ? 0 : xo;
  const hr = p.roundH ? roundInput(h, 0, H, p.roundH) : h;
  for (let o = 0; o < 3 * H; o++) {
    let a = bih[o]!, b = bhh[o]!;
    for (let i = 0; i < I; i++) a += wih[o * I + i]! * xr[xro + i]!;
    for (let i = 0; i < H; i++) b += whh[o * H + i]! * hr[i]!;
    gi[o] = a;
    gh[o] = b;
  }
  const out = new Float64Array(H);
  for (let i = 0; i < H; i++) {
    const r = sigmoid(gi[i]! + gh[i]!), z = sigmoid(gi[H + i]! + gh[H + i]!);
    const n = Math.tanh(gi[2 * H + i]! + r * gh[2 * H + i]!);
    out[i] = (1 - z) * n + z * h[i]!;
  }
  return out;
}

/**
 * @internal A module's names under `prefix`, against `shapes` (unknown and missing names: one
 * TypeError; a wrong shape: a RangeError), as float32 copies.
 */
export function namedWeights(where: string, weights: unknown, prefix: unknown, shapes: Record<string, readonly number[]>): Record<string, Float32Array> {
  if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError(`${where}: prefix must be a string, received ${describe(prefix)}`);
  if (typeof weights !== 'object' || weights === null || Array.isArray(weights)) throw new TypeError(`${where}: weights must be a state_dict record (name → tensor), received ${describe(weights)}`);
  const p = modulePrefix(prefix ?? '');
  const record = entriesUnder(weights as Record<string, unknown>, p);
  const message = nameMismatch({ where, all: weights as Record<string, unknown>, prefix: p, required: Object.keys(shapes), leaveSingleMissing: false });
  if (message !== undefined) throw new TypeError(message);
  const out: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const label = `${where}: weights['${p}${name}']`;
    const t = checkTensor(label, record[name]);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new RangeError(`${label}: expected shape ${formatShape(shape)}, received ${formatShape(t.shape)}`);
    out[name] = t.data.slice();
  }
  return out;
}

/**
 * @internal The nn.GRU names of one layer, W_ih and W_hh in `dtype`. `inputBlock` is the width of
 * the parts W_ih is held in (the decoder holds its token and context halves apart): W_ih is
 * quantized when that width is a multiple of 32.
 */
export function gruParams(where: string, w: Record<string, Float32Array>, prefix: string, input: number, hidden: number, dtype: WeightDtype = 'f32', inputBlock = input): GruParams {
  const ihDtype = heldDtype(inputBlock, dtype);
  return {
    input, hidden,
    wih: weightAs(w[`${prefix}weight_ih_l0`]!, 3 * hidden, input, ihDtype), whh: weightAs(w[`${prefix}weight_hh_l0`]!, 3 * hidden, hidden, dtype),
    bih: w[`${prefix}bias_ih_l0`]!, bhh: w[`${prefix}bias_hh_l0`]!,
    roundX: inputLevels(input, ihDtype), roundH: inputLevels(hidden, dtype),
  };
}

/** @internal */
export function gruShapes64(input: number, hidden: number, prefix = ''): Record<string, number[]> {
  return { [`${prefix}weight_ih_l0`]: [3 * hidden, input], [`${prefix}weight_hh_l0`]: [3 * hidden, hidden], [`${prefix}bias_ih_l0`]: [3 * hidden], [`${prefix}bias_hh_l0`]: [3 * hidden] };
}

/** The twin of the runtime's `GRU`. */
export class ReferenceGRU {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly dtype: WeightDtype;
  #p: GruParams | undefined;

  /** @internal use `reference.gru(config)` */
  constructor(p: GruParams, dtype: WeightDtype) {
    this.inputSize = p.input;
    this.hiddenSize = p.hidden;
    this.dtype = dtype;
    this.#p = p;
  }

  #live(): GruParams {
    if (!this.#p) throw new Error('gru: this module was disposed');
    return this.#p;
  }

  #hidden(name: string, value: unknown, batch: number): Float32Array {
    const H = this.hiddenSize;
    const a = checkTensor(name, value);
    const s = a.shape;
    const ok = (s.length === 2 && s[0] === batch && s[1] === H) || (s.length === 3 && s[0] === 1 && s[1] === batch && s[2] === H);
    if (!ok) throw new RangeError(`${name}: expected shape [${batch}, ${H}] or [1, ${batch}, ${H}] (the batch of x, hiddenSize), received ${formatShape(s)}`);
    return a.data;
  }

  /** x [B, L, I], h0 [B, H] (default zeros) → { output [B, L, H], hidden [B, H] }; `lengths`: each sequence over its own steps. */
  forward(x: ReferenceTensor, h0?: ReferenceTensor | { lengths?: ArrayLike<number> }, options?: { lengths?: ArrayLike<number> }): ReferenceGruResult {
    const p = this.#live();
    if (options === undefined && h0 !== undefined && isOptionsObject(h0)) [h0, options] = [undefined, h0 as { lengths?: ArrayLike<number> }];
    const { inputSize: I, hiddenSize: H } = this;
    const xa = checkTensor('x', x);
    if (xa.shape.length !== 3 || xa.shape[2] !== I) throw new RangeError(`x: expected shape [B, L, ${I}] (batch_first, inputSize ${I}), received ${formatShape(xa.shape)}`);
    const [B, L] = xa.shape as [number, number, number];
    const h = h0 === undefined ? new Float32Array(B * H) : this.#hidden('h0', h0, B);
    const opts = checkOptions('options', options, ['lengths'], 'gru.forward');
    const lengths = checkLengths('options.lengths', opts['lengths'], B, L);
    const output = new Float32Array(B * L * H), hidden = new Float32Array(B * H);
    for (let b = 0; b < B; b++) {
      let state: ArrayLike<number> = h.subarray(b * H, (b + 1) * H);
      for (let t = 0; t < (lengths ? lengths[b]! : L); t++) {
        state = gruCell64(p, xa.data, (b * L + t) * I, state);
        output.set(state, (b * L + t) * H);
      }
      hidden.set(state, b * H);
    }
    return { output, hidden };
  }

  /** x [B, I], h [B, H] → h' [B, H]. */
  step(x: ReferenceTensor, h: ReferenceTensor): Float32Array {
    const p = this.#live();
    const I = this.inputSize, H = this.hiddenSize;
    const xa = checkTensor('x', x);
    if (xa.shape.length !== 2 || xa.shape[1] !== I) throw new RangeError(`x: expected shape [B, ${I}] (inputSize ${I}), received ${formatShape(xa.shape)}`);
    const B = xa.shape[0]!;
    const hd = this.#hidden('h', h, B);
    const out = new Float32Array(B * H);
    for (let b = 0; b < B; b++) out.set(gruCell64(p, xa.data, b * I, hd.subarray(b * H, (b + 1) * H)), b * H);
    return out;
  }

  /** Drops the weights. Idempotent. */
  dispose(): void {
    this.#p = undefined;
  }
}

/** `torch.nn.GRU(inputSize, hiddenSize, batch_first=True)` from its state_dict: the twin of `runtime.gru`. */
export function gru(config: ReferenceGruConfig): ReferenceGRU {
  const where = 'gru';
  const cfg = checkOptions('config', config, ['inputSize', 'hiddenSize', 'weights', 'prefix', 'dtype'], where);
  const dtype = checkWeightDtype(where, 'config.dtype', cfg['dtype']);
  const I = checkInteger(`${where}: inputSize`, cfg['inputSize'], 1);
  const H = checkInteger(`${where}: hiddenSize`, cfg['hiddenSize'], 1);
  const w = namedWeights(where, cfg['weights'], cfg['prefix'], gruShapes64(I, H));
  return new ReferenceGRU(gruParams(where, w, '', I, H, dtype), dtype);
}

/** The twin of the runtime's `Embedding`. */
export class ReferenceEmbedding {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** How the table is held (as the runtime holds it: 'q8' / 'q4' only when E is a multiple of 32, else 'f32'). */
  readonly dtype: WeightDtype;
  #table: Float32Array | undefined;

  /** @internal use `reference.embedding(weight)` */
  constructor(table: Float32Array, v: number, e: number, dtype: WeightDtype = 'f32') {
    this.numEmbeddings = v;
    this.embeddingDim = e;
    this.dtype = heldDtype(e, dtype);
    // the values the runtime's gather returns: rounded to 16 bits, or dequantized (scale·q) rounded once to f32
    this.#table = this.dtype === 'f32' ? table : Float32Array.from(weightAs(table, v, e, this.dtype, true));
  }

  /** ids → their rows, [...shape, E]. */
  lookup(ids: ArrayLike<number> | Int32Array, shape?: readonly number[]): Float32Array {
    const table = this.#table;
    if (!table) throw new Error('embedding: this module was disposed');
    const list = checkIds('ids', ids, this.numEmbeddings);
    if (shape !== undefined) {
      const dims = checkShape('shape', shape);
      const n = dims.reduce((a, b) => a * b, 1);
      if (n !== list.length) throw new RangeError(`shape ${formatShape(dims)} holds ${n} ids, received ${list.length}`);
    }
    const E = this.embeddingDim;
    const out = new Float32Array(list.length * E);
    list.forEach((id, i) => out.set(table.subarray(id * E, (id + 1) * E), i * E));
    return out;
  }

  /** Drops the table. Idempotent. */
  dispose(): void {
    this.#table = undefined;
  }
}

/** `torch.nn.Embedding` from weight [V, E] or a `{ weight }` state_dict: the twin of `runtime.embedding`. */
export function embedding(weight: ReferenceTensor | Record<string, ReferenceTensor>, options?: { prefix?: string; dtype?: DtypeOption }): ReferenceEmbedding {
  const where = 'embedding';
  const opts = checkOptions('options', options, ['prefix', 'dtype'], where);
  const dtype = checkWeightDtype(where, 'options.dtype', opts['dtype']);
  const given = opts['prefix'] ?? '';
  if (typeof given !== 'string') throw new TypeError(`${where}: prefix must be a string, received ${describe(given)}`);
  const p = modulePrefix(given);
  let value: unknown = weight;
  if (typeof weight === 'object' && weight !== null && isOptionsObject(weight)) {
    // a state_dict: its one name, `weight` (any [V, E])
    const record = entriesUnder(weight as Record<string, unknown>, p);
    const message = nameMismatch({ where, all: weight as Record<string, unknown>, prefix: p, required: ['weight'], leaveSingleMissing: false });
    if (message !== undefined) throw new TypeError(message);
    value = record['weight'];
    if (value === undefined) throw new TypeError(`${where}: weights['${p}weight'] is missing (expected shape [V, E], nn.Embedding(V, E).weight)`);
  } else if (p !== '') throw new TypeError(`${where}: options.prefix applies to a state_dict ({ weight }), not to a tensor`);
  const t = checkTensor(`${where}: weight`, value);
  if (t.shape.length !== 2) throw new RangeError(`${where}: weight: expected shape [V, E] (nn.Embedding(V, E).weight), received ${formatShape(t.shape)}`);
  return new ReferenceEmbedding(t.data.slice(), t.shape[0]!, t.shape[1]!, dtype);
}
