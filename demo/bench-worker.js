// The in-browser benchmark, in a Web Worker so the page stays responsive while it runs.
// Each shape is timed on every Wasm build asked for and on the plain-JS reference, with the
// inputs passed as plain Float32Arrays (copied into Wasm memory and out again on every call,
// as a user's code would do): after a correctness check and a warm-up, interleaved rounds of
// samples, and the median of each. Every build runs on one thread (threads: 1); the best build
// runs again on N threads (the page's count, or 2 when the page runs on one), whose output must be
// bit-identical to its one-thread output. Workers may block in Atomics.wait, so here the calling
// thread sleeps while the others finish their parts (a page's main thread spins instead).
import { init, reference, supportedBackends } from '../dist/index.js';

/** The shapes timed; `flops` counts the live (i, j) pairs (half of them when causal). */
const SHAPES = [
  { id: 'self', name: 'self-attention B1 H8 L256 D64', b: 1, h: 8, lq: 256, lk: 256, d: 64, causal: false },
  { id: 'causal', name: 'causal B1 H8 L256 D64', b: 1, h: 8, lq: 256, lk: 256, d: 64, causal: true },
  { id: 'short', name: 'short B1 H4 L64 D32', b: 1, h: 4, lq: 64, lk: 64, d: 32, causal: false },
  { id: 'step', name: 'decoder step B1 H8 Lq1 Lk512 D64', b: 1, h: 8, lq: 1, lk: 512, d: 64, causal: false },
];

const flops = (s) => 4 * s.b * s.h * s.lq * s.lk * s.d * (s.causal ? 0.5 : 1);

/** Calls per timed sample so that a sample lasts ≥ 2 ms (browsers coarsen performance.now() to 0.1 ms without cross-origin isolation). */
function batchSize(fn) {
  let batch = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) fn();
    if (performance.now() - t >= 2 || batch >= 1 << 16) return batch;
    batch *= 2;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

self.onmessage = async ({ data }) => {
  if (data.type !== 'run') return;
  try {
    const { minRounds = 5, minTimeMs = 600, maxRounds = 60 } = data.timing ?? {};
    const builds = data.backend && data.backend !== 'auto' ? [data.backend] : supportedBackends();
    const runtimes = [];
    for (const backend of builds) runtimes.push(await init({ backend, threads: 1 }));
    // 1 thread vs N: the best build again, on N threads, when this worker may share memory.
    const n = data.threads > 1 ? data.threads : 2;
    const best = runtimes[0];
    let threaded = null;
    if (self.crossOriginIsolated !== true) {
      self.postMessage({ type: 'threads', threads: 0, crossOriginIsolated: false, reason: 'this worker is not cross-origin isolated (serve the page with Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy headers)' });
    } else {
      const rt = await init({ backend: best.backend, threads: n });
      if (rt.threads > 1) {
        threaded = rt;
        self.postMessage({ type: 'threads', threads: rt.threads, crossOriginIsolated: true, impl: `wasm ${rt.backend} ${rt.threads}T`, base: `wasm ${best.backend}`, reason: rt.threadsReason });
      } else {
        rt.dispose();
        self.postMessage({ type: 'threads', threads: 0, crossOriginIsolated: true, reason: rt.threadsReason });
      }
    }
    const shapes = SHAPES.filter((s) => !data.shapes || data.shapes.includes(s.id));
    const results = [];
    const progress = (i, fraction, label) => self.postMessage({ type: 'progress', done: i + fraction, total: shapes.length, label });
    for (const [index, s] of shapes.entries()) {
      // Deterministic inputs, uniform in [-1, 1]: the package's generator, the one the tests and benchmarks use.
      const q = { data: reference.uniform(s.b * s.h * s.lq * s.d, 1), shape: [s.b, s.h, s.lq, s.d] };
      const k = { data: reference.uniform(s.b * s.h * s.lk * s.d, 2), shape: [s.b, s.h, s.lk, s.d] };
      const v = { data: reference.uniform(s.b * s.h * s.lk * s.d, 3), shape: [s.b, s.h, s.lk, s.d] };
      const options = { causal: s.causal };
      progress(index, 0, `${s.name}: checking and warming up`);
      const want = reference.scaledDotProductAttention(q, k, v, options).output;
      const impls = [
        { name: 'plain JS', op: () => reference.scaledDotProductAttention(q, k, v, options) },
        ...runtimes.map((rt) => ({ name: `wasm ${rt.backend}`, op: () => rt.scaledDotProductAttention(q, k, v, options) })),
        ...(threaded ? [{ name: `wasm ${threaded.backend} ${threaded.threads}T`, op: () => threaded.scaledDotProductAttention(q, k, v, options) }] : []),
      ];
      for (const impl of impls.slice(1)) {
        const got = impl.op().output;
        let err = 0;
        for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
        if (!(err <= 1e-5)) throw new Error(`${impl.name} on ${s.name}: max abs error ${err} against the reference`);
      }
      if (threaded) {
        const one = best.scaledDotProductAttention(q, k, v, options).output;
        const many = threaded.scaledDotProductAttention(q, k, v, options).output;
        const differ = one.findIndex((x, i) => !Object.is(x, many[i]));
        if (differ >= 0) throw new Error(`${threaded.threads} threads on ${s.name}: output[${differ}] ${many[differ]} differs from one thread's ${one[differ]}`);
      }
      for (const impl of impls) {
        impl.batch = batchSize(impl.op);
        const warm = performance.now();
        while (performance.now() - warm < 100) impl.op(); // JIT, caches
        impl.samples = [];
      }
      // Interleaved rounds (one sample of each, in a rotating order), so that whatever else the
      // machine does slows every contender alike and the ratios stay fair.
      const t0 = performance.now();
      let round = 0;
      while (round < maxRounds && (round < minRounds || performance.now() - t0 < minTimeMs)) {
        for (let j = 0; j < impls.length; j++) {
          const impl = impls[(round + j) % impls.length];
          const t = performance.now();
          for (let i = 0; i < impl.batch; i++) impl.op();
          impl.samples.push((performance.now() - t) / impl.batch);
        }
        round++;
        const fraction = Math.min(round / minRounds, (performance.now() - t0) / minTimeMs, 1);
        progress(index, fraction * 0.999, `${s.name}: round ${round}`);
      }
      const jsMs = median(impls[0].samples);
      for (const impl of impls) {
        const medianMs = median(impl.samples);
        const result = { shape: s.id, shapeName: s.name, impl: impl.name, medianMs, samples: impl.samples.length, batch: impl.batch, gflops: flops(s) / medianMs / 1e6, vsJs: jsMs / medianMs };
        results.push(result);
        self.postMessage({ type: 'result', result });
      }
      progress(index, 1, `${s.name}: done`);
    }
    threaded?.dispose();
    self.postMessage({ type: 'done', results, builds, threads: threaded?.threads ?? 1 });
  } catch (error) {
    self.postMessage({ type: 'error', message: String(error && error.stack ? error.stack : error) });
  }
};
