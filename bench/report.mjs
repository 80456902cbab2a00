// The report: a table per workload (text for the terminal, Markdown for the README), the memory-
// scaling table, the issue's bars checked against this run, and the JSON record.
import { arch, cpus, platform, totalmem } from 'node:os';

const MIB = 2 ** 20;

export function formatTime(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}
const ratio = (x) => (x === undefined ? '–' : x >= 100 ? `${x.toFixed(0)}×` : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`);
const gflops = (x) => (x === undefined ? '–' : x >= 10 ? x.toFixed(1) : x.toPrecision(2));
const mib = (bytes) => (bytes === undefined ? '–' : `${(bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0)} MiB`);

function cells(row) {
  if (row.status !== 'ok') return null;
  return [formatTime(row.median), formatTime(row.p75), String(row.samples), gflops(row.gflops), ratio(row.vsJs), ratio(row.vsBestPeer)];
}
const HEAD = ['contender', 'median', 'p75', 'samples', 'GFLOP/s', '× plain JS', '× best peer'];

/** Plain-text table of one workload's result. */
export function textTable(res) {
  const body = res.rows.map((r) => [r.label, ...(cells(r) ?? [r.status])]);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.filter((b) => b.length > 2).map((b) => b[i].length)));
  const line = (cols) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [`${res.id}  ${res.title}  [${res.shapeLabel}, ${(res.flops / 1e6).toPrecision(3)} MFLOP]`, line(HEAD), line(widths.map((w) => '-'.repeat(w)))];
  for (const b of body) out.push(b.length > 2 ? line(b) : `${b[0].padEnd(widths[0])}  ${b[1]}`);
  if (res.bestPeer) out.push(`best peer: ${res.rows.find((r) => r.id === res.bestPeer).label}`);
  return out.join('\n');
}

/** Markdown table of one workload's result. */
export function markdownTable(res) {
  const out = [`**${res.id}** ${res.title} (${res.shapeLabel}; ${(res.flops / 1e6).toPrecision(3)} MFLOP)`, '', `| ${HEAD.join(' | ')} |`, `| ${HEAD.map((_, i) => (i ? '---:' : '---')).join(' | ')} |`];
  for (const r of res.rows) {
    const c = cells(r);
    const name = r.group === 'ours' ? `**${r.label}**` : r.label;
    out.push(c ? `| ${name} | ${c.join(' | ')} |` : `| ${name} | ${r.status} ||||||`);
  }
  return out.join('\n');
}

function memoryCell(run) {
  if (!run) return '';
  if (run.status !== 'ok') return run.status.length > 90 ? `${run.status.slice(0, 34)} … ${run.status.slice(-50)}` : run.status;
  const wasm = run.wasmCapacityBytes ? `Wasm ${mib(run.wasmCapacityBytes)}, ` : run.peer?.wasmBytes ? `Wasm ${mib(run.peer.wasmBytes)}, ` : '';
  return `${formatTime(run.ms)}, ${wasm}RSS ${mib(run.peakRssBytes)}`;
}

/** Memory scaling as text or Markdown: a row per contender, a column per N. */
export function memoryTable(mem, lengths, { markdown = false } = {}) {
  const head = ['contender', 'largest N', ...lengths.map((n) => `N ${n}`)];
  const rows = mem.map((m) => (m.status !== 'ok' ? [m.label, m.status] : [m.label, m.largestOk ? String(m.largestOk) : 'none', ...lengths.map((n) => memoryCell(m.runs.find((r) => r.n === n)))]));
  if (markdown) {
    return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length > 2).map((r) => (r[i] ?? '').length)));
  const line = (cols) => cols.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => (r.length > 2 ? line(r) : `${r[0].padEnd(widths[0])}  ${r[1]}`))].join('\n');
}

// ---- the issue's bars ---------------------------------------------------------------------------
const row = (res, id) => res?.rows.find((r) => r.id === id && r.status === 'ok');
const fastest = (res, ids) => ids.map((id) => row(res, id)).filter(Boolean).sort((a, b) => a.median - b.median)[0];

/** Each bar of the issue, checked against this run: { bar, met: true | false | null (not measured), detail }. */
export function checkBars(results, memory) {
  const by = Object.fromEntries(results.map((r) => [r.id, r]));
  const bars = [];
  const add = (bar, met, detail) => bars.push({ bar, met, detail });
  for (const id of ['S2', 'S3', 'S4', 'S5']) {
    const res = by[id];
    const simd = row(res, 'wasm-simd');
    const relaxed = row(res, 'wasm-relaxed-simd');
    const ortWeb = fastest(res, ['ort-web-matmul-1t', 'ort-web-mha-1t']);
    const tfjs = row(res, 'tfjs-wasm');
    const js = row(res, 'plain-js');
    if (!res) continue;
    if (!simd) {
      add(`${id}: SIMD build beats ort-web 1T and tfjs-wasm, ≥ 40× plain JS`, null, 'simd build not measured');
      continue;
    }
    const parts = [];
    let met = true;
    if (ortWeb) (parts.push(`${ratio(ortWeb.median / simd.median)} ${ortWeb.label}`), (met &&= simd.median < ortWeb.median));
    else parts.push('ort-web not measured');
    if (tfjs) (parts.push(`${ratio(tfjs.median / simd.median)} tfjs-wasm`), (met &&= simd.median < tfjs.median));
    else parts.push('tfjs-wasm not measured');
    if (js) (parts.push(`${ratio(js.median / simd.median)} plain JS`), (met &&= js.median / simd.median >= 40));
    else parts.push('plain JS not measured');
    add(`${id}: SIMD build beats ort-web 1T and tfjs-wasm, ≥ 40× plain JS`, ortWeb && tfjs && js ? met : met ? null : false, `simd ${gflops(simd.gflops)} GFLOP/s: ${parts.join(', ')}`);
    if (relaxed) add(`${id}: relaxed-simd faster than simd`, relaxed.median < simd.median, `${ratio(simd.median / relaxed.median)} simd (${gflops(relaxed.gflops)} vs ${gflops(simd.gflops)} GFLOP/s)`);
  }
  for (const id of ['wasm-relaxed-simd', 'wasm-simd']) {
    const causal = row(by.S4, id);
    const full = row(by['S4-full'], id);
    if (causal && full) {
      const f = causal.median / full.median;
      add(`S4: causal costs about half of non-causal (${id})`, f <= 0.6, `causal ${formatTime(causal.median)} / non-causal ${formatTime(full.median)} = ${f.toFixed(2)}`);
    }
  }
  // the decoder-step bars hold for both decoder steps: dot (S1) and Bahdanau (S1-bahdanau)
  for (const [step, id] of ['S1', 'S1-bahdanau'].flatMap((w) => ['wasm-relaxed-simd', 'wasm-simd'].map((c) => [w, c]))) {
    const ours = row(by[step], id);
    if (!ours) continue;
    const ortWeb = fastest(by[step], ['ort-web-matmul-1t', 'ort-web-mha-1t']);
    const ortNode = fastest(by[step], ['ort-node-matmul-1t', 'ort-node-mha-1t']);
    add(
      `${step} (${id}): ≥ 10× faster than ort-web`,
      ortWeb ? ortWeb.median / ours.median >= 10 : null,
      ortWeb ? `${formatTime(ours.median)} vs ${formatTime(ortWeb.median)} (${ortWeb.label}): ${ratio(ortWeb.median / ours.median)}` : 'ort-web not measured',
    );
    add(
      `${step} (${id}): no slower than ort-node`,
      ortNode ? ours.median <= ortNode.median : null,
      ortNode ? `${formatTime(ours.median)} vs ${formatTime(ortNode.median)} (${ortNode.label}): ${ratio(ortNode.median / ours.median)}` : 'ort-node not measured',
    );
  }
  if (memory) {
    for (const m of memory.filter((x) => x.group === 'ours' && x.status === 'ok')) {
      const run = m.runs.find((r) => r.n === 32768);
      if (!run) continue;
      add(
        `Memory (${m.id}): N 32768 completes in < 64 MiB of Wasm memory`,
        run.status === 'ok' && run.wasmCapacityBytes < 64 * MIB,
        run.status === 'ok' ? `Wasm memory ${mib(run.wasmCapacityBytes)} (peak allocated ${mib(run.wasmPeakBytes)}), RSS ${mib(run.peakRssBytes)}, ${formatTime(run.ms)}` : run.status,
      );
    }
    const peers = memory.filter((x) => x.group === 'peer' && x.status === 'ok');
    const reached32k = memory.some((x) => x.runs.some((r) => r.n === 32768));
    if (peers.length && reached32k) {
      const detail = peers.map((p) => {
        const run = p.runs.find((r) => r.n === 32768);
        return `${p.label}: ${run ? (run.status === 'ok' ? `completes, RSS ${mib(run.peakRssBytes)}` : run.status) : `stopped before (largest N ${p.largestOk ?? 'none'})`}`;
      });
      const fine = peers.filter((p) => {
        const run = p.runs.find((r) => r.n === 32768);
        return run?.status === 'ok' && run.peakRssBytes < 1024 * MIB;
      });
      add('Memory: at N 32768 the peers fail or need GBs', fine.length === 0, detail.join('; '));
    }
  }
  return bars;
}

export function barsText(bars) {
  return bars.map((b) => `${b.met === true ? 'MET   ' : b.met === false ? 'MISSED' : 'n/a   '}  ${b.bar}: ${b.detail}`).join('\n');
}

// ---- the record -----------------------------------------------------------------------------------
export function environment(extra = {}) {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    machine: { cpu: cpu[0]?.model?.trim() ?? 'unknown', cores: cpu.length, memoryGiB: Math.round(totalmem() / 2 ** 30), platform: platform(), arch: arch() },
    node: process.version,
    v8: process.versions.v8,
    execArgv: process.execArgv,
    ...extra,
  };
}

/** A short machine name for file names: cpu model and core count, e.g. "amd-epyc-2c". */
export function machineSlug(env) {
  const model = env.machine.cpu
    .toLowerCase()
    .replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .split('-')
    .slice(0, 4)
    .join('-');
  return `${model || 'cpu'}-${env.machine.cores}c`;
}

/**
 * One line per workload, a column per build of ours, plain JS and the fastest of each peer family
 * (single thread unless marked): median (GFLOP/s). For the README.
 */
export function summaryTable(results) {
  const families = [
    ['wasm relaxed-simd', ['wasm-relaxed-simd']],
    ['wasm simd', ['wasm-simd']],
    ['wasm scalar', ['wasm-scalar']],
    ['plain JS', ['plain-js']],
    ['tfjs-wasm', ['tfjs-wasm']],
    ['ort-web 1T', ['ort-web-matmul-1t', 'ort-web-mha-1t']],
    ['ort-web 2T', ['ort-web-matmul-2t', 'ort-web-mha-2t']],
    ['ort-node 1T', ['ort-node-matmul-1t', 'ort-node-mha-1t']],
    ['ort-node 2T', ['ort-node-matmul-2t', 'ort-node-mha-2t']],
  ];
  const head = ['workload', ...families.map(([name]) => name)];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i ? '---:' : '---')).join(' | ')} |`];
  for (const res of results) {
    if (!res.rows.length) {
      lines.push(`| ${res.id} | ${res.status} |${' |'.repeat(families.length - 1)}`);
      continue;
    }
    const cellsOf = families.map(([, ids]) => {
      const r = fastest(res, ids);
      if (!r) return '–';
      const text = `${formatTime(r.median)} (${gflops(r.gflops)})`;
      return r.group === 'ours' ? `**${text}**` : text;
    });
    lines.push(`| ${res.id} ${res.shapeLabel} | ${cellsOf.join(' | ')} |`);
  }
  return lines.join('\n');
}
