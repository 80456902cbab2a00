/**
 * The attention variants of scaledDotProductAttention against PyTorch: every build (both the fused
 * path and `returnWeights`) and the plain-JS reference against test/fixtures/variants.json, written
 * by tools/pytorch_fixtures.py (section 6; regenerate with `/usr/bin/python3 tools/pytorch_fixtures.py`,
 * this test needs no Python). The expected values are the semantics computed literally in float64,
 * one (b, h, i, j) at a time, and cross-checked there against PyTorch's own ops (torch 1.13's
 * F._scaled_dot_product_attention with a float attn_mask, repeat_interleave for grouped-query),
 * BLOOM's build_alibi_tensor, T5's compute_bias and flash-attn's construct_local_mask.
 *
 * With pos(i) = i + Lk − Lq (bottom-right aligned), per (b, h, i, j):
 *   s = q·k·scale → softcap c·tanh(s/c) → − slope[h]·|j − pos(i)| (alibi: true = BLOOM's slopes)
 *   → + table[bucket(j − pos(i)), h] (relativeBias, T5's buckets) → + float attnMask;
 *   hidden: causal j > pos(i), window [left, right] outside pos(i) − left ≤ j ≤ pos(i) + right
 *   (−1 unbounded), j ≥ keyLengths[b], bool attnMask 0; kv head ⌊h / (H / Hk)⌋;
 *   softmax over the visible keys, a query that sees none gives zeros.
 *
 * Cases (B, H, Hk, Lq, Lk, D): causal 17 × 17; keyLengths [17, 9] with D = 6; softcap 5 with scale 1;
 * ALiBi H = 6, H = 4 and explicit slopes; T5 bidirectional and unidirectional (8 buckets, max
 * distance 20, Lk ≥ 30); bool mask [Lq, Lk]; float mask [B, 1, 1, Lk] with −inf; windows [3, 0]
 * and [2, 2]; grouped-query H 4 / Hk 2 and 4 / 1; a mask that hides every key of two queries; and
 * causal + window [4, −1] + ALiBi + grouped-query + keyLengths, softcap + T5 + bool mask [H, Lq, Lk]
 * + window [−1, 3].
 *
 * Set PYTORCH_FIXTURES_REPORT=1 to print the max abs error of every comparison.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor } from './helpers.js';

const TOLERANCE = 1e-5;

interface Stored { shape: number[]; data: number[] }
/** The options as variants.json stores them (JSON: no typed arrays, −inf as the string "-Infinity"). */
interface StoredOptions {
  causal?: boolean;
  keyLengths?: number[];
  scale?: number;
  softcap?: number;
  alibi?: true | number[];
  relativeBias?: { table: Stored; numBuckets: number; maxDistance: number; bidirectional: boolean };
  attnMask?: { dtype: 'bool'; shape: number[]; data: number[] } | { dtype: 'float32'; shape: number[]; data: (number | '-Infinity')[] };
  window?: [number, number];
}
interface Case { q: Stored; k: Stored; v: Stored; options: StoredOptions; output: Stored; weights: Stored }

const fixture = JSON.parse(readFileSync(new URL('./fixtures/variants.json', import.meta.url), 'utf8')) as { cases: Record<string, Case> };
const names = Object.keys(fixture.cases);

type T = { data: Float32Array; shape: number[] };
const tensor = (s: Stored): T => ({ data: Float32Array.from(s.data), shape: s.shape });

/** The options as scaledDotProductAttention takes them. */
interface VariantOptions {
  causal?: boolean;
  keyLengths?: number[];
  scale?: number;
  softcap?: number;
  alibi?: true | Float32Array;
  relativeBias?: { table: T; numBuckets: number; maxDistance: number; bidirectional: boolean };
  attnMask?: { data: Uint8Array | Float32Array; shape: number[] };
  window?: [number, number];
  returnWeights?: boolean;
}

function apiOptions(o: StoredOptions): VariantOptions {
  const { alibi, relativeBias, attnMask, ...rest } = o;
  const out: VariantOptions = { ...rest };
  if (alibi !== undefined) out.alibi = alibi === true ? true : Float32Array.from(alibi);
  if (relativeBias) out.relativeBias = { ...relativeBias, table: tensor(relativeBias.table) };
  if (attnMask) {
    out.attnMask = attnMask.dtype === 'bool'
      ? { data: Uint8Array.from(attnMask.data), shape: attnMask.shape }
      : { data: Float32Array.from(attnMask.data, Number), shape: attnMask.shape };
  }
  return out;
}

type Sdpa = (q: T, k: T, v: T, options: VariantOptions) => { output: Float32Array; weights?: Float32Array };

// `as never`: the options were added to the runtime while this test was written (and not yet to
// the reference twin's types); the call shape is the API's either way.
const implementations: [string, () => Promise<Sdpa>][] = [
  ...BUILDS.map((backend): [string, () => Promise<Sdpa>] => [backend, async () => {
    const rt = await runtimeFor(backend);
    return (q, k, v, o) => rt.scaledDotProductAttention(q, k, v, o as never);
  }]),
  ['reference', async () => (q, k, v, o) => reference.scaledDotProductAttention(q, k, v, o as never)],
];

/** Max abs error per (case quantity, implementation), for the optional report. */
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
  const impls = implementations.map(([n]) => n);
  const lines = [['quantity', ...impls].join('\t')];
  for (const [what, row] of measured) lines.push([what, ...impls.map((n) => (row.has(n) ? row.get(n)!.toExponential(2) : '-'))].join('\t'));
  console.log(lines.join('\n'));
});

describe('variants.json', () => {
  it('is well-formed: shapes agree, each weights row sums to 1 or (a query that sees no key) is all zeros', () => {
    expect(names.length).toBeGreaterThanOrEqual(12);
    let emptyRows = 0;
    for (const [name, c] of Object.entries(fixture.cases)) {
      const [b, h, lq, d] = c.q.shape as [number, number, number, number];
      const [, hk, lk] = c.k.shape as [number, number, number, number];
      const dv = c.v.shape[3]!;
      expect(c.k.shape, name).toEqual([b, hk, lk, d]);
      expect(h % hk, name).toBe(0);
      expect(c.output.shape, name).toEqual([b, h, lq, dv]);
      expect(c.weights.shape, name).toEqual([b, h, lq, lk]);
      for (const s of [c.q, c.k, c.v, c.output, c.weights]) expect(s.data.length, name).toBe(s.shape.reduce((x, y) => x * y, 1));
      for (let r = 0; r < b * h * lq; r++) {
        const row = c.weights.data.slice(r * lk, (r + 1) * lk);
        const sum = row.reduce((x, y) => x + y, 0);
        if (sum === 0) emptyRows++;
        else expect(Math.abs(sum - 1), `${name} row ${r}`).toBeLessThan(1e-7);
      }
    }
    expect(emptyRows, 'rows that see no key (the "no visible key" case)').toBe(2);
  });
});

describe.each(implementations)('PyTorch attention variants: %s', (impl, make) => {
  it.each(names)('%s: output, and output and weights with returnWeights', async (name) => {
    const sdpa = await make();
    const c = fixture.cases[name]!;
    const [q, k, v] = [tensor(c.q), tensor(c.k), tensor(c.v)];
    const options = apiOptions(c.options);
    close(impl, `${name} output`, sdpa(q, k, v, options).output, c.output);
    const r = sdpa(q, k, v, { ...options, returnWeights: true });
    close(impl, `${name} output (returnWeights)`, r.output, c.output);
    close(impl, `${name} weights`, r.weights, c.weights);
  });
});
