import { defineConfig } from 'vitest/config';

// The whole suite runs twice: with runtimes on one thread and on two (test/helpers.ts reads
// WASM_ATTENTION_TEST_THREADS), so every result is checked with and without workers.
const threads = (n: number) => ({
  extends: true as const,
  test: { name: `threads-${n}`, env: { WASM_ATTENTION_TEST_THREADS: String(n) } },
});

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Node 20 runs the relaxed-SIMD build only behind this flag (Node 22+ by default), so the
    // workers get it and every build the machine can run is tested.
    pool: 'forks',
    execArgv: ['--experimental-wasm-relaxed-simd', '--expose-gc'],
    testTimeout: 60_000,
    projects: [threads(1), threads(2)],
  },
});
