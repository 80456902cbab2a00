/**
 * A checkpoint's tokenizer: tokenizer.json + tokenizer_config.json run by `@huggingface/tokenizers`
 * (WordPiece, byte-level BPE, Unigram, with the normalizers, pre-tokenizers, post-processors and
 * decoders of Hugging Face's tokenizers), plus the truncation the encoders need.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { describe } from '../engine/validate.js';

export interface Encoded {
  ids: number[];
  /** Segment ids (0 for a single text), as the post-processor assigns them. */
  typeIds: number[];
}

export class TextTokenizer {
  private readonly inner: Tokenizer;

  /** @internal use `model.tokenizer` */
  constructor(json: Record<string, unknown>, config: Record<string, unknown>) {
    this.inner = new Tokenizer(json, config);
  }

  /** text → token ids, with the special tokens the checkpoint's post-processor adds (`[CLS] … [SEP]`, `<s> … </s>`). */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[] {
    if (typeof text !== 'string') throw new TypeError(`tokenizer.encode: text must be a string, received ${describe(text)}`);
    const add = options?.addSpecialTokens ?? true;
    return this.inner.encode(text, { add_special_tokens: add }).ids;
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
   * @internal The ids and segment ids of `text` with special tokens, cut to `maxLength`: the text's
   * own tokens are cut from the end and the special tokens around them kept (Hugging Face's
   * truncation 'longest_first' for one text); `truncation: false` makes an over-long text a RangeError.
   */
  encodeForModel(text: string, maxLength: number, truncation: boolean, where: string): Encoded {
    if (typeof text !== 'string') throw new TypeError(`${where}: expected a string, received ${describe(text)}`);
    const full = this.inner.encode(text, { add_special_tokens: true, return_token_type_ids: true });
    const ids: number[] = full.ids;
    const typeIds: number[] = full.token_type_ids ?? ids.map(() => 0);
    if (ids.length <= maxLength) return { ids, typeIds };
    if (!truncation) {
      throw new RangeError(`${where}: ${ids.length} tokens, more than the model's limit of ${maxLength} (pass truncation: true, the default, to cut the text to fit)`);
    }
    // Where the text's own tokens sit among the special ones: the run equal to the ids without them.
    const content: number[] = this.inner.encode(text, { add_special_tokens: false }).ids;
    const specials = ids.length - content.length;
    let start = 0;
    while (start + content.length <= ids.length && !content.every((id, i) => ids[start + i] === id)) start++;
    if (start + content.length > ids.length || maxLength < specials) {
      // the post-processor did not keep the text in one run: cut the end, as a last resort
      return { ids: ids.slice(0, maxLength), typeIds: typeIds.slice(0, maxLength) };
    }
    const keep = maxLength - specials;
    const cut = (xs: number[]) => [...xs.slice(0, start + keep), ...xs.slice(start + content.length)];
    return { ids: cut(ids), typeIds: cut(typeIds) };
  }
}
