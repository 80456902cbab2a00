// Quantized embedding tables (loadModel's dtype 'q8' / 'q4'): the gather against the float64 twin
// of dequantization (src/reference/ops/dequantize.ts) over the float32 replicas of the quantizers;
// a tied output head holds no second copy of the table; encoders hold their position tables in the
// dtype too; runtime.memoryStats() and the models report resident weights and KV caches by dtype.
// Every build, both thread projects.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, readSafetensors, reference, type AttentionRuntime } from '../src/index.js';
import { Embedding } from '../src/nn/embedding.js';
import { dequantizeRows } from '../src/reference/ops/dequantize.js';
import { BUILDS, runtimeFor, uniform } from './helpers.js';
import { quantizeRows4Reference, quantizeRows8Reference } from '../bench/kernel-cases.mjs';

const LM_DIR = fileURLToPath(new URL('./fixtures/lm/', import.meta.url));
const ENC_DIR = fileURLToPath(new URL('./fixtures/checkpoints/', import.meta.url));
const CASES = BUILDS.flatMap((backend) => (['q8', 'q4'] as const).map((dtype) => [dtype, backend] as const));

/** Bytes of a [rows, cols] matrix in dtype (the table / Linear layouts: values and an f32 scale per 32). */
const matrixBytes = (dtype: 'q8' | 'q4', rows: number, cols: number) => rows * (dtype === 'q4' ? cols / 2 : cols) + (4 * rows * cols) / 32;

describe.each(CASES)('%s embeddings, %s build', (dtype, backend) => {
  let rt: AttentionRuntime;
  beforeAll(async () => {
    rt = await runtimeFor(backend);
  });

  it('lookup: every row equals the float64 dequantization of the quantized table, rounded once to f32 (widths 32, 96, 1536; a NaN row stays NaN)', () => {
    for (const [v, e] of [[5, 32], [17, 96], [3, 1536]] as const) {
      const table = uniform(v * e, v + e, -0.5, 0.5);
      table[e + 3] = NaN; // row 1, block 0: a NaN scale
      const emb = new Embedding(rt.workspace, { data: table, shape: [v, e] }, undefined, dtype);
      try {
        const ids = [1, 0, v - 1, 1, 2 % v];
        const got = emb.lookup(ids);
        const q = dtype === 'q4' ? quantizeRows4Reference(table, v, e) : quantizeRows8Reference(table, v, e);
        const want = dequantizeRows(dtype, q.q, q.scales, e, ids);
        expect(got.length).toBe(want.length);
        const bad: string[] = [];
        for (let i = 0; i < want.length; i++) {
          const w = Math.fround(want[i]!);
          if (!(Object.is(got[i], w) || (Number.isNaN(w) && Number.isNaN(got[i])))) bad.push(`[${i}] ${got[i]} ≠ ${w}`);
        }
        expect(bad.slice(0, 5)).toEqual([]);
        expect(Number.isNaN(got[3])).toBe(true); // ids[0] = 1: its first block is NaN
      } finally {
        emb.dispose();
      }
    }
  });

  it("runtime.embedding(weight, { dtype }): rows equal the twin's (reference.embedding) bit for bit and the dequantized table; E not a multiple of 32 stays f32", () => {
    const weight = { data: uniform(40 * 64, 17, -1, 1), shape: [40, 64] };
    const ids = [3, 0, 39, 3, 12, 7];
    const e = rt.embedding({ 'emb.weight': weight }, { prefix: 'emb', dtype });
    try {
      expect([e.dtype, e.numEmbeddings, e.embeddingDim]).toEqual([dtype, 40, 64]);
      const got = e.lookup(ids, [2, 3]);
      const twin = reference.embedding(weight, { dtype });
      expect(twin.dtype).toBe(dtype);
      expect(Array.from(new Uint32Array(got.buffer))).toEqual(Array.from(new Uint32Array(twin.lookup(ids, [2, 3]).buffer)));
      const q = dtype === 'q4' ? quantizeRows4Reference(weight.data, 40, 64) : quantizeRows8Reference(weight.data, 40, 64);
      expect(Array.from(got)).toEqual(Array.from(dequantizeRows(dtype, q.q, q.scales, 64, ids), (v) => Math.fround(v)));
      expect(rt.memoryStats().weights[dtype]).toBeGreaterThanOrEqual(matrixBytes(dtype, 40, 64));
    } finally {
      e.dispose();
    }
    const narrow = rt.embedding({ data: uniform(10 * 48, 5), shape: [10, 48] }, { dtype });
    try {
      expect(narrow.dtype).toBe('f32');
      expect(reference.embedding({ data: uniform(10 * 48, 5), shape: [10, 48] }, { dtype }).dtype).toBe('f32');
    } finally {
      narrow.dispose();
    }
    expect(() => rt.embedding(weight, { dtype: 'q3' as 'q8' })).toThrow(/^embedding: options\.dtype must be/);
  });

  it('loading quantizes tensor by tensor: the peak Wasm memory of the load stays below the f32 weights', async () => {
    const f = await loadModel(rt, `${LM_DIR}qwen2`, { kind: 'causal-lm' });
    const f32Bytes = f.weightBytes.f32;
    f.dispose();
    const base = rt.memoryStats().bytesInUse;
    rt.resetPeakMemory();
    const m = await loadModel(rt, `${LM_DIR}qwen2`, { kind: 'causal-lm', dtype });
    try {
      const peak = rt.memoryStats().peakBytes - base;
      const held = m.weightBytes.f32 + m.weightBytes[dtype];
      // what stays, plus at most one matrix in f32 on the way (the largest: the word table)
      expect(peak).toBeLessThan(f32Bytes);
      expect(peak).toBeLessThanOrEqual(held + 4 * m.vocabSize * m.hiddenSize + 4096);
    } finally {
      m.dispose();
    }
  });

  it('a tied head multiplies by the quantized table itself: the model holds one copy; memoryStats() and the model report weights and caches by dtype', async () => {
    const before = rt.memoryStats();
    const m = await loadModel(rt, `${LM_DIR}qwen2`, { kind: 'causal-lm', dtype });
    try {
      // every quantizable matrix of the file (lm_head is absent: tied), counted once
      const file = readSafetensors(readFileSync(`${LM_DIR}qwen2/model.safetensors`));
      let quantized = 0;
      for (const [name, t] of Object.entries(file)) {
        if (t.shape.length === 2 && t.shape[1]! % 32 === 0 && !name.includes('norm')) quantized += matrixBytes(dtype, t.shape[0]!, t.shape[1]!);
      }
      expect(file['lm_head.weight']).toBeUndefined();
      expect(m.weightBytes[dtype]).toBe(quantized);
      const stats = rt.memoryStats();
      expect((stats.weights[dtype] ?? 0) - (before.weights[dtype] ?? 0)).toBe(m.weightBytes[dtype]);
      expect((stats.weights['f32'] ?? 0) - (before.weights['f32'] ?? 0)).toBe(m.weightBytes.f32);
      expect(m.residentBytes()).toEqual({ weights: { f32: m.weightBytes.f32, [dtype]: m.weightBytes[dtype] }, caches: {} });
      const cache = m.createCache({ maxLength: 16 });
      m.forward([1, 2, 3], { cache });
      expect(m.residentBytes().caches).toEqual({ f32: cache.bytes });
      expect((rt.memoryStats().caches['f32'] ?? 0) - (before.caches['f32'] ?? 0)).toBe(cache.bytes);
      cache.dispose();
      expect(m.residentBytes().caches).toEqual({});
      expect(rt.memoryStats().caches).toEqual(before.caches);
    } finally {
      m.dispose();
    }
    expect(rt.memoryStats().weights).toEqual(before.weights);
  });

  it.each(['bert-cls', 'roberta-mini', 'distilbert-cls'])("encoder %s: the word and position tables are held in the dtype with every matrix; the token-type table, norms and biases stay f32", async (name) => {
    const m = await loadModel(rt, `${ENC_DIR}${name}`, { dtype });
    try {
      const file = readSafetensors(readFileSync(`${ENC_DIR}${name}/model.safetensors`));
      let quantized = 0, f32 = 0;
      for (const [tensor, t] of Object.entries(file)) {
        if (m.unusedWeights.includes(tensor)) continue;
        const size = t.shape.reduce((a, b) => a * b, 1);
        if (t.shape.length === 2 && !tensor.includes('token_type')) quantized += matrixBytes(dtype, t.shape[0]!, t.shape[1]!);
        else f32 += 4 * size;
      }
      expect(file[Object.keys(file).find((n) => n.includes('position_embeddings'))!]).toBeDefined();
      expect(m.weightBytes[dtype]).toBe(quantized);
      expect(m.weightBytes.f32).toBe(f32);
    } finally {
      m.dispose();
    }
  });
});
