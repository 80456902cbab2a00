/**
 * The twin of `runtime.multiHeadAttention`: the same module object (embedDim, numHeads, headDim,
 * forward, createCache, step, dispose) and KV cache (batch, maxLength, length, disposed, reset,
 * truncate, dispose), computed in plain float64 loops.
 *
 * torch.nn.MultiheadAttention (batch_first, bias) written out: q = query·W_qᵀ + b_q,
 * k = key·W_kᵀ + b_k, v = value·W_vᵀ + b_v; per head h, softmax(q_h·k_hᵀ/√Dh + mask)·v_h;
 * output = concat(heads)·W_oᵀ + b_o; weights averaged over heads. Masks as in
 * scaledDotProductAttention (visibleRange): causal bottom-right aligned, keys j ≥ keyLengths[b]
 * hidden, a query that sees no key gives zeros (plus the output bias).
 *
 * `forward` and `step` share one attention loop (`attendHeads`), and the cache keeps the float64
 * keys and values, so feeding a sequence to `step` token by token gives exactly the rows of the
 * causal `forward`.
 */
import {
  checkBoolean, checkInteger, checkLengths, checkOptions, checkTensor, checkWeight, describe, expectShape, formatShape, isOptionsObject, type Exact,
} from './check.js';
import type { ReferenceTensor } from './tensor.js';
import { visibleRange } from './visibility.js';

/** The state_dict of `torch.nn.MultiheadAttention(E, heads, bias=True, batch_first=True)`. */
export interface ReferenceMultiHeadAttentionWeights {
  in_proj_weight: ReferenceTensor;
  in_proj_bias: ReferenceTensor;
  'out_proj.weight': ReferenceTensor;
  'out_proj.bias': ReferenceTensor;
}

export interface ReferenceMultiHeadAttentionConfig {
  embedDim: number;
  numHeads: number;
  weights: ReferenceMultiHeadAttentionWeights;
}

/** The options of `mha.forward`, by the same names. */
export interface ReferenceForwardOptions {
  /** Query i of L sees key j only when j ≤ i + S − L (bottom-right aligned). */
  causal?: boolean;
  /** Per batch: keys j ≥ keyLengths[b] are padding. */
  keyLengths?: ArrayLike<number>;
  /** Also return the weights [B, L, S] averaged over heads. */
  needWeights?: boolean;
}

/** What `forward` returns for options O: `weights` [B, L, S] is present when O asks for them. */
export type ReferenceForwardResult<O> = { output: Float32Array; weights?: Float32Array } & (O extends { needWeights: true } ? { weights: Float32Array } : unknown);

export interface ReferenceCacheOptions {
  batch: number;
  maxLength: number;
}

/** The module's weights (copies made at construction), dropped by `dispose()`. */
interface Weights {
  inW: Float32Array;
  inB: Float32Array;
  outW: Float32Array;
  outB: Float32Array;
}

/** The state of a cache: float64 keys and values [B, maxLength, E] each (undefined once disposed). */
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

/** The twin of the runtime's `KVCache`: float64 keys and values [batch, maxLength, E], filled position by position by `step`. */
export class ReferenceKVCache {
  readonly batch: number;
  readonly maxLength: number;

  /** @internal use `mha.createCache(...)` */
  constructor(owner: ReferenceMultiHeadAttention, batch: number, maxLength: number) {
    this.batch = batch;
    this.maxLength = maxLength;
    const size = batch * maxLength * owner.embedDim;
    caches.set(this, { owner, k: new Float64Array(size), v: new Float64Array(size), filled: 0 });
  }

  /** Positions filled so far. */
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

  /** Keeps the first `length` positions and forgets the rest (e.g. to re-decode from there). */
  truncate(length: number): void {
    const state = stateOf(this);
    state.filled = checkInteger('length', length, 0, state.filled);
  }

  dispose(): void {
    const state = stateOf(this);
    state.k = undefined;
    state.v = undefined;
  }
}

/**
 * Per batch b, head h and query i: s_j = q_i·k_j/√Dh over the keys query i sees, w = softmax(s),
 * attn_i[h] = Σ_j w_j·v_j[h], and weights[b, i, j] += w_j/H. q rows are (b·lq + i)·E, k and v
 * rows (b·kRows + j)·E (kRows = S for a forward, maxLength for a cache).
 */
function attendHeads(
  p: { q: Float64Array; k: Float64Array; v: Float64Array; batch: number; heads: number; dh: number; lq: number; lk: number; kRows: number; causal: boolean; keyLengths?: ArrayLike<number> },
  attn: Float64Array,
  weights: Float32Array | undefined,
): void {
  const { q, k, v, batch, heads: H, dh: Dh, lq: L, lk: S, kRows } = p;
  const E = H * Dh;
  const rule = { lq: L, lk: S, causal: p.causal, keyLengths: p.keyLengths };
  const s = new Float64Array(S);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++) {
        const [lo, hi] = visibleRange(rule, b, i);
        const qi = (b * L + i) * E + h * Dh;
        let max = -Infinity;
        for (let j = lo; j < hi; j++) {
          const kj = (b * kRows + j) * E + h * Dh;
          let dot = 0;
          for (let e = 0; e < Dh; e++) dot += q[qi + e]! * k[kj + e]!;
          s[j] = dot / Math.sqrt(Dh);
          if (s[j]! > max) max = s[j]!;
        }
        let sum = 0;
        for (let j = lo; j < hi; j++) sum += s[j] = Math.exp(s[j]! - max);
        for (let j = lo; j < hi; j++) {
          const w = s[j]! / sum;
          if (weights) weights[(b * L + i) * S + j] += w / H;
          const vj = (b * kRows + j) * E + h * Dh;
          for (let e = 0; e < Dh; e++) attn[qi + e] += w * v[vj + e]!;
        }
      }
    }
  }
}

/** The twin of the runtime's `MultiHeadAttention`. */
export class ReferenceMultiHeadAttention {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  #w: Weights | undefined;

  /** @internal use `reference.multiHeadAttention(...)` */
  constructor(config: ReferenceMultiHeadAttentionConfig) {
    const where = 'multiHeadAttention';
    const cfg = checkOptions('config', config, ['embedDim', 'numHeads', 'weights'], where);
    const e = checkInteger(`${where}: embedDim`, cfg['embedDim'], 1);
    const heads = checkInteger(`${where}: numHeads`, cfg['numHeads'], 1);
    if (e % heads !== 0) throw new RangeError(`${where}: embedDim ${e} must be divisible by numHeads ${heads}`);
    const w = checkOptions('config.weights', cfg['weights'], ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'], where);
    this.#w = {
      inW: checkWeight(where, 'in_proj_weight', w['in_proj_weight'], [3 * e, e], 'the q, k, v projections stacked as [3E, E]').data,
      inB: checkWeight(where, 'in_proj_bias', w['in_proj_bias'], [3 * e], '[3E]').data,
      outW: checkWeight(where, "'out_proj.weight'", w['out_proj.weight'], [e, e], 'Linear(E, E) weight as [out, in]').data,
      outB: checkWeight(where, "'out_proj.bias'", w['out_proj.bias'], [e], '[E]').data,
    };
    this.embedDim = e;
    this.numHeads = heads;
    this.headDim = e / heads;
  }

  #live(): Weights {
    if (this.#w === undefined) throw new Error('multiHeadAttention: this module was disposed');
    return this.#w;
  }

  /** y[r, o] = Σ_i x[r, i]·in_proj_weight[part·E + o, i] + in_proj_bias[part·E + o] (part 0: q, 1: k, 2: v), in float64. */
  #project(x: Float32Array, rows: number, part: number): Float64Array {
    const E = this.embedDim;
    const { inW, inB } = this.#live();
    const y = new Float64Array(rows * E);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < E; o++) {
        let sum = inB[part * E + o]!;
        for (let i = 0; i < E; i++) sum += inW[(part * E + o) * E + i]! * x[r * E + i]!;
        y[r * E + o] = sum;
      }
    }
    return y;
  }

  /** output[r] = attn[r]·out_proj.weightᵀ + out_proj.bias, rounded once to float32. */
  #projectOut(attn: Float64Array, rows: number): Float32Array {
    const E = this.embedDim;
    const { outW, outB } = this.#live();
    const output = new Float32Array(rows * E);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < E; o++) {
        let sum = outB[o]!;
        for (let i = 0; i < E; i++) sum += outW[o * E + i]! * attn[r * E + i]!;
        output[r * E + o] = sum;
      }
    }
    return output;
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
    const { embedDim: E, numHeads: H, headDim: Dh } = this;
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
    const opts = checkOptions('options', options, ['causal', 'keyLengths', 'needWeights'], 'forward');
    const causal = checkBoolean('options.causal', opts['causal']);
    const needWeights = checkBoolean('options.needWeights', opts['needWeights']);
    const keyLengths = checkLengths('options.keyLengths', opts['keyLengths'], batch, S);

    const q = this.#project(qa.data, batch * L, 0);
    const k = this.#project(ka.data, batch * S, 1);
    const v = this.#project(va.data, batch * S, 2);
    const attn = new Float64Array(batch * L * E);
    const weights = needWeights ? new Float32Array(batch * L * S) : undefined;
    attendHeads({ q, k, v, batch, heads: H, dh: Dh, lq: L, lk: S, kRows: S, causal, keyLengths }, attn, weights);
    const output = this.#projectOut(attn, batch * L);
    return weights ? { output, weights } : { output };
  }

  /** A key/value cache for incremental decoding: [batch, maxLength, E] each (float64). */
  createCache(options: ReferenceCacheOptions): ReferenceKVCache {
    this.#live();
    const opts = checkOptions('options', options, ['batch', 'maxLength'], 'createCache');
    const batch = checkInteger('options.batch', opts['batch'], 1);
    const maxLength = checkInteger('options.maxLength', opts['maxLength'], 1);
    return new ReferenceKVCache(this, batch, maxLength);
  }

  /**
   * One decoding step: x [B, E] is the newest token of each sequence. Its key and value are appended
   * to the cache, and it attends over every cached position (itself included) → output [B, E].
   * Feeding a sequence token by token reproduces `forward(x, { causal: true })`.
   */
  step(x: ReferenceTensor, cache: ReferenceKVCache): Float32Array {
    this.#live();
    const { embedDim: E, numHeads: H, headDim: Dh } = this;
    const state = cache instanceof ReferenceKVCache ? caches.get(cache) : undefined;
    if (state === undefined || state.owner !== this) throw new TypeError(`cache must be a KVCache made by this module's createCache(), received ${describe(cache)}`);
    if (state.k === undefined || state.v === undefined) throw new TypeError('cache was disposed');
    const xa = checkTensor('x', x);
    expectShape('x', xa.shape, [cache.batch, E], 'the batch of the cache and embedDim');
    const t = state.filled;
    if (t >= cache.maxLength) throw new RangeError(`cache is full: it holds maxLength = ${cache.maxLength} positions (createCache({ maxLength })); reset() it or make a larger one`);
    const batch = cache.batch;
    const q = this.#project(xa.data, batch, 0);
    const k = this.#project(xa.data, batch, 1);
    const v = this.#project(xa.data, batch, 2);
    for (let b = 0; b < batch; b++) {
      state.k.set(k.subarray(b * E, (b + 1) * E), (b * cache.maxLength + t) * E);
      state.v.set(v.subarray(b * E, (b + 1) * E), (b * cache.maxLength + t) * E);
    }
    const attn = new Float64Array(batch * E);
    attendHeads({ q, k: state.k, v: state.v, batch, heads: H, dh: Dh, lq: 1, lk: t + 1, kRows: cache.maxLength, causal: false }, attn, undefined);
    state.filled = t + 1;
    return this.#projectOut(attn, batch);
  }

  /** Drops the weights: the module throws on use afterwards (caches are separate: dispose them too). */
  dispose(): void {
    this.#w = undefined;
  }
}

/** Plain-JS twin of `runtime.multiHeadAttention(config)`: the module from its state_dict. */
export function multiHeadAttention(config: ReferenceMultiHeadAttentionConfig): ReferenceMultiHeadAttention {
  return new ReferenceMultiHeadAttention(config);
}
