import { describe, expect, it } from 'vitest';
import asc from 'assemblyscript/asc';
import { BACKENDS, init, supportedBackends } from '../src/index.js';
import { initRuntime } from './helpers.js';

describe('backend selection', () => {
  it('runs every build on this machine, relaxed SIMD included when Node has the flag', () => {
    // Node 20 validates relaxed SIMD only with --experimental-wasm-relaxed-simd, which vitest.config passes.
    expect(supportedBackends()).toEqual([...BACKENDS]);
  });

  it('picks the best supported build and says why', async () => {
    const rt = await init();
    expect(rt.backend).toBe(supportedBackends()[0]);
    expect(rt.backendReason).toMatch(/best build/);
  });

  it.each(BACKENDS)('can be forced to %s', async (backend) => {
    const rt = await initRuntime({ backend });
    expect(rt.backend).toBe(backend);
    expect(rt.backendReason).toBe('forced by options.backend');
  });

  it('rejects an unknown backend with a TypeError naming the option', async () => {
    await expect(init({ backend: 'gpu' as never })).rejects.toThrow(TypeError);
    await expect(init({ backend: 'gpu' as never })).rejects.toThrow(/options.backend.*'relaxed-simd', 'simd', 'scalar'.*"gpu"/);
  });

  it('fails clearly when the build file cannot be read', async () => {
    await expect(init({ backend: 'simd', wasm: new URL('file:///nonexistent/simd.wasm') })).rejects.toThrow(/cannot read file:\/\/\/nonexistent\/simd.wasm/);
  });

  it('surfaces a kernel abort as an Error carrying its message', async () => {
    // A module with the kernels' imports whose heapBase() aborts, compiled here and loaded
    // through the same path as the real builds.
    const { binary, stderr } = await asc.compileString('export function heapBase(): usize { abort("kernel says no"); return 0; }', {
      runtime: 'stub',
      importMemory: true,
    });
    expect(binary, stderr.toString()).toBeInstanceOf(Uint8Array);
    await expect(init({ backend: 'scalar', wasm: binary! })).rejects.toThrow(/abort: kernel says no/);
  });
});
