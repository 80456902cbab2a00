/**
 * The options of generate / stream / chat, checked once before any work: an unknown name is a
 * TypeError that suggests the name meant (transformers' and OpenAI's spellings included), a bad value
 * a TypeError or RangeError that names the option, what it takes and what it received.
 */
import { describe } from '../../engine/validate.js';
import type { CausalLM, CausalLMCache, GenerateOptions, GenerationEvent, KVDtype } from './types.js';
import { editDistance } from '../../reference/names.js';

export const GENERATE_OPTIONS = [
  'maxNewTokens',
  'temperature',
  'topK',
  'topP',
  'minP',
  'repetitionPenalty',
  'frequencyPenalty',
  'presencePenalty',
  'seed',
  'stop',
  'eosTokenId',
  'signal',
  'logitBias',
  'cache',
  'maxLength',
  'kvDtype',
  'onToken',
] as const;

export const DEFAULT_MAX_NEW_TOKENS = 256;

/** Options as the generation loop uses them. */
export interface ResolvedOptions {
  maxNewTokens: number;
  /** 0: greedy. */
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  frequencyPenalty: number;
  presencePenalty: number;
  seed: number | undefined;
  stop: string[];
  eos: ReadonlySet<number>;
  signal: AbortSignal | undefined;
  logitBias: [number, number][];
  cache: CausalLMCache | undefined;
  maxLength: number | undefined;
  kvDtype: KVDtype | undefined;
  onToken: ((event: GenerationEvent) => void) | undefined;
}

const fold = (name: string): string => name.toLowerCase().replace(/[_-]/g, '');

/**
 * Names users bring from transformers' generate() and OpenAI's API (folded), and the advice for each.
 * Names that fold to one of ours (max_new_tokens, top_k, repetition_penalty, logit_bias,
 * eos_token_id …) need no entry: they are suggested by the fold.
 */
const FOREIGN: Record<string, string> = {
  maxlength: "transformers' max_length counts the prompt too: use maxNewTokens for the new tokens (maxLength here is the size of the cache)",
  maxtokens: 'did you mean maxNewTokens?',
  maxcompletiontokens: 'did you mean maxNewTokens?',
  dosample: 'sampling is on when temperature > 0 (do_sample: false is temperature: 0, the default)',
  stopstrings: 'did you mean stop?',
  stopsequences: 'did you mean stop?',
  randomseed: 'did you mean seed?',
  generator: 'pass seed (a number) for reproducible sampling',
  streamer: 'use stream(model, prompt, options) or the onToken option',
  numbeams: 'beam search is not supported: generation is greedy (temperature 0) or sampled',
  numreturnsequences: 'one sequence per call: call again with another seed',
  n: 'one sequence per call: call again with another seed',
  minnewtokens: 'min_new_tokens is not supported (logitBias: { [eosId]: -Infinity } bans the end-of-sequence token)',
  minlength: 'min_length is not supported (logitBias: { [eosId]: -Infinity } bans the end-of-sequence token)',
  padtokenid: 'not needed: one sequence at a time, no padding',
  usecache: 'the cache is always used (pass cache to reuse one between calls)',
  abortsignal: 'did you mean signal?',
  ontoken: 'did you mean onToken?',
};


function hint(key: string, known: readonly string[]): string {
  const folded = fold(key);
  const foreign = FOREIGN[folded];
  if (foreign !== undefined) return foreign; // before the fold: max_length folds to our maxLength, which means something else
  const same = known.find((name) => fold(name) === folded);
  if (same !== undefined) return `did you mean ${same}?`;
  let best = '';
  let bestDistance = Infinity;
  for (const name of known) {
    const d = editDistance(folded, fold(name));
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? `did you mean ${best}?` : `its options are ${known.join(', ')}`;
}

/** `value` as an options object whose every key is one of `known`. */
export function checkOptionNames(fn: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new TypeError(`${fn}: options must be an object, received ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if ((value as Record<string, unknown>)[key] === undefined) continue; // { topK: undefined } is no option
    if (!known.includes(key)) throw new TypeError(`options.${key} is not an option of ${fn}; ${hint(key, known)}`);
  }
  return value as Record<string, unknown>;
}

function number(fn: string, name: string, value: unknown, fallback: number, min: number, max: number, what: string, open: { min?: boolean } = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${fn}: options.${name} must be a number (${what}), received ${describe(value)}`);
  if (!(open.min ? value > min : value >= min) || !(value <= max) || !Number.isFinite(value)) {
    throw new RangeError(`${fn}: options.${name} must be ${what}, received ${value}`);
  }
  return value;
}

function integer(fn: string, name: string, value: unknown, fallback: number, min: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${fn}: options.${name} must be an integer (${what}), received ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${fn}: options.${name} must be ${what}, received ${value}`);
  return value;
}

function tokenId(fn: string, name: string, value: unknown, vocabSize: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= vocabSize) {
    throw new RangeError(`${fn}: options.${name} must be a token id, an integer in [0, ${vocabSize - 1}], received ${describe(value)}`);
  }
  return value;
}

export function isCache(value: unknown): value is CausalLMCache {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return typeof c.length === 'number' && typeof c.maxLength === 'number' && typeof c.truncate === 'function' && typeof c.reset === 'function' && typeof c.dispose === 'function';
}

/** Checks every option against the model; `known` narrows the names (a chat session owns its cache). */
export function resolveOptions(fn: string, model: CausalLM, options: unknown, known: readonly string[] = GENERATE_OPTIONS): ResolvedOptions {
  const o = checkOptionNames(fn, options, known) as GenerateOptions & Record<string, unknown>;
  const V = model.vocabSize;

  const maxNewTokens = integer(fn, 'maxNewTokens', o.maxNewTokens, DEFAULT_MAX_NEW_TOKENS, 1, Number.MAX_SAFE_INTEGER, 'an integer ≥ 1');
  const temperature = number(fn, 'temperature', o.temperature, 0, 0, Infinity, 'a finite number ≥ 0 (0 picks the most likely token)');
  const topK = integer(fn, 'topK', o.topK, 0, 0, Number.MAX_SAFE_INTEGER, 'an integer ≥ 0 (0 keeps every token)');
  const topP = number(fn, 'topP', o.topP, 1, 0, 1, 'a number in (0, 1] (1 keeps every token)', { min: true });
  const minP = number(fn, 'minP', o.minP, 0, 0, 1, 'a number in [0, 1] (0 keeps every token)');
  const repetitionPenalty = number(fn, 'repetitionPenalty', o.repetitionPenalty, 1, 0, Infinity, 'a finite number > 0 (1 is no penalty, > 1 discourages repeats)', { min: true });
  const frequencyPenalty = number(fn, 'frequencyPenalty', o.frequencyPenalty, 0, -2, 2, 'a number in [-2, 2] (0 is no penalty)');
  const presencePenalty = number(fn, 'presencePenalty', o.presencePenalty, 0, -2, 2, 'a number in [-2, 2] (0 is no penalty)');
  if (o.temperature === undefined) {
    const sampling = (['topK', 'topP', 'minP'] as const).filter((k) => o[k] !== undefined);
    if (sampling.length > 0) {
      throw new TypeError(`${fn}: ${sampling.join(' and ')} ${sampling.length > 1 ? 'apply' : 'applies'} only when sampling: pass temperature > 0 (e.g. temperature: 1) to sample; without it generation is greedy`);
    }
  }

  let seed: number | undefined;
  if (o.seed !== undefined) {
    if (typeof o.seed !== 'number' || !Number.isSafeInteger(o.seed)) throw new TypeError(`${fn}: options.seed must be an integer, received ${describe(o.seed)}`);
    seed = o.seed;
  }

  let stop: string[] = [];
  if (o.stop !== undefined) {
    const list: unknown[] = typeof o.stop === 'string' ? [o.stop] : Array.isArray(o.stop) ? o.stop : [o.stop];
    if (!Array.isArray(o.stop) && typeof o.stop !== 'string') throw new TypeError(`${fn}: options.stop must be a string or an array of strings, received ${describe(o.stop)}`);
    list.forEach((s, i) => {
      const label = typeof o.stop === 'string' ? 'stop' : `stop[${i}]`;
      if (typeof s !== 'string') throw new TypeError(`${fn}: options.${label} must be a string, received ${describe(s)}`);
      if (s === '') throw new RangeError(`${fn}: options.${label} must not be empty`);
    });
    stop = list as string[];
    if (stop.length > 0 && model.tokenizer === undefined) throw new TypeError(`${fn}: stop strings need the model's tokenizer (tokenizer.json), which this model does not have`);
  }

  let eosList: readonly number[];
  if (o.eosTokenId === undefined) eosList = model.eosTokenIds;
  else if (typeof o.eosTokenId === 'number') eosList = [tokenId(fn, 'eosTokenId', o.eosTokenId, V)];
  else if (Array.isArray(o.eosTokenId)) eosList = o.eosTokenId.map((id, i) => tokenId(fn, `eosTokenId[${i}]`, id, V));
  else throw new TypeError(`${fn}: options.eosTokenId must be a token id or an array of them, received ${describe(o.eosTokenId)}`);

  const signal = o.signal;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof (signal as AbortSignal).aborted !== 'boolean')) {
    throw new TypeError(`${fn}: options.signal must be an AbortSignal (new AbortController().signal), received ${describe(signal)}`);
  }

  const logitBias: [number, number][] = [];
  if (o.logitBias !== undefined) {
    if (typeof o.logitBias !== 'object' || o.logitBias === null || Array.isArray(o.logitBias) || o.logitBias instanceof Map) {
      throw new TypeError(`${fn}: options.logitBias must be an object { [tokenId]: bias }, received ${describe(o.logitBias)}`);
    }
    for (const [key, bias] of Object.entries(o.logitBias)) {
      const id = /^(0|[1-9]\d*)$/.test(key) ? Number(key) : NaN;
      if (!(id < V)) throw new RangeError(`${fn}: options.logitBias keys must be token ids, integers in [0, ${V - 1}], received ${JSON.stringify(key)}`);
      if (typeof bias !== 'number' || Number.isNaN(bias) || bias === Infinity) {
        throw new TypeError(`${fn}: options.logitBias[${key}] must be a finite number or -Infinity (which bans the token), received ${describe(bias)}`);
      }
      logitBias.push([id, bias]);
    }
  }

  let cache: CausalLMCache | undefined;
  if (o.cache !== undefined) {
    if (!isCache(o.cache)) throw new TypeError(`${fn}: options.cache must be a cache from model.createCache(), received ${describe(o.cache)}`);
    cache = o.cache;
  }
  let maxLength: number | undefined;
  if (o.maxLength !== undefined) {
    maxLength = integer(fn, 'maxLength', o.maxLength, 0, 1, model.maxLength, `an integer in [1, ${model.maxLength}] (the model's position limit)`);
    if (cache !== undefined) throw new TypeError(`${fn}: pass cache or maxLength, not both (maxLength sizes the cache made when none is passed; this cache holds ${cache.maxLength})`);
  }

  const kvDtype = checkKVDtype(fn, 'options.kvDtype', o.kvDtype);
  if (kvDtype !== undefined && cache !== undefined) throw new TypeError(`${fn}: pass cache or kvDtype, not both (kvDtype is the element type of the cache made when none is passed)`);

  const onToken = o.onToken;
  if (onToken !== undefined && typeof onToken !== 'function') throw new TypeError(`${fn}: options.onToken must be a function, received ${describe(onToken)}`);

  return {
    maxNewTokens,
    temperature,
    topK,
    topP,
    minP,
    repetitionPenalty,
    frequencyPenalty,
    presencePenalty,
    seed,
    stop,
    eos: new Set(eosList),
    signal,
    logitBias,
    cache,
    maxLength,
    kvDtype,
    onToken,
  };
}

/** A cache element type option: undefined, or 'f32', 'f16' or 'q8'. */
export function checkKVDtype(fn: string, name: string, value: unknown): KVDtype | undefined {
  if (value === undefined || value === 'f32' || value === 'f16' || value === 'q8') return value;
  throw new TypeError(`${fn}: ${name} must be 'f32', 'f16' or 'q8' (the element type of the cache's keys and values), received ${describe(value)}`);
}
