import { init, supportedBackends, type AttentionRuntime, type Backend } from '../src/index.js';
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

export const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function tensor(shape: number[], seed: number, lo = -1, hi = 1): { data: Float32Array; shape: number[] } {
  return { data: uniform(product(shape), seed, lo, hi), shape };
}

/** Every build this engine runs (the test workers get --experimental-wasm-relaxed-simd). */
export const BUILDS: Backend[] = supportedBackends();

const runtimes = new Map<Backend, Promise<AttentionRuntime>>();
export function runtimeFor(backend: Backend): Promise<AttentionRuntime> {
  let rt = runtimes.get(backend);
  if (!rt) runtimes.set(backend, (rt = init({ backend })));
  return rt;
}
