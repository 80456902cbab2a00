// The benchmark suite must not rot: run it in --quick mode on tiny shapes, without the peer
// libraries (they must be reported as not installed, never dropped), and check that the tables,
// the JSON record and the SVG charts come out. No timing assertions.
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
    expect(stdout).toMatch(/tfjs-wasm\s+not installed/);
    expect(stdout).toMatch(/ort-node MatMul graph 1T\s+not installed/);
    expect(stdout).toMatch(/Memory scaling/);
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
