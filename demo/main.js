// The demo page. The small interactive pictures run on the main thread (they take a millisecond);
// the benchmark runs in a Web Worker. The package is imported the way a user would: its public
// entry, which finds its .wasm builds through import.meta.url.
import { init, supportedBackends } from '../dist/index.js';
import { WORKED_EXAMPLE, workedExample, sentenceAttention, HEADS, MAX_WORDS } from './examples.js';
import { initDateNormalizer } from './date-normalizer.js';
import { initCheckpoint } from './checkpoint.js';
import { initChat } from './chat.js';
import { drawHeatmap, drawBars } from './heatmap.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const forced = params.get('backend') || undefined;
// ?threads=N forces a thread count (default 'auto': the cores the browser reports, when the page is cross-origin isolated).
const forcedThreads = params.get('threads') ? Number(params.get('threads')) : undefined;
const fmt = (x) => (Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(2) : String(+x.toFixed(4)));
const fmtVec = (xs) => `[${Array.from(xs, fmt).join(', ')}]`;

// What the browser tests (and a curious reader in the console) can reach.
const demo = (window.demo = { rt: null, timings: {}, bench: null });

function showError(error) {
  const box = $('error');
  box.hidden = false;
  box.textContent = String(error && error.message ? error.message : error);
  console.error(error);
}

/** Runs `fn` and records how long it took (compute + draw) under `name`. */
function timed(name, fn) {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  demo.timings[name] = ms;
  return ms;
}

// ── 1. The worked example ──────────────────────────────────────────────────────────────────────
function renderWorkedExample(rt) {
  const inputs = [...$('h-inputs').querySelectorAll('input')];
  const h = inputs.map((i) => Number(i.value) || 0);
  const { scores, weights, context, fused } = workedExample(rt, h, WORKED_EXAMPLE.hs);
  const body = $('worked-table').tBodies[0];
  body.replaceChildren(
    ...WORKED_EXAMPLE.hs.map((row, s) => {
      const tr = document.createElement('tr');
      tr.innerHTML =
        `<td>${s}</td><td class="vector">[${row.join(', ')}]</td>` +
        `<td data-testid="score-${s}" data-value="${scores[s]}">${fmt(scores[s])}</td>` +
        `<td data-testid="weight-${s}" data-value="${weights[s]}"><span class="bar-track"><span class="bar" style="width:${(weights[s] * 100).toFixed(2)}%"></span></span>${fmt(weights[s])}</td>`;
      return tr;
    }),
  );
  const ctx = $('worked-context');
  ctx.textContent = fmtVec(context);
  ctx.dataset.values = JSON.stringify(Array.from(context));
  let diff = 0;
  for (let i = 0; i < context.length; i++) diff = Math.max(diff, Math.abs(context[i] - fused.output[i]));
  $('worked-fused').textContent = `one fused call (scaledDotProductAttention, scale 1): ${fmtVec(fused.output)}, max difference ${fmt(diff)}`;
}

// ── 2. Self-attention heatmaps ─────────────────────────────────────────────────────────────────
function renderSelf(rt) {
  const typed = $('sentence').value.trim().split(/\s+/).filter(Boolean);
  const words = typed.slice(0, MAX_WORDS);
  // Longer text is cut to MAX_WORDS: say so next to the input.
  const cut = $('sentence-cut');
  cut.hidden = typed.length <= MAX_WORDS;
  cut.textContent = cut.hidden ? '' : `showing the first ${MAX_WORDS} of ${typed.length} words`;
  if (words.length === 0) return;
  const causal = $('causal').checked;
  const { weights, length: L } = sentenceAttention(rt, { words, causal });
  const holder = $('heads');
  if (holder.children.length !== HEADS.length) {
    holder.replaceChildren(
      ...HEADS.map((head, h) => {
        const fig = document.createElement('figure');
        fig.className = 'head';
        fig.innerHTML = `<figcaption>head ${h + 1}: ${head.name}<br /><span>${head.note}</span></figcaption><canvas data-testid="head-${h}"></canvas>`;
        return fig;
      }),
    );
  }
  demo.self = { words, typedWords: typed.length, causal, weights };
  [...holder.querySelectorAll('canvas')].forEach((canvas, h) => {
    const locate = drawHeatmap(canvas, weights, {
      rows: L,
      cols: L,
      rowLabels: words,
      colLabels: words,
      offset: h * L * L,
      cell: L > 12 ? 16 : 20,
      masked: (i, j) => causal && j > i,
    });
    canvas.dataset.causal = String(causal);
    canvas.onmousemove = (e) => {
      const at = locate(e.offsetX, e.offsetY);
      $('self-hover').textContent = at
        ? `head ${h + 1}: "${words[at.i]}" (${at.i}) → "${words[at.j]}" (${at.j}): weight ${fmt(weights[(h * L + at.i) * L + at.j])}`
        : '\u00a0';
    };
  });
}

// ── 6. Benchmark in a worker ───────────────────────────────────────────────────────────────────
const COLOURS = { 'wasm relaxed-simd': '#08306b', 'wasm simd': '#2171b5', 'wasm scalar': '#6baed6', 'plain JS': '#e8843a' };
const THREADED = '#41ab5d';

/** The threaded rows against the same build on one thread: "relaxed-simd, 2 threads vs 1: self 1.8×, …". */
function threadLine(results, threaded) {
  if (!threaded) return '';
  if (!threaded.threads) return `Threads in the benchmark worker: 1 (${threaded.reason}), so no 1-vs-N comparison.`;
  const parts = [];
  for (const r of results.filter((x) => x.impl === threaded.impl)) {
    const one = results.find((x) => x.shape === r.shape && x.impl === threaded.base);
    if (one) parts.push(`${r.shape} ${(one.medianMs / r.medianMs).toFixed(2)}×`);
  }
  return `Speed-up of ${threaded.threads} threads over 1 (${threaded.base.replace(/^wasm /, '')}, same calls): ${parts.join(', ') || '…'}`;
}

function chart(results) {
  const groups = [];
  for (const r of results) {
    let g = groups.find((x) => x.title === r.shapeName);
    if (!g) groups.push((g = { title: r.shapeName, bars: [] }));
    const vs = r.impl === 'plain JS' ? '' : ` · ${r.vsJs.toFixed(1)}× JS`;
    g.bars.push({ label: r.impl, value: r.gflops, colour: COLOURS[r.impl] ?? (/ \d+T$/.test(r.impl) ? THREADED : '#888'), text: `${r.medianMs < 1 ? r.medianMs.toFixed(3) : r.medianMs.toFixed(2)} ms · ${r.gflops.toFixed(2)} GFLOP/s${vs}` });
  }
  // Wasm builds (best first) above the JS bar they are compared with.
  for (const g of groups) g.bars.sort((a, b) => (a.label === 'plain JS') - (b.label === 'plain JS'));
  drawBars($('bench-chart'), groups, { unit: 'GFLOP/s' });
}

/** Runs the benchmark in a worker; resolves to the results. Options: { shapes?: string[], timing? }. */
function runBench(options = {}) {
  const button = $('bench-run');
  const progress = $('bench-progress');
  const status = $('bench-status');
  button.disabled = true;
  progress.value = 0;
  const results = [];
  chart(results);
  $('bench-threads').textContent = '';
  // Main-thread heartbeat: the longest gap between 16 ms timer ticks while the worker runs.
  let last = performance.now();
  let maxGap = 0;
  const beat = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 16);
  const worker = new Worker(new URL('./bench-worker.js', import.meta.url), { type: 'module' });
  const t0 = performance.now();
  demo.bench = { running: true, results, threaded: null };
  return new Promise((resolve, reject) => {
    const finish = () => {
      clearInterval(beat);
      worker.terminate();
      button.disabled = false;
      demo.bench.running = false;
      demo.bench.heartbeatMaxGapMs = maxGap;
      $('bench-heartbeat').textContent = `Main thread during the run: longest gap between 16 ms timer ticks ${maxGap.toFixed(0)} ms.`;
    };
    worker.onmessage = ({ data }) => {
      if (data.type === 'progress') {
        progress.max = data.total;
        progress.value = data.done;
        status.textContent = `shape ${Math.min(data.total, Math.floor(data.done) + 1)}/${data.total} · ${data.label}…`;
      } else if (data.type === 'threads') {
        demo.bench.threaded = data;
        $('bench-threads').textContent = threadLine(results, data);
      } else if (data.type === 'result') {
        results.push(data.result);
        chart(results);
        $('bench-threads').textContent = threadLine(results, demo.bench.threaded);
      } else if (data.type === 'done') {
        finish();
        status.textContent = `done in ${((performance.now() - t0) / 1000).toFixed(1)} s (builds: ${data.builds.join(', ')})`;
        demo.bench.done = true;
        resolve(results);
      } else if (data.type === 'error') {
        finish();
        status.textContent = 'failed';
        showError(data.message);
        reject(new Error(data.message));
      }
    };
    worker.onerror = (event) => {
      finish();
      status.textContent = 'failed';
      showError(event.message || 'the benchmark worker failed to start');
      reject(new Error(event.message));
    };
    const shapes = options.shapes ?? params.get('bench')?.split(',');
    // The worker compares one thread with the page's thread count (2 when the page runs on one).
    worker.postMessage({ type: 'run', backend: forced ?? 'auto', shapes, timing: options.timing, threads: demo.rt?.threads ?? 1 });
  });
}
demo.runBench = runBench;

// ── Start ──────────────────────────────────────────────────────────────────────────────────────
async function main() {
  $('sentence-limit').textContent = `up to ${MAX_WORDS} words; longer text is cut`;
  $('supported').textContent = supportedBackends().join(', ');
  const rt = await init({ ...(forced ? { backend: forced } : {}), ...(forcedThreads ? { threads: forcedThreads } : {}) });
  demo.rt = rt;
  $('backend').textContent = rt.backend;
  $('backend-reason').textContent = `(${rt.backendReason})`;
  $('threads').textContent = String(rt.threads);
  $('threads-reason').textContent = `(${rt.threadsReason})`;
  document.title = `wasm-attention (${rt.backend})`;

  timed('workedExample', () => renderWorkedExample(rt));
  for (const input of $('h-inputs').querySelectorAll('input')) input.addEventListener('input', () => timed('workedExample', () => renderWorkedExample(rt)));
  $('h-reset').addEventListener('click', () => {
    [...$('h-inputs').querySelectorAll('input')].forEach((input, i) => (input.value = String(WORKED_EXAMPLE.h[i])));
    timed('workedExample', () => renderWorkedExample(rt));
  });

  const self = () => {
    const ms = timed('self', () => renderSelf(rt));
    $('self-timing').textContent = `computed and drawn in ${ms.toFixed(1)} ms`;
  };
  self();
  $('causal').addEventListener('change', self);
  $('sentence').addEventListener('input', self);

  $('bench-run').addEventListener('click', () => runBench().catch(() => {}));
  await initDateNormalizer(rt); // 3. the date normaliser (demo/date-normalizer.js)
  initCheckpoint(rt); // 4. a checkpoint folder the reader picks (demo/checkpoint.js)
  initChat(rt); // 5. a language model the reader picks, to chat with (demo/chat.js)
  document.body.dataset.ready = 'true';
}

demo.ready = main().catch((error) => {
  document.body.dataset.ready = 'error';
  $('backend').textContent = 'failed';
  showError(error);
});
