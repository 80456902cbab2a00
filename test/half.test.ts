// F16 and BF16 weights (loadModel's dtype: 'f16' / 'bf16'): every one of the 65,536 patterns of each
// format widened by the kernel exactly as the safetensors reader converts them; rounding at load
// against the float64 twin (src/reference/ops/half.ts); gemmHalf on both paths bit for bit equal to
// gemm on the widened matrix, within 1e-6 of the float64 twin, any column split the same bits;
// the model fixtures within 1e-3 normwise of their f32 loads (BF16 files loaded as 'bf16': the
// same bits), their weight bytes, threads, and the errors. Every build, both thread projects.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, readSafetensors, reference, type AttentionRuntime, type CausalLMModel, type EncoderModel } from '../src/index.js';
import { Linear } from '../src/nn/linear.js';
import { bitsToBf16, bitsToF16, f16ToBits, toHalfBits } from '../src/engine/half.js';
import { HALF_FORMAT } from '../src/engine/kernels.js';
import { halfToNumber, linearHalf, numberToHalf } from '../src/reference/ops/half.js';
import { BUILDS, initRuntime, normwise, runtimeFor, uniform } from './helpers.js';

const LM_DIR = fileURLToPath(new URL('./fixtures/lm/', import.meta.url));
const ENC_DIR = fileURLToPath(new URL('./fixtures/checkpoints/', import.meta.url));
interface LMPrompt { input_ids: number[] }
const LM = (JSON.parse(readFileSync(`${LM_DIR}expected.json`, 'utf8')) as { checkpoints: Record<string, { prompts: LMPrompt[] }> }).checkpoints;
interface EncBatch { input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][] }
const ENC = (JSON.parse(readFileSync(`${ENC_DIR}expected.json`, 'utf8')) as { checkpoints: Record<string, { batch: EncBatch }> }).checkpoints;

/**
 * The fixtures' 16-bit outputs against their f32 loads, normwise, for files stored in F32 (a file
 * stored in the format asked for gives the same bits as its f32 load). Measured worst
 * (docs/kernels.md, "F16 and BF16 weights"): f16 2.1e-3 (qwen2 logits), bf16 1.45e-2 (qwen2): the
 * weights' rounding itself (unit roundoff 2^−11 and 2^−9; the 16-bit model equals, bit for bit, the
 * f32 model of the rounded weights), on tiny random models whose logits are nearly flat. Bounds
 * about 2× the worst.
 */
const BOUND = { f16: 4e-3, bf16: 3e-2 } as const;
/**
 * 16-bit weights against f32: every matrix and embedding table (word, learned position, token-type)
 * exactly half their f32 bytes; the f32 norms and biases are up to 2.2% of these tiny models' bytes
 * (hidden size 32: measured 0.5017–0.5110×); in a real checkpoint they are well under 1%.
 */
const BYTES_RATIO = 0.512;
const FORMATS = ['f16', 'bf16'] as const;

const bitsOf = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);
/** The bits with every NaN as one (Wasm leaves the sign and payload of a NaN an operation makes, e.g. ∞ − ∞, to the engine and its tier). */
const bitsUpToNaN = (x: Float32Array): Uint32Array => Uint32Array.from(bitsOf(x), (b, i) => (Number.isNaN(x[i]!) ? 0x7fc00000 : b));
const fileDtype = (dir: string): string => {
  const index = existsSync(`${dir}/model.safetensors.index.json`) ? (JSON.parse(readFileSync(`${dir}/model.safetensors.index.json`, 'utf8')) as { weight_map: Record<string, string> }) : undefined;
  const bytes = readFileSync(`${dir}/${index ? Object.values(index.weight_map)[0] : 'model.safetensors'}`);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype: string }>;
  return Object.entries(header).find(([k]) => k !== '__metadata__')![1].dtype;
};

/** A safetensors file of one tensor: all 65,536 patterns of `dtype` in order. */
function everyPattern(dtype: 'F16' | 'BF16'): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ all: { dtype, shape: [65536], data_offsets: [0, 131072] } }));
  const bytes = new Uint8Array(8 + header.length + 131072);
  new DataView(bytes.buffer).setUint32(0, header.length, true);
  bytes.set(header, 8);
  const data = new DataView(bytes.buffer, 8 + header.length);
  for (let h = 0; h < 65536; h++) data.setUint16(2 * h, h, true);
  return bytes;
}

describe.each(BUILDS)('16-bit weights, %s build', (backend) => {
  let rt: AttentionRuntime;
  beforeAll(async () => {
    rt = await runtimeFor(backend);
  });

  it.each(FORMATS)('widenHalf: all 65,536 %s patterns give the bits the safetensors reader gives (and the float64 twin\'s values)', (format) => {
    const file = readSafetensors(everyPattern(format === 'f16' ? 'F16' : 'BF16'));
    const want = bitsOf(file['all']!.data);
    const heap = rt.workspace.heap;
    const src = heap.alloc(131072), dst = heap.alloc(262144);
    try {
      const patterns = new Uint16Array(heap.memory.buffer, src, 65536);
      for (let h = 0; h < 65536; h++) patterns[h] = h;
      // odd starts and counts: the 8-wide loads and the scalar tail both
      for (const [at, count] of [[0, 65536], [3, 65533], [1, 6]] as const) {
        new Float32Array(heap.memory.buffer, dst, 65536).fill(NaN);
        rt.workspace.kernels.widenHalf(src + 2 * at, dst + 4 * at, count, format === 'bf16' ? HALF_FORMAT.bf16 : HALF_FORMAT.f16);
        const got = new Uint32Array(heap.memory.buffer, dst, 65536);
        for (let h = at; h < at + count; h++) {
          if (got[h] !== want[h]) expect.fail(`${format} pattern 0x${h.toString(16)}: got bits 0x${got[h]!.toString(16)}, the reader gives 0x${want[h]!.toString(16)}`);
          const v = new Float32Array(heap.memory.buffer, dst, 65536)[h]!, twin = halfToNumber(h, format);
          if (!(Object.is(v, twin) || (Number.isNaN(v) && Number.isNaN(twin)))) expect.fail(`${format} pattern 0x${h.toString(16)}: ${v}, the twin ${twin}`);
        }
      }
      if (format === 'f16') {
        // the finite format on every pattern without exponent 31 (the caller's promise), 8 a load and the tail
        const finite = Uint16Array.from({ length: 63488 }, (_, i) => (i < 31744 ? i : i + 1024)); // 0x0000–0x7bff, 0x8000–0xfbff
        new Uint16Array(heap.memory.buffer, src, finite.length).set(finite);
        rt.workspace.kernels.widenHalf(src, dst, finite.length - 3, HALF_FORMAT.f16Finite);
        const got = new Uint32Array(heap.memory.buffer, dst, finite.length - 3);
        for (let i = 0; i < got.length; i++) if (got[i] !== want[finite[i]!]) expect.fail(`f16 (finite format) pattern 0x${finite[i]!.toString(16)}: got 0x${got[i]!.toString(16)}, the reader gives 0x${want[finite[i]!]!.toString(16)}`);
      }
    } finally {
      heap.release(src);
      heap.release(dst);
    }
  });

  it('rounding at load: f32 → f16 / bf16 to nearest even, the bits of the float64 twin (ties, subnormals, overflow, NaN)', () => {
    const values = new Float32Array(200_000);
    const u = new Uint32Array(values.buffer);
    const r = uniform(values.length, 5, 0, 1);
    for (let i = 0; i < values.length; i++) u[i] = Math.floor(r[i]! * 2 ** 32) >>> 0; // every exponent, both signs
    // exact ties of both formats around 1 and in the f16 subnormals, the f16 overflow edge, specials
    const edges = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 2 ** -25, 3 * 2 ** -25, 2 ** -24, 2 ** -14 - 2 ** -25, 65504, 65519.99, 65520, -65520, 3.4028234e38, 1e-40, -0, 0, Infinity, -Infinity, NaN];
    values.set(edges);
    for (const format of FORMATS) {
      const narrow = format === 'f16' ? bitsToF16 : bitsToBf16;
      for (let i = 0; i < values.length; i++) {
        const got = narrow(u[i]!), want = numberToHalf(values[i]!, format);
        const nan = Number.isNaN(values[i]!);
        if (nan ? !Number.isNaN(halfToNumber(got, format)) : got !== want) expect.fail(`${format}(${values[i]}) (bits 0x${u[i]!.toString(16)}): 0x${got.toString(16)}, the twin 0x${want.toString(16)}`);
      }
    }
    // a value beyond f16's range is an error at load, never a silent infinity; bf16 holds it
    expect(() => toHalfBits('w', Float32Array.of(1, 65520), 'f16')).toThrow(RangeError);
    expect(() => toHalfBits('w', Float32Array.of(1, 65520), 'f16')).toThrow("w: the value 65520 at index 1 is beyond the range of f16 (largest finite 65504) and would become Infinity; load this model with dtype 'bf16' or 'f32'");
    expect(toHalfBits('w', Float32Array.of(65519, -Infinity, NaN), 'f16')[1]).toBe(0xfc00);
    expect(Array.from(toHalfBits('w', Float32Array.of(70000), 'bf16'))).toEqual([numberToHalf(70000, 'bf16')]);
  });

  it('between 16-bit formats (a BF16 file loaded as f16, an F16 one as bf16): every pattern rounds as its float32 value does, reading the tensor once', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    for (const [from, to] of [['bf16', 'f16'], ['f16', 'bf16']] as const) {
      // a safetensors tensor's `bits` is a getter that copies the bytes: read per element it made loading quadratic
      let reads = 0;
      const finite = all.filter((h) => (from === 'f16' ? (h & 0x7c00) !== 0x7c00 : Math.abs(halfToNumber(h, 'bf16')) < 65504));
      const tensor = { dtype: from, get bits() { reads++; return finite.slice(); } };
      const got = toHalfBits('w', tensor, to);
      expect(reads).toBe(1);
      const want = Uint16Array.from(finite, (h) => numberToHalf(halfToNumber(h, from), to));
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });

  it.each([['f16', HALF_FORMAT.f16], ['f16', HALF_FORMAT.f16Finite], ['bf16', HALF_FORMAT.bf16]] as const)('gemmHalf (%s, format %i): both paths the same bits as gemm on the widened matrix; within 1e-6 of the float64 twin; column splits at multiples of GEMM_NB the same bits', (format, code) => {
    const { DIRECT_M, KC, NB } = rt.tiles.gemm;
    const k = rt.workspace.kernels;
    const heap = rt.workspace.heap;
    const bf16 = code;
    for (const [m, n, kd] of [[1, 1, 1], [1, 5, 7], [2, 9, 19], [3, 33, 64], [DIRECT_M - 1, 2 * NB + 3, 45], [DIRECT_M, 2 * NB + 3, 45], [DIRECT_M + 1, 3 * NB + 9, KC + 3], [40, 19, 2 * KC + 1]] as const) {
      const wBits = new Uint16Array(n * kd);
      const w32 = uniform(n * kd, n + 7 * kd, -1, 1);
      for (let i = 0; i < w32.length; i++) wBits[i] = format === 'f16' ? bitsToF16(bitsOf(w32)[i]!) : bitsToBf16(bitsOf(w32)[i]!);
      if (code === HALF_FORMAT.f16 && n * kd > 40) wBits.set([0x7c00, 0xfc00, 0x7e01, 0x0001], 17); // ±∞, NaN, a subnormal: the exact path
      // the widened matrix, bit for bit (NaN payloads too: a Float32Array of numbers would make every NaN the default one)
      const wide = new Float32Array(Uint32Array.from(wBits, (h) => (format === 'bf16' ? (h << 16) >>> 0 : f16ToBits(h))).buffer);
      const x = uniform(m * kd, 3 * m + kd, -2, 2);
      const bias = uniform(n, 5 * n, -1, 1);
      const p = { x: heap.alloc(4 * x.length), w: heap.alloc(2 * wBits.length + 16), wide: heap.alloc(4 * wide.length), bias: heap.alloc(4 * n), c: heap.alloc(4 * m * n), d: heap.alloc(4 * m * n) };
      const scratch = heap.alloc(Math.max(16, k.gemmHalfScratchBytes(m, n, kd), k.gemmScratchBytes(m, n, kd)));
      try {
        heap.floats().set(x, p.x >>> 2);
        heap.floats().set(wide, p.wide >>> 2);
        heap.floats().set(bias, p.bias >>> 2);
        new Uint16Array(heap.memory.buffer, p.w, wBits.length).set(wBits);
        k.gemmHalf(p.x, kd, p.w, p.c, n, m, n, kd, bf16, p.bias, 0, scratch);
        k.gemm(p.x, kd, p.wide, kd, p.d, n, m, n, kd, 1, p.bias, 0, scratch);
        const got = heap.view(p.c, m * n).slice(), want = heap.view(p.d, m * n).slice();
        expect(bitsUpToNaN(got), `${m}×${n}×${kd}`).toEqual(bitsUpToNaN(want));
        const twin = linearHalf(x, wBits, m, n, kd, format, bias);
        const finite = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => Number.isFinite(twin[i]!));
        for (let i = 0; i < twin.length; i++) if (!Number.isFinite(twin[i]!)) expect(got[i], `${m}×${n}×${kd} element ${i}`).toBe(twin[i]);
        if (finite(twin).length) expect(normwise(finite(got), finite(twin)), `${m}×${n}×${kd}`).toBeLessThan(1e-6);
        // accumulate, and the work range: columns [j0, j1) as their own call
        const cuts = [...new Set([0, Math.min(NB, n), Math.min(2 * NB, n), n])];
        heap.floats().fill(0.5, p.c >>> 2, (p.c >>> 2) + m * n);
        heap.floats().fill(0.5, p.d >>> 2, (p.d >>> 2) + m * n);
        k.gemmHalf(p.x, kd, p.w, p.d, n, m, n, kd, bf16, p.bias, 1, scratch);
        for (let s = 0; s + 1 < cuts.length; s++) {
          const j0 = cuts[s]!, j1 = cuts[s + 1]!;
          k.gemmHalf(p.x, kd, p.w + 2 * j0 * kd, p.c + 4 * j0, n, m, j1 - j0, kd, bf16, p.bias + 4 * j0, 1, scratch);
        }
        expect(bitsUpToNaN(heap.view(p.c, m * n).slice()), `${m}×${n}×${kd} split at ${cuts.join(',')}`).toEqual(bitsUpToNaN(heap.view(p.d, m * n).slice()));
      } finally {
        for (const q of [...Object.values(p), scratch]) heap.release(q);
      }
    }
  });

  it.each(FORMATS)('Linear (%s): every row count and width, NaN in → NaN out; a row gives the same bits alone or in a batch of rows', (format) => {
    for (const [rows, n, kd] of [[1, 1, 3], [2, 17, 64], [5, 40, 96], [15, 33, 130], [16, 33, 130], [40, 70, 512]] as const) {
      const w = uniform(n * kd, 7 * n + kd, -0.5, 0.5);
      const bias = uniform(n, 3 * n);
      const x = uniform(rows * kd, 11 * rows + kd, -2, 2);
      if (rows > 1) x[kd + 1] = NaN;
      const lin = new Linear(rt.workspace, 'q', { weight: { data: w, shape: [n, kd] }, bias: { data: bias, shape: [n] } }, format);
      try {
        expect(lin.dtype).toBe(format);
        const run = (xs: Float32Array, r: number) => rt.workspace.run((temps) => {
          const y = lin.apply(temps, { ptr: temps.float32(xs), ld: kd }, r);
          return rt.workspace.heap.view(y.ptr, r * n).slice();
        });
        const got = run(x, rows);
        const wBits = toHalfBits('w', w, format);
        const want = linearHalf(x, wBits, rows, n, kd, format, bias);
        const finite = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => rows === 1 || Math.floor(i / n) !== 1);
        expect(normwise(finite(got), finite(want)), `${rows}×${n}×${kd}`).toBeLessThan(1e-6);
        if (rows > 1) expect(Array.from(got.subarray(n, 2 * n)).every(Number.isNaN)).toBe(true);
        if (rows < 16) expect(bitsOf(run(x.subarray(0, kd), 1))).toEqual(bitsOf(got.subarray(0, n)));
      } finally {
        lin.dispose();
      }
    }
  });

  it.each(FORMATS)("runtime.embedding with dtype '%s': lookup equals the twin's rows (rounded to nearest even) exactly; 16-bit table", (format) => {
    const weight = { data: uniform(37 * 21, 3, -2, 2), shape: [37, 21] };
    weight.data[5] = 1e5; // beyond f16: an error there, a value in bf16
    const ids = [0, 36, 5, 5, 17, 0];
    if (format === 'f16') {
      expect(() => rt.embedding(weight, { dtype: format })).toThrow(RangeError);
      weight.data[5] = 60000;
    }
    const e = rt.embedding(weight, { dtype: format });
    try {
      expect(e.dtype).toBe(format);
      expect(bitsOf(e.lookup(ids, [2, 3]))).toEqual(bitsOf(reference.embedding(weight, { dtype: format }).lookup(ids, [2, 3])));
    } finally {
      e.dispose();
    }
    expect(() => rt.embedding(weight, { dtype: 'f8' as 'f16' })).toThrow(TypeError);
  });

  describe.each(FORMATS)('model fixtures in %s', (format) => {
    const models = new Map<string, { f32: CausalLMModel; half: CausalLMModel }>();
    beforeAll(async () => {
      for (const name of Object.keys(LM)) {
        models.set(name, {
          f32: await loadModel(rt, `${LM_DIR}${name}`, { kind: 'causal-lm', dtype: 'f32' }),
          half: await loadModel(rt, `${LM_DIR}${name}`, { kind: 'causal-lm', dtype: format === 'f16' ? 'fp16' : format }),
        });
      }
    });
    afterAll(() => {
      for (const m of models.values()) (m.f32.dispose(), m.half.dispose());
    });

    it.each(Object.keys(LM))(`language model %s: logits within ${BOUND[format]} normwise of the f32 load (a BF16 file as 'bf16': the same bits); weights ≤ ${BYTES_RATIO}× the f32 bytes`, (name) => {
      const { f32, half } = models.get(name)!;
      expect(half.dtype).toBe(format);
      const bytes = half.weightBytes;
      expect(bytes.q8 + bytes.q4 + bytes[format === 'f16' ? 'bf16' : 'f16']).toBe(0);
      expect(bytes[format]).toBeGreaterThan(0);
      // memoryStats and the model's own resident bytes file the 16-bit weights under their dtype
      expect(half.residentBytes().weights).toEqual({ f32: bytes.f32, [format]: bytes[format] });
      const ratio = (bytes.f32 + bytes[format]) / f32.weightBytes.f32;
      const same = format === 'bf16' && fileDtype(`${LM_DIR}${name}`) === 'BF16';
      let worst = 0;
      for (const p of LM[name]!.prompts) {
        const want = f32.forward(p.input_ids, { allLogits: true }).logits.data;
        const got = half.forward(p.input_ids, { allLogits: true }).logits.data;
        worst = Math.max(worst, normwise(got, Array.from(want)));
        if (same) expect(bitsOf(got)).toEqual(bitsOf(want));
        // decode steps against a cache, one token at a time, as generation runs them
        const a = f32.createCache(), b = half.createCache();
        try {
          f32.forward(p.input_ids, { cache: a });
          half.forward(p.input_ids, { cache: b });
          for (const token of p.input_ids.slice(0, 4)) {
            const wa = f32.forward([token], { cache: a }).logits.data, wb = half.forward([token], { cache: b }).logits.data;
            worst = Math.max(worst, normwise(wb, Array.from(wa)));
            if (same) expect(bitsOf(wb)).toEqual(bitsOf(wa));
          }
        } finally {
          a.dispose();
          b.dispose();
        }
      }
      console.log(`${format} ${name} (${fileDtype(`${LM_DIR}${name}`)} file) ${backend}: logits normwise ≤ ${worst.toExponential(2)}${same ? ' (bit-identical)' : ''}; weights ${f32.weightBytes.f32} B → f32 ${bytes.f32} B + ${format} ${bytes[format]} B (${ratio.toFixed(4)}×)`);
      expect(worst).toBeLessThan(BOUND[format]);
      expect(f32.weightBytes.f32 - bytes.f32).toBe(2 * bytes[format]);
      expect(ratio).toBeLessThanOrEqual(BYTES_RATIO);
    });

    it.each(Object.keys(ENC))(`encoder %s: hidden states within ${BOUND[format]} normwise of the f32 load; weights ≤ ${BYTES_RATIO}× the f32 bytes`, async (name) => {
      const f32: EncoderModel = await loadModel(rt, `${ENC_DIR}${name}`, { kind: 'encoder' });
      const half: EncoderModel = await loadModel(rt, `${ENC_DIR}${name}`, { kind: 'encoder', dtype: format });
      try {
        const b = ENC[name]!.batch;
        const input = { inputIds: b.input_ids, attentionMask: b.attention_mask, ...(name.startsWith('roberta') || name.startsWith('distil') ? {} : { tokenTypeIds: b.token_type_ids }) };
        const want = f32.forward(input).lastHiddenState.data, got = half.forward(input).lastHiddenState.data;
        const error = normwise(got, Array.from(want));
        const same = fileDtype(`${ENC_DIR}${name}`) === (format === 'f16' ? 'F16' : 'BF16');
        const ratio = (half.weightBytes.f32 + half.weightBytes[format]) / f32.weightBytes.f32;
        console.log(`${format} encoder ${name} (${fileDtype(`${ENC_DIR}${name}`)} file) ${backend}: hidden normwise ${error.toExponential(2)}${same ? ' (same file format)' : ''}; weights ${f32.weightBytes.f32} B → f32 ${half.weightBytes.f32} B + ${format} ${half.weightBytes[format]} B (${ratio.toFixed(4)}×)`);
        if (same) expect(bitsOf(got)).toEqual(bitsOf(want));
        expect(error).toBeLessThan(BOUND[format]);
        expect(f32.weightBytes.f32 - half.weightBytes.f32).toBe(2 * half.weightBytes[format]);
        expect(ratio).toBeLessThanOrEqual(BYTES_RATIO);
      } finally {
        f32.dispose();
        half.dispose();
      }
    });
  });

  it.each(FORMATS)('%s: an F32 checkpoint loaded in 16 bits gives the bits of the f32 model whose matrices and tables were rounded by the float64 twin', async (format) => {
    for (const name of ['llama', 'qwen2', 'gpt2']) {
      const config = JSON.parse(readFileSync(`${LM_DIR}${name}/config.json`, 'utf8')) as Record<string, unknown>;
      const file = readSafetensors(readFileSync(`${LM_DIR}${name}/model.safetensors`));
      const rounded: Record<string, { data: Float32Array; shape: number[] }> = {};
      for (const [key, t] of Object.entries(file)) {
        // the matrices, the word table and GPT-2's learned positions (wpe) are held in 16 bits
        const held = t.shape.length === 2;
        rounded[key] = { shape: t.shape, data: held ? t.data.map((v) => halfToNumber(numberToHalf(v, format), format)) : t.data };
      }
      const half = await loadModel(rt, { config, weights: file }, { kind: 'causal-lm', dtype: format });
      const twin = await loadModel(rt, { config, weights: rounded }, { kind: 'causal-lm' });
      try {
        const ids = LM[name]!.prompts[0]!.input_ids;
        expect(bitsOf(half.forward(ids, { allLogits: true }).logits.data), name).toEqual(bitsOf(twin.forward(ids, { allLogits: true }).logits.data));
      } finally {
        half.dispose();
        twin.dispose();
      }
    }
  });

  it.each(FORMATS)('%s: the same bits on 1 and 2 threads (every product split across both)', async (format) => {
    const one = await initRuntime({ backend, threads: 1 });
    const two = await initRuntime({ backend, threads: 2 });
    try {
      two.parallelMinFlops = 0;
      const ids = LM['llama']!.prompts[0]!.input_ids;
      const a = await loadModel(one, `${LM_DIR}llama`, { kind: 'causal-lm', dtype: format });
      const b = await loadModel(two, `${LM_DIR}llama`, { kind: 'causal-lm', dtype: format });
      expect(bitsOf(b.forward(ids, { allLogits: true }).logits.data)).toEqual(bitsOf(a.forward(ids, { allLogits: true }).logits.data));
      a.dispose();
      b.dispose();
    } finally {
      one.dispose();
      two.dispose();
    }
  });
});

describe('dtype option', () => {
  it("'f16', 'fp16' and 'bf16' are accepted; a BF16 value beyond f16's range loaded as 'f16' is a RangeError that says to use 'bf16'", async () => {
    const rt = await runtimeFor(BUILDS[0]!);
    const dir = `${LM_DIR}mistral`;
    for (const [given, held] of [['f16', 'f16'], ['fp16', 'f16'], ['bf16', 'bf16']] as const) {
      const m = await loadModel(rt, dir, { dtype: given });
      expect(m.dtype).toBe(held);
      m.dispose();
    }
    const config = JSON.parse(readFileSync(`${LM_DIR}llama/config.json`, 'utf8')) as Record<string, unknown>;
    const weights = readSafetensors(readFileSync(`${LM_DIR}llama/model.safetensors`));
    const big: Record<string, { data: Float32Array; shape: number[] }> = Object.fromEntries(Object.entries(weights));
    const up = big['model.layers.0.mlp.up_proj.weight']!;
    big['model.layers.0.mlp.up_proj.weight'] = { shape: up.shape, data: up.data.map((v, i) => (i === 3 ? -1e5 : v)) };
    await expect(loadModel(rt, { config, weights: big }, { dtype: 'f16' })).rejects.toThrow(/beyond the range of f16 .* load this model with dtype 'bf16' or 'f32'/);
    const m = await loadModel(rt, { config, weights: big }, { dtype: 'bf16' });
    m.dispose();
  });
});
