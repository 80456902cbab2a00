import { init, supportedBackends, type AttentionRuntime, type Backend, type InitOptions } from '../src/index.js';
import { uniform } from '../src/reference/random.js';

// The one seeded generator of tests, bench and demo (mulberry32), so failures reproduce.
export { uniform };

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

/** ‖got − want‖₂ / ‖want‖₂ (the model tests' error measure against reference outputs). */
export function normwise(got: ArrayLike<number>, want: readonly number[]): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs ${want.length}`);
  let d = 0, n = 0;
  for (let i = 0; i < want.length; i++) {
    d += (got[i]! - want[i]!) ** 2;
    n += want[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

export const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function tensor(shape: number[], seed: number, lo = -1, hi = 1): { data: Float32Array; shape: number[] } {
  return { data: uniform(product(shape), seed, lo, hi), shape };
}

/**
 * The threads every test runtime uses: the suite runs twice, as vitest projects with
 * WASM_ATTENTION_TEST_THREADS = 1 and 2 (vitest.config.ts), and must pass both ways.
 */
export const TEST_THREADS = Number(process.env.WASM_ATTENTION_TEST_THREADS ?? '1');

/**
 * init() with the suite's thread count (options may override it). With threads, every call that
 * has two or more work items is split, however small (the runtime keeps small calls on one thread).
 */
export async function initRuntime(options: InitOptions = {}): Promise<AttentionRuntime> {
  const rt = await init({ threads: TEST_THREADS, ...options });
  if (rt.threads > 1) rt.parallelMinFlops = 0;
  return rt;
}

/** Every build this engine runs (the test workers get --experimental-wasm-relaxed-simd). */
export const BUILDS: Backend[] = supportedBackends();

const runtimes = new Map<Backend, Promise<AttentionRuntime>>();
export function runtimeFor(backend: Backend): Promise<AttentionRuntime> {
  let rt = runtimes.get(backend);
  if (!rt) runtimes.set(backend, (rt = initRuntime({ backend })));
  return rt;
}
