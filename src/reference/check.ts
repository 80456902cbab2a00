/**
 * The argument checks of the twins: the same rules as the runtime's (src/validate.ts), written
 * again here so that the reference imports nothing else of the package. A twin rejects what the
 * runtime rejects (unknown option names, wrong ranks and shapes, bad lengths), with the same kind
 * of error (TypeError or RangeError) and, where it matters to callers, the same message.
 */
import type { ReferenceTensor } from './tensor.js';

/**
 * O with every key that T lacks typed `never`: an option name the op does not know fails to
 * compile, as it does with the runtime.
 */
export type Exact<O, T> = O & Record<Exclude<keyof O, keyof T>, never>;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/** Whether an argument in a tensor position is really an options object (it has neither data nor shape). */
export function isOptionsObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !('data' in value) && !('shape' in value);
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

/** A tensor argument `{ data: Float32Array, shape }` (a runtime `Tensor` is one too): its data and checked shape. */
export function checkTensor(name: string, value: unknown): { data: Float32Array; shape: number[] } {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`${name} must be a tensor or { data: Float32Array, shape: number[] }, received ${describe(value)}`);
  }
  const { data, shape } = value as Partial<ReferenceTensor>;
  if (!(data instanceof Float32Array)) throw new TypeError(`${name}.data must be a Float32Array, received ${describe(data)}`);
  const dims = checkShape(`${name}.shape`, shape);
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new RangeError(`${name}.data has ${data.length} elements but ${name}.shape ${formatShape(dims)} needs ${size}`);
  return { data, shape: [...dims] };
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

export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}], received ${describe(value)}`);
  }
  return value;
}

/** Per-batch lengths: `batch` integers in [0, max]. */
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

/** An options object of `fn`: undefined, or an object whose every key is one of `known`. */
export function checkOptions(name: string, value: unknown, known: readonly string[], fn: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new TypeError(`${name} of ${fn} must be an object, received ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new TypeError(`${name}.${key} is not an option of ${fn}; its options are ${known.join(', ')}`);
  }
  return value as Record<string, unknown>;
}

/** A named weight of a module: present, float32, of the expected shape (string entries are free); a copy of its data. */
export function checkWeight(where: string, name: string, value: unknown, expected: readonly (number | string)[], why: string): { data: Float32Array; shape: number[] } {
  const label = `${where}: ${name}`;
  if (value === undefined || value === null) throw new TypeError(`${label} is missing (expected shape ${formatShape(expected)}, ${why})`);
  const arg = checkTensor(label, value);
  expectShape(label, arg.shape, expected, why);
  // The runtime copies module weights into its memory at construction: so does the twin.
  return { data: arg.data.slice(), shape: arg.shape };
}

/** [B, H, L, D] of a rank-2, -3 or -4 shape (the ranks the attention ops accept). */
export function asBHLD(name: string, shape: readonly number[]): [number, number, number, number] {
  if (shape.length === 4) return [shape[0]!, shape[1]!, shape[2]!, shape[3]!];
  if (shape.length === 3) return [1, shape[0]!, shape[1]!, shape[2]!];
  if (shape.length === 2) return [1, 1, shape[0]!, shape[1]!];
  throw new RangeError(`${name} must have shape [batch, heads, length, dim], [heads, length, dim] or [length, dim], received ${formatShape(shape)}`);
}

/** options.window: [left, right], two integers ≥ −1 (the runtime's rule and message). */
export function checkWindow(value: unknown): [number, number] | undefined {
  if (value === undefined) return undefined;
  const ok = Array.isArray(value) && value.length === 2 && value.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= -1);
  if (!ok) throw new RangeError(`options.window must be [left, right], two integers ≥ −1 (−1: unbounded on that side), received ${Array.isArray(value) ? formatShape(value.map(describe)) : describe(value)}`);
  return [value[0] as number, value[1] as number];
}

/** A mask `{ data, shape }` broadcastable to `target` [B, H, Lq, Lk]: the runtime's checks (kinds and messages) of options.attnMask. */
export function checkAttnMask(value: unknown, target: readonly number[]): { data: Uint8Array | Float32Array | readonly boolean[]; shape: readonly number[] } {
  const name = 'options.attnMask';
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) {
    throw new TypeError(`${name} must be { data, shape } with data a Uint8Array or boolean[] (true: may attend) or a Float32Array (added to the scores), received ${describe(value)}`);
  }
  const { data, shape } = value as { data?: unknown; shape?: unknown };
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 4 || !shape.every((x) => Number.isSafeInteger(x) && x >= 1)) {
    throw new RangeError(`${name}.shape must be 1 to 4 positive integers broadcastable to [B, H, Lq, Lk] = ${formatShape(target)}, received ${describe(shape)}`);
  }
  const dims = [...new Array(4 - shape.length).fill(1), ...shape] as number[];
  if (!dims.every((x, i) => x === 1 || x === target[i])) {
    throw new RangeError(`${name}: shape ${formatShape(shape)} does not broadcast to [B, H, Lq, Lk] = ${formatShape(target)} (each dimension must equal it or be 1, aligned from the right)`);
  }
  const ok = data instanceof Uint8Array || data instanceof Float32Array || (Array.isArray(data) && data.every((x) => typeof x === 'boolean'));
  if (!ok) throw new TypeError(`${name}.data must be a Uint8Array or boolean[] (true: may attend) or a Float32Array (added to the scores), received ${describe(data)}`);
  const size = dims.reduce((a, b) => a * b, 1);
  const n = (data as ArrayLike<unknown>).length;
  if (n !== size) throw new RangeError(`${name}.data has ${n} elements but its shape ${formatShape(shape)} needs ${size}`);
  return { data: data as Uint8Array | Float32Array | readonly boolean[], shape: shape as number[] };
}
