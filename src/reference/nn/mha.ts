/**
 * The twin of `runtime.multiHeadAttention`: the same module object (embedDim, numHeads,
 * numKeyValueHeads, headDim, forward, createCache, step, dispose) and KV cache (batch, maxLength,
 * window, length, disposed, reset, truncate, dispose), computed in plain float64 loops.
 *
 * Two state_dict forms, as the runtime:
 *   torch.nn.MultiheadAttention (batch_first): in_proj_weight [3E, E] = [W_q; W_k; W_v],
 *     in_proj_bias [3E], out_proj.weight [E, E], out_proj.bias [E] (no biases with `bias: false`);
 *   Hugging Face Llama-style: q_proj.weight [H·Dh, E], k_proj.weight and v_proj.weight [Hk·Dh, E],
 *     o_proj.weight [E, H·Dh], optional q/k/v biases (all three or none) and o_proj.bias.
 * Written out: q = query·W_qᵀ + b_q (H heads), k = key·W_kᵀ + b_k, v = value·W_vᵀ + b_v (Hk heads);
 * with `rope`, q and k rotated at their positions (q: 0 … L−1, k: 0 … S−1; a step: cache.length);
 * query head h attends with kv head ⌊h/(H/Hk)⌋: softmax(q_h·k_hᵀ/√Dh + mask)·v_h;
 * output = concat(heads)·W_oᵀ + b_o; weights averaged over the H query heads. Masks as in
 * scaledDotProductAttention (visibleRange: causal bottom-right aligned, keys j ≥ keyLengths[b]
 * hidden, window [left, right] around pos(i) = i + S − L; attnMask broadcast to [B, H, L, S], bool
 * true = may attend or float added, −inf hiding), and keyPaddingMask [B, S] hiding keys where it
 * is true. A query that sees no key gives zeros (plus the output bias).
 *
 * `forward` and `step` share one attention loop (`attendHeads`), and the cache keeps the float64
 * (rotated) keys and values, so feeding a sequence to `step` token by token gives exactly the rows
 * of the causal `forward` (with a window cache of W, of `forward(x, { causal: true, window: [W − 1, 0] })`):
 * a step attends over its positions in order, position p read from slot p (plain) or p mod W (ring).
 */
import {
  checkAttnMask, checkBoolean, checkInteger, checkLengths, checkOptions, checkTensor, checkWeight, checkWindow, describe, expectShape, formatShape, isOptionsObject, type Exact,
} from '../check.js';
import type { ReferenceRopeStyle } from '../ops/position.js';
import { broadcastMask } from '../ops/sdpa.js';
import type { ReferenceTensor } from '../tensor.js';
import { visibleRange } from '../visibility.js';
import { entriesUnder, modulePrefix, nameMismatch } from '../state-dict.js';
import { checkWeightDtype, inputLevels, roundInputs, weightAs, type DtypeOption, type WeightDtype } from '../dtype.js';

/** The state_dict of `torch.nn.MultiheadAttention(E, heads, batch_first=True)` (no biases with `bias: false`). */
export interface ReferenceMultiHeadAttentionWeights {
  in_proj_weight: ReferenceTensor;
  in_proj_bias?: ReferenceTensor;
  'out_proj.weight': ReferenceTensor;
  'out_proj.bias'?: ReferenceTensor;
}

/** Hugging Face Llama-style projections (biases optional: q, k, v all three or none; o alone). */
export interface ReferenceSplitProjectionWeights {
  'q_proj.weight': ReferenceTensor;
  'k_proj.weight': ReferenceTensor;
  'v_proj.weight': ReferenceTensor;
  'o_proj.weight': ReferenceTensor;
  'q_proj.bias'?: ReferenceTensor;
  'k_proj.bias'?: ReferenceTensor;
  'v_proj.bias'?: ReferenceTensor;
  'o_proj.bias'?: ReferenceTensor;
}

export interface ReferenceMultiHeadAttentionConfig {
  embedDim: number;
  numHeads: number;
  /** Key/value heads (a divisor of numHeads; needs the q_proj … form). Default numHeads. */
  numKeyValueHeads?: number;
  /** The PyTorch form without in_proj_bias / out_proj.bias. Default true. */
  bias?: boolean;
  /** Rotary embedding of q and k inside forward and step: θ_i = base^(−2i/Dh), base default 10000. */
  rope?: { style: ReferenceRopeStyle; base?: number };
  weights: ReferenceMultiHeadAttentionWeights | ReferenceSplitProjectionWeights | Record<string, ReferenceTensor>;
  /** Only the weights whose names start with this (removed). */
  prefix?: string;
  /** The projections held as the runtime holds them in 'q8' or 'q4' (reference/dtype.ts); default 'f32'. */
  dtype?: DtypeOption;
}

/** The options of `mha.forward`, by the same names. */
export interface ReferenceForwardOptions {
  /** Query i of L sees key j only when j ≤ i + S − L (bottom-right aligned). */
  causal?: boolean;
  /** Per batch: keys j ≥ keyLengths[b] are padding. */
  keyLengths?: ArrayLike<number>;
  /** [B, S] true where a key is padding (PyTorch's key_padding_mask convention). */
  keyPaddingMask?: { data: Uint8Array | readonly boolean[]; shape: readonly number[] };
  /** Broadcastable to [B, H, L, S]: Uint8Array / boolean[] true = may attend, or Float32Array added to the scores. */
  attnMask?: { data: Uint8Array | Float32Array | readonly boolean[]; shape: readonly number[] };
  /** Keys pos(i) − left … pos(i) + right are visible, pos(i) = i + S − L (−1: unbounded on that side). */
  window?: readonly [number, number];
  /** Also return the weights [B, L, S] averaged over heads. */
  needWeights?: boolean;
}

/** What `forward` returns for options O: `weights` [B, L, S] is present when O asks for them. */
export type ReferenceForwardResult<O> = { output: Float32Array; weights?: Float32Array } & (O extends { needWeights: true } ? { weights: Float32Array } : unknown);

export interface ReferenceCacheOptions {
  batch: number;
  /** Positions a plain cache holds. */
  maxLength?: number;
  /** A sliding-window cache of the last `window` positions (a ring) instead. */
  window?: number;
}

const TORCH_NAMES = ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'];
const SPLIT_NAMES = ['q_proj.weight', 'q_proj.bias', 'k_proj.weight', 'k_proj.bias', 'v_proj.weight', 'v_proj.bias', 'o_proj.weight', 'o_proj.bias'];
const FORWARD_OPTIONS = ['causal', 'keyLengths', 'keyPaddingMask', 'attnMask', 'window', 'needWeights'];

/** The module's weights (copies made at construction), dropped by `dispose()`: W_q [H·Dh, E], W_k, W_v [Hk·Dh, E], W_o [E, H·Dh]. */
interface Weights {
  wq: ArrayLike<number>;
  wk: ArrayLike<number>;
  wv: ArrayLike<number>;
  wo: ArrayLike<number>;
  /** The levels the in- and out-projections round their inputs to when quantized (0: not quantized). */
  quantizedIn: number;
  quantizedOut: number;
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  bo?: Float32Array;
}

/** The state of a cache: float64 keys and values [B, capacity, Hk·Dh] each (undefined once disposed). */
interface CacheState {
  owner: ReferenceMultiHeadAttention;
  k: Float64Array | undefined;
  v: Float64Array | undefined;
  filled: number;
}

/** Cache internals, out of the cache's public surface (the runtime marks its own @internal). */
const caches = new WeakMap<ReferenceKVCache, CacheState>();

function stateOf(cache: ReferenceKVCache): CacheState {
  return caches.get(cache)!;
}

/**
 * The twin of the runtime's `KVCache`: float64 keys and values [batch, capacity, Hk·Dh], filled
 * position by position by `step`. A plain cache holds positions 0 … maxLength − 1; a window cache
 * holds the last `window` positions, position p in slot p mod window (maxLength = window).
 */
export class ReferenceKVCache {
  readonly batch: number;
  /** Positions a plain cache can hold (for a window cache: the window). */
  readonly maxLength: number;
  /** Keys a query sees in a sliding-window cache (the newest included), or undefined for a plain cache. */
  readonly window: number | undefined;

  /** @internal use `mha.createCache(...)` */
  constructor(owner: ReferenceMultiHeadAttention, batch: number, maxLength: number, window: number | undefined) {
    this.batch = batch;
    this.maxLength = maxLength;
    this.window = window;
    const size = batch * maxLength * owner.numKeyValueHeads * owner.headDim;
    caches.set(this, { owner, k: new Float64Array(size), v: new Float64Array(size), filled: 0 });
  }

  /** Positions processed so far (the position of the next token). */
  get length(): number {
    return stateOf(this).filled;
  }

  get disposed(): boolean {
    return stateOf(this).k === undefined;
  }

  /** Starts a new sequence (keeps the memory). */
  reset(): void {
    stateOf(this).filled = 0;
  }

  /**
   * Keeps the first `length` positions and forgets the rest. A sliding-window cache has
   * overwritten older positions, so it can only be reset (or truncated to its current length).
   */
  truncate(length: number): void {
    const state = stateOf(this);
    const n = checkInteger('length', length, 0, state.filled);
    if (this.window !== undefined && n !== state.filled && n !== 0) {
      throw new RangeError(`a sliding-window cache keeps only its last ${this.window} positions: truncate(${n}) cannot restore the ones it overwrote; reset() it instead`);
    }
    state.filled = n;
  }

  dispose(): void {
    const state = stateOf(this);
    state.k = undefined;
    state.v = undefined;
  }
}

/** One attention problem of the module, in float64: rows of q [·, H·Dh], k and v [·, Hk·Dh]. */
interface Problem {
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  batch: number;
  heads: number;
  kvHeads: number;
  dh: number;
  lq: number;
  lk: number;
  /** Row of key / value j of batch b (b·S + j for a forward; the cache slot for a step). */
  kRow: (b: number, j: number) => number;
  causal: boolean;
  keyLengths?: ArrayLike<number>;
  window?: readonly [number, number];
  /** The mask value at (b, h, i, j): added to the score, −inf hides the key. */
  maskAt?: (b: number, h: number, i: number, j: number) => number;
}

/**
 * Per batch b, query head h (kv head ⌊h/(H/Hk)⌋) and query i: s_j = q_i·k_j/√Dh + mask over the
 * keys query i sees, w = softmax(s), attn_i[h] = Σ_j w_j·v_j[kv head], and weights[b, i, j] += w_j/H.
 */
function attendHeads(p: Problem, attn: Float64Array, weights: Float32Array | undefined): void {
  const { q, k, v, batch, heads: H, kvHeads: Hk, dh: Dh, lq: L, lk: S, kRow, maskAt } = p;
  const qWidth = H * Dh, kvWidth = Hk * Dh;
  const rule = { lq: L, lk: S, causal: p.causal, keyLengths: p.keyLengths, window: p.window };
  const s = new Float64Array(S);
  const seen = new Uint8Array(S);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / Hk)); // the kv head of query head h
      for (let i = 0; i < L; i++) {
        const [lo, hi] = visibleRange(rule, b, i);
        const qi = (b * L + i) * qWidth + h * Dh;
        seen.fill(0);
        let max = -Infinity;
        for (let j = lo; j < hi; j++) {
          let x = 0;
          if (maskAt) {
            x = maskAt(b, h, i, j);
            if (x === -Infinity) continue; // a hidden key
          }
          const kj = kRow(b, j) * kvWidth + g * Dh;
          let dot = 0;
          for (let e = 0; e < Dh; e++) dot += q[qi + e]! * k[kj + e]!;
          s[j] = dot / Math.sqrt(Dh) + x;
          seen[j] = 1;
          if (s[j]! > max) max = s[j]!;
        }
        let sum = 0;
        for (let j = lo; j < hi; j++) if (seen[j]) sum += s[j] = Math.exp(s[j]! - max);
        for (let j = lo; j < hi; j++) {
          if (!seen[j]) continue;
          const w = s[j]! / sum;
          if (weights) weights[(b * L + i) * S + j] += w / H;
          const vj = kRow(b, j) * kvWidth + g * Dh;
          for (let e = 0; e < Dh; e++) attn[qi + e] += w * v[vj + e]!;
        }
      }
    }
  }
}

/** keyPaddingMask [B, S] (true = padding): the runtime's checks; the padding flags, one per (b, j). */
function checkKeyPaddingMask(value: unknown, batch: number, lk: number): Uint8Array {
  const name = 'options.keyPaddingMask';
  const kpm = value as { data?: unknown; shape?: unknown };
  if (typeof kpm !== 'object' || kpm === null) throw new TypeError(`${name} must be { data: Uint8Array | boolean[], shape: [B, S] } (true = padding), received ${describe(kpm)}`);
  if (!Array.isArray(kpm.shape) || kpm.shape.length !== 2 || kpm.shape[0] !== batch || kpm.shape[1] !== lk) {
    throw new RangeError(`${name}: expected shape [${batch}, ${lk}] ([B, S]: true where a key is padding), received ${Array.isArray(kpm.shape) ? formatShape(kpm.shape) : describe(kpm.shape)}`);
  }
  const data = kpm.data;
  const padding = data instanceof Uint8Array ? data : Array.isArray(data) && data.every((x) => typeof x === 'boolean') ? Uint8Array.from(data, Number) : undefined;
  if (!padding || padding.length !== batch * lk) throw new TypeError(`${name}.data must be a Uint8Array or boolean[] of ${batch * lk} entries (true = padding), received ${describe(data)}`);
  return padding;
}

/** The twin of the runtime's `MultiHeadAttention`. */
export class ReferenceMultiHeadAttention {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly dtype: WeightDtype;
  #w: Weights | undefined;
  #rope: { style: ReferenceRopeStyle; base: number } | undefined;

  /** @internal use `reference.multiHeadAttention(...)` */
  constructor(config: ReferenceMultiHeadAttentionConfig) {
    const where = 'multiHeadAttention';
    const cfg = checkOptions('config', config, ['embedDim', 'numHeads', 'numKeyValueHeads', 'bias', 'rope', 'weights', 'prefix', 'dtype'], where);
    const dtype = checkWeightDtype(where, 'config.dtype', cfg['dtype']);
    const e = checkInteger(`${where}: embedDim`, cfg['embedDim'], 1);
    const heads = checkInteger(`${where}: numHeads`, cfg['numHeads'], 1);
    if (e % heads !== 0) throw new RangeError(`${where}: embedDim ${e} must be divisible by numHeads ${heads}`);
    const kvHeads = cfg['numKeyValueHeads'] === undefined ? heads : checkInteger(`${where}: numKeyValueHeads`, cfg['numKeyValueHeads'], 1, heads);
    if (heads % kvHeads !== 0) throw new RangeError(`${where}: numKeyValueHeads ${kvHeads} must divide numHeads ${heads} (each key/value head serves numHeads / numKeyValueHeads query heads)`);
    const bias = cfg['bias'] === undefined ? true : checkBoolean(`${where}: bias`, cfg['bias']);
    if (cfg['rope'] !== undefined) {
      const r = checkOptions('config.rope', cfg['rope'], ['style', 'base'], where);
      if (r['style'] !== 'half' && r['style'] !== 'interleaved') throw new TypeError(`${where}: rope.style must be 'half' (Llama, GPT-NeoX) or 'interleaved' (RoFormer, GPT-J), received ${describe(r['style'])}`);
      const base = r['base'] === undefined ? 10000 : r['base'];
      if (typeof base !== 'number' || !Number.isFinite(base) || base <= 0) throw new RangeError(`${where}: rope.base must be a positive number, received ${describe(base)}`);
      if ((e / heads) % 2 !== 0) throw new RangeError(`${where}: rope needs an even head dim, received ${e / heads}`);
      this.#rope = { style: r['style'], base };
    }
    const prefix = modulePrefix((cfg['prefix'] ?? '') as string);
    const all = cfg['weights'];
    if (typeof all !== 'object' || all === null || Array.isArray(all)) throw new TypeError(`${where}: weights must be a state_dict record (name → tensor), received ${describe(all)}`);
    const weights = entriesUnder(all as Record<string, unknown>, prefix);
    const split = Object.keys(weights).some((k) => (SPLIT_NAMES as readonly string[]).includes(k));
    const splitRequired = ['q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'o_proj.weight'];
    const torchRequired = bias ? [...TORCH_NAMES] : ['in_proj_weight', 'out_proj.weight'];
    const message = nameMismatch({ where, all: all as Record<string, unknown>, prefix, required: split ? splitRequired : torchRequired, optional: split ? SPLIT_NAMES : TORCH_NAMES, alternatives: [split ? torchRequired : splitRequired] });
    if (message !== undefined) throw new TypeError(message);
    this.#w = weightsAs(loadWeights(where, weights, e, heads, kvHeads, bias), e, heads, kvHeads, dtype);
    this.dtype = dtype;
    this.embedDim = e;
    this.numHeads = heads;
    this.numKeyValueHeads = kvHeads;
    this.headDim = e / heads;
  }

  #live(): Weights {
    if (this.#w === undefined) throw new Error('multiHeadAttention: this module was disposed');
    return this.#w;
  }

  /** y [rows, n] = x [rows, m]·Wᵀ + b with W [n, m], in float64 (x's rows rounded as the kernels round them when W is quantized). */
  #linear(input: ArrayLike<number>, rows: number, w: ArrayLike<number>, b: Float32Array | undefined, n: number, m: number, levels: number): Float64Array {
    const x = roundInputs(input, rows, m, levels);
    const y = new Float64Array(rows * n);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < n; o++) {
        let sum = b ? b[o]! : 0;
        for (let i = 0; i < m; i++) sum += w[o * m + i]! * x[r * m + i]!;
        y[r * n + o] = sum;
      }
    }
    return y;
  }

  /** q [rows, H·Dh] = x [rows, E]·W_qᵀ + b_q; k, v [rows, Hk·Dh] likewise with W_k, W_v. */
  #projectQ(x: Float32Array, rows: number): Float64Array {
    const { wq, bq, quantizedIn } = this.#live();
    return this.#linear(x, rows, wq, bq, this.numHeads * this.headDim, this.embedDim, quantizedIn);
  }

  #projectK(x: Float32Array, rows: number): Float64Array {
    const { wk, bk, quantizedIn } = this.#live();
    return this.#linear(x, rows, wk, bk, this.numKeyValueHeads * this.headDim, this.embedDim, quantizedIn);
  }

  #projectV(x: Float32Array, rows: number): Float64Array {
    const { wv, bv, quantizedIn } = this.#live();
    return this.#linear(x, rows, wv, bv, this.numKeyValueHeads * this.headDim, this.embedDim, quantizedIn);
  }

  /** output [rows, E] = attn [rows, H·Dh]·W_oᵀ + b_o, rounded once to float32. */
  #projectOut(attn: Float64Array, rows: number): Float32Array {
    const { wo, bo } = this.#live();
    return Float32Array.from(this.#linear(attn, rows, wo, bo, this.embedDim, this.numHeads * this.headDim, this.#live().quantizedOut));
  }

  /**
   * RoPE in place on x [batch, length, heads·Dh] (float64): head h of row (b, p) at position
   * offset + p, pair i turned by (offset + p)·base^(−2i/Dh): (a, b) → (a cos − b sin, b cos + a sin),
   * pairs (i, i + Dh/2) ('half') or (2i, 2i + 1) ('interleaved').
   */
  #rotate(x: Float64Array, batch: number, length: number, heads: number, offset: number): void {
    const rope = this.#rope;
    if (!rope) return;
    const Dh = this.headDim;
    for (let b = 0; b < batch; b++) {
      for (let p = 0; p < length; p++) {
        for (let h = 0; h < heads; h++) {
          const row = ((b * length + p) * heads + h) * Dh;
          for (let i = 0; i < Dh / 2; i++) {
            const angle = (offset + p) * Math.pow(rope.base, (-2 * i) / Dh);
            const [ia, ib] = rope.style === 'half' ? [i, i + Dh / 2] : [2 * i, 2 * i + 1];
            const a = x[row + ia]!, c = x[row + ib]!;
            x[row + ia] = a * Math.cos(angle) - c * Math.sin(angle);
            x[row + ib] = c * Math.cos(angle) + a * Math.sin(angle);
          }
        }
      }
    }
  }

  /**
   * query [B, L, E] (or [L, E]); key, value [B, S, E] (omit both for self-attention; omit value to
   * use key as value) → { output [B, L, E], weights? [B, L, S] averaged over heads }.
   * `forward(query, options)` is self-attention with options.
   */
  forward<O extends ReferenceForwardOptions = {}>(query: ReferenceTensor, options?: Exact<O, ReferenceForwardOptions>): ReferenceForwardResult<O>;
  forward(query: ReferenceTensor, options?: ReferenceForwardOptions): ReferenceForwardResult<ReferenceForwardOptions>;
  forward<O extends ReferenceForwardOptions = {}>(query: ReferenceTensor, key: ReferenceTensor | undefined, value?: ReferenceTensor, options?: Exact<O, ReferenceForwardOptions>): ReferenceForwardResult<O>;
  forward(query: ReferenceTensor, key: ReferenceTensor | undefined, value?: ReferenceTensor, options?: ReferenceForwardOptions): ReferenceForwardResult<ReferenceForwardOptions>;
  forward(query: ReferenceTensor, ...rest: unknown[]): ReferenceForwardResult<ReferenceForwardOptions> {
    const selfWithOptions = rest.length === 1 && isOptionsObject(rest[0]);
    const [key, value, options] = (selfWithOptions ? [undefined, undefined, rest[0]] : rest) as [ReferenceTensor?, ReferenceTensor?, ReferenceForwardOptions?];
    if (!selfWithOptions && rest.length > 3) throw new TypeError(`forward takes (query, options) or (query, key, value, options), received ${rest.length + 1} arguments`);
    this.#live();
    const { embedDim: E, numHeads: H, numKeyValueHeads: Hk, headDim: Dh } = this;
    const qa = checkTensor('query', query);
    if (qa.shape.length !== 2 && qa.shape.length !== 3) throw new RangeError(`query: expected shape [B, L, ${E}] or [L, ${E}], received ${formatShape(qa.shape)}`);
    const lead = qa.shape.slice(0, -2);
    expectShape('query', qa.shape, [...lead, 'L', E], 'embedDim of the module');
    const batch = qa.shape.length === 3 ? qa.shape[0]! : 1;
    const L = qa.shape[qa.shape.length - 2]!;
    const self = key === undefined && value === undefined;
    if (key === undefined && value !== undefined) throw new TypeError('value is given without key');
    const ka = self ? qa : checkTensor('key', key);
    const va = self ? qa : value === undefined ? ka : checkTensor('value', value);
    if (!self) {
      expectShape('key', ka.shape, [...lead, 'S', E], 'the batch of query and embedDim');
      expectShape('value', va.shape, ka.shape, 'the shape of key');
    }
    const S = ka.shape[ka.shape.length - 2]!;
    const opts = checkOptions('options', options, FORWARD_OPTIONS, 'forward');
    const causal = checkBoolean('options.causal', opts['causal']);
    const needWeights = checkBoolean('options.needWeights', opts['needWeights']);
    const keyLengths = checkLengths('options.keyLengths', opts['keyLengths'], batch, S);
    const padding = opts['keyPaddingMask'] === undefined ? undefined : checkKeyPaddingMask(opts['keyPaddingMask'], batch, S);
    const window = checkWindow(opts['window']);
    const mask = opts['attnMask'] === undefined ? undefined : checkAttnMask(opts['attnMask'], [batch, H, L, S]);
    const maskValue = mask ? broadcastMask(mask, [batch, H, L, S]) : undefined;
    const additive = mask?.data instanceof Float32Array;
    // a padded key is hidden; a false bool entry hides, a float entry is added (−inf hides)
    const maskAt = padding || maskValue
      ? (b: number, h: number, i: number, j: number): number => {
          if (padding && padding[b * S + j]) return -Infinity;
          if (!maskValue) return 0;
          const m = maskValue(b, h, i, j);
          return additive ? m : m ? 0 : -Infinity;
        }
      : undefined;

    const q = this.#projectQ(qa.data, batch * L);
    const k = this.#projectK(ka.data, batch * S);
    const v = this.#projectV(va.data, batch * S);
    this.#rotate(q, batch, L, H, 0);
    this.#rotate(k, batch, S, Hk, 0);
    const attn = new Float64Array(batch * L * H * Dh);
    const weights = needWeights ? new Float32Array(batch * L * S) : undefined;
    attendHeads({ q, k, v, batch, heads: H, kvHeads: Hk, dh: Dh, lq: L, lk: S, kRow: (b, j) => b * S + j, causal, keyLengths, window, maskAt }, attn, weights);
    const output = this.#projectOut(attn, batch * L);
    return weights ? { output, weights } : { output };
  }

  /**
   * A key/value cache for incremental decoding, [batch, maxLength, Hk·Dh] each (float64); with
   * `window`, a sliding-window cache of the last `window` positions (a ring).
   */
  createCache(options: ReferenceCacheOptions): ReferenceKVCache {
    this.#live();
    const opts = checkOptions('options', options, ['batch', 'maxLength', 'window'], 'createCache');
    const batch = checkInteger('options.batch', opts['batch'], 1);
    const window = opts['window'] === undefined ? undefined : checkInteger('options.window', opts['window'], 1);
    if (window === undefined && opts['maxLength'] === undefined) throw new TypeError('createCache needs options.maxLength (positions to hold) or options.window (a sliding window of the last positions)');
    if (window !== undefined && opts['maxLength'] !== undefined) throw new TypeError('createCache takes options.maxLength or options.window, not both: a window cache holds exactly its window');
    const capacity = window ?? checkInteger('options.maxLength', opts['maxLength'], 1);
    return new ReferenceKVCache(this, batch, capacity, window);
  }

  /**
   * One decoding step: x [B, E] is the newest token of each sequence, at position t = cache.length.
   * Its key and value are appended to the cache (rotated first, with RoPE), and it attends over
   * the cached positions (itself included; in a window cache the last `window`) → output [B, E].
   * Feeding a sequence token by token reproduces `forward(x, { causal: true })` (with a window
   * cache of W: `forward(x, { causal: true, window: [W − 1, 0] })`).
   */
  step(x: ReferenceTensor, cache: ReferenceKVCache): Float32Array {
    this.#live();
    const { embedDim: E, numHeads: H, numKeyValueHeads: Hk, headDim: Dh } = this;
    const state = cache instanceof ReferenceKVCache ? caches.get(cache) : undefined;
    if (state === undefined || state.owner !== this) throw new TypeError(`cache must be a KVCache made by this module's createCache(), received ${describe(cache)}`);
    if (state.k === undefined || state.v === undefined) throw new TypeError('cache was disposed');
    const xa = checkTensor('x', x);
    expectShape('x', xa.shape, [cache.batch, E], 'the batch of the cache and embedDim');
    const t = state.filled;
    const W = cache.window;
    if (W === undefined && t >= cache.maxLength) {
      throw new RangeError(`cache is full: it holds maxLength = ${cache.maxLength} positions (createCache({ maxLength })); reset() it, make a larger one, or use createCache({ window }) for a sliding window`);
    }
    const capacity = cache.maxLength;
    const slot = (p: number): number => (W === undefined ? p : p % W);
    const batch = cache.batch;
    const kvWidth = Hk * Dh;
    const q = this.#projectQ(xa.data, batch);
    const k = this.#projectK(xa.data, batch);
    const v = this.#projectV(xa.data, batch);
    this.#rotate(q, batch, 1, H, t);
    this.#rotate(k, batch, 1, Hk, t);
    for (let b = 0; b < batch; b++) {
      state.k.set(k.subarray(b * kvWidth, (b + 1) * kvWidth), (b * capacity + slot(t)) * kvWidth);
      state.v.set(v.subarray(b * kvWidth, (b + 1) * kvWidth), (b * capacity + slot(t)) * kvWidth);
    }
    // the query at position t over positions 0 … t (a window cache: the last W of them, in order)
    const attn = new Float64Array(batch * H * Dh);
    attendHeads(
      { q, k: state.k, v: state.v, batch, heads: H, kvHeads: Hk, dh: Dh, lq: 1, lk: t + 1, kRow: (b, p) => b * capacity + slot(p), causal: false, window: W === undefined ? undefined : [W - 1, -1] },
      attn,
      undefined,
    );
    state.filled = t + 1;
    return this.#projectOut(attn, batch);
  }

  /** Drops the weights: the module throws on use afterwards (caches are separate: dispose them too). */
  dispose(): void {
    this.#w = undefined;
  }
}

/**
 * Checks `weights` (either form, as the runtime: the q_proj … form when any of its names is
 * present) for E, H, Hk and copies them: W_q, W_k, W_v are the three [E, E] blocks of
 * in_proj_weight in the PyTorch form.
 */
function loadWeights(where: string, weights: Record<string, unknown>, e: number, heads: number, kvHeads: number, bias: boolean): Omit<Weights, 'quantizedIn' | 'quantizedOut'> {
  const dh = e / heads;
  const split = Object.keys(weights).some((k) => SPLIT_NAMES.includes(k));
  if (split) {
    const w = (name: string, rows: number, cols: number, what: string) => checkWeight(where, `weights['${name}']`, weights[name], [rows, cols], what).data;
    const b = (name: string, n: number) => (weights[name] === undefined ? undefined : checkWeight(where, `weights['${name}']`, weights[name], [n], `Linear bias [${n}]`).data);
    const wq = w('q_proj.weight', heads * dh, e, `Linear(E, H·Dh) weight as [out, in], H = ${heads} query heads`);
    const wk = w('k_proj.weight', kvHeads * dh, e, `Linear(E, Hk·Dh) weight as [out, in], Hk = ${kvHeads} key/value heads`);
    const wv = w('v_proj.weight', kvHeads * dh, e, `Linear(E, Hk·Dh) weight as [out, in], Hk = ${kvHeads} key/value heads`);
    const wo = w('o_proj.weight', e, heads * dh, 'Linear(H·Dh, E) weight as [out, in]');
    const [bq, bk, bv] = [b('q_proj.bias', heads * dh), b('k_proj.bias', kvHeads * dh), b('v_proj.bias', kvHeads * dh)];
    const given = [bq, bk, bv].filter((x) => x !== undefined).length;
    if (given !== 0 && given !== 3) throw new TypeError(`${where}: weights has some of q_proj.bias, k_proj.bias, v_proj.bias but not all three`);
    return { wq, wk, wv, wo, bq, bk, bv, bo: b('o_proj.bias', e) };
  }
  if (kvHeads !== heads) {
    throw new TypeError(`${where}: numKeyValueHeads ${kvHeads} ≠ numHeads ${heads} needs separate projections (q_proj.weight, k_proj.weight, v_proj.weight, o_proj.weight): in_proj_weight stacks three [E, E] blocks`);
  }
  const inW = checkWeight(where, 'weights.in_proj_weight', weights['in_proj_weight'], [3 * e, e], 'the q, k, v projections stacked as [3E, E]').data;
  const wo = checkWeight(where, "weights['out_proj.weight']", weights['out_proj.weight'], [e, e], 'Linear(E, E) weight as [out, in]').data;
  const blocks = (x: Float32Array, n: number) => [0, 1, 2].map((part) => x.slice(part * n, (part + 1) * n)) as [Float32Array, Float32Array, Float32Array];
  const [wq, wk, wv] = blocks(inW, e * e);
  if (!bias) {
    for (const name of ['in_proj_bias', 'out_proj.bias']) {
      if (weights[name] !== undefined) throw new TypeError(`${where}: weights['${name}'] is given but the module has bias: false`);
    }
    return { wq, wk, wv, wo };
  }
  const inB = checkWeight(where, 'weights.in_proj_bias', weights['in_proj_bias'], [3 * e], '[3E] (or bias: false)').data;
  const bo = checkWeight(where, "weights['out_proj.bias']", weights['out_proj.bias'], [e], '[E] (or bias: false)').data;
  const [bq, bk, bv] = blocks(inB, e);
  return { wq, wk, wv, wo, bq, bk, bv, bo };
}

/** The projections as the runtime holds them in `dtype` (W_q, W_k, W_v rows of the in-projection [·, E]; W_o [E, H·Dh]). */
function weightsAs(w: Omit<Weights, 'quantizedIn' | 'quantizedOut'>, e: number, heads: number, kvHeads: number, dtype: WeightDtype): Weights {
  const dh = e / heads;
  return {
    ...w,
    wq: weightAs(w.wq, heads * dh, e, dtype), wk: weightAs(w.wk, kvHeads * dh, e, dtype), wv: weightAs(w.wv, kvHeads * dh, e, dtype),
    wo: weightAs(w.wo, e, heads * dh, dtype),
    quantizedIn: inputLevels(e, dtype), quantizedOut: inputLevels(heads * dh, dtype),
  };
}

/** Plain-JS twin of `runtime.multiHeadAttention(config)`: the module from its state_dict. */
export function multiHeadAttention(config: ReferenceMultiHeadAttentionConfig): ReferenceMultiHeadAttention {
  return new ReferenceMultiHeadAttention(config);
}
