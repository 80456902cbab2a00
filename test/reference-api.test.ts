/**
 * The plain-JS twins mirror the runtime's API: one function, written once against an interface
 * (`Lib`), runs every op and module through `rt` (a runtime) and through `reference`, and the two
 * must agree. The twins' public members (names, methods, arities) must be the runtime objects'.
 */
import { describe, expect, it } from 'vitest';
import { reference, type AttnDecoderRNN, type BoundAttention, type BoundAttnDecoder, type Embedding, type GRU, type GruSeq2seq, type KVCache, type MultiHeadAttention, type Seq2seqAttention, type Tensor } from '../src/index.js';
import { maxAbsDiff, runtimeFor, tensor } from './helpers.js';

// ---- the interface both must satisfy ------------------------------------------------------------

type T = { data: Float32Array; shape: number[] };
/**
 * What the array-returning ops are declared to return. The runtime's declarations say
 * `Float32Array | Tensor` once they are seen through an interface (its per-call `Exact` /
 * `resident` generics are erased there), so the interface says so too; `f32` checks that every
 * call here really returned a Float32Array, as both do without `resident`.
 */
type Out = Float32Array | Tensor;
function f32(value: Out): Float32Array {
  expect(value).toBeInstanceOf(Float32Array);
  return value as Float32Array;
}
interface ForwardOptions {
  causal?: boolean;
  keyLengths?: number[];
  keyPaddingMask?: { data: Uint8Array | boolean[]; shape: number[] };
  attnMask?: { data: Uint8Array | Float32Array | boolean[]; shape: number[] };
  window?: [number, number];
  needWeights?: boolean;
}
interface ForwardResult { output: Float32Array; weights?: Float32Array }
interface Cache {
  readonly batch: number;
  readonly maxLength: number;
  readonly window: number | undefined;
  readonly length: number;
  readonly disposed: boolean;
  reset(): void;
  truncate(length: number): void;
  dispose(): void;
}
interface Mha {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  forward(query: T, options?: ForwardOptions): ForwardResult;
  forward(query: T, key: T | undefined, value?: T, options?: ForwardOptions): ForwardResult;
  createCache(options: { batch: number; maxLength?: number; window?: number }): Cache;
  step(x: T, cache: Cache): Float32Array;
  dispose(): void;
}
interface Step { context: Float32Array; weights: Float32Array; scores: Float32Array; attentional?: Float32Array }
interface Bound {
  readonly batch: number;
  readonly sourceLength: number;
  readonly hiddenSize: number;
  step(decoderHidden: T): Step;
  dispose(): void;
}
interface Attention {
  readonly score: 'dot' | 'general' | 'concat' | 'additive';
  readonly hiddenSize: number;
  bind(encoderStates: T, options?: { lengths?: number[] }): Bound;
  attend(decoderHidden: T, encoderStates: T, options?: { lengths?: number[] }): Step;
  dispose(): void;
}
interface MhaWeights { in_proj_weight: T; in_proj_bias?: T; 'out_proj.weight': T; 'out_proj.bias'?: T }
interface SplitWeights {
  'q_proj.weight': T; 'k_proj.weight': T; 'v_proj.weight': T; 'o_proj.weight': T;
  'q_proj.bias'?: T; 'k_proj.bias'?: T; 'v_proj.bias'?: T; 'o_proj.bias'?: T;
}
interface MhaConfig {
  embedDim: number;
  numHeads: number;
  numKeyValueHeads?: number;
  bias?: boolean;
  rope?: { style: 'half' | 'interleaved'; base?: number };
  weights: MhaWeights | SplitWeights;
}
interface LuongConfig { score: 'dot' | 'general' | 'concat'; W?: T; Wa?: T; ba?: T; va?: T; Wc?: T; bc?: T }
interface BahdanauWeights { 'Wa.weight': T; 'Wa.bias': T; 'Ua.weight': T; 'Ua.bias': T; 'Va.weight': T; 'Va.bias': T }
interface Lib {
  scaledDotProductAttention(q: T, k: T, v: T, options?: { causal?: boolean; keyLengths?: number[]; scale?: number; returnWeights?: boolean }): { output: Out; weights?: Float32Array };
  matmul(a: T, b: T, options?: { transposeB?: boolean; bias?: T }): Out;
  softmax(x: T, options?: { mask?: T; scale?: number }): Out;
  attentionContext(weights: T, values: T): Out;
  multiHeadAttention(config: MhaConfig): Mha;
  luongAttention(options: LuongConfig): Attention;
  bahdanauAttention(weights: BahdanauWeights): Attention;
  sinusoidalEncoding(maxLength: number, dim: number): Float32Array;
  rope(x: T | Float32Array, options: { shape?: number[]; offset?: number; base?: number; style: 'half' | 'interleaved'; inPlace?: boolean }): Out;
}

// ---- inputs ---------------------------------------------------------------------------------------

function mhaWeights(e: number, seed: number): MhaWeights {
  const s = 1 / Math.sqrt(e);
  return {
    in_proj_weight: tensor([3 * e, e], seed, -s, s),
    in_proj_bias: tensor([3 * e], seed + 1, -s, s),
    'out_proj.weight': tensor([e, e], seed + 2, -s, s),
    'out_proj.bias': tensor([e], seed + 3, -s, s),
  };
}

const H = 12;
const s2 = 1 / Math.sqrt(H);
const luongW = {
  W: tensor([H, H], 40, -s2, s2),
  Wa: tensor([H, 2 * H], 41, -s2, s2),
  ba: tensor([H], 42, -s2, s2),
  va: tensor([H], 43),
  Wc: tensor([H, 2 * H], 44, -s2, s2),
  bc: tensor([H], 45, -s2, s2),
};
const bahdanauW: BahdanauWeights = {
  'Wa.weight': tensor([H, H], 50, -s2, s2),
  'Wa.bias': tensor([H], 51, -s2, s2),
  'Ua.weight': tensor([H, H], 52, -s2, s2),
  'Ua.bias': tensor([H], 53, -s2, s2),
  'Va.weight': tensor([1, H], 54, -s2, s2),
  'Va.bias': tensor([1], 55, -s2, s2),
};

/** Llama-form weights for E, H query heads and Hk key/value heads, q/k/v and o biases when `biases`. */
function splitWeights(e: number, heads: number, kvHeads: number, seed: number, biases: boolean): SplitWeights {
  const s = 1 / Math.sqrt(e);
  const kv = (kvHeads * e) / heads;
  const w: SplitWeights = {
    'q_proj.weight': tensor([e, e], seed, -s, s),
    'k_proj.weight': tensor([kv, e], seed + 1, -s, s),
    'v_proj.weight': tensor([kv, e], seed + 2, -s, s),
    'o_proj.weight': tensor([e, e], seed + 3, -s, s),
  };
  if (biases) {
    Object.assign(w, { 'q_proj.bias': tensor([e], seed + 4, -s, s), 'k_proj.bias': tensor([kv], seed + 5, -s, s), 'v_proj.bias': tensor([kv], seed + 6, -s, s), 'o_proj.bias': tensor([e], seed + 7, -s, s) });
  }
  return w;
}

/** Token t of every sequence of x [B, L, E] → [B, E]; the same rows of a [B, L, E] output. */
function rowsAt(x: Float32Array, b: number, l: number, e: number, t: number): Float32Array {
  const out = new Float32Array(b * e);
  for (let i = 0; i < b; i++) out.set(x.subarray((i * l + t) * e, (i * l + t + 1) * e), i * e);
  return out;
}

interface Run {
  /** Every result, by name: compared between the runtime and the reference. */
  results: Map<string, ArrayLike<number>>;
  /** Max abs difference between step-by-step decoding with the cache and the causal forward. */
  stepVsForward: number;
}

/** Written once against `Lib`: called with a runtime and with `reference`. */
function run(lib: Lib): Run {
  const results = new Map<string, ArrayLike<number>>();
  const put = (name: string, value: ArrayLike<number> | undefined): void => {
    expect(value, `${name} is missing`).toBeDefined();
    expect(results.has(name), `${name} twice`).toBe(false);
    results.set(name, value!);
  };

  // -- multi-head attention: forward (self, causal, key lengths, cross), forward(x, options)
  const [E, heads, B, L, S] = [24, 4, 2, 7, 11];
  const mha = lib.multiHeadAttention({ embedDim: E, numHeads: heads, weights: mhaWeights(E, 3) });
  put('mha dims', [mha.embedDim, mha.numHeads, mha.headDim]);
  const x = tensor([B, L, E], 1);
  const memory = tensor([B, S, E], 2);
  const value = tensor([B, S, E], 3);
  put('mha self', mha.forward(x).output);
  const selfW = mha.forward(x, undefined, undefined, { needWeights: true });
  put('mha self (needWeights) output', selfW.output);
  put('mha self weights', selfW.weights);
  const causal = mha.forward(x, { causal: true, needWeights: true });
  put('mha causal output', causal.output);
  put('mha causal weights', causal.weights);
  const causalLong = mha.forward(x, undefined, undefined, { causal: true, needWeights: true });
  expect(maxAbsDiff(causal.output, causalLong.output), 'forward(x, options) = forward(x, undefined, undefined, options)').toBe(0);
  expect(maxAbsDiff(causal.weights!, causalLong.weights!)).toBe(0);
  put('mha key lengths', mha.forward(x, { keyLengths: [L, 3] }).output);
  put('mha [L, E] query', mha.forward({ data: x.data.slice(0, L * E), shape: [L, E] }, { causal: true }).output);
  const cross = mha.forward(x, memory, undefined, { keyLengths: [S, 4], needWeights: true });
  put('mha cross output', cross.output);
  put('mha cross weights', cross.weights);
  put('mha cross key ≠ value', mha.forward(x, memory, value).output);
  put('mha cross causal', mha.forward(x, memory, value, { causal: true }).output);
  expect(cross.weights!.length).toBe(B * L * S);

  // -- the KV cache: 5 steps reproduce the causal forward's rows; full, truncate, reset
  const cache = mha.createCache({ batch: B, maxLength: 5 });
  put('cache dims', [cache.batch, cache.maxLength, cache.length]);
  let stepVsForward = 0;
  for (let t = 0; t < 5; t++) {
    const y = mha.step({ data: rowsAt(x.data, B, L, E, t), shape: [B, E] }, cache);
    put(`mha step ${t}`, y);
    stepVsForward = Math.max(stepVsForward, maxAbsDiff(y, rowsAt(causal.output, B, L, E, t)));
    expect(cache.length).toBe(t + 1);
  }
  expect(() => mha.step({ data: rowsAt(x.data, B, L, E, 5), shape: [B, E] }, cache)).toThrow(
    new RangeError('cache is full: it holds maxLength = 5 positions (createCache({ maxLength })); reset() it, make a larger one, or use createCache({ window }) for a sliding window'),
  );
  expect(() => cache.truncate(6)).toThrow(new RangeError('length must be an integer in [0, 5], received 6'));
  cache.truncate(3);
  expect(cache.length).toBe(3);
  const again = mha.step({ data: rowsAt(x.data, B, L, E, 3), shape: [B, E] }, cache);
  put('mha step 3 after truncate(3)', again);
  stepVsForward = Math.max(stepVsForward, maxAbsDiff(again, rowsAt(causal.output, B, L, E, 3)));
  cache.reset();
  expect(cache.length).toBe(0);
  const first = mha.step({ data: rowsAt(x.data, B, L, E, 0), shape: [B, E] }, cache);
  stepVsForward = Math.max(stepVsForward, maxAbsDiff(first, rowsAt(causal.output, B, L, E, 0)));
  expect(() => mha.step({ data: new Float32Array((B + 1) * E), shape: [B + 1, E] }, cache)).toThrow(/^x: expected shape \[2, 24\]/);
  const other = lib.multiHeadAttention({ embedDim: E, numHeads: heads, weights: mhaWeights(E, 3) });
  expect(() => other.step({ data: rowsAt(x.data, B, L, E, 0), shape: [B, E] }, cache)).toThrow(/^cache must be a KVCache made by this module's createCache\(\)/);
  other.dispose();
  expect(cache.disposed).toBe(false);
  cache.dispose();
  expect(cache.disposed).toBe(true);
  expect(() => mha.step({ data: rowsAt(x.data, B, L, E, 0), shape: [B, E] }, cache)).toThrow(new TypeError('cache was disposed'));
  mha.dispose();
  expect(() => mha.forward(x)).toThrow(/^multiHeadAttention: this module was disposed$/);

  // -- the PyTorch form with bias: false
  const { in_proj_bias: _ib, 'out_proj.bias': _ob, ...noBias } = mhaWeights(E, 7);
  const plain = lib.multiHeadAttention({ embedDim: E, numHeads: heads, bias: false, weights: noBias });
  put('mha bias: false', plain.forward(x, { causal: true }).output);
  plain.dispose();

  // -- grouped-query (Llama form, H 8, Hk 2, biases) with RoPE: forward with masks and windows,
  // step with a plain cache and with a window cache
  const [GE, GH, GK] = [32, 8, 2];
  const gqa = lib.multiHeadAttention({ embedDim: GE, numHeads: GH, numKeyValueHeads: GK, rope: { style: 'half', base: 500000 }, weights: splitWeights(GE, GH, GK, 20, true) });
  put('gqa dims', [gqa.embedDim, gqa.numHeads, gqa.numKeyValueHeads, gqa.headDim]);
  const gx = tensor([B, L, GE], 21);
  const gCausal = gqa.forward(gx, { causal: true, needWeights: true });
  put('gqa causal output', gCausal.output);
  put('gqa causal weights', gCausal.weights);
  const padded = { data: Uint8Array.from({ length: B * L }, (_, i) => (i >= L && i < L + 2 ? 1 : 0)), shape: [B, L] };
  const boolMask = { data: Array.from({ length: L * L }, (_, i) => (i * 7) % 5 !== 0), shape: [L, L] };
  put('gqa keyPaddingMask + bool attnMask', gqa.forward(gx, { keyPaddingMask: padded, attnMask: boolMask, needWeights: true }).weights);
  const floatMask = tensor([B, 1, L, L], 22, -2, 1);
  put('gqa float attnMask', gqa.forward(gx, { attnMask: floatMask }).output);
  put('gqa window [2, 0] causal', gqa.forward(gx, { causal: true, window: [2, 0] }).output);
  put('gqa cross', gqa.forward(gx, tensor([B, S, GE], 23), undefined, { keyLengths: [S, 5] }).output);
  const plainCache = gqa.createCache({ batch: B, maxLength: L });
  expect(plainCache.window).toBeUndefined();
  const windowCache = gqa.createCache({ batch: B, window: 3 });
  put('gqa window cache dims', [windowCache.batch, windowCache.maxLength, windowCache.window!, windowCache.length]);
  const gWindowed = gqa.forward(gx, { causal: true, window: [2, 0] }).output;
  for (let t = 0; t < L; t++) {
    const token = { data: rowsAt(gx.data, B, L, GE, t), shape: [B, GE] };
    const y = gqa.step(token, plainCache);
    put(`gqa step ${t}`, y);
    stepVsForward = Math.max(stepVsForward, maxAbsDiff(y, rowsAt(gCausal.output, B, L, GE, t)));
    const w = gqa.step(token, windowCache);
    put(`gqa window step ${t}`, w);
    stepVsForward = Math.max(stepVsForward, maxAbsDiff(w, rowsAt(gWindowed, B, L, GE, t)));
  }
  expect(() => windowCache.truncate(L - 1)).toThrow(new RangeError(`a sliding-window cache keeps only its last 3 positions: truncate(${L - 1}) cannot restore the ones it overwrote; reset() it instead`));
  windowCache.truncate(L);
  expect(windowCache.length).toBe(L);
  windowCache.truncate(0);
  expect(windowCache.length).toBe(0);
  plainCache.dispose();
  windowCache.dispose();
  gqa.dispose();

  // -- Luong: dot, general, concat (with Wc), bind/step and attend, batched and unbatched
  const [SB, SS] = [3, 9];
  const hs = tensor([SB, SS, H], 60);
  const lengths = [SS, 4, 1];
  const configs: [string, LuongConfig][] = [
    ['dot', { score: 'dot' }],
    ['dot+Wc', { score: 'dot', Wc: luongW.Wc, bc: luongW.bc }],
    ['general', { score: 'general', W: luongW.W }],
    ['general+Wc', { score: 'general', W: luongW.W, Wc: luongW.Wc }],
    ['concat', { score: 'concat', Wa: luongW.Wa, va: luongW.va }],
    ['concat+ba+Wc', { score: 'concat', Wa: luongW.Wa, ba: luongW.ba, va: luongW.va, Wc: luongW.Wc, bc: luongW.bc }],
  ];
  const stepResult = (name: string, r: Step, withState: boolean, b: number, s: number, h: number): void => {
    expect([r.context.length, r.weights.length, r.scores.length], `${name} shapes`).toEqual([b * h, b * s, b * s]);
    put(`${name} context`, r.context);
    put(`${name} weights`, r.weights);
    put(`${name} scores`, r.scores);
    if (withState) {
      expect(r.attentional?.length, `${name} attentional`).toBe(b * h);
      put(`${name} attentional`, r.attentional);
    } else expect(r.attentional, `${name} attentional`).toBeUndefined();
  };
  for (const [name, config] of configs) {
    const att = lib.luongAttention(config);
    expect(att.score).toBe(config.score);
    put(`luong ${name} hiddenSize`, [att.hiddenSize]);
    const bound = att.bind(hs, { lengths });
    put(`luong ${name} bound dims`, [bound.batch, bound.sourceLength, bound.hiddenSize]);
    for (let t = 0; t < 3; t++) stepResult(`luong ${name} step ${t}`, bound.step(tensor([SB, H], 70 + t)), config.Wc !== undefined, SB, SS, H);
    stepResult(`luong ${name} attend`, att.attend(tensor([SB, H], 80), hs, { lengths }), config.Wc !== undefined, SB, SS, H);
    // unbatched: [S, H] binds, steps take h [H] and give [H] / [S]
    const one = att.bind({ data: hs.data.slice(0, SS * H), shape: [SS, H] });
    put(`luong ${name} unbatched dims`, [one.batch, one.sourceLength, one.hiddenSize]);
    stepResult(`luong ${name} unbatched step`, one.step(tensor([H], 81)), config.Wc !== undefined, 1, SS, H);
    expect(() => one.step(tensor([1, H], 81))).toThrow(/^decoderHidden: expected shape \[12\]/);
    one.dispose();
    bound.dispose();
    expect(() => bound.step(tensor([SB, H], 70))).toThrow(/this bound memory was disposed/);
    att.dispose();
    expect(() => att.bind(hs)).toThrow(/^luongAttention: this attention was disposed$/);
  }

  // -- Bahdanau: bind/step, attend, a batch with no source
  const bahdanau = lib.bahdanauAttention(bahdanauW);
  expect(bahdanau.score).toBe('additive');
  put('bahdanau hiddenSize', [bahdanau.hiddenSize]);
  const bound = bahdanau.bind(hs, { lengths: [SS, 6, 0] });
  put('bahdanau bound dims', [bound.batch, bound.sourceLength, bound.hiddenSize]);
  for (let t = 0; t < 3; t++) stepResult(`bahdanau step ${t}`, bound.step(tensor([SB, H], 90 + t)), false, SB, SS, H);
  stepResult('bahdanau attend', bahdanau.attend(tensor([SB, H], 95), hs), false, SB, SS, H);
  bound.dispose();
  bahdanau.dispose();

  // -- scaledDotProductAttention: ranks 4, 3, 2; causal (Lq < Lk), key lengths, scale, weights
  const [q, k, v] = [tensor([2, 3, 5, 16], 100), tensor([2, 3, 9, 16], 101), tensor([2, 3, 9, 8], 102)];
  put('sdpa', f32(lib.scaledDotProductAttention(q, k, v).output));
  const sw = lib.scaledDotProductAttention(q, k, v, { causal: true, keyLengths: [9, 6], returnWeights: true });
  put('sdpa causal key lengths output', f32(sw.output));
  put('sdpa causal key lengths weights', sw.weights);
  put('sdpa scale', f32(lib.scaledDotProductAttention(q, k, v, { scale: 0.3, causal: true }).output));
  const r3 = (t: T): T => ({ data: t.data.slice(0, (t.data.length / 2) | 0), shape: t.shape.slice(1) });
  put('sdpa rank 3', f32(lib.scaledDotProductAttention(r3(q), r3(k), r3(v), { causal: true }).output));
  const r2 = (t: T): T => ({ data: t.data.slice(0, t.shape[2]! * t.shape[3]!), shape: t.shape.slice(2) });
  put('sdpa rank 2', f32(lib.scaledDotProductAttention(r2(q), r2(k), r2(v), { keyLengths: [4] }).output));

  // -- the other ops
  const a = tensor([2, 3, 16], 110);
  put('matmul', f32(lib.matmul(a, tensor([16, 5], 111))));
  put('matmul transposeB bias', f32(lib.matmul(a, tensor([5, 16], 112), { transposeB: true, bias: tensor([5], 113) })));
  const logits = tensor([4, 13], 120, -3, 3);
  put('softmax', f32(lib.softmax(logits)));
  put('softmax mask scale', f32(lib.softmax(logits, { mask: tensor([13], 121, -2, 0), scale: 0.5 })));
  put('attentionContext', f32(lib.attentionContext(tensor([3, 7], 130, 0, 1), tensor([7, 6], 131))));
  put('attentionContext [S]', f32(lib.attentionContext(tensor([7], 132, 0, 1), tensor([7, 6], 131))));
  put('sinusoidalEncoding', lib.sinusoidalEncoding(9, 7));
  const rx = tensor([2, 5, 8], 140);
  put('rope half', f32(lib.rope(rx, { style: 'half', offset: 3 })));
  put('rope interleaved', f32(lib.rope(rx, { style: 'interleaved', base: 500 })));
  const bare = rx.data.slice();
  const same = f32(lib.rope(bare, { shape: [10, 8], style: 'half', inPlace: true }));
  expect(same).toBe(bare);
  put('rope bare in place', same);

  return { results, stepVsForward };
}

// ---- public members -----------------------------------------------------------------------------

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends (<X>() => X extends B ? 1 : 2) ? true : false;
/** Compiles only when its type argument is `true`. */
function assertType<_Check extends true>(): void {}

// The runtime's public members (TypeScript's keyof leaves private ones out) minus those marked
// @internal, against the twins': the same names, checked at compile time.
type RuntimeInternal = 'owner' | 'storage' | 'k' | 'v' | 'first' | 'hold' | 'bytes' | 'held' | 'advance' | 'assertLive' | 'nextSlot' | 'keysAfterAppend' | 'attendRows' | 'stepRows' | 'projectKeysValues';
assertType<Equal<Exclude<keyof MultiHeadAttention, RuntimeInternal>, keyof reference.ReferenceMultiHeadAttention>>();
assertType<Equal<Exclude<keyof KVCache, RuntimeInternal | 'dtype'>, keyof reference.ReferenceKVCache>>();
assertType<Equal<Exclude<keyof Seq2seqAttention, RuntimeInternal>, keyof reference.ReferenceSeq2seqAttention>>();
assertType<Equal<Exclude<keyof BoundAttention, RuntimeInternal>, keyof reference.ReferenceBoundAttention>>();
type GruInternal = 'projectSource' | 'allocBuffers' | 'stepRows' | 'keepRows' | 'assertLive' | 'gather';
assertType<Equal<Exclude<keyof GRU, GruInternal>, keyof reference.ReferenceGRU>>();
assertType<Equal<Exclude<keyof Embedding, GruInternal>, keyof reference.ReferenceEmbedding>>();
assertType<Equal<Exclude<keyof AttnDecoderRNN, GruInternal>, keyof reference.ReferenceAttnDecoderRNN>>();
assertType<Equal<keyof BoundAttnDecoder, keyof reference.ReferenceBoundAttnDecoder>>();
assertType<Equal<keyof GruSeq2seq, keyof reference.ReferenceGruSeq2seq>>();

/** Methods and accessors on the prototype chain (below Object.prototype), with their arities (-1 for an accessor). */
function prototypeMembers(obj: object, exclude: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let p = Object.getPrototypeOf(obj) as object | null; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === 'constructor' || exclude.has(name)) continue;
      const d = Object.getOwnPropertyDescriptor(p, name)!;
      out.push(`${name}/${typeof d.value === 'function' ? (d.value as (...args: unknown[]) => unknown).length : -1}`);
    }
  }
  return out.sort();
}

/** The runtime's private and @internal members that live on prototypes (TypeScript privates are ordinary JS members). */
const RUNTIME_PRIVATE_METHODS = new Set(['assertLive', 'k', 'v', 'dtype', 'projectIn', 'projectOut', 'rotate', 'qkvWidth', 'attendRows', 'first', 'hold', 'advance', 'nextSlot', 'keysAfterAppend', 'stepRows', 'projectKeysValues',
  'checkHidden', 'gather', 'projectSource', 'allocBuffers', 'keepRows', 'buffers', 'encode', 'searchStep', 'held', 'bytes']);
/** Members of the runtime object that are about its Wasm memory, not ops: no twin. */
const RUNTIME_ONLY = new Set(['backend', 'backendReason', 'tiles', 'memory', 'tensor', 'zeros', 'scope', 'memoryStats', 'resetPeakMemory', 'dispose', 'disposed', 'threads', 'threadsReason', 'threadPool', 'parallelMinFlops', 'workspace']);

function expectSameMembers(what: string, rt: object, ref: object, fields: readonly string[]): void {
  expect(prototypeMembers(ref, new Set()), `${what}: methods and accessors (name/arity)`).toEqual(prototypeMembers(rt, RUNTIME_PRIVATE_METHODS));
  // The twins keep their state in #private fields: their own keys are exactly the public fields.
  expect(Object.keys(ref).sort(), `${what}: public fields`).toEqual([...fields].sort());
  for (const f of fields) {
    expect(f in rt, `${what}: runtime has ${f}`).toBe(true);
    expect(typeof (ref as Record<string, unknown>)[f], `${what}.${f}`).toBe(typeof (rt as Record<string, unknown>)[f]);
  }
}

describe('the plain-JS twins mirror the runtime API', () => {
  it('one function, written against one interface, gives the same results with rt and with reference', async () => {
    const rt = await runtimeFor('simd');
    const got = run(rt);
    const want = run(reference);
    expect([...got.results.keys()]).toEqual([...want.results.keys()]);
    for (const [name, value] of got.results) {
      expect(maxAbsDiff(value, want.results.get(name)!), name).toBeLessThanOrEqual(1e-5);
    }
    // Step-by-step decoding with the cache gives the rows of the causal forward: within float32
    // summation error on the runtime, exactly in the reference (one attention loop for both).
    expect(got.stepVsForward).toBeLessThanOrEqual(1e-5);
    expect(want.stepVsForward).toBe(0);
  });

  it('the reference has every op of the runtime, with the same arity', async () => {
    const rt = await runtimeFor('simd');
    const ops = prototypeMembers(rt, RUNTIME_ONLY);
    expect(ops.length).toBeGreaterThanOrEqual(9);
    const lib = reference as unknown as Record<string, unknown>;
    expect(ops.map((op) => op.split('/')[0]!).filter((name) => typeof lib[name] !== 'function'), 'ops without a twin').toEqual([]);
    expect(ops.map((op) => `${op.split('/')[0]!}/${(lib[op.split('/')[0]!] as (...args: unknown[]) => unknown).length}`)).toEqual(ops);
  });

  it("the twins' objects have the runtime objects' public members", async () => {
    const rt = await runtimeFor('simd');
    const E = 8;
    const { in_proj_bias: _ib, 'out_proj.bias': _ob, ...noBias } = mhaWeights(E, 1);
    const configs: [string, MhaConfig][] = [
      ['multiHeadAttention', { embedDim: E, numHeads: 2, weights: mhaWeights(E, 1) }],
      ['multiHeadAttention (bias: false)', { embedDim: E, numHeads: 2, bias: false, weights: noBias }],
      ['multiHeadAttention (GQA, RoPE)', { embedDim: E, numHeads: 4, numKeyValueHeads: 2, rope: { style: 'interleaved' }, weights: splitWeights(E, 4, 2, 1, true) }],
      ['multiHeadAttention (Llama form, no biases)', { embedDim: E, numHeads: 2, weights: splitWeights(E, 2, 2, 1, false) }],
    ];
    for (const [what, config] of configs) {
      const [mha, ref] = [rt.multiHeadAttention(config), reference.multiHeadAttention(config)];
      expectSameMembers(what, mha, ref, ['embedDim', 'numHeads', 'numKeyValueHeads', 'headDim', 'dtype']);
      expect([ref.embedDim, ref.numHeads, ref.numKeyValueHeads, ref.headDim], `${what}: dims`).toEqual([mha.embedDim, mha.numHeads, mha.numKeyValueHeads, mha.headDim]);
      for (const options of [{ batch: 1, maxLength: 2 }, { batch: 2, window: 3 }]) {
        const [cache, refCache] = [mha.createCache(options), ref.createCache(options)];
        expectSameMembers(`${what} KVCache ${JSON.stringify(options)}`, cache, refCache, ['batch', 'maxLength', 'window']);
        expect([refCache.batch, refCache.maxLength, refCache.window, refCache.length]).toEqual([cache.batch, cache.maxLength, cache.window, cache.length]);
        cache.dispose();
      }
      mha.dispose();
    }
    for (const [att, refAtt] of [
      [rt.luongAttention({ score: 'general', W: luongW.W }), reference.luongAttention({ score: 'general', W: luongW.W })],
      [rt.bahdanauAttention(bahdanauW), reference.bahdanauAttention(bahdanauW)],
    ] as const) {
      expectSameMembers(`${att.score} attention`, att, refAtt, ['score', 'dtype']);
      const hs = tensor([2, 3, H], 5);
      const [bound, refBound] = [att.bind(hs), refAtt.bind(hs)];
      expectSameMembers(`${att.score} bound`, bound, refBound, ['batch', 'sourceLength', 'hiddenSize']);
      bound.dispose();
      att.dispose();
    }
  });

  it("the GRU, embedding and seq2seq twins have the runtime objects' public members", async () => {
    const rt = await runtimeFor('simd');
    const [I, Hd, V] = [3, 4, 5];
    const t = (shape: number[], seed: number) => tensor(shape, seed, -0.5, 0.5);
    const gruW = (i: number, prefix = '') => ({ [`${prefix}weight_ih_l0`]: t([3 * Hd, i], 1), [`${prefix}weight_hh_l0`]: t([3 * Hd, Hd], 2), [`${prefix}bias_ih_l0`]: t([3 * Hd], 3), [`${prefix}bias_hh_l0`]: t([3 * Hd], 4) });
    const gru = { inputSize: I, hiddenSize: Hd, weights: gruW(I) };
    expectSameMembers('gru', rt.gru(gru), reference.gru(gru), ['inputSize', 'hiddenSize', 'dtype']);
    expectSameMembers('embedding', rt.embedding(t([V, Hd], 5)), reference.embedding(t([V, Hd], 5)), ['numEmbeddings', 'embeddingDim', 'dtype']);
    const decoder = {
      'embedding.weight': t([V, Hd], 6), 'attention.Wa.weight': t([Hd, Hd], 7), 'attention.Wa.bias': t([Hd], 8), 'attention.Ua.weight': t([Hd, Hd], 9),
      'attention.Ua.bias': t([Hd], 10), 'attention.Va.weight': t([1, Hd], 11), 'attention.Va.bias': t([1], 12), ...gruW(2 * Hd, 'gru.'), 'out.weight': t([V, Hd], 13), 'out.bias': t([V], 14),
    };
    const [dec, refDec] = [rt.attnDecoderRNN(decoder), reference.attnDecoderRNN(decoder)];
    expectSameMembers('attnDecoderRNN', dec, refDec, ['hiddenSize', 'vocabSize', 'dtype']);
    const hs = t([2, 3, Hd], 15);
    expectSameMembers('attnDecoderRNN bound', dec.bind(hs), refDec.bind(hs), ['batch', 'sourceLength', 'hiddenSize']);
    const model = { encoder: { 'embedding.weight': t([6, Hd], 16), ...gruW(Hd, 'gru.') }, decoder, sos: 0, eos: 1 };
    expectSameMembers('gruSeq2seq', rt.gruSeq2seq(model), reference.gruSeq2seq(model), ['hiddenSize', 'sos', 'eos', 'dtype']);
  });

  it('the twins reject what the runtime rejects: unknown option names, wrong shapes', () => {
    const x = tensor([2, 3, 8], 1);
    const mha = reference.multiHeadAttention({ embedDim: 8, numHeads: 2, weights: mhaWeights(8, 1) });
    // @ts-expect-error PyTorch's name
    expect(() => mha.forward(x, { is_causal: true })).toThrow(TypeError);
    // @ts-expect-error PyTorch's name
    expect(() => reference.scaledDotProductAttention(x, x, x, { isCausal: true })).toThrow(/^options\.isCausal is not an option of scaledDotProductAttention/);
    expect(() => reference.scaledDotProductAttention(tensor([2, 1, 1, 3, 8], 1), x, x)).toThrow(RangeError);
    expect(() => reference.scaledDotProductAttention(x, tensor([2, 3, 4], 2), x)).toThrow(/^k: expected shape \[2, Lk, 8\]/);
    expect(() => mha.forward(tensor([2, 3, 7], 1))).toThrow(/^query: expected shape \[2, L, 8\]/);
    expect(() => reference.luongAttention({ score: 'general', W: tensor([4, 5], 1) })).toThrow(/^luongAttention: W: expected shape \[4, 4\]/);
    expect(() => reference.bahdanauAttention({ ...bahdanauW, 'Ua.weight': tensor([H, H - 1], 1) })).toThrow(RangeError);
    expect(() => reference.luongAttention({ score: 'dot' }).bind(tensor([2, 5, 4], 3), { lengths: [5, 6] })).toThrow(/^options.lengths\[1\] must be an integer in \[0, 5\], received 6$/);
    // resident is accepted (for the runtime's sake) and ignored: the result is a Float32Array
    expect(reference.softmax(x, { resident: true })).toBeInstanceOf(Float32Array);
    expect(reference.scaledDotProductAttention(x, x, x, { resident: true }).output).toBeInstanceOf(Float32Array);
  });
});
