// The demo's seq2seq section: the package's trained date normaliser (a GRU encoder and a
// Bahdanau-attention GRU decoder, loaded with loadDateNormalizer) turns a typed date into ISO
// yyyy-mm-dd, and the heatmap shows the model's own attention: which input characters each output
// character looked at. The weights and vocabulary are fetched by dist/ from ../models/.
import { loadDateNormalizer } from '../dist/index.js';
import { drawHeatmap } from './heatmap.js';

/** One example per supported format (the first is the prefilled one). */
export const DATE_EXAMPLES = [
  { text: 'november 22, 2026', format: 'month day, year' },
  { text: 'Jul 4, 1976', format: 'abbreviated month' },
  { text: '1 January 2000', format: 'day month year' },
  { text: 'Sunday, November 22, 2026', format: 'weekday, month day, year' },
  { text: '3/14/2015', format: 'm/d/y' },
  { text: '22.11.2026', format: 'd.m.y' },
  { text: '2026년 11월 22일', format: 'Korean' },
];
const BEAM = 3;

const fmt = (x) => (Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(2) : String(+x.toFixed(4)));
/** Column / row label of a token: spaces made visible, markers kept as they are. */
const label = (t) => (t === ' ' ? '␣' : t);

/**
 * Loads the date normaliser onto `rt` and wires the section (#dates): the text input, the example
 * chips, the beam toggle, the ISO output and the attention heatmap. Resolves once the first date
 * is drawn; a model that cannot be loaded is reported in the section, not thrown.
 */
export async function initDateNormalizer(rt) {
  const $ = (id) => document.getElementById(id);
  const input = $('date-input');
  const beam = $('date-beam');
  const output = $('date-output');
  const error = $('date-error');
  const canvas = $('date-attention');
  const info = $('date-info');
  const hover = $('date-hover');
  const state = { text: '', beamSize: 1, output: null, error: null, inputTokens: [], outputTokens: [], attention: null, score: null, ms: 0 };
  const demo = window.demo ?? {};
  demo.dates = state;

  $('date-chips').replaceChildren(
    ...DATE_EXAMPLES.map(({ text, format }) => {
      const chip = document.createElement('button');
      chip.type = 'button';
      chip.className = 'chip';
      chip.textContent = text;
      chip.title = format;
      chip.dataset.testid = 'date-chip';
      chip.addEventListener('click', () => {
        input.value = text;
        render();
      });
      return chip;
    }),
  );

  let dates;
  try {
    dates = await loadDateNormalizer(rt);
  } catch (e) {
    state.error = `the date model could not be loaded: ${e && e.message ? e.message : e}`;
    error.textContent = state.error;
    error.hidden = false;
    output.textContent = '—';
    input.disabled = beam.disabled = true;
    console.warn(e);
    return state;
  }
  demo.dateNormalizer = dates;

  function render() {
    const text = input.value;
    const beamSize = beam.checked ? BEAM : 1;
    Object.assign(state, { text, beamSize });
    const t0 = performance.now();
    let r;
    try {
      r = dates.normalize(text, { beamSize });
    } catch (e) {
      // A character outside the vocabulary (or an empty text): a RangeError naming it and its position.
      Object.assign(state, { output: null, error: e && e.message ? e.message : String(e), inputTokens: [], outputTokens: [], attention: null, score: null });
      error.textContent = state.error;
      error.hidden = false;
      output.textContent = '—';
      output.dataset.value = '';
      canvas.hidden = true;
      info.textContent = '';
      hover.textContent = '\u00a0';
      return;
    }
    const { inputTokens, outputTokens, attention, score } = r;
    const S = inputTokens.length;
    const T = outputTokens.length;
    error.hidden = true;
    error.textContent = '';
    output.textContent = r.output;
    output.dataset.value = r.output;
    canvas.hidden = false;
    const locate = drawHeatmap(canvas, attention, {
      rows: T,
      cols: S,
      rowLabels: outputTokens.map(label),
      colLabels: inputTokens.map(label),
      cell: S > 24 ? 18 : 20,
    });
    canvas.onmousemove = (e) => {
      const at = locate(e.offsetX, e.offsetY);
      hover.textContent = at
        ? `output ${at.i} "${outputTokens[at.i]}" → input ${at.j} "${inputTokens[at.j]}": weight ${fmt(attention[at.i * S + at.j])}`
        : '\u00a0';
    };
    const ms = performance.now() - t0;
    Object.assign(state, { output: r.output, error: null, inputTokens, outputTokens, attention, score, ms });
    if (demo.timings) demo.timings.dates = ms;
    info.textContent =
      `${beamSize > 1 ? `beam search (${beamSize} beams)` : 'greedy decoding'} · log-probability ${fmt(score)} · ` +
      `${T} output × ${S} input tokens · decoded and drawn in ${ms.toFixed(1)} ms`;
  }

  input.addEventListener('input', render);
  beam.addEventListener('change', render);
  render();
  return state;
}
