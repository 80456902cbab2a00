/**
 * The generation loop over a CausalLM: prefill the prompt in one forward pass, then one token at a
 * time — process the logits, pick an id, decode the text it completes, hand it out, give the event
 * loop a turn, feed the id back — until an end-of-sequence id, a stop string, maxNewTokens, a full
 * cache or an abort.
 */
import { describe } from '../../engine/validate.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { buildProcessors, type ProcessorContext } from './processors.js';
import { argmax, randomSeed, sample, seededRandom } from './sampling.js';
import { IncrementalDecoder, StopMatcher } from './text.js';
import type { CausalLM, CausalLMCache, FinishReason, GenerateOptions, GenerateResult, GenerationEvent, KVDtype, StreamResult } from './types.js';
import { createYielder } from './yield.js';

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export function checkModel(fn: string, model: unknown): CausalLM {
  const m = model as Partial<CausalLM> | null;
  if (typeof m !== 'object' || m === null || typeof m.forward !== 'function' || typeof m.createCache !== 'function') {
    throw new TypeError(`${fn}: model must be a causal language model (with forward and createCache), received ${describe(model)}`);
  }
  if (!Number.isInteger(m.vocabSize) || m.vocabSize! < 1) throw new TypeError(`${fn}: model.vocabSize must be a positive integer, received ${describe(m.vocabSize)}`);
  return m as CausalLM;
}

/** The prompt as ids: a string through the model's tokenizer (with the special tokens it adds), or ids checked against the vocabulary. */
export function promptIds(fn: string, model: CausalLM, prompt: unknown): number[] {
  let ids: number[];
  if (typeof prompt === 'string') {
    if (model.tokenizer === undefined) throw new TypeError(`${fn}: this model has no tokenizer (tokenizer.json), so the prompt must be token ids, received a string`);
    ids = model.tokenizer.encode(prompt);
  } else if (Array.isArray(prompt) || prompt instanceof Int32Array || prompt instanceof Uint32Array) {
    ids = Array.from(prompt as ArrayLike<number>);
    const V = model.vocabSize;
    const bad = ids.findIndex((id) => typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= V);
    if (bad >= 0) throw new RangeError(`${fn}: prompt[${bad}] must be a token id, an integer in [0, ${V - 1}], received ${describe(ids[bad])}`);
  } else {
    throw new TypeError(`${fn}: prompt must be a string or an array of token ids, received ${describe(prompt)}`);
  }
  if (ids.length === 0) {
    if (model.bosTokenId === undefined) throw new RangeError(`${fn}: the prompt is empty (no tokens) and the model has no bos_token_id to start from`);
    ids = [model.bosTokenId];
  }
  return ids;
}

/** @internal What a run needs besides the options. */
export interface RunInput {
  fn: string;
  model: CausalLM;
  /** Ids to append to the cache. */
  ids: number[];
  options: ResolvedOptions;
  emit: (event: GenerationEvent) => void;
  /** Ids the cache already holds, when the caller knows them (for the repetition penalty). */
  history?: readonly number[];
  /** Another reason to stop (a stream whose reader left). */
  stopRequested?: () => boolean;
}

/** @internal The result and the ids this run fed into the cache (a chat session keeps them). */
export interface RunOutput {
  result: GenerateResult;
  fed: number[];
}

function logitsOf(fn: string, model: CausalLM, output: unknown): Float32Array {
  const data = (output as { logits?: { data?: unknown } } | undefined)?.logits?.data;
  if (!(data instanceof Float32Array)) throw new TypeError(`${fn}: model.forward must return { logits: { data: Float32Array, shape } }, received ${describe(data)} for logits.data`);
  if (data.length !== model.vocabSize) throw new RangeError(`${fn}: model.forward returned ${data.length} logits, expected the vocabulary size ${model.vocabSize} (the last position's)`);
  return data;
}

/** @internal The loop itself. */
export async function run(input: RunInput): Promise<RunOutput> {
  const { fn, model, ids, options: o, emit } = input;
  const ownCache = o.cache === undefined;
  const cache: CausalLMCache = o.cache ?? model.createCache(cacheOptions(o.maxLength, o.kvDtype));
  const yielder = createYielder();
  try {
    if (cache.length + ids.length > cache.maxLength) {
      throw new RangeError(
        `${fn}: the prompt is ${ids.length} tokens${cache.length > 0 ? ` after the ${cache.length} the cache holds` : ''}, more than the cache's ${cache.maxLength} positions` +
          (ownCache ? (o.maxLength !== undefined && o.maxLength < model.maxLength ? ` (pass a larger maxLength, up to the model's ${model.maxLength})` : ' (the model\'s limit)') : ''),
      );
    }
    const aborted = (): boolean => o.signal?.aborted === true || input.stopRequested?.() === true;
    const seen = new Set<number>(input.history);
    for (const id of ids) seen.add(id);
    const counts = new Map<number, number>();
    const context: ProcessorContext = { seen, counts };
    const chain = buildProcessors(o);
    const random = o.temperature > 0 ? seededRandom(o.seed ?? randomSeed()) : undefined;
    const decoder = new IncrementalDecoder(model.tokenizer);
    const stopper = new StopMatcher(o.stop);
    const fed: number[] = [];
    const tokens: number[] = [];
    const perTokenMs: number[] = [];
    let text = '';
    let decodeMs = 0;
    let prefillMs = 0;
    let note: string | undefined;
    const out = (token: number | null, piece: string): void => {
      text += piece;
      emit({ token, text: piece });
    };
    const rest = (): string => stopper.push(decoder.flush()) + stopper.flush();
    const forward = (step: number[]): Float32Array => {
      const logits = logitsOf(fn, model, model.forward(step, { cache }));
      for (const id of step) fed.push(id); // not push(...step): a long prompt would overflow the argument list
      return logits;
    };

    let finishReason: FinishReason;
    if (aborted()) finishReason = 'abort';
    else {
      const t0 = now();
      let logits = forward(ids);
      prefillMs = now() - t0;
      let stepStart = now();
      for (;;) {
        const scores = Float64Array.from(logits);
        for (const processor of chain) processor.apply(scores, context);
        const id = random === undefined ? argmax(scores) : sample(scores, random());
        const stepMs = now() - stepStart;
        decodeMs += stepMs;
        if (o.eos.has(id)) {
          finishReason = 'eos';
          break;
        }
        tokens.push(id);
        perTokenMs.push(stepMs);
        seen.add(id);
        counts.set(id, (counts.get(id) ?? 0) + 1);
        const piece = stopper.push(decoder.push(id));
        if (stopper.stopped) {
          out(id, piece);
          finishReason = 'stop';
          break;
        }
        if (tokens.length >= o.maxNewTokens || cache.length >= cache.maxLength) {
          if (tokens.length < o.maxNewTokens) {
            note = `the cache is full: its ${cache.maxLength} positions hold the prompt and the generated tokens; pass a larger maxLength (up to the model's ${model.maxLength}) or a shorter prompt`;
          }
          out(id, piece + rest()); // the last token carries what was held back
          finishReason = stopper.stopped ? 'stop' : 'length';
          break;
        }
        out(id, piece);
        await yielder.next();
        if (aborted()) {
          finishReason = 'abort';
          break;
        }
        stepStart = now();
        logits = forward([id]);
      }
    }
    if (finishReason === 'eos' || finishReason === 'abort') {
      const tail = rest();
      if (tail !== '') out(null, tail);
      if (stopper.stopped) finishReason = 'stop';
    }
    const result: GenerateResult = {
      text,
      tokens,
      finishReason,
      timings: { prefillMs, prefillTokens: fed.length > 0 ? ids.length : 0, decodeMs, tokensPerSecond: tokens.length > 0 && decodeMs > 0 ? tokens.length / (decodeMs / 1000) : 0, perTokenMs },
    };
    if (note !== undefined) result.note = note;
    return { result, fed };
  } finally {
    yielder.close();
    if (ownCache) cache.dispose();
  }
}

/**
 * Generates a continuation of `prompt` (a string, tokenized with the model's special tokens, or
 * token ids). Resolves with the new text and ids, why it ended, and timings; an abort resolves with
 * what was generated so far.
 */
export async function generate(model: CausalLM, prompt: string | readonly number[], options?: GenerateOptions): Promise<GenerateResult> {
  checkModel('generate', model);
  const o = resolveOptions('generate', model, options);
  const ids = promptIds('generate', model, prompt);
  return (await run({ fn: 'generate', model, ids, options: o, emit: (e) => o.onToken?.(e) })).result;
}

/** @internal A stream over a run that `start` begins with an emit and a stop flag. */
export function streamOf(start: (emit: (e: GenerationEvent) => void, stopRequested: () => boolean) => Promise<GenerateResult>): StreamResult {
  const queue: GenerationEvent[] = [];
  let finished = false;
  let failed = false;
  let failure: unknown;
  let readerLeft = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const result = start(
    (event) => {
      queue.push(event);
      notify();
    },
    () => readerLeft,
  ).then(
    (r) => {
      finished = true;
      notify();
      return r;
    },
    (e: unknown) => {
      finished = failed = true;
      failure = e;
      notify();
      throw e;
    },
  );
  result.catch(() => {}); // a reader of the events only still sees the error, from next()
  let reported = false;
  const iterator: AsyncIterator<GenerationEvent> = {
    async next() {
      for (;;) {
        if (queue.length > 0) return { value: queue.shift()!, done: false };
        if (finished) {
          if (failed && !reported) {
            reported = true;
            throw failure;
          }
          return { value: undefined, done: true };
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return() {
      readerLeft = true; // leaving the loop early stops generation (finishReason 'abort')
      return { value: undefined, done: true };
    },
  };
  return { result, [Symbol.asyncIterator]: () => iterator };
}

/**
 * Like `generate`, as an async iterable of `{ token, text }` events (text pieces hold whole
 * characters; concatenated they are the result's text); `result` resolves with what `generate`
 * gives. Leaving the loop early (break) stops generation. Bad arguments throw here, synchronously.
 */
export function stream(model: CausalLM, prompt: string | readonly number[], options?: GenerateOptions): StreamResult {
  checkModel('stream', model);
  const o = resolveOptions('stream', model, options);
  const ids = promptIds('stream', model, prompt);
  return streamOf(async (emit, stopRequested) => {
    const { result } = await run({
      fn: 'stream',
      model,
      ids,
      options: o,
      emit: (e) => {
        o.onToken?.(e);
        emit(e);
      },
      stopRequested,
    });
    return result;
  });
}

/** createCache's options for a cache generation makes: only those given (a model's own createCache may take no others). */
export function cacheOptions(maxLength: number | undefined, kvDtype: KVDtype | undefined): { maxLength?: number; kvDtype?: KVDtype } | undefined {
  if (maxLength === undefined && kvDtype === undefined) return undefined;
  return { ...(maxLength === undefined ? {} : { maxLength }), ...(kvDtype === undefined ? {} : { kvDtype }) };
}
