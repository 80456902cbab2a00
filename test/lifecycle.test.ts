// What happens to memory that users drop without dispose(), and how a runtime gives its memory back.
// (The test workers run with --expose-gc, see vitest.config.ts.)
import { describe, expect, it } from 'vitest';
import { init } from '../src/index.js';
import { tensor, initRuntime } from './helpers.js';

/** Runs the collector until finalizers have had their turn. */
async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the tests with --expose-gc (vitest.config.ts passes it)');
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function mhaWeights(e: number) {
  return { in_proj_weight: tensor([3 * e, e], 1), in_proj_bias: tensor([3 * e], 2), 'out_proj.weight': tensor([e, e], 3), 'out_proj.bias': tensor([e], 4) };
}

describe('dropped without dispose()', () => {
  it('caches, bound memories, tensors and modules are freed when collected, and counted', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const E = 64;
    const mha = rt.multiHeadAttention({ embedDim: E, numHeads: 4, weights: mhaWeights(E) });
    const luong = rt.luongAttention({ score: 'dot' });
    const x = tensor([1, E], 5);
    const base = rt.memoryStats();
    const drop = (): void => {
      for (let i = 0; i < 40; i++) {
        const cache = mha.createCache({ batch: 1, maxLength: 1024 }); // 512 KiB of K/V
        mha.step(x, cache);
        luong.bind(tensor([256, E], i)).step(tensor([E], i)); // a bound memory
        rt.tensor(new Float32Array(4096), [4096]); // a tensor
        rt.multiHeadAttention({ embedDim: E, numHeads: 4, weights: mhaWeights(E) }); // a module
      }
    };
    drop();
    const grown = rt.memoryStats();
    expect(grown.bytesInUse - base.bytesInUse).toBeGreaterThan(40 * 512 * 1024);
    await collect();
    const after = rt.memoryStats();
    expect(after.rescued).toBeGreaterThanOrEqual(40 * 4);
    // everything dropped came back (what stays is the workspace's scratch, e.g. an attention score
    // tile of 16 × 512 floats per thread, and the live modules)
    expect(after.bytesInUse).toBeLessThanOrEqual(base.bytesInUse + 128 * 1024);
    // in a loop, memory stays bounded instead of growing with every dropped cache
    for (let round = 0; round < 3; round++) {
      drop();
      await collect();
    }
    expect(rt.memoryStats().capacityBytes).toBeLessThanOrEqual(grown.capacityBytes);
    // what is disposed explicitly is never counted as rescued
    const counted = rt.memoryStats().rescued;
    const c = mha.createCache({ batch: 1, maxLength: 8 });
    c.dispose();
    await collect();
    expect(rt.memoryStats().rescued).toBe(counted);
  });

  it('a bound memory keeps the encoder-state tensor it reads in place alive', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const hs = tensor([1, 32, 8], 7);
    const h = tensor([1, 8], 8);
    const luong = rt.luongAttention({ score: 'dot' });
    const memory = luong.bind(rt.tensor(hs.data, hs.shape)); // the tensor is referenced only by the memory
    const first = memory.step(h).context;
    await collect();
    rt.tensor(new Float32Array(32 * 8).fill(9), [32, 8]); // would reuse the block if it had been freed
    expect([...memory.step(h).context]).toEqual([...first]);
  });
});

describe('runtime.dispose()', () => {
  it('lets the Wasm memory be collected, and what the runtime made throws afterwards', async () => {
    let rt = await initRuntime({ backend: 'simd', initialMemoryMiB: 64 });
    const memory = new WeakRef(rt.memory);
    const t = rt.tensor(new Float32Array([1, 2, 3]), [3]);
    const mha = rt.multiHeadAttention({ embedDim: 8, numHeads: 2, weights: mhaWeights(8) });
    const cache = mha.createCache({ batch: 1, maxLength: 4 });
    rt.dispose();
    rt.dispose(); // idempotent
    expect(rt.disposed).toBe(true);
    expect(t.disposed).toBe(true);
    expect(() => t.data).toThrow(/runtime .*disposed/);
    expect(() => rt.scaledDotProductAttention(tensor([2, 4], 1), tensor([2, 4], 2), tensor([2, 4], 3))).toThrow(/runtime was disposed; call init\(\) for a new one/);
    expect(() => mha.step(tensor([1, 8], 1), cache)).toThrow(/disposed/);
    expect(() => rt.memoryStats()).toThrow(/runtime was disposed/);
    t.dispose(); // still fine to call
    // the memory is collectable although the tensor, the module and the cache are still referenced
    rt = await initRuntime({ backend: 'simd' });
    await collect();
    expect(memory.deref()).toBeUndefined();
    expect([t, mha, cache].length).toBe(3);
    expect(rt.scaledDotProductAttention(tensor([2, 4], 1), tensor([2, 4], 2), tensor([2, 4], 3)).output.length).toBe(8);
  });
});
