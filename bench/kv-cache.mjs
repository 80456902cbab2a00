// `node --experimental-wasm-relaxed-simd bench/kv-cache.mjs [memory|speed|all] [context]`: the KV
// cache dtypes on a SmolLM2-135M-shaped Llama (30 layers, 9 heads / 3 kv heads of 64, E 576,
// MLP 1536, vocab 49152, tied embeddings; random f32 weights built in memory, as bench/q8-lm.mjs).
//  memory: the longest context whose cache fits in wasm32's 4 GiB next to the weights, per kvDtype:
//    computed from the byte layout (bytes per position × positions + what is resident + a decode
//    step's temporaries), then checked by allocating that cache at once (createCache({ maxLength }))
//    and decoding a token with it, and by failing to allocate 1% more.
//  speed: decode tokens/s with `context` (default 4096) positions held, each dtype in its own cache
//    of the one model, steps alternating between the dtypes (CPU time per step, median), one thread.
import { init, loadModel } from '../dist/index.js';
import { SMOL, smolObjects } from './smol-objects.mjs';

const MODE = process.argv[2] ?? 'all';
const CONTEXT = Number(process.argv[3] ?? 4096);
const LAYERS = 30;
const { KV, D, V } = SMOL;
const DTYPES = ['f32', 'f16', 'q8'];
/** wasm32's limit as the runtime's allocator enforces it: 65535 pages of 64 KiB. */
const MAX_BYTES = 65535 * 65536;
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;


const token = (i) => (i * 7919) % V;

async function memory() {
  const objects = smolObjects(LAYERS, 1 << 20);
  console.log(`wasm32 limit ${mib(MAX_BYTES)}; LM1 shape: ${LAYERS} layers, ${KV} kv heads × ${D}`);
  for (const kvDtype of DTYPES) {
    const rt = await init({ threads: 1 });
    const lm = await loadModel(rt, objects, { kind: 'causal-lm', kvDtype });
    // a decode step's temporaries (activations, logits, scratch) above what is resident
    const probe = lm.createCache({ maxLength: 64 });
    lm.forward([token(1)], { cache: probe });
    rt.resetPeakMemory();
    lm.forward([token(2)], { cache: probe });
    const stepTemps = rt.memoryStats().peakBytes - rt.memoryStats().bytesInUse;
    const resident = rt.memoryStats().bytesInUse - probe.bytes;
    probe.dispose();
    const perPosition = lm.cacheBytesPerPosition();
    // each layer allocates 2 (f32, f16) or 4 (q8) blocks, rounded up to 16 bytes
    const blocks = LAYERS * (kvDtype === 'q8' ? 4 : 2);
    const longest = Math.floor((MAX_BYTES - resident - stepTemps - 16 * blocks) / perPosition);
    console.log(`${kvDtype}: ${perPosition} bytes per position (all layers, K and V${kvDtype === 'q8' ? ', scales' : ''}); resident ${mib(resident)} (weights ${mib(lm.weightBytes.f32)}), a decode step's temporaries ${mib(stepTemps)} → longest context ${longest} positions (cache ${mib(longest * perPosition)})`);
    // check: the largest cache that allocates at once (bisection), and a token decoded with it
    const fits = (n) => {
      try {
        lm.createCache({ maxLength: n }).dispose();
        return true;
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        return false;
      }
    };
    let lo = Math.floor(longest * 0.95), hi = longest + 1; // fits(lo), and hi is the first size known not to
    if (fits(hi)) console.log(`  ${hi} positions fit: the computation is short`);
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (fits(mid)) lo = mid;
      else hi = mid;
    }
    const cache = lm.createCache({ maxLength: lo });
    lm.forward([token(3)], { cache });
    console.log(`  allocated: ${lo} positions (${mib(cache.bytes)}) at once, and decoded a token (Wasm memory ${mib(rt.memoryStats().capacityBytes)}); ` +
      `${lo + 1} do not fit: ${longest - lo} positions (${mib((longest - lo) * perPosition)}) below the computation, the allocator's free blocks between the weights (too small for a layer's K or V) and its static data`);
    cache.dispose();
    lm.dispose();
    rt.dispose();
  }
}

async function speed() {
  const rt = await init({ threads: 1 });
  const lm = await loadModel(rt, smolObjects(LAYERS, CONTEXT + 64), { kind: 'causal-lm' });
  const prompt = Array.from({ length: CONTEXT }, (_, i) => token(i));
  const cpu = (fn) => { const t0 = process.cpuUsage(); fn(); const t = process.cpuUsage(t0); return (t.user + t.system) / 1e3; };
  const caches = {}, logits = {}, times = {};
  for (const kvDtype of DTYPES) {
    caches[kvDtype] = lm.createCache({ maxLength: CONTEXT + 32, kvDtype });
    const ms = cpu(() => {
      for (let i = 0; i < CONTEXT; i += 512) logits[kvDtype] = lm.forward(prompt.slice(i, i + 512), { cache: caches[kvDtype] }).logits.data;
    });
    times[kvDtype] = [];
    console.log(`${kvDtype}: prefilled ${CONTEXT} positions in ${(ms / 1e3).toFixed(1)} s CPU (cache ${mib(caches[kvDtype].bytes)})`);
  }
  const argmax = (x) => x.reduce((b, v, i) => (v > x[b] ? i : b), 0);
  const STEPS = 16;
  for (let s = 0; s < STEPS; s++) {
    const next = argmax(logits.f32); // every cache fed the f32 cache's greedy token
    for (const kvDtype of DTYPES) times[kvDtype].push(cpu(() => (logits[kvDtype] = lm.forward([next], { cache: caches[kvDtype] }).logits.data)));
  }
  const med = (x) => [...x].sort((a, b) => a - b)[x.length >> 1];
  const cacheRead = (kvDtype) => caches[kvDtype].bytes * (CONTEXT + STEPS / 2) / (CONTEXT + 32);
  console.log(`decode with ${CONTEXT} positions held (median of ${STEPS} steps, CPU time, one thread, ${rt.backend} build):`);
  for (const kvDtype of DTYPES) {
    const ms = med(times[kvDtype]);
    console.log(`  ${kvDtype}: ${ms.toFixed(1)} ms per token, ${(1000 / ms).toFixed(1)} tokens/s (cache read per token ${mib(cacheRead(kvDtype))})`);
  }
  for (const c of Object.values(caches)) c.dispose();
  lm.dispose();
  rt.dispose();
}

if (MODE === 'memory' || MODE === 'all') await memory();
if (MODE === 'speed' || MODE === 'all') await speed();
