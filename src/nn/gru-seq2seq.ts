/**
 * The PyTorch seq2seq tutorial's model: `EncoderRNN` (`embedding.weight` [V_in, H], `gru.*`, one
 * nn.GRU(H, H) layer) and `AttnDecoderRNN` (see attn-decoder.ts), decoded greedily or by beam
 * search. The encoder's input projection of every token, embedding·W_ihᵀ + b_ih, is a table
 * [V_in, 3H] made once, so a sentence's gates are row copies; the recurrence runs all sentences of a
 * call together (longest first, so the ones still running at a step are the first rows), its gemm
 * in rowwise chunks (a row's bits do not depend on the other rows), so a sentence in a batch is
 * encoded exactly as alone. The decoder starts from `sos` with the encoder's last hidden state and
 * steps all live rows as one batch, in Wasm memory, with buffers allocated once per call.
 */
import { checkFinite, checkInteger, checkOptions, checkTensor, formatShape, type TensorLike } from '../engine/validate.js';
import { beamSearch, greedySearch, type BeamHypothesis, type GreedyResult, type SearchStep } from '../reference/search.js';
import { AttnDecoderRNN, type Sources, type StepBuffers } from './attn-decoder.js';
import { sentencesOf, type TokenBatch } from '../reference/ids.js';
import { gruShapes, type GruWeights } from './gru.js';
import { linear, linearRowwise, mat, weightRows } from '../engine/linear.js';
import { checkWeightDtype, matricesAs, type DtypeOption, type WeightDtype } from '../engine/quantized.js';
import { Tensor } from '../engine/memory.js';
import { checkNamed, checkNames, underPrefix } from '../engine/state-dict.js';
import { residentWeights } from '../engine/weights.js';
import type { Temps, Workspace } from '../engine/workspace.js';

export type { BeamHypothesis, GreedyResult, TokenBatch };

export interface GruSeq2seqConfig {
  /** The EncoderRNN's state_dict (`embedding.weight`, `gru.*`), or use `weights`. */
  encoder?: Record<string, TensorLike>;
  /** The AttnDecoderRNN's state_dict, or use `weights`. */
  decoder?: Record<string, TensorLike>;
  /** One state_dict holding both, under `encoderPrefix` and `decoderPrefix`. */
  weights?: Record<string, TensorLike>;
  /** Default 'encoder.' with `weights`, '' with `encoder`. */
  encoderPrefix?: string;
  /** Default 'decoder.' with `weights`, '' with `decoder`. */
  decoderPrefix?: string;
  /** The start token (the decoder's first input). */
  sos: number;
  /** The end token: a sentence stops after emitting it. */
  eos: number;
  /**
   * The dtype of the Linear weights of both halves (the encoder's GRU, and the decoder's attention.Wa,
   * attention.Ua, GRU and out): 'f32' (default, or 'fp32'), 'q8' or 'q4' (blocks of 32 inputs with an
   * f32 scale each). Embeddings, attention.Va and biases stay f32, and so does every matrix when the
   * hidden size is not a multiple of 32.
   */
  dtype?: DtypeOption;
}

export interface GreedyOptions {
  /** At most this many decoder steps (tokens) per sentence. */
  maxLength: number;
  /** With ids as { data, shape: [B, S] } (padded): the true length of each sentence. */
  lengths?: ArrayLike<number>;
}

export interface BeamSearchOptions {
  beamSize: number;
  maxLength: number;
  /** α: hypotheses rank by score / T^α (T tokens, EOS included). Default 0: by score. */
  lengthPenalty?: number;
}

export class GruSeq2seq {
  readonly hiddenSize: number;
  readonly sos: number;
  readonly eos: number;
  /** The dtype of the Linear weights (config.dtype; 'fp32' reads 'f32'). */
  readonly dtype: WeightDtype;
  private readonly ws: Workspace;
  private readonly encEmb: Tensor;
  private readonly encGru: GruWeights;
  /** [V_in, 3H]: embedding·W_ihᵀ + b_ih, the encoder's input gates of every token */
  private readonly encGates: Tensor;
  private readonly inputVocab: number;
  private readonly decoder: AttnDecoderRNN;

  /** @internal use `runtime.gruSeq2seq(...)` */
  constructor(ws: Workspace, config: GruSeq2seqConfig) {
    const where = 'gruSeq2seq';
    const cfg = checkOptions('config', config, ['encoder', 'decoder', 'weights', 'encoderPrefix', 'decoderPrefix', 'sos', 'eos', 'dtype'], where);
    const dtype = checkWeightDtype(where, 'config.dtype', cfg['dtype']);
    const joint = cfg['weights'] !== undefined;
    if (joint && (cfg['encoder'] !== undefined || cfg['decoder'] !== undefined)) throw new TypeError(`${where}: give either weights (one state_dict) or encoder and decoder, not both`);
    if (!joint && (cfg['encoder'] === undefined || cfg['decoder'] === undefined)) throw new TypeError(`${where}: needs encoder and decoder (the EncoderRNN's and AttnDecoderRNN's state_dicts) or weights (both under prefixes)`);
    const encPrefix = cfg['encoderPrefix'] ?? (joint ? 'encoder.' : '');
    const decPrefix = cfg['decoderPrefix'] ?? (joint ? 'decoder.' : '');
    const encAll = joint ? cfg['weights'] : cfg['encoder'];
    const decAll = (joint ? cfg['weights'] : cfg['decoder']) as Record<string, TensorLike>;
    // the encoder: names, then H and V_in from the embedding, then shapes
    const under = underPrefix(`${where} (encoder)`, encAll, encPrefix);
    const { record, prefix } = under;
    const encNames = ['embedding.weight', ...Object.keys(gruShapes(1, 1, 'gru.'))];
    checkNames(`${where} (encoder)`, under, encNames);
    const e = checkTensor(`${where}: weights['${prefix}embedding.weight']`, record['embedding.weight'], ws.heap);
    if (e.shape.length !== 2) throw new RangeError(`${where}: weights['${prefix}embedding.weight']: expected shape [V, H] (nn.Embedding(V, H).weight), received ${formatShape(e.shape)}`);
    const [vin, H] = e.shape as [number, number];
    const c = checkNamed(where, under, { 'embedding.weight': [vin, H], ...gruShapes(H, H, 'gru.') }, ws.heap, `the tutorial's EncoderRNN with hidden size ${H}`);
    const decoder = new AttnDecoderRNN(ws, decAll, { prefix: decPrefix as string, dtype });
    try {
      if (decoder.hiddenSize !== H) throw new RangeError(`${where}: the decoder's hidden size ${decoder.hiddenSize} differs from the encoder's ${H}`);
      const sos = checkInteger(`${where}: sos`, cfg['sos'], 0, decoder.vocabSize - 1);
      const eos = checkInteger(`${where}: eos`, cfg['eos'], 0, decoder.vocabSize - 1);
      const t = residentWeights(ws.heap, { emb: c['embedding.weight'], wih: c['gru.weight_ih_l0'], whh: c['gru.weight_hh_l0'], bih: c['gru.bias_ih_l0'], bhh: c['gru.bias_hh_l0'] }) as Record<'emb' | 'wih' | 'whh' | 'bih' | 'bhh', Tensor>;
      const m = matricesAs(ws, t, ['wih', 'whh'], dtype);
      this.encEmb = t.emb;
      this.encGru = { wih: m.wih, whh: m.whh, bih: t.bih, bhh: t.bhh };
      try {
        this.encGates = new Tensor(ws.heap, [vin, 3 * H]);
      } catch (error) {
        for (const x of Object.values(m)) x.dispose();
        throw error;
      }
      linear(ws, mat(t.emb.ptr, H), weightRows(m.wih), mat(this.encGates.ptr, 3 * H), vin, 3 * H, H, { bias: t.bih.ptr });
      this.sos = sos;
      this.eos = eos;
    } catch (error) {
      decoder.dispose();
      throw error;
    }
    this.ws = ws;
    this.hiddenSize = H;
    this.dtype = dtype;
    this.inputVocab = vin;
    this.decoder = decoder;
  }

  /**
   * Greedy decoding: from `sos` with the encoder's last hidden state, the argmax fed back, until
   * EOS (included in `tokens`) or `maxLength` steps → `{ tokens, logProbs [T, V], attentions [T, S] }`.
   * `ids` one sentence → one result; an array of sentences, or padded `{ data, shape: [B, S] }` with
   * `lengths` → one result per sentence, decoded in one batch (finished sentences leave it), each
   * bit for bit what decoding it alone gives.
   */
  greedyDecode(ids: ArrayLike<number>, options: GreedyOptions): GreedyResult;
  greedyDecode(ids: readonly ArrayLike<number>[] | TokenBatch, options: GreedyOptions): GreedyResult[];
  greedyDecode(ids: ArrayLike<number> | readonly ArrayLike<number>[] | TokenBatch, options: GreedyOptions): GreedyResult | GreedyResult[] {
    this.assertLive();
    const opts = checkOptions('options', options, ['maxLength', 'lengths'], 'greedyDecode');
    const maxLength = checkInteger('options.maxLength', opts['maxLength'], 1);
    const { list, batched } = sentencesOf(ids, opts['lengths'], this.inputVocab);
    const results = this.ws.run((temps) => {
      const { sources, buf } = this.encode(temps, list, list.length);
      for (let b = 0; b < list.length; b++) buf.src[b] = b;
      return greedySearch(this.searchStep(buf, sources), sources.lengths, this.decoder.vocabSize, this.sos, this.eos, maxLength);
    });
    return batched ? results : results[0]!;
  }

  /**
   * Beam search over one sentence → the best `beamSize` hypotheses `{ tokens, score, attentions [T, S] }`,
   * best first. The beams run as one batch of up to beamSize rows through the decoder step.
   * The rule (src/reference/search.ts): extensions ranked by score + log p, an EOS among the best
   * beamSize finishes a hypothesis (score: Σ log p of its tokens, EOS included), the others are the
   * next beams; hypotheses rank by score / T^α (α = lengthPenalty, default 0); the search stops at
   * maxLength, or once beamSize have finished and no live beam can still outrank the beamSize-th
   * (its best is score / maxLength^α); beams live at maxLength count as finished there.
   */
  beamSearch(ids: ArrayLike<number>, options: BeamSearchOptions): BeamHypothesis[] {
    this.assertLive();
    const opts = checkOptions('options', options, ['beamSize', 'maxLength', 'lengthPenalty'], 'beamSearch');
    const beamSize = checkInteger('options.beamSize', opts['beamSize'], 1);
    const maxLength = checkInteger('options.maxLength', opts['maxLength'], 1);
    const lengthPenalty = checkFinite('options.lengthPenalty', opts['lengthPenalty'], 0);
    if (lengthPenalty < 0) throw new RangeError(`options.lengthPenalty must be ≥ 0, received ${lengthPenalty}`);
    const sentence = sentencesOf(ids, undefined, this.inputVocab);
    if (sentence.batched) throw new TypeError('beamSearch: ids must be one sentence (an array of token ids)');
    return this.ws.run((temps) => {
      const { sources, buf } = this.encode(temps, sentence.list, beamSize);
      buf.src.fill(0);
      return beamSearch(this.searchStep(buf, sources), sources.lengths[0]!, this.decoder.vocabSize, this.sos, this.eos, { beamSize, maxLength, lengthPenalty });
    });
  }

  /** Frees the encoder's and the decoder's weights. Idempotent. */
  dispose(): void {
    for (const t of [this.encEmb, this.encGates, ...Object.values(this.encGru)]) t.dispose();
    this.decoder.dispose();
  }

  private assertLive(): void {
    if (this.encEmb.disposed) throw new Error('gruSeq2seq: this model was disposed');
  }

  /**
   * Encodes the sentences (gates from the table, then the GRU steps of all sentences together,
   * longest first) into the sources (states, projected keys, each over its own length) and step
   * buffers for `rows` rows; row b of buf.h gets sentence b's last hidden state.
   */
  private encode(temps: Temps, list: Int32Array[], rows: number): { sources: Sources; buf: StepBuffers } {
    const { ws, hiddenSize: H } = this;
    const G = 3 * H, B = list.length;
    const longest = Math.max(...list.map((s) => s.length));
    // position i of the recurrence runs sentence order[i]: longest first (ties in order), so the
    // sentences still running at step t are the first `live` positions
    const order = list.map((_, b) => b).sort((a, b) => list[b]!.length - list[a]!.length || a - b);
    const alloc = (shape: number[]): number => temps.tensor(shape).ptr;
    const hs = alloc([B * longest, H]), keys = alloc([B * longest, H]), keysExp = alloc([B * longest, H]);
    const gi = alloc([B * longest, G]), gh = alloc([B, G]), h0 = alloc([B, H]);
    const buf = this.decoder.allocBuffers(alloc, Math.max(rows, B), longest);
    const f32 = ws.heap.floats();
    const table = this.encGates.ptr >>> 2;
    order.forEach((b, i) => {
      const sentence = list[b]!;
      for (let t = 0; t < sentence.length; t++) f32.copyWithin((gi >>> 2) + (i * longest + t) * G, table + sentence[t]! * G, table + (sentence[t]! + 1) * G);
    });
    f32.fill(0, h0 >>> 2, (h0 >>> 2) + B * H);
    const k = ws.kernels, w = this.encGru, ld = longest * H;
    let live = B;
    for (let t = 0; t < longest; t++) {
      while (live > 0 && list[order[live - 1]!]!.length <= t) live--;
      const prev = t === 0 ? mat(h0, H) : mat(hs + 4 * (t - 1) * H, ld);
      linearRowwise(ws, prev, weightRows(w.whh), mat(gh, G), live, G, H, { bias: w.bhh.ptr });
      k.gruCell(gi + 4 * t * G, longest * G, gh, G, prev.ptr, prev.ld, hs + 4 * t * H, ld, live, H);
    }
    const sources: Sources = { hs: new Array(B), keys: new Array(B), keysExp: new Array(B), lengths: list.map((s) => s.length), maxLength: longest };
    order.forEach((b, i) => {
      const L = list[b]!.length;
      const at = hs + 4 * i * ld, key = keys + 4 * i * ld;
      ws.heap.floats().copyWithin((buf.h >>> 2) + b * H, (at >>> 2) + (L - 1) * H, (at >>> 2) + L * H); // (a view per use: a gemm's scratch may grow the memory)
      sources.hs[b] = at;
      sources.keys[b] = key;
      sources.keysExp[b] = this.decoder.projectSource(at, L, key, keysExp + 4 * i * ld);
    });
    return { sources, buf };
  }

  private searchStep(buf: StepBuffers, sources: Sources): SearchStep {
    const { ws, decoder } = this;
    const V = decoder.vocabSize, ld = Math.max(1, sources.maxLength);
    return {
      step: (tokens, rows) => {
        decoder.stepRows(buf, sources, tokens, rows);
        const f32 = ws.heap.floats();
        return { logProbs: f32.subarray(buf.logits >>> 2, (buf.logits >>> 2) + rows * V), attention: f32.subarray(buf.attention >>> 2, (buf.attention >>> 2) + rows * ld), ldAttention: ld };
      },
      keep: (parents, count) => decoder.keepRows(buf, parents, count),
    };
  }
}
