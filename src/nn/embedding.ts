/**
 * `torch.nn.Embedding`: row ids[i] of weight [V, E]. The table stays resident (an EmbeddingTable:
 * f32, or Q8 / Q4 rows dequantized as they are read), so the seq2seq modules gather their rows
 * straight into Wasm memory (`gather`); `lookup` copies them out.
 */
import { checkIds } from '../reference/ids.js';
import { Tensor } from '../engine/memory.js';
import { checkOptions, checkShape, checkTensor, formatShape, isOptionsObject, type Checked, type TensorLike } from '../engine/validate.js';
import { checkNames, underPrefix } from '../engine/state-dict.js';
import { mat, type Mat } from '../engine/linear.js';
import type { WeightDtype } from '../engine/quantized.js';
import { embeddingTable, type EmbeddingTable } from './embedding-table.js';
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
  private readonly table: EmbeddingTable;

  /** @internal use `runtime.embedding(...)`; `dtype` 'q8' / 'q4' holds the table quantized (E a multiple of 32). */
  constructor(ws: Workspace, weight: TensorLike | Record<string, TensorLike>, options?: { prefix?: string }, dtype: WeightDtype = 'f32') {
    const where = 'embedding';
    const opts = checkOptions('options', options, ['prefix'], where);
    const arg = checkEmbeddingWeight(where, weight, opts['prefix'], ws.heap);
    this.ws = ws;
    [this.numEmbeddings, this.embeddingDim] = arg.shape as [number, number];
    this.table = embeddingTable(ws, arg, dtype);
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
    return this.ws.run((temps) => {
      const rows = temps.tensor([list.length, E]);
      this.table.gather(list, list.length, mat(rows.ptr, E));
      return rows.data.slice();
    });
  }

  /** @internal Rows of checked ids into Wasm memory: row i of `out` (ld out.ld) = weight[ids[i]]. */
  gather(ids: Int32Array, count: number, out: Mat): void {
    this.table.gather(ids, count, out);
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
