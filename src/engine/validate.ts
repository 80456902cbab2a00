/**
 * Checks on user input. Each failure names the argument and says what was expected and what
 * was received; nothing is allocated before every check has passed, so a bad call leaves the
 * runtime as it was.
 */
import { Tensor, type Heap } from './memory.js';
import { editDistance } from '../reference/names.js';
import type { HalfDtype } from './half.js';

/** The typed arrays of numbers that tensor data may be, besides Float32Array (Float16Array too, where the engine has it). */
export type NumericArray = Float64Array | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array;

/**
 * A tensor given by value: row-major data and its shape. Float32Array data is used as is; an
 * array of numbers (a PyTorch tensor's `.flatten().tolist()`) or another numeric typed array
 * (Float64Array, Int32Array, Uint8Array, Float16Array …) is converted to float32 once, NaN kept.
 * BigInt64Array and BigUint64Array are refused: convert them to numbers first.
 */
export interface TensorData {
  data: Float32Array | NumericArray | readonly number[];
  shape: readonly number[];
}

/** What tensor data may be, for messages. */
const DATA_KINDS = 'a Float32Array, another numeric typed array or an array of numbers';

/**
 * `data` as float32: a Float32Array as is, a numeric typed array or an array of numbers converted
 * (NaN stays NaN); undefined for anything else (the caller says what it expected).
 */
export function asFloat32(name: string, data: unknown, shapeName = 'shape'): Float32Array | undefined {
  if (data instanceof Float32Array) return data;
  if (Array.isArray(data)) {
    if (data.some((x) => Array.isArray(x))) {
      throw new TypeError(`${name} is a nested array: flatten it row-major (data.flat(Infinity), or PyTorch's t.flatten().tolist()) and give its dimensions as ${shapeName}`);
    }
    const bad = data.findIndex((x) => typeof x !== 'number');
    if (bad >= 0) throw new TypeError(`${name}[${bad}] must be a number, received ${describe(data[bad])}`);
    return Float32Array.from(data as number[]);
  }
  if (!ArrayBuffer.isView(data) || data instanceof DataView) return undefined;
  const kind = data.constructor.name;
  if (kind === 'BigInt64Array' || kind === 'BigUint64Array') {
    throw new TypeError(`${name} is a ${describe(data)} of BigInts: convert it to numbers first (Float32Array.from(data, Number)); tensors are float32`);
  }
  return new Float32Array(data as unknown as ArrayLike<number>);
}

/** What every op accepts: a resident tensor or plain data. */
export type TensorLike = Tensor | TensorData;

/**
 * O with every key that T lacks typed `never`: an option name the op does not know fails to
 * compile (as it throws at run time), even when the object also has known options.
 */
export type Exact<O, T> = O & Record<Exclude<keyof O, keyof T>, never>;

/** Whether an argument in a tensor position is really an options object (no tensor has neither data nor shape). */
export function isOptionsObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !(value instanceof Tensor) && !('data' in value) && !('shape' in value);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (value instanceof DataView) return `DataView(${value.byteLength} bytes)`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/** A shape: an array of positive safe integers. */
export function checkShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${name} must be an array of dimensions, received ${describe(shape)}`);
  for (const dim of shape) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 1) {
      throw new RangeError(`${name} must hold positive integers, received ${formatShape(shape.map((d) => (typeof d === 'number' ? d : describe(d))))}`);
    }
  }
  return shape as number[];
}

/** A checked tensor argument: its shape, and either its resident tensor or its data. */
export interface Checked {
  name: string;
  shape: number[];
  tensor?: Tensor;
  /** The values as f32 (for a 16-bit tensor: converted when first read). */
  data?: Float32Array;
  /** A tensor read from a file as 16-bit floats (readSafetensors' keep16): its patterns, for weights held in 16 bits. */
  half?: HalfData;
}

/** 16-bit floats as stored: their bit patterns and which format they are. */
export interface HalfData {
  bits: Uint16Array;
  dtype: HalfDtype;
}

/**
 * A safetensors tensor that kept its 16-bit patterns ({ bits, dtype: 'F16' | 'BF16', shape, data }).
 * Patterns behind a getter (a file read tensor by tensor) are read only when used.
 */
function halfDataOf(value: object): HalfData | undefined {
  const { dtype } = value as { dtype?: unknown };
  if (dtype !== 'F16' && dtype !== 'BF16') return undefined;
  const format = dtype === 'F16' ? 'f16' : 'bf16';
  const own = Object.getOwnPropertyDescriptor(value, 'bits');
  if (own?.get) return { dtype: format, get bits() { return own.get!.call(value) as Uint16Array; } };
  const { bits } = value as { bits?: unknown };
  return bits instanceof Uint16Array ? { bits, dtype: format } : undefined;
}

/** The tensor-like a checked 16-bit tensor came as: the patterns kept, `data` converted when read. */
export function halfTensorLike(half: HalfData, shape: readonly number[], data: () => Float32Array): TensorLike {
  return { shape: [...shape], dtype: half.dtype === 'f16' ? 'F16' : 'BF16', bits: half.bits, get data() { return data(); } } as TensorLike;
}

export function checkTensor(name: string, value: unknown, heap: Heap): Checked {
  if (value instanceof Tensor) {
    if (value.disposed) throw new TypeError(`${name} is a disposed tensor`);
    if (!value.belongsTo(heap)) throw new TypeError(`${name} is a tensor of another runtime`);
    return { name, shape: [...value.shape], tensor: value };
  }
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    throw new TypeError(`${name} is a bare ${describe(value)} without a shape: pass { data, shape } (e.g. { data, shape: [B, H, L, D] }) or a runtime tensor (runtime.tensor(data, shape))`);
  }
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`${name} must be a runtime tensor or { data, shape } (data ${DATA_KINDS}), received ${describe(value)}`);
  }
  const { shape } = value as Partial<TensorData>;
  const half = halfDataOf(value);
  if (half) {
    // the 16-bit patterns are checked and kept; `data` is converted only if someone reads it
    const dims = checkShape(`${name}.shape`, shape);
    const size = dims.reduce((a, b) => a * b, 1);
    const lazy = Object.getOwnPropertyDescriptor(half, 'bits')?.get !== undefined; // a file's tensor, its size checked when read
    if (!lazy && half.bits.length !== size) throw new RangeError(`${name}.bits has ${half.bits.length} elements but ${name}.shape ${formatShape(dims)} needs ${size}`);
    const arg: Checked = { name, shape: dims, half };
    Object.defineProperty(arg, 'data', { enumerable: true, get: () => (value as TensorData).data });
    return arg;
  }
  const given = (value as Partial<TensorData>).data as unknown;
  const data = asFloat32(`${name}.data`, given, `${name}.shape`);
  if (data === undefined) {
    throw new TypeError(`${name}.data must be ${DATA_KINDS}, received ${describe(given)}${given === undefined ? ` (pass { data, shape } or a runtime tensor)` : ''}`);
  }
  const dims = checkShape(`${name}.shape`, shape);
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new RangeError(`${name}.data has ${data.length} elements but ${name}.shape ${formatShape(dims)} needs ${size}`);
  }
  return { name, shape: dims, data };
}

/** Reads a rank-2, -3 or -4 shape as [batch, heads, length, dim]. */
export function asBHLD(arg: Checked): [number, number, number, number] {
  const s = arg.shape;
  if (s.length === 4) return [s[0]!, s[1]!, s[2]!, s[3]!];
  if (s.length === 3) return [1, s[0]!, s[1]!, s[2]!];
  if (s.length === 2) return [1, 1, s[0]!, s[1]!];
  throw new RangeError(`${arg.name} must have shape [batch, heads, length, dim], [heads, length, dim] or [length, dim], received ${formatShape(s)}`);
}

/** Throws unless `shape` matches `expected`, where a string entry names a free dimension. */
export function expectShape(name: string, shape: readonly number[], expected: readonly (number | string)[], why: string): void {
  const ok = shape.length === expected.length && expected.every((e, i) => typeof e === 'string' || e === shape[i]);
  if (!ok) throw new RangeError(`${name}: expected shape ${formatShape(expected)} (${why}), received ${formatShape(shape)}`);
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, received ${describe(value)}`);
  return value;
}

export function checkFinite(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${name} must be a finite number, received ${describe(value)}`);
  return value;
}

/** Per-batch key lengths: `batch` integers in [0, max]. */
export function checkLengths(name: string, value: unknown, batch: number, max: number): Int32Array | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) && !(ArrayBuffer.isView(value) && !(value instanceof DataView))) {
    throw new TypeError(`${name} must be an array of ${batch} integers, received ${describe(value)}`);
  }
  const lengths = value as ArrayLike<number>;
  if (lengths.length !== batch) throw new RangeError(`${name}: expected ${batch} entries (one per batch), received ${lengths.length}`);
  const out = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const n = lengths[b];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
      throw new RangeError(`${name}[${b}] must be an integer in [0, ${max}], received ${describe(n)}`);
    }
    out[b] = n;
  }
  return out;
}

/**
 * An options object of `fn`: undefined (no options) or an object whose every key is one of `known`.
 * An unknown key is a TypeError that names it and the nearest known name, because a misspelt
 * option silently ignored gives a wrong result (PyTorch users type `is_causal`, `attn_mask`).
 */
export function checkOptions(name: string, value: unknown, known: readonly string[], fn: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new TypeError(`${name} of ${fn} must be an object, received ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new TypeError(`${name}.${key} is not an option of ${fn}; ${hint(key, known)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Names from PyTorch and other libraries that users carry over (folded: lower case, no '_' or '-'),
 * and what to use here instead, best first: the first one the function knows is suggested.
 * PyTorch's snake_case names of options we spell in camelCase (attn_mask → attnMask,
 * dim_feedforward → dimFeedforward, batch_first → batchFirst …) need no entry: a known name that
 * folds to the same letters is suggested first.
 */
const FOREIGN: Record<string, readonly string[]> = {
  iscausal: ['causal'],
  tgtiscausal: ['causal'],
  srciscausal: ['causal'],
  keypaddingmask: ['keyPaddingMask', 'keyLengths'],
  srckeypaddingmask: ['srcKeyPaddingMask', 'keyPaddingMask', 'keyLengths'],
  tgtkeypaddingmask: ['tgtKeyPaddingMask', 'keyPaddingMask', 'keyLengths'],
  memorykeypaddingmask: ['memoryKeyPaddingMask', 'memoryKeyLengths'],
  needweights: ['needWeights', 'returnWeights'],
  returnweights: ['returnWeights', 'needWeights'],
  attnmask: ['attnMask'],
  mask: ['attnMask', 'mask'],
  srcmask: ['attnMask'],
  tgtmask: ['attnMask'],
  windowsize: ['window'],
  slidingwindow: ['window'],
  enablegqa: [''],
  // onnxruntime / tfjs / PyTorch thread settings
  numthreads: ['threads'],
  intraopnumthreads: ['threads'],
  wasmnumthreads: ['threads'],
};

const fold = (name: string): string => name.toLowerCase().replace(/[_-]/g, '');

function hint(key: string, known: readonly string[]): string {
  const folded = fold(key);
  const same = known.find((name) => fold(name) === folded);
  if (same !== undefined) return `did you mean ${same}?`;
  const foreign = FOREIGN[folded];
  if (foreign !== undefined) {
    const use = foreign.find((name) => name !== '' && known.includes(name));
    if (use !== undefined) return `did you mean ${use}?`;
    if (foreign[0] === 'attnMask') {
      return `attention masks are not supported here; masking is by ${known.filter((k) => k === 'causal' || k === 'keyLengths').join(' and ') || 'the options listed'} (options: ${known.join(', ')})`;
    }
    if (folded === 'enablegqa') return 'grouped-query attention needs no option: give k and v fewer heads than q (a divisor of its heads)';
  }
  let best = '';
  let bestDistance = Infinity;
  for (const name of known) {
    const d = editDistance(folded, name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? `did you mean ${best}?` : `its options are ${known.join(', ')}`;
}


/** A named weight of a module: present, float32, and of the expected shape (string entries are free). */
export function checkWeight(where: string, name: string, value: unknown, heap: Heap, expected: readonly (number | string)[], why: string): Checked {
  const label = `${where}: ${name}`;
  if (value === undefined || value === null) throw new TypeError(`${label} is missing (expected shape ${formatShape(expected)}, ${why})`);
  const arg = checkTensor(label, value, heap);
  expectShape(label, arg.shape, expected, why);
  return arg;
}

export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}], received ${describe(value)}`);
  }
  return value;
}
