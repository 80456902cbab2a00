import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { init, type AttentionRuntime } from '../src/index.js';
import { tensor } from './helpers.js';

// Every thread count must give the same bits: the work is cut by the problem, never by the
// threads, and each kernel's results do not depend on how its work range is split.
const COUNTS = [1, 2, 3] as const; // 3 threads on a 2-core machine must work too

async function runtimes(backend: 'simd' | 'scalar' = 'simd'): Promise<AttentionRuntime[]> {
  const rts = await Promise.all(COUNTS.map((threads) => init({ backend, threads })));
  for (const rt of rts) rt.parallelMinFlops = 0; // split every call that has two work items
  return rts;
}

function expectSameBits(results: Float32Array[], what: string): void {
  const [first, ...rest] = results;
  for (const [i, r] of rest.entries()) {
    expect(r.length, what).toBe(first!.length);
    const a = new Uint32Array(first!.buffer, first!.byteOffset, first!.length);
    const b = new Uint32Array(r.buffer, r.byteOffset, r.length);
    let diff = -1;
    for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) { diff = j; break; }
    expect(diff, `${what}: threads ${COUNTS[i + 1]} differs from 1 thread at element ${diff}`).toBe(-1);
  }
}

function mhaWeights(e: number, seed: number) {
  const s = 1 / Math.sqrt(e);
  return {
    in_proj_weight: tensor([3 * e, e], seed, -s, s),
    in_proj_bias: tensor([3 * e], seed + 1, -s, s),
    'out_proj.weight': tensor([e, e], seed + 2, -s, s),
    'out_proj.bias': tensor([e], seed + 3, -s, s),
  };
}

describe('init({ threads })', () => {
  it('uses the count asked for and says why', async () => {
    const [one, two, three] = await runtimes();
    expect([one.threads, two!.threads, three!.threads]).toEqual([1, 2, 3]);
    expect(one.threadsReason).toBe('1 thread: options.threads is 1');
    expect(three!.threadsReason).toBe('3 threads: options.threads asked for 3');
    expect(two!.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(one.memory.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    for (const rt of [one, two, three]) rt!.dispose();
  });

  it("'auto' (the default) takes the cores the platform reports, at most 8", async () => {
    const { availableParallelism } = await import('node:os');
    const rt = await init({ backend: 'simd' });
    const want = Math.min(8, availableParallelism());
    expect(rt.threads).toBe(want);
    expect(rt.threadsReason).toMatch(want > 1 ? new RegExp(`^${want} threads: os.availableParallelism\\(\\) reports \\d+ cores`) : /^1 thread: /);
    rt.dispose();
  });

  it('rejects counts it cannot use, naming the option', async () => {
    for (const bad of [0, 17, 1.5, -2]) {
      await expect(init({ threads: bad })).rejects.toThrow(new RangeError(`options.threads must be 'auto' or an integer in [1, 16], received ${bad}`));
    }
    await expect(init({ threads: 'max' as never })).rejects.toThrow(/options.threads must be 'auto' or an integer in \[1, 16\], received "max"/);
  });

  it('falls back to one thread, saying why, when the build cannot use shared memory', async () => {
    const { readFile } = await import('node:fs/promises');
    const plain = await readFile(new URL('../build/simd.wasm', import.meta.url));
    const rt = await init({ backend: 'simd', threads: 2, wasm: plain });
    expect(rt.threads).toBe(1);
    expect(rt.threadsReason).toMatch(/^1 thread: threads could not start: .*\(options.wasm must be a -shared build for threads\); pass threads: 1 to skip trying$/);
    expect(rt.matmul({ data: [1, 2, 3, 4], shape: [2, 2] }, { data: [1, 0, 0, 1], shape: [2, 2] })).toEqual(new Float32Array([1, 2, 3, 4]));
    rt.dispose();
  });
});

describe('threads 1, 2 and 3 give the same bits', () => {
  it('scaled dot-product attention: plain, causal, key lengths, Lq ≠ Lk, weights, GQA, windows', async () => {
    const rts = await runtimes();
    for (const [b, h, lq, lk, d] of [[2, 3, 70, 70, 32], [1, 4, 33, 257, 64], [2, 2, 129, 40, 16]] as const) {
      const q = tensor([b, h, lq, d], lq);
      const k = tensor([b, h, lk, d], lk + 1);
      const v = tensor([b, h, lk, d], lk + 2);
      const kv1 = { k: tensor([b, 1, lk, d], 3), v: tensor([b, 1, lk, d], 4) };
      for (const options of [{}, { causal: true }, { keyLengths: b === 2 ? [lk, 5] : [lk - 3] }, { causal: true, returnWeights: true }, { window: [8, 0] as [number, number] }]) {
        const outs = rts.map((rt) => rt.scaledDotProductAttention(q, k, v, options));
        expectSameBits(outs.map((o) => o.output), `sdpa ${[b, h, lq, lk, d]} ${JSON.stringify(options)}`);
        if ('returnWeights' in options) expectSameBits(outs.map((o) => o.weights!), 'weights');
      }
      expectSameBits(rts.map((rt) => rt.scaledDotProductAttention(q, kv1.k, kv1.v, { causal: true }).output), 'GQA');
    }
    rts.forEach((rt) => rt.dispose());
  });

  it('decode steps over thousands of keys (Lq = 1)', async () => {
    const rts = await runtimes();
    for (const [h, lk] of [[1, 4096], [8, 3000], [2, 5000]] as const) {
      const q = tensor([1, h, 1, 64], 1);
      const k = tensor([1, h, lk, 64], 2);
      const v = tensor([1, h, lk, 64], 3);
      expectSameBits(rts.map((rt) => rt.scaledDotProductAttention(q, k, v).output), `decode h=${h} lk=${lk}`);
    }
    rts.forEach((rt) => rt.dispose());
  });

  it('matmul (both layouts, bias, odd sizes)', async () => {
    const rts = await runtimes();
    for (const [m, k, n] of [[1, 64, 1536], [7, 33, 100], [64, 512, 512], [300, 96, 48]] as const) {
      const a = tensor([m, k], m);
      const bT = tensor([n, k], n);
      const bias = tensor([n], 5);
      expectSameBits(rts.map((rt) => rt.matmul(a, bT, { transposeB: true, bias })), `matmul NT ${m}×${k}×${n}`);
      const b = tensor([k, n], n + 1);
      expectSameBits(rts.map((rt) => rt.matmul(a, b)), `matmul NN ${m}×${k}×${n}`);
    }
    rts.forEach((rt) => rt.dispose());
  });

  it('element-wise activations and SwiGLU over element ranges (odd counts, special values)', async () => {
    const rts = await runtimes();
    for (const count of [65537, 100003]) {
      const x = tensor([count], count, -12, 12);
      x.data[5] = NaN; x.data[40000] = Infinity; x.data[count - 1] = -Infinity;
      for (const kind of ['relu', 'gelu', 'geluTanh', 'silu'] as const) expectSameBits(rts.map((rt) => rt.activation(x, kind)), `${kind} over ${count}`);
    }
    // rows × intermediate = 70,000 and 66,003 elements in the silu(gate)·up step
    for (const [rows, h, f] of [[70, 32, 1000], [161, 24, 410]] as const) {
      const weights = { 'gate_proj.weight': tensor([f, h], 1), 'up_proj.weight': tensor([f, h], 2), 'down_proj.weight': tensor([h, f], 3) };
      const x = tensor([rows, h], rows);
      expectSameBits(rts.map((rt) => rt.swigluFeedForward({ hiddenSize: h, intermediateSize: f, weights }).forward(x)), `swigluFeedForward ${rows}×${f}`);
    }
    rts.forEach((rt) => rt.dispose());
  });

  it('Q8 and Q4 products: few rows and many rows split by columns, from two row blocks on by rows', async () => {
    const rts = await runtimes();
    const [h, f] = [64, 96];
    const weights = { 'gate_proj.weight': tensor([f, h], 4), 'up_proj.weight': tensor([f, h], 5), 'down_proj.weight': tensor([h, f], 6) };
    for (const dtype of ['q8', 'q4'] as const) {
      for (const rows of [1, 3, 70, 256, 300, 1100]) {
        const x = tensor([rows, h], rows + 9);
        expectSameBits(rts.map((rt) => rt.swigluFeedForward({ hiddenSize: h, intermediateSize: f, weights, dtype }).forward(x)), `swigluFeedForward ${dtype} ${rows} rows`);
      }
    }
    rts.forEach((rt) => rt.dispose());
  });

  it('multi-head attention forward and 500 KV-cache steps', async () => {
    const rts = await runtimes();
    const [e, heads] = [64, 8];
    const config = { embedDim: e, numHeads: heads, weights: mhaWeights(e, 7) };
    const mhas = rts.map((rt) => rt.multiHeadAttention(config));
    const x = tensor([2, 75, e], 11);
    expectSameBits(mhas.map((m) => m.forward(x, undefined, undefined, { causal: true }).output), 'MHA forward');
    const caches = mhas.map((m) => m.createCache({ batch: 1, maxLength: 500 }));
    for (let t = 0; t < 500; t++) {
      const token = tensor([1, e], 1000 + t);
      expectSameBits(mhas.map((m, i) => m.step(token, caches[i]!)), `KV step ${t}`);
    }
    rts.forEach((rt) => rt.dispose());
  });
});

describe('threads under load and faults', () => {
  it('back-to-back small jobs with different chunk counts never mix (3000 calls, same bits as one thread)', async () => {
    // A thread that finished one job's claims must not claim from the next job's fields: jobs
    // alternate between 2 and 16 column panels, each a few microseconds, so claim loops overlap.
    const [one, two] = await runtimes();
    const a = tensor([3, 64], 1);
    const shapes = [32, 1536, 48, 512].map((n, i) => ({ w: tensor([n, 64], 10 + i), bias: tensor([n], 20 + i) }));
    const want = shapes.map((s) => one!.matmul(a, s.w, { transposeB: true, bias: s.bias }));
    for (let i = 0; i < 3000; i++) {
      const s = i % shapes.length;
      const got = two!.matmul(a, shapes[s]!.w, { transposeB: true, bias: shapes[s]!.bias });
      if (got.some((x, j) => x !== want[s]![j])) expectSameBits([want[s]!, got], `call ${i}`);
    }
    one!.dispose();
    two!.dispose();
  });

  it('10^4 mixed calls: no deadlock, no memory growth', async () => {
    const rt = await init({ backend: 'simd', threads: 2 });
    const e = 64;
    const mha = rt.multiHeadAttention({ embedDim: e, numHeads: 4, weights: mhaWeights(e, 3) });
    const cache = mha.createCache({ batch: 1, window: 32 });
    const big = { q: tensor([1, 2, 128, 32], 1), k: tensor([1, 2, 128, 32], 2), v: tensor([1, 2, 128, 32], 3) };
    const small = { q: tensor([1, 1, 4, 8], 4), k: tensor([1, 1, 4, 8], 5), v: tensor([1, 1, 4, 8], 6) };
    const a = tensor([128, 64], 7);
    const x = tensor([1, 32, e], 8);
    let before = rt.memoryStats();
    for (let i = 0; i < 10_000; i++) {
      // Even calls are split (every work size), odd ones use the default cut-off.
      rt.parallelMinFlops = i % 2 ? 2 ** 21 : 0;
      switch (i % 5) {
        case 0: rt.scaledDotProductAttention(big.q, big.k, big.v, { causal: true }); break;
        case 1: rt.scaledDotProductAttention(small.q, small.k, small.v); break;
        case 2: rt.matmul(a, a, { transposeB: true }); break;
        case 3: mha.step(tensor([1, e], i), cache); break;
        case 4: mha.forward(x); break;
      }
      if (i === 99) before = rt.memoryStats();
    }
    const after = rt.memoryStats();
    expect(after.bytesInUse).toBe(before.bytesInUse);
    expect(after.capacityBytes).toBe(before.capacityBytes);
    mha.dispose();
    rt.dispose();
  });

  it('a worker killed during a call: the call throws (never hangs) or is whole, and the next calls are whole', async () => {
    const one = await init({ backend: 'simd', threads: 1 });
    const rt = await init({ backend: 'simd', threads: 2 });
    const pool = rt.threadPool!;
    const q = tensor([1, 4, 1024, 64], 1);
    const k = tensor([1, 4, 1024, 64], 2);
    const v = tensor([1, 4, 1024, 64], 3);
    const want = one.scaledDotProductAttention(q, k, v).output;
    let killed = 0;
    pool.afterFirstChunk = () => {
      pool.afterFirstChunk = undefined;
      killed++;
      pool.handles[0]!.terminate();
    };
    const t0 = performance.now();
    let outcome: string;
    try {
      const got = rt.scaledDotProductAttention(q, k, v).output;
      expectSameBits([want, got], 'call during which a worker was killed');
      outcome = 'whole';
    } catch (error) {
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/did not finish on a worker thread within \d+ ms \(the worker stopped or was killed\); the call's output is incomplete/);
      outcome = 'threw';
    }
    expect(killed).toBe(1);
    expect(performance.now() - t0).toBeLessThan(20_000);
    // Until the replacement is up the other threads take its chunks; results stay whole either way.
    expectSameBits([want, rt.scaledDotProductAttention(q, k, v).output], `first call after (${outcome})`);
    for (let i = 0; i < 100 && (pool.replaced === 0 || pool.handles[0] === undefined); i++) await new Promise((r) => setTimeout(r, 50));
    expect(pool.replaced).toBe(1);
    expect(pool.handles[0]).toBeDefined();
    expectSameBits([want, rt.scaledDotProductAttention(q, k, v).output], 'call on the replacement');
    rt.dispose();
    one.dispose();
  });

  it('a Node process that disposed its runtime exits by itself; one that did not, too (workers are unref’d)', () => {
    const index = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    for (const dispose of [true, false]) {
      const script = `
        const { init } = await import(${JSON.stringify(index)});
        const rt = await init({ backend: 'simd', threads: 3 });
        const x = { data: new Float32Array(256 * 256).fill(0.5), shape: [256, 256] };
        rt.matmul(x, x);
        ${dispose ? 'rt.dispose();' : ''}
        console.log('threads', rt.threads);`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(run.error, run.stderr).toBeUndefined();
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe('threads 3');
    }
  });

  it('memory growth during threaded calls keeps every thread on the grown memory', async () => {
    const one = await init({ backend: 'simd', threads: 1 });
    const rt = await init({ backend: 'simd', threads: 2, initialMemoryMiB: 1 });
    rt.parallelMinFlops = 0;
    const before = rt.memoryStats().capacityBytes;
    const q = tensor([1, 2, 2048, 64], 1);
    const got = rt.scaledDotProductAttention(q, q, q, { causal: true }).output;
    expect(rt.memoryStats().capacityBytes).toBeGreaterThan(before);
    expectSameBits([one.scaledDotProductAttention(q, q, q, { causal: true }).output, got], 'after growth');
    rt.dispose();
    one.dispose();
  });
});
