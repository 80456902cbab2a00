/**
 * The attention variants of scaledDotProductAttention's options — sliding windows, soft-capping,
 * ALiBi, T5 relative position bias, mask tensors — checked (every error before anything is
 * allocated) and then moved into Wasm memory for the parameter block.
 */
import type { Heap } from '../engine/memory.js';
import { checkOptions, checkTensor, describe, formatShape, type Checked, type TensorLike } from '../engine/validate.js';
import { alibiSlopes, relativeBuckets } from './position-bias.js';
import type { Temps } from '../engine/workspace.js';

/** T5's learned relative position bias (`relative_attention_bias` of a T5 attention layer). */
export interface RelativeBias {
  /** [numBuckets, H]: T5's `relative_attention_bias.weight`. */
  table: TensorLike;
  numBuckets: number;
  maxDistance: number;
  /** true for encoders (keys on both sides get their own buckets), false for decoders. */
  bidirectional: boolean;
}

/** A mask broadcastable to [B, H, Lq, Lk]: Uint8Array (or boolean[]) non-zero = may attend; Float32Array added to the scores. */
export interface AttentionMask {
  data: Uint8Array | Float32Array | readonly boolean[];
  shape: readonly number[];
}

export interface VariantOptions {
  window?: readonly [number, number];
  softcap?: number;
  alibi?: boolean | Float32Array | readonly number[];
  relativeBias?: RelativeBias;
  attnMask?: AttentionMask;
}

/** What the options asked for, checked; `mask`/`table` data not yet in Wasm memory. */
export interface Variants {
  windowLeft: number;
  windowRight: number;
  softcap: number;
  alibi?: Float32Array;
  relative?: { table: Checked; buckets: Int32Array };
  mask?: { kind: 'bool'; data: Uint8Array; strides: number[] } | { kind: 'add'; data: Float32Array; strides: number[] };
}

/** Checks the variant options for a problem of query heads H over [B, ·, Lq, Lk]. */
export function checkVariants(opts: Record<string, unknown>, batch: number, heads: number, lq: number, lk: number, heap: Heap): Variants {
  const out: Variants = { windowLeft: -1, windowRight: -1, softcap: 0 };
  if (opts['window'] !== undefined) {
    const w = opts['window'];
    const ok = Array.isArray(w) && w.length === 2 && w.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= -1);
    if (!ok) throw new RangeError(`options.window must be [left, right], two integers ≥ −1 (−1: unbounded on that side), received ${Array.isArray(w) ? formatShape(w.map(describe)) : describe(w)}`);
    [out.windowLeft, out.windowRight] = w as [number, number];
  }
  if (opts['softcap'] !== undefined) {
    const c = opts['softcap'];
    if (typeof c !== 'number' || !Number.isFinite(c) || c <= 0) throw new RangeError(`options.softcap must be a positive finite number (scores become c·tanh(s/c)), received ${describe(c)}`);
    out.softcap = c;
  }
  const alibi = opts['alibi'];
  if (alibi === true) out.alibi = alibiSlopes(heads);
  else if (alibi !== undefined && alibi !== false) {
    if (!(alibi instanceof Float32Array) && !Array.isArray(alibi)) {
      throw new TypeError(`options.alibi must be true (the standard slopes) or one slope per head (Float32Array or number[]), received ${describe(alibi)}`);
    }
    const slopes = Float32Array.from(alibi as ArrayLike<number>);
    if (slopes.length !== heads) throw new RangeError(`options.alibi: expected ${heads} slopes (one per query head), received ${slopes.length}`);
    if (!slopes.every(Number.isFinite)) throw new RangeError('options.alibi: slopes must be finite numbers');
    out.alibi = slopes;
  }
  if (opts['relativeBias'] !== undefined) {
    const rb = checkOptions('options.relativeBias', opts['relativeBias'], ['table', 'numBuckets', 'maxDistance', 'bidirectional'], 'scaledDotProductAttention');
    const nb = rb['numBuckets'], md = rb['maxDistance'], bidi = rb['bidirectional'];
    if (typeof nb !== 'number' || !Number.isInteger(nb) || nb < 2) throw new RangeError(`options.relativeBias.numBuckets must be an integer ≥ 2, received ${describe(nb)}`);
    if (typeof md !== 'number' || !Number.isInteger(md) || md < 1) throw new RangeError(`options.relativeBias.maxDistance must be a positive integer, received ${describe(md)}`);
    if (typeof bidi !== 'boolean') throw new TypeError(`options.relativeBias.bidirectional must be a boolean, received ${describe(bidi)}`);
    const table = checkTensor('options.relativeBias.table', rb['table'], heap);
    if (table.shape.length !== 2 || table.shape[0] !== nb || table.shape[1] !== heads) {
      throw new RangeError(`options.relativeBias.table: expected shape [${nb}, ${heads}] ([numBuckets, H], T5's relative_attention_bias.weight), received ${formatShape(table.shape)}`);
    }
    out.relative = { table, buckets: relativeBuckets(lq, lk, bidi, nb, md) };
  }
  if (opts['attnMask'] !== undefined) out.mask = checkMask(opts['attnMask'], [batch, heads, lq, lk]);
  return out;
}

/** A mask checked against [B, H, Lq, Lk]: its kind, data and broadcast strides (0 along broadcast dimensions). */
export function checkMask(value: unknown, target: number[]): NonNullable<Variants['mask']> {
  const name = 'options.attnMask';
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) {
    throw new TypeError(`${name} must be { data, shape } with data a Uint8Array or boolean[] (true: may attend) or a Float32Array (added to the scores), received ${describe(value)}`);
  }
  const { data, shape } = value as Partial<AttentionMask>;
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 4 || !shape.every((x) => Number.isSafeInteger(x) && x >= 1)) {
    throw new RangeError(`${name}.shape must be 1 to 4 positive integers broadcastable to [B, H, Lq, Lk] = ${formatShape(target)}, received ${describe(shape)}`);
  }
  const dims = [...new Array(4 - shape.length).fill(1), ...shape] as number[];
  if (!dims.every((x, i) => x === 1 || x === target[i])) {
    throw new RangeError(`${name}: shape ${formatShape(shape)} does not broadcast to [B, H, Lq, Lk] = ${formatShape(target)} (each dimension must equal it or be 1, aligned from the right)`);
  }
  const size = dims.reduce((a, b) => a * b, 1);
  let kind: 'bool' | 'add';
  let flat: Uint8Array | Float32Array;
  if (data instanceof Uint8Array) [kind, flat] = ['bool', data];
  else if (data instanceof Float32Array) [kind, flat] = ['add', data];
  else if (Array.isArray(data) && data.every((x) => typeof x === 'boolean')) [kind, flat] = ['bool', Uint8Array.from(data, (x) => (x ? 1 : 0))];
  else throw new TypeError(`${name}.data must be a Uint8Array or boolean[] (true: may attend) or a Float32Array (added to the scores), received ${describe(data)}`);
  if (flat.length !== size) throw new RangeError(`${name}.data has ${flat.length} elements but its shape ${formatShape(shape)} needs ${size}`);
  // row-major strides over (b, h, i, j), 0 along broadcast dimensions
  const strides = [0, 0, 0, 0];
  let s = 1;
  for (let i = 3; i >= 0; i--) {
    strides[i] = dims[i] === 1 ? 0 : s;
    s *= dims[i]!;
  }
  return kind === 'bool' ? { kind, data: flat as Uint8Array, strides } : { kind, data: flat as Float32Array, strides };
}

/** The parameter-block fields of checked variants, their data copied into Wasm memory (temporaries of `temps`). */
export function variantFields(temps: Temps, v: Variants) {
  const alibiSlopes = v.alibi ? temps.float32(v.alibi) : 0;
  const relativeTable = v.relative ? temps.input(v.relative.table) : 0;
  const relativeBuckets = v.relative ? temps.int32(v.relative.buckets) : 0;
  let mask = 0, maskKind = 0, maskStrides = [0, 0, 0, 0];
  if (v.mask) {
    mask = v.mask.kind === 'bool' ? temps.bytes(v.mask.data) : temps.float32(v.mask.data);
    maskKind = v.mask.kind === 'bool' ? 1 : 2;
    maskStrides = v.mask.strides;
  }
  return { windowLeft: v.windowLeft, windowRight: v.windowRight, softcap: v.softcap, alibiSlopes, relativeTable, relativeBuckets, mask, maskKind, maskStrides };
}
