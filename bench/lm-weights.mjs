// The language-model benchmark's checkpoints: random weights with a real model's shape, written
// once into a cache folder in two formats that hold the very same numbers:
//  - a Hugging Face folder (config.json + model.safetensors, F16) for loadModel;
//  - GGUF v3 files (F32 and F16) for llama.cpp (wllama), with a small made-up byte-level BPE
//    vocabulary of vocab_size tokens (the bench feeds token ids, never text).
// Every value is drawn from a seeded generator (per tensor, so a tensor can be regenerated alone)
// and rounded to float16, so the F16 and F32 files carry identical weights: matrices ~N(0, 0.02)
// (the sum of four uniforms, scaled), biases ~N(0, 0.02), norm weights 1 ± 0.05.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The bench's model shapes (Hugging Face config.json fields). */
export const SHAPES = {
  // SmolLM2-135M
  LM1: {
    model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30,
    num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, rope_theta: 100000, rms_norm_eps: 1e-5,
    tie_word_embeddings: true, max_position_embeddings: 8192, hidden_act: 'silu', bos_token_id: 0, eos_token_id: 0,
  },
  // Qwen2.5-0.5B
  LM2: {
    model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
    num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, rope_theta: 1000000, rms_norm_eps: 1e-6,
    tie_word_embeddings: true, max_position_embeddings: 32768, hidden_act: 'silu', use_sliding_window: false, bos_token_id: 151643, eos_token_id: 151643,
  },
  // Qwen2.5-1.5B (bench/lm-large.mjs: loaded quantized, tensor by tensor)
  LM3: {
    model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28,
    num_attention_heads: 12, num_key_value_heads: 2, vocab_size: 151936, rope_theta: 1000000, rms_norm_eps: 1e-6,
    tie_word_embeddings: true, max_position_embeddings: 32768, hidden_act: 'silu', use_sliding_window: false, bos_token_id: 151643, eos_token_id: 151643,
  },
  // the bench's own test: seconds
  TINY: {
    model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 512, rope_theta: 10000, rms_norm_eps: 1e-5,
    tie_word_embeddings: true, max_position_embeddings: 2048, hidden_act: 'silu', bos_token_id: 0, eos_token_id: 0,
  },
};

const biased = (c) => c.model_type === 'qwen2';

/**
 * The tensors of a config in Hugging Face names: [{ name, shape, kind: 'matrix'|'bias'|'norm', gguf,
 * permute? }] (gguf: llama.cpp's name; permute: the rows llama.cpp's converter reorders for its RoPE).
 */
export function tensorList(c) {
  const e = c.hidden_size, ff = c.intermediate_size, h = c.num_attention_heads, kv = c.num_key_value_heads, d = e / h;
  const list = [{ name: 'model.embed_tokens.weight', shape: [c.vocab_size, e], kind: 'matrix', gguf: 'token_embd.weight' }];
  const llamaRope = c.model_type === 'llama'; // llama.cpp rotates adjacent pairs for llama: q/k rows permuted
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`, g = `blk.${i}`;
    list.push(
      { name: `${p}.input_layernorm.weight`, shape: [e], kind: 'norm', gguf: `${g}.attn_norm.weight` },
      { name: `${p}.self_attn.q_proj.weight`, shape: [h * d, e], kind: 'matrix', gguf: `${g}.attn_q.weight`, permute: llamaRope ? h : undefined },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv * d, e], kind: 'matrix', gguf: `${g}.attn_k.weight`, permute: llamaRope ? kv : undefined },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv * d, e], kind: 'matrix', gguf: `${g}.attn_v.weight` },
    );
    if (biased(c)) {
      list.push(
        { name: `${p}.self_attn.q_proj.bias`, shape: [h * d], kind: 'bias', gguf: `${g}.attn_q.bias` },
        { name: `${p}.self_attn.k_proj.bias`, shape: [kv * d], kind: 'bias', gguf: `${g}.attn_k.bias` },
        { name: `${p}.self_attn.v_proj.bias`, shape: [kv * d], kind: 'bias', gguf: `${g}.attn_v.bias` },
      );
    }
    list.push(
      { name: `${p}.self_attn.o_proj.weight`, shape: [e, h * d], kind: 'matrix', gguf: `${g}.attn_output.weight` },
      { name: `${p}.post_attention_layernorm.weight`, shape: [e], kind: 'norm', gguf: `${g}.ffn_norm.weight` },
      { name: `${p}.mlp.gate_proj.weight`, shape: [ff, e], kind: 'matrix', gguf: `${g}.ffn_gate.weight` },
      { name: `${p}.mlp.up_proj.weight`, shape: [ff, e], kind: 'matrix', gguf: `${g}.ffn_up.weight` },
      { name: `${p}.mlp.down_proj.weight`, shape: [e, ff], kind: 'matrix', gguf: `${g}.ffn_down.weight` },
    );
  }
  list.push({ name: 'model.norm.weight', shape: [e], kind: 'norm', gguf: 'output_norm.weight' });
  return list;
}

/** Parameter counts: all, and those a decoded token multiplies (every matrix but the embedding lookup; the tied head counted once). */
export function parameterCounts(c) {
  const list = tensorList(c);
  const size = (t) => t.shape.reduce((a, b) => a * b, 1);
  const total = list.reduce((n, t) => n + size(t), 0);
  const layerMatrices = list.filter((t) => t.kind === 'matrix' && t.name !== 'model.embed_tokens.weight').reduce((n, t) => n + size(t), 0);
  const other = list.filter((t) => t.kind !== 'matrix').reduce((n, t) => n + size(t), 0);
  const head = c.vocab_size * c.hidden_size;
  return { total, layerMatrices, head, other };
}

// ---- the numbers ---------------------------------------------------------------------------------
function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float32 → float16 bits, round to nearest even (subnormals kept; no NaN or ∞ occur here). */
function toHalf(x) {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const man = b & 0x7fffff;
  if (exp < 103) return sign; // below half the smallest subnormal
  if (exp < 113) {
    // subnormal half
    const m = man | 0x800000;
    const shift = 126 - exp;
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let h = ((exp - 112) << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
const HALF = new Float32Array(65536);
{
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1, e = (h >>> 10) & 31, m = h & 1023;
    HALF[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
}

/** The float16 bits of one tensor (HF layout), regenerated from its name and the model's seed. */
export function tensorHalf(t, seed = 1) {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Uint16Array(n);
  let s = (hash(t.name) ^ Math.imul(seed, 0x9e3779b1)) >>> 0 || 1;
  // xorshift32: four uniforms summed → ~N(0, 1/3), scaled to std 0.02 (0.05 spread for norms around 1)
  const scale = t.kind === 'norm' ? 0.05 * Math.sqrt(3) : 0.02 * Math.sqrt(3);
  const offset = t.kind === 'norm' ? 1 : 0;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < 4; k++) {
      s ^= s << 13; s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5; s >>>= 0;
      acc += s / 4294967296;
    }
    out[i] = toHalf(offset + (acc - 2) * scale);
  }
  return out;
}

/** float16 bits → float32 values. */
export const halfToFloat = (h) => {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = HALF[h[i]];
  return out;
};

// ---- the Hugging Face folder ---------------------------------------------------------------------
/** Writes config.json + model.safetensors (F16) into `dir` unless already there; → dir. */
export function writeCheckpoint(dir, c, seed = 1) {
  if (existsSync(join(dir, 'model.safetensors')) && existsSync(join(dir, 'config.json'))) return dir;
  mkdirSync(dir, { recursive: true });
  const list = tensorList(c);
  const header = {};
  let offset = 0;
  for (const t of list) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * 2;
    header[t.name] = { dtype: 'F16', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  header.__metadata__ = { format: 'pt', note: `random weights, seed ${seed}` };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const tmp = join(dir, 'model.safetensors.tmp');
  const fd = openSync(tmp, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, Buffer.from(json, 'utf8'));
  for (const t of list) {
    const h = tensorHalf(t, seed);
    writeSync(fd, new Uint8Array(h.buffer, h.byteOffset, h.byteLength));
  }
  closeSync(fd);
  renameSync(tmp, join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...c, torch_dtype: 'float16' }, null, 2));
  return dir;
}

/** The bfloat16 bits of one tensor: its float16 values (tensorHalf) widened to float32 and rounded to nearest even. */
export function tensorBf16(t, seed = 1) {
  const h = tensorHalf(t, seed);
  const out = new Uint16Array(h.length);
  for (let i = 0; i < h.length; i++) {
    f32[0] = HALF[h[i]];
    const b = u32[0];
    out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/**
 * Writes config.json + BF16 shards (model-0000i-of-0000n.safetensors, each below `shardBytes`) and
 * model.safetensors.index.json into `dir` unless already there, as the hub ships large checkpoints
 * (one file above 2 GiB is beyond what Node reads into one buffer); → dir.
 */
export function writeShardedCheckpoint(dir, c, seed = 1, shardBytes = 1 << 30) {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index) && existsSync(join(dir, 'config.json'))) return dir;
  mkdirSync(dir, { recursive: true });
  const list = tensorList(c);
  const shards = [[]];
  let bytes = 0;
  for (const t of list) {
    const size = t.shape.reduce((a, b) => a * b, 1) * 2;
    if (bytes + size > shardBytes && shards.at(-1).length) (shards.push([]), (bytes = 0));
    shards.at(-1).push(t);
    bytes += size;
  }
  const name = (i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
  const weightMap = {};
  shards.forEach((tensors, i) => {
    const header = {};
    let offset = 0;
    for (const t of tensors) {
      const size = t.shape.reduce((a, b) => a * b, 1) * 2;
      header[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + size] };
      offset += size;
      weightMap[t.name] = name(i);
    }
    header.__metadata__ = { format: 'pt', note: `random weights, seed ${seed}` };
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const tmp = join(dir, `${name(i)}.tmp`);
    const fd = openSync(tmp, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json, 'utf8'));
    for (const t of tensors) {
      const b = tensorBf16(t, seed);
      writeSync(fd, new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    }
    closeSync(fd);
    renameSync(tmp, join(dir, name(i)));
  });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...c, torch_dtype: 'bfloat16' }, null, 2));
  writeFileSync(index, JSON.stringify({ metadata: { total_size: list.reduce((n, t) => n + 2 * t.shape.reduce((a, b) => a * b, 1), 0) }, weight_map: weightMap }, null, 2));
  return dir;
}

// ---- the made-up vocabulary ----------------------------------------------------------------------
// GPT-2's byte ↔ unicode table: the 256 byte tokens; then two- and three-character tokens of
// printable ASCII ('!'…'~'), each with the merge that builds it, until vocab_size.
function byteChars() {
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const out = new Array(256);
  bs.forEach((b, i) => (out[b] = String.fromCodePoint(cs[i])));
  return out;
}

/** The vocabulary: { tokens: string[], merges: string[] } of `size` tokens. */
export function fakeVocab(size) {
  const tokens = byteChars();
  const merges = [];
  const ascii = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i));
  outer: for (const a of ascii) for (const b of ascii) {
    if (tokens.length >= size) break outer;
    tokens.push(a + b);
    merges.push(`${a} ${b}`);
  }
  outer2: for (const a of ascii) for (const b of ascii) for (const c of ascii) {
    if (tokens.length >= size) break outer2;
    tokens.push(a + b + c);
    merges.push(`${a}${b} ${c}`);
  }
  if (tokens.length < size) throw new Error(`fakeVocab: ${size} tokens is more than this vocabulary makes`);
  return { tokens: tokens.slice(0, size), merges };
}

/** The text of token ids in the made-up vocabulary (byte tokens decoded through GPT-2's table). */
export function vocabText(ids, vocab) {
  const chars = byteChars();
  const inverse = new Map(chars.map((ch, b) => [ch, b]));
  const bytes = [];
  for (const id of ids) for (const ch of vocab.tokens[id]) bytes.push(inverse.get(ch) ?? 63);
  return Buffer.from(bytes).toString('latin1');
}

// ---- GGUF v3 ---------------------------------------------------------------------------------------
const GG = { U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10 };
const GGML = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 };
/** Bytes of one block of 32 weights, per ggml type (1 for the float types: they have no blocks). */
const BLOCK_BYTES = { [GGML.Q4_0]: 18, [GGML.Q8_0]: 34 };
/** The GGUF file types llama.cpp names the files by (general.file_type: LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_Q4_0, MOSTLY_Q8_0). */
const FILE_TYPE = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };
const MATRIX_TYPE = { f32: GGML.F32, f16: GGML.F16, q4_0: GGML.Q4_0, q8_0: GGML.Q8_0 };

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
/** float → IEEE half bits, round to nearest even (ggml stores block scales as f16). */
function floatToHalf(x) {
  f32Scratch[0] = x;
  const b = u32Scratch[0], sign = (b >>> 16) & 0x8000, exp = (b >>> 23) & 0xff, man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = man | 0x800000, shift = 14 - e, half = m >>> shift, rest = m & ((1 << shift) - 1), mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (man >>> 13), rest = man & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

/**
 * Rows of floats (a multiple of 32 each) as ggml blocks, as ggml's quantize_row_q8_0_ref /
 * quantize_row_q4_0_ref do: Q8_0 = { f16 d = amax/127; int8 qs[32] = round(x/d) }; Q4_0 = { f16 d =
 * max/−8 (max: the value of largest magnitude); u8 qs[16]: x[j] in the low nibble, x[j+16] in the
 * high one, each min(15, trunc(x/d + 8.5)) }.
 */
function quantizeBlocks(x, ggType) {
  const blocks = x.length / 32, size = BLOCK_BYTES[ggType];
  const out = new Uint8Array(blocks * size), view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const v = x.subarray(32 * b, 32 * b + 32), o = b * size;
    if (ggType === GGML.Q8_0) {
      let amax = 0;
      for (const y of v) amax = Math.max(amax, Math.abs(y));
      const d = amax / 127, id = d ? 1 / d : 0;
      view.setUint16(o, floatToHalf(d), true);
      for (let j = 0; j < 32; j++) view.setInt8(o + 2 + j, Math.sign(v[j]) * Math.round(Math.abs(v[j] * id))); // roundf: halves away from 0
    } else {
      let amax = 0, max = 0;
      for (const y of v) if (Math.abs(y) > amax) { amax = Math.abs(y); max = y; }
      const d = max / -8, id = d ? 1 / d : 0;
      view.setUint16(o, floatToHalf(d), true);
      for (let j = 0; j < 16; j++) {
        const lo = Math.min(15, Math.trunc(v[j] * id + 8.5)), hi = Math.min(15, Math.trunc(v[j + 16] * id + 8.5));
        out[o + 2 + j] = lo | (hi << 4);
      }
    }
  }
  return out;
}

class Out {
  constructor() { this.parts = []; this.length = 0; }
  push(buf) { this.parts.push(buf); this.length += buf.length; }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  i32(v) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v) { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  str(s) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
}

/**
 * Writes `dir/model-<f32|f16|q8_0|q4_0>.gguf` unless there; → its path. Matrices in `type` (norms, biases in
 * F32, as llama.cpp's converter writes them); llama's q/k rows permuted like convert_hf_to_gguf.py's
 * LlamaModel.permute (llama.cpp rotates adjacent pairs where Hugging Face rotates halves).
 */
export function writeGguf(dir, c, type = 'f32', seed = 1) {
  if (!(type in MATRIX_TYPE)) throw new Error(`writeGguf: type ${type} (f32, f16, q8_0, q4_0)`);
  const path = join(dir, `model-${type}.gguf`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const arch = c.model_type === 'qwen2' ? 'qwen2' : 'llama';
  const vocab = fakeVocab(c.vocab_size);
  const o = new Out();
  const list = tensorList(c);
  const kv = [
    ['general.architecture', GG.STRING, arch],
    ['general.name', GG.STRING, `random ${arch}`],
    ['general.alignment', GG.U32, 32],
    ['general.file_type', GG.U32, FILE_TYPE[type]],
    [`${arch}.block_count`, GG.U32, c.num_hidden_layers],
    [`${arch}.context_length`, GG.U32, c.max_position_embeddings],
    [`${arch}.embedding_length`, GG.U32, c.hidden_size],
    [`${arch}.feed_forward_length`, GG.U32, c.intermediate_size],
    [`${arch}.attention.head_count`, GG.U32, c.num_attention_heads],
    [`${arch}.attention.head_count_kv`, GG.U32, c.num_key_value_heads],
    [`${arch}.rope.freq_base`, GG.F32, c.rope_theta],
    [`${arch}.attention.layer_norm_rms_epsilon`, GG.F32, c.rms_norm_eps],
    ...(arch === 'llama' ? [[`${arch}.rope.dimension_count`, GG.U32, c.hidden_size / c.num_attention_heads], [`${arch}.vocab_size`, GG.U32, c.vocab_size]] : []),
    ['tokenizer.ggml.model', GG.STRING, 'gpt2'],
    ['tokenizer.ggml.pre', GG.STRING, 'default'],
    ['tokenizer.ggml.tokens', GG.ARRAY, [GG.STRING, vocab.tokens]],
    ['tokenizer.ggml.token_type', GG.ARRAY, [GG.I32, vocab.tokens.map(() => 1)]],
    ['tokenizer.ggml.merges', GG.ARRAY, [GG.STRING, vocab.merges]],
    ['tokenizer.ggml.bos_token_id', GG.U32, c.bos_token_id % c.vocab_size],
    ['tokenizer.ggml.eos_token_id', GG.U32, c.eos_token_id % c.vocab_size],
    ['tokenizer.ggml.add_bos_token', GG.BOOL, false],
  ];
  o.u32(0x46554747); // "GGUF"
  o.u32(3);
  o.u64(list.length);
  o.u64(kv.length);
  const value = (t, v) => {
    if (t === GG.STRING) o.str(v);
    else if (t === GG.U32) o.u32(v);
    else if (t === GG.I32) o.i32(v);
    else if (t === GG.F32) o.f32(v);
    else if (t === GG.BOOL) o.push(Buffer.from([v ? 1 : 0]));
    else if (t === GG.ARRAY) {
      const [et, items] = v;
      o.u32(et);
      o.u64(items.length);
      for (const item of items) value(et, item);
    } else throw new Error(`gguf: type ${t}`);
  };
  for (const [key, t, v] of kv) {
    o.str(key);
    o.u32(t);
    value(t, v);
  }
  // tensor infos: ne[0] is the fastest-moving dimension (a [out, in] matrix is ne = [in, out])
  let offset = 0;
  const infos = list.map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const ggType = t.kind === 'matrix' ? MATRIX_TYPE[type] : GGML.F32;
    const bytes = BLOCK_BYTES[ggType] ? (n / 32) * BLOCK_BYTES[ggType] : n * (ggType === GGML.F16 ? 2 : 4);
    const info = { t, ggType, offset, bytes };
    offset += Math.ceil(bytes / 32) * 32;
    return info;
  });
  for (const { t, ggType, offset: off } of infos) {
    o.str(t.gguf);
    o.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) o.u64(d);
    o.u32(ggType);
    o.u64(off);
  }
  o.push(Buffer.alloc((32 - (o.length % 32)) % 32));
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  for (const p of o.parts) writeSync(fd, p);
  for (const { t, ggType, bytes } of infos) {
    let h = tensorHalf(t, seed);
    if (t.permute) h = permuteRows(h, t.shape, t.permute);
    const data = ggType === GGML.F16 ? h : BLOCK_BYTES[ggType] ? quantizeBlocks(halfToFloat(h), ggType) : halfToFloat(h);
    writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const pad = Math.ceil(bytes / 32) * 32 - bytes;
    if (pad) writeSync(fd, Buffer.alloc(pad));
  }
  closeSync(fd);
  renameSync(tmp, path);
  return path;
}

/**
 * convert_hf_to_gguf.py's LlamaModel.permute: w.reshape(heads, 2, rows/heads/2, cols).swapaxes(1, 2):
 * within each head, the rows of the first half and of the second half interleave.
 */
function permuteRows(h, shape, heads) {
  const [rows, cols] = shape, d = rows / heads, half = d / 2;
  const out = new Uint16Array(h.length);
  for (let hh = 0; hh < heads; hh++)
    for (let i = 0; i < half; i++)
      for (let j = 0; j < 2; j++) {
        const to = hh * d + i * 2 + j, from = hh * d + j * half + i;
        out.set(h.subarray(from * cols, (from + 1) * cols), to * cols);
      }
  return out;
}

/**
 * A prompt of `n` token ids and its text, such that llama.cpp's tokenizer (GPT-2 pre-tokenizer, then
 * BPE with the merges above) gives back exactly these ids: two-letter words (one token each: one
 * merge) alternating with single digits (byte tokens), so every pre-token is one token.
 */
export function prompt(n, seed = 7) {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  const ids = [];
  let text = '';
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      const a = letters[next() % 52], b = letters[next() % 52];
      ids.push(256 + (a.charCodeAt(0) - 33) * 94 + (b.charCodeAt(0) - 33));
      text += a + b;
    } else {
      const d = String(next() % 10);
      ids.push(d.charCodeAt(0));
      text += d;
    }
  }
  return { ids, text };
}
