/**
 * Multi-head attention from a trained module's state_dict: `torch.nn.MultiheadAttention(E, H,
 * batch_first=True)` (in_proj_weight …) or a Hugging Face Llama-style attention (q_proj, k_proj,
 * v_proj, o_proj; grouped-query with Hk key/value heads, optional rotary embedding):
 *   [q | k | v] = x·W_inᵀ + b_in        (one gemm for self-attention, bias fused; q has H heads, k and v Hk)
 *   q, k rotated by RoPE at their positions (when configured)
 *   head h attends with kv head ⌊h/(H/Hk)⌋, scale 1/√Dh   (one fused kernel call, all heads)
 *   output = concat(heads)·W_outᵀ + b_out
 * The heads are read and written in place inside the [B, L, ·] rows (strides), so nothing is
 * transposed or copied between the projections and the attention.
 */
import { Tensor } from '../engine/memory.js';
import { checkBoolean, checkInteger, checkLengths, checkOptions, checkTensor, describe, expectShape, formatShape, isOptionsObject, type Exact, type TensorLike } from '../engine/validate.js';
import { attendFused, attendMaterialised, type View } from '../ops/attend.js';
import { KVCache } from './kv-cache.js';
import { KVStorage } from './kv-storage.js';
import { checkNames, underPrefix } from '../engine/state-dict.js';
import { at, linear, mat, offset, weightRows, type Mat } from '../engine/linear.js';
import { holdsQuantized, loadProjections, loadSavedProjections, projectionsAs, SPLIT_NAMES, TORCH_NAMES, type Projections } from './mha-weights.js';
import { checkWeightDtype, type DtypeOption, type WeightDtype } from '../engine/quantized.js';
import { ropeTable, type RopeStyle } from '../ops/position.js';
import { checkMask, checkVariants, variantFields, type AttentionMask, type Variants } from '../ops/variants.js';
import type { Temps, Workspace } from '../engine/workspace.js';

export { KVCache };

/** The state_dict of `torch.nn.MultiheadAttention` (batch_first; no biases with `bias: false`). */
export interface MultiHeadAttentionWeights {
  in_proj_weight: TensorLike;
  in_proj_bias?: TensorLike;
  'out_proj.weight': TensorLike;
  'out_proj.bias'?: TensorLike;
}

/** Hugging Face Llama-style projections (biases optional: Qwen has q/k/v biases). */
export interface SplitProjectionWeights {
  'q_proj.weight': TensorLike;
  'k_proj.weight': TensorLike;
  'v_proj.weight': TensorLike;
  'o_proj.weight': TensorLike;
  'q_proj.bias'?: TensorLike;
  'k_proj.bias'?: TensorLike;
  'v_proj.bias'?: TensorLike;
  'o_proj.bias'?: TensorLike;
}

export interface MultiHeadAttentionConfig {
  embedDim: number;
  numHeads: number;
  /** Key/value heads for grouped-query attention (a divisor of numHeads; needs the q_proj … form). Default numHeads. */
  numKeyValueHeads?: number;
  /** The PyTorch form without in_proj_bias / out_proj.bias (`bias=False`). Default true. */
  bias?: boolean;
  /** Rotary embedding of q and k inside forward and step (Llama: style 'half', base 10000 or the model's rope_theta). */
  rope?: { style: RopeStyle; base?: number };
  weights: MultiHeadAttentionWeights | SplitProjectionWeights | Record<string, TensorLike>;
  /** Only the weights whose names start with this (removed), e.g. 'model.layers.0.self_attn.' of a whole model's state_dict. */
  prefix?: string;
  /**
   * The dtype the projection weights are held in: 'f32' (default, or 'fp32'), 'q8' or 'q4' (blocks
   * of 32 inputs with an f32 scale each; the inputs of each product are rounded to int8 per block).
   * Biases stay f32, and so does a projection whose input width is not a multiple of 32.
   */
  dtype?: DtypeOption;
}

export interface ForwardOptions {
  /** Query i of L sees key j only when j ≤ i + S − L (bottom-right aligned; for self-attention the usual causal mask). */
  causal?: boolean;
  /** Per batch: keys j ≥ keyLengths[b] are padding (right padding). */
  keyLengths?: ArrayLike<number>;
  /** [B, S] true where a key is padding (PyTorch's key_padding_mask convention: true = ignore), e.g. left padding. */
  keyPaddingMask?: { data: Uint8Array | readonly boolean[]; shape: readonly number[] };
  /** Broadcastable to [B, H, L, S]: Uint8Array / boolean[] true = may attend (PyTorch SDPA's convention, the opposite of nn.MultiheadAttention's bool attn_mask), or a Float32Array added to the scores. */
  attnMask?: AttentionMask;
  /** Sliding window [left, right] around pos(i) = i + S − L (−1: unbounded); [W − 1, 0] with causal is Mistral's window of W. */
  window?: readonly [number, number];
  /** Also return the weights [B, L, S] averaged over heads (PyTorch's default). */
  needWeights?: boolean;
}

/** What `forward` returns for options O: `weights` [B, L, S] is present when O asks for them. */
export type ForwardResult<O> = { output: Float32Array; weights?: Float32Array } & (O extends { needWeights: true } ? { weights: Float32Array } : unknown);

const FORWARD_OPTIONS = ['causal', 'keyLengths', 'keyPaddingMask', 'attnMask', 'window', 'needWeights'];

/** @internal One attention call of the module over resident rows (see attendRows). */
export interface RowsProblem {
  xq: Mat;
  xk?: Mat;
  xv?: Mat;
  batch: number;
  lq: number;
  lk: number;
  causal: boolean;
  keyLengths?: Int32Array;
  needWeights?: boolean;
  /** Return the weights of every head, [B, H, Lq, Lk], instead of their average. */
  headWeights?: boolean;
  variants?: Variants;
  /** Keys and values already projected (projectKeysValues): rows [B·S, 2·Hk·Dh]; xk, xv unused. */
  projectedKV?: Mat;
}

export class MultiHeadAttention {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  /** The dtype of the projection weights (config.dtype; 'fp32' reads 'f32'). */
  readonly dtype: WeightDtype;
  private readonly ws: Workspace;
  private readonly proj: Projections;
  private readonly rope: { style: 0 | 1; base: number } | undefined;

  /** @internal use `runtime.multiHeadAttention(...)` */
  constructor(ws: Workspace, config: MultiHeadAttentionConfig) {
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
      this.rope = { style: r['style'] === 'half' ? 0 : 1, base };
    }
    const under = underPrefix(where, cfg['weights'], cfg['prefix']);
    const weights = under.record;
    const split = Object.keys(weights).some((k) => (SPLIT_NAMES as readonly string[]).includes(k));
    const splitRequired = ['q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'o_proj.weight'];
    const torchRequired = bias ? [...TORCH_NAMES] : ['in_proj_weight', 'out_proj.weight'];
    checkNames(where, under, split ? splitRequired : torchRequired, { optional: split ? SPLIT_NAMES : TORCH_NAMES, alternatives: [split ? torchRequired : splitRequired] });
    this.ws = ws;
    this.embedDim = e;
    this.numHeads = heads;
    this.numKeyValueHeads = kvHeads;
    this.headDim = e / heads;
    this.dtype = dtype;
    this.proj = holdsQuantized(weights)
      ? loadSavedProjections(ws, where, weights, e, heads, kvHeads, e / heads)
      : projectionsAs(ws, loadProjections(ws, where, weights, e, heads, kvHeads, bias, e / heads, dtype), dtype);
  }

  /** @internal The held projections (what a saved model writes). */
  get held(): Projections {
    return this.proj;
  }

  private assertLive(): void {
    if (this.proj.inW.disposed) throw new Error('multiHeadAttention: this module was disposed');
  }

  /** Width of a [q | k | v] projection row: (H + 2·Hk)·Dh. */
  private get qkvWidth(): number {
    return (this.numHeads + 2 * this.numKeyValueHeads) * this.headDim;
  }

  /** y [rows, n] = x [rows, E]·W_in[row0 : row0 + n]ᵀ + b_in[row0 : row0 + n]. */
  private projectIn(x: Mat, rows: number, row0: number, n: number, y: Mat): void {
    const { inW, inB } = this.proj;
    linear(this.ws, x, weightRows(inW, row0), y, rows, n, this.embedDim, { bias: inB ? offset(inB.ptr, row0) : 0 });
  }

  /** y [rows, E] = x [rows, H·Dh]·W_outᵀ + b_out. */
  private projectOut(x: Mat, rows: number, y: Mat): void {
    const { outW, outB } = this.proj;
    const width = this.numHeads * this.headDim;
    linear(this.ws, x, weightRows(outW), y, rows, this.embedDim, width, { bias: outB ? outB.ptr : 0 });
  }

  /** RoPE in place on `heads` heads of Dh inside rows of m (batch stride sB floats), positions offset … offset + length − 1. */
  private rotate(m: Mat, batch: number, length: number, heads: number, sB: number, positionOffset: number): void {
    if (!this.rope) return;
    const table = ropeTable(this.ws, length, this.headDim, positionOffset, this.rope.base);
    this.ws.kernels.ropeHeads(m.ptr, batch, length, heads, this.headDim, sB, m.ld, this.headDim, table, this.rope.style);
  }

  /**
   * query [B, L, E] (or [L, E]); key, value [B, S, E] (omit both for self-attention; omit value to
   * use key as value) → { output [B, L, E], weights? [B, L, S] averaged over heads }.
   * `forward(x, options)` is self-attention with options.
   */
  forward<O extends ForwardOptions = {}>(query: TensorLike, options?: Exact<O, ForwardOptions>): ForwardResult<O>;
  forward(query: TensorLike, options?: ForwardOptions): ForwardResult<ForwardOptions>;
  forward<O extends ForwardOptions = {}>(query: TensorLike, key: TensorLike | undefined, value?: TensorLike, options?: Exact<O, ForwardOptions>): ForwardResult<O>;
  forward(query: TensorLike, key: TensorLike | undefined, value?: TensorLike, options?: ForwardOptions): ForwardResult<ForwardOptions>;
  forward(query: TensorLike, ...rest: unknown[]): ForwardResult<ForwardOptions> {
    // forward(x, options) is self-attention with options
    const selfWithOptions = rest.length === 1 && isOptionsObject(rest[0]);
    const [key, value, options] = (selfWithOptions ? [undefined, undefined, rest[0]] : rest) as [TensorLike?, TensorLike?, ForwardOptions?];
    if (!selfWithOptions && rest.length > 3) throw new TypeError(`forward takes (query, options) or (query, key, value, options), received ${rest.length + 1} arguments`);
    this.assertLive();
    const { ws, embedDim: e, numHeads: heads, numKeyValueHeads: kvHeads, headDim: dh } = this;
    const heap = ws.heap;
    const qa = checkTensor('query', query, heap);
    if (qa.shape.length !== 2 && qa.shape.length !== 3) throw new RangeError(`query: expected shape [B, L, ${e}] or [L, ${e}], received ${formatShape(qa.shape)}`);
    const lead = qa.shape.slice(0, -2);
    expectShape('query', qa.shape, [...lead, 'L', e], 'embedDim of the module');
    const batch = qa.shape.length === 3 ? qa.shape[0]! : 1;
    const lq = qa.shape[qa.shape.length - 2]!;
    const self = key === undefined && value === undefined;
    if (key === undefined && value !== undefined) throw new TypeError('value is given without key');
    const ka = self ? qa : checkTensor('key', key, heap);
    const va = self ? qa : value === undefined ? ka : checkTensor('value', value, heap);
    if (!self) {
      expectShape('key', ka.shape, [...lead, 'S', e], 'the batch of query and embedDim');
      expectShape('value', va.shape, ka.shape, 'the shape of key');
    }
    const lk = ka.shape[ka.shape.length - 2]!;
    const opts = checkOptions('options', options, FORWARD_OPTIONS, 'forward');
    const causal = checkBoolean('options.causal', opts['causal']);
    const needWeights = checkBoolean('options.needWeights', opts['needWeights']);
    const keyLengths = checkLengths('options.keyLengths', opts['keyLengths'], batch, lk);
    const variants = checkVariants(
      { window: opts['window'], attnMask: combineMasks(opts['attnMask'], opts['keyPaddingMask'], batch, heads, lq, lk) },
      batch, heads, lq, lk, heap,
    );

    return ws.run((temps) => {
      const xq = mat(temps.input(qa), e);
      const xk = self ? undefined : mat(temps.input(ka), e);
      const xv = self || va === ka ? xk : mat(temps.input(va), e);
      const out = temps.tensor(qa.shape);
      const weights = this.attendRows(temps, { xq, xk, xv, batch, lq, lk, causal, keyLengths, needWeights, variants }, mat(out.ptr, e));
      const output = out.toArray();
      return weights ? { output, weights } : { output };
    });
  }

  /**
   * @internal The module on resident rows: out [B·L, E] = attention of xq [B·L, E] over xk, xv
   * [B·S, E] (self-attention when xk is undefined; xv === xk shares one projection). Returns the
   * head-averaged weights when asked. Used by forward and by the transformer layers.
   */
  attendRows(temps: Temps, p: RowsProblem, out: Mat): Float32Array | undefined {
    const { ws, numHeads: heads, numKeyValueHeads: kvHeads, headDim: dh } = this;
    const { xq, xk, xv, batch, lq, lk } = p;
    // heads are read in place: head h of a row is its columns h·Dh … (h+1)·Dh
    const heads4 = (m: Mat, length: number): View => ({ ptr: m.ptr, sB: length * m.ld, sH: dh, sL: m.ld });
    const qWidth = heads * dh, kvWidth = kvHeads * dh;
    let qm: Mat, km: Mat, vm: Mat;
    if (p.projectedKV) {
      qm = mat(temps.tensor([batch * lq, qWidth]).ptr, qWidth);
      this.projectIn(xq, batch * lq, 0, qWidth, qm);
      [km, vm] = [p.projectedKV, at(p.projectedKV, 0, kvWidth)];
    } else if (xk === undefined) {
      // One gemm: rows [q | k | v] of width (H + 2Hk)·Dh.
      const qkv = mat(temps.tensor([batch * lq, this.qkvWidth]).ptr, this.qkvWidth);
      this.projectIn(xq, batch * lq, 0, this.qkvWidth, qkv);
      [qm, km, vm] = [qkv, at(qkv, 0, qWidth), at(qkv, 0, qWidth + kvWidth)];
    } else {
      qm = mat(temps.tensor([batch * lq, qWidth]).ptr, qWidth);
      this.projectIn(xq, batch * lq, 0, qWidth, qm);
      const kv = mat(temps.tensor([batch * lk, 2 * kvWidth]).ptr, 2 * kvWidth);
      if (xv === xk) this.projectIn(xk, batch * lk, qWidth, 2 * kvWidth, kv);
      else {
        this.projectIn(xk, batch * lk, qWidth, kvWidth, kv);
        this.projectIn(xv!, batch * lk, qWidth + kvWidth, kvWidth, at(kv, 0, kvWidth));
      }
      [km, vm] = [kv, at(kv, 0, kvWidth)];
    }
    this.rotate(qm, batch, lq, heads, lq * qm.ld, 0);
    if (!p.projectedKV) this.rotate(km, batch, lk, kvHeads, lk * km.ld, 0);
    const attn = mat(temps.tensor([batch * lq, qWidth]).ptr, qWidth);
    const problem = {
      q: heads4(qm, lq), k: heads4(km, lk), v: heads4(vm, lk), out: heads4(attn, lq),
      batch, heads, lq, lk, d: dh, dv: dh, scale: 1 / Math.sqrt(dh), causal: p.causal,
      keyLengths: p.keyLengths ? temps.int32(p.keyLengths) : 0,
      group: heads / kvHeads,
      ...(p.variants ? variantFields(temps, p.variants) : {}),
    };
    let weights: Float32Array | undefined;
    if (p.headWeights) weights = ws.heap.view(attendMaterialised(ws, temps, problem), batch * heads * lq * lk).slice();
    else if (p.needWeights) weights = averageHeads(ws.heap.view(attendMaterialised(ws, temps, problem), batch * heads * lq * lk), batch, heads, lq * lk);
    else attendFused(ws, problem);
    this.projectOut(attn, batch * lq, out);
    return weights;
  }

  /**
   * A resident key/value cache for incremental decoding, [batch, maxLength, Hk·Dh] each; with
   * `window`, a sliding-window cache that keeps the last `window` positions (a ring, bounded memory).
   */
  createCache(options: { batch: number; maxLength?: number; window?: number }): KVCache {
    this.assertLive();
    const opts = checkOptions('options', options, ['batch', 'maxLength', 'window'], 'createCache');
    const batch = checkInteger('options.batch', opts['batch'], 1);
    const window = opts['window'] === undefined ? undefined : checkInteger('options.window', opts['window'], 1);
    if (window === undefined && opts['maxLength'] === undefined) throw new TypeError('createCache needs options.maxLength (positions to hold) or options.window (a sliding window of the last positions)');
    if (window !== undefined && opts['maxLength'] !== undefined) throw new TypeError('createCache takes options.maxLength or options.window, not both: a window cache holds exactly its window');
    const capacity = window ?? checkInteger('options.maxLength', opts['maxLength'], 1);
    return new KVCache(this.ws.heap, this, new KVStorage(this.ws.heap, 'f32', batch, capacity, this.numKeyValueHeads, this.headDim), batch, capacity, window);
  }

  /**
   * One decoding step: x [B, E] is the newest token of each sequence, at position cache.length.
   * Its key and value are appended to the cache (rotated first, with RoPE), and it attends over
   * every cached position (itself included; in a window cache the last `window`) → output [B, E].
   * Feeding a sequence token by token reproduces `forward(x, { causal: true })` (with a window
   * cache of W: `forward(x, { causal: true, window: [W − 1, 0] })`).
   */
  step(x: TensorLike, cache: KVCache): Float32Array {
    this.assertLive();
    const { ws, embedDim: e, numHeads: heads, numKeyValueHeads: kvHeads, headDim: dh } = this;
    if (!(cache instanceof KVCache) || cache.owner !== this) throw new TypeError(`cache must be a KVCache made by this module's createCache(), received ${describe(cache)}`);
    if (cache.disposed) throw new TypeError('cache was disposed');
    const xa = checkTensor('x', x, ws.heap);
    expectShape('x', xa.shape, [cache.batch, e], 'the batch of the cache and embedDim');
    cache.nextSlot(); // a full cache throws before anything runs
    return ws.run((temps) => {
      const out = temps.tensor([cache.batch, e]);
      this.stepRows(temps, mat(temps.input(xa), e), cache, mat(out.ptr, e));
      return out.toArray();
    });
  }

  /** @internal One decoding step on resident rows: out [B, E] for x [B, E] (see step). */
  stepRows(temps: Temps, x: Mat, cache: KVCache, out: Mat): void {
    const { ws, numHeads: heads, numKeyValueHeads: kvHeads, headDim: dh } = this;
    const position = cache.length;
    const slot = cache.nextSlot();
    const batch = cache.batch;
    const qWidth = heads * dh, kvWidth = kvHeads * dh;
    {
      const qkv = mat(temps.tensor([batch, this.qkvWidth]).ptr, this.qkvWidth);
      this.projectIn(x, batch, 0, this.qkvWidth, qkv);
      this.rotate(qkv, batch, 1, heads + kvHeads, qkv.ld, position); // q and k heads are adjacent
      // Append k and v of the new token at its slot of every sequence.
      for (let b = 0; b < batch; b++) {
        const k = qkv.ptr + 4 * (b * this.qkvWidth + qWidth);
        cache.storage.write(ws, b, slot, k, k + 4 * kvWidth, this.qkvWidth, 1);
      }
      const attn = mat(temps.tensor([batch, qWidth]).ptr, qWidth);
      attendFused(ws, {
        q: { ptr: qkv.ptr, sB: this.qkvWidth, sH: dh, sL: this.qkvWidth },
        ...cache.storage.views(),
        out: { ptr: attn.ptr, sB: qWidth, sH: dh, sL: qWidth },
        batch, heads, lq: 1, lk: cache.keysAfterAppend(), d: dh, dv: dh, scale: 1 / Math.sqrt(dh), causal: false, keyLengths: 0,
        group: heads / kvHeads,
      });
      cache.advance();
      this.projectOut(attn, batch, out);
    }
  }

  /** @internal kv [rows, 2·Hk·Dh] = x [rows, E] projected to keys and values once (a bound memory). */
  projectKeysValues(x: Mat, rows: number, kv: Mat): void {
    this.projectIn(x, rows, this.numHeads * this.headDim, 2 * this.numKeyValueHeads * this.headDim, kv);
  }

  /** Frees the resident weights (caches are separate: dispose them too). */
  dispose(): void {
    const { inW, inB, outW, outB } = this.proj;
    for (const t of [inW, inB, outW, outB]) t?.dispose();
  }
}

/**
 * One mask from attnMask (true / non-zero = may attend, or additive) and keyPaddingMask [B, S]
 * (true = padding): as given when only one is, else a bool or additive mask [B, H or 1, L, S]
 * that hides a key when either does.
 */
function combineMasks(attnMask: unknown, keyPaddingMask: unknown, batch: number, heads: number, lq: number, lk: number): AttentionMask | undefined {
  if (keyPaddingMask === undefined) return attnMask as AttentionMask | undefined;
  const name = 'options.keyPaddingMask';
  const kpm = keyPaddingMask as { data?: unknown; shape?: unknown };
  if (typeof kpm !== 'object' || kpm === null) throw new TypeError(`${name} must be { data: Uint8Array | boolean[], shape: [B, S] } (true = padding), received ${describe(kpm)}`);
  if (!Array.isArray(kpm.shape) || kpm.shape.length !== 2 || kpm.shape[0] !== batch || kpm.shape[1] !== lk) {
    throw new RangeError(`${name}: expected shape [${batch}, ${lk}] ([B, S]: true where a key is padding), received ${Array.isArray(kpm.shape) ? formatShape(kpm.shape) : describe(kpm.shape)}`);
  }
  const data = kpm.data;
  const padding = data instanceof Uint8Array ? data : Array.isArray(data) && data.every((x) => typeof x === 'boolean') ? Uint8Array.from(data, Number) : undefined;
  if (!padding || padding.length !== batch * lk) throw new TypeError(`${name}.data must be a Uint8Array or boolean[] of ${batch * lk} entries (true = padding), received ${describe(data)}`);
  if (attnMask === undefined) return { data: padding.map((x) => (x ? 0 : 1)), shape: [batch, 1, 1, lk] };
  // both: the attention mask checked as on its own, then [B, H', L, S] hiding the padded keys too
  const m = checkMask(attnMask, [batch, heads, lq, lk]);
  const h2 = m.strides[1] === 0 ? 1 : heads;
  const [sB, sH, sL, sK] = m.strides as [number, number, number, number];
  const out = m.kind === 'add' ? new Float32Array(batch * h2 * lq * lk) : new Uint8Array(batch * h2 * lq * lk);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < h2; h++) {
      for (let i = 0; i < lq; i++) {
        for (let j = 0; j < lk; j++) {
          const o = ((b * h2 + h) * lq + i) * lk + j;
          if (padding[b * lk + j]) out[o] = m.kind === 'add' ? -Infinity : 0;
          else out[o] = m.data[b * sB + h * sH + i * sL + j * sK]!;
        }
      }
    }
  }
  return { data: out, shape: [batch, h2, lq, lk] };
}

/** w [B, H, n] → mean over H: [B, n]. */
function averageHeads(w: Float32Array, batch: number, heads: number, n: number): Float32Array {
  const out = new Float32Array(batch * n);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const src = (b * heads + h) * n;
      for (let i = 0; i < n; i++) out[b * n + i]! += w[src + i]! / heads;
    }
  }
  return out;
}
