/**
 * From generated ids to text pieces that are safe to show: whole characters only, and never the
 * beginning of a stop string that may still complete.
 */
import type { TextTokenizer } from '../tokenizer.js';

const REPLACEMENT = '\uFFFD';

/**
 * Decodes generated ids incrementally. Each step decodes a short window of the recent ids twice —
 * with and without the ids not yet shown — and emits the difference, so decoders that treat the
 * first token of a text specially (a leading space stripped) see the same context both times. While
 * the decoded text ends in U+FFFD (a character whose bytes are split across tokens and not all
 * generated yet) nothing is emitted: the piece comes out whole with the token that completes it.
 */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  private prefix = 0; // start of the decoding window
  private read = 0; // ids before this have been emitted

  constructor(private readonly tokenizer: TextTokenizer | undefined) {}

  /** The text `id` completes ('' while a character is incomplete, and always without a tokenizer). */
  push(id: number): string {
    this.ids.push(id);
    if (this.tokenizer === undefined) return '';
    const before = this.decode(this.prefix, this.read);
    const after = this.decode(this.prefix, this.ids.length);
    if (after.length > before.length && !after.endsWith(REPLACEMENT)) {
      this.prefix = this.read;
      this.read = this.ids.length;
      return after.slice(before.length);
    }
    return '';
  }

  /** What is left at the end (a trailing incomplete character comes out as U+FFFD, as decode gives it). */
  flush(): string {
    if (this.tokenizer === undefined || this.read === this.ids.length) return '';
    const before = this.decode(this.prefix, this.read);
    const after = this.decode(this.prefix, this.ids.length);
    this.prefix = this.read = this.ids.length;
    return after.slice(before.length);
  }

  private decode(from: number, to: number): string {
    return from === to ? '' : this.tokenizer!.decode(this.ids.slice(from, to), { skipSpecialTokens: true });
  }
}

/**
 * Finds stop strings in a stream of text pieces, across piece boundaries: text that might be the
 * start of a stop string is held back until it either completes one (then it and everything after are
 * dropped) or cannot anymore.
 */
export class StopMatcher {
  private pending = '';
  stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  /** The text that is safe to emit after `piece`; sets `stopped` when a stop string completed. */
  push(piece: string): string {
    if (this.stopped) return '';
    if (this.stops.length === 0) return piece;
    const text = this.pending + piece;
    let at = -1;
    for (const stop of this.stops) {
      const i = text.indexOf(stop);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0) {
      this.stopped = true;
      this.pending = '';
      return text.slice(0, at);
    }
    const hold = this.heldBack(text);
    this.pending = text.slice(text.length - hold);
    return text.slice(0, text.length - hold);
  }

  /** Held-back text, at the end of generation (it completed no stop string). */
  flush(): string {
    const rest = this.stopped ? '' : this.pending;
    this.pending = '';
    return rest;
  }

  /** The length of the longest suffix of `text` that begins some stop string. */
  private heldBack(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
