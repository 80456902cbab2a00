/**
 * The key/value cache of incremental decoding: resident K and V [B, Hk, capacity, Dh] (a KVStorage:
 * f32, or for language models f16 or q8). A plain
 * cache holds positions 0 … maxLength − 1 in order; a sliding-window cache holds only the last
 * `window` positions, position p in slot p mod window (a ring), so its memory stays bounded however
 * long the generation runs. Attention does not depend on the order of its keys (positions are in
 * the keys already, through RoPE, or absent), so a step attends over the slots as they are.
 * A language model's cache keeps its keys in order instead (its prompts attend causally in one
 * call): slot s holds position `first + s`, and a sliding-window layer raises `first` when it moves
 * its newest positions to the front (see LMCache).
 */
import type { Heap } from '../engine/memory.js';
import { trackResident } from '../engine/resident.js';
import { checkInteger } from '../engine/validate.js';
import type { KVDtype, KVStorage } from './kv-storage.js';

export class KVCache {
  readonly batch: number;
  /** Positions a plain cache can hold (for a window cache: the window). */
  readonly maxLength: number;
  /** Keys a query sees in a sliding-window cache (the newest included), or undefined for a plain cache. */
  readonly window: number | undefined;
  /** @internal */ readonly owner: object;
  /** @internal K and V, their element type and layout */ readonly storage: KVStorage;
  private filled = 0;
  private dropped = 0;

  /** @internal use `mha.createCache(...)`; the cache counts in `heap`'s memoryStats() (by its dtype) while it lives. */
  constructor(heap: Heap, owner: object, storage: KVStorage, batch: number, maxLength: number, window: number | undefined) {
    trackResident(heap, 'caches', storage.dtype, this, storage.bytes);
    this.owner = owner;
    this.storage = storage;
    this.batch = batch;
    this.maxLength = maxLength;
    this.window = window;
  }

  /** Positions processed so far (the position of the next token). */
  get length(): number {
    return this.filled;
  }

  /** @internal The oldest position held: slot s holds position first + s (0 unless a language model's window layer dropped positions). */
  get first(): number {
    return this.dropped;
  }

  /** @internal The element type of K and V. */
  get dtype(): KVDtype {
    return this.storage.dtype;
  }

  /** @internal Bytes of Wasm memory K and V take. */
  get bytes(): number {
    return this.storage.bytes;
  }

  get disposed(): boolean {
    return this.storage.disposed;
  }

  /** Starts a new sequence (keeps the memory). */
  reset(): void {
    this.filled = 0;
    this.dropped = 0;
  }

  /**
   * Keeps the first `length` positions and forgets the rest (e.g. to re-decode from there). A
   * sliding-window cache has overwritten older positions, so it can only be reset.
   */
  truncate(length: number): void {
    const n = checkInteger('length', length, 0, this.filled);
    if (this.window !== undefined && n !== this.filled && n !== 0) {
      throw new RangeError(`a sliding-window cache keeps only its last ${this.window} positions: truncate(${n}) cannot restore the ones it overwrote; reset() it instead`);
    }
    if (n !== 0 && n < this.dropped) throw new RangeError(`truncate(${n}): the positions before ${this.dropped} were dropped; reset() instead`);
    this.filled = n;
    if (n === 0) this.dropped = 0;
  }

  /** @internal The slot of the next position, throwing when a plain cache is full. */
  nextSlot(): number {
    if (this.window !== undefined) return this.filled % this.window;
    if (this.filled >= this.maxLength) {
      throw new RangeError(`cache is full: it holds maxLength = ${this.maxLength} positions (createCache({ maxLength })); reset() it, make a larger one, or use createCache({ window }) for a sliding window`);
    }
    return this.filled;
  }

  /** @internal Keys held after the next position is appended. */
  keysAfterAppend(): number {
    return Math.min(this.filled + 1, this.maxLength);
  }

  /** @internal Slots 0 … length − first − 1 hold positions first … length − 1 (after their keys and values were moved there). */
  hold(first: number, length: number): void {
    this.dropped = first;
    this.filled = length;
  }

  /** @internal `count` positions were appended. */
  advance(count = 1): void {
    this.filled += count;
  }

  dispose(): void {
    this.storage.dispose();
  }
}
