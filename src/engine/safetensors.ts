/**
 * A reader of Hugging Face safetensors files (https://github.com/huggingface/safetensors), to
 * load trained weights without Python:
 *   bytes 0 … 7       N, the header length: a little-endian unsigned 64-bit integer
 *   bytes 8 … 8+N     the header: UTF-8 JSON { name: { dtype, shape, data_offsets: [begin, end] },
 *                     "__metadata__"?: { key: value } } (may end in spaces)
 *   bytes 8+N …       the data buffer; [begin, end) are byte offsets relative to its start,
 *                     row-major, little-endian
 * F32 tensors are copied, F16 and BF16 converted exactly to float32 (every half and bfloat16
 * value, ±0, subnormals, ±∞ and NaN with its payload, is a float32); I8 and U8 tensors are copied
 * as Int8Array and Uint8Array (the values and packed 4-bit pairs of the quantized weights
 * model.save() writes). Other dtypes are refused with an Error that names the tensor. A malformed file is an Error saying what is wrong and
 * where (the tensor, its offsets in the data buffer and in the file); nothing is read outside
 * the file and nothing is allocated beyond its size.
 *
 * Lenient on purpose, where the Rust reader is strict: gaps between tensors and bytes after the
 * last one are allowed (the data buffer need not be fully indexed), and unknown fields of an
 * entry are ignored. Strict where JSON.parse is not: a key that appears twice in one object of
 * the header (JSON.parse would keep the last silently) is an Error.
 */

/** One tensor of a safetensors file, as float32: `{ data, shape }` is the runtime's TensorLike. */
export interface SafetensorsTensor {
  /** The values, row-major, in a fresh Float32Array of its own (converted exactly from F16 / BF16). */
  data: Float32Array;
  shape: number[];
  /** The dtype stored in the file. */
  dtype: 'F32' | 'F16' | 'BF16';
}

/** An I8 or U8 tensor, read with `{ integers: true }`. */
export interface SafetensorsByteTensor {
  /** The values, row-major, in a fresh array of their own. */
  data: Int8Array | Uint8Array;
  shape: number[];
  dtype: 'I8' | 'U8';
}

/** The `__metadata__` of a file; an interface, so that `Object.entries(file)` is typed as tensors only. */
export interface SafetensorsMetadata {
  /**
   * The file's `__metadata__` (string → string), present only when the file has one. It is a
   * non-enumerable property: `Object.keys`, `Object.entries` and `for … in` see the tensors only,
   * and the record passes as a state_dict (`weights`) as it is. No tensor may be named `__metadata__`.
   */
  readonly __metadata__?: Readonly<Record<string, string>>;
}

/**
 * What `readSafetensors` returns: the tensors keyed by name (a null-prototype object, so names such
 * as `constructor` or `__proto__` are ordinary keys) plus the non-enumerable `__metadata__`.
 * `Names` is the tensor names as the caller knows them (default any string); it is not checked at
 * compile time, only where the tensors are used (`multiHeadAttention` names a missing weight).
 */
export type SafetensorsFile<Names extends string = string, T = SafetensorsTensor> = { [K in Names]: T } & SafetensorsMetadata;

export interface ReadSafetensorsOptions {
  /** Read I8 and U8 tensors too, as Int8Array / Uint8Array (default false: they are an Error). */
  integers?: boolean;
}

/** The header length limit of the reference implementation (and ours): 100 MB. */
const MAX_HEADER = 100_000_000;

const BYTES = { F32: 4, F16: 2, BF16: 2, I8: 1, U8: 1 } as const;
type Dtype = keyof typeof BYTES;

/** The other dtypes of the format, named in the error as known but unsupported. */
const OTHER_DTYPES = ['F64', 'I64', 'U64', 'I32', 'U32', 'I16', 'U16', 'BOOL', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'];

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const WHERE = 'readSafetensors';

function fail(message: string): never {
  throw new Error(`${WHERE}: ${message}`);
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Reads a safetensors file: a Uint8Array (a view anywhere in a larger buffer is fine, e.g. a Node
 * Buffer from fs.readFileSync) or an ArrayBuffer. Returns every tensor as `{ data: Float32Array,
 * shape, dtype }` keyed by name, and the file's `__metadata__` as a non-enumerable property:
 *
 *   const t = readSafetensors(fs.readFileSync('layer.safetensors'));
 *   rt.multiHeadAttention({ embedDim, numHeads, weights: t });              // a file of exactly these weights
 *   rt.multiHeadAttention({ embedDim, numHeads, weights: { in_proj_weight: t['self_attn.in_proj_weight'], … } });
 *
 * With `{ integers: true }`, I8 and U8 tensors are read too (`{ data: Int8Array | Uint8Array, shape,
 * dtype }`). Throws an Error for any other dtype and for a malformed file.
 */
export function readSafetensors<Names extends string = string>(bytes: Uint8Array | ArrayBuffer, options?: { integers?: false }): SafetensorsFile<Names>;
export function readSafetensors<Names extends string = string>(bytes: Uint8Array | ArrayBuffer, options: { integers: true }): SafetensorsFile<Names, SafetensorsTensor | SafetensorsByteTensor>;
export function readSafetensors(bytes: Uint8Array | ArrayBuffer, options?: ReadSafetensorsOptions): SafetensorsFile<string, SafetensorsTensor | SafetensorsByteTensor> {
  const opts = options ?? {};
  for (const key of Object.keys(opts)) if (key !== 'integers') throw new TypeError(`${WHERE}: unknown option ${key} (expected integers)`);
  if (opts.integers !== undefined && typeof opts.integers !== 'boolean') throw new TypeError(`${WHERE}: options.integers must be true or false, received ${show(opts.integers)}`);
  return readTensors(bytes, false, opts.integers === true);
}

/**
 * @internal readSafetensors for loading a model tensor by tensor: the same checks, but each float
 * tensor's `data` is converted when it is read (on every read, nothing cached), so a model whose f32
 * weights would not fit in memory at once loads one tensor at a time; I8 / U8 data are views of `bytes`.
 */
export function readSafetensorsLazily(bytes: Uint8Array | ArrayBuffer): SafetensorsFile<string, SafetensorsTensor | SafetensorsByteTensor> {
  return readTensors(bytes, true, true);
}

function readTensors(bytes: Uint8Array | ArrayBuffer, lazy: boolean, integers: boolean): SafetensorsFile<string, SafetensorsTensor | SafetensorsByteTensor> {
  let u8: Uint8Array;
  if (bytes instanceof Uint8Array) u8 = bytes;
  else if (bytes instanceof ArrayBuffer) u8 = new Uint8Array(bytes);
  else throw new TypeError(`${WHERE}: expected the file's bytes as a Uint8Array or an ArrayBuffer, received ${bytes === null ? 'null' : typeof bytes === 'object' ? Object.prototype.toString.call(bytes) : typeof bytes}`);

  const size = u8.length;
  if (size === 0) fail('the file is empty (0 bytes): a safetensors file starts with an 8-byte header length');
  if (size < 8) fail(`the file is ${size} bytes, shorter than the 8-byte header length it starts with`);
  const view = new DataView(u8.buffer, u8.byteOffset, size);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLength = hi * 2 ** 32 + lo; // exact below 2^53; anything that large is rejected anyway
  if (headerLength > MAX_HEADER) fail(`the header length (bytes 0–7) is ${headerLength} bytes, above the limit of ${MAX_HEADER} (100 MB): not a safetensors file, or a corrupt one`);
  if (headerLength > size - 8) fail(`the header length (bytes 0–7) is ${headerLength} bytes, beyond the end of the file (${size} bytes: at most ${size - 8} after the 8-byte length)`);
  if (headerLength === 0) fail('the header length (bytes 0–7) is 0: the header must be a JSON object');

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(u8.subarray(8, 8 + headerLength));
  } catch {
    fail(`the header (file bytes 8 to ${8 + headerLength}) is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`the header (file bytes 8 to ${8 + headerLength}) is not valid JSON: ${(e as Error).message}`);
  }
  if (!isRecord(header)) fail(`the header must be a JSON object { name: { dtype, shape, data_offsets } }, received ${Array.isArray(header) ? 'an array' : header === null ? 'null' : typeof header}`);
  checkDuplicateKeys(text);

  const dataStart = 8 + headerLength;
  const dataLength = size - dataStart;
  const entries: Entry[] = [];
  let metadata: Record<string, string> | undefined;
  for (const name of Object.keys(header)) {
    const raw = header[name];
    if (name === '__metadata__') {
      if (raw === null) continue;
      if (!isRecord(raw)) fail(`__metadata__ must be an object of strings, received ${show(raw)}`);
      metadata = Object.create(null) as Record<string, string>;
      for (const key of Object.keys(raw)) {
        const value = raw[key];
        if (typeof value !== 'string') fail(`__metadata__[${show(key)}] must be a string, received ${show(value)}`);
        metadata[key] = value;
      }
      continue;
    }
    entries.push(checkEntry(name, raw, dataStart, dataLength, integers));
  }

  // Overlaps: sorted by start, each non-empty tensor must begin at or after the previous one's end.
  const ranges = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur.begin < prev.end) {
      fail(`tensors ${show(prev.name)} (data_offsets [${prev.begin}, ${prev.end}]) and ${show(cur.name)} (data_offsets [${cur.begin}, ${cur.end}]) overlap in bytes [${cur.begin}, ${Math.min(prev.end, cur.end)}) of the data buffer (file bytes ${dataStart + cur.begin} to ${dataStart + Math.min(prev.end, cur.end)})`);
    }
  }

  const tensors = Object.create(null) as Record<string, SafetensorsTensor | SafetensorsByteTensor>;
  for (const e of entries) {
    const [from, to] = [dataStart + e.begin, dataStart + e.end];
    if (!lazy) tensors[e.name] = { data: convert(u8, view, from, to, e.dtype), shape: e.shape, dtype: e.dtype } as SafetensorsTensor | SafetensorsByteTensor;
    else if (e.dtype === 'I8' || e.dtype === 'U8') {
      const data = e.dtype === 'I8' ? new Int8Array(u8.buffer, u8.byteOffset + from, to - from) : u8.subarray(from, to);
      tensors[e.name] = { data, shape: e.shape, dtype: e.dtype };
    } else {
      const tensor = { shape: e.shape, dtype: e.dtype } as SafetensorsTensor;
      Object.defineProperty(tensor, 'data', { get: () => convert(u8, view, from, to, e.dtype), enumerable: true });
      tensors[e.name] = tensor;
    }
  }
  if (metadata) Object.defineProperty(tensors, '__metadata__', { value: Object.freeze(metadata), enumerable: false, writable: false, configurable: true });
  return tensors as SafetensorsFile<string, SafetensorsTensor | SafetensorsByteTensor>;
}

function checkEntry(name: string, raw: unknown, dataStart: number, dataLength: number, integers: boolean): Entry {
  const what = `tensor ${show(name)}`;
  if (!isRecord(raw)) fail(`${what}: the header entry must be an object { dtype, shape, data_offsets }, received ${show(raw)}`);
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.hasOwn(raw, field)) fail(`${what}: the header entry has no ${field} (it needs dtype, shape and data_offsets), received ${show(raw)}`);
  }
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string') fail(`${what}: dtype must be a string such as "F32", received ${show(dtype)}`);
  if (!Array.isArray(shape)) fail(`${what}: shape must be an array of non-negative integers, received ${show(shape)}`);
  shape.forEach((d: unknown, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) fail(`${what}: shape[${i}] must be a non-negative integer, received ${show(d)} (shape ${show(shape)})`);
  });
  if (!Array.isArray(offsets) || offsets.length !== 2) fail(`${what}: data_offsets must be [begin, end], received ${show(offsets)}`);
  const [begin, end] = offsets as unknown[];
  for (const [label, v] of [['begin', begin], ['end', end]] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${what}: data_offsets ${label} must be a non-negative integer, received ${show(v)} (data_offsets ${show(offsets)})`);
  }
  if (!Object.hasOwn(BYTES, dtype)) {
    const known = OTHER_DTYPES.includes(dtype) ? `dtype ${dtype}, which readSafetensors does not read` : `an unknown dtype ${show(dtype)}`;
    fail(`${what} has ${known}: supported dtypes are F32, F16 and BF16, and I8 and U8 with { integers: true } (convert it before saving, e.g. tensor.to(torch.float32))`);
  }
  if (!integers && (dtype === 'I8' || dtype === 'U8')) fail(`${what} has dtype ${dtype}, which readSafetensors reads only with { integers: true }: supported dtypes are F32, F16 and BF16`);
  const b = begin as number;
  const e = end as number;
  const where = `data_offsets [${b}, ${e}]`;
  if (e < b) fail(`${what}: ${where} end before begin`);
  if (e > dataLength) fail(`${what}: ${where} lie outside the data buffer of ${dataLength} bytes (file bytes ${dataStart} to ${dataStart + dataLength}; the tensor would end at file byte ${dataStart + e})`);
  const dims = shape as number[];
  const count = dims.reduce((a, d) => a * d, 1);
  const need = count * BYTES[dtype as Dtype];
  if (need !== e - b) {
    fail(`${what}: ${where} hold ${e - b} bytes but shape ${show(dims)} of ${dtype} needs ${Number.isSafeInteger(need) ? need : 'more than 2^53'} (${count} × ${BYTES[dtype as Dtype]} bytes)`);
  }
  return { name, dtype: dtype as Dtype, shape: [...dims], begin: b, end: e };
}

/** The values of file bytes [from, to) stored as `dtype` (little-endian): float32, or the I8 / U8 bytes copied. */
function convert(u8: Uint8Array, view: DataView, from: number, to: number, dtype: Dtype): Float32Array | Int8Array | Uint8Array {
  if (dtype === 'U8') return u8.slice(from, to);
  if (dtype === 'I8') return new Int8Array(u8.slice(from, to).buffer);
  const n = (to - from) / BYTES[dtype];
  const out = new Float32Array(n);
  if (dtype === 'F32') {
    if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(u8.subarray(from, to));
    else for (let i = 0; i < n; i++) out[i] = view.getFloat32(from + 4 * i, true);
    return out;
  }
  // The bits are written as integers, so NaN payloads survive (no float round trip).
  const bits = new Uint32Array(out.buffer);
  if (!LITTLE_ENDIAN) {
    // Uint32Array stores in platform order; go through a DataView instead.
    const outView = new DataView(out.buffer);
    for (let i = 0; i < n; i++) {
      const h = view.getUint16(from + 2 * i, true);
      outView.setUint32(4 * i, dtype === 'BF16' ? h << 16 >>> 0 : halfToFloatBits(h), false);
    }
    return out;
  }
  if (dtype === 'BF16') {
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(from + 2 * i, true) << 16;
  } else {
    for (let i = 0; i < n; i++) bits[i] = halfToFloatBits(view.getUint16(from + 2 * i, true));
  }
  return out;
}

/** The float32 bits of IEEE 754 half h (exact: every half is a float32). */
function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // ±∞, NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // normal: rebias 15 → 127
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal m·2^-24: normalise so the leading 1 is at bit 10; the exponent drops with each shift.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/**
 * Throws if an object of the header (already valid JSON) has a key twice: JSON.parse keeps the
 * last one silently, so a tensor listed twice would read as one. One pass over the text.
 */
function checkDuplicateKeys(text: string): void {
  // One frame per open object or array: the keys seen (objects), and the object's own key in its parent.
  const stack: { keys: Set<string> | undefined; name: string | undefined }[] = [];
  let lastKey: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      const frame = stack[stack.length - 1];
      if (!frame?.keys) continue;
      let j = i + 1;
      while (j < text.length && (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r')) j++;
      if (text[j] !== ':') continue; // a string value, not a key
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (frame.keys.has(key)) {
        if (stack.length === 1) fail(`the header lists tensor ${show(key)} twice (header character ${start})`);
        fail(`the header has key ${show(key)} twice in the entry ${show(frame.name)} (header character ${start})`);
      }
      frame.keys.add(key);
      lastKey = key;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push({ keys: c === 0x7b ? new Set() : undefined, name: lastKey });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    }
  }
}
