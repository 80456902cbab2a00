/**
 * What is resident in a runtime's memory by kind and dtype: every weight matrix, table and vector a
 * module keeps, and every KV cache, registers here when it is made (`trackResident`) and drops out
 * when it is disposed or collected. `runtime.memoryStats()` reports the totals (`residentBytes`).
 * A new weight or cache dtype is one more key: the records are keyed by the dtype string itself.
 */
import type { Heap } from './memory.js';

/** Bytes by dtype ('f32', 'q8', 'q4', …): only dtypes with something resident appear. */
export type BytesByDtype = Record<string, number>;

export interface ResidentBytes {
  /** Weights of live modules and models, by the dtype they are held in. */
  weights: BytesByDtype;
  /** Keys and values of live KV caches, by the dtype they are held in. */
  caches: BytesByDtype;
}

interface Entry {
  kind: keyof ResidentBytes;
  dtype: string;
  bytes: number;
  owner: WeakRef<{ readonly disposed: boolean }>;
}

const registries = new WeakMap<Heap, Entry[]>();

/** Records that `owner` holds `bytes` of `kind` in `dtype` on `heap` until it is disposed or collected. */
export function trackResident(heap: Heap, kind: keyof ResidentBytes, dtype: string, owner: { readonly disposed: boolean }, bytes: number): void {
  let list = registries.get(heap);
  if (!list) registries.set(heap, (list = []));
  list.push({ kind, dtype, bytes, owner: new WeakRef(owner) });
  if (list.length > 4096 && list.length % 4096 === 0) prune(list);
}

/** The live totals (entries of disposed or collected owners are dropped). */
export function residentBytes(heap: Heap): ResidentBytes {
  const list = registries.get(heap) ?? [];
  prune(list);
  const out: ResidentBytes = { weights: {}, caches: {} };
  for (const e of list) out[e.kind][e.dtype] = (out[e.kind][e.dtype] ?? 0) + e.bytes;
  return out;
}

function prune(list: Entry[]): void {
  let at = 0;
  for (const e of list) {
    const owner = e.owner.deref();
    if (owner !== undefined && !owner.disposed) list[at++] = e;
  }
  list.length = at;
}
