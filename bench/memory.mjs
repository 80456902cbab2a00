// Memory scaling: single-head D 64 self-attention at growing N (and the variants' memory check:
// ALiBi and a sliding window at long N, variantMemory), each contender at each N in a
// fresh child process, bounded by time and by resident memory (the parent watches the child's
// RSS in /proc and kills it past the cap). The largest N each contender completes, and its peak.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./memory-child.mjs', import.meta.url));
const MIB = 2 ** 20;

function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(s.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * One contender at one N → { n, status: 'ok' | 'timeout' | 'out of memory cap' | 'failed: …', ms?, … }.
 * `variant`: plain attention when absent, else the options of the variants' memory check.
 */
export function runOne(contender, n, { d = 64, timeoutMs, capBytes, peersDir, variant }) {
  return new Promise((resolve) => {
    const child = fork(CHILD, [JSON.stringify({ contender, n, d, peersDir, variant })], { execArgv: process.execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr.on('data', (x) => (stderr = (stderr + x).slice(-4000)));
    let result = null;
    let peakRss = 0;
    let killedFor = null;
    const started = performance.now();
    const watch = setInterval(() => {
      const s = procStatus(child.pid);
      if (s) peakRss = Math.max(peakRss, s.hwm, s.rss);
      if (s && s.rss > capBytes) killedFor = `out of memory cap (RSS > ${Math.round(capBytes / MIB)} MiB)`;
      else if (performance.now() - started > timeoutMs) killedFor = `timeout (> ${Math.round(timeoutMs / 1000)} s)`;
      if (killedFor) child.kill('SIGKILL');
    }, 50);
    child.on('message', (m) => {
      if (m.phase !== 'running') result = m;
    });
    child.on('exit', (code, signal) => {
      clearInterval(watch);
      const base = { n, peakRssBytes: Math.max(peakRss, result?.maxRssBytes ?? 0) || undefined };
      if (result?.phase === 'done') resolve({ ...base, status: 'ok', ms: result.ms, wasmPeakBytes: result.wasmPeakBytes, wasmCapacityBytes: result.wasmCapacityBytes, peer: result.peer });
      else if (result?.phase === 'error') resolve({ ...base, status: `failed: ${result.error}` });
      else if (killedFor) resolve({ ...base, status: killedFor });
      else {
        const last = stderr.trim().split('\n').filter((l) => /error|abort|memory/i.test(l)).at(-1) ?? stderr.trim().split('\n').at(-1) ?? '';
        resolve({ ...base, status: `crashed (${signal ?? `exit ${code}`})${last ? `: ${last.slice(0, 160)}` : ''}` });
      }
    });
  });
}

/**
 * Every runnable contender over `lengths`, ascending; after a contender fails at some N the larger
 * ones are not tried. → [{ id, label, status, largestOk, runs: [...] }]
 */
export async function memoryScaling(contenders, lengths, { timeoutMs, capBytes, peersDir, progress = () => {} }) {
  const out = [];
  for (const c of contenders) {
    const entry = { id: c.id, label: c.label, group: c.group, status: c.status, runs: [] };
    out.push(entry);
    if (c.status !== 'ok') continue;
    for (const n of lengths) {
      progress(`memory ${c.label} N ${n}`);
      const r = await runOne(c.id, n, { timeoutMs, capBytes, peersDir });
      entry.runs.push(r);
      if (r.status !== 'ok') break;
      entry.largestOk = n;
    }
  }
  return out;
}

/**
 * The memory check of the variants (workloads.mjs variantMemoryRuns): ALiBi next to plain attention
 * at the same N, and a causal sliding window at a longer N, each one call in a fresh process, on
 * one build of ours (the fastest the engine runs; the peers have no such options, and an explicit
 * [N, N] float bias alone would be 4 GiB at N 32768).
 * → { id, label, status, runs: [{ id, label, n, status, ms?, wasmPeakBytes?, wasmCapacityBytes?, peakRssBytes? }] }
 */
export async function variantMemory(contender, runs, { timeoutMs, capBytes, progress = () => {} }) {
  const out = { id: contender.id, label: contender.label, status: contender.status, runs: [] };
  for (const r of runs) {
    progress(`memory ${contender.label} ${r.label} N ${r.n}`);
    if (contender.status !== 'ok') continue;
    out.runs.push({ id: r.id, label: r.label, ...(await runOne(contender.id, r.n, { timeoutMs, capBytes, variant: r.variant })) });
  }
  return out;
}
