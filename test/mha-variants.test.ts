// The multi-head module's variants — Hugging Face (Llama-form) weights with grouped-query heads,
// q/k/v and o biases, bias: false, RoPE inside forward and step, forward options attnMask,
// keyPaddingMask and window, sliding-window caches — on every build against the float64 twin that
// writes each one out literally; the decoding identities on the runtime and on the twin alone;
// GQA = MHA with repeated k/v rows; and the argument errors (nothing left allocated).
import { describe, expect, it } from 'vitest';
import { reference, type AttentionRuntime } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor } from './helpers.js';

type T = { data: Float32Array; shape: number[] };

// ---- inputs -----------------------------------------------------------------------------------

/**
 * A unit-scale weight [out, in]: uniform with variance 1/in, so every projection keeps unit-scale
 * activations (q, k, v, outputs of order 1). With raw uniform [−1, 1] weights the outputs at E = 64
 * reach ~40, where float32 rounding alone (a few ulps) exceeds the 1e-5 tolerance.
 */
function weight(shape: number[], seed: number): T {
  const s = Math.sqrt(3 / shape[shape.length - 1]!);
  return tensor(shape, seed, -s, s);
}

interface LlamaOptions {
  /** q_proj.bias, k_proj.bias, v_proj.bias (Qwen). */
  qkvBias?: boolean;
  oBias?: boolean;
}
type LlamaWeights = Record<'q_proj.weight' | 'k_proj.weight' | 'v_proj.weight' | 'o_proj.weight', T> & Partial<Record<'q_proj.bias' | 'k_proj.bias' | 'v_proj.bias' | 'o_proj.bias', T>>;

/** Hugging Face q_proj [H·Dh, E], k_proj / v_proj [Hk·Dh, E], o_proj [E, H·Dh] (+ biases). */
function llamaWeights(e: number, heads: number, kvHeads: number, seed: number, { qkvBias = false, oBias = false }: LlamaOptions = {}): LlamaWeights {
  const kv = (e / heads) * kvHeads;
  const w: LlamaWeights = {
    'q_proj.weight': weight([e, e], seed),
    'k_proj.weight': weight([kv, e], seed + 1),
    'v_proj.weight': weight([kv, e], seed + 2),
    'o_proj.weight': weight([e, e], seed + 3),
  };
  if (qkvBias) Object.assign(w, { 'q_proj.bias': tensor([e], seed + 4), 'k_proj.bias': tensor([kv], seed + 5), 'v_proj.bias': tensor([kv], seed + 6) });
  if (oBias) w['o_proj.bias'] = tensor([e], seed + 7);
  return w;
}

/** torch.nn.MultiheadAttention's state_dict, without biases when `bias` is false. */
type TorchWeights = { in_proj_weight: T; 'out_proj.weight': T; in_proj_bias?: T; 'out_proj.bias'?: T };
function torchWeights(e: number, seed: number, bias = true): TorchWeights {
  const w = { in_proj_weight: weight([3 * e, e], seed), 'out_proj.weight': weight([e, e], seed + 1) };
  return bias ? { ...w, in_proj_bias: tensor([3 * e], seed + 2), 'out_proj.bias': tensor([e], seed + 3) } : w;
}

/** Rows t of every sequence of x [B, L, E] → [B, E]. */
function rowsAt(x: Float32Array, b: number, l: number, e: number, t: number): Float32Array {
  const out = new Float32Array(b * e);
  for (let i = 0; i < b; i++) out.set(x.subarray((i * l + t) * e, (i * l + t + 1) * e), i * e);
  return out;
}

/** [B, S] left padding: the first `n` keys of batch 1 are padding (true = padding). */
function leftPadding(batch: number, s: number, n: number): { data: Uint8Array; shape: number[] } {
  const data = new Uint8Array(batch * s);
  data.fill(1, s, s + n);
  return { data, shape: [batch, s] };
}

function boolMask(shape: number[], seed: number, density = 0.7): { data: Uint8Array; shape: number[] } {
  return { data: Uint8Array.from(tensor(shape, seed, 0, 1).data, (x) => (x < density ? 1 : 0)), shape };
}

/** Additive mask in [−2, 2] with about one entry in eight −inf. */
function floatMask(shape: number[], seed: number): T {
  const m = tensor(shape, seed, -2, 2);
  m.data.forEach((x, i) => (x < -1.5 ? (m.data[i] = -Infinity) : 0));
  return m;
}

/** What the runtime and the twin share, as the tests use them. */
interface ForwardOptions {
  causal?: boolean;
  keyLengths?: number[];
  keyPaddingMask?: { data: Uint8Array | boolean[]; shape: number[] };
  attnMask?: { data: Uint8Array | Float32Array | boolean[]; shape: number[] };
  window?: [number, number];
  needWeights?: boolean;
}
interface Cache {
  readonly maxLength: number;
  readonly window: number | undefined;
  readonly length: number;
  truncate(length: number): void;
  reset(): void;
  dispose(): void;
}
interface Module {
  readonly numKeyValueHeads: number;
  forward(query: T, options?: ForwardOptions): { output: Float32Array; weights?: Float32Array };
  forward(query: T, key: T | undefined, value?: T, options?: ForwardOptions): { output: Float32Array; weights?: Float32Array };
  createCache(options: { batch: number; maxLength?: number; window?: number }): Cache;
  step(x: T, cache: Cache): Float32Array;
  dispose(): void;
}
interface Config {
  embedDim: number;
  numHeads: number;
  numKeyValueHeads?: number;
  bias?: boolean;
  rope?: { style: 'half' | 'interleaved'; base?: number };
  weights: LlamaWeights | TorchWeights;
}
type Make = (config: Config) => Module;

const [E, H, B, L, S] = [64, 8, 2, 9, 13];

/** The runtime's module and the twin's for one config; `forward` compared on both (output, and weights when asked). */
function compare(rt: AttentionRuntime, config: Config) {
  const mha = rt.multiHeadAttention(config as never) as unknown as Module;
  const ref = reference.multiHeadAttention(config as never) as unknown as Module;
  expect(mha.numKeyValueHeads).toBe(config.numKeyValueHeads ?? config.numHeads);
  const check = (what: string, args: [T, T?, T?], options: ForwardOptions = {}): void => {
    const got = args.length === 1 ? mha.forward(args[0], options) : mha.forward(args[0], args[1], args[2], options);
    const want = args.length === 1 ? ref.forward(args[0], options) : ref.forward(args[0], args[1], args[2], options);
    expect(want.output.every(Number.isFinite), `${what}: reference finite`).toBe(true);
    expect(maxAbsDiff(got.output, want.output), `${what}: output`).toBeLessThanOrEqual(1e-5);
    if (options.needWeights) expect(maxAbsDiff(got.weights!, want.weights!), `${what}: weights`).toBeLessThanOrEqual(1e-5);
    else expect(got.weights, what).toBeUndefined();
  };
  return { mha, ref, check, dispose: () => mha.dispose() };
}

// ---- decoding identities, written once for the runtime and the twin ------------------------------

/** x [B, L, E] fed token by token through step with a plain cache = the causal forward's rows. */
function stepEqualsCausalForward(make: Make, config: Config, batch: number, length: number): number {
  const mha = make(config);
  const e = config.embedDim;
  const x = tensor([batch, length, e], 31);
  const full = mha.forward(x, { causal: true }).output;
  const cache = mha.createCache({ batch, maxLength: length });
  expect(cache.window).toBeUndefined();
  let worst = 0;
  for (let t = 0; t < length; t++) {
    const y = mha.step({ data: rowsAt(x.data, batch, length, e, t), shape: [batch, e] }, cache);
    worst = Math.max(worst, maxAbsDiff(y, rowsAt(full, batch, length, e, t)));
  }
  expect(cache.length).toBe(length);
  cache.dispose();
  mha.dispose();
  return worst;
}

/** With a window cache of W, step = forward(x, { causal: true, window: [W − 1, 0] }), over `length` ≫ W tokens. */
function stepEqualsWindowForward(make: Make, config: Config, batch: number, length: number, w: number): number {
  const mha = make(config);
  const e = config.embedDim;
  const x = tensor([batch, length, e], 32);
  const windowed = mha.forward(x, { causal: true, window: [w - 1, 0] }).output;
  const unwindowed = mha.forward(x, { causal: true }).output;
  expect(maxAbsDiff(windowed, unwindowed), 'the window changes the later rows').toBeGreaterThan(1e-3);
  const cache = mha.createCache({ batch, window: w });
  expect([cache.window, cache.maxLength]).toEqual([w, w]);
  let worst = 0;
  for (let t = 0; t < length; t++) {
    const y = mha.step({ data: rowsAt(x.data, batch, length, e, t), shape: [batch, e] }, cache);
    worst = Math.max(worst, maxAbsDiff(y, rowsAt(windowed, batch, length, e, t)));
  }
  expect(cache.length).toBe(length);
  cache.dispose();
  mha.dispose();
  return worst;
}

/** A window cache truncates only to 0 (a new sequence, decoded as from scratch) or its current length. */
function windowTruncateRules(make: Make, config: Config): void {
  const mha = make(config);
  const e = config.embedDim;
  const x = tensor([1, 7, e], 33);
  const windowed = mha.forward(x, { causal: true, window: [3, 0] }).output;
  const cache = mha.createCache({ batch: 1, window: 4 });
  const token = (t: number): T => ({ data: rowsAt(x.data, 1, 7, e, t), shape: [1, e] });
  for (let t = 0; t < 2; t++) mha.step(token(t), cache);
  // nothing overwritten yet, and still only 0 or the length
  expect(() => cache.truncate(1)).toThrow(new RangeError('a sliding-window cache keeps only its last 4 positions: truncate(1) cannot restore the ones it overwrote; reset() it instead'));
  for (let t = 2; t < 6; t++) mha.step(token(t), cache);
  for (const n of [1, 2, 5]) {
    let error: unknown;
    try {
      cache.truncate(n);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe(`a sliding-window cache keeps only its last 4 positions: truncate(${n}) cannot restore the ones it overwrote; reset() it instead`);
  }
  expect(() => cache.truncate(7)).toThrow(new RangeError('length must be an integer in [0, 6], received 7'));
  expect(() => cache.truncate(-1)).toThrow(RangeError);
  expect(cache.length).toBe(6);
  cache.truncate(6); // the current length: nothing to forget
  expect(cache.length).toBe(6);
  const y6 = mha.step(token(6), cache);
  expect(maxAbsDiff(y6, rowsAt(windowed, 1, 7, e, 6))).toBeLessThanOrEqual(1e-5);
  cache.truncate(0);
  expect(cache.length).toBe(0);
  for (let t = 0; t < 7; t++) expect(maxAbsDiff(mha.step(token(t), cache), rowsAt(windowed, 1, 7, e, t)), `after truncate(0), token ${t}`).toBeLessThanOrEqual(1e-5);
  cache.reset();
  expect(cache.length).toBe(0);
  cache.dispose();
  mha.dispose();
}

/** k_proj / v_proj (and biases) of Hk heads repeated so query head h has its kv head ⌊h/(H/Hk)⌋ of its own: an MHA state_dict. */
function repeatKv(w: LlamaWeights, heads: number, kvHeads: number, dh: number): LlamaWeights {
  const group = heads / kvHeads;
  const repeat = (t: T): T => {
    const cols = t.shape.length === 2 ? t.shape[1]! : 1;
    const data = new Float32Array(heads * dh * cols);
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      data.set(t.data.subarray(g * dh * cols, (g + 1) * dh * cols), h * dh * cols);
    }
    return { data, shape: t.shape.length === 2 ? [heads * dh, cols] : [heads * dh] };
  };
  const out: LlamaWeights = { ...w, 'k_proj.weight': repeat(w['k_proj.weight']), 'v_proj.weight': repeat(w['v_proj.weight']) };
  if (w['k_proj.bias']) out['k_proj.bias'] = repeat(w['k_proj.bias']);
  if (w['v_proj.bias']) out['v_proj.bias'] = repeat(w['v_proj.bias']);
  return out;
}

function gqaEqualsRepeatedMha(make: Make): number {
  let worst = 0;
  for (const [kvHeads, rope] of [[2, undefined], [1, { style: 'half' as const }], [4, { style: 'interleaved' as const, base: 500000 }]] as const) {
    const w = llamaWeights(E, H, kvHeads, 40, { qkvBias: true, oBias: true });
    const gqa = make({ embedDim: E, numHeads: H, numKeyValueHeads: kvHeads, rope, weights: w });
    const mha = make({ embedDim: E, numHeads: H, rope, weights: repeatKv(w, H, kvHeads, E / H) });
    expect([gqa.numKeyValueHeads, mha.numKeyValueHeads]).toEqual([kvHeads, H]);
    const x = tensor([B, L, E], 41);
    const mem = tensor([B, S, E], 42);
    for (const options of [{ causal: true, needWeights: true }, { keyPaddingMask: leftPadding(B, L, 3), window: [2, 1] as [number, number], needWeights: true }]) {
      const [a, b] = [gqa.forward(x, options), mha.forward(x, options)];
      worst = Math.max(worst, maxAbsDiff(a.output, b.output), maxAbsDiff(a.weights!, b.weights!));
    }
    worst = Math.max(worst, maxAbsDiff(gqa.forward(x, mem, undefined).output, mha.forward(x, mem, undefined).output));
    const [ca, cb] = [gqa.createCache({ batch: B, window: 3 }), mha.createCache({ batch: B, window: 3 })];
    for (let t = 0; t < L; t++) {
      const token = { data: rowsAt(x.data, B, L, E, t), shape: [B, E] };
      worst = Math.max(worst, maxAbsDiff(gqa.step(token, ca), mha.step(token, cb)));
    }
    ca.dispose();
    cb.dispose();
    gqa.dispose();
    mha.dispose();
  }
  return worst;
}

const ROPED: Config = { embedDim: E, numHeads: H, numKeyValueHeads: 2, rope: { style: 'half', base: 500000 }, weights: llamaWeights(E, H, 2, 30, { qkvBias: true, oBias: true }) };

// ---- the runtime against the twin, on every build -----------------------------------------------

const KV_CASES = [2, 1, H].flatMap((kvHeads) =>
  [{}, { qkvBias: true }, { oBias: true }, { qkvBias: true, oBias: true }].map((biases: LlamaOptions) => ({
    name: `Hk ${kvHeads}${biases.qkvBias ? ', q/k/v biases' : ''}${biases.oBias ? ', o bias' : ''}`,
    kvHeads,
    biases,
  })),
);

describe.each(BUILDS)('multi-head attention variants on the %s build', (backend) => {
  it.each(KV_CASES)('Llama-form weights, H 8, $name: forward matches the reference', async ({ kvHeads, biases }) => {
    const rt = await runtimeFor(backend);
    const { check, dispose } = compare(rt, { embedDim: E, numHeads: H, numKeyValueHeads: kvHeads, weights: llamaWeights(E, H, kvHeads, 10 + kvHeads, biases) });
    const x = tensor([B, L, E], 1);
    check('self', [x]);
    check('causal, needWeights', [x], { causal: true, needWeights: true });
    check('key lengths', [x], { keyLengths: [L, 4] });
    check('[L, E] query', [{ data: x.data.slice(0, L * E), shape: [L, E] }], { causal: true });
    dispose();
  });

  it.each([
    ['half', 10000], ['half', 500000], ['interleaved', 10000], ['interleaved', 500000],
  ] as const)('RoPE %s, base %d (H 8, Hk 2): forward, causal and cross, matches the reference', async (style, base) => {
    const rt = await runtimeFor(backend);
    const { check, dispose } = compare(rt, { embedDim: E, numHeads: H, numKeyValueHeads: 2, rope: { style, base }, weights: llamaWeights(E, H, 2, 20, { qkvBias: true }) });
    const x = tensor([B, L, E], 2);
    check('self', [x], { needWeights: true });
    check('causal', [x], { causal: true });
    check('cross (k at positions 0 … S − 1)', [x, tensor([B, S, E], 3), tensor([B, S, E], 4)], { causal: true, needWeights: true });
    dispose();
  });

  it('the RoPE base changes the result (both ways), so the base really reaches the rotation', async () => {
    const rt = await runtimeFor(backend);
    const x = tensor([1, L, E], 5);
    const w = llamaWeights(E, H, 2, 21);
    const out = (rope?: Config['rope']) => rt.multiHeadAttention({ embedDim: E, numHeads: H, numKeyValueHeads: 2, rope, weights: w }).forward(x, { causal: true }).output;
    const [none, a, b, c] = [out(undefined), out({ style: 'half' }), out({ style: 'half', base: 500000 }), out({ style: 'interleaved' })];
    for (const [p, q] of [[none, a], [a, b], [a, c]] as const) expect(maxAbsDiff(p, q)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(out({ style: 'half', base: 10000 }), a)).toBe(0); // the default base
  });

  it('the PyTorch form with bias: false (and with RoPE) matches the reference', async () => {
    const rt = await runtimeFor(backend);
    for (const rope of [undefined, { style: 'interleaved' as const }]) {
      const { check, dispose } = compare(rt, { embedDim: E, numHeads: H, bias: false, rope, weights: torchWeights(E, 50, false) });
      const x = tensor([B, L, E], 6);
      check('self', [x], { needWeights: true });
      check('causal', [x], { causal: true });
      check('cross', [x, tensor([B, S, E], 7)], { keyLengths: [S, 2] });
      dispose();
    }
    // with biases, the PyTorch form (numKeyValueHeads = numHeads given explicitly)
    const { check, dispose } = compare(rt, { embedDim: E, numHeads: H, numKeyValueHeads: H, rope: { style: 'half' }, weights: torchWeights(E, 51) });
    check('biases', [tensor([B, L, E], 8)], { causal: true, needWeights: true });
    dispose();
  });

  it('forward options attnMask, keyPaddingMask, window (GQA, RoPE) match the reference', async () => {
    const rt = await runtimeFor(backend);
    const { check, dispose } = compare(rt, ROPED);
    const x = tensor([B, L, E], 9);
    const pad = leftPadding(B, L, 3);
    check('bool attnMask [L, S] broadcast', [x], { attnMask: boolMask([L, L], 60), needWeights: true });
    check('bool attnMask as boolean[] [B, 1, 1, S]', [x], { attnMask: { data: Array.from(boolMask([B, 1, 1, L], 61).data, Boolean), shape: [B, 1, 1, L] } });
    check('bool attnMask [B, H, L, S]', [x], { attnMask: boolMask([B, H, L, L], 62) });
    check('float attnMask [B, 1, L, S]', [x], { attnMask: floatMask([B, 1, L, L], 63), needWeights: true });
    check('keyPaddingMask (left padding of batch 1)', [x], { keyPaddingMask: pad, needWeights: true });
    check('keyPaddingMask as boolean[]', [x], { keyPaddingMask: { data: Array.from(pad.data, Boolean), shape: pad.shape } });
    check('keyPaddingMask + bool attnMask', [x], { keyPaddingMask: pad, attnMask: boolMask([L, L], 64, 0.8), needWeights: true });
    check('keyPaddingMask + float attnMask', [x], { keyPaddingMask: pad, attnMask: floatMask([B, 1, L, L], 65), needWeights: true });
    check('keyPaddingMask + causal (batch 1: queries 0 … 2 see no key)', [x], { keyPaddingMask: pad, causal: true, needWeights: true });
    check('window [3, 0] with causal', [x], { causal: true, window: [3, 0], needWeights: true });
    check('window [2, 1] + keyPaddingMask + float attnMask + key lengths', [x], { window: [2, 1], keyPaddingMask: pad, attnMask: floatMask([1, 1, L, L], 66), keyLengths: [L, 7] });
    dispose();
  });

  it('cross-attention with GQA (S ≠ L; key = value and distinct; masks, window) matches the reference', async () => {
    const rt = await runtimeFor(backend);
    for (const kvHeads of [2, 1]) {
      const { check, dispose } = compare(rt, { embedDim: E, numHeads: H, numKeyValueHeads: kvHeads, weights: llamaWeights(E, H, kvHeads, 70, { qkvBias: true, oBias: true }) });
      const [q, k, v] = [tensor([B, L, E], 10), tensor([B, S, E], 11), tensor([B, S, E], 12)];
      check('key = value', [q, k], { needWeights: true });
      check('distinct value', [q, k, v]);
      check('causal bottom-right', [q, k, v], { causal: true, needWeights: true });
      check('keyPaddingMask + bool attnMask [L, S]', [q, k, v], { keyPaddingMask: leftPadding(B, S, 5), attnMask: boolMask([L, S], 67) });
      check('window [3, 0] with causal', [q, k, v], { causal: true, window: [3, 0] });
      dispose();
    }
  });

  it('needWeights with GQA: the weights are averaged over the H query heads (against per-head SDPA weights)', async () => {
    const rt = await runtimeFor(backend);
    const kvHeads = 2, dh = E / H;
    const w = llamaWeights(E, H, kvHeads, 80, { qkvBias: true });
    const mha = rt.multiHeadAttention({ embedDim: E, numHeads: H, numKeyValueHeads: kvHeads, weights: w });
    const [x, mem] = [tensor([B, L, E], 13), tensor([B, S, E], 14)];
    const { weights } = mha.forward(x, mem, undefined, { causal: true, needWeights: true });
    // q [B, H, L, Dh] and k [B, Hk, S, Dh] by hand, per-head weights from the reference SDPA (GQA)
    const project = (input: T, wt: T, bias: T, rows: number, heads: number): T => {
      const y = reference.matmul(input, wt, { transposeB: true, bias });
      const data = new Float32Array(y.length);
      for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < rows; i++) for (let e = 0; e < dh; e++) {
        data[((b * heads + h) * rows + i) * dh + e] = y[(b * rows + i) * heads * dh + h * dh + e]!;
      }
      return { data, shape: [B, heads, rows, dh] };
    };
    const q = project(x, w['q_proj.weight'], w['q_proj.bias']!, L, H);
    const k = project(mem, w['k_proj.weight'], w['k_proj.bias']!, S, kvHeads);
    const perHead = reference.scaledDotProductAttention(q, k, k, { causal: true, returnWeights: true }).weights;
    const mean = new Float32Array(B * L * S);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let n = 0; n < L * S; n++) mean[b * L * S + n]! += perHead[(b * H + h) * L * S + n]! / H;
    expect(weights.length).toBe(B * L * S);
    expect(maxAbsDiff(weights, mean)).toBeLessThanOrEqual(1e-5);
    for (let r = 0; r < B * L; r++) expect(Math.abs(weights.subarray(r * S, (r + 1) * S).reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-5);
    mha.dispose();
  });

  it('decoding: step with a plain cache = the causal forward, with RoPE and GQA', async () => {
    const rt = await runtimeFor(backend);
    const make: Make = (c) => rt.multiHeadAttention(c as never) as unknown as Module;
    for (const config of [ROPED, { ...ROPED, numKeyValueHeads: 1, rope: { style: 'interleaved' as const }, weights: llamaWeights(E, H, 1, 34) }]) {
      expect(stepEqualsCausalForward(make, config, B, 15)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('decoding: a window cache of 4 over 11 tokens = forward(x, { causal: true, window: [3, 0] })', async () => {
    const rt = await runtimeFor(backend);
    const make: Make = (c) => rt.multiHeadAttention(c as never) as unknown as Module;
    expect(stepEqualsWindowForward(make, ROPED, B, 11, 4)).toBeLessThanOrEqual(1e-5);
    expect(stepEqualsWindowForward(make, { embedDim: E, numHeads: H, weights: torchWeights(E, 35) }, 1, 11, 4)).toBeLessThanOrEqual(1e-5);
  });

  it("a window cache's memory stays flat however many steps (200 after the first)", async () => {
    const rt = await runtimeFor(backend);
    const mha = rt.multiHeadAttention(ROPED as never);
    const cache = mha.createCache({ batch: B, window: 4 });
    const x = tensor([B, E], 36);
    mha.step(x, cache);
    const after1 = rt.memoryStats();
    for (let t = 1; t <= 200; t++) {
      mha.step(x, cache);
      const now = rt.memoryStats();
      if (now.bytesInUse !== after1.bytesInUse || now.allocations !== after1.allocations) {
        expect([now.bytesInUse, now.allocations], `after step ${t + 1}`).toEqual([after1.bytesInUse, after1.allocations]);
      }
    }
    expect(cache.length).toBe(201);
    expect(rt.memoryStats().bytesInUse).toBe(after1.bytesInUse);
    cache.dispose();
    mha.dispose();
  });

  it('truncate on a window cache: only to 0 or the current length', async () => {
    const rt = await runtimeFor(backend);
    windowTruncateRules((c) => rt.multiHeadAttention(c as never) as unknown as Module, ROPED);
  });

  it('a grouped-query module = a multi-head module whose k_proj / v_proj rows are repeated per group', async () => {
    const rt = await runtimeFor(backend);
    expect(gqaEqualsRepeatedMha((c) => rt.multiHeadAttention(c as never) as unknown as Module)).toBeLessThanOrEqual(1e-5);
  });

  it('the configuration and option errors: TypeError / RangeError, the twin alike, nothing left allocated', async () => {
    const rt = await runtimeFor(backend);
    const llama = llamaWeights(E, H, 2, 90, { qkvBias: true });
    const { 'k_proj.weight': _k, ...noK } = llama;
    const { 'v_proj.bias': _vb, ...twoBiases } = llama;
    const odd = llamaWeights(24, 8, 8, 91); // Dh = 3
    const cases: [string, () => Config, typeof TypeError | typeof RangeError, string | RegExp][] = [
      ['numKeyValueHeads 3 does not divide numHeads 8', () => ({ embedDim: E, numHeads: H, numKeyValueHeads: 3, weights: llamaWeights(E, H, 2, 90) }), RangeError,
        'multiHeadAttention: numKeyValueHeads 3 must divide numHeads 8 (each key/value head serves numHeads / numKeyValueHeads query heads)'],
      ['numKeyValueHeads above numHeads', () => ({ embedDim: E, numHeads: H, numKeyValueHeads: 16, weights: llama }), RangeError, 'multiHeadAttention: numKeyValueHeads must be an integer in [1, 8], received 16'],
      ['numKeyValueHeads with the in_proj form', () => ({ embedDim: E, numHeads: H, numKeyValueHeads: 2, weights: torchWeights(E, 92) }), TypeError,
        'multiHeadAttention: numKeyValueHeads 2 ≠ numHeads 8 needs separate projections (q_proj.weight, k_proj.weight, v_proj.weight, o_proj.weight): in_proj_weight stacks three [E, E] blocks'],
      ['a missing k_proj.weight', () => ({ embedDim: E, numHeads: H, numKeyValueHeads: 2, weights: noK as LlamaWeights }), TypeError,
        "multiHeadAttention: weights['k_proj.weight'] is missing (expected shape [16, 64], Linear(E, Hk·Dh) weight as [out, in], Hk = 2 key/value heads)"],
      ['k_proj.weight of the wrong shape', () => ({ embedDim: E, numHeads: H, numKeyValueHeads: 2, weights: { ...llama, 'k_proj.weight': weight([E, E], 93) } }), RangeError,
        "multiHeadAttention: weights['k_proj.weight']: expected shape [16, 64] (Linear(E, Hk·Dh) weight as [out, in], Hk = 2 key/value heads), received [64, 64]"],
      ['some but not all of the q/k/v biases', () => ({ embedDim: E, numHeads: H, numKeyValueHeads: 2, weights: twoBiases }), TypeError,
        'multiHeadAttention: weights has some of q_proj.bias, k_proj.bias, v_proj.bias but not all three'],
      ['bias: false with in_proj_bias given', () => ({ embedDim: E, numHeads: H, bias: false, weights: torchWeights(E, 94) }), TypeError,
        "multiHeadAttention: weights['in_proj_bias'] is given but the module has bias: false"],
      ['an odd head dim with RoPE', () => ({ embedDim: 24, numHeads: 8, rope: { style: 'half' }, weights: odd }), RangeError, 'multiHeadAttention: rope needs an even head dim, received 3'],
      ['a bad rope style', () => ({ embedDim: E, numHeads: H, numKeyValueHeads: 2, rope: { style: 'neox' as never }, weights: llama }), TypeError,
        'multiHeadAttention: rope.style must be \'half\' (Llama, GPT-NeoX) or \'interleaved\' (RoFormer, GPT-J), received "neox"'],
      ['a bad rope base', () => ({ embedDim: E, numHeads: H, numKeyValueHeads: 2, rope: { style: 'half', base: 0 }, weights: llama }), RangeError, 'multiHeadAttention: rope.base must be a positive number, received 0'],
    ];
    const thrown = (fn: () => unknown): Error => {
      try {
        fn();
      } catch (error) {
        return error as Error;
      }
      throw new Error('did not throw');
    };
    const expectError = (what: string, fn: () => unknown, refFn: () => unknown, kind: typeof TypeError | typeof RangeError, message: string | RegExp): void => {
      const before = rt.memoryStats();
      const error = thrown(fn);
      const after = rt.memoryStats();
      expect(error, what).toBeInstanceOf(kind);
      if (typeof message === 'string') expect(error.message, what).toBe(message);
      else expect(error.message, what).toMatch(message);
      expect([after.bytesInUse, after.allocations], `${what}: nothing left allocated`).toEqual([before.bytesInUse, before.allocations]);
      const refError = thrown(refFn);
      expect(refError, `${what}: the twin`).toBeInstanceOf(kind);
      expect(refError.message, `${what}: the twin's message`).toBe(error.message);
    };
    for (const [what, config, kind, message] of cases) {
      expectError(what, () => rt.multiHeadAttention(config() as never), () => reference.multiHeadAttention(config() as never), kind, message);
    }
    // forward options
    const mha = rt.multiHeadAttention(ROPED as never);
    const ref = reference.multiHeadAttention(ROPED as never);
    const x = tensor([B, L, E], 15);
    const forwardCases: [string, ForwardOptions, typeof TypeError | typeof RangeError, string | RegExp][] = [
      ['keyPaddingMask of the wrong shape', { keyPaddingMask: { data: new Uint8Array(B * (L - 1)), shape: [B, L - 1] } }, RangeError,
        `options.keyPaddingMask: expected shape [${B}, ${L}] ([B, S]: true where a key is padding), received [${B}, ${L - 1}]`],
      ['keyPaddingMask [S] without the batch', { keyPaddingMask: { data: new Uint8Array(L), shape: [L] } }, RangeError, /^options\.keyPaddingMask: expected shape \[2, 9\]/],
      ['keyPaddingMask data of the wrong length', { keyPaddingMask: { data: new Uint8Array(3), shape: [B, L] } }, TypeError, /^options\.keyPaddingMask\.data must be a Uint8Array or boolean\[\] of 18 entries/],
      ['keyPaddingMask of numbers', { keyPaddingMask: { data: new Array(B * L).fill(0) as never, shape: [B, L] } }, TypeError, /^options\.keyPaddingMask\.data must be/],
      ['an attnMask that does not broadcast', { attnMask: boolMask([L, L + 1], 1) }, RangeError, /^options\.attnMask: shape \[9, 10\] does not broadcast to \[B, H, Lq, Lk\] = \[2, 8, 9, 9\]/],
      ['an attnMask whose data is short', { attnMask: { data: new Uint8Array(5), shape: [L, L] } }, RangeError, 'options.attnMask.data has 5 elements but its shape [9, 9] needs 81'],
      ['a window of three numbers', { window: [3, 0, 1] as never }, RangeError, /^options\.window must be \[left, right\], two integers ≥ −1/],
      ['a window below −1', { window: [-2, 0] }, RangeError, /^options\.window must be \[left, right\]/],
    ];
    for (const [what, options, kind, message] of forwardCases) expectError(what, () => mha.forward(x, options), () => ref.forward(x, options), kind, message);
    // createCache
    expectError('createCache without maxLength or window', () => mha.createCache({ batch: 1 }), () => ref.createCache({ batch: 1 }), TypeError,
      'createCache needs options.maxLength (positions to hold) or options.window (a sliding window of the last positions)');
    expectError('createCache with both', () => mha.createCache({ batch: 1, maxLength: 4, window: 4 }), () => ref.createCache({ batch: 1, maxLength: 4, window: 4 }), TypeError,
      'createCache takes options.maxLength or options.window, not both: a window cache holds exactly its window');
    expectError('createCache with window 0', () => mha.createCache({ batch: 1, window: 0 }), () => ref.createCache({ batch: 1, window: 0 }), RangeError, 'options.window must be an integer in [1, ∞], received 0');
    mha.dispose();
  });

  it('an attnMask with bad data is rejected with keyPaddingMask too, as it is alone', async () => {
    const rt = await runtimeFor(backend);
    const mha = rt.multiHeadAttention(ROPED as never);
    const x = tensor([B, L, E], 20);
    const keyPaddingMask = leftPadding(B, L, 2);
    for (const attnMask of [{ data: new Uint8Array(5), shape: [L, L] }, { data: new Float32Array(5), shape: [L, L] }, { data: new Int32Array(L * L), shape: [L, L] }]) {
      expect(() => mha.forward(x, { attnMask: attnMask as never })).toThrow(/^options\.attnMask\.data /);
      expect(() => reference.multiHeadAttention(ROPED as never).forward(x, { attnMask: attnMask as never, keyPaddingMask })).toThrow(/^options\.attnMask\.data /);
      expect(() => mha.forward(x, { attnMask: attnMask as never, keyPaddingMask })).toThrow(/^options\.attnMask\.data /);
    }
    mha.dispose();
  });
});

// ---- the twin alone ------------------------------------------------------------------------------

describe('the reference twin alone', () => {
  const make: Make = (c) => reference.multiHeadAttention(c as never) as unknown as Module;

  it('decoding: step with a plain cache = the causal forward, with RoPE and GQA', () => {
    for (const config of [ROPED, { ...ROPED, numKeyValueHeads: 1, rope: { style: 'interleaved' as const }, weights: llamaWeights(E, H, 1, 34) }]) {
      expect(stepEqualsCausalForward(make, config, B, 15)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('decoding: a window cache of 4 over 11 tokens = forward(x, { causal: true, window: [3, 0] })', () => {
    expect(stepEqualsWindowForward(make, ROPED, B, 11, 4)).toBeLessThanOrEqual(1e-5);
    expect(stepEqualsWindowForward(make, { embedDim: E, numHeads: H, weights: torchWeights(E, 35) }, 1, 11, 4)).toBeLessThanOrEqual(1e-5);
  });

  it('truncate on a window cache: only to 0 or the current length', () => {
    windowTruncateRules(make, ROPED);
  });

  it('a grouped-query module = a multi-head module whose k_proj / v_proj rows are repeated per group', () => {
    expect(gqaEqualsRepeatedMha(make)).toBeLessThanOrEqual(1e-5);
  });

  it('forward = its ops composed: matmul, rope, scaledDotProductAttention (GQA, masks, window), matmul', () => {
    const [kvHeads, dh] = [2, E / H];
    const rope = { style: 'interleaved' as const, base: 500000 };
    const w = llamaWeights(E, H, kvHeads, 38, { qkvBias: true, oBias: true });
    const mha = make({ embedDim: E, numHeads: H, numKeyValueHeads: kvHeads, rope, weights: w });
    const [x, mem] = [tensor([B, L, E], 17), tensor([B, S, E], 18)];
    const pad = leftPadding(B, S, 4);
    const attnMask = floatMask([B, 1, L, S], 19);
    const got = mha.forward(x, mem, undefined, { causal: true, window: [5, 0], attnMask, keyPaddingMask: pad, needWeights: true });
    // [B, rows, heads·Dh] → [B, heads, rows, Dh] and back
    const split = (y: Float32Array, rows: number, heads: number): T => {
      const data = new Float32Array(y.length);
      for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < rows; i++) {
        data.set(y.subarray((b * rows + i) * heads * dh + h * dh, (b * rows + i) * heads * dh + (h + 1) * dh), ((b * heads + h) * rows + i) * dh);
      }
      return { data, shape: [B, heads, rows, dh] };
    };
    const merge = (y: Float32Array, rows: number, heads: number): T => {
      const data = new Float32Array(y.length);
      for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < rows; i++) {
        data.set(y.subarray(((b * heads + h) * rows + i) * dh, ((b * heads + h) * rows + i + 1) * dh), (b * rows + i) * heads * dh + h * dh);
      }
      return { data, shape: [B, rows, heads * dh] };
    };
    const linear = (input: T, name: 'q' | 'k' | 'v' | 'o') => reference.matmul(input, w[`${name}_proj.weight`], { transposeB: true, bias: w[`${name}_proj.bias`] });
    const q = { data: reference.rope(split(linear(x, 'q'), L, H), rope), shape: [B, H, L, dh] };
    const k = { data: reference.rope(split(linear(mem, 'k'), S, kvHeads), rope), shape: [B, kvHeads, S, dh] };
    const v = split(linear(mem, 'v'), S, kvHeads);
    // the padding as −inf in the additive mask
    const mask = { data: attnMask.data.slice(), shape: attnMask.shape };
    for (let b = 0; b < B; b++) for (let i = 0; i < L; i++) for (let j = 0; j < S; j++) if (pad.data[b * S + j]) mask.data[(b * L + i) * S + j] = -Infinity;
    const sdpa = reference.scaledDotProductAttention(q, k, v, { causal: true, window: [5, 0], attnMask: mask, returnWeights: true });
    const output = linear(merge(sdpa.output, L, H), 'o');
    expect(maxAbsDiff(got.output, output)).toBeLessThanOrEqual(1e-5);
    const mean = new Float32Array(B * L * S);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let n = 0; n < L * S; n++) mean[b * L * S + n]! += sdpa.weights[(b * H + h) * L * S + n]! / H;
    expect(maxAbsDiff(got.weights!, mean)).toBeLessThanOrEqual(1e-5);
  });

  it('GQA with Hk = H and the in_proj form with the same blocks are one module', () => {
    const w = torchWeights(E, 37);
    const e2 = E * E;
    const split: LlamaWeights = {
      'q_proj.weight': { data: w.in_proj_weight.data.slice(0, e2), shape: [E, E] },
      'k_proj.weight': { data: w.in_proj_weight.data.slice(e2, 2 * e2), shape: [E, E] },
      'v_proj.weight': { data: w.in_proj_weight.data.slice(2 * e2), shape: [E, E] },
      'o_proj.weight': w['out_proj.weight'],
      'q_proj.bias': { data: w.in_proj_bias!.data.slice(0, E), shape: [E] },
      'k_proj.bias': { data: w.in_proj_bias!.data.slice(E, 2 * E), shape: [E] },
      'v_proj.bias': { data: w.in_proj_bias!.data.slice(2 * E), shape: [E] },
      'o_proj.bias': w['out_proj.bias']!,
    };
    const x = tensor([B, L, E], 16);
    const options = { causal: true, needWeights: true, keyPaddingMask: leftPadding(B, L, 2) };
    const [a, b] = [make({ embedDim: E, numHeads: H, weights: w }).forward(x, options), make({ embedDim: E, numHeads: H, numKeyValueHeads: H, weights: split }).forward(x, options)];
    expect(maxAbsDiff(a.output, b.output)).toBe(0);
    expect(maxAbsDiff(a.weights!, b.weights!)).toBe(0);
  });
});

describe('multi-head attention weights under a prefix', () => {
  it('takes a whole model state_dict (e.g. from readSafetensors) and a prefix', async () => {
    const rt = await runtimeFor('simd');
    const E = 16, H = 4;
    const s = Math.sqrt(3 / E);
    const w = (shape: number[], seed: number) => tensor(shape, seed, -s, s);
    const layer = { 'q_proj.weight': w([E, E], 1), 'k_proj.weight': w([E / 2, E], 2), 'v_proj.weight': w([E / 2, E], 3), 'o_proj.weight': w([E, E], 4) };
    const model = { ...Object.fromEntries(Object.entries(layer).map(([k, v]) => [`model.layers.0.self_attn.${k}`, v])), 'model.embed_tokens.weight': w([10, E], 5) };
    const x = tensor([1, 5, E], 6);
    const config = { embedDim: E, numHeads: H, numKeyValueHeads: 2, rope: { style: 'half' as const } };
    const direct = rt.multiHeadAttention({ ...config, weights: layer }).forward(x, { causal: true }).output;
    const prefixed = rt.multiHeadAttention({ ...config, weights: model, prefix: 'model.layers.0.self_attn.' }).forward(x, { causal: true }).output;
    expect([...prefixed]).toEqual([...direct]);
    const twin = reference.multiHeadAttention({ ...config, weights: model, prefix: 'model.layers.0.self_attn.' }).forward(x, { causal: true }).output;
    expect(Math.max(...twin.map((v, i) => Math.abs(v - direct[i]!)))).toBeLessThanOrEqual(1e-5);
  });
});
