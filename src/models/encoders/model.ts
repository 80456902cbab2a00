/**
 * A BERT-family encoder built from its spec: TextEmbeddings → N post-norm TransformerEncoderLayers
 * (→ a classification head), all weights resident, every step on resident rows. The tasks:
 * forward (token states, attention maps), embed (pooled sentence vectors), classify (labels).
 *
 * Batches are padded to their longest sequence, and further to DIRECT_MAX_LQ + 1 tokens and
 * DIRECT_M rows: the gemm's and the attention's packed paths compute each row the same way whatever
 * the other rows are, and padded keys are masked out of the attention, so a text gives the same
 * bits alone and in any batch.
 */
import type { AttentionRuntime } from '../../runtime.js';
import { ACTIVATION } from '../../engine/kernels.js';
import { mat, type Mat } from '../../engine/linear.js';
import { Tensor } from '../../engine/memory.js';
import { checkOptions, describe, type TensorLike } from '../../engine/validate.js';
import type { Temps, Workspace } from '../../engine/workspace.js';
import { checkVariants, type Variants } from '../../ops/variants.js';
import { Linear } from '../../nn/linear.js';
import { isQuantizedData, tallySince, weightTally, type QuantizedData, type WeightDtype } from '../../engine/quantized.js';
import type { BytesByDtype, ResidentBytes } from '../../engine/resident.js';
import { SavedTensors } from '../saved-tensors.js';
import { saveEncoder } from './saved.js';
import { stackQuantized } from '../../nn/mha-weights.js';
import { TextEmbeddings } from '../../nn/text-embeddings.js';
import { TransformerEncoderLayer } from '../../nn/transformer.js';
import type { StateDict } from '../checkpoint.js';
import type { Encoded, TextTokenizer } from '../tokenizer.js';
import { normalizeRows, pool, POOLINGS, type Pooling } from './pooling.js';
import type { EncoderSpec, LinearNames } from './spec.js';

/** A [B, L] batch: one array per sequence (ragged: padded for you), or `{ data, shape: [B, L] }`. */
export type TokenRows = readonly (readonly number[])[] | { data: ArrayLike<number>; shape: readonly [number, number] | readonly number[] };

/** A text, texts, [text, pair] pairs (two segments, e.g. for a cross-encoder or NLI), or token-id arrays. */
export type TextInput = string | readonly (string | readonly [string, string])[] | readonly (readonly number[])[];

export interface EncoderInput {
  inputIds: TokenRows;
  /** 1 = a real token, 0 = padding; default: 1 over each sequence's own length. */
  attentionMask?: TokenRows;
  /** Segment ids; default 0. */
  tokenTypeIds?: TokenRows;
}

export interface EncoderModelForwardOptions {
  /** Return the attention weights of every layer (true) or of the listed layers, each [B, H, L, L]. */
  outputAttentions?: boolean | readonly number[];
}

export interface TensorResult {
  data: Float32Array;
  shape: number[];
}

export interface EncoderOutput {
  /** [B, L, hidden] */
  lastHiddenState: TensorResult;
  /** Per layer, [B, H, L, L] (undefined for the layers not asked for); present with outputAttentions. */
  attentions?: (TensorResult | undefined)[];
  /** [B, L] as used (1 = real token). */
  attentionMask: Uint8Array;
}

export interface EmbedOptions {
  /** Default: the checkpoint's sentence-transformers Pooling mode, else 'mean'. */
  pooling?: Pooling;
  /** L2-normalise each vector. Default: true when the checkpoint declares a Normalize module, else false. */
  normalize?: boolean;
  /** Texts per forward pass; default 32. */
  batchSize?: number;
  /** Cut texts longer than the model's limit (default true); false: such a text is a RangeError. */
  truncation?: boolean;
}

export interface ClassifyOptions {
  batchSize?: number;
  truncation?: boolean;
}

export interface Classification {
  /** The label with the highest score (id2label). */
  label: string;
  score: number;
  /** Every label's score, in id order (softmax; sigmoid for multi-label checkpoints; the raw value for regression). */
  scores: Float32Array;
}

/** What embed() does by default, read from the sentence-transformers files. */
export interface EmbedDefaults {
  pooling: Pooling;
  normalize: boolean;
  /** Token limit (max_seq_length, at most the model's). */
  maxLength: number;
  /** sentence_bert_config.json's do_lower_case: texts are lower-cased first. */
  lowerCase: boolean;
}

const WHERE = 'model';

export class EncoderModel {
  /** 'bert', 'distilbert', 'roberta', 'xlm-roberta' */
  readonly family: string;
  /** config.json's architecture. */
  readonly architecture: string;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** The longest input in tokens (position embeddings). */
  readonly maxLength: number;
  /** id2label in id order, for classifiers. */
  readonly labels: readonly string[] | undefined;
  /** The checkpoint's tokenizer, when it has tokenizer.json. */
  readonly tokenizer: TextTokenizer | undefined;
  /** embed()'s defaults. */
  readonly embedDefaults: Readonly<EmbedDefaults>;
  /** Checkpoint tensors that were read but are not used (buffers, heads of other tasks). */
  readonly unusedWeights: readonly string[];
  readonly kind = 'encoder' as const;
  /** The dtype of the layers' Linear weights and of a task head (loadModel's `dtype`); norms and biases are f32. */
  readonly dtype: WeightDtype;
  /** The dtype of the word and position tables (loadModel's `embeddingDtype`, by default `dtype`); the token-type table stays f32. */
  readonly embeddingDtype: WeightDtype;
  /** Bytes of resident weights by dtype (a Q8 matrix: one byte per weight and 4 per block of 32; Q4: half a byte per weight and 4 per block). */
  readonly weightBytes: Readonly<Record<WeightDtype, number>>;

  private readonly ws: Workspace;
  private readonly spec: EncoderSpec;
  private readonly embeddings: TextEmbeddings;
  private readonly layers: TransformerEncoderLayer[];
  private readonly head: { hidden: Linear; out: Linear } | undefined;
  private readonly tokenizerPlace: string;
  private disposed = false;

  /** @internal use `loadModel(runtime, source)` */
  constructor(rt: AttentionRuntime, spec: EncoderSpec, weights: StateDict, tokenizer: TextTokenizer | undefined, tokenizerPlace: string, defaults: EmbedDefaults, unused: string[], dtype: WeightDtype = 'f32', embeddingDtype: WeightDtype = dtype) {
    const ws = rt.workspace;
    this.dtype = dtype;
    this.embeddingDtype = embeddingDtype;
    const tally = weightTally(ws.heap);
    const before = { ...tally };
    this.ws = ws;
    this.spec = spec;
    this.family = spec.family;
    this.architecture = spec.architecture;
    this.hiddenSize = spec.hiddenSize;
    this.numLayers = spec.numLayers;
    this.numHeads = spec.numHeads;
    this.maxLength = spec.maxLength;
    this.labels = spec.labels;
    this.tokenizer = tokenizer;
    this.tokenizerPlace = tokenizerPlace;
    this.embedDefaults = defaults;
    this.unusedWeights = unused;
    const made: { dispose(): void }[] = [];
    try {
      const w = (name: string) => weights[name]!;
      const e = spec.embeddings;
      this.embeddings = new TextEmbeddings(ws, {
        word: w(e.word), position: w(e.position), tokenType: e.tokenType ? w(e.tokenType) : undefined,
        norm: { weight: w(e.norm.weight), bias: w(e.norm.bias), eps: spec.layerNormEps },
      }, { word: e.word, position: e.position, tokenType: e.tokenType ?? '', normWeight: e.norm.weight, normBias: e.norm.bias }, embeddingDtype);
      made.push(this.embeddings);
      this.layers = [];
      for (const names of spec.layers) {
        const layer = new TransformerEncoderLayer(ws, {
          dModel: spec.hiddenSize, nhead: spec.numHeads, dimFeedforward: spec.intermediateSize,
          activation: spec.activation, layerNormEps: spec.layerNormEps, dtype,
          weights: {
            'self_attn.in_proj_weight': stack([w(names.query.weight), w(names.key.weight), w(names.value.weight)]),
            'self_attn.in_proj_bias': stack([w(names.query.bias), w(names.key.bias), w(names.value.bias)]),
            'self_attn.out_proj.weight': w(names.output.weight), 'self_attn.out_proj.bias': w(names.output.bias),
            'linear1.weight': w(names.ffIn.weight), 'linear1.bias': w(names.ffIn.bias),
            'linear2.weight': w(names.ffOut.weight), 'linear2.bias': w(names.ffOut.bias),
            'norm1.weight': w(names.norm1.weight), 'norm1.bias': w(names.norm1.bias),
            'norm2.weight': w(names.norm2.weight), 'norm2.bias': w(names.norm2.bias),
          },
        });
        made.push(layer);
        this.layers.push(layer);
      }
      if (spec.head) {
        const lin = (n: LinearNames) => new Linear(ws, n.weight.replace(/\.weight$/, ''), { weight: w(n.weight), bias: w(n.bias) }, dtype);
        const hidden = lin(spec.head.hidden);
        made.push(hidden);
        const out = lin(spec.head.out);
        made.push(out);
        this.head = { hidden, out };
      }
    } catch (error) {
      for (const m of made) m.dispose();
      throw error;
    }
    this.weightBytes = tallySince(ws.heap, before);
  }

  /**
   * Token states for a batch: `{ inputIds, attentionMask?, tokenTypeIds? }` → lastHiddenState
   * [B, L, hidden] (and the attention weights of the chosen layers, [B, H, L, L] each).
   */
  forward(input: EncoderInput, options?: EncoderModelForwardOptions): EncoderOutput {
    this.assertLive();
    const where = `${WHERE}.forward`;
    const inp = checkOptions('input', input, ['inputIds', 'attentionMask', 'tokenTypeIds'], where);
    const opts = checkOptions('options', options, ['outputAttentions'], where);
    const batch = this.checkBatch(where, inp['inputIds'] as TokenRows, inp['attentionMask'] as TokenRows | undefined, inp['tokenTypeIds'] as TokenRows | undefined);
    const wanted = this.attentionLayers(where, opts['outputAttentions']);
    const { b, l } = batch;
    const e = this.hiddenSize;
    return this.ws.run((temps) => {
      const attentions: (TensorResult | undefined)[] | undefined = wanted ? new Array(this.numLayers).fill(undefined) : undefined;
      const states = this.encodeRows(temps, batch, wanted, attentions);
      const data = new Float32Array(b * l * e);
      const f32 = this.ws.heap.floats();
      for (let i = 0; i < b; i++) data.set(f32.subarray((states.ptr >>> 2) + i * batch.lp * e, (states.ptr >>> 2) + (i * batch.lp + l) * e), i * l * e);
      const out: EncoderOutput = { lastHiddenState: { data, shape: [b, l, e] }, attentionMask: batch.mask };
      if (attentions) out.attentions = attentions;
      return out;
    });
  }

  /**
   * Sentence embeddings [N, hidden] (row-major) for texts (tokenized with the checkpoint's
   * tokenizer) or token-id arrays: pooled over each text's tokens, optionally L2-normalised.
   */
  embed(texts: TextInput, options?: EmbedOptions): Float32Array {
    this.assertLive();
    const where = `${WHERE}.embed`;
    const opts = checkOptions('options', options, ['pooling', 'normalize', 'batchSize', 'truncation'], where);
    const pooling = (opts['pooling'] ?? this.embedDefaults.pooling) as Pooling;
    if (!POOLINGS.includes(pooling)) throw new TypeError(`${where}: options.pooling must be ${POOLINGS.map((p) => `'${p}'`).join(', ')}, received ${describe(opts['pooling'])}`);
    const normalize = opts['normalize'] ?? this.embedDefaults.normalize;
    if (typeof normalize !== 'boolean') throw new TypeError(`${where}: options.normalize must be a boolean, received ${describe(normalize)}`);
    const rows = this.tokenize(where, texts, opts);
    const e = this.hiddenSize;
    const out = new Float32Array(rows.length * e);
    this.inBatches(where, rows, opts['batchSize'], (batch, first) => {
      const r = this.forward(this.inputOf(batch));
      pool(r.lastHiddenState.data, r.attentionMask, batch.length, r.lastHiddenState.shape[1]!, e, pooling, out, first);
    });
    if (normalize) normalizeRows(out, rows.length, e);
    return out;
  }

  /** The top label and its score for each text (softmax over the labels; sigmoid for multi-label checkpoints). */
  classify(texts: TextInput, options?: ClassifyOptions): Classification[] {
    this.assertLive();
    const where = `${WHERE}.classify`;
    if (!this.head) throw new Error(`${where}: ${this.architecture} has no classification head (load a …ForSequenceClassification checkpoint)`);
    const opts = checkOptions('options', options, ['batchSize', 'truncation'], where);
    const rows = this.tokenize(where, texts, opts);
    const results: Classification[] = [];
    this.inBatches(where, rows, opts['batchSize'], (batch) => {
      for (const logits of this.logits(batch)) results.push(this.topLabel(logits));
    });
    return results;
  }

  private inputOf(rows: Encoded[]): EncoderInput {
    const input: EncoderInput = { inputIds: rows.map((r) => r.ids) };
    if (this.spec.typeVocabSize > 0) input.tokenTypeIds = rows.map((r) => r.typeIds);
    return input;
  }

  /** Bytes this model holds in Wasm memory: its weights by dtype (an encoder keeps no cache). */
  residentBytes(): ResidentBytes {
    const weights: BytesByDtype = {};
    for (const [dtype, bytes] of Object.entries(this.weightBytes)) if (bytes > 0) weights[dtype] = bytes;
    return { weights, caches: {} };
  }

  /**
   * The weights as this model holds them (f32, or Q8 / Q4 with their scales), as the bytes of a
   * safetensors file under the checkpoint's names: save it as model.safetensors beside the
   * checkpoint's config.json and tokenizer files; loadModel reads it back without quantizing again.
   */
  save(): Uint8Array {
    this.assertLive();
    const out = new SavedTensors(this.ws.heap);
    saveEncoder({ word: this.embeddings.wordTable.matrix, tables: this.embeddings.tensors, layers: this.layers, head: this.head }, this.spec, out);
    return out.bytes(this.dtype, 'encoder', this.embeddingDtype);
  }

  /** Frees every weight. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.embeddings.dispose();
    for (const layer of this.layers) layer.dispose();
    this.head?.hidden.dispose();
    this.head?.out.dispose();
  }

  // ---- internals ---------------------------------------------------------------------------

  private assertLive(): void {
    if (this.disposed) throw new Error(`${WHERE}: this model was disposed`);
  }

  /** The logits [C] of each sequence (the head on its first token's state). */
  private logits(rows: Encoded[]): Float32Array[] {
    const input = this.inputOf(rows);
    const batch = this.checkBatch(`${WHERE}.classify`, input.inputIds, undefined, input.tokenTypeIds);
    const head = this.head!;
    const e = this.hiddenSize;
    return this.ws.run((temps) => {
      const states = this.encodeRows(temps, batch, undefined, undefined);
      // first-token rows, padded to the few-rows cut-off so each row's bits do not depend on the batch
      const n = Math.max(batch.b, this.ws.tiles.gemm.DIRECT_M);
      const first = mat(temps.tensor([n, e]).ptr, e);
      const f32 = this.ws.heap.floats();
      f32.fill(0, first.ptr >>> 2, (first.ptr >>> 2) + n * e);
      for (let i = 0; i < batch.b; i++) f32.copyWithin((first.ptr >>> 2) + i * e, (states.ptr >>> 2) + i * batch.lp * e, (states.ptr >>> 2) + (i * batch.lp + 1) * e);
      const h = head.hidden.apply(temps, first, n);
      const k = this.ws.kernels;
      if (this.spec.head!.kind === 'pre-classifier') k.activation(h.ptr, h.ptr, n * head.hidden.outFeatures, ACTIVATION.relu);
      else k.tanhInPlace(h.ptr, n * head.hidden.outFeatures);
      const logits = head.out.apply(temps, h, n);
      const c = head.out.outFeatures;
      const out: Float32Array[] = [];
      const all = this.ws.heap.floats();
      for (let i = 0; i < batch.b; i++) out.push(all.slice((logits.ptr >>> 2) + i * c, (logits.ptr >>> 2) + (i + 1) * c));
      return out;
    });
  }

  private topLabel(logits: Float32Array): Classification {
    const c = logits.length;
    const labels = this.labels ?? Array.from({ length: c }, (_, i) => `LABEL_${i}`);
    const scores = new Float32Array(c);
    if (this.spec.problemType === 'regression') scores.set(logits);
    else if (this.spec.problemType === 'multi_label_classification') for (let i = 0; i < c; i++) scores[i] = 1 / (1 + Math.exp(-logits[i]!));
    else {
      let max = -Infinity;
      for (const v of logits) max = Math.max(max, v); // NaN makes max NaN, and every score NaN
      let sum = 0;
      for (const v of logits) sum += Math.exp(v - max);
      for (let i = 0; i < c; i++) scores[i] = Math.exp(logits[i]! - max) / sum;
    }
    let best = 0;
    for (let i = 1; i < c; i++) if (scores[i]! > scores[best]!) best = i;
    return { label: labels[best] ?? `LABEL_${best}`, score: scores[best]!, scores };
  }

  /** Texts (or [text, pair] pairs) → ids and segment ids (tokenizer, truncation), or id arrays as given. */
  private tokenize(where: string, texts: unknown, opts: Record<string, unknown>): Encoded[] {
    const truncation = opts['truncation'] ?? true;
    if (typeof truncation !== 'boolean') throw new TypeError(`${where}: options.truncation must be a boolean, received ${describe(truncation)}`);
    const list = typeof texts === 'string' ? [texts] : texts;
    if (!Array.isArray(list) || list.length === 0) throw new TypeError(`${where}: expected a text, an array of texts or an array of token-id arrays, received ${describe(texts)}`);
    const isText = (t: unknown) => typeof t === 'string' || (Array.isArray(t) && t.length === 2 && t.every((x) => typeof x === 'string'));
    const types = this.spec.typeVocabSize > 1;
    if (list.every(isText)) {
      if (!this.tokenizer) throw new Error(`${where}: texts need the checkpoint's tokenizer, and tokenizer.json was not found (looked for ${this.tokenizerPlace}); pass token ids instead`);
      const d = this.embedDefaults;
      const cased = (t: string) => (d.lowerCase ? t.toLowerCase() : t);
      return (list as (string | [string, string])[]).map((t, i) => {
        const [a, b] = typeof t === 'string' ? [t, undefined] : t;
        const enc = this.tokenizer!.encodeForModel(cased(a), b === undefined ? undefined : cased(b), d.maxLength, truncation, `${where}: texts[${i}]`);
        // one segment row (RoBERTa): every token is segment 0, whatever the post-processor numbered the pair
        return types ? enc : { ids: enc.ids, typeIds: enc.ids.map(() => 0) };
      });
    }
    if (list.every((t) => Array.isArray(t) && t.every((x: unknown) => typeof x === 'number'))) {
      return (list as number[][]).map((ids, i) => {
        if (ids.length > this.maxLength && !truncation) throw new RangeError(`${where}: texts[${i}] has ${ids.length} tokens, more than the model's limit of ${this.maxLength}`);
        const kept = ids.length > this.maxLength ? ids.slice(0, this.maxLength) : [...ids];
        return { ids: kept, typeIds: kept.map(() => 0) };
      });
    }
    const bad = list.findIndex((t) => !isText(t));
    throw new TypeError(`${where}: expected texts, [text, pair] pairs or arrays of token ids (not a mix), received ${describe(list[bad])} at index ${bad}`);
  }

  private inBatches(where: string, rows: Encoded[], size: unknown, run: (batch: Encoded[], first: number) => void): void {
    const n = size ?? 32;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new RangeError(`${where}: options.batchSize must be an integer ≥ 1, received ${describe(size)}`);
    for (let i = 0; i < rows.length; i += n) run(rows.slice(i, i + n), i);
  }

  private attentionLayers(where: string, value: unknown): Set<number> | undefined {
    if (value === undefined || value === false) return undefined;
    if (value === true) return new Set(this.layers.map((_, i) => i));
    if (Array.isArray(value) && value.every((i) => Number.isInteger(i) && i >= 0 && i < this.numLayers)) return new Set(value as number[]);
    throw new RangeError(`${where}: options.outputAttentions must be true or a list of layer indices in [0, ${this.numLayers - 1}], received ${describe(value)}`);
  }

  /** The batch checked and laid out: ids, positions, types and mask over [b, lp] (lp ≥ l, padded). */
  private checkBatch(where: string, ids: TokenRows, mask: TokenRows | undefined, types: TokenRows | undefined): Batch {
    const idRows = rowsOf(`${where}: inputIds`, ids);
    const b = idRows.length;
    const l = Math.max(...idRows.map((r) => r.length));
    if (l === 0) throw new RangeError(`${where}: inputIds: every sequence is empty (a sequence needs at least one token)`);
    if (l > this.maxLength) throw new RangeError(`${where}: inputIds: sequences of ${l} tokens, more than the model's limit of ${this.maxLength}`);
    const maskRows = mask === undefined ? undefined : rowsOf(`${where}: attentionMask`, mask);
    const typeRows = types === undefined ? undefined : rowsOf(`${where}: tokenTypeIds`, types);
    for (const [name, rows] of [['attentionMask', maskRows], ['tokenTypeIds', typeRows]] as const) {
      if (rows && (rows.length !== b || rows.some((r, i) => r.length !== idRows[i]!.length))) {
        throw new RangeError(`${where}: ${name} must have the shape of inputIds ([${b}] sequences of ${idRows.map((r) => r.length).join(', ')} tokens)`);
      }
    }
    if (typeRows && this.spec.typeVocabSize === 0) throw new TypeError(`${where}: tokenTypeIds given, but ${this.family} has no token type embeddings`);
    // at least the gemm's few-rows cut-off in rows and more than the attention's direct-path rows:
    // both kernels then take their packed paths, which give a row the same bits in any batch
    const tiles = this.ws.tiles;
    const lp = Math.max(l, Math.ceil(tiles.gemm.DIRECT_M / b), tiles.attention.DIRECT_MAX_LQ + 1);
    const { vocabSize, padTokenId, typeVocabSize } = this.spec;
    const out: Batch = { b, l, lp, ids: new Int32Array(b * lp).fill(padTokenId), positions: new Int32Array(b * lp), types: new Int32Array(b * lp), mask: new Uint8Array(b * l), keyLengths: new Int32Array(b), prefixMask: true };
    for (let i = 0; i < b; i++) {
      const row = idRows[i]!;
      let seen = 0;
      for (let t = 0; t < lp; t++) {
        const real = t < row.length;
        const id = real ? row[t]! : padTokenId;
        if (real && !(Number.isInteger(id) && id >= 0 && id < vocabSize)) throw new RangeError(`${where}: inputIds[${i}][${t}] = ${describe(id)} is not a token id of this model (an integer in [0, ${vocabSize - 1}])`);
        out.ids[i * lp + t] = id;
        const m = real ? (maskRows ? maskRows[i]![t]! : 1) : 0;
        if (real && m !== 0 && m !== 1) throw new RangeError(`${where}: attentionMask[${i}][${t}] = ${describe(m)} (expected 0 or 1)`);
        if (t < l) out.mask[i * l + t] = m;
        if (m) {
          if (seen !== t) out.prefixMask = false;
          seen++;
        }
        const type = real && typeRows ? typeRows[i]![t]! : 0;
        if (real && typeRows && !(Number.isInteger(type) && type >= 0 && type < typeVocabSize)) throw new RangeError(`${where}: tokenTypeIds[${i}][${t}] = ${describe(type)} (expected an integer in [0, ${typeVocabSize - 1}])`);
        out.types[i * lp + t] = type;
      }
      out.keyLengths[i] = seen;
      // positions: 0, 1, … (absolute), or RoBERTa's padding_idx + 1 + running count of non-pad ids (pads at padding_idx)
      let count = 0;
      for (let t = 0; t < lp; t++) {
        if (this.spec.positions === 'absolute') out.positions[i * lp + t] = Math.min(t, this.maxLength - 1);
        else {
          const notPad = out.ids[i * lp + t] !== padTokenId;
          if (notPad) count++;
          out.positions[i * lp + t] = notPad ? padTokenId + count : padTokenId;
        }
      }
    }
    return out;
  }

  /** The encoder over a checked batch: the last layer's states [b·lp, E] (resident, in temps). */
  private encodeRows(temps: Temps, batch: Batch, wanted: Set<number> | undefined, attentions: (TensorResult | undefined)[] | undefined): Mat {
    const { ws, hiddenSize: e } = this;
    const { b, l, lp } = batch;
    const rows = b * lp;
    let x = mat(temps.tensor([rows, e]).ptr, e);
    let y = mat(temps.tensor([rows, e]).ptr, e);
    this.embeddings.forwardRows(temps, batch.ids, batch.positions, this.spec.typeVocabSize ? batch.types : undefined, rows, x);
    // right padding (the usual case) is key lengths; any other mask, a [B, 1, 1, L] boolean mask
    const keyLengths = batch.prefixMask ? batch.keyLengths : undefined;
    let variants: Variants | undefined;
    if (!batch.prefixMask) {
      const allow = new Uint8Array(b * lp);
      for (let i = 0; i < b; i++) for (let t = 0; t < l; t++) allow[i * lp + t] = batch.mask[i * l + t]!;
      variants = checkVariants({ attnMask: { data: allow, shape: [b, 1, 1, lp] } }, b, this.numHeads, lp, lp, ws.heap);
    }
    this.layers.forEach((layer, index) => {
      const onWeights = wanted?.has(index) ? (w: Float32Array) => { attentions![index] = cropAttention(w, b, this.numHeads, lp, l); } : undefined;
      // each layer's temporaries are freed when it ends: the peak is one layer's, not the model's
      ws.run((layerTemps) => layer.forwardRows(layerTemps, x, { batch: b, length: lp, causal: false, keyLengths, variants }, y, onWeights));
      [x, y] = [y, x];
    });
    return x;
  }
}

interface Batch {
  b: number;
  /** The longest sequence. */
  l: number;
  /** The padded length the encoder runs (≥ l). */
  lp: number;
  ids: Int32Array;
  positions: Int32Array;
  types: Int32Array;
  /** [b, l], 1 = real token. */
  mask: Uint8Array;
  keyLengths: Int32Array;
  /** Every mask row is ones then zeros (right padding): key lengths say it all. */
  prefixMask: boolean;
}

/** [B, H, lp, lp] → [B, H, l, l]. */
function cropAttention(w: Float32Array, b: number, h: number, lp: number, l: number): TensorResult {
  if (lp === l) return { data: w, shape: [b, h, l, l] };
  const out = new Float32Array(b * h * l * l);
  for (let bh = 0; bh < b * h; bh++) for (let q = 0; q < l; q++) out.set(w.subarray((bh * lp + q) * lp, (bh * lp + q) * lp + l), (bh * l + q) * l);
  return { data: out, shape: [b, h, l, l] };
}

/** A batch given as ragged arrays or as { data, shape: [B, L] }, as rows of numbers. */
function rowsOf(name: string, value: TokenRows): number[][] {
  if (Array.isArray(value)) {
    if (value.length === 0) throw new RangeError(`${name}: an empty batch (expected at least one sequence)`);
    return value.map((row, i) => {
      if (!Array.isArray(row) && !ArrayBuffer.isView(row)) throw new TypeError(`${name}[${i}] must be an array of numbers, received ${describe(row)}`);
      return Array.from(row as ArrayLike<number>);
    });
  }
  const v = value as { data?: ArrayLike<number>; shape?: readonly number[] };
  if (typeof v !== 'object' || v === null || v.data === undefined || !Array.isArray(v.shape) || v.shape.length !== 2) {
    throw new TypeError(`${name} must be an array of arrays (one per sequence) or { data, shape: [B, L] }, received ${describe(value)}`);
  }
  const [b, l] = v.shape as [number, number];
  if (v.data.length !== b * l) throw new RangeError(`${name}: data has ${v.data.length} values, shape [${b}, ${l}] needs ${b * l}`);
  return Array.from({ length: b }, (_, i) => Array.from({ length: l }, (_, t) => v.data![i * l + t]!));
}

/** q, k, v stacked along rows: [(3)·n, …] from three [n, …] tensors (in_proj_weight / in_proj_bias). */
function stack(parts: (TensorLike | QuantizedData | undefined)[]): { data: Float32Array; shape: number[] } | TensorLike {
  // a saved model's quantized q, k, v matrices stack as they are (passed on to the layer, which holds them)
  if (parts.every(isQuantizedData)) return stackQuantized(parts as QuantizedData[]) as unknown as TensorLike;
  const arrays = parts.map((p) => dataOf(p as TensorLike | undefined));
  const shape = [...(parts[0] as unknown as { shape: readonly number[] }).shape];
  shape[0] = shape[0]! * parts.length;
  const data = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    data.set(a, at);
    at += a.length;
  }
  return { data, shape };
}

function dataOf(t: TensorLike | undefined): Float32Array {
  if (t instanceof Tensor) return t.toArray();
  const d = (t as { data?: unknown } | undefined)?.data;
  if (d instanceof Float32Array) return d;
  if (Array.isArray(d) || ArrayBuffer.isView(d)) return Float32Array.from(d as ArrayLike<number>);
  throw new TypeError(`expected a tensor { data, shape }, received ${describe(t)}`);
}

