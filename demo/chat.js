// The demo's "Chat with a language model" section: the reader picks the folder of a decoder-only
// language model (SmolLM2, Qwen2.5/Qwen3, Llama 3.2, Gemma 3, Phi-3, Mistral, GPT-2 …) and loadModel
// reads it from the picked files, in the page: nothing is uploaded. A model with a chat template
// talks through a chat session (its cache kept between turns); one without (GPT-2) continues each
// message as plain text. Replies stream in token by token (the generation loop yields to the page
// between tokens), a Stop button aborts them, and a heatmap shows one layer's attention for one
// head over the last message's tokens.
import { loadModel, createChatSession, stream } from '../dist/index.js';
import { drawTokenAttention } from './heatmap.js';

/** The most tokens of a message drawn in the attention picture (its first tokens: the model is causal). */
export const MAX_ATTENTION_TOKENS = 64;
/** The families loadModel runs as language models, for messages. */
const FAMILIES = 'Llama (SmolLM2, Llama 3.2), Mistral, Qwen2/Qwen2.5, Qwen3, Gemma 3, Phi-3, GPT-2';

const messageOf = (e) => String(e && e.message ? e.message : e);
const FINISH = { eos: 'ended by the model', length: 'reached the length limit', stop: 'stop string', abort: 'stopped' };

/** Wires the section (#chat) to the runtime. */
export function initChat(rt) {
  const $ = (id) => document.getElementById(id);
  const picker = $('chat-folder');
  const info = $('chat-info');
  const error = $('chat-error');
  const ui = $('chat-ui');
  const modeNote = $('chat-mode');
  const log = $('chat-log');
  const form = $('chat-form');
  const input = $('chat-input');
  const sendButton = $('chat-send');
  const stopButton = $('chat-stop');
  const newButton = $('chat-new');
  const status = $('chat-status');
  const temperatureBox = $('chat-temperature');
  const topPBox = $('chat-top-p');
  const maxTokensBox = $('chat-max-tokens');
  const seedBox = $('chat-seed');
  const samplingNote = $('chat-sampling-note');
  const attn = $('chat-attn');
  const layerPick = $('chat-attn-layer');
  const headPick = $('chat-attn-head');
  const attnCanvas = $('chat-attention');
  const attnNote = $('chat-attn-note');
  const hover = $('chat-hover');
  const demo = window.demo ?? {};
  const state = (demo.chat = { loads: 0, loading: false, loaded: null, error: null, mode: null, generating: false, turns: [], cachedTokens: 0, attention: null });
  let lm = null;
  let session = null;
  let controller = null;
  let running = Promise.resolve();

  function showError(message) {
    state.error = message || null;
    error.textContent = message || '';
    error.hidden = !message;
  }

  function showStatus() {
    state.cachedTokens = session ? session.cachedTokens : 0;
    if (!lm) status.textContent = '';
    else if (session) status.textContent = `${state.cachedTokens} tokens of this conversation in the cache (kept between turns: a turn runs only the tokens it adds)`;
    else status.textContent = 'completion: nothing is kept between messages';
  }

  function setGenerating(on) {
    state.generating = on;
    sendButton.disabled = on;
    stopButton.disabled = !on;
    newButton.disabled = on;
  }

  function samplingHint() {
    const t = Number(temperatureBox.value);
    const greedy = !(t > 0);
    topPBox.disabled = greedy;
    seedBox.disabled = greedy;
    samplingNote.textContent = greedy ? 'temperature 0: greedy (the most likely token each step; top-p and seed are not used)' : 'sampling';
  }

  /** The options of a turn from the controls: greedy unless temperature > 0. */
  function readOptions() {
    const temperature = Number(temperatureBox.value || 0);
    const maxNewTokens = Number(maxTokensBox.value);
    if (!(temperature >= 0)) throw new RangeError('temperature must be 0 (greedy) or more');
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new RangeError('max new tokens must be a whole number of at least 1');
    const options = { maxNewTokens, temperature };
    if (temperature > 0) {
      options.topP = Number(topPBox.value || 1);
      if (seedBox.value.trim() !== '') options.seed = Number(seedBox.value);
    }
    return options;
  }

  async function load(files) {
    if (!files || files.length === 0) return;
    if (controller) controller.abort();
    await running;
    state.loading = true;
    showError('');
    info.textContent = `reading ${files.length} files…`;
    session?.dispose();
    session = null;
    lm?.dispose();
    lm = null;
    demo.chatModel = null;
    ui.hidden = true;
    attn.hidden = true;
    log.replaceChildren();
    Object.assign(state, { loaded: null, mode: null, turns: [], attention: null });
    const folder = (files[0].webkitRelativePath || '').split('/')[0] || 'the picked files';
    const before = rt.memoryStats().bytesInUse;
    const t0 = performance.now();
    try {
      lm = await loadModel(rt, files, { kind: 'causal-lm' });
    } catch (e) {
      info.textContent = `${folder}: not loaded`;
      let message = messageOf(e).replace(/^loadModel: /, '');
      let hint = '';
      if (/^config\.json not found/.test(message)) hint = ". Pick the folder that holds the model's config.json, next to its model.safetensors and tokenizer.json.";
      else if (/is an encoder, not a causal language model/.test(message)) {
        message = message.replace(/, not a causal language model \(options\.kind\)$/, '');
        hint = ` (an embedding model or a classifier), not a language model: open it in "Your own checkpoint" above. This section runs decoder-only language models: ${FAMILIES}.`;
      } else if (/is not supported/.test(message)) hint = `. This section runs decoder-only language models: ${FAMILIES}.`;
      showError(`Could not load ${folder}: ${message}${hint}`);
      state.loading = false;
      state.loads++;
      showStatus();
      console.warn(e);
      return;
    }
    const ms = performance.now() - t0;
    demo.chatModel = lm;
    const mib = (rt.memoryStats().bytesInUse - before) / 2 ** 20;
    const chatting = typeof lm.chatTemplate === 'string' && lm.tokenizer !== undefined;
    state.mode = chatting ? 'chat' : 'completion';
    state.loaded = {
      folder, family: lm.family, architecture: lm.architecture, numLayers: lm.numLayers, numHeads: lm.numHeads, numKeyValueHeads: lm.numKeyValueHeads,
      hiddenSize: lm.hiddenSize, vocabSize: lm.vocabSize, maxLength: lm.maxLength, chatTemplate: chatting, loadMs: ms, weightsMiB: mib,
    };
    info.textContent =
      `${folder}: ${lm.family} · ${lm.architecture} · ${lm.numLayers} layers · hidden size ${lm.hiddenSize} · ` +
      `${lm.numHeads} attention heads, ${lm.numKeyValueHeads} KV heads · vocabulary ${lm.vocabSize} · up to ${lm.maxLength} positions · ` +
      `${mib < 10 ? mib.toFixed(2) : mib.toFixed(1)} MiB of weights in Wasm memory · loaded in ${ms.toFixed(0)} ms`;
    if (!lm.tokenizer) {
      showError(`${folder} has no tokenizer.json, so it cannot turn text into tokens: add the checkpoint's tokenizer.json to the folder.`);
      state.loading = false;
      state.loads++;
      return;
    }
    if (chatting) {
      session = createChatSession(lm);
      modeNote.textContent = "Chat: the conversation is written with the model's chat template, and the model's cache is kept between turns.";
    } else {
      modeNote.textContent =
        "This model has no chat template (tokenizer_config.json's chat_template), so it is not a chat model: each message is continued as plain text " +
        '(a completion), and earlier messages are not remembered.';
    }
    layerPick.replaceChildren(...Array.from({ length: lm.numLayers }, (_, i) => new Option(`layer ${i + 1}`, String(i))));
    headPick.replaceChildren(...Array.from({ length: lm.numHeads }, (_, i) => new Option(`head ${i + 1}`, String(i))));
    layerPick.value = String(lm.numLayers - 1);
    ui.hidden = false;
    setGenerating(false);
    showStatus();
    state.loading = false;
    state.loads++;
  }

  function bubble(role, text) {
    const div = document.createElement('div');
    div.className = `chat-msg chat-${role}`;
    const who = document.createElement('div');
    who.className = 'chat-who small muted';
    who.textContent = role === 'user' ? 'you' : state.mode === 'chat' ? 'model' : 'model (continuation)';
    const body = document.createElement('div');
    body.className = 'chat-text';
    body.dataset.testid = role === 'user' ? 'chat-user' : 'chat-reply';
    body.textContent = text;
    div.append(who, body);
    log.append(div);
    return { div, body };
  }

  /** Sends `text` as the next turn and streams the reply into the log. Resolves when the reply ends. */
  function send(text) {
    if (!lm || state.generating) return Promise.resolve();
    let options;
    try {
      options = readOptions();
    } catch (e) {
      showError(messageOf(e));
      return Promise.resolve();
    }
    showError('');
    controller = new AbortController();
    const turn = { user: text, reply: '', events: 0, tokens: null, finishReason: null, tokensPerSecond: null, prefillMs: null, prefillTokens: null, cachedTokens: null, maxGapMs: 0, ticks: 0, error: null };
    state.turns.push(turn);
    bubble('user', text);
    const { div, body } = bubble('assistant', '');
    div.classList.add('streaming');
    const stats = document.createElement('div');
    stats.className = 'chat-stats small muted';
    stats.dataset.testid = 'chat-stats';
    stats.textContent = 'generating…';
    div.append(stats);
    log.scrollTop = log.scrollHeight;
    setGenerating(true);
    // A main-thread heartbeat while the reply is generated: the longest gap between 16 ms timer ticks.
    let last = performance.now();
    const beat = setInterval(() => {
      const now = performance.now();
      turn.maxGapMs = Math.max(turn.maxGapMs, now - last);
      turn.ticks++;
      last = now;
    }, 16);
    const signal = controller.signal;
    running = (async () => {
      try {
        const s = session ? session.stream(text, { ...options, signal }) : stream(lm, text, { ...options, signal });
        for await (const event of s) {
          turn.reply += event.text;
          turn.events++;
          body.textContent = turn.reply;
          log.scrollTop = log.scrollHeight;
        }
        const r = await s.result;
        Object.assign(turn, {
          reply: r.text, tokens: r.tokens.slice(), finishReason: r.finishReason, tokensPerSecond: r.timings.tokensPerSecond,
          prefillMs: r.timings.prefillMs, prefillTokens: r.timings.prefillTokens,
        });
        body.textContent = r.text;
        const rate = r.tokens.length > 0 && Number.isFinite(r.timings.tokensPerSecond) ? `${r.timings.tokensPerSecond.toFixed(1)} tokens/s` : '— tokens/s';
        stats.textContent =
          `${r.tokens.length} tokens · ${rate} · prefill ${r.timings.prefillTokens} tokens in ${r.timings.prefillMs.toFixed(1)} ms · ` +
          `${FINISH[r.finishReason] ?? r.finishReason}${r.note ? ` (${r.note})` : ''}`;
        stats.dataset.finish = r.finishReason;
      } catch (e) {
        turn.error = messageOf(e);
        stats.textContent = 'failed';
        const full = session && /more than the cache's \d+ positions/.test(turn.error) ? ' The conversation no longer fits: start a new conversation.' : '';
        showError(`${turn.error}${full}`);
        console.warn(e);
      } finally {
        clearInterval(beat);
        div.classList.remove('streaming');
        controller = null;
        turn.cachedTokens = session ? session.cachedTokens : 0;
        setGenerating(false);
        showStatus();
        renderAttention();
      }
    })();
    return running;
  }

  /** One layer's attention for one head over the last message's first tokens: a fresh forward pass, no cache. */
  function renderAttention() {
    const last = state.turns.at(-1);
    if (!lm || !lm.tokenizer || !last) {
      attn.hidden = true;
      return;
    }
    const layer = Number(layerPick.value) || 0;
    const head = Number(headPick.value) || 0;
    let ids = lm.tokenizer.encode(last.user);
    const typed = ids.length;
    if (ids.length === 0) {
      attn.hidden = true;
      return;
    }
    ids = ids.slice(0, MAX_ATTENTION_TOKENS);
    const tokens = ids.map((id) => lm.tokenizer.decode([id], { skipSpecialTokens: false }));
    let out;
    try {
      out = lm.forward(ids, { outputAttentions: [layer] });
    } catch (e) {
      attn.hidden = true;
      showError(messageOf(e));
      return;
    }
    const weights = out.attentions[layer].data;
    const L = ids.length;
    attn.hidden = false;
    drawTokenAttention(attnCanvas, hover, weights, tokens, head, { causal: true });
    state.attention = { layer, head, ids, tokens, length: L, weights: Array.from(weights.subarray(head * L * L, (head + 1) * L * L)) };
    attnNote.textContent =
      `${L} tokens of your last message (the tokenizer's, special tokens shown) · layer ${layer + 1} of ${lm.numLayers}, head ${head + 1} of ${lm.numHeads} · ` +
      'rows: queries, columns: keys; a token sees only itself and earlier tokens, so the upper triangle is empty' +
      (typed > L ? ` · the first ${L} of ${typed} tokens` : '');
  }

  function newConversation() {
    if (!lm || state.generating) return;
    session?.reset();
    state.turns = [];
    state.attention = null;
    log.replaceChildren();
    attn.hidden = true;
    showError('');
    showStatus();
  }

  picker.addEventListener('change', () => load(picker.files ? [...picker.files] : []));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || state.generating) return;
    input.value = '';
    send(text);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener('click', () => controller?.abort());
  newButton.addEventListener('click', newConversation);
  temperatureBox.addEventListener('input', samplingHint);
  layerPick.addEventListener('change', renderAttention);
  headPick.addEventListener('change', renderAttention);
  samplingHint();
  demo.loadChat = load;
  demo.sendChat = send;
  return state;
}
