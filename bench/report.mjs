// The report: a table per workload (text for the terminal, Markdown for the README), the memory-
// scaling table, a plain-words summary of the run (each workload against the plain-JS reference
// and the peers, the causal mask's cost, the variants against their plain twins, memory scaling),
// and the JSON record.
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

function cells(row, columns) {
  if (row.status !== 'ok') return null;
  const all = { median: formatTime(row.median), p75: formatTime(row.p75), samples: String(row.samples), 'GFLOP/s': gflops(row.gflops), '× plain JS': ratio(row.vsJs), '× best peer': ratio(row.vsBestPeer) };
  return columns.slice(1).map((c) => all[c]);
}
const HEAD = ['contender', 'median', 'p75', 'samples', 'GFLOP/s', '× plain JS', '× best peer'];
// The ratio columns only when the run has what they compare with (the reference; peers, measured
// or not: their rows say why).
const headOf = (res) => HEAD.filter((h) => (h === '× plain JS' ? res.rows.some((r) => r.group === 'reference') : h === '× best peer' ? res.rows.some((r) => r.group === 'peer') : true));

/**
 * The rows to print: a peer library whose contenders all could not run for the same reason (not
 * installed, say) gets one row instead of one per contender.
 */
function textRows(res) {
  const out = [];
  for (const r of res.rows) {
    if (r.group !== 'peer' || r.status === 'ok') {
      out.push({ label: r.label, row: r });
      continue;
    }
    const lib = libraryOf(r);
    const same = res.rows.filter((x) => x.group === 'peer' && libraryOf(x) === lib);
    if (same.length > 1 && same.every((x) => x.status === r.status)) {
      if (same[0] === r) out.push({ label: `${lib} (${same.length} contenders)`, row: r });
    } else out.push({ label: r.label, row: r });
  }
  return out;
}

/**
 * The rows whose timings spread: p75 more than `factor` × the median (a busy machine: another
 * process took the core for part of the slices). Quick runs name them under the table.
 */
export const NOISE_FACTOR = 1.25;
export const noisyRows = (res, factor = NOISE_FACTOR) => res.rows.filter((r) => r.status === 'ok' && r.median > 0 && r.p75 > factor * r.median);

/** Under a quick run's table: the noisy rows, or null. */
export function noiseLine(res) {
  const rows = noisyRows(res);
  if (!rows.length) return null;
  return `noisy: ${rows.map((r) => r.label).join(', ')} (p75 more than ${NOISE_FACTOR}× the median: the machine was busy while they ran; differences under about ${NOISE_FACTOR}× with these rows may not hold)`;
}

/** Plain-text table of one workload's result. */
export function textTable(res) {
  const head = headOf(res);
  const body = textRows(res).map(({ label, row: r }) => [label, ...(cells(r, head) ?? [r.status])]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b.length > 2 || i === 0 ? b[i].length : 0))));
  const line = (cols) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [`${res.id}  ${res.title}  [${res.shapeLabel}, ${(res.flops / 1e6).toPrecision(3)} MFLOP]`, line(head), line(widths.map((w) => '-'.repeat(w)))];
  for (const b of body) out.push(b.length > 2 ? line(b) : `${b[0].padEnd(widths[0])}  ${b[1]}`);
  if (res.bestPeer) out.push(`best peer: ${res.rows.find((r) => r.id === res.bestPeer).label}`);
  out.push(...notes(res).map((n) => `${n.labels.join(', ')}: ${n.note}`));
  if (res.checked) out.push(`checked against the reference on ${res.checked}`);
  const alloc = allocationLine(res);
  if (alloc) out.push(alloc);
  return out.join('\n');
}

const stepsText = (n) => (n === 10_000 ? '10⁴' : String(n));
const signed = (n) => (n === 0 ? '±0' : n > 0 ? `+${n}` : String(n));
/**
 * The decoder step's allocation (T3): per build of ours, memoryStats().bytesInUse before and after
 * many steps (cycled with cache.truncate), or null when no row measured it.
 */
export function allocationLine(res) {
  const rows = res.rows.filter((r) => r.allocation);
  if (!rows.length) return null;
  const steps = stepsText(rows[0].allocation.steps);
  const cell = (r) => `${buildName(r)} ${r.allocation.before} / ${r.allocation.after} (${signed(r.allocation.after - r.allocation.before)})`;
  return `decoder step allocation: ${rows.map(cell).join(', ')} bytes before/after ${steps} steps (memoryStats().bytesInUse, the cache cycled with truncate)`;
}

/** The contenders' notes (how a peer expressed the workload), one per distinct note: [{ labels, note }]. */
function notes(res) {
  const by = new Map();
  for (const r of res.rows.filter((x) => x.note)) {
    if (!by.has(r.note)) by.set(r.note, []);
    by.get(r.note).push(r.label);
  }
  return [...by].map(([note, labels]) => ({ labels, note }));
}

/** Markdown table of one workload's result. */
export function markdownTable(res) {
  const head = headOf(res);
  const out = [`**${res.id}** ${res.title} (${res.shapeLabel}; ${(res.flops / 1e6).toPrecision(3)} MFLOP)`, '', `| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i ? '---:' : '---')).join(' | ')} |`];
  for (const r of res.rows) {
    const c = cells(r, head);
    const name = r.group === 'ours' ? `**${r.label}**` : r.label;
    out.push(c ? `| ${name} | ${c.join(' | ')} |` : `| ${name} | ${r.status} |${'|'.repeat(head.length - 2)}`);
  }
  const alloc = allocationLine(res);
  const extra = [...notes(res).map((n) => `${n.labels.join(', ')}: ${n.note}.`), ...(res.checked ? [`Checked against the reference on ${res.checked}.`] : []), ...(alloc ? [`${alloc}.`] : [])];
  if (extra.length) out.push('', ...extra.map((x) => `- ${x}`));
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

/** The variants' memory check as text or Markdown: a row per run. */
export function variantMemoryTable(vm, { markdown = false } = {}) {
  const head = ['run', 'N', 'time', 'peak Wasm allocation', 'Wasm memory', 'peak RSS'];
  const rows = vm.runs.map((r) => (r.status === 'ok' ? [r.label, String(r.n), formatTime(r.ms), mib(r.wasmPeakBytes), mib(r.wasmCapacityBytes), mib(r.peakRssBytes)] : [r.label, String(r.n), r.status]));
  if (vm.status !== 'ok') rows.push([vm.label, vm.status]);
  if (markdown) return [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const widths = head.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length > 3).map((r) => r[i].length)));
  const line = (cols) => cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => (r.length > 3 ? line(r) : r.join('  ')))].join('\n');
}

// ---- names ---------------------------------------------------------------------------------------
const LIBRARIES = [
  [/^tfjs-/, 'tfjs-wasm'],
  [/^ort-web-/, 'onnxruntime-web'],
  [/^ort-node-/, 'onnxruntime-node'],
];
/** The library a contender belongs to: wasm-attention, the plain-JS reference, or a peer's package. */
export function libraryOf(c) {
  if (c.group === 'ours') return 'wasm-attention';
  if (c.group === 'reference') return c.label ?? 'plain JS reference';
  return LIBRARIES.find(([re]) => re.test(c.id))?.[1] ?? c.label ?? c.id;
}
const threadsOf = (id) => Number(/-(\d+)t$/.exec(id)?.[1] ?? 1);
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** A peer as the summary names it: its library, with the thread count for onnxruntime. */
function peerName(id) {
  const lib = libraryOf({ id, group: 'peer' });
  return lib.startsWith('onnxruntime') ? `${lib} (${plural(threadsOf(id), 'thread')})` : lib;
}
/** …and with the ONNX graph, where the two graphs are told apart (memory scaling). */
function peerGraphName(id) {
  const graph = /-matmul-/.test(id) ? 'MatMul graph' : /-mha-/.test(id) ? 'MHA op' : null;
  return graph ? `${libraryOf({ id, group: 'peer' })} (${plural(threadsOf(id), 'thread')}, ${graph})` : peerName(id);
}
const buildName = (row) => row.label.replace(/^wasm-attention /, '');
/** "relaxed-simd", or "relaxed-simd on 2 threads" for a threaded contender of ours. */
const buildThreads = (row) => (threadsOf(row.id) > 1 ? `${row.label.replace(/^wasm-attention /, '').replace(/ \d+T$/, '')} on ${threadsOf(row.id)} threads` : buildName(row));
const shorten = (status) => (status.length > 90 ? `${status.slice(0, 34)} … ${status.slice(-50)}` : status);

/**
 * One line per reason: the contenders left out of this run. A library whose every contender was
 * left out for the same reason is named once (e.g. "onnxruntime-web" for its four contenders).
 */
export function leftOutLines(leftOut, selected = []) {
  const lines = [];
  for (const reason of [...new Set(leftOut.map((c) => c.reason))]) {
    const names = [];
    for (const c of leftOut.filter((x) => x.reason === reason)) {
      const lib = libraryOf(c);
      const whole = c.group === 'peer' && !selected.some((s) => libraryOf(s) === lib) && leftOut.filter((x) => libraryOf(x) === lib).every((x) => x.reason === reason);
      const name = whole ? lib : c.label;
      if (!names.includes(name)) names.push(name);
    }
    const peersOnly = leftOut.filter((x) => x.reason === reason).every((x) => x.group === 'peer');
    lines.push(`${peersOnly ? 'peers left out' : 'left out'} (${reason}): ${names.join(', ')}`);
  }
  return lines;
}

/** One line per library and reason: selected contenders that cannot run (not installed, failed to load). */
export function unavailableLines(selected) {
  const groups = new Map();
  for (const c of selected.filter((x) => x.status !== 'ok')) {
    const key = c.group === 'peer' ? `${libraryOf(c)}\n${c.status}` : `${c.label}\n${c.status}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(c);
  }
  return [...groups.values()].map((cs) => {
    const c = cs[0];
    const name = cs.length === 1 ? c.label : `${libraryOf(c)} (${cs.length} contenders)`;
    return `${name}: ${c.status}`;
  });
}

// ---- the summary: what this run says, in plain words ---------------------------------------------
const row = (res, id) => res?.rows.find((r) => r.id === id && r.status === 'ok' && r.median > 0);
const fastest = (res, ids) => ids.map((id) => row(res, id)).filter(Boolean).sort((a, b) => a.median - b.median)[0];
const ran = (res) => (res?.rows ?? []).filter((r) => r.status === 'ok' && r.median > 0);
const times = (x) => (x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(x < 1.1 ? 2 : 1)}×`);
/** "1.9× faster than X" or "2.2× slower than X": `speedup` = their time ÷ ours. */
const compare = (speedup, name) => (Math.abs(speedup - 1) < 0.005 ? `as fast as ${name}` : speedup > 1 ? `${times(speedup)} faster than ${name}` : `${times(1 / speedup)} slower than ${name}`);

/** Per peer library and thread count, the faster of its graphs that ran: [{ name, row }]. */
function peerFamilies(res) {
  const families = new Map();
  for (const r of ran(res).filter((x) => x.group === 'peer')) {
    const name = peerName(r.id);
    if (!families.has(name) || r.median < families.get(name).median) families.set(name, r);
  }
  return [...families].map(([name, r]) => ({ name, row: r }));
}

function workloadSummary(res) {
  // The title's first phrase and the shape that ran (titles give the full-size shape, --tiny runs small ones).
  const head = `${res.id} ${res.title.split(/[:,]/)[0]} [${res.shapeLabel}]`;
  const base = { id: res.id, title: res.title, shapeLabel: res.shapeLabel };
  if (!res.rows.length) return { ...base, text: `${head}: not run (${res.status})` };
  const best = ran(res)
    .filter((r) => r.group === 'ours')
    .sort((a, b) => a.median - b.median)[0];
  if (!best) return { ...base, text: `${head}: no wasm-attention build ran` };
  const js = ran(res).find((r) => r.group === 'reference');
  const peers = peerFamilies(res).map(({ name, row: r }) => ({ name, id: r.id, median: r.median, speedup: r.median / best.median }));
  const vsJs = js ? js.median / best.median : undefined;
  const parts = [`${buildThreads(best)} ${formatTime(best.median)}`];
  // A reference that recomputes every position (T3: the twin has no cache) is named as such.
  const recomputes = /^recomputes all \d+ positions/.exec(js?.note ?? '')?.[0];
  if (vsJs !== undefined) parts.push(compare(vsJs, recomputes ? `the plain-JS reference, which ${recomputes}` : 'the plain-JS reference'));
  else if (res.rows.some((r) => r.group === 'reference' && /^not timed/.test(r.status))) parts.push('plain JS not timed in --quick runs');
  let text = `${head}: ${parts.join(', ')}`;
  if (peers.length) text += ` — ${peers.map((p) => compare(p.speedup, p.name)).join(', ')}`;
  else if (res.rows.some((r) => r.group === 'peer')) text += ' — no peer ran';
  return { ...base, build: best.id, threads: threadsOf(best.id), median: best.median, vsJs, peers, text };
}

/**
 * Thread scaling per workload: the speed-up of N threads over one thread of the same build, for
 * our best build (each N that ran) and for onnxruntime-web / -node (2 threads
 * over 1, the faster graph at each count).
 * → { threads: [N…], workloads: [{ id, shapeLabel, series: [{ name, library, build?, threads, id, baseId, ms, baseMs, speedup }], text }], text } or null
 */
function threadSummary(results) {
  const lines = [];
  const counts = new Set();
  for (const res of results.filter((r) => r.rows.length)) {
    const series = [];
    // The best build the engine runs (ours come best first) that also ran threaded here.
    const one = ran(res).find((r) => r.group === 'ours' && threadsOf(r.id) === 1 && ran(res).some((x) => x.id.startsWith(`${r.id}-`) && threadsOf(x.id) > 1));
    if (one) {
      for (const r of ran(res).filter((x) => x.group === 'ours' && x.id.startsWith(`${one.id}-`) && threadsOf(x.id) > 1).sort((a, b) => threadsOf(a.id) - threadsOf(b.id))) {
        series.push({ name: `${buildName(one)} ${threadsOf(r.id)}T`, library: 'wasm-attention', build: buildName(one), threads: threadsOf(r.id), id: r.id, baseId: one.id, ms: r.median, baseMs: one.median, speedup: one.median / r.median });
      }
    }
    for (const [lib, short] of [['ort-web', 'onnxruntime-web'], ['ort-node', 'onnxruntime-node']]) {
      const base = fastest(res, [`${lib}-matmul-1t`, `${lib}-mha-1t`]);
      const two = fastest(res, [`${lib}-matmul-2t`, `${lib}-mha-2t`]);
      if (base && two) series.push({ name: `${short} 2T`, library: short, threads: 2, id: two.id, baseId: base.id, ms: two.median, baseMs: base.median, speedup: base.median / two.median });
    }
    if (!series.length) continue;
    for (const x of series) counts.add(x.threads);
    const text = `${res.id} [${res.shapeLabel}]: ${series.map((x) => `${x.name} ${x.speedup.toFixed(2)}×${x.library === 'wasm-attention' ? ` (${formatTime(x.baseMs)} → ${formatTime(x.ms)})` : ''}`).join(', ')}`;
    lines.push({ id: res.id, shapeLabel: res.shapeLabel, series, text });
  }
  if (!lines.length) return null;
  return {
    threads: [...counts].sort((a, b) => a - b),
    workloads: lines,
    text: 'Thread scaling: the speed-up of N threads over one thread of the same build (ours: the best build the engine runs; onnxruntime: 2 threads over 1, its faster graph at each count):',
  };
}

/**
 * Each contender's time on workload `a` against its time on workload `b` (the same shape without
 * a variant): ours and the reference by contender, the peers by library and thread count (the
 * faster graph of each). → [{ name, id, ms, baseMs, ratio: ms / baseMs, ours }]
 */
function pairRows(a, b) {
  if (!a?.rows.length || !b?.rows.length) return [];
  const rows = [];
  // Ours on one thread (the threaded rows have the thread-scaling lines).
  for (const r of ran(a).filter((x) => x.group !== 'peer' && threadsOf(x.id) === 1)) {
    const f = row(b, r.id);
    if (f) rows.push({ name: r.group === 'ours' ? buildName(r) : r.label, id: r.id, ms: r.median, baseMs: f.median, ratio: r.median / f.median, ours: r.group === 'ours' });
  }
  const baseFamilies = new Map(peerFamilies(b).map(({ name, row: r }) => [name, r]));
  for (const { name, row: r } of peerFamilies(a)) {
    const f = baseFamilies.get(name);
    if (f) rows.push({ name, id: r.id, ms: r.median, baseMs: f.median, ratio: r.median / f.median, ours: false });
  }
  return rows;
}
/** "relaxed-simd 0.52 (13.4 ms vs 26.1 ms), …, tfjs-wasm 0.97": times for our builds only. */
const pairCells = (rows, value) => rows.map((r) => `${r.name} ${value(r)}${r.ours ? ` (${formatTime(r.ms)} vs ${formatTime(r.baseMs)})` : ''}`).join(', ');
const pairRecord = (rows) => rows.map(({ ours, ...r }) => r);

function causalSummary(causal, full) {
  const rows = pairRows(causal, full).map((r) => ({ ...r, causalMs: r.ms, fullMs: r.baseMs, fraction: r.ratio }));
  if (!rows.length) return null;
  return {
    rows: pairRecord(rows).map(({ ms, baseMs, ratio, ...r }) => r),
    text: `Causal vs full attention: ${causal.id} (causal) takes this fraction of the time of ${full.id} (same shape, no mask): ${pairCells(rows, (r) => r.fraction.toFixed(2))}`,
  };
}

/** V1 against V1-full: the sliding window's share of full causal attention's time. */
function windowSummary(win, full) {
  const rows = pairRows(win, full);
  if (!rows.length) return null;
  const window = /window \[[^\]]*\]/.exec(win.shapeLabel)?.[0] ?? 'window';
  return {
    rows: pairRecord(rows).map(({ ms, baseMs, ratio, ...r }) => ({ ...r, windowMs: ms, fullMs: baseMs, fraction: ratio })),
    text: `Sliding window vs full causal attention: ${win.id} (causal, ${window}) takes this fraction of the time of ${full.id} (same shape, causal, no window): ${pairCells(rows, (r) => r.ratio.toFixed(2))}`,
  };
}

/** V2–V5 against S3: what each bias or mask costs on top of plain attention of the same shape. */
function biasSummary(variants, plain) {
  const lines = variants
    .map((v) => ({ v, rows: pairRows(v, plain) }))
    .filter((x) => x.rows.length)
    .map(({ v, rows }) => {
      const what = v.title.split(/[:,]/)[0].replace(/ on the \S+ shape$/, '');
      return { id: v.id, what, rows: pairRecord(rows).map(({ ms, baseMs, ratio, ...r }) => ({ ...r, variantMs: ms, plainMs: baseMs, factor: ratio })), text: `${v.id} ${what}: ${pairCells(rows, (r) => `${r.ratio.toFixed(2)}×`)}` };
    });
  if (!lines.length) return null;
  return { base: plain.id, workloads: lines, text: `Biases and masks vs plain attention: each variant's time as a multiple of ${plain.id}'s (the same shape, no bias or mask):` };
}

/** V6-mha against V6: what sharing kv heads saves in a decode step. */
function gqaSummary(gqa, mha) {
  const rows = pairRows(mha, gqa);
  if (!rows.length) return null;
  const kv = (res) => /Hkv(\d+)/.exec(res.shapeLabel)?.[1] ?? '?';
  const heads = /\bH(\d+)/.exec(gqa.shapeLabel)?.[1] ?? '?';
  return {
    rows: pairRecord(rows).map(({ ms, baseMs, ratio, ...r }) => ({ ...r, gqaMs: baseMs, mhaMs: ms, speedup: ratio })),
    text: `Grouped-query vs multi-head decode: ${gqa.id} (${heads} query heads on ${kv(gqa)} kv heads) is this many times faster than ${mha.id} (${kv(mha)} kv heads, same shape): ${rows
      .map((r) => `${r.name} ${times(r.ratio)}${r.ours ? ` (${formatTime(r.baseMs)} vs ${formatTime(r.ms)})` : ''}`)
      .join(', ')}`,
  };
}

/**
 * The transformer encoder layers (T…): each build of ours against the single-thread wasm peers
 * (onnxruntime-web 1 thread, the faster of its graphs; tfjs-wasm) and the plain-JS reference, as
 * their time ÷ ours. → { workloads: [{ id, rows: [{ id, name, ms, against: [{ name, id, ms, speedup }] }], text }], text } or null
 */
function encoderSummary(results) {
  const lines = [];
  for (const res of results.filter((r) => /^T\d+$/.test(r.id) && r.rows.length)) {
    const others = [
      ['onnxruntime-web (1 thread)', fastest(res, ['ort-web-matmul-1t', 'ort-web-mha-1t'])],
      ['tfjs-wasm', row(res, 'tfjs-wasm')],
      [/^recomputes/.test(ran(res).find((r) => r.group === 'reference')?.note ?? '') ? 'plain JS (recomputing every position)' : 'plain JS', ran(res).find((r) => r.group === 'reference')],
    ].filter(([, r]) => r);
    // Our single-thread builds: the peers they are set against run on one thread too (thread scaling has its own lines).
    const rows = ran(res)
      .filter((r) => r.group === 'ours' && threadsOf(r.id) === 1)
      .map((r) => ({ id: r.id, name: buildName(r), ms: r.median, ...(r.allocation ? { allocation: r.allocation } : {}), against: others.map(([name, o]) => ({ name, id: o.id, ms: o.median, speedup: o.median / r.median })) }));
    if (!rows.length) continue;
    const alloc = (r) => (r.allocation ? `, ${signed(r.allocation.after - r.allocation.before)} bytes over ${stepsText(r.allocation.steps)} steps` : '');
    const text = `${res.id} [${res.shapeLabel}]: ${rows.map((r) => `${r.name} ${formatTime(r.ms)}${alloc(r)}${r.against.length ? `: ${r.against.map((a) => `${a.name} ${times(a.speedup)}`).join(', ')}` : ''}`).join('; ')}`;
    lines.push({ id: res.id, rows, text });
  }
  if (!lines.length) return null;
  return { workloads: lines, text: `Transformer encoder layers${lines.some((l) => l.id === 'T3') ? ' and the decoder step (T3, with the bytes it allocated)' : ''} against the single-thread wasm peers and the plain-JS reference (their time ÷ ours, per build; onnxruntime-web's faster graph):` };
}

function memorySummary(memory, lengths) {
  const rows = [];
  for (const m of memory.filter((x) => x.status === 'ok')) {
    const name = m.group === 'peer' ? peerGraphName(m.id) : m.label;
    const failed = m.runs.find((r) => r.status !== 'ok');
    const last = m.runs.find((r) => r.n === m.largestOk && r.status === 'ok');
    const out = { id: m.id, name, largestN: m.largestOk ?? null };
    if (failed) Object.assign(out, { failedAt: failed.n, failure: failed.status });
    const stop = failed ? `N ${failed.n}: ${shorten(failed.status)}` : '';
    if (!last) {
      rows.push({ ...out, text: `${name}: no N completed${stop ? `; ${stop}` : ''}` });
      continue;
    }
    const wasmBytes = last.wasmCapacityBytes ?? last.peer?.wasmBytes;
    Object.assign(out, { ms: last.ms, wasmBytes, peakRssBytes: last.peakRssBytes });
    const mem = [formatTime(last.ms), ...(wasmBytes ? [`Wasm memory ${mib(wasmBytes)}`] : []), ...(last.peakRssBytes ? [`peak RSS ${mib(last.peakRssBytes)}`] : [])].join(', ');
    rows.push({ ...out, text: `${name}: ${failed ? '' : 'every '}N up to ${m.largestOk} (at N ${m.largestOk}: ${mem})${stop ? `; ${stop}` : ''}` });
  }
  if (!rows.length) return null;
  const span = lengths.length > 1 ? `N ${lengths[0]} to ${lengths.at(-1)}` : `N ${lengths[0]}`;
  return { lengths, rows, text: `Memory scaling, single-head D 64 self-attention, ${span}, one call per fresh process (the longest N each contender completed, and its time and peak memory there):` };
}

/** The variants' memory check: one build, each run's time and peak Wasm allocation. */
function variantMemorySummary(vm) {
  if (!vm?.runs.length) return null;
  const at = (id) => vm.runs.find((r) => r.id === id);
  const plain = at('plain');
  const cell = (r) => (r.status !== 'ok' ? `${r.label} at N ${r.n}: ${shorten(r.status)}` : `${r.label} at N ${r.n}: ${formatTime(r.ms)}, peak Wasm allocation ${mib(r.wasmPeakBytes)} (Wasm memory ${mib(r.wasmCapacityBytes)}, peak RSS ${mib(r.peakRssBytes)})`);
  const lines = vm.runs.map((r) => {
    let text = cell(r);
    if (r.id !== 'plain' && r.status === 'ok' && plain?.status === 'ok' && plain.n === r.n) {
      const diff = r.wasmPeakBytes - plain.wasmPeakBytes;
      const size = Math.abs(diff) < 1024 ? `${Math.abs(diff)} bytes` : Math.abs(diff) < MIB ? `${(Math.abs(diff) / 1024).toFixed(1)} KiB` : mib(Math.abs(diff));
      text += `: ${diff === 0 ? 'the same peak as plain attention' : `${size} ${diff > 0 ? 'more' : 'less'} than plain attention`}, ${(r.ms / plain.ms).toFixed(2)}× its time`;
    }
    return { id: r.id, n: r.n, status: r.status, ms: r.ms, wasmPeakBytes: r.wasmPeakBytes, wasmCapacityBytes: r.wasmCapacityBytes, peakRssBytes: r.peakRssBytes, text };
  });
  return { build: vm.id, rows: lines, text: `Memory of the variants at long N (${vm.label}, H 1, D 64, one call per fresh process; the peers would need an explicit [N, N] bias, 4 GiB of float32 at N 32768):` };
}

/**
 * What this run says, in plain words: per workload, the fastest wasm-attention build against the
 * plain-JS reference and against each peer library that ran; the cost of the causal mask (S4 vs
 * S4-full), of the sliding window (V1 vs V1-full), of each bias and mask (V2–V5 vs S3), the gain of
 * grouped-query heads (V6 vs V6-mha); the transformer encoder layers (T…) per build against the
 * single-thread wasm peers and plain JS; the speed-up of N threads over one (threadSummary); how far each contender scaled in memory, and the variants'
 * memory at long N (`variantMem`, from memory.mjs variantMemory).
 * → { peersNowhere, workloads: [{ id, build, threads, median, vsJs, peers: [{ name, id, median, speedup }], text }], causal, window, biases, gqa, encoders, threads, memory, variantMemory }
 */
export function summarize(results, memory, lengths, variantMem) {
  const by = Object.fromEntries(results.map((r) => [r.id, r]));
  const biasIds = ['V2', 'V3', 'V4', 'V5'].filter((id) => by[id]);
  const workloads = results.map(workloadSummary);
  // Peers in the run that ran nowhere (not installed, say): said once, not on every line.
  const peersNowhere = results.some((r) => r.rows.some((x) => x.group === 'peer')) && !results.some((r) => ran(r).some((x) => x.group === 'peer'));
  if (peersNowhere) for (const w of workloads) w.text = w.text.replace(/ — no peer ran$/, '');
  return {
    peersNowhere,
    workloads,
    causal: causalSummary(by.S4, by['S4-full']),
    window: windowSummary(by.V1, by['V1-full']),
    biases: by.S3 ? biasSummary(biasIds.map((id) => by[id]), by.S3) : null,
    gqa: gqaSummary(by.V6, by['V6-mha']),
    encoders: encoderSummary(results),
    threads: threadSummary(results),
    memory: memory && lengths ? memorySummary(memory, lengths) : null,
    variantMemory: variantMemorySummary(variantMem),
  };
}

const peersRan = (summary) => summary.workloads.some((w) => w.peers?.length);
function summaryHead(summary) {
  const against = [...(summary.workloads.some((w) => w.vsJs !== undefined) ? ['the plain-JS reference'] : []), ...(peersRan(summary) ? ['each peer library that ran'] : [])];
  const note = peersRan(summary) ? "; a peer's time is the faster of its two ONNX graphs (MatMul graph, MHA op) where it has two" : '';
  const nowhere = summary.peersNowhere ? '; no peer library ran (the tables say why)' : '';
  return `per workload, the fastest wasm-attention build on any thread count (median time per call)${against.length ? ` against ${against.join(' and ')}` : ''}${note}${nowhere}`;
}

/** The summary as text for the terminal. */
export function summaryText(summary) {
  const out = [`Summary of this run: ${summaryHead(summary)}.`];
  for (const w of summary.workloads) out.push(`  ${w.text}`);
  if (summary.causal) out.push(summary.causal.text);
  if (summary.window) out.push(summary.window.text);
  if (summary.biases) out.push(summary.biases.text, ...summary.biases.workloads.map((w) => `  ${w.text}`));
  if (summary.gqa) out.push(summary.gqa.text);
  if (summary.encoders) out.push(summary.encoders.text, ...summary.encoders.workloads.map((w) => `  ${w.text}`));
  if (summary.threads) out.push(summary.threads.text, ...summary.threads.workloads.map((w) => `  ${w.text}`));
  if (summary.memory) out.push(summary.memory.text, ...summary.memory.rows.map((r) => `  ${r.text}`));
  if (summary.variantMemory) out.push(summary.variantMemory.text, ...summary.variantMemory.rows.map((r) => `  ${r.text}`));
  return out.join('\n');
}

/** The summary as Markdown, for the run's .md file. */
export function summaryMarkdown(summary) {
  const out = [`**In short**: ${summaryHead(summary)}.`, '', ...summary.workloads.map((w) => `- ${w.text}`)];
  if (summary.causal) out.push(`- ${summary.causal.text}`);
  if (summary.window) out.push(`- ${summary.window.text}`);
  if (summary.biases) out.push(`- ${summary.biases.text}`, ...summary.biases.workloads.map((w) => `  - ${w.text}`));
  if (summary.gqa) out.push(`- ${summary.gqa.text}`);
  if (summary.encoders) out.push(`- ${summary.encoders.text}`, ...summary.encoders.workloads.map((w) => `  - ${w.text}`));
  if (summary.threads) out.push(`- ${summary.threads.text}`, ...summary.threads.workloads.map((w) => `  - ${w.text}`));
  if (summary.memory) out.push('', summary.memory.text, '', ...summary.memory.rows.map((r) => `- ${r.text}`));
  if (summary.variantMemory) out.push('', summary.variantMemory.text, '', ...summary.variantMemory.rows.map((r) => `- ${r.text}`));
  return out.join('\n');
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
  const FAMILIES = [
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
  // Only the columns of contenders that are in the run (measured or not; left-out ones are not).
  const present = new Set(results.flatMap((res) => res.rows.map((r) => r.id)));
  // Our threaded builds ('wasm relaxed-simd 2T'), after the single-thread ones, by build then thread count.
  const builds = ['relaxed-simd', 'simd', 'scalar'];
  const threaded = [...present]
    .map((id) => /^wasm-(.+)-(\d+)t$/.exec(id))
    .filter(Boolean)
    .sort((a, b) => builds.indexOf(a[1]) - builds.indexOf(b[1]) || Number(a[2]) - Number(b[2]))
    .map((m) => [`wasm ${m[1]} ${m[2]}T`, [m[0]]]);
  FAMILIES.splice(3, 0, ...threaded);
  const families = FAMILIES.filter(([, ids]) => ids.some((id) => present.has(id)));
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
