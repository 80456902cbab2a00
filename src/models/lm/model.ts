/**
 * A decoder-only language model built from its spec: word (+ position) embeddings → N pre-norm
 * decoder layers (CausalSelfAttention over a resident KV cache, a feed-forward) → final norm →
 * output head. `forward` appends ids to a cache: a prompt in one call per layer (the fused causal
 * kernel over the whole prompt), a decoded token in a call of one position.
 */
import type { AttentionRuntime } from '../../runtime.js';
import { mat, type Mat } from '../../engine/linear.js';
import { checkInteger, checkOptions, describe } from '../../engine/validate.js';
import type { Heap } from '../../engine/memory.js';
import type { Temps, Workspace } from '../../engine/workspace.js';
import { CausalSelfAttention } from '../../nn/causal-self-attention.js';
import { FeedForward } from '../../nn/feed-forward.js';
import type { KVCache } from '../../nn/kv-cache.js';
import { KV_DTYPES, kvBytesPerPosition, type KVDtype } from '../../nn/kv-storage.js';
import { Linear } from '../../nn/linear.js';
import { tallySince, weightTally, type WeightDtype } from '../../engine/quantized.js';
import type { BytesByDtype, ResidentBytes } from '../../engine/resident.js';
import { Norm } from '../../nn/norm.js';
import { TextEmbeddings } from '../../nn/text-embeddings.js';
import type { TextTokenizer } from '../tokenizer.js';
import type { LMSpec, LMTensors } from './spec.js';
import { saveLM } from './saved.js';
import { SavedTensors } from '../saved-tensors.js';

/**
 * The key/value caches of every layer for `batch` sequences of up to `maxLength` positions. The
 * memory grows with use (doubling, up to maxLength), so a cache sized for a model's whole context
 * costs what the conversation holds, not what it could hold. A sliding-window layer of window W
 * needs only the last W − 1 positions before the ones it appends: it holds at most
 * W − 1 + windowSlack (256; a longer prompt, W − 1 + its length, for that call), and when the next
 * positions do not fit it moves its last W − 1 to the front, in order: once per windowSlack steps.
 */
export class LMCache {
  readonly batch: number;
  readonly maxLength: number;
  /** @internal */ layers: KVCache[];
  /** @internal */ readonly owner: CausalLMModel;
  /** @internal Each layer's sliding window, or undefined for a layer that keeps every position. */
  readonly windows: readonly (number | undefined)[];
  /** @internal Positions a sliding-window layer holds beyond window − 1 between moves. */
  readonly windowSlack: number;
  /** @internal Leading padding slots of each sequence (a left-padded batch), set by its first forward. */
  pads: Int32Array | undefined;
  /** Positions the layers that keep every position have room for (×2 on growth, at most maxLength). */
  private room: number;

  /** @internal use `model.createCache()` */
  constructor(owner: CausalLMModel, layers: KVCache[], batch: number, maxLength: number, room: number, windows: readonly (number | undefined)[], windowSlack: number) {
    this.owner = owner;
    this.layers = layers;
    this.batch = batch;
    this.maxLength = maxLength;
    this.room = room;
    this.windows = windows;
    this.windowSlack = windowSlack;
  }

  /** Positions held (the position of the next token). */
  get length(): number {
    return this.layers[0]!.length;
  }

  /**
   * Positions the cache reaches before its memory grows: the size of the layers that keep every
   * position; maxLength when only sliding-window layers remain to grow and they are at their bound.
   */
  get capacity(): number {
    return Math.min(...this.windows.map((w) => (w !== undefined && this.room >= w - 1 + this.windowSlack ? this.maxLength : this.room)));
  }

  /** The element type of the keys and values: 'f32', 'f16' or 'q8' (int8 with an f32 scale per position and kv head). */
  get kvDtype(): KVDtype {
    return this.layers[0]!.dtype;
  }

  /** Bytes of Wasm memory the keys and values take now (q8: with their scales; sliding-window layers: their bounded size). */
  get bytes(): number {
    return this.layers.reduce((n, c) => n + c.bytes, 0);
  }

  get disposed(): boolean {
    return this.layers[0]!.disposed;
  }

  /** Forgets everything (keeps the memory). */
  reset(): void {
    for (const c of this.layers) c.reset();
    this.pads = undefined;
  }

  /**
   * Whether `truncate(length)` can keep the first `length` positions: always for 0 and the current
   * length; otherwise every sliding-window layer must still hold the window − 1 positions before it.
   */
  canTruncate(length: number): boolean {
    return Number.isInteger(length) && length >= 0 && length <= this.length && (length === 0 || length >= this.shortestTruncation());
  }

  /** Keeps the first `length` positions (a shared prefix of the next prompt); see canTruncate. */
  truncate(length: number): void {
    const n = checkInteger('truncate: length', length, 0, this.length);
    const shortest = this.shortestTruncation();
    if (n !== 0 && n < shortest) {
      throw new RangeError(`truncate(${n}): the sliding-window layers no longer hold the positions just before ${n}, which the next token would attend to (they keep only their window); truncate to ${shortest} … ${this.length}, or reset() and run the sequence again`);
    }
    for (const c of this.layers) c.truncate(n);
    if (n === 0) this.pads = undefined;
  }

  dispose(): void {
    for (const c of this.layers) c.dispose();
  }

  /** The shortest non-zero length truncate accepts: a window layer that dropped positions needs window − 1 before the next one. */
  private shortestTruncation(): number {
    return Math.max(0, ...this.layers.map((c, i) => (c.first > 0 ? c.first + this.windows[i]! - 1 : 0)));
  }

  /**
   * @internal Room for `count` more positions in every layer. The layers that keep every position
   * grow (×2, at most maxLength) with their positions copied over. A sliding-window layer that
   * cannot fit them moves its last window − 1 positions to the front (first rises), and grows only
   * when those and `count` exceed its bound (a long prompt; `settle` shrinks it back).
   */
  reserve(count: number, make: (layer: number, slots: number) => KVCache, heap: Heap): void {
    const length = this.length;
    if (length + count > this.room) this.room = Math.min(this.maxLength, Math.max(length + count, 2 * this.room));
    this.layers.forEach((c, i) => {
      const w = this.windows[i];
      const held = length - c.first;
      if (w === undefined) {
        if (c.maxLength < this.room) this.replace(i, make(i, this.room), held, heap);
        return;
      }
      const bound = this.windowBound(w);
      const keep = held + count <= Math.max(c.maxLength, bound) ? held : Math.min(held, w - 1);
      const slots = Math.max(bound, keep + count);
      if (slots > c.maxLength) this.replace(i, make(i, slots), keep, heap);
      else if (keep < held) moveNewest(heap, c, c, keep);
    });
  }

  /** @internal After a forward: a sliding-window layer grown for a long prompt goes back to its bound, keeping its last window − 1 positions. */
  settle(make: (layer: number, slots: number) => KVCache, heap: Heap): void {
    this.layers.forEach((c, i) => {
      const w = this.windows[i];
      if (w === undefined || c.maxLength <= this.windowBound(w)) return;
      this.replace(i, make(i, this.windowBound(w)), Math.min(c.length - c.first, w - 1), heap);
    });
  }

  /** The slots a sliding-window layer of window `w` keeps between long prompts. */
  private windowBound(w: number): number {
    return Math.min(this.room, w - 1 + this.windowSlack);
  }

  /** Layer i's cache becomes `fresh`, holding the last `keep` positions of the old one. */
  private replace(i: number, fresh: KVCache, keep: number, heap: Heap): void {
    const old = this.layers[i]!;
    moveNewest(heap, old, fresh, keep);
    old.dispose();
    this.layers[i] = fresh;
  }
}

/**
 * The last `keep` positions `from` holds → slots 0 … keep − 1 of `to` (which may be `from`: the
 * copy runs front to back), for K and V of every sequence; `to` then holds them.
 */
function moveNewest(heap: Heap, from: KVCache, to: KVCache, keep: number): void {
  const held = from.length - from.first;
  to.storage.copyFrom(heap, from.storage, held - keep, keep);
  to.hold(from.length - keep, from.length);
}

/** The memory a new cache starts with (it grows on demand). */
const INITIAL_CAPACITY = 256;

/** Positions a sliding-window layer holds beyond its window − 1, so that it moves them once per this many decoded tokens. */
const WINDOW_SLACK = 256;

export interface LMForwardOptions {
  /** Append to this cache (and attend to what it holds); without one, a cache is made for the call. */
  cache?: LMCache;
  /**
   * [B][L], 1 = token, 0 = padding: a left-padded batch (zeros only before each sequence's tokens),
   * on a cache's first call. Sequences of different lengths are left-padded for you.
   */
  attentionMask?: readonly (readonly number[])[];
  /** Logits of every new position [B, L, V], not only the last [B, V]. */
  allLogits?: boolean;
  /** The attention weights of these layers (or all: true), [B, H, L, P + L] each, P the cached positions. */
  outputAttentions?: boolean | readonly number[];
}

export interface LMForwardResult {
  logits: { data: Float32Array; shape: number[] };
  attentions?: ({ data: Float32Array; shape: number[] } | undefined)[];
}

interface Layer {
  inputNorm: Norm;
  attention: CausalSelfAttention;
  postAttentionNorm?: Norm;
  preFeedForwardNorm: Norm;
  postFeedForwardNorm?: Norm;
  mlp: FeedForward;
}

const WHERE = 'model';

export class CausalLMModel {
  readonly family: string;
  readonly architecture: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  /** Positions the model was built for (the default cache size). */
  readonly maxLength: number;
  readonly tokenizer: TextTokenizer | undefined;
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId: number | undefined;
  /** Checkpoint tensors read but not used. */
  readonly unusedWeights: readonly string[];
  /** The id that fills left padding (pad_token_id, else the first end-of-sequence id, else 0). */
  readonly padTokenId: number;
  /** The chat template (Jinja), from tokenizer_config.json or chat_template.jinja. */
  readonly chatTemplate: string | undefined;
  /** bos_token, eos_token, … of tokenizer_config.json, for the chat template. */
  readonly specialTokens: Readonly<Record<string, string>>;
  readonly kind = 'causal-lm' as const;
  /** The dtype of the layers' Linear weights (loadModel's `dtype`); norms and biases are f32. */
  readonly dtype: WeightDtype;
  /** The dtype of the word table, GPT-2's position table and the output head (loadModel's `embeddingDtype`, by default `dtype`). */
  readonly embeddingDtype: WeightDtype;
  /** Bytes of resident weights by dtype (a Q8 matrix: one byte per weight and 4 per block of 32; Q4: half a byte per weight and 4 per block). */
  readonly weightBytes: Readonly<Record<WeightDtype, number>>;
  /** The element type of the keys and values of the caches this model makes by default (loadModel's `kvDtype`). */
  readonly kvDtype: KVDtype;

  private readonly ws: Workspace;
  private readonly spec: LMSpec;
  private readonly embeddings: TextEmbeddings;
  private readonly layers: Layer[] = [];
  private readonly finalNorm: Norm;
  private readonly head: Linear;
  private disposed = false;

  /** @internal use `loadModel(runtime, source)` */
  constructor(rt: AttentionRuntime, spec: LMSpec, tensors: LMTensors, tokenizer: TextTokenizer | undefined, unused: string[], eosTokenIds: number[], chatTemplate: string | undefined, tokenizerConfig: Record<string, unknown>, dtype: WeightDtype = 'f32', kvDtype: KVDtype = 'f32', embeddingDtype: WeightDtype = dtype) {
    this.dtype = dtype;
    this.embeddingDtype = embeddingDtype;
    this.kvDtype = kvDtype;
    const tally = weightTally(rt.workspace.heap);
    const before = { ...tally };
    this.chatTemplate = chatTemplate;
    this.specialTokens = specialTokensOf(tokenizerConfig);
    const ws = rt.workspace;
    this.ws = ws;
    this.spec = spec;
    this.family = spec.family;
    this.architecture = spec.architecture;
    this.vocabSize = spec.vocabSize;
    this.hiddenSize = spec.hiddenSize;
    this.numLayers = spec.numLayers;
    this.numHeads = spec.numHeads;
    this.numKeyValueHeads = spec.numKeyValueHeads;
    this.maxLength = spec.maxPositions;
    this.tokenizer = tokenizer;
    this.eosTokenIds = eosTokenIds;
    this.bosTokenId = spec.bosTokenId;
    this.padTokenId = spec.padTokenId ?? eosTokenIds[0] ?? 0;
    this.unusedWeights = unused;
    const made: { dispose(): void }[] = [];
    const keep = <T extends { dispose(): void }>(m: T): T => (made.push(m), m);
    try {
      const e = spec.hiddenSize;
      this.embeddings = keep(new TextEmbeddings(ws, { word: tensors.embed.word, position: tensors.embed.position }, {
        word: 'embed_tokens.weight', position: 'wpe.weight', tokenType: '', normWeight: '', normBias: '',
      }, embeddingDtype));
      const norm = (where: string, w: { weight: unknown; bias?: unknown } | undefined) =>
        w === undefined ? undefined : keep(new Norm(ws, where, spec.norm, e, w as never, spec.normEps));
      tensors.layers.forEach((t, i) => {
        const where = `layers.${i}`;
        const rope = spec.rope?.[i];
        this.layers.push({
          inputNorm: norm(`${where}.input_layernorm`, t.inputNorm)!,
          attention: keep(new CausalSelfAttention(ws, `${where}.self_attn`, {
            hiddenSize: e, numHeads: spec.numHeads, numKeyValueHeads: spec.numKeyValueHeads, headDim: spec.headDim,
            weights: t.attention,
            rope: rope ? { invFreq: rope.invFreq, style: 'half', name: rope.name } : undefined,
            qkNorm: t.qNorm && t.kNorm ? { q: t.qNorm, k: t.kNorm, eps: spec.normEps } : undefined,
            scale: spec.scale, window: spec.windows[i], softcap: spec.attnSoftcap, dtype,
          })),
          postAttentionNorm: norm(`${where}.post_attention_norm`, t.postAttentionNorm),
          preFeedForwardNorm: norm(`${where}.pre_feedforward_norm`, t.preFeedForwardNorm)!,
          postFeedForwardNorm: norm(`${where}.post_feedforward_norm`, t.postFeedForwardNorm),
          mlp: keep(new FeedForward(ws, `${where}.mlp`, t.mlp, spec.activation, dtype)),
        });
      });
      this.finalNorm = norm('norm', tensors.finalNorm)!;
      this.head = keep(tensors.head ? new Linear(ws, 'lm_head', tensors.head, embeddingDtype, 'ggml') : new Linear(ws, 'lm_head', { shared: this.embeddings.wordTable.matrix }));
    } catch (error) {
      for (const m of made) m.dispose();
      throw error;
    }
    this.disposeAll = () => { for (const m of made) m.dispose(); };
    this.weightBytes = tallySince(ws.heap, before);
  }

  private readonly disposeAll: () => void;
  /** The caches made by createCache (for residentBytes). */
  private caches: WeakRef<LMCache>[] = [];

  /** Bytes this model holds in Wasm memory: its weights, and its live KV caches, by dtype. */
  residentBytes(): ResidentBytes {
    const caches: BytesByDtype = {};
    for (const ref of this.caches) {
      const cache = ref.deref();
      if (cache === undefined || cache.disposed) continue;
      for (const layer of cache.layers) caches[layer.dtype] = (caches[layer.dtype] ?? 0) + layer.bytes;
    }
    const weights: BytesByDtype = {};
    for (const [dtype, bytes] of Object.entries(this.weightBytes)) if (bytes > 0) weights[dtype] = bytes;
    return { weights, caches };
  }

  /**
   * A KV cache for `batch` sequences of up to `maxLength` positions: allocated at once when given;
   * by default the model's context, starting at 256 positions and growing on demand. Sliding-window
   * layers hold at most window − 1 + 256 positions (`windowSlack`, an internal knob, sets the 256).
   * `kvDtype` (default the model's) is the element type of its keys and values: 'f32', 'f16' (IEEE
   * half, half the bytes) or 'q8' (int8 with an f32 scale per position and kv head, about a quarter).
   */
  createCache(options?: { maxLength?: number; batch?: number; kvDtype?: KVDtype }, windowSlack = WINDOW_SLACK): LMCache {
    this.assertLive();
    checkOptions('options', options, ['maxLength', 'batch', 'kvDtype'], 'createCache');
    const maxLength = options?.maxLength ?? this.maxLength;
    const batch = options?.batch ?? 1;
    const kvDtype = options?.kvDtype ?? this.kvDtype;
    if (!KV_DTYPES.includes(kvDtype)) throw new TypeError(`createCache: options.kvDtype must be 'f32', 'f16' or 'q8' (the element type of the keys and values), received ${describe(options?.kvDtype)}`);
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError(`createCache: options.maxLength must be a positive integer, received ${describe(options?.maxLength)}`);
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`createCache: options.batch must be a positive integer, received ${describe(options?.batch)}`);
    // an explicit maxLength is allocated at once; the model's whole context grows on demand
    const room = options?.maxLength !== undefined ? maxLength : Math.min(maxLength, INITIAL_CAPACITY);
    if (!Number.isInteger(windowSlack) || windowSlack < 1) throw new RangeError(`createCache: windowSlack must be a positive integer, received ${describe(windowSlack)}`);
    const windows = this.layers.map((l) => l.attention.window);
    const slots = windows.map((w) => (w === undefined ? room : Math.min(room, w - 1 + windowSlack)));
    const cache = new LMCache(this, this.layerCaches(batch, slots, kvDtype), batch, maxLength, room, windows, windowSlack);
    this.caches = this.caches.filter((c) => c.deref()?.disposed === false);
    this.caches.push(new WeakRef(cache));
    return cache;
  }

  /** Bytes of keys and values one position of one sequence takes in a cache of this dtype, over all layers (a sliding-window layer's bounded size aside). */
  cacheBytesPerPosition(kvDtype: KVDtype = this.kvDtype): number {
    return this.numLayers * kvBytesPerPosition(kvDtype, this.numKeyValueHeads, this.spec.headDim);
  }

  /** One KV cache per layer, of slots[i] positions, K and V as kvDtype (all or none). */
  private layerCaches(batch: number, slots: readonly number[], kvDtype: KVDtype): KVCache[] {
    const caches: KVCache[] = [];
    try {
      this.layers.forEach((layer, i) => caches.push(layer.attention.createCache(batch, slots[i]!, kvDtype)));
    } catch (error) {
      for (const c of caches) c.dispose();
      throw error;
    }
    return caches;
  }

  /**
   * ids (`number[]`, or `number[][]` of equal lengths for a batch) → the logits of the last position
   * [B, V] (every new position [B, L, V] with allLogits). With a cache, the ids are appended to it
   * and attend to everything it holds.
   */
  forward(ids: readonly number[] | readonly (readonly number[])[], options?: LMForwardOptions): LMForwardResult {
    this.assertLive();
    const where = `${WHERE}.forward`;
    const opts = options ?? {};
    for (const k of Object.keys(opts)) if (!['cache', 'allLogits', 'outputAttentions', 'attentionMask'].includes(k)) throw new TypeError(`${where}: unknown option ${k} (expected cache, allLogits, outputAttentions, attentionMask)`);
    const { rows, pads } = leftPadded(where, checkIds(where, ids, this.vocabSize), opts.attentionMask, this.padTokenId);
    const batch = rows.length;
    const length = rows[0]!.length;
    const own = opts.cache === undefined;
    const cache = opts.cache ?? this.createCache({ batch, maxLength: length }, length); // sliding-window layers too: one allocation of the call's size
    try {
      if (!(cache instanceof LMCache) || cache.owner !== this) throw new TypeError(`${where}: options.cache must be a cache made by this model's createCache(), received ${describe(cache)}`);
      if (cache.disposed) throw new TypeError(`${where}: options.cache was disposed`);
      if (cache.batch !== batch) throw new RangeError(`${where}: the cache holds ${cache.batch} sequence(s), received ${batch}`);
      if (pads) {
        if (cache.length > 0) throw new RangeError(`${where}: padding (an attentionMask, or sequences of different lengths) is for a cache's first call; later calls append one length to every sequence`);
        cache.pads = pads;
      }
      if (cache.length + length > cache.maxLength) {
        throw new RangeError(`${where}: the cache is full: it holds ${cache.length} of ${cache.maxLength} positions and ${length} more do not fit (make a larger cache with createCache({ maxLength }), or reset() it)`);
      }
      if (this.spec.rope === undefined && cache.length + length > this.maxLength) {
        throw new RangeError(`${where}: position ${cache.length + length - 1} is past the model's ${this.maxLength} learned positions`);
      }
      const wanted = attentionLayers(where, opts.outputAttentions, this.numLayers);
      if (wanted && cache.kvDtype !== 'f32') throw new TypeError(`${where}: options.outputAttentions needs a cache with kvDtype 'f32' (the attention weights are computed from f32 keys and values); this cache holds '${cache.kvDtype}'`);
      const make = (layer: number, slots: number) => this.layers[layer]!.attention.createCache(batch, slots, cache.kvDtype);
      const heap = this.ws.heap;
      cache.reserve(length, make, heap);
      const result = this.ws.run((temps) => this.run(temps, rows, cache, opts.allLogits === true, wanted));
      cache.settle(make, heap);
      return result;
    } finally {
      if (own) cache.dispose();
    }
  }

  /**
   * The weights as this model holds them (f32, or Q8 / Q4 with their scales), as the bytes of a
   * safetensors file: save it as model.safetensors in a folder with the checkpoint's config.json
   * and tokenizer files, and loadModel reads it back without quantizing again (docs/models.md,
   * "Saving a quantized model").
   */
  save(): Uint8Array {
    this.assertLive();
    const out = new SavedTensors(this.ws.heap);
    const word = this.embeddings.wordTable.matrix;
    const tied = this.head.held.weight === word;
    saveLM({ word, position: this.embeddings.tensors.position, layers: this.layers, finalNorm: this.finalNorm, head: tied ? undefined : this.head }, this.spec, out);
    return out.bytes(this.dtype, 'causal-lm', this.embeddingDtype);
  }

  /** Frees every weight (caches are separate: dispose them too). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeAll();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error(`${WHERE}: this model was disposed`);
  }

  private run(temps: Temps, rows: number[][], cache: LMCache, allLogits: boolean, wanted: Set<number> | undefined): LMForwardResult {
    const { ws, spec } = this;
    const e = spec.hiddenSize;
    const batch = rows.length, length = rows[0]!.length, n = batch * length;
    const start = cache.length;
    const pads = cache.pads;
    const ids = Int32Array.from(rows.flat());
    // learned positions count from each sequence's first token (padding at 0)
    const positions = spec.rope ? undefined : Int32Array.from({ length: n }, (_, i) => Math.max(0, start + (i % length) - (pads?.[Math.floor(i / length)] ?? 0)));
    // h: the residual stream [B·L, E]
    const h = mat(temps.tensor([n, e]).ptr, e);
    this.embeddings.forwardRows(temps, ids, positions, undefined, n, h);
    if (spec.embedScale !== undefined) scaleRows(ws, h, n, e, spec.embedScale);
    const x = mat(temps.tensor([n, e]).ptr, e);
    const y = mat(temps.tensor([n, e]).ptr, e);
    const attentions: LMForwardResult['attentions'] = wanted ? new Array(this.numLayers).fill(undefined) : undefined;
    // each layer's temporaries are freed when it ends: the peak is one layer's, not the model's
    this.layers.forEach((layer, i) => ws.run((temps) => {
      layer.inputNorm.forwardRows(h, n, x);
      const onWeights = wanted?.has(i) ? (w: Float32Array) => { attentions![i] = { data: w, shape: [batch, spec.numHeads, length, start + length] }; } : undefined;
      layer.attention.appendRows(temps, x, length, cache.layers[i]!, y, pads, onWeights);
      if (layer.postAttentionNorm) layer.postAttentionNorm.forwardRows(y, n, y);
      ws.kernels.addInPlace(h.ptr, y.ptr, n * e); // h = h + attention
      layer.preFeedForwardNorm.forwardRows(h, n, x);
      if (layer.postFeedForwardNorm) {
        layer.mlp.forwardRows(temps, x, n, y, false);
        layer.postFeedForwardNorm.forwardRows(y, n, y);
        ws.kernels.addInPlace(h.ptr, y.ptr, n * e);
      } else layer.mlp.forwardRows(temps, x, n, h, true); // h = h + mlp (fused into the down projection)
    }));
    // the rows whose logits are wanted: every position, or the last of each sequence
    const out = allLogits ? n : batch;
    let last: Mat = h;
    if (!allLogits) {
      last = mat(temps.tensor([batch, e]).ptr, e);
      const f32 = ws.heap.floats();
      for (let b = 0; b < batch; b++) f32.copyWithin((last.ptr >>> 2) + b * e, (h.ptr >>> 2) + (b * length + length - 1) * e, (h.ptr >>> 2) + (b * length + length) * e);
    }
    this.finalNorm.forwardRows(last, out, last);
    const v = spec.vocabSize;
    const logits = mat(temps.tensor([out, v]).ptr, v);
    this.head.forwardRows(last, out, logits);
    const data = ws.heap.view(logits.ptr, out * v).slice();
    if (spec.finalSoftcap !== undefined) for (let i = 0; i < data.length; i++) data[i] = spec.finalSoftcap * Math.tanh(data[i]! / spec.finalSoftcap);
    const result: LMForwardResult = { logits: { data, shape: allLogits ? [batch, length, v] : [batch, v] } };
    if (attentions) result.attentions = attentions;
    return result;
  }
}

/** The special tokens of tokenizer_config.json as strings ({ content } objects unwrapped). */
function specialTokensOf(config: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token', 'sep_token', 'cls_token', 'mask_token']) {
    const v = config[key];
    const text = typeof v === 'string' ? v : typeof (v as { content?: unknown } | null)?.content === 'string' ? (v as { content: string }).content : undefined;
    if (text !== undefined) out[key] = text;
  }
  return out;
}

/** x *= s over rows × e (Gemma's embedding scale). */
function scaleRows(ws: Workspace, x: Mat, rows: number, e: number, s: number): void {
  const f32 = ws.heap.floats();
  for (let r = 0; r < rows; r++) for (let j = 0; j < e; j++) f32[(x.ptr >>> 2) + r * x.ld + j]! *= s;
}

/**
 * The batch as equal rows with its left padding: ragged rows are left-padded with `padId`; an
 * attentionMask says where given rows are padded (zeros before the tokens only). No padding: pads undefined.
 */
function leftPadded(where: string, rows: number[][], mask: unknown, padId: number): { rows: number[][]; pads: Int32Array | undefined } {
  const longest = Math.max(...rows.map((r) => r.length));
  if (mask === undefined) {
    if (rows.every((r) => r.length === longest)) return { rows, pads: undefined };
    return { rows: rows.map((r) => [...new Array<number>(longest - r.length).fill(padId), ...r]), pads: Int32Array.from(rows, (r) => longest - r.length) };
  }
  if (!Array.isArray(mask) || mask.length !== rows.length) throw new TypeError(`${where}: options.attentionMask must be an array of ${rows.length} rows of 0 / 1, received ${describe(mask)}`);
  const pads = new Int32Array(rows.length);
  mask.forEach((m: unknown, b) => {
    const row = rows[b]!;
    if (!Array.isArray(m) || m.length !== row.length || !m.every((v) => v === 0 || v === 1)) throw new RangeError(`${where}: options.attentionMask[${b}] must be ${row.length} values of 0 or 1`);
    const zeros = m.indexOf(1) < 0 ? m.length : m.indexOf(1);
    if (m.slice(zeros).some((v) => v === 0)) throw new RangeError(`${where}: options.attentionMask[${b}]: only left padding is supported (zeros before the tokens), received ${JSON.stringify(m)}`);
    if (zeros === m.length) throw new RangeError(`${where}: options.attentionMask[${b}] has no token`);
    pads[b] = zeros;
  });
  if (rows.some((r) => r.length !== longest)) throw new RangeError(`${where}: with an attentionMask, the sequences must be padded to one length`);
  return { rows, pads };
}

function checkIds(where: string, ids: unknown, vocab: number): number[][] {
  if (!Array.isArray(ids) || ids.length === 0) throw new TypeError(`${where}: ids must be a non-empty array of token ids (or an array of such arrays for a batch), received ${describe(ids)}`);
  const rows: number[][] = typeof ids[0] === 'number' ? [ids as number[]] : (ids as number[][]);
  rows.forEach((row, b) => {
    if (!Array.isArray(row)) throw new TypeError(`${where}: ids[${b}] must be an array of token ids, received ${describe(row)}`);
    if (row.length === 0) throw new RangeError(`${where}: ids${rows.length > 1 ? `[${b}]` : ''} is empty`);
    row.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`${where}: ids${rows.length > 1 ? `[${b}]` : ''}[${t}] = ${describe(id)} is not a token id of this model (an integer in [0, ${vocab - 1}])`);
    });
  });
  return rows;
}

function attentionLayers(where: string, value: unknown, layers: number): Set<number> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return new Set(Array.from({ length: layers }, (_, i) => i));
  if (Array.isArray(value) && value.every((i) => Number.isInteger(i) && i >= 0 && i < layers)) return new Set(value as number[]);
  throw new RangeError(`${where}: options.outputAttentions must be true or a list of layer indices in [0, ${layers - 1}], received ${describe(value)}`);
}
