/**
 * The weights file model.save() writes and loadModel reads back: safetensors whose tensors are the
 * weights as the model holds them, under the runtime's own names (models/lm/saved.ts,
 * models/encoders/saved.ts), and whose `__metadata__` says so:
 *   { format: 'wasm-attention', version: '1', dtype: 'f32' | 'q8' | 'q4' | 'f16' | 'bf16', block: '32', kind,
 *     embeddingDtype } (embeddingDtype: the tables' and head's dtype, one of dtype's values; a file
 *     without it holds them in `dtype`)
 * An f32 matrix, table or vector is one F32 tensor `<name>`. A quantized matrix [rows, cols] is
 *   `<name>`          Q8: I8 [rows, cols] (the int8 values); Q4: U8 [rows, cols/2] (byte i of a block
 *                     of 32 holds element i in its low nibble and 16 + i in its high one, q ∈ [0, 15])
 *   `<name>.scales`   F32 [rows, cols/32]: one scale per block of 32 (Q8: w = scale·q; Q4: scale·(q − 8))
 * which is how engine/quantized.ts holds it in Wasm memory, so loading copies the bytes in unchanged.
 * An f16 / bf16 matrix or table is one F16 / BF16 tensor `<name>`: its 16-bit values as held.
 */
import type { Heap, Tensor } from '../engine/memory.js';
import { isHalf, isQ8, isQuantizedData, Q8_BLOCK, WEIGHT_DTYPES, type QuantizedData, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import type { SafetensorsByteTensor, SafetensorsTensor } from '../engine/safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../engine/safetensors-write.js';
import { describe, type TensorLike } from '../engine/validate.js';
import type { StateDict } from './checkpoint.js';

export const SAVED_FORMAT = 'wasm-attention';
const SAVED_VERSION = '1';
const SCALES = '.scales';

/** The tensors a model writes, by name, in order. */
export class SavedTensors {
  readonly tensors = new Map<string, TensorToWrite>();
  constructor(private readonly heap: Heap) {}

  /** An f32 vector or matrix (a copy of its values). */
  f32(name: string, t: Tensor | undefined): void {
    if (t !== undefined) this.tensors.set(name, { dtype: 'F32', shape: [...t.shape], data: t.toArray() });
  }

  /** A weight matrix as held, rows [r0, r1) of it (default all): F32, F16 / BF16, or the values and `.scales` of Q8 / Q4. */
  matrix(name: string, m: WeightMatrix, r0 = 0, r1?: number): void {
    if (isHalf(m)) {
      const { bits, shape } = m.toData(this.heap, r0, r1 ?? m.rows);
      this.tensors.set(name, { dtype: m.dtype === 'f16' ? 'F16' : 'BF16', shape: [...shape], data: bits });
      return;
    }
    if (!isQ8(m)) {
      const cols = m.shape[1]!;
      const end = r1 ?? m.shape[0]!;
      this.tensors.set(name, { dtype: 'F32', shape: [end - r0, cols], data: m.data.slice(r0 * cols, end * cols) });
      return;
    }
    const end = r1 ?? m.rows;
    const { values, scales } = m.toData(this.heap, r0, end);
    if (m.dtype === 'q8') this.tensors.set(name, { dtype: 'I8', shape: [end - r0, m.cols], data: values as Int8Array });
    else this.tensors.set(name, { dtype: 'U8', shape: [end - r0, m.cols / 2], data: values as Uint8Array });
    this.tensors.set(name + SCALES, { dtype: 'F32', shape: [end - r0, m.cols / Q8_BLOCK], data: scales });
  }

  /** The file: the tensors and the metadata of the format. */
  bytes(dtype: WeightDtype, kind: 'causal-lm' | 'encoder', embeddingDtype: WeightDtype): Uint8Array {
    return writeSafetensors(this.tensors, { format: SAVED_FORMAT, version: SAVED_VERSION, dtype, block: String(Q8_BLOCK), kind, embeddingDtype });
  }
}

/** What a saved file's metadata says: the layers' dtype, the tables' and head's, and the kind of model. */
export interface SavedFormat {
  dtype: WeightDtype;
  embeddingDtype: WeightDtype;
  kind: 'causal-lm' | 'encoder';
}

/** The metadata of a saved file, or undefined for any other checkpoint. */
export function savedFormat(weights: StateDict, where: string): SavedFormat | undefined {
  const meta = (weights as { __metadata__?: Record<string, string> }).__metadata__;
  if (meta?.['format'] !== SAVED_FORMAT) {
    for (const [name, t] of Object.entries(weights)) {
      const dtype = (t as { dtype?: unknown }).dtype;
      if (dtype === 'I8' || dtype === 'U8') throw new Error(`${where}: tensor ${name} is ${dtype}: integer tensors are read only from a file that model.save() wrote (__metadata__ format '${SAVED_FORMAT}'); this file's metadata is ${describe(meta ?? null)}`);
    }
    return undefined;
  }
  const dtype = meta['dtype'];
  const kind = meta['kind'];
  const embeddingDtype = meta['embeddingDtype'] ?? dtype;
  if (meta['version'] !== SAVED_VERSION) throw new Error(`${where}: the weights were saved in version ${describe(meta['version'])} of the ${SAVED_FORMAT} format; this runtime reads version ${SAVED_VERSION}`);
  for (const [key, value] of [['dtype', dtype], ['embeddingDtype', embeddingDtype]] as const) {
    if (!(WEIGHT_DTYPES as readonly unknown[]).includes(value)) throw new Error(`${where}: the saved weights' __metadata__ ${key} is ${describe(value)}; expected ${WEIGHT_DTYPES.slice(0, -1).map((d) => `'${d}'`).join(', ')} or '${WEIGHT_DTYPES.at(-1)}'`);
  }
  if (meta['block'] !== String(Q8_BLOCK)) throw new Error(`${where}: the saved weights' block is ${describe(meta['block'])}; this runtime reads blocks of ${Q8_BLOCK}`);
  if (kind !== 'causal-lm' && kind !== 'encoder') throw new Error(`${where}: the saved weights' __metadata__ kind is ${describe(kind)}; expected 'causal-lm' or 'encoder'`);
  return { dtype: dtype as WeightDtype, embeddingDtype: embeddingDtype as WeightDtype, kind };
}

/**
 * The tensors of a saved file by name: F32 tensors as they are, each quantized pair (`<name>` and
 * `<name>.scales`) as one QuantizedData. `take(name)` marks a name read; `rest()` lists the others.
 */
export class SavedReader {
  private readonly read = new Set<string>();
  constructor(private readonly weights: StateDict, private readonly where: string) {}

  has(name: string): boolean {
    return this.weights[name] !== undefined;
  }

  /** The tensor `name` (f32 `{ data, shape }`, or QuantizedData); an Error when it is missing. */
  take(name: string): TensorLike | QuantizedData {
    const t = this.weights[name] as SafetensorsTensor | SafetensorsByteTensor | TensorLike | undefined;
    if (t === undefined) throw new Error(`${this.where}: the saved weights have no tensor ${name}`);
    this.read.add(name);
    const dtype = (t as { dtype?: string }).dtype;
    if (dtype !== 'I8' && dtype !== 'U8') return t as TensorLike;
    const s = this.weights[name + SCALES] as SafetensorsTensor | undefined;
    this.read.add(name + SCALES);
    const shape = (t as SafetensorsByteTensor).shape;
    const [rows, width] = shape as [number, number];
    const cols = dtype === 'U8' ? 2 * width : width;
    if (shape.length !== 2 || !s || s.dtype !== 'F32' || s.shape.length !== 2 || s.shape[0] !== rows || s.shape[1] !== cols / Q8_BLOCK || cols % Q8_BLOCK !== 0) {
      throw new Error(`${this.where}: the quantized tensor ${name} [${shape.join(', ')}] needs ${name}${SCALES} F32 [${rows}, ${cols / Q8_BLOCK}] (and a width that is a multiple of ${Q8_BLOCK}), found ${s ? `${s.dtype} [${s.shape.join(', ')}]` : 'none'}`);
    }
    return { dtype: dtype === 'I8' ? 'q8' : 'q4', shape: [rows, cols], values: (t as SafetensorsByteTensor).data, scales: s.data };
  }

  /** The f32 tensor `name` (a vector, or a table kept f32); an Error when it is missing or quantized. */
  f32(name: string): TensorLike {
    const t = this.take(name);
    if (isQuantizedData(t)) throw new Error(`${this.where}: the saved tensor ${name} is ${t.dtype}; this model holds it as f32`);
    return t;
  }

  /** Every tensor by name, each quantized pair as one QuantizedData under `<name>` (a state_dict for the modules). */
  stateDict(): Record<string, TensorLike | QuantizedData> {
    const out: Record<string, TensorLike | QuantizedData> = {};
    for (const name of Object.keys(this.weights)) if (!this.read.has(name) && !name.endsWith(SCALES)) out[name] = this.take(name);
    this.finish();
    return out;
  }

  /** Names in the file that were not read (an Error lists them: the file is not this model's). */
  finish(): void {
    const rest = Object.keys(this.weights).filter((n) => !this.read.has(n));
    if (rest.length) throw new Error(`${this.where}: the saved weights hold tensors this model does not read: ${rest.slice(0, 4).join(', ')}${rest.length > 4 ? ` and ${rest.length - 4} more` : ''} (saved from a different config.json?)`);
  }
}
