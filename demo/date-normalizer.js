// The demo's seq2seq section: the package's trained date normaliser (a GRU encoder and a
// Bahdanau-attention GRU decoder, loaded with loadDateNormalizer) turns a typed date into ISO
// yyyy-mm-dd, and the heatmap shows the model's own attention: which input characters each output
// character looked at. The weights and vocabulary are fetched by dist/ from ../models/.
import { loadDateNormalizer } from '../dist/index.js';
import { drawHeatmap } from './heatmap.js';

/** Examples of the supported formats (the first is the prefilled one). */
export const DATE_EXAMPLES = [
  { text: 'november 22, 2026', format: 'month day, year' },
  { text: 'Jul 4, 1976', format: 'abbreviated month' },
  { text: 'Sept. 3, 1987', format: 'abbreviated month with a period' },
  { text: '1 January 2000', format: 'day month year' },
  { text: 'Sunday, November 22, 2026', format: 'weekday, month day, year' },
  { text: '3/14/2015', format: 'm/d/y' },
  { text: '01/02/2026', format: 'mm/dd/yyyy' },
  { text: '22.11.2026', format: 'd.m.y' },
  { text: '2026-11-22', format: 'ISO 8601' },
  { text: '2026년 11월 22일', format: 'Korean' },
];
/** Inputs with no date the model can give: the section shows them as warnings. */
export const DATE_TRAPS = [
  { text: 'February 29, 2023', why: 'not a leap year' },
  { text: '13/01/2026', why: 'month 13 (slashes read month first)' },
  { text: 'December 31, 1899', why: 'before the model\'s years' },
  { text: '11/22/26', why: 'two-digit year' },
  { text: 'tomorrow', why: 'not a date' },
];
const BEAM = 3;
/** Below this confidence (the lowest probability of an output character) an answer is shown as unsure. */
export const CONFIDENCE_THRESHOLD = 0.9;

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
  const warning = $('date-warning');
  const empty = $('date-empty');
  const state = {
    text: '', beamSize: 1, output: null, error: null, inputTokens: [], outputTokens: [], attention: null, score: null, ms: 0,
    valid: null, reason: null, confidence: null, trust: null, empty: false,
  };
  const demo = window.demo ?? {};
  demo.dates = state;

  const chip = (text, title, testid) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'chip';
    b.textContent = text;
    b.title = title;
    b.dataset.testid = testid;
    b.addEventListener('click', () => {
      input.value = text;
      render();
    });
    return b;
  };
  $('date-chips').replaceChildren(...DATE_EXAMPLES.map(({ text, format }) => chip(text, format, 'date-chip')));
  $('date-trap-chips').replaceChildren(...DATE_TRAPS.map(({ text, why }) => chip(text, why, 'date-trap-chip')));

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

  /** No answer to show: the output dash, no heatmap, no warning. */
  function clear(fields) {
    Object.assign(state, { output: null, inputTokens: [], outputTokens: [], attention: null, score: null, valid: null, reason: null, confidence: null, trust: null, ...fields });
    output.textContent = '—';
    output.dataset.value = '';
    output.dataset.trust = '';
    output.classList.remove('untrusted');
    warning.hidden = true;
    warning.textContent = '';
    canvas.hidden = true;
    info.textContent = '';
    hover.textContent = '\u00a0';
  }

  function render() {
    const text = input.value;
    const beamSize = beam.checked ? BEAM : 1;
    Object.assign(state, { text, beamSize });
    error.hidden = true;
    error.textContent = '';
    // An empty box: a prompt, not a heatmap (the model refuses an empty text).
    empty.hidden = text !== '';
    if (text === '') return clear({ error: null, empty: true });
    const t0 = performance.now();
    let r;
    try {
      r = dates.normalize(text, { beamSize });
    } catch (e) {
      // A character outside the vocabulary: a RangeError naming it and its position.
      clear({ error: e && e.message ? e.message : String(e), empty: false });
      error.textContent = state.error;
      error.hidden = false;
      return;
    }
    const { inputTokens, outputTokens, attention, score, valid, reason, confidence } = r;
    const S = inputTokens.length;
    const T = outputTokens.length;
    // Trust: invalid (the rules of src/models/date-check.ts) before unsure (confidence below the threshold).
    const trust = !valid ? 'invalid' : confidence < CONFIDENCE_THRESHOLD ? 'unsure' : 'ok';
    output.textContent = r.output;
    output.dataset.value = r.output;
    output.dataset.trust = trust;
    output.classList.toggle('untrusted', trust !== 'ok');
    output.title = trust === 'ok' ? '' : 'not a trustworthy date';
    warning.hidden = trust === 'ok';
    warning.textContent =
      trust === 'invalid'
        ? `⚠ Not a date you can use: ${reason}.`
        : trust === 'unsure'
          ? `⚠ The model is unsure (confidence ${confidence.toFixed(2)}, below ${CONFIDENCE_THRESHOLD}): check this date before using it.`
          : '';
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
    Object.assign(state, { output: r.output, error: null, inputTokens, outputTokens, attention, score, ms, valid, reason: reason ?? null, confidence, trust, empty: false });
    if (demo.timings) demo.timings.dates = ms;
    info.textContent =
      `${beamSize > 1 ? `beam search (${beamSize} beams)` : 'greedy decoding'} · confidence ${confidence.toFixed(3)} · log-probability ${fmt(score)} · ` +
      `${T} output × ${S} input tokens · decoded and drawn in ${ms.toFixed(1)} ms`;
  }

  input.addEventListener('input', render);
  beam.addEventListener('change', render);
  render();
  return state;
}
