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
