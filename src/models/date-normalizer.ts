/**
 * The shipped date normaliser (models/date-normalizer): free-form dates ("Sunday, November 22,
 * 2026", "22.11.2026", "2026년 11월 22일", …) → ISO yyyy-mm-dd, with the attention of every output
 * character over the input characters. The model is the PyTorch seq2seq tutorial's EncoderRNN +
 * AttnDecoderRNN (tools/train_date_normalizer.py), run by `runtime.gruSeq2seq`, or by the plain-JS
 * twin when given the `reference` module instead of a runtime.
 *
 * Every result says whether to trust it: `valid` / `reason` from rules that do not depend on the
 * model (date-check.ts: a calendar date in the model's years that agrees with what the input
 * spells out) and `confidence`, the lowest probability of any chosen output token.
 *
 * The files are found beside the package (`new URL('../../models/date-normalizer/…', import.meta.url)`:
 * read with fs for file: URLs, fetched otherwise), or given as URLs, bytes or objects.
 */
import { checkDate, MODEL_YEARS, type YearRange } from './date-check.js';
import { readSafetensors } from '../engine/safetensors.js';
import { distUrl } from '../engine/load.js';
import { checkWeightDtype, type DtypeOption, type WeightDtype } from '../engine/quantized.js';

/** The token conventions of a model (models/date-normalizer/vocab.json). */
export interface DateNormalizerVocab {
  /** Input tokens by index: one character each, plus markers such as "<sos>" / "<eos>". */
  input: string[];
  /** Output tokens by index. */
  output: string[];
  /** Output index of the decoder's start token. */
  sos: number;
  /** Output index of the end token (decoding stops once it is emitted). */
  eos: number;
  /** Input index appended after the characters when `appendInputEos`. */
  inputEos: number;
  appendInputEos: boolean;
  /** At most this many decoder steps. */
  maxLength: number;
  /** The first and last year the model was trained on (default 1900, 2099): answers outside are invalid. */
  minYear?: number;
  maxYear?: number;
  [key: string]: unknown;
}

export interface DateNormalizerOptions {
  /** weights.safetensors: a URL, its bytes, or the state_dict (`encoder.*`, `decoder.*`). Default: the shipped model. */
  weights?: URL | string | ArrayBuffer | Uint8Array | Record<string, { data: Float32Array; shape: readonly number[] }>;
  /** vocab.json: a URL or the parsed object. Default: the shipped model's. */
  vocab?: URL | string | DateNormalizerVocab;
  /**
   * The dtype of the model's Linear weights (the GRUs, the attention's Wa and Ua, the output layer):
   * 'f32' (default, or 'fp32'), 'q8' or 'q4'; embeddings and biases stay f32. On 2,000 random dates
   * the shipped model is as accurate in q8 as in f32 (docs/accuracy.md gives the figures for each).
   */
  dtype?: DtypeOption;
}

export interface NormalizeOptions {
  /** Beam search with this many beams (1 or absent: greedy decoding). */
  beamSize?: number;
}

export interface Normalized {
  /** The output text (the output tokens before the end token), e.g. "2026-11-22". */
  output: string;
  /** The output token ids, ending with the end token when it was emitted. */
  tokens: number[];
  /** The output tokens as strings (row labels of the attention), "<eos>" included. */
  outputTokens: string[];
  /** [T, S] row-major: row t = the attention weights of output token t over the input tokens. */
  attention: Float32Array;
  /** The input characters as strings, plus the end marker (column labels of the attention). */
  inputTokens: string[];
  /** Σ of the log-probabilities of the output tokens. */
  score: number;
  /** Greedy decoding only: [T, V] the log-probabilities of every step over the output vocabulary. */
  logProbs?: Float32Array;
  /**
   * Whether the answer can be trusted by rules independent of the model (src/models/date-check.ts): the
   * output is a calendar date yyyy-mm-dd inside the model's years, the input says a year, month and
   * day in a readable order, and the output agrees with them (and with a weekday the input names).
   */
  valid: boolean;
  /** Only when not valid: why, as a sentence for users, e.g. `the input's month 13 does not exist`. */
  reason?: string;
  /**
   * The lowest probability the model gave any token of its chosen output (<eos> included), in [0, 1]:
   * min over steps t of exp(log p(token_t)). Near 1: every character was clear-cut; low: the model
   * was guessing somewhere (the README's trust table gives a threshold).
   */
  confidence: number;
}

export interface DateNormalizer {
  readonly vocab: DateNormalizerVocab;
  /** The dtype of the Linear weights (options.dtype; 'fp32' reads 'f32'). */
  readonly dtype: WeightDtype;
  normalize(text: string, options?: NormalizeOptions): Normalized;
  /** Greedy: one batched decode, each text exactly as alone; with a beam: one search per text. */
  normalizeBatch(texts: readonly string[], options?: NormalizeOptions): Normalized[];
  /** Frees the model's weights (the runtime stays usable). Idempotent. */
  dispose(): void;
}

interface Decoded {
  tokens: number[];
  attentions: Float32Array;
  /** Greedy: [T, V]. */
  logProbs?: Float32Array;
  /** Beam: the hypothesis's score and the log-probability of each of its tokens. */
  score?: number;
  tokenLogProbs?: number[];
}

interface Seq2seqModel {
  greedyDecode(ids: unknown, options: { maxLength: number }): unknown;
  beamSearch(ids: ArrayLike<number>, options: { beamSize: number; maxLength: number }): Decoded[];
  dispose(): void;
}

/** A runtime (`await init()`) or the plain-JS `reference` module: anything with `gruSeq2seq`. */
export interface Seq2seqHost {
  gruSeq2seq(config: { weights: Record<string, { data: Float32Array; shape: number[] }>; sos: number; eos: number; dtype: WeightDtype }): unknown;
}

const where = 'loadDateNormalizer';

async function readUrl(url: URL): Promise<Uint8Array> {
  if (url.protocol === 'file:') {
    // kept out of the static import graph, as in load.ts: browser bundles never see a Node builtin
    const fsName = 'node:fs/promises';
    const fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName)) as { readFile(path: URL): Promise<Uint8Array> };
    try {
      return await fs.readFile(url);
    } catch (error) {
      throw new Error(`${where}: cannot read ${url.href}: ${(error as Error).message}`);
    }
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`${where}: cannot fetch ${url.href}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new Error(`${where}: cannot fetch ${url.href}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  return new Uint8Array(await response.arrayBuffer());
}

const isUrl = (x: unknown): x is URL | string => typeof x === 'string' || x instanceof URL;

async function weightsOf(source: DateNormalizerOptions['weights']): Promise<Record<string, { data: Float32Array; shape: number[] }>> {
  if (source === undefined || isUrl(source)) {
    const url = source === undefined ? new URL('../../models/date-normalizer/weights.safetensors', import.meta.url) : new URL(source, distUrl());
    return readSafetensors(await readUrl(url));
  }
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) return readSafetensors(source);
  if (typeof source === 'object' && source !== null) return source as Record<string, { data: Float32Array; shape: number[] }>;
  throw new TypeError(`${where}: options.weights must be a URL, the bytes of a safetensors file or a state_dict, received ${typeof source}`);
}

async function vocabOf(source: DateNormalizerOptions['vocab']): Promise<DateNormalizerVocab> {
  let vocab: unknown = source;
  if (source === undefined || isUrl(source)) {
    const url = source === undefined ? new URL('../../models/date-normalizer/vocab.json', import.meta.url) : new URL(source, distUrl());
    const text = new TextDecoder().decode(await readUrl(url));
    try {
      vocab = JSON.parse(text);
    } catch (error) {
      throw new Error(`${where}: ${url.href} is not JSON: ${(error as Error).message}`);
    }
  }
  const v = vocab as Partial<DateNormalizerVocab> | null;
  const strings = (x: unknown): boolean => Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === 'string');
  const index = (x: unknown, n: number): boolean => Number.isInteger(x) && (x as number) >= 0 && (x as number) < n;
  if (typeof v !== 'object' || v === null || !strings(v.input) || !strings(v.output)) throw new TypeError(`${where}: the vocabulary needs input and output (arrays of token strings)`);
  if (!index(v.sos, v.output!.length) || !index(v.eos, v.output!.length)) throw new RangeError(`${where}: the vocabulary's sos and eos must be indices of output`);
  if (!Number.isInteger(v.maxLength) || v.maxLength! < 1) throw new RangeError(`${where}: the vocabulary's maxLength must be a positive integer`);
  for (const key of ['minYear', 'maxYear'] as const) {
    if (v[key] !== undefined && !Number.isInteger(v[key])) throw new TypeError(`${where}: the vocabulary's ${key} must be an integer year, received ${String(v[key])}`);
  }
  if ((v.minYear ?? MODEL_YEARS.minYear) > (v.maxYear ?? MODEL_YEARS.maxYear)) throw new RangeError(`${where}: the vocabulary's minYear must not be after its maxYear`);
  if (v.appendInputEos && !index(v.inputEos, v.input!.length)) throw new RangeError(`${where}: the vocabulary's inputEos must be an index of input`);
  return v as DateNormalizerVocab;
}

/**
 * Loads the date normaliser onto `runtime` (or onto the plain-JS twin: pass the `reference`
 * module) → `{ normalize, normalizeBatch, dispose }`.
 */
export async function loadDateNormalizer(runtime: Seq2seqHost, options: DateNormalizerOptions = {}): Promise<DateNormalizer> {
  if (typeof runtime !== 'object' || runtime === null || typeof (runtime as Seq2seqHost).gruSeq2seq !== 'function') {
    throw new TypeError(`${where}: expected a runtime (await init()) or the reference module`);
  }
  if (typeof options !== 'object' || options === null) throw new TypeError(`${where}: options must be an object`);
  for (const key of Object.keys(options)) if (!['weights', 'vocab', 'dtype'].includes(key)) throw new TypeError(`${where}: unknown option ${JSON.stringify(key)} (expected weights, vocab, dtype)`);
  const dtype = checkWeightDtype(where, 'options.dtype', options.dtype);
  const [weights, vocab] = await Promise.all([weightsOf(options.weights), vocabOf(options.vocab)]);
  const model = runtime.gruSeq2seq({ weights, sos: vocab.sos, eos: vocab.eos, dtype }) as Seq2seqModel;
  const charIds = new Map<string, number>();
  vocab.input.forEach((s, i) => {
    if ([...s].length === 1) charIds.set(s, i);
  });
  const eosLabel = vocab.appendInputEos ? vocab.input[vocab.inputEos]! : undefined;
  const years: YearRange = { minYear: vocab.minYear ?? MODEL_YEARS.minYear, maxYear: vocab.maxYear ?? MODEL_YEARS.maxYear };
  let disposed = false;

  const tokenize = (text: unknown, name: string): { text: string; ids: number[]; labels: string[] } => {
    if (typeof text !== 'string') throw new TypeError(`${name} must be a string, received ${text === null ? 'null' : typeof text}`);
    if (text.length === 0) throw new RangeError(`${name}: expected a non-empty date, received an empty string`);
    const ids: number[] = [];
    const labels: string[] = [];
    let i = 0;
    for (const ch of text) {
      const id = charIds.get(ch);
      if (id === undefined) throw new RangeError(`${name}: the character ${JSON.stringify(ch)} at position ${i} is not in the model's vocabulary`);
      ids.push(id);
      labels.push(ch);
      i++;
    }
    if (eosLabel !== undefined) {
      ids.push(vocab.inputEos);
      labels.push(eosLabel);
    }
    return { text, ids, labels };
  };

  const result = (d: Decoded, text: string, labels: string[]): Normalized => {
    const stop = d.tokens.indexOf(vocab.eos);
    const V = vocab.output.length;
    // log p of each chosen token: from the greedy [T, V] rows, or as the beam search kept them
    const chosen = d.tokenLogProbs ?? d.tokens.map((t, i) => d.logProbs![i * V + t]!);
    const score = d.score ?? chosen.reduce((a, x) => a + x, 0);
    const confidence = chosen.length === 0 ? 0 : Math.min(1, Math.max(0, Math.exp(Math.min(...chosen))));
    const output = (stop < 0 ? d.tokens : d.tokens.slice(0, stop)).map((t) => vocab.output[t]).join('');
    const check = checkDate(text, output, years);
    return {
      output,
      tokens: d.tokens,
      outputTokens: d.tokens.map((t) => vocab.output[t]!),
      attention: d.attentions,
      inputTokens: labels,
      score,
      ...(d.logProbs ? { logProbs: d.logProbs } : {}),
      valid: check.valid,
      ...(check.valid ? {} : { reason: check.reason }),
      confidence,
    };
  };

  const beamOf = (options: unknown): number => {
    if (options === undefined) return 1;
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object ({ beamSize })');
    for (const key of Object.keys(options)) if (key !== 'beamSize') throw new TypeError(`options: unknown option ${JSON.stringify(key)} (expected beamSize)`);
    const b = (options as NormalizeOptions).beamSize ?? 1;
    if (!Number.isInteger(b) || b < 1) throw new RangeError(`options.beamSize must be a positive integer, received ${String(b)}`);
    return b;
  };

  const live = (): void => {
    if (disposed) throw new Error('dateNormalizer: this model was disposed');
  };

  const decodeOne = ({ text, ids, labels }: { text: string; ids: number[]; labels: string[] }, beamSize: number): Normalized => {
    if (beamSize > 1) return result(model.beamSearch(ids, { beamSize, maxLength: vocab.maxLength })[0]!, text, labels);
    return result(model.greedyDecode(ids, { maxLength: vocab.maxLength }) as Decoded, text, labels);
  };

  return {
    vocab,
    dtype,
    normalize(text, options) {
      live();
      const beamSize = beamOf(options);
      return decodeOne(tokenize(text, 'text'), beamSize);
    },
    normalizeBatch(texts, options) {
      live();
      const beamSize = beamOf(options);
      if (!Array.isArray(texts)) throw new TypeError('texts must be an array of strings');
      const inputs = texts.map((t, i) => tokenize(t, `texts[${i}]`));
      if (inputs.length === 0) return [];
      if (beamSize > 1) return inputs.map((x) => decodeOne(x, beamSize));
      const decoded = model.greedyDecode(inputs.map((x) => x.ids), { maxLength: vocab.maxLength }) as Decoded[];
      return decoded.map((d, i) => result(d, inputs[i]!.text, inputs[i]!.labels));
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}
