/**
 * The twin of `runtime.gruSeq2seq`: the tutorial's EncoderRNN + AttnDecoderRNN in float64 loops,
 * with the same searches (src/reference/search.ts) over a float64 step.
 */
import { checkFinite, checkInteger, checkOptions } from '../check.js';
import { decoderParams, decoderStep64, source64, type DecoderParams, type Source64 } from './attn-decoder.js';
import { gruCell64, gruParams, gruShapes64, namedWeights, type GruParams } from './gru.js';
import { sentencesOf } from '../ids.js';
import { beamSearch, greedySearch, type BeamHypothesis, type GreedyResult, type SearchStep } from '../search.js';
import type { ReferenceTensor } from '../tensor.js';
import { modulePrefix } from '../state-dict.js';
import { checkWeightDtype, type DtypeOption, type WeightDtype } from '../dtype.js';

export type { BeamHypothesis as ReferenceBeamHypothesis, GreedyResult as ReferenceGreedyResult };

export interface ReferenceGruSeq2seqConfig {
  encoder?: Record<string, ReferenceTensor>;
  decoder?: Record<string, ReferenceTensor>;
  weights?: Record<string, ReferenceTensor>;
  encoderPrefix?: string;
  decoderPrefix?: string;
  sos: number;
  eos: number;
  /** The Linear weights held as the runtime holds them in 'q8' or 'q4' (reference/dtype.ts); default 'f32'. */
  dtype?: DtypeOption;
}

interface Model {
  emb: Float32Array;
  vin: number;
  gru: GruParams;
  dec: DecoderParams;
}

/** Encodes one sentence: its source (states, keys) and last hidden state. */
function encode(m: Model, ids: Int32Array): { source: Source64; hidden: Float64Array } {
  const H = m.dec.H;
  const hs = new Float32Array(ids.length * H);
  let h: ArrayLike<number> = new Float64Array(H);
  ids.forEach((id, t) => {
    h = gruCell64(m.gru, m.emb, id * H, h);
    hs.set(h, t * H);
  });
  return { source: source64(m.dec, hs, ids.length), hidden: h as Float64Array };
}

/** A SearchStep over float64 rows: row r attends over sources[src[r]]. */
function step64(m: Model, sources: Source64[], src: number[], hidden: Float64Array[]): SearchStep {
  const { V } = m.dec;
  const ld = Math.max(1, ...sources.map((s) => s.length));
  let next: Float64Array[] = [];
  return {
    step(tokens, rows) {
      const logProbs = new Float32Array(rows * V), attention = new Float32Array(rows * ld);
      next = [];
      for (let r = 0; r < rows; r++) {
        const o = decoderStep64(m.dec, sources[src[r]!]!, tokens[r]!, hidden[r]!);
        logProbs.set(o.logProbs, r * V);
        attention.set(o.attention, r * ld);
        next.push(o.hidden);
      }
      return { logProbs, attention, ldAttention: ld };
    },
    keep(parents, count) {
      const srcNext = Array.from({ length: count }, (_, i) => src[parents[i]!]!);
      hidden.length = 0;
      for (let i = 0; i < count; i++) hidden.push(next[parents[i]!]!);
      src.length = 0;
      src.push(...srcNext);
    },
  };
}

/** The twin of the runtime's `GruSeq2seq`. */
export class ReferenceGruSeq2seq {
  readonly hiddenSize: number;
  readonly sos: number;
  readonly eos: number;
  readonly dtype: WeightDtype;
  #m: Model | undefined;

  /** @internal use `reference.gruSeq2seq(...)` */
  constructor(m: Model, sos: number, eos: number, dtype: WeightDtype) {
    this.dtype = dtype;
    this.hiddenSize = m.dec.H;
    this.sos = sos;
    this.eos = eos;
    this.#m = m;
  }

  #live(): Model {
    if (!this.#m) throw new Error('gruSeq2seq: this model was disposed');
    return this.#m;
  }

  /** Greedy decoding (one sentence, or a batch: see the runtime's `greedyDecode`). */
  greedyDecode(ids: ArrayLike<number>, options: { maxLength: number; lengths?: ArrayLike<number> }): GreedyResult;
  greedyDecode(ids: readonly ArrayLike<number>[] | { data: Int32Array | readonly number[]; shape: readonly number[] }, options: { maxLength: number; lengths?: ArrayLike<number> }): GreedyResult[];
  greedyDecode(ids: unknown, options: { maxLength: number; lengths?: ArrayLike<number> }): GreedyResult | GreedyResult[] {
    const m = this.#live();
    const opts = checkOptions('options', options, ['maxLength', 'lengths'], 'greedyDecode');
    const maxLength = checkInteger('options.maxLength', opts['maxLength'], 1);
    const { list, batched } = sentencesOf(ids, opts['lengths'], m.vin);
    const encoded = list.map((s) => encode(m, s));
    const dec = step64(m, encoded.map((e) => e.source), list.map((_, b) => b), encoded.map((e) => e.hidden));
    const results = greedySearch(dec, list.map((s) => s.length), m.dec.V, this.sos, this.eos, maxLength);
    return batched ? results : results[0]!;
  }

  /** Beam search over one sentence (see the runtime's `beamSearch` for the rule). */
  beamSearch(ids: ArrayLike<number>, options: { beamSize: number; maxLength: number; lengthPenalty?: number }): BeamHypothesis[] {
    const m = this.#live();
    const opts = checkOptions('options', options, ['beamSize', 'maxLength', 'lengthPenalty'], 'beamSearch');
    const beamSize = checkInteger('options.beamSize', opts['beamSize'], 1);
    const maxLength = checkInteger('options.maxLength', opts['maxLength'], 1);
    const lengthPenalty = checkFinite('options.lengthPenalty', opts['lengthPenalty'], 0);
    if (lengthPenalty < 0) throw new RangeError(`options.lengthPenalty must be ≥ 0, received ${lengthPenalty}`);
    const sentence = sentencesOf(ids, undefined, m.vin);
    if (sentence.batched) throw new TypeError('beamSearch: ids must be one sentence (an array of token ids)');
    const { source, hidden } = encode(m, sentence.list[0]!);
    return beamSearch(step64(m, [source], [0], [hidden]), source.length, m.dec.V, this.sos, this.eos, { beamSize, maxLength, lengthPenalty });
  }

  /** Drops the weights. Idempotent. */
  dispose(): void {
    this.#m = undefined;
  }
}

/** The tutorial's EncoderRNN + AttnDecoderRNN: the twin of `runtime.gruSeq2seq`. */
export function gruSeq2seq(config: ReferenceGruSeq2seqConfig): ReferenceGruSeq2seq {
  const where = 'gruSeq2seq';
  const cfg = checkOptions('config', config, ['encoder', 'decoder', 'weights', 'encoderPrefix', 'decoderPrefix', 'sos', 'eos', 'dtype'], where);
  const dtype = checkWeightDtype(where, 'config.dtype', cfg['dtype']);
  const joint = cfg['weights'] !== undefined;
  if (joint && (cfg['encoder'] !== undefined || cfg['decoder'] !== undefined)) throw new TypeError(`${where}: give either weights (one state_dict) or encoder and decoder, not both`);
  if (!joint && (cfg['encoder'] === undefined || cfg['decoder'] === undefined)) throw new TypeError(`${where}: needs encoder and decoder (the EncoderRNN's and AttnDecoderRNN's state_dicts) or weights (both under prefixes)`);
  const encPrefix = modulePrefix((cfg['encoderPrefix'] ?? (joint ? 'encoder.' : '')) as string);
  const decPrefix = (cfg['decoderPrefix'] ?? (joint ? 'decoder.' : '')) as string;
  const encAll = (joint ? cfg['weights'] : cfg['encoder']) as Record<string, ReferenceTensor>;
  const probe = encAll?.[`${encPrefix}embedding.weight`];
  const [vin, H] = probe && probe.shape.length === 2 ? (probe.shape as [number, number]) : [1, 1];
  const w = namedWeights(where, encAll, encPrefix, { 'embedding.weight': [vin, H], ...gruShapes64(H, H, 'gru.') });
  const dec = decoderParams('attnDecoderRNN', joint ? cfg['weights'] : cfg['decoder'], decPrefix, dtype);
  if (dec.H !== H) throw new RangeError(`${where}: the decoder's hidden size ${dec.H} differs from the encoder's ${H}`);
  const sos = checkInteger(`${where}: sos`, cfg['sos'], 0, dec.V - 1);
  const eos = checkInteger(`${where}: eos`, cfg['eos'], 0, dec.V - 1);
  return new ReferenceGruSeq2seq({ emb: w['embedding.weight']!, vin, gru: gruParams(where, w, 'gru.', H, H, dtype), dec }, sos, eos, dtype);
}
