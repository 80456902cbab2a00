// `npm run bench`: this runtime (every build the engine runs) against the plain-JS reference and
// the libraries users pick today, on the seq2seq, self-attention, multi-head, causal and long
// workloads, the attention variants, the transformer encoder layers and a decoder-layer step (bench/workloads.mjs), then
// memory scaling in fresh processes. Prints a table per
// workload and a summary in plain words (each workload against the plain-JS reference and each peer
// that ran, causal vs full cost, memory scaling); `--json` writes bench/results/<date>-<machine>.json
// (with the summary), the Markdown tables and the charts. `--quick`: the quick set (about a
// minute): five small workloads, one of each kind, and one memory call. `--help`: the options (HELP below).
//
// Contenders left out (--no-peers, --contenders) get no rows: one line at the top names them.
// Selected peers that are not installed or fail keep their row, with the reason. Peers are
// installed only when asked: --install-peers, or a y/N question when stdin is a terminal.
// Progress: a `[i/n] <workload> … (elapsed 12 s, about 40 s left)` line per step on stderr.
// `node bench/write.mjs <record.json>` re-renders the Markdown and the charts of a recorded run.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { contenders as allContenders } from './contenders.mjs';
import { memoryScaling, variantMemory } from './memory.mjs';
import { DEFAULT_PEERS_DIR, PEER_SPECS, PEERS_MIB, installPeers, missingPeers } from './peers/index.mjs';
import { environment, leftOutLines, machineSlug, memoryTable, noiseLine, noisyRows, NOISE_FACTOR, summarize, summaryText, textTable, unavailableLines, variantMemoryTable } from './report.mjs';
import { writeOutputs } from './write.mjs';
import { progressBar, runWorkload } from './runner.mjs';
import { kernelTable, runKernelBench } from './kernels.mjs';
import { quickWorkloads, scalingLengths, unavailable, variantMemoryRuns, workloads } from './workloads.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const HELP = `Usage: npm run bench -- [options]

This runtime (every build the engine runs, on 1 thread and on 2 and every core) against the
plain-JS reference and the peer libraries (tfjs-wasm, onnxruntime-web, onnxruntime-node): a table
per workload, then a summary in plain words. Without options: the full suite (every workload at
full size, the plain-JS reference timed on each, at seconds per call on the largest, and memory
scaling up to N 65536 in fresh processes: a long run).

  --quick              about a minute: five small workloads, one of each kind (seq2seq decoder step
                       S1, self-attention S2-N256, causal S4-N512, multi-head attention MHA-L64,
                       KV-cache decode step KV-step); the plain-JS reference timed on S1, S2-N256
                       and KV-step only (on the others it checks the outputs and its row says
                       "not timed"); memory: one call at N 16384 on the fastest build
  --filter S2,S4       workloads whose id starts with one of these (V: the attention variants;
                       T: the transformer layers; memory: memory scaling)
  --contenders ids     only these contenders (prefixes: wasm, plain-js, tfjs, ort-web, ort-node)
  --no-peers           leave the peer libraries out (no rows for them)
  --install-peers      install the missing peer libraries into bench/peers first (npm ci, about
                       ${PEERS_MIB} MiB; once)
  --no-install         never install the peers nor ask (without a terminal, nothing is asked
                       anyway: missing peers are named and the run goes on without them)
  --peers-dir dir      where the peer package lives (default bench/peers)
  --no-memory          skip memory scaling and the variants' memory check
  --memory-timeout s   per memory run (default 90); --memory-cap MiB: RSS cap per run (default 8192)
  --json               also write bench/results/<date>-<machine>.json (with --quick:
                       <date>-<machine>-quick.json), the .md tables and the SVG charts
  --out dir            where --json writes (default bench/results); --machine name: its file name
  --no-progress        no progress lines or bar on stderr
  --kernels            only the per-kernel bench (gemm, attention, softmax), every build
  --tiny               tiny shapes, in seconds (the bench's own test; its timings mean nothing)
  --help, -h           this text

Other benchmark scripts (each prints its own table):
  npm run bench:builds   fused attention, every build against the plain-JS reference (three
                         shapes), then the peak Wasm memory of a 16384-token sequence per build
                         (73 s on 2 busy cores)
  npm run bench:decode   the decoding hot paths: a bound seq2seq step (dot, Bahdanau) and a
                         KV-cache multi-head step, against plain JS
  npm run bench:q8       decode-shaped matrix-vector products (SmolLM2-135M widths), f32 against
                         Q8 weights on each build, weights in cache and from memory: time, weight
                         GB/s, the ratio (node bench/q8-lm.mjs: a whole SmolLM2-shaped decode step)
  npm run bench:dates    the shipped date normaliser: one date and a batch of 256, every build,
                         plain JS and onnxruntime (when installed in bench/peers)
  npm run bench:encoders sentence embeddings from BERT checkpoints (loadModel): an
                         all-MiniLM-L6-v2 shape (32 × 128 tokens) and a BERT-base shape (8 × 256),
                         each build on 1 and 2 threads, plain JS, transformers.js (onnxruntime-web
                         and -node) and raw onnxruntime sessions; --quick, --filter, --no-peers,
                         --peers-dir, --json (its own --help)
  npm run bench:lm       language models (SmolLM2-135M and Qwen2.5-0.5B shapes, random weights):
                         prefill and decode tokens/s on 1 and 2 threads against wllama (llama.cpp
                         in Wasm, in Chromium) and onnxruntime, with the read bandwidth and gemm
                         roofline; --quick: about 5 minutes (npm run bench:lm -- --help)
  npm run bench:lm-large a Qwen2.5-1.5B-shaped model (random weights, 3.1 GB of BF16 shards) loaded at
                         q4 or q8 inside 4 GiB: load time, peak Wasm memory, decode tokens/s; then
                         saved with model.save() and loaded from that file (npm run bench:lm-large -- --help)
`;
let args;
try {
  ({ values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      tiny: { type: 'boolean', default: false },
      filter: { type: 'string' },
      contenders: { type: 'string' },
      json: { type: 'boolean', default: false },
      out: { type: 'string', default: join(HERE, 'results') },
      machine: { type: 'string' },
      'no-peers': { type: 'boolean', default: false },
      'install-peers': { type: 'boolean', default: false },
      'no-install': { type: 'boolean', default: false },
      'peers-dir': { type: 'string', default: DEFAULT_PEERS_DIR },
      'no-memory': { type: 'boolean', default: false },
      'memory-timeout': { type: 'string', default: '90' },
      'memory-cap': { type: 'string', default: '8192' },
      'no-progress': { type: 'boolean', default: false },
      kernels: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  console.error(`${error.message}\n\n${HELP}`);
  process.exit(2);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
if (args['install-peers'] && (args['no-install'] || args['no-peers'])) {
  console.error(`--install-peers cannot go with ${args['no-install'] ? '--no-install' : '--no-peers'}.`);
  process.exit(2);
}
const list = (s) => s?.split(',').map((x) => x.trim()).filter(Boolean);
const filters = list(args.filter);
const peersDir = args['no-peers'] ? false : resolve(args['peers-dir']);
const started = performance.now();
const elapsedS = () => (performance.now() - started) / 1000;

// ---- settings ------------------------------------------------------------------------------------
const settings = args.tiny
  ? { rounds: 1, sliceMs: 5, warmupMs: 5 }
  : args.quick
    ? { rounds: 8, sliceMs: 50, warmupMs: 200 }
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

// ---- the peers: a separate package, installed only when asked ----------------------------------
const only = list(args.contenders);
const peerPicked = PEER_SPECS.some((s) => !only || only.some((o) => s.id === o || s.id.startsWith(o)));
let missing = peersDir && peerPicked ? missingPeers(peersDir) : [];
// A path as typed: relative to the current folder when inside it.
const shown = (p) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p) || '.');
const where = peersDir && resolve(peersDir) !== resolve(DEFAULT_PEERS_DIR) ? ` --peers-dir ${shown(peersDir)}` : '';
const missingText = () =>
  `${missing.map((l) => `${l.name} (${l.mib} MiB)`).join(', ')}; about ${PEERS_MIB} MiB in all, dependencies included, in ${shown(join(peersDir, 'node_modules'))}`;
if (missing.length) {
  let install = args['install-peers'];
  if (!install && !args['no-install'] && process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Peer libraries not installed: ${missingText()}.\nInstall them now (npm ci, once)? [y/N] `);
    rl.close();
    install = /^y(es)?$/i.test(answer.trim());
  }
  if (install) {
    console.error(`Installing the peer libraries into ${peersDir} (npm ci; onnxruntime-node's GPU download is skipped)…`);
    if (!installPeers(peersDir)) console.error('Installing the peers failed; they are reported as not installed.');
    missing = missingPeers(peersDir);
  }
}

// ---- contenders and workloads --------------------------------------------------------------------
const wanted = (id) => !filters || filters.some((f) => id.toLowerCase().startsWith(f.toLowerCase()));
const { selected: all, leftOut } = await allContenders({ peersDir, only });
const ourRuntime = all.find((c) => c.runtime)?.runtime;
// A variant workload brings its plain twin (`base`: S3 for V2–V5), which its summary line compares it with.
const every = args.quick ? quickWorkloads({ tiny: args.tiny }) : workloads({ tiny: args.tiny });
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

console.log(`wasm-attention benchmark${args.quick ? ' (quick run)' : ''} — ${env.machine.cpu} (${env.machine.cores} cores), Node ${env.node}${env.execArgv.length ? ` ${env.execArgv.join(' ')}` : ''}, ${env.date.slice(0, 10)}`);
// Missing peers: one notice (which, how big, how to install) instead of a line per library.
const notInstalled = (c) => c.group === 'peer' && /^not installed/.test(c.status);
if (missing.length) {
  console.log(`  peers not installed, this run goes on without them: ${missingText()}`);
  console.log(`  to include them: npm run bench -- --install-peers${where}${args.quick ? ' --quick' : ''} (installs once), or --no-peers to leave them out`);
}
for (const line of [...leftOutLines(leftOut, all), ...unavailableLines(all.filter((c) => !(missing.length && notInstalled(c))))]) console.log(`  ${line}`);

// ---- the workloads -------------------------------------------------------------------------------
// The variants' memory check runs on one build: the first of ours that runs (the fastest). A
// quick run's memory: one call at N 16384 on that build alone, and no variants' check.
const variantBuild = all.find((c) => c.group === 'ours' && c.status === 'ok');
const memoryContenders = args.quick ? (variantBuild ? [variantBuild] : []) : all.filter((c) => c.threads === 1);
const variantRuns = variantMemoryRuns({ tiny: args.tiny });
const runVariantMemory = runMemory && !args.quick && variantBuild;
const steps = chosen.length * all.length * (1 + settings.rounds) + (runMemory ? memoryContenders.length * lengths.length + (runVariantMemory ? variantRuns.length : 0) : 0);
const meter = progressBar(steps, { enabled: !args['no-progress'] });
if (args.quick) {
  const timedJs = chosen.filter((w) => w.timeReference !== false).map((w) => w.id);
  const memoryText = runMemory && memoryContenders.length ? `memory: one call at N ${lengths.join(', ')} on ${memoryContenders.map((c) => c.label).join(', ')}` : 'no memory run';
  console.log(
    `  quick run: ${chosen.length} small workload${chosen.length === 1 ? "" : "s"} (${chosen.map((w) => w.id).join(', ')}), ${settings.rounds} interleaved round${settings.rounds === 1 ? '' : 's'} of ${settings.sliceMs} ms per contender after ${settings.warmupMs} ms of warmup; ` +
      `plain JS timed on ${timedJs.join(', ') || 'none'} only; ${memoryText}. The full suite: npm run bench (without --quick).`,
  );
  const [load] = loadavg();
  if (load > 0.5 * availableParallelism()) console.log(`  load average ${load.toFixed(1)} on ${availableParallelism()} cores: other processes are running, timings will spread (rows that do are marked noisy)`);
}

// Progress: a line per step, `[i/n] <id> … (elapsed 12 s, about 40 s left)`. The estimate: each
// contender that runs takes its warmup and its rounds (a plain-JS call can take longer than a
// slice: the estimate is scaled by how the steps so far went); a quick memory call about 3 s.
const live = all.filter((c) => c.status === 'ok');
const plannedS = (w) => (live.filter((c) => !(c.group === 'reference' && w.timeReference === false)).length * (settings.warmupMs + settings.rounds * settings.sliceMs)) / 1000 + 0.2;
const memoryPlannedS = args.quick ? (args.tiny ? 0.5 : 3) * memoryContenders.length * lengths.length : null;
const stepsTotal = chosen.length + (runMemory ? 1 : 0) + (runVariantMemory ? 1 : 0);
let stepAt = 0;
let plannedDone = 0;
let workloadS = 0;
function announce(label, remainingPlannedS, { memoryLeft = false } = {}) {
  stepAt++;
  // How much slower than planned the steps so far went (plain JS, loaded machine), once there are some.
  const scale = plannedDone > 0 ? Math.max(1, workloadS / plannedDone) : 1;
  const left = remainingPlannedS * scale + (memoryLeft && memoryPlannedS !== null ? memoryPlannedS : 0);
  const estimate = left >= 1 ? `, about ${Math.round(left)} s left${memoryLeft && memoryPlannedS === null ? ' before memory scaling' : ''}` : '';
  meter.line(`[${stepAt}/${stepsTotal}] ${label} … (elapsed ${Math.round(elapsedS())} s${estimate})`);
}
const results = [];
for (const [i, w] of chosen.entries()) {
  const t0 = performance.now();
  announce(`${w.id} ${w.title.split(/[:,(]/)[0].trim()} [${w.shapeLabel}]`, chosen.slice(i).reduce((a, x) => a + plannedS(x), 0), { memoryLeft: runMemory });
  const why = unavailable(w, ourRuntime);
  if (why) {
    for (let i = 0; i < all.length * (1 + settings.rounds); i++) meter.tick(`${w.id} skipped`);
    results.push({ id: w.id, title: w.title, shapeLabel: w.shapeLabel, flops: w.flops, status: why, rows: [] });
    meter.note(`\n${w.id}  ${w.title}: ${why}`);
    continue;
  }
  const res = await runWorkload(w, all, { ...settings, tiny: args.tiny, progress: meter.tick });
  results.push(res);
  // A quick run's few seconds per workload: say where the timings spread (a busy machine).
  const noise = args.quick ? noiseLine(res) : null;
  meter.note(`\n${textTable(res)}${noise ? `\n${noise}` : ''}`);
  plannedDone += plannedS(w);
  workloadS += (performance.now() - t0) / 1000;
}

// ---- memory scaling ------------------------------------------------------------------------------
let memory = null;
if (runMemory) {
  announce(args.quick ? `memory: one call at N ${lengths.join(', ')} in a fresh process` : `memory scaling: N ${lengths[0]} to ${lengths.at(-1)}, every single-thread contender, one call per fresh process`, 0, { memoryLeft: true });
  memory = await memoryScaling(memoryContenders, lengths, {
    timeoutMs: Number(args['memory-timeout']) * 1000,
    capBytes: Number(args['memory-cap']) * 2 ** 20,
    peersDir,
    progress: meter.tick,
  });
  const what = args.quick ? `Memory: single-head D 64 self-attention at N ${lengths.join(', ')}, one call in a fresh process (the full suite scales every contender from N 4096 to 65536)` : 'Memory scaling: single-head D 64 self-attention, one call per fresh process (time, memory)';
  meter.note(`\n${what}\n${memoryTable(memory, lengths)}`);
}
let variantMem = null;
if (runVariantMemory) {
  announce(`memory of the variants at long N, ${variantBuild.label}`, 0);
  variantMem = await variantMemory(variantBuild, variantRuns, { timeoutMs: Number(args['memory-timeout']) * 1000, capBytes: Number(args['memory-cap']) * 2 ** 20, progress: meter.tick });
  meter.note(`\nMemory of the variants at long N: ${variantBuild.label}, H 1, D 64, one call per fresh process\n${variantMemoryTable(variantMem)}`);
}
meter.done();
for (const c of all) c.close?.();

const summary = summarize(results, memory, lengths, variantMem);
console.log(`\n${summaryText(summary)}`);
if (args.quick) {
  const noisy = results.filter((r) => noisyRows(r).length).map((r) => r.id);
  if (noisy.length)
    console.log(
      `Busy machine: on ${noisy.join(', ')} some rows spread (p75 more than ${NOISE_FACTOR}× the median; load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores now). ` +
        'Where such rows disagree (a build on 2 threads slower than on 1, say), the quick run cannot tell: run it again on a quieter machine, or the full suite (more and longer rounds).',
    );
}
if (missing.length) console.log(`Peers not in this run (not installed): ${missing.map((l) => l.name).join(', ')}; npm run bench -- --install-peers${where} adds them.`);
console.log(`${args.quick ? 'Quick run' : 'Run'}: ${Math.round(elapsedS())} s.`);

// ---- the record and the charts -------------------------------------------------------------------
if (args.json) {
  const machineName = args.machine ?? machineSlug(env);
  const record = { ...env, machineName, contenders: all.map(({ id, label, group, threads, status, version }) => ({ id, label, group, threads, status, version })), leftOut, workloads: results, memory, lengths, variantMemory: variantMem, summary };
  const files = writeOutputs(record, args.out);
  console.log(`\nWrote ${Object.values(files).join(', ')}`);
}
// Child processes (remote peers) are unref'd; peers' worker threads may linger: end here.
process.exit(0);
