// The benchmark suite must not rot: run it in --quick mode on tiny shapes, without the peer
// libraries (they must be reported as not installed, never dropped), and check that the tables,
// the summary, the JSON record and the SVG charts come out; with --no-peers the peers are left out
// (no rows, one line). No timing assertions.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'wasm-attention-bench-'));
const noPeers = join(out, 'no-peers');

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run bench --quick (tiny shapes, no peers)', () => {
  const result = run(
    process.execPath,
    ['--experimental-wasm-relaxed-simd', 'bench/cli.mjs', '--quick', '--tiny', '--json', '--out', out, '--machine', 'test', '--peers-dir', noPeers, '--no-install', '--no-progress', '--memory-timeout', '30'],
    { cwd: root, maxBuffer: 16 * 2 ** 20, timeout: 60_000 },
  );

  it('prints a table per workload and reports the peers as not installed', async () => {
    const { stdout } = await result;
    for (const id of ['S1', 'S2', 'S3', 'S4', 'S5']) expect(stdout).toMatch(new RegExp(`^${id} `, 'm'));
    expect(stdout).toMatch(/median\s+p75\s+samples\s+GFLOP\/s\s+× plain JS\s+× best peer/);
    expect(stdout).toMatch(/wasm-attention simd\s+\S+ µs/);
    expect(stdout).toMatch(/^tfjs-wasm\s+not installed/m);
    // A library whose contenders all could not run for the same reason gets one row.
    expect(stdout).toMatch(/^onnxruntime-node \(4 contenders\)\s+not installed/m);
    expect(stdout).toMatch(/Memory scaling/);
  });

  it('ends with a summary in plain words: each workload against plain JS, causal vs full, memory', async () => {
    const { stdout } = await result;
    const summary = stdout.slice(stdout.indexOf('\nSummary of this run:'));
    expect(summary).toMatch(/^Summary of this run: per workload, the fastest wasm-attention build .* against the plain-JS reference; no peer library ran/m);
    for (const id of ['S1', 'S2', 'S3', 'S4', 'S4-full', 'S5', 'MHA', 'KV-step'])
      expect(summary).toMatch(new RegExp(`^  ${id} .*\\]: (relaxed-simd|simd|scalar) \\S+ (µs|ms), (\\S+× (faster|slower) than|as fast as) the plain-JS reference$`, 'm'));
    expect(summary).toMatch(/^Causal vs full attention: S4 \(causal\) takes this fraction of the time of S4-full .*: relaxed-simd \d\.\d\d \(/m);
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
    expect(stdout).toMatch(/^  S2 self-attention \[.*\]: \S+ \S+ µs, \S+× (faster|slower) than the plain-JS reference$/m);
    expect(stdout).toMatch(/^Causal vs full attention: /m);
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
