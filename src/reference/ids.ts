/**
 * Token ids as the seq2seq modules take them, checked the same way by the runtime and its twins:
 * one sentence (an array of ids or an Int32Array), an array of sentences, or padded ids
 * { data, shape: [B, S] } with per-sentence lengths.
 */
import { checkLengths, describe, formatShape } from './check.js';

/** `ids` as an Int32Array of ids in [0, vocab); a RangeError names the first id out of range. */
export function checkIds(name: string, ids: unknown, vocab: number): Int32Array {
  if (!Array.isArray(ids) && !(ArrayBuffer.isView(ids) && !(ids instanceof DataView))) {
    throw new TypeError(`${name} must be an array of token ids (numbers or an Int32Array), received ${describe(ids)}`);
  }
  const list = ids as ArrayLike<unknown>;
  const out = new Int32Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const id = list[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new RangeError(`${name}[${i}] = ${describe(id)} is out of range for a vocabulary of ${vocab} (expected an integer in [0, ${vocab - 1}])`);
    }
    out[i] = id;
  }
  return out;
}

/** Padded token ids [B, S] (use `lengths` for the true lengths). */
export interface TokenBatch {
  data: Int32Array | readonly number[];
  shape: readonly number[];
}

/** The sentences of `ids` (one, an array, or padded with `lengths`), each checked and non-empty. */
export function sentencesOf(ids: unknown, lengths: unknown, vocab: number): { list: Int32Array[]; batched: boolean } {
  const check = (name: string, x: unknown): Int32Array => {
    const s = checkIds(name, x, vocab);
    if (s.length === 0) throw new RangeError(`${name}: a sentence needs at least one token`);
    return s;
  };
  if (typeof ids === 'object' && ids !== null && !Array.isArray(ids) && !ArrayBuffer.isView(ids)) {
    const { data, shape } = ids as Partial<TokenBatch>;
    if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new RangeError(`ids.shape: expected [B, S] (padded sentences), received ${Array.isArray(shape) ? formatShape(shape) : describe(shape)}`);
    }
    const [B, S] = shape as [number, number];
    if (!Array.isArray(data) && !ArrayBuffer.isView(data)) throw new TypeError(`ids.data must be an array of token ids or an Int32Array, received ${describe(data)}`);
    const flat = data as ArrayLike<number>;
    if (flat.length !== B * S) throw new RangeError(`ids.data has ${flat.length} ids but ids.shape ${formatShape(shape)} needs ${B * S}`);
    const lens = checkLengths('options.lengths', lengths, B, S) ?? new Int32Array(B).fill(S);
    const list = Array.from({ length: B }, (_, b) => check(`ids[${b}]`, Array.prototype.slice.call(flat, b * S, b * S + lens[b]!)));
    return { list, batched: true };
  }
  if (lengths !== undefined) throw new TypeError('options.lengths goes with padded ids { data, shape: [B, S] }; an array of sentences carries its own lengths');
  if (Array.isArray(ids) && ids.length > 0 && ids.every((x) => Array.isArray(x) || ArrayBuffer.isView(x))) {
    return { list: ids.map((x, b) => check(`ids[${b}]`, x)), batched: true };
  }
  return { list: [check('ids', ids)], batched: false };
}
