/**
 * Multi-head attention with the weights of `torch.nn.MultiheadAttention(E, heads, bias=True,
 * batch_first=True)`:
 *   [q | k | v] = x·in_proj_weightᵀ + in_proj_bias      (one gemm for self-attention, bias fused)
 *   head h attends with q, k, v columns h·Dh … (h+1)·Dh, scale 1/√Dh   (one fused kernel call, all heads)
 *   output = concat(heads)·out_proj.weightᵀ + out_proj.bias
 * The heads are read and written in place inside the [B, L, E] rows (strides), so nothing is
 * transposed or copied between the projections and the attention.
 */
import { Tensor } from '../memory.js';
import { checkBoolean, checkInteger, checkLengths, checkOptions, checkTensor, checkWeight, describe, expectShape, formatShape, isOptionsObject, type Exact, type TensorLike } from '../validate.js';
import { attendFused, attendMaterialised, type View } from './attend.js';
import { at, linear, mat, offset, type Mat } from './linear.js';
import { residentWeights } from './weights.js';
import type { Workspace } from './workspace.js';

export interface MultiHeadAttentionWeights {
  in_proj_weight: TensorLike;
  in_proj_bias: TensorLike;
  'out_proj.weight': TensorLike;
  'out_proj.bias': TensorLike;
}

export interface MultiHeadAttentionConfig {
  embedDim: number;
  numHeads: number;
  weights: MultiHeadAttentionWeights;
}

export interface ForwardOptions {
  /** Query i of L sees key j only when j ≤ i + S − L (bottom-right aligned; for self-attention the usual causal mask). */
  causal?: boolean;
  /** Per batch: keys j ≥ keyLengths[b] are padding (PyTorch's key_padding_mask as lengths). */
  keyLengths?: ArrayLike<number>;
  /** Also return the weights [B, L, S] averaged over heads (PyTorch's default). */
  needWeights?: boolean;
}

/** What `forward` returns for options O: `weights` [B, L, S] is present when O asks for them. */
export type ForwardResult<O> = { output: Float32Array; weights?: Float32Array } & (O extends { needWeights: true } ? { weights: Float32Array } : unknown);

export class KVCache {
  readonly batch: number;
  readonly maxLength: number;
  /** @internal */ readonly owner: MultiHeadAttention;
  /** @internal [B, maxLength, E] */ readonly k: Tensor;
  /** @internal [B, maxLength, E] */ readonly v: Tensor;
  private filled = 0;

  /** @internal use `mha.createCache(...)` */
  constructor(owner: MultiHeadAttention, k: Tensor, v: Tensor, batch: number, maxLength: number) {
    this.owner = owner;
    this.k = k;
    this.v = v;
    this.batch = batch;
    this.maxLength = maxLength;
  }

  /** Positions filled so far. */
  get length(): number {
    return this.filled;
  }

  get disposed(): boolean {
    return this.k.disposed;
  }

  /** Starts a new sequence (keeps the memory). */
  reset(): void {
    this.filled = 0;
  }

  /** Keeps the first `length` positions and forgets the rest (e.g. to re-decode from there). */
  truncate(length: number): void {
    this.filled = checkInteger('length', length, 0, this.filled);
  }

  /** @internal */
  advance(): void {
    this.filled++;
  }

  dispose(): void {
    this.k.dispose();
    this.v.dispose();
  }
}

export class MultiHeadAttention {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  private readonly ws: Workspace;
  private readonly inW: Tensor;
  private readonly inB: Tensor;
  private readonly outW: Tensor;
  private readonly outB: Tensor;

  /** @internal use `runtime.multiHeadAttention(...)` */
  constructor(ws: Workspace, config: MultiHeadAttentionConfig) {
    const where = 'multiHeadAttention';
    const cfg = checkOptions('config', config, ['embedDim', 'numHeads', 'weights'], where);
    const e = checkInteger(`${where}: embedDim`, cfg.embedDim, 1);
    const heads = checkInteger(`${where}: numHeads`, cfg.numHeads, 1);
    if (e % heads !== 0) throw new RangeError(`${where}: embedDim ${e} must be divisible by numHeads ${heads}`);
    const weights = checkOptions('config.weights', cfg.weights, ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'], where);
    const heap = ws.heap;
    const inW = checkWeight(where, 'in_proj_weight', weights.in_proj_weight, heap, [3 * e, e], 'the q, k, v projections stacked as [3E, E]');
    const inB = checkWeight(where, 'in_proj_bias', weights.in_proj_bias, heap, [3 * e], '[3E]');
    const outW = checkWeight(where, "'out_proj.weight'", weights['out_proj.weight'], heap, [e, e], 'Linear(E, E) weight as [out, in]');
    const outB = checkWeight(where, "'out_proj.bias'", weights['out_proj.bias'], heap, [e], '[E]');
    this.ws = ws;
    this.embedDim = e;
    this.numHeads = heads;
    this.headDim = e / heads;
    const t = residentWeights(heap, { inW, inB, outW, outB });
    [this.inW, this.inB, this.outW, this.outB] = [t.inW!, t.inB!, t.outW!, t.outB!];
  }

  private assertLive(): void {
    if (this.inW.disposed) throw new Error('multiHeadAttention: this module was disposed');
  }

  /** y [rows, n] = x [rows, E]·W[row0 : row0 + n]ᵀ + bias[row0 : row0 + n]. */
  private project(x: Mat, rows: number, w: Tensor, bias: Tensor, row0: number, n: number, y: Mat): void {
    const e = this.embedDim;
    linear(this.ws, x, at(mat(w.ptr, e), row0), y, rows, n, e, { bias: offset(bias.ptr, row0) });
  }

  /**
   * query [B, L, E] (or [L, E]); key, value [B, S, E] (omit both for self-attention; omit value to
   * use key as value) → { output [B, L, E], weights? [B, L, S] averaged over heads }.
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
    const { ws, embedDim: e, numHeads: heads, headDim: dh } = this;
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
    const opts = checkOptions('options', options, ['causal', 'keyLengths', 'needWeights'], 'forward');
    const causal = checkBoolean('options.causal', opts.causal);
    const needWeights = checkBoolean('options.needWeights', opts.needWeights);
    const keyLengths = checkLengths('options.keyLengths', opts.keyLengths, batch, lk);

    return ws.run((temps) => {
      const xq = mat(temps.input(qa), e);
      // heads are read in place: head h of a row is its columns h·Dh … (h+1)·Dh
      const heads4 = (m: Mat, length: number): View => ({ ptr: m.ptr, sB: length * m.ld, sH: dh, sL: m.ld });
      let q: View, k: View, v: View;
      if (self) {
        // One gemm: rows [q | k | v] of width 3E.
        const qkv = mat(temps.tensor([batch * lq, 3 * e]).ptr, 3 * e);
        this.project(xq, batch * lq, this.inW, this.inB, 0, 3 * e, qkv);
        q = heads4(qkv, lq);
        k = heads4(at(qkv, 0, e), lq);
        v = heads4(at(qkv, 0, 2 * e), lq);
      } else {
        const qm = mat(temps.tensor([batch * lq, e]).ptr, e);
        this.project(xq, batch * lq, this.inW, this.inB, 0, e, qm);
        const kv = mat(temps.tensor([batch * lk, 2 * e]).ptr, 2 * e);
        const xk = mat(temps.input(ka), e);
        if (va === ka) this.project(xk, batch * lk, this.inW, this.inB, e, 2 * e, kv);
        else {
          this.project(xk, batch * lk, this.inW, this.inB, e, e, kv);
          this.project(mat(temps.input(va), e), batch * lk, this.inW, this.inB, 2 * e, e, at(kv, 0, e));
        }
        q = heads4(qm, lq);
        k = heads4(kv, lk);
        v = heads4(at(kv, 0, e), lk);
      }
      const attn = mat(temps.tensor([batch * lq, e]).ptr, e);
      const problem = {
        q, k, v,
        out: heads4(attn, lq),
        batch, heads, lq, lk, d: dh, dv: dh, scale: 1 / Math.sqrt(dh), causal,
        keyLengths: keyLengths ? temps.int32(keyLengths) : 0,
      };
      let weights: Float32Array | undefined;
      if (needWeights) weights = averageHeads(heap.view(attendMaterialised(ws, temps, problem), batch * heads * lq * lk), batch, heads, lq * lk);
      else attendFused(ws, problem);
      const out = temps.tensor(qa.shape);
      this.project(attn, batch * lq, this.outW, this.outB, 0, e, mat(out.ptr, e));
      const output = out.toArray();
      return weights ? { output, weights } : { output };
    });
  }

  /** A resident key/value cache for incremental decoding: [batch, maxLength, E] each. */
  createCache(options: { batch: number; maxLength: number }): KVCache {
    this.assertLive();
    const opts = checkOptions('options', options, ['batch', 'maxLength'], 'createCache');
    const batch = checkInteger('options.batch', opts.batch, 1);
    const maxLength = checkInteger('options.maxLength', opts.maxLength, 1);
    const k = new Tensor(this.ws.heap, [batch, maxLength, this.embedDim]);
    let v: Tensor;
    try {
      v = new Tensor(this.ws.heap, [batch, maxLength, this.embedDim]);
    } catch (error) {
      k.dispose();
      throw error;
    }
    return new KVCache(this, k, v, batch, maxLength);
  }

  /**
   * One decoding step: x [B, E] is the newest token of each sequence. Its key and value are appended
   * to the cache, and it attends over every cached position (itself included) → output [B, E].
   * Feeding a sequence token by token reproduces `forward(x, undefined, undefined, { causal: true })`.
   */
  step(x: TensorLike, cache: KVCache): Float32Array {
    this.assertLive();
    const { ws, embedDim: e, numHeads: heads, headDim: dh } = this;
    if (!(cache instanceof KVCache) || cache.owner !== this) throw new TypeError(`cache must be a KVCache made by this module's createCache(), received ${describe(cache)}`);
    if (cache.disposed) throw new TypeError('cache was disposed');
    const xa = checkTensor('x', x, ws.heap);
    expectShape('x', xa.shape, [cache.batch, e], 'the batch of the cache and embedDim');
    const t = cache.length;
    if (t >= cache.maxLength) throw new RangeError(`cache is full: it holds maxLength = ${cache.maxLength} positions (createCache({ maxLength })); reset() it or make a larger one`);
    const batch = cache.batch;
    return ws.run((temps) => {
      const qkv = mat(temps.tensor([batch, 3 * e]).ptr, 3 * e);
      this.project(mat(temps.input(xa), e), batch, this.inW, this.inB, 0, 3 * e, qkv);
      // Append k and v of the new token at position t of every sequence.
      const f32 = ws.heap.floats();
      const rowStride = cache.maxLength * e;
      for (let b = 0; b < batch; b++) {
        const src = (qkv.ptr >>> 2) + b * 3 * e;
        f32.copyWithin((cache.k.ptr >>> 2) + b * rowStride + t * e, src + e, src + 2 * e);
        f32.copyWithin((cache.v.ptr >>> 2) + b * rowStride + t * e, src + 2 * e, src + 3 * e);
      }
      const attn = mat(temps.tensor([batch, e]).ptr, e);
      attendFused(ws, {
        q: { ptr: qkv.ptr, sB: 3 * e, sH: dh, sL: 3 * e },
        k: { ptr: cache.k.ptr, sB: rowStride, sH: dh, sL: e },
        v: { ptr: cache.v.ptr, sB: rowStride, sH: dh, sL: e },
        out: { ptr: attn.ptr, sB: e, sH: dh, sL: e },
        batch, heads, lq: 1, lk: t + 1, d: dh, dv: dh, scale: 1 / Math.sqrt(dh), causal: false, keyLengths: 0,
      });
      cache.advance();
      const out = temps.tensor([batch, e]);
      this.project(attn, batch, this.outW, this.outB, 0, e, mat(out.ptr, e));
      return out.toArray();
    });
  }

  /** Frees the resident weights (caches are separate: dispose them too). */
  dispose(): void {
    for (const t of [this.inW, this.inB, this.outW, this.outB]) t.dispose();
  }
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
