/**
 * `torch.nn.Embedding`: row ids[i] of weight [V, E]. The table stays resident, so the seq2seq
 * modules gather their rows straight into Wasm memory (`gather`); `lookup` copies them out.
 */
import { checkIds } from '../reference/ids.js';
import { Tensor } from '../engine/memory.js';
import { checkOptions, checkShape, checkTensor, formatShape, isOptionsObject, type Checked, type TensorLike } from '../engine/validate.js';
import { checkNames, underPrefix } from '../engine/state-dict.js';
import { residentWeights } from '../engine/weights.js';
import type { Mat } from '../engine/linear.js';
import type { Workspace } from '../engine/workspace.js';

/** The [V, E] table of `weight` or of a `{ weight }` state_dict (under `prefix`), checked. */
export function checkEmbeddingWeight(where: string, weights: unknown, prefix: unknown, heap: Workspace['heap']): Checked {
  let value = weights;
  let label = `${where}: weight`;
  if (!(value instanceof Tensor) && !(typeof value === 'object' && value !== null && !isOptionsObject(value))) {
    const under = underPrefix(where, weights, prefix);
    const { record, prefix: p } = under;
    checkNames(where, under, ['weight'], { leaveSingleMissing: false });
    value = record['weight'];
    label = `${where}: weights['${p}weight']`;
  } else if (prefix !== undefined && prefix !== '') throw new TypeError(`${where}: options.prefix applies to a state_dict ({ weight }), not to a tensor`);
  if (value === undefined) throw new TypeError(`${label} is missing (expected shape [V, E], nn.Embedding(V, E).weight)`);
  const arg = checkTensor(label, value, heap);
  if (arg.shape.length !== 2) throw new RangeError(`${label}: expected shape [V, E] (nn.Embedding(V, E).weight), received ${formatShape(arg.shape)}`);
  return arg;
}

export class Embedding {
  /** V: the vocabulary size. */
  readonly numEmbeddings: number;
  /** E: the width of a row. */
  readonly embeddingDim: number;
  private readonly ws: Workspace;
  private readonly table: Tensor;

  /** @internal use `runtime.embedding(...)` */
  constructor(ws: Workspace, weight: TensorLike | Record<string, TensorLike>, options?: { prefix?: string }) {
    const where = 'embedding';
    const opts = checkOptions('options', options, ['prefix'], where);
    const arg = checkEmbeddingWeight(where, weight, opts['prefix'], ws.heap);
    this.ws = ws;
    [this.numEmbeddings, this.embeddingDim] = arg.shape as [number, number];
    this.table = residentWeights(ws.heap, { table: arg }).table!;
  }

  /** ids (any shape, flat) → their rows, [...shape, E] (shape defaults to [ids.length]). */
  lookup(ids: ArrayLike<number> | Int32Array, shape?: readonly number[]): Float32Array {
    this.assertLive();
    const list = checkIds('ids', ids, this.numEmbeddings);
    if (shape !== undefined) {
      const dims = checkShape('shape', shape);
      const n = dims.reduce((a, b) => a * b, 1);
      if (n !== list.length) throw new RangeError(`shape ${formatShape(dims)} holds ${n} ids, received ${list.length}`);
    }
    const E = this.embeddingDim;
    const out = new Float32Array(list.length * E);
    const f32 = this.ws.heap.floats();
    const base = this.table.ptr >>> 2;
    for (let i = 0; i < list.length; i++) out.set(f32.subarray(base + list[i]! * E, base + (list[i]! + 1) * E), i * E);
    return out;
  }

  /** @internal Rows of checked ids into Wasm memory: row i of `out` (ld out.ld) = weight[ids[i]]. */
  gather(ids: Int32Array, count: number, out: Mat): void {
    const E = this.embeddingDim;
    const f32 = this.ws.heap.floats();
    const base = this.table.ptr >>> 2;
    for (let i = 0; i < count; i++) f32.copyWithin((out.ptr >>> 2) + i * out.ld, base + ids[i]! * E, base + (ids[i]! + 1) * E);
  }

  /** Frees the table. Idempotent. */
  dispose(): void {
    this.table.dispose();
  }

  /** @internal */
  assertLive(): void {
    if (this.table.disposed) throw new Error('embedding: this module was disposed');
  }
}
