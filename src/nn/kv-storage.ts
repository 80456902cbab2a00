/**
 * The memory of a key/value cache: K and V [B, capacity, Hk·Dh] in one element type, and how to
 * write positions into it, copy it and describe it to the fused attention kernel.
 *   f32: as computed.
 *   f16: IEEE halves, each value rounded to the nearest, ties to even (2 bytes).
 *   q8 : int8 (1 byte) with one f32 scale per (sequence, position, kv head) [B, capacity, Hk]:
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
  /** @internal The K and V elements (f32: shaped [B, capacity, Hk·Dh]; f16 / q8: their bytes, as floats). */
  readonly k: Tensor;
  /** @internal */ readonly v: Tensor;
  /** @internal q8: the scales [B, capacity, Hk] of K and of V. */
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
    const shape = dtype === 'f32' ? [batch, capacity, width] : [Math.ceil((batch * capacity * width * ELEMENT_BYTES[dtype]) / 4)];
    const made: Tensor[] = [];
    try {
      const make = (s: number[]): Tensor => {
        const t = new Tensor(heap, s);
        made.push(t);
        return t;
      };
      this.k = make(shape);
      this.v = make(shape);
      this.kScales = dtype === 'q8' ? make([batch, capacity, kvHeads]) : undefined;
      this.vScales = dtype === 'q8' ? make([batch, capacity, kvHeads]) : undefined;
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
   * byte offset kSrc, V from vSrc, rows `ld` floats apart (each Hk·Dh values), converted to the dtype.
   */
  write(ws: Workspace, b: number, slot: number, kSrc: number, vSrc: number, ld: number, rows: number): void {
    const width = this.kvHeads * this.headDim;
    const first = b * this.capacity + slot; // element row of (b, slot)
    if (this.dtype === 'f32') {
      const f32 = ws.heap.floats();
      for (let t = 0; t < rows; t++) {
        const src = (kSrc >>> 2) + t * ld, vs = (vSrc >>> 2) + t * ld;
        f32.copyWithin((this.k.ptr >>> 2) + (first + t) * width, src, src + width);
        f32.copyWithin((this.v.ptr >>> 2) + (first + t) * width, vs, vs + width);
      }
    } else if (this.dtype === 'f16') {
      ws.kernels.storeRowsF16(kSrc, ld, rows, width, this.k.ptr + 2 * first * width, width);
      ws.kernels.storeRowsF16(vSrc, ld, rows, width, this.v.ptr + 2 * first * width, width);
    } else {
      const hk = this.kvHeads, dh = this.headDim;
      ws.kernels.storeRowsQ8(kSrc, ld, rows, hk, dh, this.k.ptr + first * width, width, this.kScales!.ptr + 4 * first * hk, hk);
      ws.kernels.storeRowsQ8(vSrc, ld, rows, hk, dh, this.v.ptr + first * width, width, this.vScales!.ptr + 4 * first * hk, hk);
    }
  }

  /** The k and v fields of an attention problem over this storage (slot j of sequence b is key j; heads are kv heads). */
  views(): Pick<Problem, 'k' | 'v' | 'kvDtype' | 'kScales' | 'vScales'> {
    const width = this.kvHeads * this.headDim;
    const view = (t: Tensor) => ({ ptr: t.ptr, sB: this.capacity * width, sH: this.headDim, sL: width });
    const fields: Pick<Problem, 'k' | 'v' | 'kvDtype' | 'kScales' | 'vScales'> = { k: view(this.k), v: view(this.v), kvDtype: this.dtype };
    if (this.dtype === 'q8') {
      const scales = (t: Tensor) => ({ ptr: t.ptr, sB: this.capacity * this.kvHeads, sH: 1, sL: this.kvHeads });
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
    const rowBytes = this.kvHeads * this.headDim * ELEMENT_BYTES[this.dtype];
    const pairs: [Tensor, Tensor, number][] = [[from.k, this.k, rowBytes], [from.v, this.v, rowBytes]];
    if (this.dtype === 'q8') pairs.push([from.kScales!, this.kScales!, 4 * this.kvHeads], [from.vScales!, this.vScales!, 4 * this.kvHeads]);
    for (const [src, dst, row] of pairs) {
      for (let b = 0; b < this.batch; b++) {
        const at = src.ptr + (b * from.capacity + first) * row;
        bytes.copyWithin(dst.ptr + b * this.capacity * row, at, at + count * row);
      }
    }
  }

  dispose(): void {
    for (const t of [this.k, this.v, this.kScales, this.vScales]) t?.dispose();
  }
}
