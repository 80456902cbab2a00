// A fake causal language model for the generation tests: deterministic logits from a random table
// indexed by the last two ids and the position (so a cache that holds the wrong ids, or a token fed
// twice or not at all, changes the output), over a tiny byte-level BPE tokenizer built here (256
// byte tokens, three merges, ChatML's special tokens), run by the real TextTokenizer.
import { Tokenizer } from '@huggingface/tokenizers';
import { TextTokenizer } from '../../src/models/tokenizer.js';
import type { CausalLM, CausalLMCache } from '../../src/models/generation/types.js';

/** GPT-2's byte → printable character table (bytes_to_unicode). */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table: string[] = [];
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i]!)));
  return table;
}

export const BYTE = bytesToUnicode();
/** Ids of the merged tokens and the special tokens. */
export const HE = 256;
export const LL = 257;
export const SPACE_W = 258;
export const EOT = 259; // <|endoftext|>
export const IM_START = 260;
export const IM_END = 261;
export const VOCAB = 262;

/** tokenizer.json of the byte-level test tokenizer. */
export function byteTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  BYTE.forEach((c, b) => (vocab[c] = b));
  vocab['he'] = HE;
  vocab['ll'] = LL;
  vocab[`${BYTE[32]}w`] = SPACE_W;
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(EOT, '<|endoftext|>'), special(IM_START, '<|im_start|>'), special(IM_END, '<|im_end|>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: ['h e', 'l l', `${BYTE[32]} w`],
    },
  };
}

export function byteTokenizer(): TextTokenizer {
  return new TextTokenizer(Tokenizer, byteTokenizerJson(), { clean_up_tokenization_spaces: false, eos_token: '<|endoftext|>' });
}

/** The byte tokens of a string, one per UTF-8 byte (no merges). */
export const bytesOf = (text: string): number[] => [...new TextEncoder().encode(text)];

export class FakeCache implements CausalLMCache {
  readonly ids: number[] = [];
  disposed = false;
  constructor(readonly maxLength: number) {}
  get length(): number {
    return this.ids.length;
  }
  get bytes(): number {
    return this.ids.length * 8;
  }
  reset(): void {
    this.ids.length = 0;
  }
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.ids.length) throw new RangeError(`fake cache: truncate(${length}) with ${this.ids.length} held`);
    this.ids.length = length;
  }
  dispose(): void {
    this.disposed = true;
  }
}

function mulberry(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FakeOptions {
  maxLength?: number;
  /** An id to push up by 50 at this point of the sequence (the whole sequence so far). */
  script?: (sequence: readonly number[]) => number | undefined;
  /** Logits that ignore the sequence (for sampling statistics). */
  constant?: Float32Array;
  chatTemplate?: string;
  eosTokenIds?: number[];
  /** Busy time per forward pass. */
  delayMs?: number;
}

export class FakeLM implements CausalLM {
  readonly vocabSize = VOCAB;
  readonly maxLength: number;
  readonly tokenizer = byteTokenizer();
  readonly eosTokenIds: number[];
  readonly bosTokenId = undefined;
  readonly chatTemplate: string | undefined;
  readonly specialTokens = { eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', bos_token: '' };
  /** The ids of every forward call, in order. */
  readonly calls: number[][] = [];
  readonly caches: FakeCache[] = [];

  constructor(readonly options: FakeOptions = {}) {
    this.maxLength = options.maxLength ?? 256;
    this.chatTemplate = options.chatTemplate;
    this.eosTokenIds = options.eosTokenIds ?? [EOT];
  }

  createCache(options?: { maxLength?: number }): FakeCache {
    const cache = new FakeCache(options?.maxLength ?? this.maxLength);
    this.caches.push(cache);
    return cache;
  }

  forward(ids: readonly number[], options?: { cache?: CausalLMCache; allLogits?: boolean }): { logits: { data: Float32Array; shape: number[] } } {
    const cache = options?.cache;
    if (!(cache instanceof FakeCache) || cache.disposed) throw new Error('fake: not a live cache of this model');
    if (ids.length === 0) throw new RangeError('fake: forward of no ids');
    if (cache.length + ids.length > cache.maxLength) throw new RangeError(`fake: cache overflow (${cache.length} + ${ids.length} > ${cache.maxLength})`);
    this.calls.push([...ids]);
    for (const id of ids) cache.ids.push(id);
    if (this.options.delayMs) for (const until = performance.now() + this.options.delayMs; performance.now() < until; );
    return { logits: { data: this.logitsAt(cache.ids), shape: [VOCAB] } };
  }

  /** The logits after `sequence` (what forward gives when the cache holds exactly it). */
  logitsAt(sequence: readonly number[]): Float32Array {
    if (this.options.constant) return Float32Array.from(this.options.constant);
    const p = sequence.length - 1;
    const a = sequence[p - 1] ?? VOCAB;
    const b = sequence[p]!;
    const next = mulberry(Math.imul(a + 1, 0x9e3779b1) ^ Math.imul(b + 7, 0x85ebca6b) ^ Math.imul(p + 13, 0xc2b2ae35));
    const out = new Float32Array(VOCAB);
    for (let i = 0; i < VOCAB; i++) out[i] = -4 + 8 * next();
    const forced = this.options.script?.(sequence);
    if (forced !== undefined) out[forced]! += 50;
    return out;
  }

  /** Ids fed in all calls. */
  get fed(): number {
    return this.calls.reduce((n, c) => n + c.length, 0);
  }
}

/** A script that spells `ids` after `prefix` ends (then `then`, if given). */
export function spell(promptLength: number, ids: readonly number[], then?: number): (sequence: readonly number[]) => number | undefined {
  return (sequence) => {
    const k = sequence.length - promptLength;
    if (k < 0) return undefined;
    return k < ids.length ? ids[k] : then;
  };
}

// Qwen2-Instruct's tokenizer_config.json chat_template.
export const QWEN2_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

