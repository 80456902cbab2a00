// readSafetensors: the fixtures of tools/write_safetensors.py (F32, F16, BF16 and a file with
// __metadata__) against torch's own float32 conversion, bit for bit; every half and bfloat16
// value; malformed files built here from valid ones, each with its message; a seeded fuzz loop of
// byte mutations and truncations; and the loaded self_attn weights of a TransformerEncoderLayer
// running in multiHeadAttention.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSafetensors, reference, type SafetensorsFile, type SafetensorsTensor } from '../src/index.js';
import { BUILDS, maxAbsDiff, product, runtimeFor, tensor } from './helpers.js';
import { writeSafetensors, type TensorToWrite } from '../src/engine/safetensors-write.js';

const DIR = new URL('./fixtures/safetensors/', import.meta.url);
/** A fixture as a plain Uint8Array of its own (a Node Buffer's slice() would share memory). */
const load = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, DIR)));

interface Expected {
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
  float32_le_base64: string;
}
const expected = JSON.parse(readFileSync(new URL('expected.json', DIR), 'utf8')) as { files: Record<string, Record<string, Expected>> };

/** The float32 bits of a fixture's expected values (little-endian bytes, so read with a DataView). */
function expectedBits(e: Expected): Uint32Array {
  const bytes = Buffer.from(e.float32_le_base64, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(4 * i, true));
}

const bitsOf = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Bitwise equality (so NaN equals NaN of the same payload, and +0 ≠ −0); names the first difference. */
function expectSameBits(got: Float32Array, want: Uint32Array, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  const g = bitsOf(got);
  for (let i = 0; i < want.length; i++) {
    if (g[i] !== want[i]) expect.fail(`${what}[${i}]: got 0x${g[i]!.toString(16)} (${got[i]}), want 0x${want[i]!.toString(16)}`);
  }
}

// ---- writing files in the test ------------------------------------------------------------------

/** A safetensors file: the u64 length, the header (an object, or raw text), the data buffer. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

/** The header (parsed) and data buffer of a file, to build variants of it. */
function parts(file: Uint8Array): { header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>; data: Uint8Array } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))), data: file.slice(8 + n) };
}

/** A valid F32 file: a [2, 3] and b [4], data [a | b]. */
function small(): Uint8Array {
  const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6, -1, -2, -3, -4]).buffer);
  return build({ a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] }, b: { dtype: 'F32', shape: [4], data_offsets: [24, 40] } }, data);
}

/** small() with its header changed by `edit`. */
function edited(edit: (h: Record<string, Record<string, unknown>>) => void): Uint8Array {
  const { header, data } = parts(small());
  edit(header as Record<string, Record<string, unknown>>);
  return build(header, data);
}

function halves(values: number[]): Uint8Array {
  const out = new Uint8Array(2 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((h, i) => view.setUint16(2 * i, h, true));
  return out;
}

// ---- the fixtures -------------------------------------------------------------------------------

describe('readSafetensors: the fixtures of tools/write_safetensors.py', () => {
  for (const [file, tensors] of Object.entries(expected.files)) {
    it(`${file}: every tensor equals torch's float32 conversion bit for bit`, () => {
      const t = readSafetensors(readFileSync(new URL(file, DIR))); // a Node Buffer, as users pass it
      expect(Object.keys(t).sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, want] of Object.entries(tensors)) {
        const got = t[name]!;
        expect(got.dtype, name).toBe(want.dtype);
        expect(got.shape, name).toEqual(want.shape);
        expect(got.data).toBeInstanceOf(Float32Array);
        expect(got.data.length).toBe(product(want.shape));
        expectSameBits(got.data, expectedBits(want), `${file} ${name}`);
      }
    });
  }

  it('the encoder-layer files hold the TransformerEncoderLayer state_dict, in header order, and no __metadata__', () => {
    const t = readSafetensors(load('encoder-layer-f16.safetensors'));
    expect(Object.keys(t)).toEqual([
      'self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
      'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias',
    ]);
    expect(t['self_attn.in_proj_weight']!.shape).toEqual([48, 16]);
    expect(t.__metadata__).toBeUndefined();
    expect('__metadata__' in t).toBe(false);
    // linear2.bias[:4] = [3e-6, -4e-7, 70000, -1e5]: F16 subnormals and ±inf, as torch rounds them
    expect([...t['linear2.bias']!.data.subarray(0, 4)]).toEqual([50 * 2 ** -24, -7 * 2 ** -24, Infinity, -Infinity]);
  });

  it('metadata.safetensors: __metadata__ (non-enumerable), mixed dtypes, a scalar, an empty tensor, a padded header', () => {
    const t = readSafetensors(load('metadata.safetensors'));
    expect(t.__metadata__).toEqual({ format: 'pt', source: 'tools/write_safetensors.py', note: 'ünïcödé ✓ "quoted"' });
    expect(Object.keys(t)).toEqual(['weight', 'half', 'brain', 'scalar', 'empty']);
    expect(Object.values(t).every((x) => x.data instanceof Float32Array)).toBe(true);
    expect(Object.isFrozen(t.__metadata__)).toBe(true);
    expect(t['scalar']).toEqual({ data: new Float32Array([2.5]), shape: [], dtype: 'F32' });
    expect(t['empty']).toEqual({ data: new Float32Array(0), shape: [0, 3], dtype: 'F16' });
    expect(t['brain']!.dtype).toBe('BF16');
  });

  it('reads a Uint8Array view at any byte offset of a larger buffer, an ArrayBuffer, and copies the data', () => {
    const file = load('encoder-layer-f32.safetensors');
    const want = readSafetensors(file);
    for (const shift of [0, 1, 2, 3, 5]) {
      const big = new Uint8Array(file.length + 16).fill(0xab);
      big.set(file, shift);
      const view = big.subarray(shift, shift + file.length);
      const got = readSafetensors(view);
      for (const name of Object.keys(want)) {
        expectSameBits(got[name]!.data, bitsOf(want[name]!.data), `shift ${shift} ${name}`);
        expect(got[name]!.data.byteOffset).toBe(0);
        expect(got[name]!.data.buffer).not.toBe(big.buffer);
      }
      big.fill(0); // the tensors are copies
      expectSameBits(got['norm1.weight']!.data, bitsOf(want['norm1.weight']!.data), 'after overwriting the input');
    }
    const f16 = load('encoder-layer-f16.safetensors');
    const odd = new Uint8Array(f16.length + 1);
    odd.set(f16, 1); // F16 data at odd addresses
    const fromBuffer = readSafetensors(odd.slice(1).buffer);
    const fromView = readSafetensors(odd.subarray(1));
    for (const name of Object.keys(fromBuffer)) expectSameBits(fromView[name]!.data, bitsOf(fromBuffer[name]!.data), name);
  });

  it('allows gaps between tensors and bytes after the last one; reads {} as no tensors', () => {
    const data = new Uint8Array(20).fill(0xee);
    data.set(new Uint8Array(new Float32Array([7]).buffer), 4);
    data.set(halves([0x3c00, 0xc000]), 12);
    const t = readSafetensors(build({ b: { dtype: 'F16', shape: [2], data_offsets: [12, 16] }, a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data));
    expect([...t['a']!.data]).toEqual([7]);
    expect([...t['b']!.data]).toEqual([1, -2]);
    expect(Object.keys(readSafetensors(build({})))).toEqual([]);
    expect(Object.keys(readSafetensors(build('{}    ', new Uint8Array(3))))).toEqual([]);
  });

  it('names such as __proto__ and constructor are ordinary tensors (a null-prototype record)', () => {
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    const t = readSafetensors(build('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"constructor":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', data));
    expect(Object.keys(t)).toEqual(['__proto__', 'constructor']);
    const names: string[] = ['__proto__', 'constructor']; // (typed by name, t.constructor would be Object's)
    expect(names.flatMap((name) => [...t[name]!.data])).toEqual([1, 2]);
    expect(Object.getPrototypeOf(t)).toBe(null);
    expect('toString' in readSafetensors(small())).toBe(false);
  });
});

// ---- exact conversion ---------------------------------------------------------------------------

describe('readSafetensors: F16 and BF16 convert exactly to float32', () => {
  it('F16 special values: ±0, subnormals, the smallest normal, the largest half, ±inf, NaN with payload', () => {
    const cases: [number, number][] = [
      [0x0000, 0x00000000], // +0
      [0x8000, 0x80000000], // −0
      [0x0001, 0x33800000], // 2^-24, the smallest subnormal
      [0x8001, 0xb3800000], // −2^-24
      [0x0002, 0x34000000], // 2^-23
      [0x0200, 0x38000000], // 2^-15
      [0x03ff, 0x387fc000], // the largest subnormal, 1023·2^-24
      [0x0400, 0x38800000], // 2^-14, the smallest normal
      [0x3555, 0x3eaaa000], // ≈ 1/3
      [0x3c00, 0x3f800000], // 1
      [0xc000, 0xc0000000], // −2
      [0x7bff, 0x477fe000], // 65504, the largest half
      [0xfbff, 0xc77fe000], // −65504
      [0x7c00, 0x7f800000], // +inf
      [0xfc00, 0xff800000], // −inf
      [0x7e00, 0x7fc00000], // quiet NaN
      [0xfe00, 0xffc00000], // −NaN
      [0x7c01, 0x7f802000], // signalling NaN, payload 1 (kept, not quieted)
      [0x7fff, 0x7fffe000], // NaN, all payload bits
    ];
    const t = readSafetensors(build({ h: { dtype: 'F16', shape: [cases.length], data_offsets: [0, 2 * cases.length] } }, halves(cases.map((c) => c[0]))));
    expectSameBits(t['h']!.data, Uint32Array.from(cases, (c) => c[1]), 'F16');
    expect([...t['h']!.data.subarray(0, 4)]).toEqual([0, -0, 2 ** -24, -(2 ** -24)]);
    expect(t['h']!.data[11]).toBe(65504);
  });

  it('all 65536 halves equal sign·2^(e−15)·(1 + m/1024) (or m·2^-24 subnormal), ±inf, NaN', () => {
    const all = Array.from({ length: 65536 }, (_, h) => h);
    const t = readSafetensors(build({ all: { dtype: 'F16', shape: [256, 256], data_offsets: [0, 131072] } }, halves(all)));
    const got = t['all']!.data;
    const bits = bitsOf(got);
    for (const h of all) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      if (e === 31) {
        if (m === 0) expect(got[h]).toBe(sign * Infinity);
        else if (!(Number.isNaN(got[h]) && bits[h] === ((((h & 0x8000) << 16) | 0x7f800000 | (m << 13)) >>> 0))) expect.fail(`half 0x${h.toString(16)}: got 0x${bits[h]!.toString(16)}`);
        continue;
      }
      const want = sign * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15));
      if (!Object.is(got[h], want)) expect.fail(`half 0x${h.toString(16)}: got ${got[h]}, want ${want}`);
    }
  });

  it('all 65536 bfloat16 values are the upper 16 bits of their float32', () => {
    const all = Array.from({ length: 65536 }, (_, h) => h);
    const t = readSafetensors(build({ all: { dtype: 'BF16', shape: [65536], data_offsets: [0, 131072] } }, halves(all)));
    expectSameBits(t['all']!.data, Uint32Array.from(all, (h) => (h << 16) >>> 0), 'BF16');
  });
});

// ---- malformed files ----------------------------------------------------------------------------

describe('readSafetensors: malformed files are an Error saying what and where', () => {
  const cases: [string, () => Uint8Array | ArrayBuffer, RegExp][] = [
    ['empty', () => new Uint8Array(0), /the file is empty \(0 bytes\)/],
    ['shorter than 8 bytes', () => small().subarray(0, 5), /the file is 5 bytes, shorter than the 8-byte header length/],
    ['header length beyond the file', () => {
      const f = small();
      new DataView(f.buffer).setUint32(0, f.length - 7, true);
      return f;
    }, /the header length \(bytes 0–7\) is \d+ bytes, beyond the end of the file \(\d+ bytes: at most \d+ after the 8-byte length\)/],
    ['header length above 100 MB', () => {
      const f = small();
      new DataView(f.buffer).setUint32(4, 1, true); // 2^32 + …
      return f;
    }, /the header length \(bytes 0–7\) is 42949\d+ bytes, above the limit of 100000000 \(100 MB\)/],
    ['header length 0', () => build(''), /the header length \(bytes 0–7\) is 0/],
    ['truncated inside the header', () => small().subarray(0, 40), /beyond the end of the file \(40 bytes/],
    ['truncated inside the data', () => small().subarray(0, small().length - 6), /tensor "b": data_offsets \[24, 40\] lie outside the data buffer of 34 bytes \(file bytes \d+ to \d+; the tensor would end at file byte \d+\)/],
    ['header not UTF-8', () => {
      const f = small();
      f[10] = 0xff; // inside the name "a"
      return f;
    }, /the header \(file bytes 8 to \d+\) is not valid UTF-8/],
    ['header not JSON', () => build('{"a": {"dtype": "F32",'), /the header \(file bytes 8 to 30\) is not valid JSON: /],
    ['header an array', () => build('[1, 2]'), /the header must be a JSON object .*received an array/],
    ['header null', () => build('null'), /the header must be a JSON object .*received null/],
    ['header a number', () => build('3   '), /the header must be a JSON object .*received number/],
    ['entry not an object', () => edited((h) => { (h as Record<string, unknown>)['a'] = [1]; }), /tensor "a": the header entry must be an object \{ dtype, shape, data_offsets \}, received \[1\]/],
    ['entry without dtype', () => edited((h) => { delete h['a']!['dtype']; }), /tensor "a": the header entry has no dtype/],
    ['entry without shape', () => edited((h) => { delete h['b']!['shape']; }), /tensor "b": the header entry has no shape/],
    ['entry without data_offsets', () => edited((h) => { delete h['a']!['data_offsets']; }), /tensor "a": the header entry has no data_offsets/],
    ['dtype not a string', () => edited((h) => { h['a']!['dtype'] = 32; }), /tensor "a": dtype must be a string such as "F32", received 32/],
    ['shape not an array', () => edited((h) => { h['a']!['shape'] = '2,3'; }), /tensor "a": shape must be an array of non-negative integers, received "2,3"/],
    ['negative dim', () => edited((h) => { h['a']!['shape'] = [-2, -3]; }), /tensor "a": shape\[0\] must be a non-negative integer, received -2 \(shape \[-2,-3\]\)/],
    ['non-integer dim', () => edited((h) => { h['a']!['shape'] = [2, 1.5]; }), /tensor "a": shape\[1\] must be a non-negative integer, received 1.5/],
    ['dim a string', () => edited((h) => { h['a']!['shape'] = [2, '3']; }), /tensor "a": shape\[1\] must be a non-negative integer, received "3"/],
    ['data_offsets not a pair', () => edited((h) => { h['a']!['data_offsets'] = [0]; }), /tensor "a": data_offsets must be \[begin, end\], received \[0\]/],
    ['negative offset', () => edited((h) => { h['a']!['data_offsets'] = [-24, 0]; }), /tensor "a": data_offsets begin must be a non-negative integer, received -24/],
    ['offset a string', () => edited((h) => { h['b']!['data_offsets'] = [24, '40']; }), /tensor "b": data_offsets end must be a non-negative integer, received "40"/],
    ['end before begin', () => edited((h) => { h['b']!['data_offsets'] = [40, 24]; }), /tensor "b": data_offsets \[40, 24\] end before begin/],
    ['offsets outside the data buffer', () => edited((h) => { h['b']!['data_offsets'] = [28, 44]; }), /tensor "b": data_offsets \[28, 44\] lie outside the data buffer of 40 bytes/],
    ['overlapping tensors', () => edited((h) => { h['b']!['data_offsets'] = [20, 36]; }), /tensors "a" \(data_offsets \[0, 24\]\) and "b" \(data_offsets \[20, 36\]\) overlap in bytes \[20, 24\) of the data buffer \(file bytes \d+ to \d+\)/],
    ['the same bytes twice', () => edited((h) => { h['b'] = { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] }; }), /tensors "a" .* and "b" .* overlap in bytes \[0, 24\)/],
    ['byte count ≠ shape', () => edited((h) => { h['a']!['shape'] = [3, 3]; }), /tensor "a": data_offsets \[0, 24\] hold 24 bytes but shape \[3,3\] of F32 needs 36 \(9 × 4 bytes\)/],
    ['byte count of the dtype', () => edited((h) => { h['b']!['dtype'] = 'F16'; }), /tensor "b": data_offsets \[24, 40\] hold 16 bytes but shape \[4\] of F16 needs 8 \(4 × 2 bytes\)/],
    ['a huge shape', () => edited((h) => { h['a']!['shape'] = [2 ** 40, 2 ** 40]; }), /tensor "a": .* hold 24 bytes but shape \[1099511627776,1099511627776\] of F32 needs more than 2\^53/],
    ['F64', () => edited((h) => { h['b'] = { dtype: 'F64', shape: [2], data_offsets: [24, 40] }; }), /tensor "b" has dtype F64, which readSafetensors does not read: supported dtypes are F32, F16 and BF16/],
    ['I64', () => edited((h) => { h['b']!['dtype'] = 'I64'; }), /tensor "b" has dtype I64, which .* supported dtypes are F32, F16 and BF16/],
    ['I32', () => edited((h) => { h['b']!['dtype'] = 'I32'; }), /tensor "b" has dtype I32, which/],
    ['U8', () => edited((h) => { h['a']!['dtype'] = 'U8'; }), /tensor "a" has dtype U8, which/],
    ['BOOL', () => edited((h) => { h['a']!['dtype'] = 'BOOL'; }), /tensor "a" has dtype BOOL, which/],
    ['F8_E4M3', () => edited((h) => { h['a']!['dtype'] = 'F8_E4M3'; }), /tensor "a" has dtype F8_E4M3, which/],
    ['an unknown dtype', () => edited((h) => { h['a']!['dtype'] = 'F33'; }), /tensor "a" has an unknown dtype "F33": supported dtypes are F32, F16 and BF16/],
    ['dtype toString', () => edited((h) => { h['a']!['dtype'] = 'toString'; }), /tensor "a" has an unknown dtype "toString"/],
    ['a tensor listed twice', () => build('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)), /the header lists tensor "a" twice \(header character 54\)/],
    ['a key twice in an entry', () => build('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F16"}}', new Uint8Array(4)), /the header has key "dtype" twice in the entry "a"/],
    ['a metadata key twice', () => build('{"__metadata__":{"k":"1","k":"2"}}'), /the header has key "k" twice in the entry "__metadata__"/],
    ['metadata not an object', () => build({ __metadata__: 'pt' }), /__metadata__ must be an object of strings, received "pt"/],
    ['a metadata value not a string', () => build({ __metadata__: { format: 'pt', version: 2 } }), /__metadata__\["version"\] must be a string, received 2/],
  ];
  it.each(cases)('%s', (_, make, message) => {
    let error: unknown;
    try {
      readSafetensors(make());
    } catch (e) {
      error = e;
    }
    expect(error, 'no error').toBeInstanceOf(Error);
    expect((error as Error).constructor).toBe(Error);
    expect((error as Error).message).toMatch(/^readSafetensors: /);
    expect((error as Error).message).toMatch(message);
  });

  it('escaped quotes and brackets in names do not confuse the duplicate-key scan', () => {
    const data = new Uint8Array(8);
    const t = readSafetensors(build({ 'a"}{[': { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, 'a\\': { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, __metadata__: { x: 'a"b', 'a"}{[': '{' } }, data));
    expect(Object.keys(t)).toEqual(['a"}{[', 'a\\']);
    expect(() => readSafetensors(build('{"a\\"" : {"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "a\\u0022":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', data))).toThrow(/lists tensor "a\\"" twice/);
  });

  it('a tensor named __metadata__ is the metadata (the reserved key)', () => {
    expect(() => readSafetensors(build({ __metadata__: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)))).toThrow(/__metadata__\["shape"\] must be a string/);
  });

  it('anything but a Uint8Array or ArrayBuffer is a TypeError', () => {
    for (const bad of [undefined, null, 'file', [1, 2, 3], new Uint16Array(8), new DataView(new ArrayBuffer(8))]) {
      expect(() => readSafetensors(bad as unknown as Uint8Array)).toThrow(TypeError);
    }
    expect(() => readSafetensors(null as unknown as Uint8Array)).toThrow(/expected the file's bytes as a Uint8Array or an ArrayBuffer, received null/);
  });
});

// ---- fuzz ---------------------------------------------------------------------------------------

/** mulberry32: integers in [0, n). */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

describe('readSafetensors: fuzzing', () => {
  it('byte mutations and truncations of valid files return consistent tensors or throw an Error, never anything else', () => {
    const files = [load('metadata.safetensors'), load('encoder-layer-f16.safetensors'), small()];
    const random = rng(20240611);
    const tokens = ['"', '{', '}', '[', ']', ',', ':', '-', '0', '9', '1e9', '4294967296', ' ', '\\', 'null', '"F64"', '"BF16"', '"__metadata__"', '\u00ff'];
    let ok = 0;
    let failed = 0;
    const t0 = performance.now();
    for (let iter = 0; iter < 4000; iter++) {
      const base = files[iter % files.length]!;
      const headerEnd = 8 + Number(new DataView(base.buffer, base.byteOffset).getBigUint64(0, true));
      let f: Uint8Array = base.slice();
      const kind = random(6);
      const mutations = 1 + random(4);
      for (let m = 0; m < mutations; m++) {
        if (kind === 0) f = f.subarray(0, random(f.length + 1)); // truncate
        else if (kind === 1) f[random(8)] = random(256); // the header length
        else if (kind === 2) f[8 + random(headerEnd - 8)] = random(256); // a header byte
        else if (kind === 3) f[random(f.length)] = random(256); // any byte
        else if (kind === 4 && f.length > 8) {
          // replace a header span with a JSON-ish token, keeping the length field consistent
          const at = 8 + random(Math.max(1, headerEnd - 8));
          const cut = random(4);
          const text = new TextEncoder().encode(tokens[random(tokens.length)]!);
          const next = new Uint8Array(f.length - Math.min(cut, f.length - at) + text.length);
          next.set(f.subarray(0, at));
          next.set(text, at);
          next.set(f.subarray(Math.min(at + cut, f.length)), at + text.length);
          const n = Number(new DataView(f.buffer, f.byteOffset).getBigUint64(0, true));
          new DataView(next.buffer).setBigUint64(0, BigInt(n + text.length - Math.min(cut, f.length - at)), true);
          f = next;
        } else if (kind === 5) {
          // a digit of a shape or offset
          const text = new TextDecoder().decode(f.subarray(8, Math.min(headerEnd, f.length)));
          const digits = [...text.matchAll(/\d/g)].map((d) => d.index);
          if (digits.length) f[8 + digits[random(digits.length)]!] = 0x30 + random(10);
        }
      }
      let result: SafetensorsFile | undefined;
      try {
        result = readSafetensors(f);
      } catch (e) {
        if (!(e instanceof Error) || e.constructor !== Error || !e.message.startsWith('readSafetensors: ')) {
          throw new Error(`iteration ${iter} (kind ${kind}): ${String(e)} (${(e as Error)?.constructor?.name})`);
        }
        failed++;
        continue;
      }
      ok++;
      let bytes = 0;
      const entries: [string, SafetensorsTensor][] = Object.entries(result); // typed as tensors only (no __metadata__)
      for (const [name, t] of entries) {
        expect(t.data, name).toBeInstanceOf(Float32Array);
        expect(t.data.length, `iteration ${iter}: ${name} ${JSON.stringify(t.shape)}`).toBe(product(t.shape));
        expect(['F32', 'F16', 'BF16']).toContain(t.dtype);
        bytes += t.data.length * (t.dtype === 'F32' ? 4 : 2);
      }
      expect(bytes).toBeLessThanOrEqual(f.length);
    }
    // both outcomes are exercised, and quickly (no pathological input)
    expect(ok).toBeGreaterThan(100);
    expect(failed).toBeGreaterThan(1000);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});

// ---- into the runtime ---------------------------------------------------------------------------

describe.each(BUILDS)('safetensors weights in multiHeadAttention on the %s build', (backend) => {
  it("the encoder layer's self_attn.* tensors run forward, as the reference does", async () => {
    const rt = await runtimeFor(backend);
    const t = readSafetensors(load('encoder-layer-f32.safetensors'));
    const config = {
      embedDim: 16,
      numHeads: 4,
      weights: {
        in_proj_weight: t['self_attn.in_proj_weight']!,
        in_proj_bias: t['self_attn.in_proj_bias']!,
        'out_proj.weight': t['self_attn.out_proj.weight']!,
        'out_proj.bias': t['self_attn.out_proj.bias']!,
      },
    };
    const mha = rt.multiHeadAttention(config);
    const x = tensor([2, 5, 16], 7);
    const got = mha.forward(x, undefined, undefined, { causal: true });
    expect(got.output.length).toBe(2 * 5 * 16);
    expect(got.output.every(Number.isFinite)).toBe(true);
    const want = reference.multiHeadAttention(config).forward(x, x, x, { causal: true });
    expect(maxAbsDiff(got.output, want.output)).toBeLessThanOrEqual(1e-5);
    mha.dispose();
  });

  it('a file of exactly the module weights (with __metadata__) is `weights` as it is', async () => {
    const rt = await runtimeFor(backend);
    const { header, data } = parts(load('encoder-layer-f16.safetensors'));
    const only: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    for (const [name, entry] of Object.entries(header)) if (name.startsWith('self_attn.')) only[name.slice('self_attn.'.length)] = entry;
    const file = build(only, data); // the other tensors' bytes stay as gaps
    const x = tensor([1, 4, 16], 3);
    const mha = rt.multiHeadAttention({ embedDim: 16, numHeads: 4, weights: readSafetensors(file) });
    const got = mha.forward(x);
    const t = readSafetensors(load('encoder-layer-f16.safetensors'));
    const want = reference.multiHeadAttention({
      embedDim: 16,
      numHeads: 4,
      weights: { in_proj_weight: t['self_attn.in_proj_weight']!, in_proj_bias: t['self_attn.in_proj_bias']!, 'out_proj.weight': t['self_attn.out_proj.weight']!, 'out_proj.bias': t['self_attn.out_proj.bias']! },
    }).forward(x, x, x);
    expect(maxAbsDiff(got.output, want.output)).toBeLessThanOrEqual(1e-5);
    mha.dispose();
  });
});

describe('I8 and U8 tensors, and the writer', () => {
  it('readSafetensors(bytes, { integers: true }) reads I8 and U8 exactly; without it they are an Error naming the option', () => {
    const tensors = new Map<string, TensorToWrite>([
      ['w', { dtype: 'I8', shape: [2, 3], data: Int8Array.of(-127, -1, 0, 1, 5, 127) }],
      ['p', { dtype: 'U8', shape: [3], data: Uint8Array.of(0, 0x8f, 255) }],
      ['s', { dtype: 'F32', shape: [2], data: Float32Array.of(0.5, -Infinity) }],
    ]);
    const bytes = writeSafetensors(tensors, { format: 'test' });
    const file = readSafetensors(bytes, { integers: true });
    expect(file.__metadata__).toEqual({ format: 'test' });
    expect(file['w']).toEqual({ dtype: 'I8', shape: [2, 3], data: Int8Array.of(-127, -1, 0, 1, 5, 127) });
    expect(file['p']).toEqual({ dtype: 'U8', shape: [3], data: Uint8Array.of(0, 0x8f, 255) });
    expect(file['s']).toEqual({ dtype: 'F32', shape: [2], data: Float32Array.of(0.5, -Infinity) });
    expect(file['w']!.data.buffer).not.toBe(bytes.buffer); // a copy of its own
    expect(() => readSafetensors(bytes)).toThrow(/tensor "w" has dtype I8, which readSafetensors reads only with \{ integers: true \}/);
    expect(() => readSafetensors(bytes, { integer: true } as never)).toThrow(TypeError);
    expect(() => readSafetensors(bytes, { integers: 'yes' } as never)).toThrow(/options.integers must be true or false/);
    // the header is padded to a multiple of 8 bytes, the data follows without gaps
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    expect(headerLength % 8).toBe(0);
    expect(bytes.length).toBe(8 + headerLength + 6 + 3 + 8);
  });
});
