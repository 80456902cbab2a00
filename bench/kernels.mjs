// `npm run bench -- --kernels`: the perf cases of bench/kernel-cases.mjs (the table the kernel test
// harness runs) on the RAW kernels of every build the engine runs. Each case's output is first
// checked on every build against the float64 reference the test uses (the same tolerance: normalised
// error ≤ 1e-5, no write outside the output); a failed check throws and nothing is timed. Then the
// builds are timed with tinybench in interleaved rounds (build after build, the order rotating each
// round, the warmup in the first), so machine drift lands on all of them alike. Prints one table:
// case, dims, then per build the median time and GFLOP/s (flops as the table defines them).
import { init, reference, supportedBackends } from '../dist/index.js';
import { loadKernels } from '../dist/engine/load.js';
import { Heap } from '../dist/engine/memory.js';
import { writeAttentionParams, writePartials } from '../dist/engine/attention-params.js';
import { failureMessage, kernelCases, prepareCase, shortDims } from './kernel-cases.mjs';
import { timeSlice } from './timing.mjs';

const quantile = (sorted, p) => {
  if (sorted.length === 0) return NaN;
  const x = (sorted.length - 1) * p;
  const lo = Math.floor(x);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (x - lo);
};


const formatTime = (ms) => (ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`);

/** One build: its raw kernels on a fresh memory, the allocator over it, and its tile constants. */
async function buildEnv(backend, cache) {
  const rt = await init({ backend, threads: 1 });
  const memory = new WebAssembly.Memory({ initial: 256 }); // 16 MiB; the heap grows it on demand
  const k = await loadKernels(backend, memory);
  return { backend, tiles: rt.tiles, k, heap: new Heap(memory, k.heapBase()), writeAttentionParams, writePartials, uniform: reference.uniform, cache };
}

/** A failed check: its message lists every case and build that failed. */
export class KernelCheckError extends Error {}

/**
 * Runs the perf cases (`filter`: names starting with one of these; `progress(total)` → tick(label)). → { builds, rows: [{ case, name, dims, flops, results: { [build]: { median, p75, samples, gflops, error } } }] }
 * (times in ms). Throws KernelCheckError when a build's output does not match the reference.
 */
export async function runKernelBench({ rounds = 5, sliceMs = 400, warmupMs = 300, tiny = false, filter, progress: makeProgress = () => () => {} } = {}) {
  const cache = new Map(); // the reference of a case, computed once for every build
  const envs = [];
  for (const backend of supportedBackends()) envs.push(await buildEnv(backend, cache));
  const table = (env) => kernelCases(env.tiles, { tiny }).filter((c) => c.perf && (!filter || filter.some((f) => c.name.toLowerCase().startsWith(f.toLowerCase()))));
  const cases = table(envs[0]);
  const progress = makeProgress(cases.length * envs.length * (1 + rounds));
  const rows = [];
  for (const [index, c] of cases.entries()) {
    const prepared = [];
    const failures = [];
    try {
      for (const env of envs) {
        // The same case from this build's own table (perf sizes do not depend on the tiles).
        const mine = table(env)[index];
        progress(`${c.name} check ${env.backend}`);
        const p = prepareCase(env, mine);
        prepared.push({ env, p, samples: [] });
        const result = p.check();
        if (!result.ok) failures.push(failureMessage(mine, env.backend, env.tiles, result));
        prepared.at(-1).error = result.error;
      }
      if (failures.length) throw new KernelCheckError(`kernel check failed, nothing timed:\n${failures.join('\n')}`);
      for (let r = 0; r < rounds; r++) {
        const order = prepared.map((_, i) => prepared[(i + r) % prepared.length]);
        for (const entry of order) {
          progress(`${c.name} round ${r + 1}/${rounds} ${entry.env.backend}`);
          entry.samples.push(...(await timeSlice(entry.p.run, { time: sliceMs, warmupTime: r === 0 ? warmupMs : 0 })));
        }
      }
    } finally {
      for (const { p } of prepared) p.release();
    }
    const results = {};
    for (const { env, samples, error } of prepared) {
      const sorted = [...samples].sort((a, b) => a - b);
      const median = quantile(sorted, 0.5);
      results[env.backend] = { median, p75: quantile(sorted, 0.75), samples: sorted.length, gflops: c.flops / median / 1e6, error };
    }
    rows.push({ kernel: c.kernel, name: c.name, dims: shortDims(c), flops: c.flops, results });
  }
  return { builds: envs.map((e) => e.backend), tiles: envs[0].tiles, rows };
}

/** The table: case, dims, then per build the median and GFLOP/s. */
export function kernelTable({ builds, rows }) {
  const nameWidth = Math.max(4, ...rows.map((r) => r.name.length));
  const dimsWidth = Math.max(4, ...rows.map((r) => r.dims.length));
  const cell = 22;
  const head1 = `${'case'.padEnd(nameWidth)}  ${'dims'.padEnd(dimsWidth)}${builds.map((b) => `  ${b.padStart(cell)}`).join('')}`;
  const head2 = `${''.padEnd(nameWidth)}  ${''.padEnd(dimsWidth)}${builds.map(() => `  ${'median'.padStart(11)}${'GFLOP/s'.padStart(11)}`).join('')}`;
  const lines = rows.map((r) => {
    const cells = builds.map((b) => {
      const x = r.results[b];
      return `  ${formatTime(x.median).padStart(11)}${x.gflops.toFixed(2).padStart(11)}`;
    });
    return `${r.name.padEnd(nameWidth)}  ${r.dims.padEnd(dimsWidth)}${cells.join('')}`;
  });
  return [head1, head2, ...lines].join('\n');
}
