// `npm run bench`: this runtime (every build the engine runs) against the plain-JS reference and
// the libraries users pick today, on the seq2seq, self-attention, multi-head, causal and long
// workloads, the attention variants, the transformer encoder layers and a decoder-layer step (bench/workloads.mjs), then
// memory scaling in fresh processes. Prints a table per
// workload and a summary in plain words (each workload against the plain-JS reference and each peer
// that ran, causal vs full cost, memory scaling); `--json` writes bench/results/<date>-<machine>.json
// (with the summary), the Markdown tables and the charts.
//
// Contenders left out (--no-peers, --contenders) get no rows: one line at the top names them.
// Selected peers that are not installed or fail keep their row, with the reason.
//
//   --quick            short run (fewer, shorter rounds; memory scaling to N 8192)
//   --filter S2,S4     workloads whose id starts with one of these (V: the variants, which bring the
//                      plain workload they are compared with: S3 for V2–V5; memory: "memory",
//                      memory scaling and the variants' memory check; T: the transformer encoder layers and the decoder step T3)
//   --json             write the JSON record and the SVG charts (to --out, default bench/results)
//   --contenders ids   only these contenders (prefixes: wasm, plain-js, tfjs, ort-web, ort-node)
//   --no-peers         leave the peers out; --no-install: do not install them when missing
//   --no-memory        skip memory scaling and the variants' memory check; --memory-timeout s (90), --memory-cap MiB (8192)
//   --tiny             tiny shapes (the bench's own test)
//   --kernels          only the per-kernel bench: perf cases of bench/kernel-cases.mjs, raw kernels, every build (--filter: case names)
// `node bench/write.mjs <record.json>` re-renders the Markdown and the charts of a recorded run.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { contenders as allContenders } from './contenders.mjs';
import { memoryScaling, variantMemory } from './memory.mjs';
import { DEFAULT_PEERS_DIR, PEER_SPECS, peersInstalled } from './peers/index.mjs';
import { environment, leftOutLines, machineSlug, memoryTable, summarize, summaryText, textTable, unavailableLines, variantMemoryTable } from './report.mjs';
import { writeOutputs } from './write.mjs';
import { progressBar, runWorkload } from './runner.mjs';
import { kernelTable, runKernelBench } from './kernels.mjs';
import { scalingLengths, unavailable, variantMemoryRuns, workloads } from './workloads.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    tiny: { type: 'boolean', default: false },
    filter: { type: 'string' },
    contenders: { type: 'string' },
    json: { type: 'boolean', default: false },
    out: { type: 'string', default: join(HERE, 'results') },
    machine: { type: 'string' },
    'no-peers': { type: 'boolean', default: false },
    'no-install': { type: 'boolean', default: false },
    'peers-dir': { type: 'string', default: DEFAULT_PEERS_DIR },
    'no-memory': { type: 'boolean', default: false },
    'memory-timeout': { type: 'string', default: '90' },
    'memory-cap': { type: 'string', default: '8192' },
    'no-progress': { type: 'boolean', default: false },
    kernels: { type: 'boolean', default: false },
  },
});
const list = (s) => s?.split(',').map((x) => x.trim()).filter(Boolean);
const filters = list(args.filter);
const peersDir = args['no-peers'] ? false : resolve(args['peers-dir']);

// ---- settings ------------------------------------------------------------------------------------
const settings = args.tiny
  ? { rounds: 1, sliceMs: 5, warmupMs: 5 }
  : args.quick
    ? { rounds: 2, sliceMs: 150, warmupMs: 250 }
    : { rounds: 5, sliceMs: 400, warmupMs: 300 };

// ---- --kernels: the per-kernel bench alone (no peers, no memory scaling) ------------------------
if (args.kernels) {
  const machine = environment();
  console.log(`wasm-attention kernels — ${machine.machine.cpu} (${machine.machine.cores} cores), Node ${machine.node}${machine.execArgv.length ? ` ${machine.execArgv.join(' ')}` : ''}, ${machine.date.slice(0, 10)}`);
  let meter;
  try {
    const progress = (total) => (meter = progressBar(total, { enabled: !args['no-progress'] })).tick;
    const run = await runKernelBench({ ...settings, tiny: args.tiny, filter: filters, progress });
    meter?.done();
    const t = run.tiles;
    console.log(`\nRaw kernels, every build; each output checked against the float64 reference first (normalised error ≤ 1e-5).`);
    console.log(`Tiles: gemm MR=${t.gemm.MR} NR=${t.gemm.NR} KC=${t.gemm.KC} MC=${t.gemm.MC} DIRECT_M=${t.gemm.DIRECT_M} NB=${t.gemm.NB}; attention QB=${t.attention.QB} KB=${t.attention.KB} PW=${t.attention.PW} DIRECT_MAX_LQ=${t.attention.DIRECT_MAX_LQ}`);
    console.log(`Median of ${settings.rounds} interleaved round${settings.rounds === 1 ? "" : "s"} of ${settings.sliceMs} ms per build; GFLOP/s = flops / median (attention: live pairs only; softmax: 5 per element).\n`);
    console.log(kernelTable(run));
  } catch (error) {
    meter?.done();
    console.error(`\n${error.message ?? error}`);
    process.exit(1);
  }
  process.exit(0);
}

// ---- the peers: a separate package, installed on first use ------------------------------------
function installPeers(dir) {
  console.error(`Installing the peer libraries into ${dir} (first run only, ~500 MB; onnxruntime-node's GPU download is skipped)…`);
  const lock = (() => {
    try {
      readFileSync(join(dir, 'package-lock.json'));
      return true;
    } catch {
      return false;
    }
  })();
  const r = spawnSync('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund', '--prefix', dir], {
    stdio: 'inherit',
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
  if (r.status !== 0) console.error(`Installing the peers failed (exit ${r.status}); they are reported as not installed.`);
}
const only = list(args.contenders);
const peerPicked = PEER_SPECS.some((s) => !only || only.some((o) => s.id === o || s.id.startsWith(o)));
if (peersDir && peerPicked && !peersInstalled(peersDir) && !args['no-install']) installPeers(peersDir);

// ---- contenders and workloads --------------------------------------------------------------------
const wanted = (id) => !filters || filters.some((f) => id.toLowerCase().startsWith(f.toLowerCase()));
const { selected: all, leftOut } = await allContenders({ peersDir, only });
const ourRuntime = all.find((c) => c.runtime)?.runtime;
// A variant workload brings its plain twin (`base`: S3 for V2–V5), which its summary line compares it with.
const every = workloads({ tiny: args.tiny });
const picked = new Set(every.filter((w) => wanted(w.id)).flatMap((w) => [w.id, ...(w.base ? [w.base] : [])]));
const chosen = every.filter((w) => picked.has(w.id));
const runMemory = !args['no-memory'] && (!filters || wanted('memory'));
const lengths = scalingLengths({ tiny: args.tiny, quick: args.quick });
const env = environment({
  versions: {
    'wasm-attention': JSON.parse(readFileSync(join(HERE, '..', 'package.json'), 'utf8')).version,
    tinybench: JSON.parse(readFileSync(join(HERE, '..', 'node_modules', 'tinybench', 'package.json'), 'utf8')).version,
    ...Object.fromEntries(all.filter((c) => c.version).map((c) => [c.id, c.version])),
  },
  backends: all.filter((c) => c.group === 'ours').map((c) => ({ id: c.id, status: c.status })),
  options: { quick: args.quick, tiny: args.tiny, filter: filters ?? null, ...settings, memoryTimeoutS: Number(args['memory-timeout']), memoryCapMiB: Number(args['memory-cap']) },
});

console.log(`wasm-attention benchmark — ${env.machine.cpu} (${env.machine.cores} cores), Node ${env.node}${env.execArgv.length ? ` ${env.execArgv.join(' ')}` : ''}, ${env.date.slice(0, 10)}`);
for (const line of [...leftOutLines(leftOut, all), ...unavailableLines(all)]) console.log(`  ${line}`);

// ---- the workloads -------------------------------------------------------------------------------
const memoryContenders = all.filter((c) => c.threads === 1);
// The variants' memory check runs on one build: the first of ours that runs (the fastest).
const variantBuild = all.find((c) => c.group === 'ours' && c.status === 'ok');
const variantRuns = variantMemoryRuns({ tiny: args.tiny });
const steps = chosen.length * all.length * (1 + settings.rounds) + (runMemory ? memoryContenders.length * lengths.length + (variantBuild ? variantRuns.length : 0) : 0);
const meter = progressBar(steps, { enabled: !args['no-progress'] });
const results = [];
for (const w of chosen) {
  const why = unavailable(w, ourRuntime);
  if (why) {
    for (let i = 0; i < all.length * (1 + settings.rounds); i++) meter.tick(`${w.id} skipped`);
    results.push({ id: w.id, title: w.title, shapeLabel: w.shapeLabel, flops: w.flops, status: why, rows: [] });
    meter.note(`\n${w.id}  ${w.title}: ${why}`);
    continue;
  }
  const res = await runWorkload(w, all, { ...settings, tiny: args.tiny, progress: meter.tick });
  results.push(res);
  meter.note(`\n${textTable(res)}`);
}

// ---- memory scaling ------------------------------------------------------------------------------
let memory = null;
if (runMemory) {
  memory = await memoryScaling(memoryContenders, lengths, {
    timeoutMs: Number(args['memory-timeout']) * 1000,
    capBytes: Number(args['memory-cap']) * 2 ** 20,
    peersDir,
    progress: meter.tick,
  });
  meter.note(`\nMemory scaling: single-head D 64 self-attention, one call per fresh process (time, memory)\n${memoryTable(memory, lengths)}`);
}
let variantMem = null;
if (runMemory && variantBuild) {
  variantMem = await variantMemory(variantBuild, variantRuns, { timeoutMs: Number(args['memory-timeout']) * 1000, capBytes: Number(args['memory-cap']) * 2 ** 20, progress: meter.tick });
  meter.note(`\nMemory of the variants at long N: ${variantBuild.label}, H 1, D 64, one call per fresh process\n${variantMemoryTable(variantMem)}`);
}
meter.done();
for (const c of all) c.close?.();

const summary = summarize(results, memory, lengths, variantMem);
console.log(`\n${summaryText(summary)}`);

// ---- the record and the charts -------------------------------------------------------------------
if (args.json) {
  const machineName = args.machine ?? machineSlug(env);
  const record = { ...env, machineName, contenders: all.map(({ id, label, group, threads, status, version }) => ({ id, label, group, threads, status, version })), leftOut, workloads: results, memory, lengths, variantMemory: variantMem, summary };
  const files = writeOutputs(record, args.out);
  console.log(`\nWrote ${Object.values(files).join(', ')}`);
}
// Child processes (remote peers) are unref'd; peers' worker threads may linger: end here.
process.exit(0);
