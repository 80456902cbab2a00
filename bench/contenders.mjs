// The contenders: this runtime (one per build the engine runs, on one thread, then each build on
// 2 threads and on the machine's core count), the plain-JS reference, then the peers (bench/peers/). A contender is
//   { id, label, group: 'ours' | 'reference' | 'peer', threads, version?, status: 'ok' | reason,
//     prepare(workload, inputs) → Promise<{ run(), result(), dispose() }> }
// `run()` is what is timed (sync, or async for peers whose API is); `result()` gives the output
// in the workload's layout to check against the reference. A contender that cannot do a workload
// throws `Unsupported` from prepare.
import { availableParallelism, cpus } from 'node:os';
import { BACKENDS, init, reference, supportedBackends } from '../dist/index.js';
import { PEER_SPECS, peerContenders } from './peers/index.mjs';

export { Unsupported } from './errors.mjs';
import { Unsupported } from './errors.mjs';

// ---- this runtime -----------------------------------------------------------------------------
/** A runtime of ours: `wasm-<build>` on one thread, `wasm-<build>-<N>t` ("… <N>T") on N. */
export function ours(rt) {
  const n = rt.threads;
  return {
    id: n > 1 ? `wasm-${rt.backend}-${n}t` : `wasm-${rt.backend}`,
    label: n > 1 ? `wasm-attention ${rt.backend} ${n}T` : `wasm-attention ${rt.backend}`,
    group: 'ours',
    threads: n,
    status: 'ok',
    runtime: rt,
    close: () => rt.dispose(),
    async prepare(w, inp) {
      const made = [];
      const keep = (t) => (made.push(t), t);
      const dispose = () => {
        for (const t of made) t.dispose();
      };
      switch (w.kind) {
        case 'sdpa': {
          const s = w.shape;
          // The variant options (window, ALiBi, T5 bias, masks) as they are; a mask's data is
          // copied into Wasm memory per call (the option takes a typed array, not a tensor).
          const opts = { causal: s.causal, scale: s.scale, ...inp.options };
          // Resident inputs: what is timed is the kernel plus the copy of the output. A decoder step
          // (resident 'kv') copies its one query in per call, as a decode loop would.
          // Keys that are also the values (seq2seq encoder states) are one resident tensor.
          // Grouped-query workloads: k / v [B, Hk, Lk, D] as they are (query head h reads kv head h / (H / Hk)).
          const k = keep(rt.tensor(inp.k.data, inp.k.shape));
          const v = inp.v === inp.k ? k : keep(rt.tensor(inp.v.data, inp.v.shape));
          const q = w.resident === 'kv' ? inp.q : keep(rt.tensor(inp.q.data, inp.q.shape));
          const run = () => rt.scaledDotProductAttention(q, k, v, opts).output;
          return { run, result: run, dispose };
        }
        case 'bahdanau': {
          const attn = rt.bahdanauAttention(inp.weights);
          const memory = attn.bind(inp.hs);
          const run = () => memory.step(inp.h).context;
          return { run, result: run, dispose: () => (memory.dispose?.(), attn.dispose?.()) };
        }
        case 'mha': {
          const mha = rt.multiHeadAttention(inp.config);
          const x = keep(rt.tensor(inp.x.data, inp.x.shape));
          const run = () => mha.forward(x).output;
          return { run, result: run, dispose: () => (dispose(), mha.dispose?.()) };
        }
        case 'decode': {
          const { e, t } = w.shape;
          const mha = rt.multiHeadAttention(inp.config);
          const cache = mha.createCache({ batch: 1, maxLength: t + 1 });
          for (let i = 0; i < t; i++) mha.step({ data: inp.x.data.subarray(i * e, (i + 1) * e), shape: [1, e] }, cache);
          const last = { data: inp.x.data.slice(t * e), shape: [1, e] };
          // Each timed step decodes token T+1 again: forget it, then step.
          const run = () => (cache.truncate(t), mha.step(last, cache));
          return { run, result: run, dispose: () => (cache.dispose(), mha.dispose?.()) };
        }
        case 'encoder': {
          // The layer's weights resident (made once), src resident: the forward plus its output copy.
          const layer = rt.transformerEncoderLayer(inp.config);
          const x = keep(rt.tensor(inp.x.data, inp.x.shape));
          const run = () => layer.forward(x);
          return { run, result: run, dispose: () => (dispose(), layer.dispose()) };
        }
        case 'decoder-step': {
          // The layer made once, the memory bound once (its cross-attention keys and values projected
          // at bind), the cache filled with the first T tokens, untimed. Each timed call decodes
          // token T+1 again: truncate(T) forgets it, then one bound.step.
          const { e, t } = w.shape;
          const layer = rt.transformerDecoderLayer(inp.config);
          const bound = layer.bind(inp.memory);
          const cache = layer.createCache({ batch: 1, maxLength: t + 1 });
          const free = () => (cache.dispose(), bound.dispose(), layer.dispose());
          try {
            for (let i = 0; i < t; i++) bound.step({ data: inp.tgt.data.subarray(i * e, (i + 1) * e), shape: [1, e] }, cache);
            const last = { data: inp.tgt.data.slice(t * e), shape: [1, e] };
            const run = () => (cache.truncate(t), bound.step(last, cache));
            // A steady decode loop allocates nothing: Wasm bytes in use before and after 10⁴ steps.
            const steps = DECODER_ALLOCATION_STEPS;
            const before = rt.memoryStats().bytesInUse;
            for (let i = 0; i < steps; i++) run();
            const after = rt.memoryStats().bytesInUse;
            return { run, result: run, dispose: free, allocation: { steps, before, after } };
          } catch (error) {
            free();
            throw error;
          }
        }
      }
      throw new Unsupported(`no adapter for ${w.kind}`);
    },
  };
}

/** The thread counts of our threaded contenders: 2 and the machine's cores, deduplicated; none on one core. */
export function threadCounts(cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length) {
  if (cores < 2) return [];
  return [...new Set([2, Math.min(cores, 16)])].sort((a, b) => a - b);
}

/** Decoder steps between the two readings of memoryStats().bytesInUse (T3's allocation line). */
export const DECODER_ALLOCATION_STEPS = 10_000;

// ---- the plain-JS reference: the baseline of every ratio -------------------------------------
export const plainJs = {
  id: 'plain-js',
  label: 'plain JS reference',
  group: 'reference',
  threads: 1,
  status: 'ok',
  async prepare(w, inp) {
    switch (w.kind) {
      case 'sdpa':
      case 'mha':
        return { run: () => w.reference(inp), result: () => w.reference(inp) };
      case 'bahdanau': {
        const memory = reference.bahdanauAttention(inp.weights).bind(inp.hs);
        const run = () => memory.step(inp.h).context;
        return { run, result: run };
      }
      case 'decode':
        return decodeReference(w, inp);
      case 'encoder': {
        // The module made once (it keeps the weights); timed: forward on the whole layer.
        const layer = reference.transformerEncoderLayer(inp.config);
        const run = () => layer.forward(inp.x);
        return { run, result: run, note: 'the whole layer in float64 loops (not fewer rows scaled up); at up to seconds per call it gets few samples (the samples column)' };
      }
      case 'decoder-step': {
        // The twin has no cache and no step: timed is its causal forward over all T+1 tokens (the
        // step's output is the last row); the row says so, its ratio is not a per-step one.
        const { e, t } = w.shape;
        const layer = reference.transformerDecoderLayer(inp.config);
        const run = () => layer.forward(inp.tgt, inp.memory, { causal: true });
        return { run, result: () => run().slice(t * e), note: `recomputes all ${t + 1} positions (the twin has no cache): its causal forward over the ${t + 1}-token target in float64 loops, the step's output being the last row; its ratio is not per step` };
      }
    }
    throw new Unsupported(`no adapter for ${w.kind}`);
  },
};

// A plain-JS decode step with a cache (the reference has no cache): project the new token, append
// its key and value, attend over the T+1 cached positions per head, project out. float64 sums.
function decodeReference(w, inp) {
  const { e, heads, t } = w.shape;
  const dh = e / heads;
  const W = inp.config.weights;
  const [Win, bIn, Wo, bo] = [W.in_proj_weight.data, W.in_proj_bias.data, W['out_proj.weight'].data, W['out_proj.bias'].data];
  const linear = (x, Wt, b, row0, n, out) => {
    for (let o = 0; o < n; o++) {
      let sum = b[row0 + o];
      for (let i = 0; i < e; i++) sum += Wt[(row0 + o) * e + i] * x[i];
      out[o] = sum;
    }
  };
  const K = new Float32Array((t + 1) * e);
  const V = new Float32Array((t + 1) * e);
  for (let p = 0; p < t; p++) {
    const xp = inp.x.data.subarray(p * e, (p + 1) * e);
    linear(xp, Win, bIn, e, e, K.subarray(p * e));
    linear(xp, Win, bIn, 2 * e, e, V.subarray(p * e));
  }
  const x = inp.x.data.subarray(t * e);
  const q = new Float64Array(e);
  const attn = new Float64Array(e);
  const s = new Float64Array(t + 1);
  const run = () => {
    linear(x, Win, bIn, 0, e, q);
    linear(x, Win, bIn, e, e, K.subarray(t * e));
    linear(x, Win, bIn, 2 * e, e, V.subarray(t * e));
    attn.fill(0);
    for (let h = 0; h < heads; h++) {
      let max = -Infinity;
      for (let j = 0; j <= t; j++) {
        let dot = 0;
        for (let c = h * dh; c < (h + 1) * dh; c++) dot += q[c] * K[j * e + c];
        s[j] = dot / Math.sqrt(dh);
        if (s[j] > max) max = s[j];
      }
      let sum = 0;
      for (let j = 0; j <= t; j++) sum += s[j] = Math.exp(s[j] - max);
      for (let j = 0; j <= t; j++) for (let c = h * dh; c < (h + 1) * dh; c++) attn[c] += (s[j] / sum) * V[j * e + c];
    }
    const out = new Float32Array(e);
    linear(attn, Wo, bo, 0, e, out);
    return out;
  };
  return { run, result: run };
}

/**
 * The contenders of a run, in report order, and the ones left out of it.
 * `peersDir`: where the peer package lives, or false to leave the peers out (--no-peers);
 * `only`: contender ids or id prefixes to keep (--contenders).
 * → { selected: [contender], leftOut: [{ id, label, group, threads, reason: '--no-peers' | '--contenders <ids>' }] }
 * Peers are loaded only when at least one of them is selected.
 */
export async function contenders({ peersDir, only } = {}) {
  const picked = (id) => !only || only.some((o) => id === o || id.startsWith(o));
  const list = [];
  const have = supportedBackends();
  // Explicitly one thread: init()'s default ('auto') would start one per core.
  for (const backend of BACKENDS) {
    if (have.includes(backend)) list.push(ours(await init({ backend, threads: 1 })));
    else {
      const hint = backend === 'relaxed-simd' ? ' (Node 20 needs --experimental-wasm-relaxed-simd)' : '';
      list.push({ id: `wasm-${backend}`, label: `wasm-attention ${backend}`, group: 'ours', threads: 1, status: `not supported by this engine${hint}` });
    }
  }
  // Then each build on 2 threads and on every core (one count when they agree; none on one core).
  // Only the contenders picked are started: each holds its workers until the run ends.
  for (const n of threadCounts()) {
    for (const backend of BACKENDS.filter((b) => have.includes(b))) {
      const id = `wasm-${backend}-${n}t`;
      const label = `wasm-attention ${backend} ${n}T`;
      if (!picked(id)) {
        list.push({ id, label, group: 'ours', threads: n, status: 'ok' }); // left out below, never started
        continue;
      }
      const rt = await init({ backend, threads: n });
      if (rt.threads === n) list.push(ours(rt));
      else {
        rt.dispose();
        list.push({ id, label, group: 'ours', threads: n, status: rt.threadsReason });
      }
    }
  }
  list.push(plainJs);
  const leftOut = [];
  const byChoice = `--contenders ${only?.join(',')}`;
  const describe = (c, reason) => ({ id: c.id, label: c.label, group: c.group, threads: c.threads, reason });
  const selected = list.filter((c) => picked(c.id) || (leftOut.push(describe(c, byChoice)), false));
  if (peersDir === false) leftOut.push(...PEER_SPECS.map((s) => describe({ ...s, group: 'peer' }, '--no-peers')));
  else if (!PEER_SPECS.some((s) => picked(s.id))) leftOut.push(...PEER_SPECS.map((s) => describe({ ...s, group: 'peer' }, byChoice)));
  else {
    for (const peer of await peerContenders(peersDir)) {
      if (picked(peer.id)) selected.push(peer);
      else (peer.close?.(), leftOut.push(describe(peer, byChoice)));
    }
  }
  return { selected, leftOut };
}
