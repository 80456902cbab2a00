/**
 * The PyTorch seq2seq tutorial's `AttnDecoderRNN` (eval: dropout off) from its state_dict:
 * `embedding.weight` [V, H], `attention.{Wa,Ua,Va}.{weight,bias}` (BahdanauAttention),
 * `gru.weight_ih_l0` [3H, 2H], `gru.weight_hh_l0` [3H, H], `gru.bias_ih_l0`, `gru.bias_hh_l0` [3H],
 * `out.weight` [V, H], `out.bias` [V]. One step, for rows with hidden h:
 *
 *   e = embedding(token);  scores_s = Va·tanh(Wa·h + ba + Ua·hs_s + bu) + bv over the row's source
 *   w = softmax(scores);   c = Σ_s w_s·hs_s
 *   h' = GRUCell([e; c], h);  logProbs = log_softmax(out·h' + out.bias)
 *
 * `bind` projects the keys Ua·hs + bu once per source (and e^{2·keys} for the factored score of
 * assembly/additive.ts, as bahdanauAttention's bind does); a step is then gemms over the rows
 * (in rowwise chunks: a row's bits do not depend on the batch), the additive scores, the softmax
 * and context per row, the GRU cell and the log-softmax, all in Wasm memory. The embedding's part
 * of the GRU input projection, e·W_ih[:, :H]ᵀ + b_ih, is a table [V, 3H] made once (a row copy per
 * step instead of a gemm over e); the step adds c·W_ih[:, H:]ᵀ to it (the context written into the
 * second half of the [R, 2H] buffer `cat`).
 */
import { Tensor } from '../engine/memory.js';
import { checkLengths, checkOptions, checkTensor, formatShape, type Checked, type TensorLike } from '../engine/validate.js';
import { checkIds } from '../reference/ids.js';
import { gruShapes } from './gru.js';
import { linear, linearRowwise, mat, matmulNN, weightRows } from '../engine/linear.js';
import { checkWeightDtype, matricesAs, type DtypeOption, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import { FACTORED_LIMIT } from './seq2seq.js';
import { checkNamed, checkNames, underPrefix } from '../engine/state-dict.js';
import { residentWeights } from '../engine/weights.js';
import type { Workspace } from '../engine/workspace.js';

export interface AttnDecoderStep {
  /** [B, V] (or [V] for a single token): log_softmax of the output layer. */
  logProbs: Float32Array;
  /** [B, H] (or [H]): the new hidden state. */
  hidden: Float32Array;
  /** [B, S] (or [S]): the attention weights over the source (zeros past a source's length). */
  attention: Float32Array;
}

/** @internal Sources bound for decoding: per source j, its states, keys, e^{2·keys} (or 0) and length. */
export interface Sources {
  hs: number[];
  keys: number[];
  keysExp: number[];
  lengths: number[];
  /** The widest source: the row stride of the attention buffer. */
  maxLength: number;
}

/** @internal Per-step buffers for up to `rows` rows (allocated once per decode). */
export interface StepBuffers {
  rows: number;
  /** row r → its source */
  src: Int32Array;
  /** scratch for keep(): the reordered map */
  srcNext: Int32Array;
  cat: number; // [R, 2H]: [e; c]
  h: number; // [R, H]: the state the next step reads
  hNext: number; // [R, H]: the state a step writes
  query: number; // [R, H]
  queryExp: number; // [R, H]
  attention: number; // [R, maxLength]
  gi: number; // [R, 3H]
  gh: number; // [R, 3H]
  logits: number; // [R, V]
}

interface DecoderWeights {
  emb: Tensor;
  wa: WeightMatrix; wab: Tensor; ua: WeightMatrix; uab: Tensor; va: Tensor;
  vBias: number;
  /** Σ Va + bv: the constant of the factored score */
  vTotal: number;
  /** W_ih[:, H:] [3H, H]: the GRU input projection of the context */
  wihContext: WeightMatrix;
  whh: WeightMatrix; bih: Tensor; bhh: Tensor;
  out: WeightMatrix; outb: Tensor;
  /** [V, 3H]: embedding·W_ih[:, :H]ᵀ + b_ih, the input projection of every token */
  tokenGates: Tensor;
}

/** Options of `runtime.attnDecoderRNN`. */
export interface AttnDecoderOptions {
  /** Only the entries starting with this prefix, with it removed (e.g. 'decoder.'). */
  prefix?: string;
  /**
   * The dtype of the Linear weights (attention.Wa, attention.Ua, the GRU's weight_ih and weight_hh,
   * out): 'f32' (default, or 'fp32'), 'q8' or 'q4' (blocks of 32 inputs with an f32 scale each).
   * The embedding, attention.Va and the biases stay f32, and so does every matrix when the hidden
   * size is not a multiple of 32 (weight_ih is held as its two halves [3H, H], token and context).
   */
  dtype?: DtypeOption;
}

/** Columns [from, to) of a checked matrix [rows, cols], as a new checked matrix [rows, to − from]. */
function columns(c: Checked, from: number, to: number): Checked {
  const [rows, cols] = c.shape as [number, number];
  const src = c.tensor ? c.tensor.data : c.data!;
  const data = new Float32Array(rows * (to - from));
  for (let r = 0; r < rows; r++) data.set(src.subarray(r * cols + from, r * cols + to), r * (to - from));
  return { name: c.name, shape: [rows, to - from], data };
}

/** The decoder's state_dict names and shapes for hidden size H and vocabulary V. */
function decoderShapes(H: number, V: number): Record<string, number[]> {
  return {
    'embedding.weight': [V, H],
    'attention.Wa.weight': [H, H], 'attention.Wa.bias': [H], 'attention.Ua.weight': [H, H], 'attention.Ua.bias': [H],
    'attention.Va.weight': [1, H], 'attention.Va.bias': [1],
    ...gruShapes(2 * H, H, 'gru.'),
    'out.weight': [V, H], 'out.bias': [V],
  };
}

export class AttnDecoderRNN {
  readonly hiddenSize: number;
  readonly vocabSize: number;
  /** The dtype of the Linear weights (options.dtype; 'fp32' reads 'f32'). */
  readonly dtype: WeightDtype;
  private readonly ws: Workspace;
  private readonly w: DecoderWeights;

  /** @internal use `runtime.attnDecoderRNN(...)` */
  constructor(ws: Workspace, stateDict: Record<string, TensorLike>, options?: AttnDecoderOptions) {
    const where = 'attnDecoderRNN';
    const opts = checkOptions('options', options, ['prefix', 'dtype'], where);
    const dtype = checkWeightDtype(where, 'options.dtype', opts['dtype']);
    const under = underPrefix(where, stateDict, opts['prefix']);
    const { record, prefix } = under;
    // the names first, then H and V from the output layer, then every shape
    checkNames(where, under, Object.keys(decoderShapes(1, 1)));
    const probe = record['out.weight'];
    if (probe === undefined) throw new TypeError(`${where}: weights['${prefix}out.weight'] is missing (expected shape [V, H], the output layer)`);
    const o = checkTensor(`${where}: weights['${prefix}out.weight']`, probe, ws.heap);
    const [V, H] = o.shape.length === 2 ? (o.shape as [number, number]) : [1, 1];
    const c = checkNamed(where, under, decoderShapes(H, V), ws.heap, `the tutorial's AttnDecoderRNN with hidden size ${H} and ${V} output tokens (from out.weight [V, H])`);
    const vb = c['attention.Va.bias']!;
    const va = c['attention.Va.weight']!;
    const vData = va.tensor ? va.tensor.data : va.data!;
    const wih = c['gru.weight_ih_l0']!;
    const t = residentWeights(ws.heap, {
      emb: c['embedding.weight'], wa: c['attention.Wa.weight'], wab: c['attention.Wa.bias'], ua: c['attention.Ua.weight'], uab: c['attention.Ua.bias'], va,
      wihToken: columns(wih, 0, H), wihContext: columns(wih, H, 2 * H), whh: c['gru.weight_hh_l0'], bih: c['gru.bias_ih_l0'], bhh: c['gru.bias_hh_l0'], out: c['out.weight'], outb: c['out.bias'],
    }) as Record<string, Tensor>;
    const m = matricesAs(ws, t, ['wa', 'ua', 'wihToken', 'wihContext', 'whh', 'out'], dtype);
    const vBias = (vb.tensor ? vb.tensor.data : vb.data!)[0]!;
    this.ws = ws;
    this.hiddenSize = H;
    this.vocabSize = V;
    this.dtype = dtype;
    let tokenGates: Tensor;
    try {
      tokenGates = new Tensor(ws.heap, [V, 3 * H]);
    } catch (error) {
      for (const x of Object.values(m)) x.dispose();
      throw error;
    }
    // the token half of W_ih is only needed for this table
    linear(ws, mat(t['emb']!.ptr, H), weightRows(m['wihToken']!), mat(tokenGates.ptr, 3 * H), V, 3 * H, H, { bias: t['bih']!.ptr });
    m['wihToken']!.dispose();
    this.w = {
      emb: t['emb']!, wa: m['wa']!, wab: t['wab']!, ua: m['ua']!, uab: t['uab']!, va: t['va']!, vBias,
      vTotal: vData.reduce((a, x) => a + x, 0) + vBias,
      wihContext: m['wihContext']!, whh: m['whh']!, bih: t['bih']!, bhh: t['bhh']!, out: m['out']!, outb: t['outb']!, tokenGates,
    };
  }

  /**
   * Binds encoder outputs [B, S, H] (or [S, H]) with optional per-batch `lengths`: keys projected
   * once per source (each over its own length, as if bound alone). Dispose the bound decoder.
   */
  bind(encoderOutputs: TensorLike, options?: { lengths?: ArrayLike<number> }): BoundAttnDecoder {
    this.assertLive();
    const { ws, hiddenSize: H } = this;
    const hs = checkTensor('encoderOutputs', encoderOutputs, ws.heap);
    const opts = checkOptions('options', options, ['lengths'], 'bind');
    const s = hs.shape;
    if (!((s.length === 3 && s[2] === H) || (s.length === 2 && s[1] === H))) {
      throw new RangeError(`encoderOutputs: expected shape [B, S, ${H}] or [S, ${H}] (the hidden size of the decoder), received ${formatShape(s)}`);
    }
    const [batch, source] = s.length === 3 ? [s[0]!, s[1]!] : [1, s[0]!];
    const lengths = checkLengths('options.lengths', opts['lengths'], batch, source) ?? new Int32Array(batch).fill(source);
    return new BoundAttnDecoder(this, ws, hs, batch, source, Array.from(lengths));
  }

  /** Frees the resident weights; bound decoders stop working. Idempotent. */
  dispose(): void {
    const w = this.w;
    for (const t of [w.emb, w.wa, w.wab, w.ua, w.uab, w.va, w.wihContext, w.whh, w.bih, w.bhh, w.out, w.outb, w.tokenGates]) t.dispose();
  }

  /** @internal */
  assertLive(): void {
    if (this.w.emb.disposed) throw new Error('attnDecoderRNN: this module was disposed');
  }

  /** @internal Keys of one source: keys = hs·Uaᵀ + bu [S, H] and, when every |key| ≤ 20, keysExp = e^{2·keys} (else returns 0). */
  projectSource(hs: number, length: number, keys: number, keysExp: number): number {
    const { ws, hiddenSize: H, w } = this;
    if (length === 0) return 0;
    linear(ws, mat(hs, H), weightRows(w.ua), mat(keys, H), length, H, H, { bias: w.uab.ptr });
    return ws.kernels.expScale(keys, keysExp, length * H, 2, 1) <= FACTORED_LIMIT ? keysExp : 0;
  }

  /** @internal Step buffers for up to `rows` rows over sources up to `maxLength` long. */
  allocBuffers(alloc: (shape: number[]) => number, rows: number, maxLength: number): StepBuffers {
    const H = this.hiddenSize, V = this.vocabSize;
    return {
      rows, src: new Int32Array(rows), srcNext: new Int32Array(rows),
      cat: alloc([rows, 2 * H]), h: alloc([rows, H]), hNext: alloc([rows, H]), query: alloc([rows, H]), queryExp: alloc([rows, H]),
      attention: alloc([rows, Math.max(1, maxLength)]), gi: alloc([rows, 3 * H]), gh: alloc([rows, 3 * H]), logits: alloc([rows, V]),
    };
  }

  /**
   * @internal One step for `rows` rows: tokens (checked), h in buf.h, row r attending over source
   * buf.src[r] → buf.hNext, buf.logits (log-probabilities), buf.attention (ld sources.maxLength).
   */
  stepRows(buf: StepBuffers, sources: Sources, tokens: Int32Array, rows: number): void {
    const { ws, hiddenSize: H, vocabSize: V, w } = this;
    const k = ws.kernels;
    const f32 = ws.heap.floats();
    const ld = Math.max(1, sources.maxLength);
    // the token's gates e·W_ih[:, :H]ᵀ + b_ih into gi (c·W_ih[:, H:]ᵀ is added after the context)
    const G = 3 * H, table = w.tokenGates.ptr >>> 2;
    for (let r = 0; r < rows; r++) f32.copyWithin((buf.gi >>> 2) + r * G, table + tokens[r]! * G, table + (tokens[r]! + 1) * G);
    // the query Wa·h + ba, then per row: scores, softmax, context into the second half
    linearRowwise(ws, mat(buf.h, H), weightRows(w.wa), mat(buf.query, H), rows, H, H, { bias: w.wab.ptr });
    for (let r = 0; r < rows; r++) {
      const j = buf.src[r]!;
      const S = sources.lengths[j]!;
      const q = buf.query + 4 * r * H, qe = buf.queryExp + 4 * r * H, a = buf.attention + 4 * r * ld;
      const e = sources.keysExp[j]!;
      if (S > 0) {
        if (e !== 0 && k.expScale(q, qe, H, 2, 0.5) <= FACTORED_LIMIT) k.additiveScoresFactored(qe, e, H, w.va.ptr, w.vTotal, a, S, H);
        else k.additiveScores(q, sources.keys[j]!, H, w.va.ptr, w.vBias, a, S, H);
      }
      k.softmax(a, ld, 1, ld, 1, 0, 0, S); // zeros past S (all zeros for an empty source)
      matmulNN(ws, mat(a, ld), mat(sources.hs[j]!, H), mat(buf.cat + 4 * (r * 2 * H + H), 2 * H), 1, H, S);
    }
    // the GRU cell over [e; c] and h, then the output layer and log_softmax
    linearRowwise(ws, mat(buf.cat + 4 * H, 2 * H), weightRows(w.wihContext), mat(buf.gi, 3 * H), rows, 3 * H, H, { accumulate: true });
    linearRowwise(ws, mat(buf.h, H), weightRows(w.whh), mat(buf.gh, 3 * H), rows, 3 * H, H, { bias: w.bhh.ptr });
    k.gruCell(buf.gi, 3 * H, buf.gh, 3 * H, buf.h, H, buf.hNext, H, rows, H);
    linearRowwise(ws, mat(buf.hNext, H), weightRows(w.out), mat(buf.logits, V), rows, V, H, { bias: w.outb.ptr });
    k.logSoftmax(buf.logits, V, rows, V);
  }

  /** @internal After a step: new row i continues old row parents[i] (its hNext becomes h, its source follows). */
  keepRows(buf: StepBuffers, parents: Int32Array, count: number): void {
    const H = this.hiddenSize;
    const f32 = this.ws.heap.floats();
    for (let i = 0; i < count; i++) {
      const p = parents[i]!;
      f32.copyWithin((buf.h >>> 2) + i * H, (buf.hNext >>> 2) + p * H, (buf.hNext >>> 2) + (p + 1) * H);
      buf.srcNext[i] = buf.src[p]!;
    }
    buf.src.set(buf.srcNext.subarray(0, count));
  }
}

/** Encoder outputs bound to an AttnDecoderRNN: call `step` once per decoder step. */
export class BoundAttnDecoder {
  readonly batch: number;
  readonly sourceLength: number;
  readonly hiddenSize: number;
  private readonly owner: AttnDecoderRNN;
  private readonly ws: Workspace;
  private readonly blocks: Tensor[] = [];
  private readonly hsTensor: Tensor | undefined;
  private readonly sources: Sources;
  private buf: StepBuffers | undefined;
  private bufBlocks: Tensor[] = [];
  private disposed = false;

  /** @internal use `decoder.bind(...)` */
  constructor(owner: AttnDecoderRNN, ws: Workspace, hs: Checked, batch: number, source: number, lengths: number[]) {
    this.owner = owner;
    this.ws = ws;
    this.batch = batch;
    this.sourceLength = source;
    this.hiddenSize = owner.hiddenSize;
    const H = owner.hiddenSize;
    const alloc = (shape: number[]): number => {
      const t = new Tensor(ws.heap, shape);
      this.blocks.push(t);
      return t.ptr;
    };
    try {
      let base: number;
      if (hs.tensor) {
        base = hs.tensor.ptr;
        this.hsTensor = hs.tensor; // read in place: keep it from being collected
      } else {
        base = alloc([batch * source, H]);
        ws.heap.floats().set(hs.data!, base >>> 2);
      }
      const keys = alloc([batch * source, H]), keysExp = alloc([batch * source, H]);
      const off = (p: number, b: number): number => p + 4 * b * source * H;
      this.sources = { hs: [], keys: [], keysExp: [], lengths, maxLength: source };
      for (let b = 0; b < batch; b++) {
        this.sources.hs.push(off(base, b));
        this.sources.keys.push(off(keys, b));
        this.sources.keysExp.push(owner.projectSource(off(base, b), lengths[b]!, off(keys, b), off(keysExp, b)));
      }
    } catch (error) {
      for (const t of this.blocks) t.dispose();
      throw error;
    }
  }

  /**
   * One decoder step: tokens (one id, or B ids for B rows) and hidden [B, H] (or [1, B, H]; [H] with
   * one token) → { logProbs [B, V], hidden [B, H], attention [B, S] }. Row b attends over source b
   * (over source 0 for every row when bound to a single source, e.g. beams of one sentence).
   */
  step(tokens: number | ArrayLike<number>, hidden: TensorLike): AttnDecoderStep {
    if (this.disposed) throw new Error('attnDecoderRNN: this bound decoder was disposed');
    this.owner.assertLive();
    const { ws, hiddenSize: H } = this;
    const single = typeof tokens === 'number';
    const ids = checkIds('tokens', single ? [tokens] : tokens, this.owner.vocabSize);
    const rows = ids.length;
    if (rows === 0) throw new RangeError('tokens: expected at least one token');
    if (this.batch !== 1 && rows !== this.batch) throw new RangeError(`tokens: expected ${this.batch} tokens (the batch of the bound encoder outputs), received ${rows}`);
    const h = checkTensor('hidden', hidden, ws.heap);
    const s = h.shape;
    const ok = (s.length === 2 && s[0] === rows && s[1] === H) || (s.length === 3 && s[0] === 1 && s[1] === rows && s[2] === H) || (single && s.length === 1 && s[0] === H);
    if (!ok) throw new RangeError(`hidden: expected shape [${rows}, ${H}] or [1, ${rows}, ${H}]${single ? ` or [${H}]` : ''} (one row per token, hiddenSize), received ${formatShape(s)}`);
    const buf = this.buffers(rows);
    ws.heap.floats().set(h.tensor ? h.tensor.data : h.data!, buf.h >>> 2);
    for (let r = 0; r < rows; r++) buf.src[r] = this.batch === 1 ? 0 : r;
    this.owner.stepRows(buf, this.sources, ids, rows);
    const V = this.owner.vocabSize, S = this.sourceLength;
    const view = ws.heap.floats();
    return {
      logProbs: view.slice(buf.logits >>> 2, (buf.logits >>> 2) + rows * V),
      hidden: view.slice(buf.hNext >>> 2, (buf.hNext >>> 2) + rows * H),
      attention: view.slice(buf.attention >>> 2, (buf.attention >>> 2) + rows * S),
    };
  }

  /** Frees the keys, the buffers and the copied encoder outputs (not a tensor the caller passed). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [...this.blocks, ...this.bufBlocks]) t.dispose();
  }

  /** Step buffers for `rows` rows, kept between steps (made again only for more rows). */
  private buffers(rows: number): StepBuffers {
    if (this.buf && this.buf.rows >= rows) return this.buf;
    const made: Tensor[] = [];
    let buf: StepBuffers;
    try {
      buf = this.owner.allocBuffers((shape) => {
        const t = new Tensor(this.ws.heap, shape);
        made.push(t);
        return t.ptr;
      }, rows, this.sourceLength);
    } catch (error) {
      for (const t of made) t.dispose();
      throw error;
    }
    for (const t of this.bufBlocks) t.dispose();
    this.bufBlocks = made;
    this.buf = buf;
    return buf;
  }
}

