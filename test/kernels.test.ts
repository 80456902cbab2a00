// The kernel test harness: every edge case of bench/kernel-cases.mjs (the table that also drives
// `npm run bench -- --kernels`) on the RAW kernels of every build, against a float64 reference,
// with one tolerance for every kernel: ‖got − ref‖₂ / ‖ref‖₂ ≤ 1e-5. Edge sizes come from the tile
// constants the build exports, so they follow any change of the tiles. Also: any split of the work
// items (attention) or of the columns at multiples of GEMM_NB (gemm) gives the same bits; e^x
// accuracy through expScale; erf, GELU, SiLU accuracy over dense sweeps and their limits; LayerNorm
// accuracy on unit-scale and offset rows, and fused residual = unfused; the module's exports match
// src/engine/kernels.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/index.js';
import { ACTIVATION, KERNEL_ARITY, kernelTiles, type ActivationName, type KernelTiles } from '../src/engine/kernels.js';
import { loadKernels } from '../src/engine/load.js';
import { Heap } from '../src/engine/memory.js';
import { PARAMS_BYTES, writeAttentionParams, writePartials } from '../src/engine/attention-params.js';
import {
  ACTIVATION_KINDS,
  ACTIVATIONS64,
  attentionDims,
  describeDims,
  erf64,
  erfc64,
  failureMessage,
  gemmDims,
  gemmQ8Dims,
  type GemmQ8Case,
  type QuantizeCase,
  kernelCases,
  KERNELS,
  layerNormDims,
  makeCase,
  prepareCase,
  referenceLayerNorm,
  rmsNormDims,
  tileSummary,
  type AttentionCase,
  type CaseEnv,
  type GemmCase,
  type KernelCase,
  type KernelName,
  type LayerNormCase,
  type PreparedCase,
  type RmsNormCase,
} from '../bench/kernel-cases.mjs';
import { BUILDS, uniform } from './helpers.js';

/** References are the same for every build: computed once. */
const cache = new Map<string, unknown>();

interface Env extends CaseEnv {
  tiles: KernelTiles;
  memory: WebAssembly.Memory;
}

async function kernelsFor(backend: Backend): Promise<Env> {
  const memory = new WebAssembly.Memory({ initial: 64 }); // 4 MiB; the heap grows it on demand
  const k = await loadKernels(backend, memory);
  const heap = new Heap(memory, k.heapBase());
  return { k, heap, memory, tiles: kernelTiles(k), writeAttentionParams, writePartials, uniform, cache };
}

const bits = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);

/** Elements where two arrays differ in their bits: count and the first index. */
function bitDifferences(a: Float32Array, b: Float32Array): { count: number; first: number } {
  const x = bits(a), y = bits(b);
  let count = 0, first = -1;
  for (let i = 0; i < x.length; i++)
    if (x[i] !== y[i]) {
      if (first < 0) first = i;
      count++;
    }
  return { count, first };
}

/** Splits of [0, n): arbitrary cut points, every item alone, and a seeded random partition. */
function splits(n: number, seed: number): Array<Array<[number, number]>> {
  const cut = (points: number[]): Array<[number, number]> => {
    const p = [...new Set([0, ...points.filter((x) => x > 0 && x < n), n])].sort((a, b) => a - b);
    return p.slice(1).map((end, i) => [p[i]!, end]);
  };
  let s = seed;
  const random = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const randomPoints = Array.from({ length: Math.min(n, 4) }, () => Math.floor(random() * n));
  return [cut([1, n - 2]), cut(Array.from({ length: n }, (_, i) => i)), cut(randomPoints), cut([Math.floor(n / 2)])];
}

describe.each(BUILDS)('raw kernels on the %s build', (backend) => {
  let env: Env;
  let cases: KernelCase[];
  beforeAll(async () => {
    env = await kernelsFor(backend);
    cases = kernelCases(env.tiles);
  });

  it.each(KERNELS)('%s matches the float64 reference on every edge case', (kernel: KernelName) => {
    const mine = cases.filter((c) => c.edge && c.kernel === kernel);
    expect(mine.length).toBeGreaterThan(0);
    const failures: string[] = [];
    const record = { cases: mine.length, error: 0, at: '' };
    for (const c of mine) {
      const p = prepareCase(env, c);
      try {
        const result = p.check();
        const relative = Object.values(result.errors).filter((e) => !e.absolute).map((e) => e.error);
        const error = Math.max(0, ...relative);
        if (!(error <= record.error)) Object.assign(record, { error, at: describeDims(c) });
        if (!result.ok) failures.push(failureMessage(c, backend, env.tiles, result));
      } finally {
        p.release();
      }
    }
    console.log(`${kernel} ${backend}: ${record.cases} edge cases, worst normalised error ${record.error.toExponential(2)} (${record.at})`);
    if (failures.length) expect.fail(`${failures.length} of ${mine.length} ${kernel} cases failed on ${backend}:\n${failures.join('\n')}`);
    expect(env.heap.stats().allocations).toBe(0);
  });

  // ---- work ranges --------------------------------------------------------------------------------
  /** Attention problems on both paths (in place: Lq ≤ DIRECT_MAX_LQ; packed: larger), B2 H3, causal + key lengths. */
  function rangeCases(kernel: 'attention' | 'attentionWeights'): AttentionCase[] {
    const { QB, KB, PW, DIRECT_MAX_LQ } = env.tiles.attention;
    const lk = 2 * KB + PW + 1;
    return [
      attentionDims({ batch: 2, heads: 3, lq: DIRECT_MAX_LQ, lk, d: PW + 1, causal: true, keyLengths: [KB + 1, lk] }),
      attentionDims({ batch: 2, heads: 3, lq: DIRECT_MAX_LQ + 2 * QB + 1, lk, d: PW + 1, dv: PW - 1, causal: true, keyLengths: [lk, KB - 1], layout: 'blhd' }),
      attentionDims({ batch: 2, heads: 3, lq: DIRECT_MAX_LQ + QB + 1, lk: KB + 1, d: 64, keyLengths: [0, PW + 1], layout: 'padded' }),
      attentionDims({ batch: 2, heads: 3, lq: 1, lk, d: 64, causal: true }),
      // K and V held as f16 / q8 (the fused kernel only): the packed path and a key-split decode step
      ...(kernel === 'attention'
        ? [
            attentionDims({ batch: 2, heads: 3, lq: DIRECT_MAX_LQ + QB + 1, lk, d: PW + 1, dv: PW - 1, causal: true, keyLengths: [lk, KB - 1], layout: 'blhd', kvDtype: 'q8' }),
            attentionDims({ batch: 2, heads: 3, lq: DIRECT_MAX_LQ + 2 * QB + 1, lk, d: 64, causal: true, kvDtype: 'f16' }),
            attentionDims({ batch: 2, heads: 2, lq: 1, lk: 2 * env.tiles.attention.SPLIT_KEYS + KB + 1, d: 64, causal: true, kvDtype: 'f16', layout: 'blhd' }),
            attentionDims({ batch: 2, heads: 2, lq: 1, lk: 2 * env.tiles.attention.SPLIT_KEYS + KB + 1, d: 64, causal: true, kvDtype: 'q8' }),
          ]
        : []),
    ].map((dims) => makeCase(kernel, dims));
  }

  it.each(['attention', 'attentionWeights'] as const)('%s: every split of the work items gives the same bits as one call', (kernel) => {
    const failures: string[] = [];
    for (const c of rangeCases(kernel)) {
      const p: PreparedCase = prepareCase(env, c);
      try {
        const whole = p.check();
        if (!whole.ok) failures.push(failureMessage(c, backend, env.tiles, whole));
        const want = p.outputs();
        for (const parts of splits(p.items, p.items)) {
          p.reset();
          for (const [begin, end] of parts) p.runItems!(begin, end, p.newScratch());
          p.finishItems!();
          const got = p.outputs();
          for (const name of Object.keys(want)) {
            const diff = bitDifferences(got[name]!, want[name]!);
            if (diff.count) {
              failures.push(
                `${kernel} ${backend} ${describeDims(c)} (${tileSummary(kernel, env.tiles)}): items ${JSON.stringify(parts)} of ${p.items}: ` +
                  `${name} differs from one call in ${diff.count} elements (first ${diff.first})`,
              );
            }
          }
        }
      } finally {
        p.release();
      }
    }
    if (failures.length) expect.fail(failures.join('\n'));
  });

  it('gemm: column ranges split at multiples of GEMM_NB give the same bits as one call (both paths, both layouts, bias)', () => {
    const { MR, NR, KC, MC, DIRECT_M, NB } = env.tiles.gemm;
    const n = 3 * NB + NR + 1;
    const failures: string[] = [];
    const gemmCases: GemmCase[] = [];
    for (const m of [MR + 1, DIRECT_M - 1, DIRECT_M + 1, MC + 1])
      for (const transB of [0, 1] as const) {
        gemmCases.push(makeCase('gemm', gemmDims(m, n, 4 * MR + 1, transB, { bias: true, strided: m === MR + 1 })));
        gemmCases.push(makeCase('gemm', gemmDims(m, n, KC + 1, transB, { bias: true, accumulate: true })));
      }
    const columnSplits = [[0, NB, 3 * NB, n], [0, NB, 2 * NB, 3 * NB, n], [0, 2 * NB, n], [0, 3 * NB, n]];
    for (const c of gemmCases) {
      const p = prepareCase(env, c);
      const { m, k, transB, ldb, lda, ldc, accumulate } = c.dims;
      try {
        const whole = p.check();
        if (!whole.ok) failures.push(failureMessage(c, backend, env.tiles, whole));
        const want = p.outputs().C!;
        for (const cuts of columnSplits) {
          p.reset();
          for (let s = 0; s + 1 < cuts.length; s++) {
            const j0 = cuts[s]!, j1 = cuts[s + 1]!;
            const b = p.ptr.b! + 4 * (transB ? j0 * ldb : j0);
            const scratch = p.newScratch(env.k.gemmScratchBytes(m, j1 - j0, k));
            env.k.gemm(p.ptr.a!, lda, b, ldb, p.ptr.c! + 4 * j0, ldc, m, j1 - j0, k, transB, p.ptr.bias! + 4 * j0, accumulate ? 1 : 0, scratch);
          }
          const diff = bitDifferences(p.outputs().C!, want);
          if (diff.count) {
            failures.push(
              `gemm ${backend} ${describeDims(c)} (${tileSummary('gemm', env.tiles)}): columns split at ${cuts.join(',')} ` +
                `differ from one call in ${diff.count} elements (first ${diff.first})`,
            );
          }
        }
      } finally {
        p.release();
      }
    }
    if (failures.length) expect.fail(failures.join('\n'));
  });

  it.each(['gemmQ8', 'gemmQ4'] as const)('%s: any split of the columns gives the same bits as one call', (kernel) => {
    const failures: string[] = [];
    const n = 2 * env.tiles.gemm.NB + 7;
    const gemmQ8Cases: GemmQ8Case[] = [1, 3, env.tiles.gemm.DIRECT_M + 1].map((m) => makeCase(kernel, gemmQ8Dims(m, n, 3 * env.tiles.q8.BLOCK, { bias: true, accumulate: m === 3, strided: m === 1 })));
    const columnSplits = [[0, 1, n], [0, 5, 6, 17, n], [0, 16, 32, n], [0, n - 1, n], Array.from({ length: n + 1 }, (_, i) => i)];
    for (const c of gemmQ8Cases) {
      const p = prepareCase(env, c);
      try {
        const whole = p.check();
        if (!whole.ok) failures.push(failureMessage(c, backend, env.tiles, whole));
        const want = p.outputs().C!;
        for (const cuts of columnSplits) {
          p.reset();
          for (let s = 0; s + 1 < cuts.length; s++) p.runColumns!(cuts[s]!, cuts[s + 1]!);
          const diff = bitDifferences(p.outputs().C!, want);
          if (diff.count) failures.push(`${kernel} ${backend} ${describeDims(c)}: columns split at ${cuts.join(',')} differ from one call in ${diff.count} elements (first ${diff.first})`);
        }
      } finally {
        p.release();
      }
    }
    if (failures.length) expect.fail(failures.join('\n'));
  });

  it.each(['gemmQ8', 'gemmQ4'] as const)('%s: a row gives the same bits alone, in any batch and on either path (few rows or packed panels)', (kernel) => {
    const failures: string[] = [];
    const { PACKED_M, MC } = env.tiles.q8;
    const m = MC + PACKED_M + 3;
    for (const k of [env.tiles.q8.BLOCK, 5 * env.tiles.q8.BLOCK]) {
      const c: GemmQ8Case = makeCase(kernel, gemmQ8Dims(m, 13, k, { bias: true, accumulate: k > 32, strided: k === 32 }));
      const p = prepareCase(env, c);
      try {
        const whole = p.check();
        if (!whole.ok) failures.push(failureMessage(c, backend, env.tiles, whole));
        const want = p.outputs().C!;
        const rowSplits = [[0, 1, m], [0, PACKED_M - 1, 2 * PACKED_M, m], [0, 3, MC + 3, m], Array.from({ length: m + 1 }, (_, i) => i)];
        for (const cuts of rowSplits) {
          p.reset();
          for (let s = 0; s + 1 < cuts.length; s++) p.runRows!(cuts[s]!, cuts[s + 1]!);
          const diff = bitDifferences(p.outputs().C!, want);
          if (diff.count) failures.push(`${kernel} ${backend} ${describeDims(c)}: rows split at ${cuts.join(',')} differ from one call in ${diff.count} elements (first ${diff.first})`);
        }
      } finally {
        p.release();
      }
    }
    if (failures.length) expect.fail(failures.join('\n'));
  });

  // ---- e^x ----------------------------------------------------------------------------------------
  it('expScale: e^x within 1.3e-7 relative of Math.exp over a dense sweep of [-87, 88]; returns max |x|', () => {
    const total = 1 << 22;
    const chunk = 1 << 18;
    const x = env.heap.alloc(chunk * 4);
    const out = env.heap.alloc(chunk * 4);
    let worstRel = 0, worstAt = 0, maxAbs = 0;
    try {
      for (let at = 0; at < total; at += chunk) {
        const xs = new Float32Array(chunk);
        for (let i = 0; i < chunk; i++) xs[i] = -87 + (175 * (at + i)) / (total - 1);
        env.heap.floats().set(xs, x >>> 2);
        maxAbs = Math.max(maxAbs, env.k.expScale(x, out, chunk, 1, 1));
        const ys = env.heap.view(out, chunk);
        for (let i = 0; i < chunk; i++) {
          const want = Math.exp(xs[i]!);
          const rel = Math.abs(ys[i]! - want) / want;
          if (!(rel <= worstRel)) [worstRel, worstAt] = [rel, xs[i]!];
        }
      }
    } finally {
      env.heap.release(x);
      env.heap.release(out);
    }
    console.log(`expScale ${backend}: max relative error of e^x ${worstRel.toExponential(3)} at x = ${worstAt}`);
    expect(worstRel, `worst at x = ${worstAt}`).toBeLessThanOrEqual(1.3e-7);
    expect(maxAbs).toBe(88);
  });

  // ---- erf, GELU, SiLU ------------------------------------------------------------------------------
  /** activation(kind) over xs, in chunks through the heap; a new array. */
  function activate(kind: ActivationName, xs: Float32Array): Float32Array {
    const chunk = 1 << 18;
    const x = env.heap.alloc(chunk * 4);
    const out = new Float32Array(xs.length);
    try {
      for (let at = 0; at < xs.length; at += chunk) {
        const part = xs.subarray(at, at + chunk);
        env.heap.floats().set(part, x >>> 2);
        env.k.activation(x, x, part.length, ACTIVATION[kind]);
        out.set(env.heap.view(x, part.length), at);
      }
    } finally {
      env.heap.release(x);
    }
    return out;
  }

  /** 2^22 evenly spaced f32 over [lo, hi]. */
  const sweep = (lo: number, hi: number, points = 1 << 22): Float32Array => Float32Array.from({ length: points }, (_, i) => lo + ((hi - lo) * i) / (points - 1));

  /** A float64 reference computed once for every build (the sweeps are the same). */
  function cachedReference(key: string, make: () => Float64Array): Float64Array {
    let value = cache.get(key) as Float64Array | undefined;
    if (!value) cache.set(key, (value = make()));
    return value;
  }

  it('erf (activation kind 4): within 2e-7 absolute of float64 erf over a dense sweep of [-5, 5], exactly odd, |erf| ≤ 1', () => {
    const xs = sweep(-5, 5);
    const ys = activate('erf', xs);
    const want = cachedReference('sweep erf', () => Float64Array.from(xs, erf64));
    let error = 0, at = 0;
    for (let i = 0; i < xs.length; i++) {
      const e = Math.abs(ys[i]! - want[i]!);
      if (!(e <= error)) [error, at] = [e, xs[i]!];
    }
    let asymmetric = 0, aboveOne = 0;
    for (let i = 0; i < xs.length; i++) {
      if (!Object.is(ys[xs.length - 1 - i], -ys[i]!)) asymmetric++; // the sweep is symmetric about 0
      if (!(Math.abs(ys[i]!) <= 1)) aboveOne++;
    }
    console.log(`erf ${backend}: max absolute error ${error.toExponential(3)} at x = ${at}`);
    expect(error, `worst at x = ${at}`).toBeLessThanOrEqual(2e-7);
    expect(asymmetric).toBe(0);
    expect(aboveOne).toBe(0);
  });

  it('GELU (erf form): max absolute error ≤ 1e-6 against float64 over a dense sweep of [-10, 10]; the tanh form and SiLU too', () => {
    const xs = sweep(-10, 10);
    // [kind, absolute bound, relative bound where |f(x)| ≥ 1e-3]. The GELU forms compute 0.5·x·(1 + erf or tanh),
    // as PyTorch does: 1 + erf/tanh cancels for x ≲ −2, so their relative error grows there while the
    // absolute error stays ≤ 0.5·|x|·(error of erf or tanh). SiLU x/(1 + e^{−x}) is relative-accurate
    // everywhere; its absolute error near x = 10 is the rounding of a result near 10 (ulp 9.5e-7).
    const bounds: Array<[ActivationName, number, number]> = [['gelu', 1e-6, 5e-4], ['geluTanh', 1e-6, 1e-3], ['silu', 1.5e-6, 3e-7]];
    const report: string[] = [];
    for (const [kind, bound, relativeBound] of bounds) {
      const ys = activate(kind, xs);
      const want = cachedReference(`sweep ${kind}`, () => Float64Array.from(xs, ACTIVATIONS64[kind]));
      let error = 0, at = 0, relative = 0;
      for (let i = 0; i < xs.length; i++) {
        const e = Math.abs(ys[i]! - want[i]!);
        if (!(e <= error)) [error, at] = [e, xs[i]!];
        if (Math.abs(want[i]!) >= 1e-3) relative = Math.max(relative, e / Math.abs(want[i]!));
      }
      report.push(`${kind} ${error.toExponential(3)} at x = ${at} (relative ${relative.toExponential(2)} where |f| ≥ 1e-3)`);
      expect(error, `${kind}: worst at x = ${at}`).toBeLessThanOrEqual(bound);
      expect(relative, kind).toBeLessThanOrEqual(relativeBound);
    }
    console.log(`activations ${backend}: max absolute error on [-10, 10]: ${report.join('; ')}`);
  });

  it('activations: the limits at ±Infinity, NaN, signed zeros and huge inputs, in the vector body and the scalar tail', () => {
    const xs = Float32Array.from([Infinity, -Infinity, NaN, 0, -0, 3.4e38, -3.4e38, 1e3, -1e3, 1e-42]);
    const want: Record<ActivationName, number[]> = {
      relu: [Infinity, 0, NaN, 0, 0, 3.4e38, 0, 1e3, 0, 1e-42],
      gelu: [Infinity, 0, NaN, 0, 0, 3.4e38, 0, 1e3, 0, 5e-43],
      geluTanh: [Infinity, 0, NaN, 0, 0, 3.4e38, 0, 1e3, 0, 5e-43],
      silu: [Infinity, 0, NaN, 0, 0, 3.4e38, 0, 1e3, 0, 5e-43],
      erf: [1, -1, NaN, 0, -0, 1, -1, 1, -1, 1.1284e-42],
    };
    for (const kind of Object.keys(want) as ActivationName[]) {
      // at offsets 0..3: each value once in a vector lane and once in the tail
      for (let shift = 0; shift < 4; shift++) {
        const input = new Float32Array(shift + xs.length);
        input.set(xs, shift);
        const got = Array.from(activate(kind, input).subarray(shift));
        const expected = Array.from(Float32Array.from(want[kind]));
        for (let i = 0; i < xs.length; i++) {
          const g = got[i]!, w = expected[i]!;
          // NaN for NaN; zeros, infinities, ±1 and the large values exactly; the subnormal result within 1%
          const ok = Number.isNaN(w) ? Number.isNaN(g) : w === 0 || !Number.isFinite(w) || Math.abs(w) >= 1 ? g === w : Math.abs(g - w) <= 0.01 * Math.abs(w);
          expect(ok, `${kind}(${xs[i]}) = ${g}, want ${w} (offset ${shift})`).toBe(true);
        }
      }
    }
  });

  // ---- norms ----------------------------------------------------------------------------------------
  /** Runs a norm case once: its output and the float64 reference. */
  function runNorm(c: LayerNormCase | RmsNormCase): { got: Float32Array; want: Float64Array; problems: string[] } {
    const p = prepareCase(env, c);
    try {
      const result = p.check();
      return { got: p.outputs().out!, want: p.references().out!, problems: result.problems };
    } finally {
      p.release();
    }
  }

  it('layerNorm: max absolute error ≤ 1e-5 on unit-scale rows of 512 and on rows with a large common offset (x = 1000 + u)', () => {
    const report: string[] = [];
    for (const data of ['unit', 'offset'] as const)
      for (const residual of [false, true])
        for (const affine of [false, true]) {
          const c = makeCase('layerNorm', layerNormDims({ rows: 64, n: 512, residual, weight: affine, bias: affine, data }));
          const { got, want, problems } = runNorm(c);
          expect(problems).toEqual([]);
          let error = 0;
          for (let i = 0; i < got.length; i++) error = Math.max(error, Math.abs(got[i]! - want[i]!));
          report.push(`${data}${residual ? '+residual' : ''}${affine ? '+affine' : ''} ${error.toExponential(2)}`);
          expect(error, describeDims(c)).toBeLessThanOrEqual(1e-5);
        }
    console.log(`layerNorm ${backend}: max absolute error, 64 rows × 512: ${report.join(', ')}`);
  });

  it('layerNorm: a row with a huge offset still normalises (1e4 + u: a one-pass E[x²] − E[x]² would give garbage)', () => {
    const n = 1000;
    const u = uniform(n, 99);
    const x = Float32Array.from(u, (v) => 1e4 + v);
    const c = makeCase('layerNorm', layerNormDims({ rows: 1, n, weight: false, bias: false }));
    const px = env.heap.alloc(n * 4), po = env.heap.alloc(n * 4);
    try {
      env.heap.floats().set(x, px >>> 2);
      env.k.layerNorm(px, n, po, n, 1, n, 0, 0, c.dims.eps, 0, 0);
      const got = env.heap.view(po, n);
      const want = referenceLayerNorm(c.dims, x);
      let error = 0;
      for (let i = 0; i < n; i++) error = Math.max(error, Math.abs(got[i]! - want[i]!));
      console.log(`layerNorm ${backend}: 1e4 + u, n = ${n}: max absolute error ${error.toExponential(2)}`);
      expect(error).toBeLessThanOrEqual(1e-5);
    } finally {
      env.heap.release(px);
      env.heap.release(po);
    }
  });

  it('layerNorm: the fused residual gives the same bits as addInPlace then layerNorm, and in place the same bits as out of place; rmsNorm in place too', () => {
    const rows = 7;
    const failures: string[] = [];
    for (const n of [1, 5, 17, 64, 1000]) {
      const x = uniform(rows * n, n, -2, 2);
      const r = uniform(rows * n, n + 1);
      const w = uniform(n, n + 2, 0.5, 1.5);
      const b = uniform(n, n + 3);
      const bytes = rows * n * 4;
      const [px, pr, pw, pb, p1, p2] = [bytes, bytes, n * 4, n * 4, bytes, bytes].map((size) => env.heap.alloc(size)) as [number, number, number, number, number, number];
      try {
        const f = (): Float32Array => env.heap.floats();
        const eps = Math.fround(1e-5);
        f().set(x, px >>> 2);
        f().set(r, pr >>> 2);
        f().set(w, pw >>> 2);
        f().set(b, pb >>> 2);
        env.k.layerNorm(px, n, p1, n, rows, n, pw, pb, eps, pr, n); // fused, out of place
        const fused = env.heap.view(p1, rows * n).slice();
        f().set(x, p2 >>> 2);
        env.k.addInPlace(p2, pr, rows * n);
        env.k.layerNorm(p2, n, p2, n, rows, n, pw, pb, eps, 0, 0); // unfused, in place
        const unfused = env.heap.view(p2, rows * n).slice();
        const diff = bitDifferences(fused, unfused);
        if (diff.count) failures.push(`layerNorm n=${n}: fused residual differs from addInPlace + layerNorm in ${diff.count} elements (first ${diff.first})`);
        env.k.rmsNorm(px, n, p1, n, rows, n, pw, eps);
        const outOfPlace = env.heap.view(p1, rows * n).slice();
        f().set(x, p2 >>> 2);
        env.k.rmsNorm(p2, n, p2, n, rows, n, pw, eps);
        const rmsDiff = bitDifferences(outOfPlace, env.heap.view(p2, rows * n).slice());
        if (rmsDiff.count) failures.push(`rmsNorm n=${n}: in place differs from out of place in ${rmsDiff.count} elements`);
        expect(Array.from(env.heap.view(px, rows * n))).toEqual(Array.from(x)); // out of place leaves x alone
      } finally {
        for (const p of [px, pr, pw, pb, p1, p2]) env.heap.release(p);
      }
    }
    if (failures.length) expect.fail(failures.join('\n'));
  });

  // ---- the boundary -------------------------------------------------------------------------------
  it('exports exactly the functions of KERNEL_ARITY with their parameter counts, and the tile globals', () => {
    const exports = env.k as unknown as Record<string, unknown>;
    const arity = KERNEL_ARITY as Record<string, number>;
    const globals: string[] = [];
    const problems: string[] = [];
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value === 'function') {
        if (!(name in arity)) problems.push(`function ${name} is exported but not in KERNEL_ARITY`);
        else if (value.length !== arity[name]) problems.push(`${name} takes ${value.length} parameters, KERNEL_ARITY says ${arity[name]}`);
      } else if (value instanceof WebAssembly.Global) globals.push(name);
      else problems.push(`unexpected export ${name}`);
    }
    for (const name of Object.keys(arity)) if (typeof exports[name] !== 'function') problems.push(`${name} is in KERNEL_ARITY but not exported`);
    expect(problems).toEqual([]);
    const tileGlobals = ['GEMM_MR', 'GEMM_NR', 'GEMM_KC', 'GEMM_MC', 'GEMM_DIRECT_M', 'GEMM_NB', 'Q8_BLOCK', 'GEMM_Q8_PACKED_M', 'GEMM_Q8_MC', 'ATTENTION_QB', 'ATTENTION_KB', 'ATTENTION_PW', 'ATTENTION_DIRECT_MAX_LQ', 'ATTENTION_SPLIT_KEYS', 'ATTENTION_PARAMS_BYTES'];
    expect(globals.sort()).toEqual([...tileGlobals].sort());
    for (const name of tileGlobals) {
      const value = (exports[name] as WebAssembly.Global).value as number;
      expect(Number.isInteger(value) && value > 0, `${name} = ${value}`).toBe(true);
    }
    expect(env.k.ATTENTION_PARAMS_BYTES.value).toBe(PARAMS_BYTES);
    expect(ACTIVATION_KINDS).toEqual(ACTIVATION);
  });
});

// ---- the table itself -----------------------------------------------------------------------------
describe('the kernel case table', () => {
  const has = <T>(xs: T[], x: T): boolean => xs.includes(x);

  it('follows the tile constants: other tiles give other edge sizes', () => {
    const tiles: KernelTiles = { gemm: { MR: 6, NR: 12, KC: 96, MC: 60, DIRECT_M: 24, NB: 24 }, q8: { BLOCK: 32, PACKED_M: 6, MC: 40 }, attention: { QB: 8, KB: 64, PW: 8, DIRECT_MAX_LQ: 4, SPLIT_KEYS: 128 } };
    const cases = kernelCases(tiles).filter((c) => c.edge);
    const gemm = cases.filter((c): c is GemmCase => c.kernel === 'gemm').map((c) => c.dims);
    const attention = cases.filter((c): c is AttentionCase => c.kernel === 'attention').map((c) => c.dims);
    expect([...new Set(gemm.map((d) => d.m))].sort((a, b) => a - b)).toEqual([1, 2, 5, 6, 7, 23, 24, 25, 61]);
    for (const n of [1, 11, 12, 13, 49]) expect(has(gemm.map((d) => d.n), n), `n=${n}`).toBe(true);
    for (const k of [95, 96, 97, 195]) expect(has(gemm.map((d) => d.k), k), `k=${k}`).toBe(true);
    expect([...new Set(attention.map((d) => d.lq))].sort((a, b) => a - b)).toEqual([1, 4, 5, 7, 8, 9, 17]);
    expect([...new Set(attention.map((d) => d.lk))].sort((a, b) => a - b)).toEqual([1, 7, 8, 9, 63, 64, 65, 137, 255, 256, 257, 449]) // the last four: around 2·SPLIT_KEYS, and 3·SPLIT_KEYS + KB + 1;
    expect([...new Set(attention.map((d) => d.d))].sort((a, b) => a - b)).toEqual([1, 3, 4, 5, 9, 32, 64]);
  });

  it('covers what the kernels branch on, for the tiles of the first build', async () => {
    const { k } = await kernelsFor(BUILDS[0]!);
    const tiles = kernelTiles(k);
    const { MR, NR, KC, MC, DIRECT_M, NB } = tiles.gemm;
    const { QB, KB, PW, DIRECT_MAX_LQ } = tiles.attention;
    const cases = kernelCases(tiles);
    const edge = cases.filter((c) => c.edge);
    const gemm = edge.filter((c): c is GemmCase => c.kernel === 'gemm').map((c) => c.dims);
    // m × n × k × layout, every combination
    for (const m of [1, 2, MR - 1, MR, MR + 1, DIRECT_M - 1, DIRECT_M, DIRECT_M + 1, MC + 1])
      for (const n of [1, NR - 1, NR, NR + 1, 2 * NB + 1])
        for (const kk of [1, 3, 4, 5, 17])
          for (const t of [0, 1]) expect(gemm.some((d) => d.m === m && d.n === n && d.k === kk && d.transB === t), `gemm ${m}×${n}×${kk} transB=${t}`).toBe(true);
    // bias × accumulate on both paths and layouts; accumulate across the k block
    for (const packed of [false, true])
      for (const t of [0, 1])
        for (const bias of [false, true])
          for (const acc of [false, true])
            expect(gemm.some((d) => (d.m >= DIRECT_M) === packed && d.transB === t && d.bias === bias && d.accumulate === acc && d.k > 0), `packed=${packed} transB=${t} bias=${bias} accumulate=${acc}`).toBe(true);
    for (const kk of [KC - 1, KC, KC + 1, 2 * KC + 3])
      for (const m of [DIRECT_M, MC + 1])
        for (const t of [0, 1]) expect(gemm.some((d) => d.k === kk && d.m === m && d.n === NR + 1 && d.transB === t), `k block ${kk} m=${m} transB=${t}`).toBe(true);
    for (const t of [0, 1]) expect(gemm.some((d) => d.k > KC && d.accumulate && d.transB === t)).toBe(true);
    expect(gemm.some((d) => d.lda > d.k && d.ldc > d.n)).toBe(true);

    for (const kernel of ['attention', 'attentionWeights'] as const) {
      const att = edge.filter((c): c is AttentionCase => c.kernel === kernel).map((c) => c.dims);
      for (const lq of [1, QB - 1, QB, QB + 1, 2 * QB + 1])
        for (const lk of [1, PW - 1, PW, PW + 1, KB - 1, KB, KB + 1, 2 * KB + PW + 1]) {
          for (const d of [1, 3, 4, 5, PW + 1, 64]) expect(att.some((x) => x.lq === lq && x.lk === lk && x.d === d), `${kernel} lq=${lq} lk=${lk} d=${d}`).toBe(true);
          for (const causal of [false, true]) expect(att.some((x) => x.lq === lq && x.lk === lk && x.causal === causal), `${kernel} lq=${lq} lk=${lk} causal=${causal}`).toBe(true);
        }
      expect(att.some((x) => x.lq <= DIRECT_MAX_LQ) && att.some((x) => x.lq > DIRECT_MAX_LQ)).toBe(true);
      expect(att.some((x) => x.dv !== x.d)).toBe(true);
      expect(att.some((x) => x.batch === 2 && x.heads === 2)).toBe(true);
      expect(att.some((x) => x.causal && x.keyLengths !== null)).toBe(true);
      expect(att.some((x) => x.keyLengths?.includes(0))).toBe(true);
      expect(att.some((x) => x.batch === 2 && x.keyLengths?.includes(0) && x.keyLengths.some((l) => l > 0))).toBe(true);
      for (const layout of ['bhld', 'blhd', 'padded'] as const) expect(att.some((x) => x.layout === layout)).toBe(true);
    }
    const softmax = edge.filter((c) => c.kernel === 'softmax');
    for (const mask of ['none', 'row', 'full']) expect(softmax.some((c) => c.kernel === 'softmax' && c.dims.mask === mask && c.dims.visible < c.dims.cols)).toBe(true);

    // The perf cases of the brief, and their flops.
    const perf = cases.filter((c) => c.perf);
    const find = (kernel: KernelName, dims: Record<string, unknown>): KernelCase | undefined =>
      perf.find((c) => c.kernel === kernel && Object.entries(dims).every(([key, v]) => (c.dims as unknown as Record<string, unknown>)[key] === v));
    expect(find('gemm', { m: 256, n: 1536, k: 512, transB: 1 })?.flops).toBe(2 * 256 * 1536 * 512);
    expect(find('gemm', { m: 1, n: 1536, k: 512, transB: 1 })?.flops).toBe(2 * 1536 * 512);
    expect(find('gemm', { m: 512, n: 512, k: 512, transB: 0 })?.flops).toBe(2 * 512 ** 3);
    expect(find('attention', { batch: 1, heads: 8, lq: 256, lk: 256, d: 64, causal: false })?.flops).toBe(4 * 8 * 256 * 256 * 64);
    expect(find('attention', { batch: 1, heads: 1, lq: 1024, lk: 1024, d: 64, causal: true })?.flops).toBe(4 * 64 * ((1024 * 1025) / 2));
    expect(find('attention', { batch: 1, heads: 8, lq: 1, lk: 4096, d: 128 })?.flops).toBe(4 * 8 * 4096 * 128);
    expect(find('attentionWeights', { batch: 1, heads: 8, lq: 256, lk: 256, d: 64 })?.flops).toBe(4 * 8 * 256 * 256 * 64);
    expect(find('softmax', { rows: 256, cols: 1024 })).toBeDefined();
    expect(find('layerNorm', { rows: 256, n: 512, residual: true, weight: true, bias: true })?.flops).toBe(9 * 256 * 512);
    expect(find('activation', { count: 256 * 2048, kind: 'gelu' })?.flops).toBe(5 * 256 * 2048);
    expect(find('swiglu', { count: 256 * 2048 })?.flops).toBe(5 * 256 * 2048);
    expect(find('gemmQ8', { m: 1, n: 1536, k: 576 })?.flops).toBe(2 * 1536 * 576);
    expect(find('quantizeRows16', { rows: 256, k: 576 })?.flops).toBe(3 * 256 * 576);
    for (const bf16 of [0, 1]) {
      expect(find('gemmHalf', { m: 1, n: 1536, k: 576, bf16 })?.flops).toBe(2 * 1536 * 576);
      expect(find('gemmHalf', { m: 256, n: 1536, k: 512, bf16 })?.flops).toBe(2 * 256 * 1536 * 512);
    }
    for (const kvDtype of ['f16', 'q8']) expect(find('attention', { lq: 1, lk: 4096, d: 128, kvDtype })?.flops).toBe(4 * 8 * 4096 * 128);
    expect(perf.length).toBe(24);
    // K and V in f16 and q8: both paths of the fused kernel, the key split, and the append kernels
    const held = edge.filter((c): c is AttentionCase => c.kernel === 'attention' && c.dims.kvDtype !== undefined).map((c) => c.dims);
    for (const kvDtype of ['f16', 'q8'] as const) {
      expect(held.some((x) => x.kvDtype === kvDtype && x.lq <= DIRECT_MAX_LQ) && held.some((x) => x.kvDtype === kvDtype && x.lq > DIRECT_MAX_LQ)).toBe(true);
      expect(held.some((x) => x.kvDtype === kvDtype && x.lq === 1 && x.lk >= 2 * tiles.attention.SPLIT_KEYS)).toBe(true);
      expect(held.some((x) => x.kvDtype === kvDtype && x.d === 64 && x.dv !== x.d)).toBe(true);
    }
    for (const kernel of ['storeRowsF16', 'storeRowsQ8'] as const) expect(edge.some((c) => c.kernel === kernel && c.dims.data === 'special')).toBe(true);

    // norms: every n × rows × affine × residual × eps; weight or bias alone; every layout and data kind
    const ns = [1, 3, 4, 5, 15, 16, 17, 64, 512, 1000];
    const layer = edge.filter((c): c is LayerNormCase => c.kernel === 'layerNorm').map((c) => c.dims);
    for (const n of ns)
      for (const rows of [1, 2, 7])
        for (const affine of [false, true])
          for (const residual of [false, true])
            for (const eps of [1e-5, 1e-6])
              expect(layer.some((d) => d.n === n && d.rows === rows && d.weight === affine && d.bias === affine && d.residual === residual && d.eps === Math.fround(eps)), `layerNorm n=${n} rows=${rows} affine=${affine} residual=${residual} eps=${eps}`).toBe(true);
    for (const n of ns) {
      expect(layer.some((d) => d.n === n && d.weight !== d.bias)).toBe(true);
      expect(layer.some((d) => d.n === n && d.data === 'special' && d.rows === 7)).toBe(true);
    }
    for (const data of ['unit', 'offset', 'small', 'special'] as const) for (const residual of [false, true]) expect(layer.some((d) => d.data === data && d.residual === residual), `layerNorm ${data} residual=${residual}`).toBe(true);
    expect(layer.some((d) => d.inPlace && d.residual) && layer.some((d) => d.ldx > d.n && d.ldo > d.n && d.ldr > d.n && !d.inPlace)).toBe(true);
    const rms = edge.filter((c): c is RmsNormCase => c.kernel === 'rmsNorm').map((c) => c.dims);
    for (const n of ns)
      for (const rows of [1, 2, 7])
        for (const weight of [false, true])
          for (const eps of [1e-5, 1e-6]) expect(rms.some((d) => d.n === n && d.rows === rows && d.weight === weight && d.eps === Math.fround(eps)), `rmsNorm n=${n} rows=${rows} weight=${weight} eps=${eps}`).toBe(true);
    expect(rms.some((d) => d.inPlace) && rms.some((d) => d.ldx > d.n) && rms.some((d) => d.data === 'special')).toBe(true);
    // elementwise: every count 1..37 per kind, special values, in place and not
    for (const kind of Object.keys(ACTIVATION_KINDS))
      for (let count = 1; count <= 37; count++) expect(edge.some((c) => c.kernel === 'activation' && c.dims.kind === kind && c.dims.count === count && c.dims.data === 'mixed'), `${kind} count=${count}`).toBe(true);
    for (const kind of Object.keys(ACTIVATION_KINDS)) for (const inPlace of [false, true]) expect(edge.some((c) => c.kernel === 'activation' && c.dims.kind === kind && c.dims.inPlace === inPlace)).toBe(true);
    for (let count = 1; count <= 37; count++) {
      expect(edge.some((c) => c.kernel === 'swiglu' && c.dims.count === count), `swiglu count=${count}`).toBe(true);
      expect(edge.some((c) => c.kernel === 'addInPlace' && c.dims.count === count), `addInPlace count=${count}`).toBe(true);
    }
    for (const out of ['new', 'gate', 'up']) expect(edge.some((c) => c.kernel === 'swiglu' && c.dims.out === out)).toBe(true);
    // Q8: every n 1…17 and 2·NB + 1 for k of 1, 2, 3 blocks, rows 1, 2, DIRECT_M ± 1; a model width; NaN scales
    for (const [gemmName, quantName] of [['gemmQ8', 'quantizeRows16'], ['gemmQ4', 'quantizeRows4'], ['gemmQ4', 'quantizeRows8']] as const) {
      const q8 = edge.filter((c): c is GemmQ8Case => c.kernel === gemmName).map((c) => c.dims);
      const QB8 = tiles.q8.BLOCK;
      for (const m of [1, 2, DIRECT_M - 1, DIRECT_M, DIRECT_M + 1])
        for (const n of [...Array.from({ length: 17 }, (_, i) => i + 1), 2 * NB + 1])
          for (const kk of [QB8, 2 * QB8, 3 * QB8]) expect(q8.some((d) => d.m === m && d.n === n && d.k === kk), `${gemmName} ${m}×${n}×${kk}`).toBe(true);
      expect(q8.some((d) => d.k === 128 * QB8) && q8.some((d) => d.data === 'special') && q8.some((d) => d.bias && d.accumulate) && q8.some((d) => d.ldc > d.n)).toBe(true);
      const quant = edge.filter((c): c is QuantizeCase => c.kernel === quantName);
      expect(quant.some((c) => c.dims.data === 'special' && c.dims.rows >= 5) && quant.some((c) => c.dims.ldx > c.dims.k)).toBe(true);
    }
    // Q4 rounding: ggml's scale and the scale search, each on special data
    for (const search of [false, true]) expect(edge.some((c) => c.kernel === 'quantizeRows4' && !!c.dims.search === search && c.dims.data === 'special'), `quantizeRows4 search=${search}`).toBe(true);
  });

  it('erf64, the float64 reference of erf / GELU, matches tabulated values (mpmath, 20 digits)', () => {
    const table: Array<[number, number, number]> = [
      // x, erf(x), erfc(x)
      [0.5, 0.52049987781304653768, 0.47950012218695346232],
      [1, 0.84270079294971486934, 0.15729920705028513066],
      [2, 0.99532226501895273416, 0.0046777349810472658379],
      [3, 0.99997790950300141456, 0.000022090496998585441373],
      [-0.25, -0.27632639016823693299, 1.276326390168236933],
      [4.5, 0.99999999980338395585, 1.9661604415428874763e-10],
      [6, 0.99999999999999997848, 2.1519736712498913117e-17],
    ];
    for (const [x, erf, erfc] of table) {
      expect(Math.abs(erf64(x) - erf), `erf(${x})`).toBeLessThanOrEqual(1e-15);
      expect(Math.abs(erfc64(x) - erfc) / erfc, `erfc(${x})`).toBeLessThanOrEqual(2e-13);
    }
    expect(erf64(0)).toBe(0);
    expect(erf64(Infinity)).toBe(1);
    expect(erf64(-Infinity)).toBe(-1);
    expect(erf64(NaN)).toBeNaN();
  });

  it('counts only the live pairs in attention flops (bottom-right causal, key lengths)', () => {
    // Lq 2, Lk 4, causal: query 0 sees keys 0..2, query 1 sees 0..3; key lengths [2]: 2 + 2.
    const c = makeCase('attention', attentionDims({ lq: 2, lk: 4, d: 8, causal: true }));
    expect(c.flops).toBe(4 * 8 * (3 + 4));
    expect(makeCase('attention', attentionDims({ lq: 2, lk: 4, d: 8, causal: true, keyLengths: [2] })).flops).toBe(4 * 8 * 4);
    expect(makeCase('attention', attentionDims({ batch: 2, lq: 2, lk: 4, d: 8, dv: 4, keyLengths: [0, 3] })).flops).toBe(2 * (8 + 4) * 6);
  });
});
