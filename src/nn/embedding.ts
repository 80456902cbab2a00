/**
 * `torch.nn.Embedding`: row ids[i] of weight [V, E]. The table stays resident (an EmbeddingTable:
 * f32, F16 / BF16 rows widened or Q8 / Q4 rows dequantized as they are read), so the seq2seq modules gather their rows
 * straight into Wasm memory (`gather`); `lookup` copies them out.
 */
import { checkIds } from '../reference/ids.js';
import { Tensor } from '../engine/memory.js';
import { checkOptions, checkShape, checkTensor, describe, formatShape, isOptionsObject, type Checked, type TensorLike } from '../engine/validate.js';
import { checkNames, underPrefix } from '../engine/state-dict.js';
import { mat, type Mat } from '../engine/linear.js';
import { checkWeightDtype, type DtypeOption, type WeightDtype } from '../engine/quantized.js';
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

export interface EmbeddingOptions {
  /** The state_dict prefix of `weight` (with a `{ weight }` record). */
  prefix?: string;
  /**
   * How the table is held: 'f32' (default, or 'fp32'); 'f16' (or 'fp16') / 'bf16' (rounded to nearest
   * even unless the tensor was read as that format; rows widened exactly when gathered); 'q8' / 'q4'
   * (blocks of 32 along E with an f32 scale each, as a Linear weight; a gathered row is scale·q
   * rounded once to f32). A table whose E is not a multiple of 32 stays f32 in 'q8' / 'q4':
   * `embedding.dtype` says how it is held.
   */
  dtype?: DtypeOption;
}

export class Embedding {
  /** V: the vocabulary size. */
  readonly numEmbeddings: number;
  /** E: the width of a row. */
  readonly embeddingDim: number;
  /** How the table is held. */
  readonly dtype: WeightDtype;
  private readonly ws: Workspace;
  private readonly table: EmbeddingTable;

  /**
   * @internal use `runtime.embedding(...)`; `options.dtype` says how the table is held; `dtype`
   * (internal) is the default when the options do not say.
   */
  constructor(ws: Workspace, weight: TensorLike | Record<string, TensorLike>, options?: EmbeddingOptions, dtype: WeightDtype = 'f32') {
    const where = 'embedding';
    const opts = checkOptions('options', options, ['prefix', 'dtype'], where);
    if (opts['dtype'] !== undefined) dtype = checkWeightDtype(where, 'options.dtype', opts['dtype']);
    const arg = checkEmbeddingWeight(where, weight, opts['prefix'], ws.heap);
    this.ws = ws;
    [this.numEmbeddings, this.embeddingDim] = arg.shape as [number, number];
    this.table = embeddingTable(ws, arg, dtype);
    this.dtype = this.table.dtype;
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
