// One memory-scaling run: one contender, one length N (plain attention, or a variant for the
// memory check of the variants: `variant` { alibi } or { causal, window }), in a fresh process (so
// peak memory is this run's alone). Reports the time of the one call, the runtime's Wasm memory for us, the
// peer's own figure where it has one, and the process's peak RSS.
import { readFileSync } from 'node:fs';
import { init } from '../dist/index.js';
import { PEER_SPECS, makePeer } from './peers/index.mjs';
import { scalingWorkload } from './workloads.mjs';

const { contender, n, d, peersDir, variant } = JSON.parse(process.argv[2]);
// This process's peak RSS (VmHWM). Not process.resourceUsage().maxRSS: on Linux that keeps the
// peak of the parent's image this process was forked from.
const peakRss = () => {
  try {
    return Number(readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m)[1]) * 1024;
  } catch {
    return process.resourceUsage().maxRSS * 1024;
  }
};
const send = (msg) => process.send(msg);
try {
  let c;
  let rt;
  if (contender.startsWith('wasm-')) {
    rt = await init({ backend: contender.slice(5), threads: 1 });
    c = (await import('./contenders.mjs')).ours(rt);
  } else if (contender === 'plain-js') c = (await import('./contenders.mjs')).plainJs;
  else c = await makePeer(PEER_SPECS.find((s) => s.id === contender), peersDir);
  const w = scalingWorkload(n, d, variant);
  const inputs = w.makeInputs();
  rt?.resetPeakMemory();
  const prepared = await c.prepare(w, inputs);
  send({ phase: 'running' });
  const t0 = performance.now();
  const out = await prepared.run();
  const ms = performance.now() - t0;
  let finite = out.length === n * d;
  for (let i = 0; finite && i < out.length; i += 97) finite = Number.isFinite(out[i]);
  if (!finite) throw new Error('output has the wrong length or is not finite');
  const stats = rt?.memoryStats();
  send({
    phase: 'done',
    ms,
    wasmPeakBytes: stats?.peakBytes,
    wasmCapacityBytes: stats?.capacityBytes,
    peer: c.memory?.(),
    maxRssBytes: peakRss(),
  });
} catch (error) {
  // First line, without build-machine source paths (onnxruntime's errors carry them).
  send({ phase: 'error', error: String(error?.message ?? error).split('\n')[0].replace(/\/\S+\/(onnxruntime\/\S+:\d+)/g, '$1').slice(0, 200) });
}
process.exit(0);
