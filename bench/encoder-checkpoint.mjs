// The checkpoints of `npm run bench:encoders`: a Hugging Face BERT folder with random weights
// (seeded), written once into a cache folder and reused while its shape and seed stay the same.
//   config.json, model.safetensors (written here: an 8-byte header length, the JSON header, the
//   float32 data), tokenizer.json + tokenizer_config.json + special_tokens_map.json (the WordPiece
//   tokenizer of test/fixtures/tokenizers/wordpiece, its vocabulary filled up to vocab_size with
//   whole-word tokens w00001, w00002, …), the sentence-transformers files (modules.json,
//   1_Pooling/config.json: mean, sentence_bert_config.json) and onnx/model.onnx (the same weights,
//   plain ONNX ops: bench/peers/onnx-graph.mjs bertGraph); on request (`dtypes`) also the files
//   transformers.js loads for dtype 'q8' and 'q4', onnx/model_quantized.onnx and onnx/model_q4.onnx
//   (the same weights quantized as its converter does: bench/peers/onnx-quant.mjs), each written once.
// Weights: N(0, 0.02) like a trained BERT's initializer_range (embeddings, projections, biases);
// LayerNorm weights 1 + N(0, 0.02), biases N(0, 0.02).
// sentences(): deterministic texts of whole-word tokens, each exactly `length` tokens with [CLS]
// and [SEP].
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { bertGraph } from './peers/onnx-graph.mjs';
import { ONNX_FILES } from './peers/onnx-quant.mjs';

const FIXTURE = new URL('../test/fixtures/tokenizers/wordpiece/', import.meta.url);

/** The benchmark's shapes. */
export const ENCODER_SHAPES = {
  // all-MiniLM-L6-v2's shape
  minilm: { layers: 6, hidden: 384, heads: 12, ff: 1536, vocab: 30522, positions: 512 },
  // bert-base-uncased's shape
  base: { layers: 12, hidden: 768, heads: 12, ff: 3072, vocab: 30522, positions: 512 },
  // the bench's own test
  tiny: { layers: 2, hidden: 32, heads: 4, ff: 64, vocab: 1000, positions: 64 },
};

/** mulberry32 → N(0, 1) pairs by Box–Muller. */
function normals(seed) {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(u() + 1e-12));
    const a = 2 * Math.PI * u();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
}

/** The state dict of a BertModel with this shape: [[name, Float32Array, shape]] in a fixed order. */
export function bertWeights(shape, seed = 1234) {
  const { layers, hidden: e, ff, vocab, positions } = shape;
  const n = normals(seed);
  const w = (...dims) => {
    const a = new Float32Array(dims.reduce((x, y) => x * y, 1));
    for (let i = 0; i < a.length; i++) a[i] = 0.02 * n();
    return a;
  };
  const ln = () => {
    const a = new Float32Array(e);
    for (let i = 0; i < e; i++) a[i] = 1 + 0.02 * n();
    return a;
  };
  const out = [
    ['embeddings.word_embeddings.weight', w(vocab, e), [vocab, e]],
    ['embeddings.position_embeddings.weight', w(positions, e), [positions, e]],
    ['embeddings.token_type_embeddings.weight', w(2, e), [2, e]],
    ['embeddings.LayerNorm.weight', ln(), [e]],
    ['embeddings.LayerNorm.bias', w(e), [e]],
  ];
  for (let i = 0; i < layers; i++) {
    const p = `encoder.layer.${i}.`;
    for (const m of ['query', 'key', 'value']) out.push([`${p}attention.self.${m}.weight`, w(e, e), [e, e]], [`${p}attention.self.${m}.bias`, w(e), [e]]);
    out.push(
      [`${p}attention.output.dense.weight`, w(e, e), [e, e]], [`${p}attention.output.dense.bias`, w(e), [e]],
      [`${p}attention.output.LayerNorm.weight`, ln(), [e]], [`${p}attention.output.LayerNorm.bias`, w(e), [e]],
      [`${p}intermediate.dense.weight`, w(ff, e), [ff, e]], [`${p}intermediate.dense.bias`, w(ff), [ff]],
      [`${p}output.dense.weight`, w(e, ff), [e, ff]], [`${p}output.dense.bias`, w(e), [e]],
      [`${p}output.LayerNorm.weight`, ln(), [e]], [`${p}output.LayerNorm.bias`, w(e), [e]],
    );
  }
  out.push(['pooler.dense.weight', w(e, e), [e, e]], ['pooler.dense.bias', w(e), [e]]);
  return out;
}

/** model.safetensors from [[name, Float32Array, shape]], written piece by piece. */
export function writeSafetensors(file, tensors) {
  const header = { __metadata__: { format: 'pt' } };
  let at = 0;
  for (const [name, data, shape] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [at, at + data.byteLength] };
    at += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json));
    for (const [, data] of tensors) writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } finally {
    closeSync(fd);
  }
}

/** The fixture's WordPiece tokenizer with its vocabulary filled up to `size` entries. */
export function tokenizerJson(size) {
  const tok = JSON.parse(readFileSync(new URL('tokenizer.json', FIXTURE), 'utf8'));
  const vocab = tok.model.vocab;
  let next = Object.keys(vocab).length;
  if (next > size) throw new Error(`the fixture's vocabulary has ${next} entries, more than ${size}`);
  for (let i = 1; next < size; i++) {
    const word = `w${String(i).padStart(5, '0')}`;
    if (!(word in vocab)) vocab[word] = next++;
  }
  return tok;
}

/** Every whole-word token (a word that tokenizes to itself), in id order. */
function wholeWords(tok) {
  return Object.entries(tok.model.vocab)
    .filter(([w]) => /^[a-z0-9]+$/.test(w))
    .sort((a, b) => a[1] - b[1])
    .map(([w]) => w);
}

/** `count` deterministic texts of `length` tokens each ([CLS] + length − 2 words + [SEP]). */
export function sentences(tok, count, length, seed = 7) {
  const words = wholeWords(tok);
  let s = seed;
  const pick = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return words[(s >>> 8) % words.length];
  };
  return Array.from({ length: count }, () => Array.from({ length: length - 2 }, pick).join(' '));
}

const configJson = (shape) => ({
  architectures: ['BertModel'],
  attention_probs_dropout_prob: 0.1,
  classifier_dropout: null,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: shape.hidden,
  initializer_range: 0.02,
  intermediate_size: shape.ff,
  layer_norm_eps: 1e-12,
  max_position_embeddings: shape.positions,
  model_type: 'bert',
  num_attention_heads: shape.heads,
  num_hidden_layers: shape.layers,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  torch_dtype: 'float32',
  transformers_version: '4.47.0',
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: shape.vocab,
});

/**
 * The checkpoint folder for `shape` under `cacheDir` (written unless a complete one with the same
 * shape and seed is there), with the ONNX file of each of `dtypes` ('f32', 'q8', 'q4'; f32 always).
 * → { dir, name, weights?: the state dict when it was just made }.
 */
export function ensureCheckpoint(cacheDir, name, shape, { seed = 1234, log = () => {}, dtypes = ['f32'] } = {}) {
  const out = ensureFloatCheckpoint(cacheDir, name, shape, { seed, log });
  let state = out.weights && Object.fromEntries(out.weights.map(([k, d]) => [k, d]));
  for (const dtype of dtypes) {
    if (!(dtype in ONNX_FILES)) throw new Error(`ensureCheckpoint: dtype '${dtype}' is not one of ${Object.keys(ONNX_FILES).join(', ')}`);
    const file = join(out.dir, 'onnx', ONNX_FILES[dtype]);
    if (existsSync(file)) continue;
    log(`writing onnx/${ONNX_FILES[dtype]} (the same weights, ${dtype} as transformers.js ships it) …`);
    state ??= Object.fromEntries(bertWeights(shape, seed).map(([k, d]) => [k, d]));
    writeFileSync(`${file}.tmp`, bertGraph({ ...shape, eps: 1e-12, weights: state, dtype }));
    renameSync(`${file}.tmp`, file);
  }
  return out;
}

function ensureFloatCheckpoint(cacheDir, name, shape, { seed, log }) {
  const dir = join(cacheDir, name);
  const stamp = JSON.stringify({ shape, seed, format: 1 });
  const stampFile = join(dir, '.complete');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return { dir, name };
  log(`writing the ${name} checkpoint (random weights, seed ${seed}) into ${dir} …`);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'onnx'), { recursive: true });
  mkdirSync(join(tmp, '1_Pooling'), { recursive: true });
  const json = (file, value) => writeFileSync(join(tmp, file), `${JSON.stringify(value, null, 2)}\n`);
  const weights = bertWeights(shape, seed);
  json('config.json', configJson(shape));
  writeSafetensors(join(tmp, 'model.safetensors'), weights);
  json('tokenizer.json', tokenizerJson(shape.vocab));
  const tc = JSON.parse(readFileSync(new URL('tokenizer_config.json', FIXTURE), 'utf8'));
  json('tokenizer_config.json', { ...tc, model_max_length: shape.positions });
  writeFileSync(join(tmp, 'special_tokens_map.json'), readFileSync(new URL('special_tokens_map.json', FIXTURE)));
  json('modules.json', [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  ]);
  json('1_Pooling/config.json', {
    word_embedding_dimension: shape.hidden, pooling_mode_cls_token: false, pooling_mode_mean_tokens: true, pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false, pooling_mode_weightedmean_tokens: false, pooling_mode_lasttoken: false, include_prompt: true,
  });
  json('sentence_bert_config.json', { max_seq_length: shape.positions, do_lower_case: false });
  json('config_sentence_transformers.json', { __version__: { sentence_transformers: '3.0.1', transformers: '4.47.0', pytorch: '2.4.0' }, prompts: {}, default_prompt_name: null, similarity_fn_name: 'cosine' });
  writeFileSync(join(tmp, 'onnx', 'model.onnx'), bertGraph({ ...shape, eps: 1e-12, weights: Object.fromEntries(weights.map(([k, d]) => [k, d])) }));
  writeFileSync(join(tmp, '.complete'), stamp);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, name, weights };
}
