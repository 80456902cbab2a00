/**
 * torch.nn.GRU and nn.Embedding: the GRU cell kernel against float64 (random and saturated
 * inputs, every tail length), runtime.gru against PyTorch (test/fixtures/gru-seq2seq.json from
 * tools/gru_fixtures.py: with and without h0, packed sequences of lengths [3, 6], one step) and
 * against its twin, on every build; errors; dispose.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { loadKernels } from '../src/engine/load.js';
import { Heap } from '../src/engine/memory.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor, uniform } from './helpers.js';

interface Stored { shape: number[]; data: number[] }
const T = (s: Stored) => ({ data: Float32Array.from(s.data), shape: s.shape });
const W = (r: Record<string, Stored>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, T(v)]));
const fixture = JSON.parse(readFileSync(new URL('./fixtures/gru-seq2seq.json', import.meta.url), 'utf8')) as {
  gru: {
    inputSize: number; hiddenSize: number; weights: Record<string, Stored>; x: Stored; h0: Stored; lengths: number[];
    output: Stored; hidden: Stored; outputH0: Stored; hiddenH0: Stored; outputPacked: Stored; hiddenPacked: Stored; stepX: Stored; stepHidden: Stored;
  };
};
const g = fixture.gru;
const config = { inputSize: g.inputSize, hiddenSize: g.hiddenSize, weights: W(g.weights) };

/** h' of the GRU cell in float64 from gi, gh (gates r, z, n) and h. */
function cell64(gi: Float32Array, gh: Float32Array, h: Float32Array, rows: number, H: number): Float64Array {
  const out = new Float64Array(rows * H);
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  for (let b = 0; b < rows; b++)
    for (let i = 0; i < H; i++) {
      const o = b * 3 * H;
      const r = sig(gi[o + i]! + gh[o + i]!), z = sig(gi[o + H + i]! + gh[o + H + i]!);
      const n = Math.tanh(gi[o + 2 * H + i]! + r * gh[o + 2 * H + i]!);
      out[b * H + i] = (1 - z) * n + z * h[b * H + i]!;
    }
  return out;
}

describe.each(BUILDS)('GRU on the %s build', (backend) => {
  it('the cell kernel is within 1e-6 of float64 for every tail length, saturated gates, ±Infinity, in place', async () => {
    const memory = new WebAssembly.Memory({ initial: 16 });
    const k = await loadKernels(backend, memory);
    const heap = new Heap(memory, k.heapBase());
    let worst = 0;
    for (const H of [1, 2, 3, 4, 5, 7, 8, 9, 16, 33]) {
      for (const [scale, seed] of [[1, 1], [6, 2], [40, 3]] as const) {
        const rows = 3;
        const gi = uniform(rows * 3 * H, seed, -scale, scale), gh = uniform(rows * 3 * H, seed + 10, -scale, scale), h = uniform(rows * H, seed + 20);
        if (scale === 40) gi.set([Infinity, -Infinity], 0);
        const [pgi, pgh, ph] = [gi, gh, h].map((a) => { const p = heap.alloc(a.byteLength); heap.floats().set(a, p >>> 2); return p; }) as [number, number, number];
        k.gruCell(pgi, 3 * H, pgh, 3 * H, ph, H, ph, H, rows, H); // in place
        const got = heap.view(ph, rows * H).slice();
        worst = Math.max(worst, maxAbsDiff(got, cell64(gi, gh, h, rows, H)));
        for (const p of [pgi, pgh, ph]) heap.release(p);
      }
    }
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('log_softmax kernel: within 1e-6 of float64, large logits stay finite', async () => {
    const memory = new WebAssembly.Memory({ initial: 16 });
    const k = await loadKernels(backend, memory);
    const heap = new Heap(memory, k.heapBase());
    for (const cols of [1, 3, 4, 5, 14, 37]) {
      const x = uniform(2 * cols, cols, -30, 30);
      x[0] = 1e4;
      const p = heap.alloc(x.byteLength);
      heap.floats().set(x, p >>> 2);
      k.logSoftmax(p, cols, 2, cols);
      const want = Array.from({ length: 2 }, (_, r) => {
        const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
        return row.map((v) => v - lse);
      }).flat();
      // float32 rounding of |y| up to 1e4 allows 5e-4; below, 1e-6
      const got = heap.view(p, 2 * cols).slice();
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want[i]!), `cols ${cols} [${i}]`).toBeLessThanOrEqual(Math.max(1e-6, Math.abs(want[i]!) * 1.2e-7));
      heap.release(p);
    }
  });

  it('matches torch.nn.GRU within 1e-5: no h0, with h0, packed lengths [3, 6], one step', async () => {
    const rt = await runtimeFor(backend);
    const gru = rt.gru(config);
    expect([gru.inputSize, gru.hiddenSize]).toEqual([g.inputSize, g.hiddenSize]);
    const x = T(g.x), h0 = T(g.h0);
    const cases: [string, { output: Float32Array; hidden: Float32Array }, Stored, Stored][] = [
      ['no h0', gru.forward(x), g.output, g.hidden],
      ['h0', gru.forward(x, h0), g.outputH0, g.hiddenH0],
      ['h0 as [1, B, H]', gru.forward(x, { data: h0.data, shape: [1, ...h0.shape] }), g.outputH0, g.hiddenH0],
      ['packed', gru.forward(x, h0, { lengths: g.lengths }), g.outputPacked, g.hiddenPacked],
    ];
    for (const [what, got, output, hidden] of cases) {
      expect(maxAbsDiff(got.output, output.data), `${what} output`).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(got.hidden, hidden.data), `${what} hidden`).toBeLessThanOrEqual(1e-5);
    }
    expect(maxAbsDiff(gru.step(T(g.stepX), h0), g.stepHidden.data)).toBeLessThanOrEqual(1e-5);
    gru.dispose();
  });

  it('matches its twin; forward(x, options); lengths make each sequence run as alone (resident input too)', async () => {
    const rt = await runtimeFor(backend);
    const [I, H, B, L] = [7, 20, 3, 9];
    const s = 1 / Math.sqrt(H);
    const weights = { weight_ih_l0: tensor([3 * H, I], 1, -s, s), weight_hh_l0: tensor([3 * H, H], 2, -s, s), bias_ih_l0: tensor([3 * H], 3, -s, s), bias_hh_l0: tensor([3 * H], 4, -s, s) };
    const gru = rt.gru({ inputSize: I, hiddenSize: H, weights: { 'other.weight': tensor([1], 9), ...Object.fromEntries(Object.entries(weights).map(([k, v]) => [`rnn.${k}`, v])) }, prefix: 'rnn.' });
    const twin = reference.gru({ inputSize: I, hiddenSize: H, weights });
    const x = tensor([B, L, I], 5), h0 = tensor([B, H], 6);
    const lengths = [L, 4, 0];
    const got = gru.forward(x, h0, { lengths }), want = twin.forward(x, h0, { lengths });
    expect(maxAbsDiff(got.output, want.output)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(got.hidden, want.hidden)).toBeLessThanOrEqual(1e-5);
    expect([...got.hidden.subarray(2 * H)]).toEqual([...h0.data.subarray(2 * H)]); // length 0: h0
    expect([...got.output.subarray((L + 4) * H, 2 * L * H)].every((v) => v === 0)).toBe(true);
    for (let b = 0; b < B; b++) {
      if (lengths[b] === 0) continue;
      const alone = gru.forward({ data: x.data.slice(b * L * I, (b * L + lengths[b]!) * I), shape: [1, lengths[b]!, I] }, { data: h0.data.slice(b * H, (b + 1) * H), shape: [1, H] });
      expect(maxAbsDiff(alone.hidden, got.hidden.subarray(b * H, (b + 1) * H)), `sequence ${b}`).toBeLessThanOrEqual(1e-6);
    }
    const resident = rt.tensor(x.data, x.shape);
    expect(maxAbsDiff(gru.forward(resident, { lengths }).hidden, twin.forward(x, { lengths }).hidden)).toBeLessThanOrEqual(1e-5);
    resident.dispose();
    gru.dispose();
  });

  it('embedding: rows by id, { weight } state_dicts with a prefix, ids out of range', async () => {
    const rt = await runtimeFor(backend);
    const w = tensor([6, 4], 7);
    const emb = rt.embedding(w);
    expect([emb.numEmbeddings, emb.embeddingDim]).toEqual([6, 4]);
    expect([...emb.lookup([5, 0])]).toEqual([...w.data.subarray(20, 24), ...w.data.subarray(0, 4)]);
    expect([...emb.lookup(Int32Array.from([1, 2, 3, 4]), [2, 2])]).toEqual([...reference.embedding(w).lookup([1, 2, 3, 4], [2, 2])]);
    expect([...rt.embedding({ 'encoder.embedding.weight': w }, { prefix: 'encoder.embedding.' }).lookup([3])]).toEqual([...w.data.subarray(12, 16)]);
    expect(() => emb.lookup([1, 6])).toThrow(new RangeError('ids[1] = 6 is out of range for a vocabulary of 6 (expected an integer in [0, 5])'));
    expect(() => reference.embedding(w).lookup([1, 6])).toThrow(new RangeError('ids[1] = 6 is out of range for a vocabulary of 6 (expected an integer in [0, 5])'));
    expect(() => emb.lookup([-1])).toThrow(/^ids\[0\] = -1 is out of range/);
    expect(() => emb.lookup([1, 2], [3])).toThrow(RangeError);
    expect(() => rt.embedding({ wieght: w } as never)).toThrow(/^embedding: the weights do not match its state_dict: missing weight; unexpected wieght \(did you mean weight\?\)$/);
    emb.dispose();
    expect(() => emb.lookup([0])).toThrow(/disposed/);
  });

  it('rejects wrong shapes, unknown options and state_dict names; the runtime stays usable; dispose frees', async () => {
    const rt = await runtimeFor(backend);
    const before = rt.memoryStats();
    expect(() => rt.gru({ ...config, weights: { ...config.weights, weight_hh: config.weights['weight_hh_l0']! } })).toThrow(/^gru: the weights do not match its state_dict: unexpected weight_hh \(did you mean weight_hh_l0\?\)$/);
    expect(() => rt.gru({ ...config, hiddenSize: 8 })).toThrow(/^gru: weights\['weight_ih_l0'\]: expected shape \[24, 5\]/);
    expect(() => rt.gru({ ...config, hidenSize: 16 } as never)).toThrow(/config\.hidenSize is not an option of gru; did you mean hiddenSize\?/);
    expect(rt.memoryStats().bytesInUse).toBe(before.bytesInUse);
    const gru = rt.gru(config);
    const x = T(g.x);
    expect(() => gru.forward({ data: x.data, shape: [2, 30, 1] })).toThrow(/^x: expected shape \[B, L, 5\] \(batch_first, inputSize 5\), received \[2, 30, 1\]$/);
    expect(() => gru.forward(x, tensor([3, 16], 1))).toThrow(/^h0: expected shape \[2, 16\] or \[1, 2, 16\]/);
    expect(() => gru.forward(x, { lenghts: [1, 2] } as never)).toThrow(/options\.lenghts is not an option of gru\.forward; did you mean lengths\?/);
    expect(() => gru.forward(x, undefined, { lengths: [7, 1] })).toThrow(/^options\.lengths\[0\] must be an integer in \[0, 6\]/);
    expect(maxAbsDiff(gru.forward(x).hidden, g.hidden.data)).toBeLessThanOrEqual(1e-5);
    gru.dispose();
    expect(() => gru.forward(x)).toThrow(/^gru: this module was disposed$/);
    expect(rt.memoryStats().bytesInUse).toBe(before.bytesInUse);
  });
});
