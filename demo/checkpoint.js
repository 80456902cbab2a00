// The demo's "Your own checkpoint" section: the reader picks a Hugging Face checkpoint folder
// (BERT, DistilBERT, RoBERTa or XLM-RoBERTa: a sentence-transformers model, a sequence classifier
// or a bare encoder) and loadModel reads it from the picked files, in the page: nothing is
// uploaded. An embedding model shows the sentences' cosine similarities, a classifier each
// sentence's label; either shows one layer's attention for one head over a sentence's tokens.
import { loadModel } from '../dist/index.js';
import { drawHeatmap, drawTokenAttention, formatWeight as fmt } from './heatmap.js';

/** The prefilled sentences, one per line: two pairs of paraphrases, and sentences of clear sentiment. */
export const DEFAULT_SENTENCES = [
  'A man is playing a guitar.',
  'Someone is playing an instrument.',
  'The food was cold and the service was slow.',
  'I loved this film, it was wonderful.',
  'Shares fell sharply at the close of trading.',
];
const MAX_SENTENCES = 12;

const messageOf = (e) => String(e && e.message ? e.message : e);
const short = (text, n = 28) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** Cosine similarity of every pair of rows of `vectors` [n, d], in float64: a plain array [n * n]. */
export function cosineMatrix(vectors, n) {
  const d = vectors.length / n;
  const norms = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += vectors[i * d + k] * vectors[i * d + k];
    norms.push(Math.sqrt(s));
  }
  const out = new Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += vectors[i * d + k] * vectors[j * d + k];
      out[i * n + j] = norms[i] && norms[j] ? s / (norms[i] * norms[j]) : 0;
    }
  }
  return out;
}

/** Writes the values above the diagonal over a symmetric heatmap drawn by drawHeatmap (white text on dark cells). */
function labelCells(canvas, values, shade) {
  const { left, top, cell, rows, cols } = JSON.parse(canvas.dataset.grid);
  const ctx = canvas.getContext('2d');
  ctx.font = `${cell >= 40 ? 12 : 10}px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (let i = 0; i < rows; i++) {
    for (let j = i + 1; j < cols; j++) {
      const v = values[i * cols + j];
      ctx.fillStyle = shade[i * cols + j] > 0.55 ? '#fff' : '#1d2330';
      ctx.fillText(v.toFixed(2), left + (j + 0.5) * cell, top + (i + 0.5) * cell);
    }
  }
}

/**
 * Wires the section (#checkpoint) to the runtime: the folder picker, the sentences, the results
 * and the attention picture. Errors (a missing file, an unsupported family, a sentence the model
 * cannot take) are shown in the section.
 */
export function initCheckpoint(rt) {
  const $ = (id) => document.getElementById(id);
  const picker = $('ckpt-folder');
  const sentencesBox = $('ckpt-sentences');
  const info = $('ckpt-info');
  const error = $('ckpt-error');
  const results = $('ckpt-results');
  const attn = $('ckpt-attn');
  const sentencePick = $('ckpt-attn-sentence');
  const layerPick = $('ckpt-attn-layer');
  const headPick = $('ckpt-attn-head');
  const attnCanvas = $('ckpt-attention');
  const attnNote = $('ckpt-attn-note');
  const hover = $('ckpt-hover');
  const demo = window.demo ?? {};
  const state = (demo.checkpoint = { loading: false, loaded: null, error: null, sentences: [], kind: null, similarity: null, classes: null, attention: null, loads: 0 });
  let model = null;

  sentencesBox.value = DEFAULT_SENTENCES.join('\n');

  function showError(message) {
    state.error = message || null;
    error.textContent = message;
    error.hidden = !message;
  }

  function sentences() {
    return sentencesBox.value.split('\n').map((s) => s.trim()).filter(Boolean).slice(0, MAX_SENTENCES);
  }

  async function load(files) {
    if (!files || files.length === 0) return;
    state.loading = true;
    showError('');
    info.textContent = `reading ${files.length} files…`;
    if (model) {
      model.dispose();
      model = null;
      demo.checkpointModel = null;
    }
    results.replaceChildren();
    attn.hidden = true;
    Object.assign(state, { loaded: null, kind: null, similarity: null, classes: null, attention: null });
    const folder = (files[0].webkitRelativePath || '').split('/')[0] || 'the picked files';
    const before = rt.memoryStats().bytesInUse;
    const t0 = performance.now();
    try {
      model = await loadModel(rt, files, { kind: 'encoder' });
    } catch (e) {
      info.textContent = `${folder}: not loaded`;
      let message = messageOf(e).replace(/^loadModel: /, '');
      let hint = /^config\.json not found/.test(message) ? '. Pick the folder that holds the checkpoint\'s config.json, next to its model.safetensors and tokenizer.json.' : '';
      if (/is a causal language model, not an encoder/.test(message)) {
        message = message.replace(/, not an encoder \(options\.kind\)$/, '');
        hint = '; this section shows encoders (BERT, DistilBERT, RoBERTa, XLM-RoBERTa): embedding models and classifiers.';
      }
      showError(`Could not load ${folder}: ${message}${hint}`);
      state.loading = false;
      state.loads++;
      console.warn(e);
      return;
    }
    const ms = performance.now() - t0;
    demo.checkpointModel = model;
    const mib = (rt.memoryStats().bytesInUse - before) / 2 ** 20;
    const kind = model.labels ? 'classifier' : 'embedding';
    state.loaded = {
      folder, family: model.family, architecture: model.architecture, numLayers: model.numLayers, numHeads: model.numHeads,
      hiddenSize: model.hiddenSize, maxLength: model.maxLength, labels: model.labels ? [...model.labels] : null, loadMs: ms, weightsMiB: mib,
    };
    state.kind = kind;
    const d = model.embedDefaults;
    const task = kind === 'classifier'
      ? `classifier: ${model.labels.join(', ')}`
      : `embeddings: ${d.pooling} pooling${d.normalize ? ', normalised' : ''}, up to ${d.maxLength} tokens`;
    info.textContent =
      `${folder}: ${model.family} · ${model.architecture} · ${model.numLayers} layers × ${model.numHeads} heads · hidden size ${model.hiddenSize} · ` +
      `${mib < 10 ? mib.toFixed(2) : mib.toFixed(1)} MiB of weights in Wasm memory · loaded in ${ms.toFixed(0)} ms · ${task}`;
    const n = model.numLayers;
    layerPick.replaceChildren(...Array.from({ length: n }, (_, i) => new Option(`layer ${i + 1}`, String(i))));
    headPick.replaceChildren(...Array.from({ length: model.numHeads }, (_, i) => new Option(`head ${i + 1}`, String(i))));
    layerPick.value = String(n - 1);
    state.loading = false;
    state.loads++;
    run();
  }

  /** The sentences through the model: the similarity matrix or the labels, then the attention. */
  function run() {
    if (!model) return;
    const texts = sentences();
    state.sentences = texts;
    const chosen = Math.min(Number(sentencePick.value) || 0, Math.max(0, texts.length - 1));
    sentencePick.replaceChildren(...texts.map((t, i) => new Option(`${i + 1}. ${short(t, 40)}`, String(i))));
    sentencePick.value = String(chosen);
    if (texts.length === 0) {
      results.replaceChildren();
      attn.hidden = true;
      showError('Type at least one sentence (one per line).');
      return;
    }
    showError('');
    const t0 = performance.now();
    try {
      if (state.kind === 'classifier') renderClasses(texts, model.classify(texts));
      else renderSimilarity(texts, model.embed(texts));
    } catch (e) {
      results.replaceChildren();
      showError(messageOf(e));
      return;
    }
    state.ms = performance.now() - t0;
    renderAttention();
  }

  function renderSimilarity(texts, vectors) {
    const n = texts.length;
    const sim = cosineMatrix(vectors, n);
    state.similarity = sim;
    state.classes = null;
    const canvas = document.createElement('canvas');
    canvas.dataset.testid = 'ckpt-similarity';
    const shade = sim.map((x) => Math.max(0, x));
    const labels = texts.map((t, i) => `${i + 1}. ${short(t)}`);
    const locate = drawHeatmap(canvas, shade, { rows: n, cols: n, rowLabels: labels, colLabels: texts.map((_, i) => String(i + 1)), cell: n > 8 ? 34 : 44 });
    labelCells(canvas, sim, shade);
    canvas.dataset.values = JSON.stringify(sim);
    const caption = document.createElement('div');
    caption.className = 'muted small';
    caption.textContent = `Cosine similarity of the sentences' embeddings (model.embed); colour from 0 or less (white) to 1 (dark blue).`;
    const line = document.createElement('div');
    line.className = 'muted small';
    line.textContent = '\u00a0';
    canvas.onmousemove = (e) => {
      const at = locate(e.offsetX, e.offsetY);
      line.textContent = at ? `"${short(texts[at.i], 48)}" · "${short(texts[at.j], 48)}": ${sim[at.i * n + at.j].toFixed(4)}` : '\u00a0';
    };
    results.replaceChildren(caption, canvas, line);
  }

  function renderClasses(texts, out) {
    state.classes = out.map((r) => ({ label: r.label, score: r.score, scores: Array.from(r.scores) }));
    state.similarity = null;
    const table = document.createElement('table');
    table.className = 'worked ckpt-classes';
    table.dataset.testid = 'ckpt-classes';
    table.innerHTML = '<thead><tr><th>sentence</th><th>label</th><th>score</th><th>every label</th></tr></thead>';
    const body = document.createElement('tbody');
    out.forEach((r, i) => {
      const tr = document.createElement('tr');
      tr.dataset.label = r.label;
      tr.dataset.score = String(r.score);
      const cells = [texts[i], r.label, null, model.labels.map((l, k) => `${l} ${fmt(r.scores[k])}`).join(' · ')];
      cells.forEach((text, k) => {
        const td = document.createElement('td');
        if (k === 2) {
          td.innerHTML = `<span class="bar-track"><span class="bar" style="width:${(r.score * 100).toFixed(1)}%"></span></span>`;
          td.append(fmt(r.score));
        } else td.textContent = text;
        if (k === 1) td.className = 'ckpt-label';
        if (k === 3) td.className = 'muted small';
        tr.append(td);
      });
      body.append(tr);
    });
    table.append(body);
    const caption = document.createElement('div');
    caption.className = 'muted small';
    caption.textContent = 'Each sentence classified (model.classify): the label with the highest score.';
    results.replaceChildren(caption, table);
  }

  /** One layer's attention for one head over the chosen sentence's tokens (special tokens included). */
  function renderAttention() {
    const texts = state.sentences;
    if (!model || texts.length === 0) return;
    const s = Math.min(Number(sentencePick.value) || 0, texts.length - 1);
    const layer = Number(layerPick.value) || 0;
    const head = Number(headPick.value) || 0;
    if (!model.tokenizer) {
      attn.hidden = true;
      showError('This checkpoint has no tokenizer.json, so its attention over a sentence cannot be shown.');
      return;
    }
    let ids = model.tokenizer.encode(texts[s]);
    const typed = ids.length;
    if (ids.length > model.maxLength) ids = [...ids.slice(0, model.maxLength - 1), ids[ids.length - 1]];
    const tokens = ids.map((id) => model.tokenizer.decode([id], { skipSpecialTokens: false }));
    let out;
    try {
      out = model.forward({ inputIds: [ids] }, { outputAttentions: [layer] });
    } catch (e) {
      attn.hidden = true;
      showError(messageOf(e));
      return;
    }
    const weights = out.attentions[layer].data;
    const L = ids.length;
    attn.hidden = false;
    drawTokenAttention(attnCanvas, hover, weights, tokens, head);
    state.attention = { sentence: s, layer, head, tokens, length: L, weights: Array.from(weights.subarray(head * L * L, (head + 1) * L * L)) };
    attnNote.textContent =
      `${L} tokens (model.tokenizer, special tokens shown) · layer ${layer + 1} of ${model.numLayers}, head ${head + 1} of ${model.numHeads} · ` +
      `rows: queries, columns: keys` + (typed > L ? ` · cut from ${typed} tokens to the model's limit of ${model.maxLength}` : '');
  }

  let timer = 0;
  picker.addEventListener('change', () => load(picker.files ? [...picker.files] : []));
  sentencesBox.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  });
  sentencePick.addEventListener('change', renderAttention);
  layerPick.addEventListener('change', renderAttention);
  headPick.addEventListener('change', renderAttention);
  demo.loadCheckpoint = load;
  demo.runCheckpoint = run;
  return state;
}
