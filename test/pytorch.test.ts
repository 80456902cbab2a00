/**
 * Checks against PyTorch itself: every build and the plain-JS reference (our test oracle) against
 * numbers PyTorch computed, stored in test/fixtures/*.json by tools/pytorch_fixtures.py
 * (regenerate with `/usr/bin/python3 tools/pytorch_fixtures.py`; this test needs no Python).
 *
 *   mha.json       torch.nn.MultiheadAttention(16, 4, bias=True, batch_first=True), eval: self,
 *                  causal (attn_mask = triu(ones, 1)), key_padding_mask from lengths [5, 3], cross
 *   bahdanau.json  the PyTorch seq2seq tutorial's BahdanauAttention module, H = 8
 *   luong.json     Luong dot / general / concat scores and the attentional state, lengths [5, 3]
 *   rope.json      rotate_half (Hugging Face LLaMA) and interleaved (RoFormer / GPT-J), offset 3
 *   sdpa.json      causal attention with Lq = 5 < Lk = 9, bottom-right aligned, in float64
 *   transformer-masks.json  nn.TransformerEncoderLayer / Encoder / DecoderLayer with PyTorch's masks
 *                  (src_mask bool / float, key padding right and left) and batch_first=False
 *   norms.json     F.layer_norm, F.gelu (none, tanh), relu, silu, tanh
 *
 * Set PYTORCH_FIXTURES_REPORT=1 to print the max abs error of every comparison.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor } from './helpers.js';

const TOLERANCE = 1e-5;

interface Stored { shape: number[]; data: number[] }
type T = { data: Float32Array; shape: number[] };
const tensor = (s: Stored): T => ({ data: Float32Array.from(s.data), shape: s.shape });
const tensors = (r: Record<string, Stored>): Record<string, T> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, tensor(v)]));
const load = <F>(name: string): F => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as F;

const mha = load<{
  embedDim: number; numHeads: number; weights: Record<string, Stored>; x: Stored; query: Stored; memory: Stored;
  cases: Record<'self' | 'causal' | 'keyPadding' | 'cross', { options: { causal?: boolean; keyLengths?: number[] }; output: Stored; weights: Stored }>;
}>('mha.json');
const bahdanau = load<{ stateDict: Record<string, Stored>; query: Stored; keys: Stored; scores: Stored; weights: Stored; context: Stored }>('bahdanau.json');
const luong = load<{
  lengths: number[]; weights: Record<string, Stored>; h: Stored; hs: Stored;
  cases: Record<'dot' | 'general' | 'concat', { scores: Stored; weights: Stored; context: Stored; attentional: Stored }>;
}>('luong.json');
const rope = load<{ offset: number; base: number; x: Stored; half: Stored; interleaved: Stored }>('rope.json');
const sdpa = load<{ q: Stored; k: Stored; v: Stored; weights: Stored; output: Stored }>('sdpa.json');

interface Step { context: Float32Array; weights: Float32Array; scores: Float32Array; attentional?: Float32Array }
interface Seq2seq {
  attend(h: T, hs: T, options?: { lengths?: number[] }): Step;
  bind(hs: T, options?: { lengths?: number[] }): { step(h: T): Step; dispose?(): void };
  dispose?(): void;
}
type MhaOptions = { causal?: boolean; keyLengths?: number[]; needWeights?: boolean };
/** The ops both the runtime (each build) and the plain-JS reference have, called the same way. */
interface Impl {
  mha(query: T, key: T | undefined, value: T | undefined, options: MhaOptions): { output: Float32Array; weights?: Float32Array };
  bahdanau(w: Record<string, T>): Seq2seq;
  luong(config: Record<string, unknown>): Seq2seq;
  rope(x: T, options: { style: 'half' | 'interleaved'; offset: number; base: number }): Float32Array;
  sdpa(q: T, k: T, v: T, options: { causal?: boolean; returnWeights?: boolean }): { output: Float32Array; weights?: Float32Array };
}

const mhaConfig = { embedDim: mha.embedDim, numHeads: mha.numHeads, weights: tensors(mha.weights) };

const implementations: [string, () => Promise<Impl>][] = [
  ...BUILDS.map((backend): [string, () => Promise<Impl>] => [backend, async () => {
    const rt = await runtimeFor(backend);
    return {
      mha: (q, k, v, o) => {
        const m = rt.multiHeadAttention(mhaConfig as never);
        try { return m.forward(q, k, v, o); } finally { m.dispose(); }
      },
      bahdanau: (w) => rt.bahdanauAttention(w as never) as unknown as Seq2seq,
      luong: (c) => rt.luongAttention(c as never) as unknown as Seq2seq,
      rope: (x, o) => rt.rope(x, o),
      sdpa: (q, k, v, o) => rt.scaledDotProductAttention(q, k, v, o),
    };
  }]),
  ['reference', async () => ({
    mha: (q, k, v, o) => {
      const m = reference.multiHeadAttention(mhaConfig as never);
      try { return m.forward(q, k, v, o); } finally { m.dispose(); }
    },
    bahdanau: (w) => reference.bahdanauAttention(w as never) as unknown as Seq2seq,
    luong: (c) => reference.luongAttention(c as never) as unknown as Seq2seq,
    rope: (x, o) => reference.rope(x, o),
    sdpa: (q, k, v, o) => reference.scaledDotProductAttention(q, k, v, o),
  })],
];

/** Max abs error per (fixture quantity, implementation), for the optional report. */
const measured = new Map<string, Map<string, number>>();
function close(impl: string, what: string, got: ArrayLike<number> | undefined, want: Stored): void {
  expect(got, `${what}: missing`).toBeDefined();
  const err = maxAbsDiff(got!, want.data);
  const row = measured.get(what) ?? new Map<string, number>();
  row.set(impl, Math.max(row.get(impl) ?? 0, err));
  measured.set(what, row);
  expect(err, `${what} (max abs error against PyTorch)`).toBeLessThanOrEqual(TOLERANCE);
}

afterAll(() => {
  if (!process.env['PYTORCH_FIXTURES_REPORT']) return;
  const names = implementations.map(([n]) => n);
  const lines = [['quantity', ...names].join('\t')];
  for (const [what, row] of measured) lines.push([what, ...names.map((n) => (row.has(n) ? row.get(n)!.toExponential(2) : '-'))].join('\t'));
  console.log(lines.join('\n'));
});

describe.each(implementations)('PyTorch fixtures: %s', (name, make) => {
  it('torch.nn.MultiheadAttention: self, causal, key padding, cross; output and averaged weights', async () => {
    const impl = await make();
    const x = tensor(mha.x);
    for (const [label, c] of Object.entries(mha.cases)) {
      // self-attention as the README calls it (key, value omitted); cross-attention with key = value = memory
      const [q, k] = label === 'cross' ? [tensor(mha.query), tensor(mha.memory)] : [x, undefined];
      const withWeights = impl.mha(q, k, undefined, { ...c.options, needWeights: true });
      close(name, `mha ${label} output (needWeights)`, withWeights.output, c.output);
      close(name, `mha ${label} weights`, withWeights.weights, c.weights);
      close(name, `mha ${label} output`, impl.mha(q, k, undefined, c.options).output, c.output);
      if (!k) close(name, `mha ${label} output (key = value = x passed)`, impl.mha(x, x, x, c.options).output, c.output);
    }
  });

  it("the seq2seq tutorial's BahdanauAttention: scores, weights, context", async () => {
    const impl = await make();
    const att = impl.bahdanau(tensors(bahdanau.stateDict));
    const [B, , H] = bahdanau.query.shape as [number, number, number];
    const h = { data: Float32Array.from(bahdanau.query.data), shape: [B, H] }; // query [B, 1, H] as the decoder state [B, H]
    const keys = tensor(bahdanau.keys);
    const memory = att.bind(keys);
    for (const [how, r] of [['attend', att.attend(h, keys)], ['bind/step', memory.step(h)]] as const) {
      close(name, `bahdanau scores (${how})`, r.scores, bahdanau.scores);
      close(name, `bahdanau weights (${how})`, r.weights, bahdanau.weights);
      close(name, `bahdanau context (${how})`, r.context, bahdanau.context);
      expect(r.attentional).toBeUndefined();
    }
    memory.dispose?.();
    att.dispose?.();
  });

  it('Luong dot, general, concat with the attentional state, source lengths [5, 3]', async () => {
    const impl = await make();
    const w = tensors(luong.weights);
    const h = tensor(luong.h);
    const hs = tensor(luong.hs);
    const configs = {
      dot: { score: 'dot', Wc: w['Wc'], bc: w['bc'] },
      general: { score: 'general', W: w['W'], Wc: w['Wc'], bc: w['bc'] },
      concat: { score: 'concat', Wa: w['Wa'], ba: w['ba'], va: w['va'], Wc: w['Wc'], bc: w['bc'] },
    };
    for (const [score, want] of Object.entries(luong.cases)) {
      const att = impl.luong(configs[score as keyof typeof configs]);
      const memory = att.bind(hs, { lengths: luong.lengths });
      for (const [how, r] of [['attend', att.attend(h, hs, { lengths: luong.lengths })], ['bind/step', memory.step(h)]] as const) {
        close(name, `luong ${score} scores (${how})`, r.scores, want.scores);
        close(name, `luong ${score} weights (${how})`, r.weights, want.weights);
        close(name, `luong ${score} context (${how})`, r.context, want.context);
        close(name, `luong ${score} attentional (${how})`, r.attentional, want.attentional);
      }
      memory.dispose?.();
      att.dispose?.();
    }
  });

  it('RoPE: rotate_half (Hugging Face LLaMA) and interleaved (RoFormer / GPT-J), offset 3', async () => {
    const impl = await make();
    for (const style of ['half', 'interleaved'] as const) {
      close(name, `rope ${style}`, impl.rope(tensor(rope.x), { style, offset: rope.offset, base: rope.base }), rope[style]);
    }
  });

  it('causal scaled dot-product attention, Lq = 5 < Lk = 9, bottom-right aligned', async () => {
    const impl = await make();
    const [q, k, v] = [tensor(sdpa.q), tensor(sdpa.k), tensor(sdpa.v)];
    close(name, 'sdpa causal output', impl.sdpa(q, k, v, { causal: true }).output, sdpa.output);
    const r = impl.sdpa(q, k, v, { causal: true, returnWeights: true });
    close(name, 'sdpa causal output (returnWeights)', r.output, sdpa.output);
    close(name, 'sdpa causal weights', r.weights, sdpa.weights);
  });
});

// ---------------------------------------------------------------------------------------------
// transformer-masks.json: nn.TransformerEncoderLayer / TransformerEncoder / TransformerDecoderLayer
// with src_mask / tgt_mask / memory_mask (bool [L, S] and [B·nhead, L, S], float), key padding
// masks (right and left padding) and batch_first=False, from PyTorch's non-fast path. Compared on
// the rows of real tokens only: a padded query row is not defined across PyTorch's paths (its fast
// path may give zeros there, and a row that sees no key is NaN), so `rows` marks what is compared.

type StoredMask = { kind: 'bool' | 'float'; shape: number[]; data: (number | null)[] };
interface MaskCase { options: Record<string, StoredMask>; output: { shape: number[]; data: (number | null)[] }; rows: number[][] }
interface LayerFixture { config: Record<string, unknown>; weights: Record<string, Stored> }
const masks = load<{
  dModel: number; nhead: number;
  encoder: LayerFixture & { src: Stored; cases: Record<string, MaskCase> };
  encoderSequenceFirst: LayerFixture & { src: Stored; cases: Record<string, MaskCase> };
  encoderStack: LayerFixture & { src: Stored; case: MaskCase };
  decoder: LayerFixture & { tgt: Stored; memory: Stored; cases: Record<string, MaskCase> };
  decoderSequenceFirst: LayerFixture & { tgt: Stored; memory: Stored; case: MaskCase };
}>('transformer-masks.json');

/** A stored mask as the API takes it: bool as Uint8Array (or boolean[]), float as Float32Array (null = −Infinity). */
function maskOf(m: StoredMask, asBooleans: boolean): { data: Uint8Array | boolean[] | Float32Array; shape: number[] } {
  if (m.kind === 'float') return { data: Float32Array.from(m.data, (v) => (v === null ? -Infinity : v)), shape: m.shape };
  return { data: asBooleans ? m.data.map((v) => v === 1) : Uint8Array.from(m.data as number[]), shape: m.shape };
}
const optionsOf = (c: MaskCase, asBooleans = false) => Object.fromEntries(Object.entries(c.options).map(([k, m]) => [k, maskOf(m, asBooleans)]));

/** The max abs error over the real rows (rows[b][l] = 1) of an output in [B, L, E] or [L, B, E]. */
function closeRows(impl: string, what: string, got: Float32Array, c: MaskCase, batchFirst: boolean): void {
  const B = c.rows.length, L = c.rows[0]!.length, E = masks.dModel;
  expect(got.length).toBe(B * L * E);
  let err = 0;
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      if (!c.rows[b]![l]) continue;
      const at = (batchFirst ? b * L + l : l * B + b) * E;
      for (let i = 0; i < E; i++) {
        const d = Math.abs(got[at + i]! - c.output.data[at + i]!);
        if (!(d <= err)) err = d;
      }
    }
  }
  const row = measured.get(what) ?? new Map<string, number>();
  row.set(impl, Math.max(row.get(impl) ?? 0, err));
  measured.set(what, row);
  expect(err, `${what} (max abs error against PyTorch over the real rows)`).toBeLessThanOrEqual(TOLERANCE);
}

type LayerLike = { forward(...args: unknown[]): Float32Array; dispose(): void };
interface Layers {
  encoderLayer(config: Record<string, unknown>): LayerLike;
  encoder(config: Record<string, unknown>): LayerLike;
  decoderLayer(config: Record<string, unknown>): LayerLike;
}
const layerImplementations: [string, () => Promise<Layers>][] = [
  ...BUILDS.map((backend): [string, () => Promise<Layers>] => [backend, async () => {
    const rt = await runtimeFor(backend);
    return {
      encoderLayer: (c) => rt.transformerEncoderLayer(c as never) as unknown as LayerLike,
      encoder: (c) => rt.transformerEncoder(c as never) as unknown as LayerLike,
      decoderLayer: (c) => rt.transformerDecoderLayer(c as never) as unknown as LayerLike,
    };
  }]),
  ['reference', async () => ({
    encoderLayer: (c) => reference.transformerEncoderLayer(c as never) as unknown as LayerLike,
    encoder: (c) => reference.transformerEncoder(c as never) as unknown as LayerLike,
    decoderLayer: (c) => reference.transformerDecoderLayer(c as never) as unknown as LayerLike,
  })],
];

describe.each(layerImplementations)('PyTorch transformer masks and layouts: %s', (name, make) => {
  // dimFeedforward is not given: it is read from linear1.weight
  const configOf = (f: LayerFixture) => ({ dModel: masks.dModel, nhead: masks.nhead, ...f.config, weights: tensors(f.weights) });

  it('encoder layer: src_key_padding_mask (right, left), src_mask (bool [L, L], bool [B·nhead, L, L], float), combined, causal with left padding', async () => {
    const impl = await make();
    const layer = impl.encoderLayer(configOf(masks.encoder));
    const src = tensor(masks.encoder.src);
    const unmasked = layer.forward(src);
    for (const [label, c] of Object.entries(masks.encoder.cases)) {
      // each case's mask changes PyTorch's output on the compared rows (so a mask ignored would fail)
      const real = c.rows.flatMap((r) => r.flatMap((v) => Array<number>(masks.dModel).fill(v)));
      expect(Math.max(...c.output.data.map((v, i) => (real[i] ? Math.abs(v! - unmasked[i]!) : 0))), `${label}: the mask matters`).toBeGreaterThan(1e-3);
      closeRows(name, `encoder layer ${label}`, layer.forward(src, optionsOf(c)), c, true);
      closeRows(name, `encoder layer ${label} (boolean[] masks)`, layer.forward(src, optionsOf(c, true)), c, true);
    }
    layer.dispose();
  });

  it('encoder layer with batchFirst: false ([L, B, E], pre-norm GELU), plain and left padding', async () => {
    const impl = await make();
    const f = masks.encoderSequenceFirst;
    const layer = impl.encoderLayer(configOf(f));
    for (const [label, c] of Object.entries(f.cases)) closeRows(name, `encoder layer [L, B, E] ${label}`, layer.forward(tensor(f.src), optionsOf(c)), c, false);
    layer.dispose();
  });

  it('nn.TransformerEncoder (2 pre-norm layers, final norm): float src mask with left padding', async () => {
    const impl = await make();
    const f = masks.encoderStack;
    const stack = impl.encoder(configOf(f));
    closeRows(name, 'encoder stack float mask + left padding', stack.forward(tensor(f.src), optionsOf(f.case)), f.case, true);
    stack.dispose();
  });

  it('decoder layer: tgt_mask, tgt and memory key padding (left, right), memory_mask (float [T, S], bool [B·nhead, T, S])', async () => {
    const impl = await make();
    const f = masks.decoder;
    const layer = impl.decoderLayer(configOf(f));
    for (const [label, c] of Object.entries(f.cases)) {
      closeRows(name, `decoder layer ${label}`, layer.forward(tensor(f.tgt), tensor(f.memory), optionsOf(c)), c, true);
    }
    layer.dispose();
  });

  it('decoder layer with batchFirst: false ([T, B, E], [S, B, E]): causal tgt_mask, left-padded memory', async () => {
    const impl = await make();
    const f = masks.decoderSequenceFirst;
    const layer = impl.decoderLayer(configOf(f));
    closeRows(name, 'decoder layer [T, B, E]', layer.forward(tensor(f.tgt), tensor(f.memory), optionsOf(f.case)), f.case, false);
    layer.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// norms.json: F.layer_norm (affine, plain, eps 1e-2 weight only, x + residual) over [3, 5, 24] and
// F.gelu (approximate 'none' and 'tanh'), relu, silu, tanh over [−8, 8] and a few large inputs
// (the float64 results of PyTorch, rounded to float32).

const norms = load<{
  x: Stored; residual: Stored; weight: Stored; bias: Stored; a: Stored;
  layerNorm: Record<'affine' | 'plain' | 'eps' | 'residual', Stored>;
  activations: Record<'gelu' | 'geluTanh' | 'relu' | 'silu' | 'tanh', Stored>;
}>('norms.json');

interface NormImpl {
  layerNorm(x: T, options?: { weight?: T; bias?: T; eps?: number; residual?: T }): Float32Array;
  activation(x: T, kind: 'relu' | 'gelu' | 'geluTanh' | 'silu' | 'tanh'): Float32Array;
  gelu(x: T, options?: { approximate?: 'none' | 'tanh' }): Float32Array;
}
const normImplementations: [string, () => Promise<NormImpl>][] = [
  ...BUILDS.map((backend): [string, () => Promise<NormImpl>] => [backend, async () => {
    const rt = await runtimeFor(backend);
    return { layerNorm: (x, o) => rt.layerNorm(x, o), activation: (x, k) => rt.activation(x, k), gelu: (x, o) => rt.gelu(x, o) };
  }]),
  ['reference', async () => ({ layerNorm: (x, o) => reference.layerNorm(x, o), activation: (x, k) => reference.activation(x, k), gelu: (x, o) => reference.gelu(x, o) })],
];

describe.each(normImplementations)('PyTorch norms and activations: %s', (name, make) => {
  it('F.layer_norm: affine, plain, eps, with a residual', async () => {
    const impl = await make();
    const [x, weight, bias, residual] = [tensor(norms.x), tensor(norms.weight), tensor(norms.bias), tensor(norms.residual)];
    close(name, 'layer_norm affine', impl.layerNorm(x, { weight, bias }), norms.layerNorm.affine);
    close(name, 'layer_norm plain', impl.layerNorm(x), norms.layerNorm.plain);
    close(name, 'layer_norm eps 1e-2', impl.layerNorm(x, { weight, eps: 1e-2 }), norms.layerNorm.eps);
    close(name, 'layer_norm x + residual', impl.layerNorm(x, { weight, bias, residual }), norms.layerNorm.residual);
  });

  it("F.gelu (approximate 'none', 'tanh'), relu, silu, tanh", async () => {
    const impl = await make();
    const a = tensor(norms.a);
    for (const [kind, want] of Object.entries(norms.activations)) close(name, `activation ${kind}`, impl.activation(a, kind as keyof typeof norms.activations), want);
    close(name, 'gelu', impl.gelu(a), norms.activations.gelu);
    close(name, "gelu approximate 'tanh'", impl.gelu(a, { approximate: 'tanh' }), norms.activations.geluTanh);
  });
});
