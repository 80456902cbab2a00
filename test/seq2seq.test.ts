import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor } from './helpers.js';

const H = 20;
const S = 13;
const B = 3;

function luongWeights(seed: number) {
  const s = 1 / Math.sqrt(H);
  return {
    W: tensor([H, H], seed, -s, s),
    Wa: tensor([H, 2 * H], seed + 1, -s, s),
    ba: tensor([H], seed + 2, -s, s),
    va: tensor([H], seed + 3, -1, 1),
    Wc: tensor([H, 2 * H], seed + 4, -s, s),
    bc: tensor([H], seed + 5, -s, s),
  };
}

function bahdanauWeights(seed: number, h = H) {
  const s = 1 / Math.sqrt(h);
  return {
    'Wa.weight': tensor([h, h], seed, -s, s),
    'Wa.bias': tensor([h], seed + 1, -s, s),
    'Ua.weight': tensor([h, h], seed + 2, -s, s),
    'Ua.bias': tensor([h], seed + 3, -s, s),
    'Va.weight': tensor([1, h], seed + 4, -s, s),
    'Va.bias': tensor([1], seed + 5, -s, s),
  };
}

function expectStep(got: { context: Float32Array; weights: Float32Array; scores: Float32Array; attentional?: Float32Array }, want: typeof got, what: string) {
  expect(maxAbsDiff(got.scores, want.scores), `${what} scores`).toBeLessThanOrEqual(1e-5);
  expect(maxAbsDiff(got.weights, want.weights), `${what} weights`).toBeLessThanOrEqual(1e-5);
  expect(maxAbsDiff(got.context, want.context), `${what} context`).toBeLessThanOrEqual(1e-5);
  if (want.attentional) expect(maxAbsDiff(got.attentional!, want.attentional), `${what} attentional`).toBeLessThanOrEqual(1e-5);
  else expect(got.attentional).toBeUndefined();
}

describe.each(BUILDS)('seq2seq attention on the %s build', (backend) => {
  it('the worked example with Luong dot: scores [15, 60, 15, 35], context ≈ [5, 6.94e-11, 1]', async () => {
    const rt = await runtimeFor(backend);
    const att = rt.luongAttention({ score: 'dot' });
    const hs = { data: new Float32Array([0, 1, 1, 5, 0, 1, 1, 1, 0, 0, 5, 1]), shape: [4, 3] };
    const r = att.attend({ data: new Float32Array([10, 5, 10]), shape: [3] }, hs);
    expect([...r.scores]).toEqual([15, 60, 15, 35]);
    expect(r.weights[1]).toBeCloseTo(1, 7);
    expect(r.context[0]).toBeCloseTo(5, 5);
    expect(r.context[1]! / 6.94e-11).toBeCloseTo(1, 2);
    expect(r.context[2]).toBeCloseTo(1, 6);
  });

  it('Luong dot, general and concat, with and without the attentional state, match the reference over decode steps', async () => {
    const rt = await runtimeFor(backend);
    const w = luongWeights(10);
    const hs = tensor([B, S, H], 20);
    const lengths = [S, 5, 1];
    const configs = [
      { score: 'dot' as const },
      { score: 'dot' as const, Wc: w.Wc },
      { score: 'general' as const, W: w.W },
      { score: 'general' as const, W: w.W, Wc: w.Wc, bc: w.bc },
      { score: 'concat' as const, Wa: w.Wa, va: w.va },
      { score: 'concat' as const, Wa: w.Wa, ba: w.ba, va: w.va, Wc: w.Wc },
    ];
    for (const config of configs) {
      const att = rt.luongAttention(config);
      const memory = att.bind(hs, { lengths });
      for (let t = 0; t < 4; t++) {
        const h = tensor([B, H], 30 + t);
        expectStep(memory.step(h), reference.luongAttention(config).attend(h, hs, { lengths }), `${JSON.stringify(Object.keys(config))} step ${t}`);
      }
      memory.dispose();
      att.dispose();
    }
  });

  it('Bahdanau (PyTorch tutorial module) matches the reference, padding gets zero weight', async () => {
    const rt = await runtimeFor(backend);
    const weights = bahdanauWeights(40);
    const att = rt.bahdanauAttention(weights);
    expect(att.hiddenSize).toBe(H);
    const hs = tensor([B, S, H], 50);
    const lengths = [S, 7, 0];
    const memory = att.bind(hs, { lengths });
    for (let t = 0; t < 4; t++) {
      const h = tensor([B, H], 60 + t);
      const got = memory.step(h);
      expectStep(got, reference.bahdanauAttention(weights).attend(h, hs, { lengths }), `step ${t}`);
      expect([...got.weights.subarray(S + 7, 2 * S)]).toEqual(new Array(S - 7).fill(0));
      expect([...got.weights.subarray(2 * S)]).toEqual(new Array(S).fill(0)); // no source at all: zeros, not NaN
      expect([...got.context.subarray(2 * H)]).toEqual(new Array(H).fill(0));
    }
    memory.dispose();
  });

  it('Bahdanau by hand: identity projections, zero biases, Va = 1', async () => {
    const rt = await runtimeFor(backend);
    const eye = { data: new Float32Array([1, 0, 0, 1]), shape: [2, 2] };
    const zeros = { data: new Float32Array(2), shape: [2] };
    const att = rt.bahdanauAttention({
      'Wa.weight': eye, 'Wa.bias': zeros, 'Ua.weight': eye, 'Ua.bias': zeros,
      'Va.weight': { data: new Float32Array([1, 1]), shape: [1, 2] }, 'Va.bias': { data: new Float32Array([0.5]), shape: [1] },
    });
    // h = [1, 0]; hs = [[0, 0], [1, 1]]: scores = [tanh 1 + tanh 0, tanh 2 + tanh 1] + 0.5
    const r = att.attend({ data: new Float32Array([1, 0]), shape: [2] }, { data: new Float32Array([0, 0, 1, 1]), shape: [2, 2] });
    const s = [Math.tanh(1) + 0.5, Math.tanh(2) + Math.tanh(1) + 0.5];
    expect(maxAbsDiff(r.scores, s)).toBeLessThanOrEqual(1e-6);
    const w1 = 1 / (1 + Math.exp(s[0]! - s[1]!));
    expect(maxAbsDiff(r.weights, [1 - w1, w1])).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(r.context, [w1, w1])).toBeLessThanOrEqual(1e-6);
  });

  it('additive scores are exact in both forms: factored (|q|, |k| ≤ 20) and tanh (beyond, at bind or per step)', async () => {
    const rt = await runtimeFor(backend);
    const h = 16;
    const eye = { data: new Float32Array(h * h).map((_, i) => (i % (h + 1) === 0 ? 1 : 0)), shape: [h, h] };
    const zeros = { data: new Float32Array(h), shape: [h] };
    const va = tensor([1, h], 7);
    const att = rt.bahdanauAttention({ 'Wa.weight': eye, 'Wa.bias': zeros, 'Ua.weight': eye, 'Ua.bias': zeros, 'Va.weight': va, 'Va.bias': { data: new Float32Array([0.25]), shape: [1] } });
    // identity projections: q = decoder state, keys = encoder states, score = Σ Va·tanh(q + k) + 0.25
    const want = (q: Float32Array, ks: Float32Array) =>
      Array.from({ length: ks.length / h }, (_, s) => va.data.reduce((acc, v, i) => acc + v * Math.tanh(q[i]! + ks[s * h + i]!), 0.25));
    const cases: [string, number, number][] = [['factored', 15, 15], ['tanh at bind (|k| = 25)', 15, 25], ['tanh at the step (|q| = 30)', 30, 15]];
    for (const [what, qMax, kMax] of cases) {
      const q = tensor([h], 11, -qMax, qMax).data;
      const ks = tensor([9, h], 12, -kMax, kMax).data;
      ks.set(q.map((x) => -x + 0.01), 0);                         // q + k ≈ 0.01: cancellation
      ks.set(q.map((x) => -x - 0.5), h);                          // q + k = -0.5
      ks.set(q.map((x) => Math.max(-kMax, Math.min(kMax, -x))), 2 * h); // q + k ≈ 0 inside the range
      const got = att.attend({ data: q, shape: [h] }, { data: ks, shape: [9, h] }).scores;
      expect(maxAbsDiff(got, want(q, ks)), what).toBeLessThanOrEqual(2e-6);
    }
    att.dispose();
  });

  it('tanh (attentional state with Wc = [0 | I]) is within 2.2e-7 of Math.tanh over [-12, 12]', async () => {
    const rt = await runtimeFor(backend);
    const n = 2001;
    const wc = new Float32Array(n * 2 * n);
    for (let i = 0; i < n; i++) wc[i * 2 * n + n + i] = 1; // picks h out of [c; h]
    const att = rt.luongAttention({ score: 'dot', Wc: { data: wc, shape: [n, 2 * n] } });
    const memory = att.bind({ data: new Float32Array(n), shape: [1, n] });
    let worst = 0;
    for (let round = 0; round < 4; round++) {
      const h = Float32Array.from({ length: n }, (_, i) => -12 + (24 * (i * 4 + round)) / (4 * n - 1));
      const got = memory.step({ data: h, shape: [n] }).attentional!;
      worst = Math.max(worst, maxAbsDiff(got, Array.from(h, Math.tanh)));
    }
    expect(worst).toBeLessThanOrEqual(2.2e-7);
  });

  it('uses a resident encoder-state tensor in place and leaves it to the caller', async () => {
    const rt = await runtimeFor(backend);
    const hsData = tensor([1, 9, 8], 70);
    const hs = rt.tensor(hsData.data, hsData.shape);
    const before = rt.memoryStats().bytesInUse;
    const memory = rt.luongAttention({ score: 'dot' }).bind(hs);
    // Only the small per-step buffers are allocated: no copy of the 9×8 encoder states.
    expect(rt.memoryStats().bytesInUse - before).toBeLessThan(9 * 8 * 4 + 4 * 16 * 4);
    const h = tensor([1, 8], 71);
    expectStep(memory.step(h), reference.luongAttention({ score: 'dot' }).attend(h, hsData), 'resident');
    memory.dispose();
    expect(hs.disposed).toBe(false);
    hs.dispose();
  });

  it('rejects bad weights, hidden sizes, lengths and disposed memories with clear errors', async () => {
    const rt = await runtimeFor(backend);
    const w = bahdanauWeights(80);
    expect(() => rt.bahdanauAttention({ ...w, 'Ua.weight': tensor([H, H - 1], 1) })).toThrow(
      new RangeError(`bahdanauAttention: weights['Ua.weight']: expected shape [${H}, ${H}] (Linear(${H}, ${H}) weight as [out, in]), received [${H}, ${H - 1}]`),
    );
    const { 'Va.bias': _, ...missing } = w;
    expect(() => rt.bahdanauAttention(missing as never)).toThrow(/^bahdanauAttention: weights\['Va.bias'\] is missing \(expected shape \[1\]/);
    expect(() => rt.luongAttention({ score: 'general', W: tensor([H, H + 1], 2) })).toThrow(/^luongAttention: W: expected shape \[20, 20\]/);
    expect(() => rt.luongAttention({ score: 'bilinear' as never })).toThrow(TypeError);
    const att = rt.bahdanauAttention(w);
    expect(() => att.bind(tensor([2, 5, H + 2], 3))).toThrow(/^encoderStates: expected shape \[B, S, 20\] \(the hidden size of the weights\), received \[2, 5, 22\]$/);
    expect(() => att.bind(tensor([2, 5, H], 3), { lengths: [5, 6] })).toThrow(/^options.lengths\[1\] must be an integer in \[0, 5\], received 6$/);
    const memory = att.bind(tensor([2, 5, H], 3));
    expect(() => memory.step(tensor([2, H + 1], 4))).toThrow(/^decoderHidden: expected shape \[2, 20\] .*received \[2, 21\]$/);
    memory.dispose();
    expect(() => memory.step(tensor([2, H], 4))).toThrow(/this bound memory was disposed/);
    att.dispose();
    expect(() => att.bind(tensor([2, 5, H], 3))).toThrow(/this attention was disposed/);
  });
});

describe('Bahdanau attention from a whole model state_dict', () => {
  it('takes a prefix (e.g. the tutorial decoder\'s attention.*), in the runtime and the twin alike', async () => {
    const { runtimeFor: rf, tensor: tt } = await import('./helpers.js');
    const { reference: ref } = await import('../src/index.js');
    const rt = await rf('simd');
    const H = 8;
    const sd = {
      'attention.Wa.weight': tt([H, H], 1), 'attention.Wa.bias': tt([H], 2), 'attention.Ua.weight': tt([H, H], 3),
      'attention.Ua.bias': tt([H], 4), 'attention.Va.weight': tt([1, H], 5), 'attention.Va.bias': tt([1], 6), 'embedding.weight': tt([10, H], 7),
    };
    const [h, hs] = [tt([1, H], 8), tt([1, 6, H], 9)];
    const got = rt.bahdanauAttention(sd, { prefix: 'attention.' }).attend(h, hs).context;
    const want = ref.bahdanauAttention(sd, { prefix: 'attention.' }).attend(h, hs).context;
    for (let i = 0; i < H; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5);
    expect(() => rt.bahdanauAttention(sd)).toThrow(/^bahdanauAttention: the weights do not match its state_dict: missing Wa\.weight, .* unexpected attention\.Wa\.weight, .*This looks like a whole model's state_dict: pass prefix 'attention\.' to load one module of it$/);
  });
});
