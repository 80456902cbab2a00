/**
 * A checkpoint's tokenizer: tokenizer.json + tokenizer_config.json run by `@huggingface/tokenizers`
 * (WordPiece, byte-level BPE, Unigram, with the normalizers, pre-tokenizers, post-processors and
 * decoders of Hugging Face's tokenizers), plus the truncation the encoders need.
 */
import type { Tokenizer } from '@huggingface/tokenizers';
import { describe } from '../engine/validate.js';

type TokenizerClass = typeof Tokenizer;
let library: Promise<TokenizerClass> | undefined;

/**
 * @internal `@huggingface/tokenizers`' Tokenizer, imported on first use (by loadModel, for a
 * checkpoint with tokenizer.json) rather than by the package's entry: a browser module worker
 * cannot use an import map, so a static bare import would stop `import { init } from
 * '…/dist/index.js'` from loading there, and a page without an import map could not run anything.
 */
export function tokenizerLibrary(where: string): Promise<TokenizerClass> {
  library ??= import('@huggingface/tokenizers').then(
    (m) => m.Tokenizer,
    (error: unknown) => {
      library = undefined;
      const inBrowser = typeof document !== 'undefined' || typeof (globalThis as { importScripts?: unknown }).importScripts === 'function' || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
      const hint = inBrowser
        ? 'in a page without a bundler, map it with an import map: <script type="importmap">{ "imports": { "@huggingface/tokenizers": "/node_modules/@huggingface/tokenizers/dist/tokenizers.mjs" } }</script> (module workers cannot use import maps: load the model on the page, or bundle the worker)'
        : 'install it: npm install @huggingface/tokenizers';
      throw new Error(`${where}: cannot import @huggingface/tokenizers, which reads tokenizer.json (${(error as Error)?.message ?? String(error)}); ${hint}`);
    },
  );
  return library;
}

export interface Encoded {
  ids: number[];
  /** Segment ids (0 for a single text), as the post-processor assigns them. */
  typeIds: number[];
}

export class TextTokenizer {
  private readonly inner: Tokenizer;

  /** @internal use `model.tokenizer` */
  constructor(TokenizerClass: TokenizerClass, json: Record<string, unknown>, config: Record<string, unknown>) {
    this.inner = new TokenizerClass(json, config);
  }

  /** text → token ids, with the special tokens the checkpoint's post-processor adds (`[CLS] … [SEP]`, `<s> … </s>`). */
  encode(text: string, options?: { addSpecialTokens?: boolean; pair?: string }): number[] {
    if (typeof text !== 'string') throw new TypeError(`tokenizer.encode: text must be a string, received ${describe(text)}`);
    const pair = options?.pair;
    if (pair !== undefined && typeof pair !== 'string') throw new TypeError(`tokenizer.encode: options.pair must be a string, received ${describe(pair)}`);
    return this.inner.encode(text, { text_pair: pair ?? null, add_special_tokens: options?.addSpecialTokens ?? true }).ids;
  }

  /** ids → text (special tokens skipped unless `skipSpecialTokens: false`). */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string {
    if (!Array.isArray(ids)) throw new TypeError(`tokenizer.decode: ids must be an array of token ids, received ${describe(ids)}`);
    return this.inner.decode(ids as number[], { skip_special_tokens: options?.skipSpecialTokens ?? true });
  }

  /** The id of a token string, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /**
   * @internal The ids and segment ids of `text` (and `pair`) with special tokens, cut to `maxLength`:
   * the texts' own tokens are cut from the end, the longer text first, and the special tokens around
   * them kept (Hugging Face's truncation 'longest_first'); `truncation: false` makes an over-long
   * input a RangeError.
   */
  encodeForModel(text: string, pair: string | undefined, maxLength: number, truncation: boolean, where: string): Encoded {
    if (typeof text !== 'string') throw new TypeError(`${where}: expected a string, received ${describe(text)}`);
    if (pair !== undefined && typeof pair !== 'string') throw new TypeError(`${where}: expected the second text to be a string, received ${describe(pair)}`);
    const full = this.inner.encode(text, { text_pair: pair ?? null, add_special_tokens: true, return_token_type_ids: true });
    const ids: number[] = full.ids;
    const typeIds: number[] = full.token_type_ids ?? ids.map(() => 0);
    if (ids.length <= maxLength) return { ids, typeIds };
    if (!truncation) {
      throw new RangeError(`${where}: ${ids.length} tokens, more than the model's limit of ${maxLength} (pass truncation: true, the default, to cut the text to fit)`);
    }
    // Where each text's own tokens sit among the special ones: the runs equal to its ids without them.
    const own = (s: string): number[] => this.inner.encode(s, { add_special_tokens: false }).ids;
    const runs: { start: number; length: number }[] = [];
    let from = 0;
    for (const part of pair === undefined ? [text] : [text, pair]) {
      const content = own(part);
      let start = from;
      while (start + content.length <= ids.length && !content.every((id, i) => ids[start + i] === id)) start++;
      if (start + content.length > ids.length) return { ids: ids.slice(0, maxLength), typeIds: typeIds.slice(0, maxLength) }; // not one run each: cut the end
      runs.push({ start, length: content.length });
      from = start + content.length;
    }
    const keep = runs.map((r) => r.length);
    let excess = ids.length - maxLength;
    while (excess > 0) {
      const i = keep.length > 1 && keep[1]! > keep[0]! ? 1 : 0; // the longer text loses a token
      if (keep[i] === 0) return { ids: ids.slice(0, maxLength), typeIds: typeIds.slice(0, maxLength) };
      keep[i]!--;
      excess--;
    }
    const dropped = (k: number) => runs.some((r, i) => k >= r.start + keep[i]! && k < r.start + r.length);
    const cut = (xs: number[]) => xs.filter((_, k) => !dropped(k));
    return { ids: cut(ids), typeIds: cut(typeIds) };
  }
}
