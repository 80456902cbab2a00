/**
 * The memory of a key/value cache: K and V [B, Hk, capacity, Dh] in one element type, and how to
 * write positions into it, copy it and describe it to the fused attention kernel. Each kv head's
 * positions are contiguous, so a decode step reads every head's keys (and values) as one stream.
 *   f32: as computed.
 *   f16: IEEE halves, each value rounded to the nearest, ties to even (2 bytes).
 *   q8 : int8 (1 byte) with one f32 scale per (sequence, kv head, position) [B, Hk, capacity]:
 *        scale = max|x|/127 over the head's Dh values, q = round(x/scale). Each position has its own
 *        scales, so appending never requantizes what is held.
 * The attention kernel converts f16 and q8 back to f32 one key block at a time while it forms its
 * tiles (assembly/attention/kv-rows.ts): the cache is never widened in memory.
 */
import type { KVDtype, Problem } from '../engine/attention-params.js';
import { Tensor, type Heap } from '../engine/memory.js';
import type { Workspace } from '../engine/workspace.js';

export type { KVDtype };

/** The cache element types, in the order of their bytes per value (4, 2, 1). */
export const KV_DTYPES: readonly KVDtype[] = ['f32', 'f16', 'q8'];

const ELEMENT_BYTES: Record<KVDtype, number> = { f32: 4, f16: 2, q8: 1 };

/** Bytes one position of one sequence takes in a cache of this type (K and V, with q8's scales). */
export function kvBytesPerPosition(dtype: KVDtype, kvHeads: number, headDim: number): number {
  return 2 * (kvHeads * headDim * ELEMENT_BYTES[dtype] + (dtype === 'q8' ? 4 * kvHeads : 0));
}

export class KVStorage {
  readonly dtype: KVDtype;
  readonly batch: number;
  /** Positions (slots) per sequence. */
  readonly capacity: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** @internal The K and V elements (f32: shaped [B, Hk, capacity, Dh]; f16 / q8: their bytes, as floats). */
  readonly k: Tensor;
  /** @internal */ readonly v: Tensor;
  /** @internal q8: the scales [B, Hk, capacity] of K and of V. */
  readonly kScales: Tensor | undefined;
  /** @internal */ readonly vScales: Tensor | undefined;

  /** Allocates the memory (all or nothing). */
  constructor(heap: Heap, dtype: KVDtype, batch: number, capacity: number, kvHeads: number, headDim: number) {
    this.dtype = dtype;
    this.batch = batch;
    this.capacity = capacity;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    const width = kvHeads * headDim;
    const shape = dtype === 'f32' ? [batch, kvHeads, capacity, headDim] : [Math.ceil((batch * capacity * width * ELEMENT_BYTES[dtype]) / 4)];
    const made: Tensor[] = [];
    try {
      const make = (s: number[]): Tensor => {
        const t = new Tensor(heap, s);
        made.push(t);
        return t;
      };
      this.k = make(shape);
      this.v = make(shape);
      this.kScales = dtype === 'q8' ? make([batch, kvHeads, capacity]) : undefined;
      this.vScales = dtype === 'q8' ? make([batch, kvHeads, capacity]) : undefined;
    } catch (error) {
      for (const t of made) t.dispose();
      throw error;
    }
  }

  /** Bytes of K and V (and q8's scales) for every slot. */
  get bytes(): number {
    return this.batch * this.capacity * kvBytesPerPosition(this.dtype, this.kvHeads, this.headDim);
  }

  get disposed(): boolean {
    return this.k.disposed;
  }

  /**
   * Writes `rows` positions of sequence b into slots slot … slot + rows − 1: K from the f32 rows at
   * byte offset kSrc, V from vSrc, rows `ld` floats apart (each Hk·Dh values, head after head),
   * converted to the dtype.
   */
  write(ws: Workspace, b: number, slot: number, kSrc: number, vSrc: number, ld: number, rows: number): void {
    const { kvHeads: hk, headDim: dh, capacity } = this;
    const f32 = this.dtype === 'f32' ? ws.heap.floats() : undefined; // nothing below allocates
    for (let h = 0; h < hk; h++) {
      const first = (b * hk + h) * capacity + slot; // element row of (b, h, slot)
      const ks = kSrc + 4 * h * dh, vs = vSrc + 4 * h * dh;
      if (f32) {
        for (let t = 0; t < rows; t++) {
          f32.copyWithin((this.k.ptr >>> 2) + (first + t) * dh, (ks >>> 2) + t * ld, (ks >>> 2) + t * ld + dh);
          f32.copyWithin((this.v.ptr >>> 2) + (first + t) * dh, (vs >>> 2) + t * ld, (vs >>> 2) + t * ld + dh);
        }
      } else if (this.dtype === 'f16') {
        ws.kernels.storeRowsF16(ks, ld, rows, dh, this.k.ptr + 2 * first * dh, dh);
        ws.kernels.storeRowsF16(vs, ld, rows, dh, this.v.ptr + 2 * first * dh, dh);
      } else {
        ws.kernels.storeRowsQ8(ks, ld, rows, 1, dh, this.k.ptr + first * dh, dh, this.kScales!.ptr + 4 * first, 1);
        ws.kernels.storeRowsQ8(vs, ld, rows, 1, dh, this.v.ptr + first * dh, dh, this.vScales!.ptr + 4 * first, 1);
      }
    }
  }

  /** The k and v fields of an attention problem over this storage (slot j of sequence b is key j; heads are kv heads). */
  views(): Pick<Problem, 'k' | 'v' | 'kvDtype' | 'kScales' | 'vScales'> {
    const { kvHeads: hk, headDim: dh, capacity } = this;
    const view = (t: Tensor) => ({ ptr: t.ptr, sB: hk * capacity * dh, sH: capacity * dh, sL: dh });
    const fields: Pick<Problem, 'k' | 'v' | 'kvDtype' | 'kScales' | 'vScales'> = { k: view(this.k), v: view(this.v), kvDtype: this.dtype };
    if (this.dtype === 'q8') {
      const scales = (t: Tensor) => ({ ptr: t.ptr, sB: hk * capacity, sH: capacity, sL: 1 });
      fields.kScales = scales(this.kScales!);
      fields.vScales = scales(this.vScales!);
    }
    return fields;
  }

  /**
   * Slots [first, first + count) of every sequence of `from` → slots [0, count) of this (same dtype
   * and heads; `from` may be this storage: the copy moves them to the front).
   */
  copyFrom(heap: Heap, from: KVStorage, first: number, count: number): void {
    const bytes = new Uint8Array(heap.memory.buffer);
    const hk = this.kvHeads;
    const rowBytes = this.headDim * ELEMENT_BYTES[this.dtype];
    const pairs: [Tensor, Tensor, number][] = [[from.k, this.k, rowBytes], [from.v, this.v, rowBytes]];
    if (this.dtype === 'q8') pairs.push([from.kScales!, this.kScales!, 4], [from.vScales!, this.vScales!, 4]);
    for (const [src, dst, row] of pairs) {
      for (let bh = 0; bh < this.batch * hk; bh++) {
        const at = src.ptr + (bh * from.capacity + first) * row;
        bytes.copyWithin(dst.ptr + bh * this.capacity * row, at, at + count * row);
      }
    }
  }

  dispose(): void {
    for (const t of [this.k, this.v, this.kScales, this.vScales]) t?.dispose();
  }
}
