import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Node 20 runs the relaxed-SIMD build only behind this flag (Node 22+ by default), so the
    // workers get it and every build the machine can run is tested.
    pool: 'forks',
    execArgv: ['--experimental-wasm-relaxed-simd', '--expose-gc'],
    testTimeout: 60_000,
  },
});
