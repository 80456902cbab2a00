import { describe, expect, it } from 'vitest';
import { init, reference } from '../src/index.js';
import { maxAbsDiff, tensor, initRuntime } from './helpers.js';

describe('memory', () => {
  it('hands out 16-byte aligned tensors and reuses freed blocks', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const a = rt.zeros([3]);
    const b = rt.zeros([5]);
    expect(a.ptr % 16).toBe(0);
    expect(b.ptr % 16).toBe(0);
    expect(b.ptr - a.ptr).toBe(16);
    const pa = a.ptr;
    a.dispose();
    const c = rt.zeros([2]);
    expect(c.ptr).toBe(pa); // the freed block is reused
    b.dispose();
    c.dispose();
    expect(rt.memoryStats().bytesInUse).toBe(0);
    expect(rt.memoryStats().allocations).toBe(0);
  });

  it('grows in the middle of use; views made after growth see the data, resident tensors keep theirs', async () => {
    const rt = await initRuntime({ backend: 'simd', initialMemoryMiB: 1 });
    const { q, k, v } = { q: tensor([1, 2, 8, 16], 1), k: tensor([1, 2, 8, 16], 2), v: tensor([1, 2, 8, 16], 3) };
    const kt = rt.tensor(k.data, k.shape);
    const stale = kt.data;
    const before = rt.memoryStats().capacityBytes;
    const big = rt.zeros([4 * 1024 * 1024]); // 16 MiB: forces growth
    expect(rt.memoryStats().capacityBytes).toBeGreaterThan(before);
    if (rt.threads === 1) expect(stale.length).toBe(0); // a view taken before growth is detached...
    else expect([...stale]).toEqual([...k.data]); // (a shared memory's old views stay valid, over the old size)
    expect([...kt.data]).toEqual([...k.data]); // ...but `data` is re-made from the current buffer
    const out = rt.scaledDotProductAttention(q, kt, v).output;
    expect(maxAbsDiff(out, reference.scaledDotProductAttention(q, k, v).output)).toBeLessThanOrEqual(1e-5);
    big.dispose();
    kt.dispose();
  });

  it('reports bytes in use, peak and capacity', async () => {
    const rt = await initRuntime({ backend: 'scalar' });
    const base = rt.memoryStats().bytesInUse;
    rt.resetPeakMemory();
    const t = rt.zeros([1000]);
    expect(rt.memoryStats().bytesInUse - base).toBe(4000);
    t.dispose();
    const s = rt.memoryStats();
    expect(s.bytesInUse).toBe(base);
    expect(s.peakBytes - base).toBe(4000);
    expect(s.capacityBytes).toBeGreaterThanOrEqual(16 * 2 ** 20);
  });

  it('throws a RangeError before the wasm32 limit and keeps working', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    expect(() => rt.zeros([1024, 1024, 1024, 2])).toThrow(RangeError); // 8 GiB
    expect(() => rt.zeros([1024, 1024, 1024, 2])).toThrow(/wasm32 limit/);
    const t = rt.tensor([1, 2, 3], [3]);
    expect([...t.data]).toEqual([1, 2, 3]);
    t.dispose();
  });

  it('scope() disposes the temporaries it made and keeps what it returns', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const outside = rt.zeros([4]);
    const kept = rt.scope(() => {
      rt.zeros([10]);
      const q = rt.tensor(new Float32Array(16).fill(1), [4, 4]);
      return rt.scaledDotProductAttention(q, q, q, { resident: true }).output;
    });
    expect(kept.disposed).toBe(false);
    expect(outside.disposed).toBe(false);
    expect(rt.memoryStats().allocations).toBe(4); // outside, kept, the op scratch block and the attention parameter block
    expect(() => rt.scope(() => { rt.zeros([10]); throw new Error('boom'); })).toThrow('boom');
    expect(rt.memoryStats().allocations).toBe(4);
    kept.dispose();
    outside.dispose();
  });

  it('keeps a flat footprint over 10^5 calls', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const { q, k, v } = { q: tensor([1, 1, 4, 8], 1), k: tensor([1, 1, 6, 8], 2), v: tensor([1, 1, 6, 8], 3) };
    rt.scaledDotProductAttention(q, k, v);
    const after1 = rt.memoryStats();
    for (let i = 0; i < 100_000; i++) rt.scaledDotProductAttention(q, k, v, { causal: (i & 1) === 1 });
    const after = rt.memoryStats();
    expect(after.bytesInUse).toBe(after1.bytesInUse);
    expect(after.allocations).toBe(after1.allocations);
    expect(after.capacityBytes).toBe(after1.capacityBytes);
    expect(after.peakBytes).toBe(after1.peakBytes);
  });

  it('a module whose weights cannot all be copied in frees the ones it had copied', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    // The heap is internal; failing its nth allocation stands in for running out of Wasm memory.
    const heap = (rt as unknown as { ws: { heap: { alloc(bytes: number): number } } }).ws.heap;
    const alloc = heap.alloc.bind(heap);
    const H = 6;
    const modules: [string, () => unknown][] = [
      ['bahdanauAttention', () => rt.bahdanauAttention({
        'Wa.weight': tensor([H, H], 1), 'Wa.bias': tensor([H], 2), 'Ua.weight': tensor([H, H], 3),
        'Ua.bias': tensor([H], 4), 'Va.weight': tensor([1, H], 5), 'Va.bias': tensor([1], 6),
      })],
      ['luongAttention concat', () => rt.luongAttention({ score: 'concat', Wa: tensor([H, 2 * H], 7), va: tensor([H], 8), ba: tensor([H], 9), Wc: tensor([H, 2 * H], 10) })],
      ['multiHeadAttention', () => rt.multiHeadAttention({ embedDim: H, numHeads: 2, weights: {
        in_proj_weight: tensor([3 * H, H], 11), in_proj_bias: tensor([3 * H], 12), 'out_proj.weight': tensor([H, H], 13), 'out_proj.bias': tensor([H], 14),
      } })],
    ];
    for (const [name, make] of modules) {
      for (let failAt = 1; failAt <= 4; failAt++) {
        const before = rt.memoryStats();
        let calls = 0;
        heap.alloc = (bytes) => {
          if (++calls === failAt) throw new RangeError('out of Wasm memory (test)');
          return alloc(bytes);
        };
        try {
          expect(make, `${name}, allocation ${failAt} fails`).toThrow(/out of Wasm memory \(test\)/);
        } finally {
          heap.alloc = alloc;
        }
        expect(rt.memoryStats().bytesInUse, `${name}, allocation ${failAt} fails`).toBe(before.bytesInUse);
        expect(rt.memoryStats().allocations).toBe(before.allocations);
      }
    }
  });
});
