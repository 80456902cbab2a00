// SVG charts written by the bench itself (no browser, no library): GFLOP/s per workload and
// contender (horizontal bars, log scale), the memory-scaling curve (peak memory against N,
// log–log, a cross where a contender failed), and thread scaling (speed-up against threads).

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const PALETTE = ['#1f6feb', '#3fb950', '#8957e5', '#6e7781', '#d29922', '#cf222e', '#fa7a18', '#bf3989', '#0e8a6d', '#953800', '#57606a', '#1b7c83', '#a371f7'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

/** The contenders' colours, fixed by their order in the run so both charts agree. */
export function colours(ids) {
  return Object.fromEntries(ids.map((id, i) => [id, PALETTE[i % PALETTE.length]]));
}

function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of [1, 2, 5]) ticks.push(m * 10 ** e);
  return ticks.filter((t) => t >= lo * 0.999 && t <= hi * 1.001);
}
const fmt = (x) => (x >= 1 ? String(+x.toPrecision(3)) : String(+x.toPrecision(2)));

/** GFLOP/s per workload (groups) and contender (bars). `subtitle`: machine and date. */
export function gflopsChart(results, { subtitle = '', colour }) {
  const ids = [...new Set(results.flatMap((r) => r.rows.filter((x) => x.gflops).map((x) => x.id)))];
  const labels = Object.fromEntries(results.flatMap((r) => r.rows.map((x) => [x.id, x.label])));
  const all = results.flatMap((r) => r.rows.filter((x) => x.gflops).map((x) => x.gflops));
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, 10)));
  const left = 150;
  const plotW = 560;
  const barH = 9;
  const groupGap = 14;
  const top = 58;
  const x = (v) => left + (plotW * (Math.log10(v) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const parts = [];
  let y = top;
  for (const r of results) {
    const rows = r.rows.filter((x) => x.gflops);
    const h = Math.max(rows.length, 1) * barH;
    parts.push(`<text x="${left - 8}" y="${y + h / 2 - 2}" text-anchor="end" font-size="12" font-weight="600">${esc(r.id)}</text>`);
    parts.push(`<text x="${left - 8}" y="${y + h / 2 + 11}" text-anchor="end" font-size="9" fill="#57606a">${esc(r.shapeLabel)}</text>`);
    if (!rows.length) parts.push(`<text x="${left + 4}" y="${y + 7}" font-size="9" fill="#57606a">not measured</text>`);
    rows.forEach((row, i) => {
      const w = Math.max(1, x(row.gflops) - left);
      parts.push(`<rect x="${left}" y="${y + i * barH}" width="${w.toFixed(1)}" height="${barH - 1.5}" fill="${colour[row.id]}"><title>${esc(`${row.label}: ${row.gflops.toFixed(2)} GFLOP/s`)}</title></rect>`);
      parts.push(`<text x="${(left + w + 3).toFixed(1)}" y="${y + i * barH + barH - 2.5}" font-size="7.5" fill="#24292f">${fmt(row.gflops)}</text>`);
    });
    y += h + groupGap;
  }
  const plotBottom = y - groupGap + 4;
  const grid = logTicks(lo, hi)
    .map((t) => `<line x1="${x(t)}" x2="${x(t)}" y1="${top - 4}" y2="${plotBottom}" stroke="#d0d7de" stroke-width="${Number.isInteger(Math.log10(t)) ? 1 : 0.5}"/><text x="${x(t)}" y="${plotBottom + 12}" text-anchor="middle" font-size="9" fill="#57606a">${fmt(t)}</text>`)
    .join('');
  const legendX = left + plotW + 24;
  const legend = ids.map((id, i) => `<rect x="${legendX}" y="${top + i * 15}" width="10" height="10" fill="${colour[id]}"/><text x="${legendX + 15}" y="${top + i * 15 + 9}" font-size="10">${esc(labels[id])}</text>`).join('');
  const width = legendX + 190;
  const height = Math.max(plotBottom + 32, top + ids.length * 15 + 10);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="22" font-size="15" font-weight="600">Attention throughput, GFLOP/s (log scale; higher is better)</text>
<text x="12" y="40" font-size="10" fill="#57606a">${esc(subtitle)}</text>
${grid}
<text x="${left + plotW / 2}" y="${plotBottom + 26}" text-anchor="middle" font-size="10" fill="#57606a">GFLOP/s (4·Lq·Lk·D per head; causal counts live pairs only)</text>
${parts.join('\n')}
${legend}
</svg>
`;
}

/** Peak memory against N per contender (Wasm memory for ours, dashed; RSS for everyone), log–log. */
export function memoryChart(memory, lengths, { subtitle = '', colour }) {
  const MIB = 2 ** 20;
  const series = memory.filter((m) => m.status === 'ok');
  const values = series.flatMap((m) => m.runs.flatMap((r) => [r.peakRssBytes, r.wasmCapacityBytes].filter(Boolean).map((b) => b / MIB)));
  const lo = 2 ** Math.floor(Math.log2(Math.min(...values, 16)));
  const hi = 2 ** Math.ceil(Math.log2(Math.max(...values, 1024)));
  const left = 70;
  const top = 56;
  const plotW = 520;
  const plotH = 300;
  const nx = (n) => left + (lengths.length === 1 ? plotW / 2 : (plotW * Math.log2(n / lengths[0])) / Math.log2(lengths.at(-1) / lengths[0]));
  const my = (v) => top + plotH - (plotH * Math.log2(v / lo)) / Math.log2(hi / lo);
  const parts = [];
  for (let v = lo; v <= hi; v *= 4) parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${my(v)}" y2="${my(v)}" stroke="#d0d7de"/><text x="${left - 6}" y="${my(v) + 3}" text-anchor="end" font-size="9" fill="#57606a">${v >= 1024 ? `${v / 1024} GiB` : `${v} MiB`}</text>`);
  for (const n of lengths) parts.push(`<line x1="${nx(n)}" x2="${nx(n)}" y1="${top}" y2="${top + plotH}" stroke="#eaeef2"/><text x="${nx(n)}" y="${top + plotH + 14}" text-anchor="middle" font-size="9" fill="#57606a">${n}</text>`);
  const line = (pts, c, dash) => (pts.length > 1 ? `<polyline fill="none" stroke="${c}" stroke-width="1.8" ${dash ? 'stroke-dasharray="5 3"' : ''} points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>` : '');
  const legend = [];
  series.forEach((m, i) => {
    const c = colour[m.id];
    const ok = m.runs.filter((r) => r.status === 'ok');
    const rss = ok.filter((r) => r.peakRssBytes).map((r) => [nx(r.n), my(r.peakRssBytes / MIB)]);
    parts.push(line(rss, c, false), ...rss.map(([a, b]) => `<circle cx="${a}" cy="${b}" r="2.5" fill="${c}"/>`));
    const wasm = ok.filter((r) => r.wasmCapacityBytes).map((r) => [nx(r.n), my(r.wasmCapacityBytes / MIB)]);
    parts.push(line(wasm, c, true), ...wasm.map(([a, b]) => `<rect x="${a - 2.5}" y="${b - 2.5}" width="5" height="5" fill="${c}"/>`));
    const failed = m.runs.find((r) => r.status !== 'ok');
    if (failed) {
      const fx = nx(failed.n) + ((i % 5) - 2) * 3;
      const fy = top + 8 + (i % 6) * 9;
      parts.push(`<text x="${fx}" y="${fy}" text-anchor="middle" font-size="11" font-weight="700" fill="${c}"><title>${esc(`${m.label} at N ${failed.n}: ${failed.status}`)}</title>×</text>`);
    }
    const what = failed ? `fails at N ${failed.n} (${failed.status.split(/[(:]/)[0].trim()})` : `all N done`;
    legend.push(`<line x1="${left + plotW + 20}" x2="${left + plotW + 36}" y1="${top + i * 28 + 5}" y2="${top + i * 28 + 5}" stroke="${c}" stroke-width="2"/><text x="${left + plotW + 42}" y="${top + i * 28 + 9}" font-size="10">${esc(m.label)}</text><text x="${left + plotW + 42}" y="${top + i * 28 + 21}" font-size="9" fill="#57606a">${esc(what)}</text>`);
  });
  const width = left + plotW + 250;
  const height = Math.max(top + plotH + 56, top + series.length * 28 + 10);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="22" font-size="15" font-weight="600">Memory scaling: single-head self-attention, D 64, one call per fresh process</text>
<text x="12" y="40" font-size="10" fill="#57606a">${esc(subtitle)}</text>
${parts.join('\n')}
<text x="${left + plotW / 2}" y="${top + plotH + 32}" text-anchor="middle" font-size="10" fill="#57606a">sequence length N (log scale); solid: peak process RSS, dashed: Wasm memory of wasm-attention; × where a contender failed</text>
${legend.join('\n')}
</svg>
`;
}

/**
 * Thread scaling (summary.threads, from report.mjs): speed-up over one thread against the thread
 * count. A thin line per workload and library, from (1, 1) to each N that ran; a thick line per
 * library through the geometric mean over workloads; the dashed diagonal is perfect scaling.
 */
export function threadsChart(scaling, { subtitle = '' } = {}) {
  const LIB_COLOUR = { 'wasm-attention': '#1f6feb', 'onnxruntime-web': '#d29922', 'onnxruntime-node': '#cf222e' };
  const all = scaling.workloads.flatMap((w) => w.series);
  const maxN = Math.max(2, ...all.map((x) => x.threads));
  const maxY = Math.max(maxN, ...all.map((x) => x.speedup)) * 1.05;
  const left = 60;
  const top = 56;
  const plotW = 420;
  const plotH = 300;
  const px = (n) => left + (plotW * (n - 1)) / (maxN - 1);
  const py = (v) => top + plotH - (plotH * v) / maxY;
  const parts = [];
  const step = maxY > 8 ? 2 : maxY > 4 ? 1 : 0.5;
  for (let v = 0; v <= maxY; v += step) parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#d0d7de" stroke-width="${v === 1 ? 1.2 : 0.5}"/><text x="${left - 6}" y="${(py(v) + 3).toFixed(1)}" text-anchor="end" font-size="9" fill="#57606a">${v}×</text>`);
  for (let n = 1; n <= maxN; n++) parts.push(`<line x1="${px(n)}" x2="${px(n)}" y1="${top}" y2="${top + plotH}" stroke="#eaeef2"/><text x="${px(n)}" y="${top + plotH + 14}" text-anchor="middle" font-size="9" fill="#57606a">${n}</text>`);
  parts.push(`<line x1="${px(1)}" y1="${py(1).toFixed(1)}" x2="${px(maxN)}" y2="${py(maxN).toFixed(1)}" stroke="#8c959f" stroke-dasharray="4 3"/>`);
  const poly = (pts, c, w, title) => `<polyline fill="none" stroke="${c}" stroke-width="${w}" ${w < 1 ? 'stroke-opacity="0.45"' : ''} points="${pts.map(([n, v]) => `${px(n).toFixed(1)},${py(v).toFixed(1)}`).join(' ')}">${title ? `<title>${esc(title)}</title>` : ''}</polyline>`;
  const libraries = [...new Set(all.map((x) => x.library))];
  const legend = [];
  libraries.forEach((lib, i) => {
    const c = LIB_COLOUR[lib] ?? PALETTE[i % PALETTE.length];
    for (const w of scaling.workloads) {
      const s = w.series.filter((x) => x.library === lib);
      if (s.length) parts.push(poly([[1, 1], ...s.map((x) => [x.threads, x.speedup])], c, 0.8, `${w.id} ${lib}: ${s.map((x) => `${x.threads}T ${x.speedup.toFixed(2)}×`).join(', ')}`));
    }
    const counts = [...new Set(all.filter((x) => x.library === lib).map((x) => x.threads))].sort((a, b) => a - b);
    const mean = counts.map((n) => {
      const xs = all.filter((x) => x.library === lib && x.threads === n).map((x) => x.speedup);
      return [n, Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length)];
    });
    parts.push(poly([[1, 1], ...mean], c, 2.4), ...mean.map(([n, v]) => `<circle cx="${px(n).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3" fill="${c}"><title>${esc(`${lib} ${n} threads: geometric mean ${v.toFixed(2)}×`)}</title></circle>`));
    const build = all.find((x) => x.library === lib && x.build)?.build;
    legend.push(`<line x1="${left + plotW + 20}" x2="${left + plotW + 36}" y1="${top + i * 30 + 5}" y2="${top + i * 30 + 5}" stroke="${c}" stroke-width="2.4"/><text x="${left + plotW + 42}" y="${top + i * 30 + 9}" font-size="10">${esc(build ? `${lib} ${build}` : lib)}</text><text x="${left + plotW + 42}" y="${top + i * 30 + 21}" font-size="9" fill="#57606a">${esc(mean.map(([n, v]) => `${n}T ${v.toFixed(2)}×`).join(', '))} (geo. mean)</text>`);
  });
  const width = left + plotW + 260;
  const height = Math.max(top + plotH + 56, top + libraries.length * 30 + 10);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="22" font-size="15" font-weight="600">Thread scaling: speed-up over one thread of the same build</text>
<text x="12" y="40" font-size="10" fill="#57606a">${esc(subtitle)}</text>
${parts.join('\n')}
<text x="${left + plotW / 2}" y="${top + plotH + 32}" text-anchor="middle" font-size="10" fill="#57606a">threads; thin: one workload, thick: geometric mean over workloads, dashed: perfect scaling</text>
${legend.join('\n')}
</svg>
`;
}
