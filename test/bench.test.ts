// The benchmark suite must not rot: run it on tiny shapes, without the peer
// libraries (they must be reported as not installed, never dropped), and check that the tables,
// the summary, the JSON record and the SVG charts come out, the attention-variant workloads (V…)
// and the transformer encoder layers (T1, T2) and decoder step (T3, with its allocation line)
// among them, each checked against the reference; our builds on one thread and, on a machine with
// cores to spare, on 2 (and on every core): rows, summary-table columns, the thread-scaling lines
// and chart; with --no-peers the peers are left out (no rows, one line). --quick runs the quick
// set with a progress line per step and, with no terminal and no --install-peers, installs nothing:
// it names the missing peers, their size and the flag. --help lists the options and the bench
// scripts. No timing assertions.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ONNX_FILES, quantizeInt8, quantizeNBits4, quantizeUint8, roundHalfEven } from '../bench/peers/onnx-quant.mjs';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'wasm-attention-bench-'));
const noPeers = join(out, 'no-peers');
const VARIANTS = ['V1', 'V1-full', 'V2', 'V3', 'V4', 'V5', 'V6', 'V6-mha'];
const ENCODERS = ['T1', 'T2'];
// Our threaded contenders: 2 threads and every core (deduplicated), none on a one-core machine.
const CORES = availableParallelism();
const THREADS = CORES < 2 ? [] : [...new Set([2, Math.min(CORES, 16)])];
const BUILD = String.raw`(relaxed-simd|simd|scalar)( on \d+ threads)?`;

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run bench (tiny shapes, no peers)', () => {
  const result = run(
    process.execPath,
    ['--experimental-wasm-relaxed-simd', 'bench/cli.mjs', '--tiny', '--json', '--out', out, '--machine', 'test', '--peers-dir', noPeers, '--no-install', '--no-progress', '--memory-timeout', '30'],
    { cwd: root, maxBuffer: 16 * 2 ** 20, timeout: 60_000 },
  );

  it('prints a table per workload and reports the peers as not installed', async () => {
    const { stdout } = await result;
    for (const id of ['S1', 'S2', 'S3', 'S4', 'S5', ...VARIANTS, ...ENCODERS, 'T3']) expect(stdout).toMatch(new RegExp(`^${id} `, 'm'));
    // The transformer encoder layers, on their tiny shapes (T2: two sequences).
    expect(stdout).toMatch(/^T1 .*encoder layer.*\[B1 L21 E40 heads4 FF72 post-norm ReLU,/m);
    expect(stdout).toMatch(/^T2 .*encoder layer.*\[B2 L13 E24 heads4 FF56 pre-norm GELU,/m);
    // The decoder step on its tiny shape, the plain-JS row saying it recomputes every position, and
    // the allocation line: a steady decode loop allocates nothing (±0 bytes per build).
    expect(stdout).toMatch(/^T3 .*decoder layer, one incremental step.*\[E24 heads4 FF40 T12\+1 S12 post-norm ReLU,/m);
    expect(stdout).toMatch(/^plain JS reference: recomputes all 13 positions \(the twin has no cache\)/m);
    expect(stdout).toMatch(/^decoder step allocation: relaxed-simd (\d+) \/ \1 \(±0\), simd (\d+) \/ \2 \(±0\), scalar (\d+) \/ \3 \(±0\)(, (relaxed-simd|simd|scalar) \d+T (\d+) \/ \6 \(±0\))* bytes before\/after 10⁴ steps/m);
    // Each build on N threads: a row per workload, labelled with its thread count.
    // (a tiny workload on a loaded machine can take a millisecond or more: its time prints in ms)
    for (const n of THREADS) for (const b of ['relaxed-simd', 'simd', 'scalar']) expect(stdout.match(new RegExp(`^wasm-attention ${b} ${n}T\\s+\\S+ (µs|ms)`, 'gm'))?.length, `${b} ${n}T rows`).toBeGreaterThanOrEqual(20);
    expect(stdout).toMatch(/median\s+p75\s+samples\s+GFLOP\/s\s+× plain JS\s+× best peer/);
    expect(stdout).toMatch(/wasm-attention simd\s+\S+ µs/);
    expect(stdout).toMatch(/^tfjs-wasm\s+not installed/m);
    // A library whose contenders all could not run for the same reason gets one row.
    expect(stdout).toMatch(/^onnxruntime-node \(4 contenders\)\s+not installed/m);
    expect(stdout).toMatch(/Memory scaling/);
    // The variants: sliding window, ALiBi, T5, masks, grouped-query; the big V1 pair checked on a slice.
    expect(stdout).toMatch(/^V1 .*sliding-window.*\[B1 H1 Lq70 Lk70 D16 causal window \[8, 0\],/m);
    expect(stdout).toMatch(/^V6 .*grouped-query.*\[B1 H4 Hkv2 Lq1 Lk37 D16,/m);
    expect(stdout.match(/^checked against the reference on query rows 0–11 and 58–69 of every head$/gm)).toHaveLength(2);
    expect(stdout).toMatch(/^Memory of the variants at long N: wasm-attention \S+, H 1, D 64/m);
    expect(stdout).not.toMatch(/wrong result|failed/);
  });

  it('ends with a summary in plain words: each workload against plain JS, causal vs full, memory', async () => {
    const { stdout } = await result;
    const summary = stdout.slice(stdout.indexOf('\nSummary of this run:'));
    expect(summary).toMatch(/^Summary of this run: per workload, the fastest wasm-attention build .* against the plain-JS reference; no peer library ran/m);
    for (const id of ['S1', 'S2', 'S3', 'S4', 'S4-full', 'S5', 'MHA', 'KV-step', ...ENCODERS, ...VARIANTS])
      expect(summary).toMatch(new RegExp(`^  ${id} .*\\]: ${BUILD} \\S+ (µs|ms), (\\S+× (faster|slower) than|as fast as) the plain-JS reference$`, 'm'));
    expect(summary).toMatch(/^Causal vs full attention: S4 \(causal\) takes this fraction of the time of S4-full .*: relaxed-simd \d\.\d\d \(/m);
    // The variants next to their plain twins: window vs full causal, each bias / mask vs S3, grouped-query vs multi-head.
    expect(summary).toMatch(/^Sliding window vs full causal attention: V1 \(causal, window \[8, 0\]\) takes this fraction of the time of V1-full .*: relaxed-simd \d+\.\d\d \(.*plain JS reference \d+\.\d\d$/m);
    expect(summary).toMatch(/^Biases and masks vs plain attention: each variant's time as a multiple of S3's/m);
    for (const [id, what] of [['V2', 'ALiBi position bias'], ['V3', 'T5 relative position bias'], ['V4', 'boolean mask'], ['V5', 'float mask']])
      expect(summary).toMatch(new RegExp(`^  ${id} ${what}: relaxed-simd \\d+\\.\\d\\d× \\(\\S+ (µs|ms) vs \\S+ (µs|ms)\\), simd .*plain JS reference \\d+\\.\\d\\d×$`, 'm'));
    expect(summary).toMatch(/^Grouped-query vs multi-head decode: V6 \(4 query heads on 2 kv heads\) is this many times faster than V6-mha \(4 kv heads, same shape\): relaxed-simd \S+× \(/m);
    // The encoder layers per build against the 1-thread wasm peers and plain JS (only plain JS here: no peers).
    expect(summary).toMatch(/^Transformer encoder layers and the decoder step \(T3, with the bytes it allocated\) against the single-thread wasm peers and the plain-JS reference \(their time ÷ ours/m);
    for (const id of ENCODERS) expect(summary).toMatch(new RegExp(`^  ${id} \\[B\\d L\\d+ E\\d+ .*\\]: relaxed-simd \\S+ (µs|ms): plain JS \\S+×; simd \\S+ (µs|ms): plain JS \\S+×; scalar .*plain JS \\S+×$`, 'm'));
    // The decoder step: its own summary line names what the plain-JS reference does, and its
    // per-build line carries the bytes allocated over 10⁴ steps.
    expect(summary).toMatch(new RegExp(String.raw`^  T3 transformer decoder layer \[E24 .*\]: ${BUILD} \S+ (µs|ms), (\S+× (faster|slower) than|as fast as) the plain-JS reference, which recomputes all 13 positions$`, 'm'));
    // Thread scaling: per workload, N threads of the best build against its one thread.
    if (THREADS.length) {
      expect(summary).toMatch(/^Thread scaling: the speed-up of N threads over one thread of the same build \(ours: the best build the engine runs; onnxruntime: 2 threads over 1/m);
      const cells = THREADS.map((n) => String.raw`relaxed-simd ${n}T \d+\.\d\d× \(\S+ (µs|ms) → \S+ (µs|ms)\)`).join(', ');
      for (const id of ['S1', 'S2', 'S5', 'MHA', 'T1', 'T3', 'V1']) expect(summary).toMatch(new RegExp(String.raw`^  ${id} \[[^\]]*(\[[^\]]*\])?[^\]]*\]: ${cells}$`, 'm'));
    } else expect(summary).not.toMatch(/^Thread scaling/m);
    expect(summary).toMatch(/^  T3 \[E24 .*\]: relaxed-simd \S+ (µs|ms), ±0 bytes over 10⁴ steps: plain JS \(recomputing every position\) \S+×; simd .*±0 bytes.*; scalar .*±0 bytes.*$/m);
    expect(summary).toMatch(/^Memory of the variants at long N \(wasm-attention \S+, H 1, D 64/m);
    expect(summary).toMatch(/^  ALiBi at N 256: \S+ (µs|ms), peak Wasm allocation .*than plain attention, \d+\.\d\d× its time$|^  ALiBi at N 256: .*the same peak as plain attention/m);
    expect(summary).toMatch(/^  causal window \[16, 0\] at N 512: \S+ (µs|ms), peak Wasm allocation /m);
    expect(summary).toMatch(/^  wasm-attention simd: every N up to 256 \(at N 256: .*Wasm memory .*peak RSS/m);
    expect(stdout).not.toMatch(/\bMET\b|MISSED|\bbars?\b|\bissue/i);
  });

  it('writes the JSON record: environment, every workload, every contender with a status', async () => {
    await result;
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('-test.json'));
    expect(json).toBeDefined();
    const record = JSON.parse(readFileSync(join(out, json!), 'utf8'));
    expect(record.node).toBe(process.version);
    expect(record.machine.cpu).toBeTypeOf('string');
    expect(record.execArgv).toContain('--experimental-wasm-relaxed-simd');
    expect(record.workloads.map((w: { id: string }) => w.id)).toEqual(expect.arrayContaining(['S1', 'S2', 'S3', 'S4', 'S4-full', 'S5']));
    const s2 = record.workloads.find((w: { id: string }) => w.id === 'S2');
    const row = (id: string) => s2.rows.find((r: { id: string }) => r.id === id);
    for (const id of ['wasm-simd', 'wasm-scalar', 'plain-js']) {
      expect(row(id).status).toBe('ok');
      expect(row(id).median).toBeGreaterThan(0);
      expect(row(id).gflops).toBeGreaterThan(0);
      expect(row(id).vsJs).toBeGreaterThan(0);
    }
    expect(row('wasm-simd').maxAbsError).toBeLessThanOrEqual(1e-5);
    for (const id of ['tfjs-wasm', 'ort-web-matmul-1t', 'ort-web-mha-2t', 'ort-node-mha-2t']) expect(row(id).status).toMatch(/^not installed/);
    // Every variant workload: every build and the reference ran, every build within the runtime's
    // own contract of the reference; the peers said why not (not installed).
    for (const id of VARIANTS) {
      const w = record.workloads.find((x: { id: string }) => x.id === id);
      expect(w, id).toBeDefined();
      for (const c of ['wasm-simd', 'wasm-scalar', 'plain-js']) {
        const r = w.rows.find((x: { id: string }) => x.id === c);
        expect(r.status, `${id} ${c}`).toBe('ok');
        expect(r.median).toBeGreaterThan(0);
        expect(r.maxAbsError, `${id} ${c}`).toBeLessThanOrEqual(1e-5);
      }
      expect(w.rows.find((x: { id: string }) => x.id === 'tfjs-wasm').status).toMatch(/^not installed/);
    }
    // The encoder layers: every build and the reference ran, every build within 1e-5 of the float64 twin.
    for (const id of ENCODERS) {
      const w = record.workloads.find((x: { id: string }) => x.id === id);
      expect(w, id).toBeDefined();
      expect(w.flops).toBeGreaterThan(0);
      for (const c of ['wasm-relaxed-simd', 'wasm-simd', 'wasm-scalar', 'plain-js']) {
        const r = w.rows.find((x: { id: string }) => x.id === c);
        expect(r.status, `${id} ${c}`).toBe('ok');
        expect(r.median).toBeGreaterThan(0);
        expect(r.maxAbsError, `${id} ${c}`).toBeLessThanOrEqual(1e-5);
      }
      expect(w.rows.find((x: { id: string }) => x.id === 'plain-js').note).toMatch(/whole layer/);
      expect(w.rows.find((x: { id: string }) => x.id === 'ort-web-matmul-1t').status).toMatch(/^not installed/);
    }
    // The decoder step: every build and the reference ran, every build within 1e-5 of the twin's
    // last causal row, each build's allocation recorded (the same bytes in use after 10⁴ steps).
    const t3 = record.workloads.find((x: { id: string }) => x.id === 'T3');
    expect(t3, 'T3').toBeDefined();
    for (const c of ['wasm-relaxed-simd', 'wasm-simd', 'wasm-scalar', 'plain-js']) {
      const r = t3.rows.find((x: { id: string }) => x.id === c);
      expect(r.status, `T3 ${c}`).toBe('ok');
      expect(r.median).toBeGreaterThan(0);
      expect(r.maxAbsError, `T3 ${c}`).toBeLessThanOrEqual(1e-5);
      if (c !== 'plain-js') {
        expect(r.allocation.steps).toBe(10_000);
        expect(r.allocation.before).toBeGreaterThan(0);
        expect(r.allocation.after).toBe(r.allocation.before);
      }
    }
    expect(t3.rows.find((x: { id: string }) => x.id === 'plain-js').note).toMatch(/^recomputes all 13 positions/);
    expect(t3.rows.find((x: { id: string }) => x.id === 'ort-web-matmul-1t').status).toMatch(/^not installed/);
    expect(record.summary.encoders.workloads.map((w: { id: string }) => w.id)).toEqual([...ENCODERS, 'T3']);
    const t1 = record.summary.encoders.workloads[0].rows.find((r: { id: string }) => r.id === 'wasm-simd');
    expect(t1.against.map((a: { id: string }) => a.id)).toEqual(['plain-js']);
    expect(t1.against[0].speedup).toBeGreaterThan(0);
    expect(record.workloads.find((w: { id: string }) => w.id === 'V1').checked).toMatch(/^query rows /);
    expect(record.workloads.find((w: { id: string }) => w.id === 'V2').checked).toBeUndefined();
    expect(record.summary.window.rows.map((r: { id: string }) => r.id)).toContain('wasm-simd');
    expect(record.summary.biases.workloads.map((w: { id: string }) => w.id)).toEqual(['V2', 'V3', 'V4', 'V5']);
    expect(record.summary.gqa.rows.find((r: { id: string }) => r.id === 'wasm-simd').speedup).toBeGreaterThan(0);
    expect(record.variantMemory.runs.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([['plain', 'ok'], ['alibi', 'ok'], ['window', 'ok']]);
    expect(record.variantMemory.runs[1].wasmPeakBytes).toBeGreaterThan(0);
    const ours = record.memory.find((m: { id: string }) => m.id === 'wasm-simd');
    expect(ours.largestOk).toBe(record.lengths.at(-1));
    expect(ours.runs[0].wasmCapacityBytes).toBeGreaterThan(0);
    // The summary, as printed, with its numbers.
    expect(record.bars).toBeUndefined();
    const s2sum = record.summary.workloads.find((w: { id: string }) => w.id === 'S2');
    expect(s2sum.build).toMatch(/^wasm-/);
    expect(s2sum.vsJs).toBeGreaterThan(0);
    expect(s2sum.peers).toEqual([]);
    expect(s2sum.text).toMatch(/^S2 self-attention \[B1 H1 Lq33 Lk33 D16\]: /);
    expect(record.summary.causal.rows.map((r: { id: string }) => r.id)).toContain('wasm-simd');
    expect(record.summary.memory.rows.find((r: { id: string }) => r.id === 'wasm-simd').largestN).toBe(record.lengths.at(-1));
    const md = readFileSync(join(out, json!.replace(/\.json$/, '.md')), 'utf8');
    expect(md).toContain('**In short**');
    expect(md).toContain(s2sum.text);
    expect(md).toContain('**Memory of the variants at long N**');
    expect(md).toContain(record.summary.gqa.text);
    // The threaded contenders: in the record, the summary table's columns and the scaling lines.
    for (const n of THREADS) {
      const r = row(`wasm-relaxed-simd-${n}t`);
      expect(r).toMatchObject({ label: `wasm-attention relaxed-simd ${n}T`, group: 'ours', threads: n, status: 'ok' });
      expect(r.maxAbsError).toBeLessThanOrEqual(1e-5);
      expect(md).toMatch(new RegExp(`^\\| workload \\| wasm relaxed-simd \\| wasm simd \\| wasm scalar \\| .*wasm relaxed-simd ${n}T \\| .*wasm scalar ${n}T \\| plain JS \\|`, 'm'));
      const s2scaling = record.summary.threads.workloads.find((w: { id: string }) => w.id === 'S2');
      expect(s2scaling.series.find((x: { threads: number }) => x.threads === n)).toMatchObject({ library: 'wasm-attention', build: 'relaxed-simd', id: `wasm-relaxed-simd-${n}t`, baseId: 'wasm-relaxed-simd' });
      expect(md).toContain(s2scaling.text);
    }
    if (THREADS.length) expect(record.summary.threads.threads).toEqual(THREADS);
    else expect(record.summary.threads).toBeNull();
  });

  it('writes the charts as SVG', async () => {
    await result;
    for (const suffix of ['-test-gflops.svg', '-test-memory.svg']) {
      const file = readdirSync(out).find((f) => f.endsWith(suffix));
      expect(file).toBeDefined();
      const svg = readFileSync(join(out, file!), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).toContain('wasm-attention simd');
    }
    // Thread scaling, where threaded contenders ran: our best build's speed-up against its thread count.
    const threads = readdirSync(out).find((f) => f.endsWith('-test-threads.svg'));
    if (THREADS.length) {
      const svg = readFileSync(join(out, threads!), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('Thread scaling: speed-up over one thread of the same build');
      expect(svg).toContain('wasm-attention relaxed-simd');
      expect(svg.match(/<polyline/g)!.length).toBeGreaterThan(20); // a line per workload and the mean
    } else expect(threads).toBeUndefined();
    expect(existsSync(noPeers)).toBe(false); // nothing was installed
  });
});

describe('npm run bench -- --no-peers (tiny shapes)', () => {
  it('prints one line naming the peers left out, and no rows or columns for them', async () => {
    const { stdout } = await run(process.execPath, ['--experimental-wasm-relaxed-simd', 'bench/cli.mjs', '--tiny', '--no-peers', '--no-memory', '--no-progress', '--filter', 'S2,S4'], {
      cwd: root,
      timeout: 60_000,
    });
    expect(stdout).toContain('peers left out (--no-peers): tfjs-wasm, onnxruntime-web, onnxruntime-node');
    expect(stdout.match(/left out/g)).toHaveLength(1);
    expect(stdout).not.toMatch(/^(tfjs-wasm|ort-|onnxruntime-)/m);
    expect(stdout).not.toContain('× best peer');
    expect(stdout).toMatch(/^wasm-attention simd\s+\S+ µs/m);
    expect(stdout).toMatch(/^  S2 self-attention \[.*\]: \S+( on \d+ threads)? \S+ (µs|ms), \S+× (faster|slower) than the plain-JS reference$/m);
    expect(stdout).toMatch(/^Causal vs full attention: /m);
  });
});

describe('npm run bench -- --filter V2 (tiny shapes)', () => {
  it('runs a variant with the plain workload it is compared with (S3) and prints the comparison', async () => {
    const { stdout } = await run(process.execPath, ['--experimental-wasm-relaxed-simd', 'bench/cli.mjs', '--tiny', '--no-peers', '--no-memory', '--no-progress', '--filter', 'V2'], {
      cwd: root,
      timeout: 60_000,
    });
    expect(stdout.match(/^(S\d|V\d)\S* /gm)).toEqual(['S3 ', 'V2 ']);
    expect(stdout).toMatch(/^  V2 ALiBi position bias: relaxed-simd \d+\.\d\d× \(/m);
    expect(stdout).not.toMatch(/Memory/);
  });
});

describe('npm run bench -- --kernels --tiny (the per-kernel bench)', () => {
  it('checks every perf case of the kernel table against the reference, times every build and prints the table', async () => {
    const { stdout } = await run(process.execPath, ['--experimental-wasm-relaxed-simd', 'bench/cli.mjs', '--kernels', '--tiny', '--no-progress'], {
      cwd: root,
      timeout: 60_000,
    });
    expect(stdout).toMatch(/median\s+GFLOP\/s/);
    for (const name of ['gemm NT', 'gemm NN', 'attention B1 H8', 'attention B1 H1', 'attention decode', 'attentionWeights', 'softmax'])
      expect(stdout).toMatch(new RegExp(`^${name}\\b.*\\d\\.\\d\\d$`, 'm')); // a row that ends in a GFLOP/s
    expect(stdout).not.toMatch(/Memory scaling|not installed/); // --kernels runs nothing else
  });
});

describe('npm run bench -- --quick (tiny shapes, an empty peers folder, no terminal)', () => {
  const QUICK = ['S1', 'S2-N256', 'S4-N512', 'MHA-L64', 'KV-step'];
  const peers = join(out, 'quick-peers');
  const quickOut = join(out, 'quick');
  // No --no-install and no --no-progress: stdin is a pipe, so nothing may be asked or installed.
  const result = run(process.execPath, ['--experimental-wasm-relaxed-simd', 'bench/cli.mjs', '--quick', '--tiny', '--peers-dir', peers, '--json', '--out', quickOut, '--machine', 'test', '--memory-timeout', '30'], {
    cwd: root,
    maxBuffer: 16 * 2 ** 20,
    timeout: 60_000,
  });

  it('runs the quick set: one small workload of each kind, plain JS timed on the small ones only', async () => {
    const { stdout } = await result;
    expect(stdout.match(/^\S+(?=  \S)/gm)?.filter((id) => /^(S|MHA|KV|T|V)/.test(id))).toEqual(QUICK);
    expect(stdout).toMatch(/^  quick run: 5 small workloads \(S1, S2-N256, S4-N512, MHA-L64, KV-step\), .*plain JS timed on S1, S2-N256, KV-step only; memory: one call at N 256 on wasm-attention \S+\./m);
    const table = (id: string) => stdout.slice(stdout.indexOf(`\n${id}  `), stdout.indexOf('\n\n', stdout.indexOf(`\n${id}  `) + 1));
    for (const id of ['S4-N512', 'MHA-L64']) expect(table(id)).toMatch(/^plain JS reference\s+not timed in --quick runs/m);
    for (const id of ['S1', 'S2-N256', 'KV-step']) expect(table(id)).toMatch(/^plain JS reference\s+\S+ (µs|ms) .*1\.00×/m);
    expect(stdout).toMatch(/^  S4-N512 causal \[.*\]: \S+( on \d+ threads)? \S+ (µs|ms), plain JS not timed in --quick runs$/m);
    expect(stdout).toMatch(/^  S2-N256 self-attention \[.*\]: .*the plain-JS reference$/m);
    expect(stdout).toMatch(/^Memory: single-head D 64 self-attention at N 256, one call in a fresh process/m);
    expect(stdout).not.toMatch(/Memory of the variants|wrong result|failed/);
    expect(stdout).toMatch(/^Quick run: \d+ s\.$/m);
  });

  it('prints a progress line per step on stderr, not on stdout nor in the written files', async () => {
    const { stdout, stderr } = await result;
    const lines = stderr.match(/^\[\d\/\d\] .*$/gm) ?? [];
    expect(lines.map((l) => /^\[(\d)\/6\] (\S+)/.exec(l)?.slice(1).join(' '))).toEqual([...QUICK.map((id, i) => `${i + 1} ${id}`), '6 memory:']);
    for (const l of lines) expect(l).toMatch(/ … \(elapsed \d+ s(, about \d+ s left)?\)$/);
    expect(stdout).not.toMatch(/^\[\d/m);
    const written = readdirSync(quickOut).filter((x) => /\.(json|md)$/.test(x));
    expect(written.sort()).toEqual([expect.stringMatching(/-test-quick\.json$/), expect.stringMatching(/-test-quick\.md$/)]);
    for (const f of written) expect(readFileSync(join(quickOut, f), 'utf8')).not.toMatch(/\[\d\/\d\]|elapsed/);
  });

  it('installs no peer without --install-peers: names the missing ones, their size and the flag', async () => {
    const { stdout } = await result;
    expect(stdout).toMatch(/^  peers not installed, this run goes on without them: tfjs-wasm \(\d+ MiB\), onnxruntime-web \(\d+ MiB\), onnxruntime-node \(\d+ MiB\); about \d+ MiB in all/m);
    expect(stdout).toMatch(/^  to include them: npm run bench -- --install-peers --peers-dir \S+ --quick/m);
    expect(stdout).toMatch(/^Peers not in this run \(not installed\): tfjs-wasm, onnxruntime-web, onnxruntime-node; npm run bench -- --install-peers/m);
    expect(stdout).toMatch(/^onnxruntime-node \(4 contenders\)\s+not installed/m);
    expect(existsSync(join(peers, 'node_modules'))).toBe(false);
    expect(existsSync(peers)).toBe(false);
  });
});

describe('npm run bench -- --help', () => {
  it('prints the options and every benchmark script', async () => {
    const { stdout } = await run(process.execPath, ['bench/cli.mjs', '--help'], { cwd: root, timeout: 30_000 });
    for (const option of ['--quick', '--filter', '--contenders', '--no-peers', '--install-peers', '--no-install', '--peers-dir', '--no-memory', '--json', '--kernels', '--tiny', '--help'])
      expect(stdout).toMatch(new RegExp(`^\\s+${option}\\b`, 'm'));
    const scripts = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts).filter((x) => x.startsWith('bench:'));
    expect(scripts).toEqual(expect.arrayContaining(['bench:builds', 'bench:decode', 'bench:dates', 'bench:encoders', 'bench:lm']));
    for (const script of scripts) expect(stdout).toMatch(new RegExp(`^  npm run ${script}\\s+\\S`, 'm'));
    expect(stdout).not.toMatch(/bench:quick/);
  });
});

// The quantized ONNX files the peers run at q8 / q4 (bench/peers/onnx-quant.mjs): every weight
// dequantizes to within half a step of itself, in the layout onnxruntime reads (MatMulNBits: two
// values a byte, the first in the low nibble; a block's largest magnitude at nibble 0 or 15).
describe('the q8 / q4 ONNX weights (onnx-quant.mjs)', () => {
  const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin((i + 1) * 12.9898 + seed) * 0.05 * (1 + (i % 7))));

  it('names the files transformers.js loads for each dtype', () => {
    expect(ONNX_FILES).toEqual({ f32: 'model.onnx', q8: 'model_quantized.onnx', q4: 'model_q4.onnx' });
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, -3]);
  });

  it('MatMulNBits: 4-bit blocks of 32 with a float scale, zero point 8', () => {
    const [N, K] = [5, 96];
    const w = values(N * K, 1);
    const { packed, scales } = quantizeNBits4(w, N, K);
    expect(packed).toHaveLength((N * K) / 2);
    expect(scales).toHaveLength((N * K) / 32);
    for (let i = 0; i < N * K; i++) {
      const nibble = (packed[i >> 1]! >> ((i & 1) * 4)) & 15;
      const scale = scales[Math.floor(i / 32)]!;
      // −8 … 7 steps: a value past 7 steps on the other side of the block's largest clamps there
      const [lo, hi] = [Math.min(-8 * scale, 7 * scale), Math.max(-8 * scale, 7 * scale)];
      expect(Math.abs((nibble - 8) * scale - Math.min(hi, Math.max(lo, w[i]!))), `weight ${i}`).toBeLessThanOrEqual(Math.abs(scale) / 2 + 1e-7);
    }
    for (let b = 0; b < (N * K) / 32; b++) {
      const block = Array.from(w.subarray(b * 32, b * 32 + 32));
      const max = block.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
      expect(scales[b]).toBe(Math.fround(max / -8));
    }
    expect(() => quantizeNBits4(w, 6, 80)).toThrow('MatMulNBits: K 80 is not a multiple of the block size 32');
  });

  it('MatMulInteger: int8 symmetric, per tensor (full range) or per output column (7-bit)', () => {
    const [K, N] = [12, 6];
    const b = values(K * N, 2);
    for (const opts of [{ perChannel: false, reduceRange: false }, { perChannel: true, reduceRange: true }]) {
      const { q, scale, zp } = quantizeInt8(b, K, N, opts);
      expect(scale).toHaveLength(opts.perChannel ? N : 1);
      expect([...zp].every((z) => z === 0)).toBe(true);
      const limit = opts.reduceRange ? 64 : 127;
      for (let i = 0; i < K * N; i++) {
        const s = scale[opts.perChannel ? i % N : 0]!;
        expect(Math.abs(q[i]!)).toBeLessThanOrEqual(limit);
        expect(Math.abs(q[i]! * s - b[i]!)).toBeLessThanOrEqual(s / 2 + 1e-7);
      }
      expect(Math.max(...[...q].map(Math.abs))).toBe(limit);
    }
    const t = values(40, 3);
    const u = quantizeUint8(t);
    for (let i = 0; i < t.length; i++) expect(Math.abs((u.q[i]! - u.zp) * u.scale - t[i]!)).toBeLessThanOrEqual(u.scale / 2 + 1e-7);
  });
});

describe('npm run bench:encoders -- --tiny --no-peers --dtypes f32,q8,q4 (2 layers, hidden 32)', () => {
  const cache = join(out, 'encoder-cache');
  const result = run(
    process.execPath,
    ['--experimental-wasm-relaxed-simd', 'bench/encoders.mjs', '--tiny', '--no-peers', '--dtypes', 'f32,q8,q4', '--cache', cache, '--json', '--out', join(out, 'encoders'), '--machine', 'test'],
    { cwd: root, maxBuffer: 16 * 2 ** 20, timeout: 60_000 },
  );

  it('writes the checkpoint once: config, safetensors, tokenizer, sentence-transformers files and the ONNX graph', async () => {
    await result;
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'modules.json', '1_Pooling/config.json', 'sentence_bert_config.json', 'onnx/model.onnx'])
      expect(existsSync(join(cache, 'bert-tiny', f))).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(join(cache, 'bert-tiny', 'tokenizer.json'), 'utf8')).model.vocab)).toHaveLength(1000);
  });

  it('prints the table: our builds on 1 (and 2) threads and plain JS, each checked against ours, and the peers left out', async () => {
    const { stdout, stderr } = await result;
    expect(stdout).toMatch(/^E1 {2}tiny BERT .*4 sentences × 16 tokens/m);
    expect(stdout).toMatch(/^contender +sent\/s \(texts\) +sent\/s \(ids\) +ms\/call \(ids\)/m);
    for (const t of [1, ...THREADS.slice(0, 1)]) expect(stdout).toMatch(new RegExp(`^wasm-attention (relaxed-simd|simd) ${t}T +\\d`, 'm'));
    const errors = [...stdout.matchAll(/^(wasm-attention \S+ \dT|plain JS \(reference\)) .* (\d\.\de[-+]\d+)$/gm)].map((m) => Number(m[2]));
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const e of errors) expect(e).toBeLessThanOrEqual(1e-4);
    expect(stdout).toMatch(/^transformers\.js wasm 1T +left out \(--no-peers\)/m);
    // Q8 and Q4 rows of ours, checked by their least cosine to the float32 embeddings
    for (const t of [1, ...THREADS.slice(0, 1)])
      for (const d of ['Q8', 'Q4']) expect(stdout).toMatch(new RegExp(`^wasm-attention relaxed-simd ${t}T ${d} +\\d.* cos 0\\.99\\d{4}$|^wasm-attention relaxed-simd ${t}T ${d} +\\d.* cos 1\\.000000$`, 'm'));
    expect(stdout).toMatch(/^q8 rows run model\.safetensors → Q8 blocks of 32 \(loadModel dtype 'q8'\)$/m);
    expect(stdout).toMatch(/plain JS \d+(\.\d+)?× slower than ours on 1 thread/);
    expect(stderr).toMatch(/^\[1\/\d+\] E1 load and check wasm-attention/m);
  });

  it('writes <date>-<machine>-encoders.json and .md', async () => {
    await result;
    const files = readdirSync(join(out, 'encoders'));
    const json = files.find((f) => /-test-encoders\.json$/.test(f));
    expect(json).toBeDefined();
    expect(files).toContain(json!.replace(/json$/, 'md'));
    const record = JSON.parse(readFileSync(join(out, 'encoders', json!), 'utf8'));
    const rows = record.workloads[0].rows;
    expect(rows.find((r: { id: string }) => r.id === 'plain-js').modes.ids.sentencesPerS).toBeGreaterThan(0);
    expect(rows.filter((r: { group: string; status: string }) => r.group === 'ours' && r.status === 'ok').length).toBeGreaterThanOrEqual(1);
    const q4 = rows.find((r: { id: string }) => r.id === 'ours-relaxed-simd-1t-q4');
    expect(q4.dtype).toBe('q4');
    expect(q4.minCosine).toBeGreaterThanOrEqual(0.99);
    expect(q4.error).toBeUndefined();
  });
});

describe('npm run bench:lm -- --tiny --dtypes f32,q8,q4 (a 2-layer hidden-32 Llama, no peers)', () => {
  const lmOut = join(out, 'lm');
  const result = run(process.execPath, ['--experimental-wasm-relaxed-simd', 'bench/lm.mjs', '--tiny', '--dtypes', 'f32,q8,q4', '--json', '--out', lmOut, '--machine', 'test', '--cache', join(out, 'lm-cache'), '--no-progress'], {
    cwd: root,
    maxBuffer: 16 * 2 ** 20,
    timeout: 60_000,
  });

  it('times prefill and decode on every build and thread count, each checked against relaxed-simd 1T', async () => {
    const { stdout } = await result;
    for (const c of ['wasm relaxed-simd 1T', 'wasm relaxed-simd 2T', 'wasm simd 1T', 'wasm simd 2T']) {
      expect(stdout).toMatch(new RegExp(`^${c}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+.*ok \\(greedy same, top-5 order 8/8`, 'm'));
    }
    for (const c of ['wasm relaxed-simd 1T Q8', 'wasm relaxed-simd 2T Q8', 'wasm relaxed-simd 1T Q4', 'wasm relaxed-simd 2T Q4']) {
      expect(stdout).toMatch(new RegExp(`^${c}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+.*${c.slice(-2)} vs F32: first \\d of 8 greedy tokens same`, 'm'));
    }
    expect(stdout).toMatch(/^contender\s+prefill 8 tok\/s\s+prefill 16 tok\/s\s+decode tok\/s \(8 after 16\)/m);
    expect(stdout).toMatch(/Read bandwidth, this process: [\d.]+ GB\/s \(Wasm SIMD sum/);
    expect(stdout).not.toMatch(/^(wllama|onnxruntime)/m);
  });

  it('times the plain-JS twin on the first prefill and 8 decode steps, and it agrees with ours', async () => {
    const { stdout } = await result;
    expect(stdout).toMatch(/^plain JS \(reference\)\s+[\d.]+\s+not timed\s+[\d.]+\s+.*ok \(greedy same, top-5 order 8\/8/m);
    expect(stdout).toMatch(/^Plain JS: the package's float64 reference ops .* timed on a prefill of 8 tokens and 8 decode steps after it; prefill 16 not timed: prefill 8 [\d.]+ tok\/s \(ours relaxed-simd 1T [\d.]+× faster\), decode [\d.]+ tok\/s/m);
  });

  it('decodes without allocating, and writes the record', async () => {
    const { stdout } = await result;
    const m = stdout.match(/bytes in use (\d+) before, (\d+) after; peak \d+ → \d+; allocations (\d+) → (\d+)/);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    expect(m![3]).toBe(m![4]);
    const files = readdirSync(lmOut).sort();
    expect(files).toEqual([expect.stringMatching(/-test-lm-tiny\.json$/), expect.stringMatching(/-test-lm-tiny\.md$/)]);
    const record = JSON.parse(readFileSync(join(lmOut, files[0]!), 'utf8'));
    expect(record.workloads[0].rows.map((r: { id: string }) => r.id)).toEqual(['wasm-relaxed-simd-1t', 'wasm-relaxed-simd-2t', 'wasm-simd-1t', 'wasm-simd-2t', 'wasm-relaxed-simd-1t-q8', 'wasm-relaxed-simd-2t-q8', 'wasm-relaxed-simd-1t-q4', 'wasm-relaxed-simd-2t-q4', 'plain-js']);
    expect(record.workloads[0].rows.every((r: { tokensPerS: { decode: number } }) => r.tokensPerS.decode > 0)).toBe(true);
  });
});

describe('npm run bench:accuracy -- --checkpoint DIR (one folder, q8 and q4 against f32)', () => {
  const accuracy = (dir: string) => run(process.execPath, ['--experimental-wasm-relaxed-simd', 'bench/quantized-accuracy.mjs', '--checkpoint', dir], { cwd: root, timeout: 60_000 });

  it("an encoder: one row of embedding cosines over the fixture sentences (bert-mini-st's figures of docs/accuracy.md)", async () => {
    const { stdout } = await accuracy('test/fixtures/checkpoints/bert-mini-st');
    expect(stdout).toMatch(/^\| encoder \| sentences \| q8 lowest cosine \| q8 mean cosine \| q4 lowest cosine \| q4 mean cosine \|$/m);
    const row = stdout.split('\n').find((l) => l.includes('bert-mini-st'))!.split('|').map((c) => c.trim());
    expect(row[2]).toBe('6');
    expect(Number(row[3])).toBeGreaterThanOrEqual(0.999);
    expect(Number(row[5])).toBeGreaterThan(0.93);
    expect(Number(row[5])).toBeLessThan(0.96);
  });

  it('a language model: one row of next-token KL and top-1 agreement over every position of the lines', async () => {
    const { stdout } = await accuracy('test/fixtures/lm/mistral');
    expect(stdout).toMatch(/^\| checkpoint \| positions \| q8 mean KL \| q8 max KL \| q8 top-1 \| q4 mean KL \| q4 max KL \| q4 top-1 \|$/m);
    const row = stdout.split('\n').find((l) => l.includes('mistral'))!.split('|').map((c) => c.trim());
    expect(Number(row[2])).toBeGreaterThan(6);
    const [q8, q4] = [Number(row[3]), Number(row[6])];
    expect(q8).toBeGreaterThan(0);
    expect(q4).toBeGreaterThan(10 * q8);
    expect(row[5]).toMatch(/^\d+%$/);
  });
});
