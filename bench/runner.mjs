// Runs one workload: checks every contender's output against the plain-JS reference (on a slice of
// the output for the big workloads that define one, `checkSlice`), then times
// the ones that agree in interleaved rounds (contender after contender, the order rotating each
// round, the warmup in the first), so drift on a shared machine lands on all of them alike.
import { Unsupported } from './errors.mjs';
import { timeSlice } from './timing.mjs';

/** The plain-JS row of a quick-set workload where the reference is not timed. */
export const NOT_TIMED = 'not timed in --quick runs (≈1 GFLOP/s: it only checks the outputs here; `npm run bench` times it)';

export const TOLERANCE = 1e-4; // max abs error against the float64 reference; the runtime's own contract is 1e-5

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN counts as a failure
  }
  return m;
}

const quantile = (sorted, p) => {
  if (sorted.length === 0) return NaN;
  const x = (sorted.length - 1) * p;
  const lo = Math.floor(x);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (x - lo);
};

// First line, without build-machine source paths (onnxruntime's errors carry them), at most 200 characters.
const message = (error) =>
  String(error?.message ?? error)
    .split('\n')[0]
    .replace(/\/\S+\/(onnxruntime\/\S+:\d+)/g, '$1')
    .slice(0, 200);

/**
 * → { id, title, shapeLabel, flops, referenceMs, checked?, rows: [{ id, label, group, threads, version,
 *      status, note?, maxAbsError?, samples?, median?, p75?, gflops? }] } (times in ms).
 * `checked`: what part of the output was checked, when not all of it; `note`: how a contender
 * expressed the workload, when it says (a peer's fused op, its explicit bias).
 */
export async function runWorkload(w, contenders, { rounds, sliceMs, warmupMs, tiny = false, progress = () => {} }) {
  const inputs = w.makeInputs();
  const check = w.checkSlice;
  const t0 = performance.now();
  const want = check ? check.reference(inputs) : w.reference(inputs);
  const referenceMs = performance.now() - t0;
  // On tiny shapes the slice's reference is checked against the whole reference's rows too.
  if (check && tiny) {
    const error = maxAbsDiff(check.pick(w.reference(inputs)), want);
    if (!(error <= 1e-6)) throw new Error(`${w.id}: the reference on ${check.label} differs from the whole reference's rows by ${error}`);
  }
  const rows = [];
  const live = [];
  for (const c of contenders) {
    const row = { id: c.id, label: c.label, group: c.group, threads: c.threads, version: c.version, status: c.status };
    rows.push(row);
    progress(`${w.id} check ${c.label}`);
    if (c.status !== 'ok') continue;
    // The quick set's larger workloads: the reference checks the outputs but is not timed.
    if (c.group === 'reference' && w.timeReference === false) {
      row.status = NOT_TIMED;
      continue;
    }
    let prepared;
    try {
      prepared = await c.prepare(w, inputs, { tiny });
      if (prepared.note) row.note = prepared.note;
      // What a steady decode loop allocates (T3): Wasm bytes in use before / after many steps.
      if (prepared.allocation) row.allocation = prepared.allocation;
      // The reference is the baseline: its output is `want` by definition.
      if (c.group !== 'reference') {
        const out = await prepared.result();
        row.maxAbsError = maxAbsDiff(check ? check.pick(out) : out, want);
        if (!(row.maxAbsError <= TOLERANCE)) {
          row.status = `wrong result: max abs error ${row.maxAbsError.toExponential(2)} > ${TOLERANCE}`;
          await prepared.dispose?.();
          continue;
        }
      } else row.maxAbsError = 0;
      live.push({ row, prepared });
    } catch (error) {
      row.status = error instanceof Unsupported ? `n/a: ${message(error)}` : `failed: ${message(error)}`;
      await Promise.resolve(prepared?.dispose?.()).catch(() => {});
    }
  }
  for (const l of live) l.samples = [];
  for (let r = 0; r < rounds; r++) {
    const order = live.map((_, i) => live[(i + r) % live.length]);
    for (const { row, prepared, samples } of order) {
      progress(`${w.id} round ${r + 1}/${rounds} ${row.label}`);
      if (row.status !== 'ok') continue;
      const options = { time: sliceMs, warmupTime: r === 0 ? warmupMs : 0 };
      try {
        samples.push(...(prepared.slice ? await prepared.slice(options) : await timeSlice(prepared.run, { ...options, async: prepared.async })));
      } catch (error) {
        row.status = `failed while timed: ${message(error)}`;
      }
    }
  }
  for (const { row, prepared, samples } of live) {
    await Promise.resolve(prepared.dispose?.()).catch(() => {});
    if (row.status !== 'ok') continue;
    const sorted = [...samples].sort((a, b) => a - b);
    row.median = quantile(sorted, 0.5);
    row.p75 = quantile(sorted, 0.75);
    row.gflops = w.flops / row.median / 1e6;
    row.samples = sorted.length;
  }
  // Ratios within this run: against the plain-JS reference and against the fastest peer.
  const js = rows.find((r) => r.group === 'reference' && r.median);
  const peers = rows.filter((r) => r.group === 'peer' && r.median);
  const bestPeer = peers.sort((a, b) => a.median - b.median)[0];
  for (const row of rows) {
    if (!row.median) continue;
    if (js) row.vsJs = js.median / row.median;
    if (bestPeer) row.vsBestPeer = bestPeer.median / row.median;
  }
  return { id: w.id, title: w.title, shapeLabel: w.shapeLabel, flops: w.flops, referenceMs, ...(check ? { checked: check.label } : {}), bestPeer: bestPeer?.id, rows };
}

/**
 * A progress bar on stderr (only when stderr is a terminal), and `line`: a line on stderr, terminal
 * or not (the `[i/n] <workload> … (elapsed 12 s)` lines). Nothing with `enabled` false.
 */
export function progressBar(total, { enabled = true } = {}) {
  let done = 0;
  const tty = process.stderr.isTTY;
  return {
    line(text) {
      if (!enabled) return;
      if (tty) process.stderr.write(`\r${' '.repeat((process.stderr.columns || 100) - 1)}\r`);
      process.stderr.write(`${text}\n`);
    },
    tick(label) {
      done++;
      if (!enabled || !tty) return;
      const width = 30;
      const filled = Math.round((width * Math.min(done, total)) / total);
      const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round((100 * done) / total)).padStart(3)}% ${label}`;
      process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1).padEnd((process.stderr.columns || 100) - 1)}`);
    },
    /** Prints to stdout, clearing the bar first. */
    note(text) {
      if (enabled && tty) process.stderr.write(`\r${' '.repeat((process.stderr.columns || 100) - 1)}\r`);
      console.log(text);
    },
    done() {
      if (enabled && tty) process.stderr.write(`\r${' '.repeat((process.stderr.columns || 100) - 1)}\r`);
    },
  };
}
