/**
 * The contract between a causal language model and the generation layer (`generate`, `stream`,
 * `chat`, `createChatSession`): a model that appends ids to a cache and returns next-token logits.
 * The decoder-only model families implement `CausalLM`; the generation layer only ever calls
 * `createCache` and `forward`, and reads the tokenizer, the special tokens and the chat template.
 */
import type { TextTokenizer } from '../tokenizer.js';

/** The element types of a cache's keys and values: f32, IEEE half, int8 with an f32 scale per position and kv head. */
export type KVDtype = 'f32' | 'f16' | 'q8';

/** The key/value cache of one sequence: the positions the model has already seen. */
export interface CausalLMCache {
  /** Positions held (ids fed so far, minus truncation). */
  readonly length: number;
  /** Positions it can hold; a `forward` that would exceed it is an error of the model. */
  readonly maxLength: number;
  /** Forget every position (length 0); the memory is kept. */
  reset(): void;
  /** Keep the first `length` positions (0 ≤ length ≤ this.length). */
  truncate(length: number): void;
  /**
   * Whether truncate(length) can keep them (a cache that drops old positions, as sliding-window
   * layers do, cannot go back before them); absent means always. Chat sessions that cannot keep
   * the shared prefix run the whole conversation again.
   */
  canTruncate?(length: number): boolean;
  /** Free the memory; the cache is unusable afterwards. */
  dispose(): void;
  /** Bytes of memory held. */
  readonly bytes: number;
}

export interface CausalLM {
  readonly vocabSize: number;
  /** The model's position limit. */
  readonly maxLength: number;
  readonly tokenizer: TextTokenizer | undefined;
  /** End-of-sequence ids (generation_config.json, else config.json). */
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId: number | undefined;
  /** tokenizer_config.json's `chat_template`, or chat_template.jinja. */
  readonly chatTemplate: string | undefined;
  /** bos_token, eos_token, … as strings, for the chat template. */
  readonly specialTokens: Record<string, string>;
  createCache(options?: { maxLength?: number; kvDtype?: KVDtype }): CausalLMCache;
  /**
   * Appends `ids` to the cache (a prefill of many ids in one call, or one id) and returns the logits
   * of the last new position, `[V]` in a fresh Float32Array (every new position, `[n, V]`, with
   * `allLogits`). Generation always passes a cache; `options` and `cache` are optional in the type only so that a
   * model whose forward also runs without one (CausalLMModel's) fits this interface as it stands.
   */
  forward(ids: readonly number[], options?: { cache?: CausalLMCache; allLogits?: boolean }): { logits: { data: Float32Array; shape: number[] } };
}

/** One streamed step: a generated token and the text it completed (possibly ''). */
export interface GenerationEvent {
  /**
   * The generated id; `null` only for a last event carrying text that was held back when generation
   * ended (the possible start of a stop string, or an incomplete character).
   */
  token: number | null;
  /** New text: whole characters only; the pieces of a run concatenate to its `text`. */
  text: string;
}

export interface GenerateOptions {
  /** New tokens at most (default 256). */
  maxNewTokens?: number;
  /** 0 (the default) picks the most likely token; > 0 samples from softmax(logits / temperature). */
  temperature?: number;
  /** Sampling keeps the tokens whose logit is at least the k-th largest (0: off). */
  topK?: number;
  /** Sampling keeps the most likely tokens whose probabilities add up to at least topP (1: off). */
  topP?: number;
  /** Sampling drops tokens less likely than minP × the most likely one's probability (0: off). */
  minP?: number;
  /** transformers' repetition penalty over the prompt's and the generated ids (1: off). */
  repetitionPenalty?: number;
  /** OpenAI's frequency penalty: minus penalty × count, per generated id (0: off). */
  frequencyPenalty?: number;
  /** OpenAI's presence penalty: minus penalty once per id already generated (0: off). */
  presencePenalty?: number;
  /** Seeds the sampler: the same seed and logits give the same tokens. */
  seed?: number;
  /** Strings that end generation; matched in the text across token boundaries and left out of it. */
  stop?: string | readonly string[];
  /** End-of-sequence id(s); default `model.eosTokenIds`. `[]` generates to the length limit. */
  eosTokenId?: number | readonly number[];
  /** Aborting ends generation with finishReason 'abort' and the partial result. */
  signal?: AbortSignal;
  /** Added to the logits of the given ids before anything else (`-Infinity` bans a token). */
  logitBias?: Readonly<Record<number, number>>;
  /** A cache to append to (and leave holding the sequence); without it, one is made and disposed. */
  cache?: CausalLMCache;
  /** Positions of the cache made for this call (default the model's). */
  maxLength?: number;
  /**
   * The element type of the keys and values of the cache made for this call (default the model's,
   * loadModel's `kvDtype`): 'f32', 'f16' (half the bytes) or 'q8' (int8 with a scale per position
   * and kv head: about a quarter). A passed `cache` has its own.
   */
  kvDtype?: KVDtype;
  /** Called with each event, as `stream` yields them. */
  onToken?: (event: GenerationEvent) => void;
}

export type FinishReason = 'eos' | 'length' | 'stop' | 'abort';

export interface GenerationTimings {
  /** Wall time of the prompt's forward pass. */
  prefillMs: number;
  /** Ids in that forward pass. */
  prefillTokens: number;
  /** Time computing tokens after the prefill: each token's forward pass, logits processing and sampling (the event loop's turns excluded). */
  decodeMs: number;
  /** Generated tokens per second of decodeMs (0 when none). */
  tokensPerSecond: number;
  /** Per generated token, the time it took (the first one's is only its sampling: its forward pass is the prefill). */
  perTokenMs: number[];
}

export interface GenerateResult {
  /** The new text (the stop string and whatever followed it left out). */
  text: string;
  /** The new ids (an end-of-sequence id left out). */
  tokens: number[];
  finishReason: FinishReason;
  timings: GenerationTimings;
  /** Why generation ended early, when the reason alone does not say (e.g. the cache is full). */
  note?: string;
}

export interface StreamResult extends AsyncIterable<GenerationEvent> {
  /** The final result, as `generate` gives it. */
  readonly result: Promise<GenerateResult>;
}

export interface ChatMessage {
  role: string;
  content: string;
  [field: string]: unknown;
}

export interface ChatResult extends GenerateResult {
  message: { role: 'assistant'; content: string };
}

/** Variables the chat template reads besides the messages (e.g. Qwen3's `enable_thinking: false`), as transformers' apply_chat_template takes them. */
export type TemplateVariables = Record<string, unknown>;

export type ChatOptions = GenerateOptions & { templateVariables?: TemplateVariables };

export interface ChatSessionOptions {
  /** A system message that opens the conversation. */
  system?: string;
  /** Positions of the session's cache (default the model's). */
  maxLength?: number;
  /** The element type of the session cache's keys and values (default the model's): 'f32', 'f16' or 'q8'. */
  kvDtype?: KVDtype;
  /** Variables the chat template reads besides the messages (e.g. `{ enable_thinking: false }`). */
  templateVariables?: TemplateVariables;
}

/** Options of one turn: a session owns its cache. */
export type SendOptions = Omit<GenerateOptions, 'cache' | 'maxLength' | 'kvDtype'>;
