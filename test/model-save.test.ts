// model.save(): the weights as held (f32, Q8, Q4 with their scales, F16 / BF16) in a safetensors file that
// loadModel reads back without quantizing again: the reloaded model gives the same bits as the one
// that was saved (every LM fixture family, every dtype); the file's tensors and metadata; asking for
// another dtype than the saved one is an error; tables and head in their own dtype (embeddingDtype);
// the cache dtype asked at load. Every build, both thread projects.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, readSafetensors, type AttentionRuntime, type CausalLMModel, type EncoderModel } from '../src/index.js';
import { BUILDS, runtimeFor } from './helpers.js';
import { numberToHalf } from '../src/reference/ops/half.js';
import { writeSafetensors } from '../src/engine/safetensors-write.js';

const LM_DIR = fileURLToPath(new URL('./fixtures/lm/', import.meta.url));
const ENC_DIR = fileURLToPath(new URL('./fixtures/checkpoints/', import.meta.url));
interface EncBatch { input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][] }
const ENC = (JSON.parse(readFileSync(`${ENC_DIR}expected.json`, 'utf8')) as { checkpoints: Record<string, { batch: EncBatch }> }).checkpoints;
const LM = (JSON.parse(readFileSync(`${LM_DIR}expected.json`, 'utf8')) as { checkpoints: Record<string, { prompts: { input_ids: number[] }[] }> }).checkpoints;
const config = (name: string) => JSON.parse(readFileSync(`${LM_DIR}${name}/config.json`, 'utf8')) as Record<string, unknown>;
const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

describe.each(BUILDS)('model.save(), %s build', (backend) => {
  let rt: AttentionRuntime;
  beforeAll(async () => {
    rt = await runtimeFor(backend);
  });

  it.each(Object.keys(LM))('%s: saved at f32, q8, q4, f16 and bf16 and loaded back, the same logits bit for bit', async (name) => {
    for (const dtype of ['f32', 'q8', 'q4', 'f16', 'bf16'] as const) {
      const original: CausalLMModel = await loadModel(rt, `${LM_DIR}${name}`, { kind: 'causal-lm', dtype });
      let reloaded: CausalLMModel | undefined;
      try {
        const bytes = original.save();
        reloaded = await loadModel(rt, { config: config(name), weights: bytes }, { kind: 'causal-lm' });
        expect(reloaded.dtype).toBe(dtype);
        expect(reloaded.weightBytes).toEqual(original.weightBytes);
        const ids = LM[name]!.prompts[0]!.input_ids;
        const a = original.forward(ids, { allLogits: true }).logits.data;
        const b = reloaded.forward(ids, { allLogits: true }).logits.data;
        expect(bits(b)).toEqual(bits(a));
      } finally {
        original.dispose();
        reloaded?.dispose();
      }
    }
  });

  it.each(Object.keys(ENC))('encoder %s: saved at f32, q8, q4, f16 and bf16 and loaded back, the same hidden states bit for bit', async (name) => {
    const encConfig = JSON.parse(readFileSync(`${ENC_DIR}${name}/config.json`, 'utf8')) as Record<string, unknown>;
    const b = ENC[name]!.batch;
    const input = { inputIds: b.input_ids, attentionMask: b.attention_mask, ...(name.startsWith('roberta') || name.startsWith('distil') ? {} : { tokenTypeIds: b.token_type_ids }) };
    for (const dtype of ['f32', 'q8', 'q4', 'f16', 'bf16'] as const) {
      const original: EncoderModel = await loadModel(rt, `${ENC_DIR}${name}`, { kind: 'encoder', dtype });
      let reloaded: EncoderModel | undefined;
      try {
        const bytes = original.save();
        expect(readSafetensors(bytes, { integers: true }).__metadata__?.['kind']).toBe('encoder');
        reloaded = await loadModel(rt, { config: encConfig, weights: bytes }, { kind: 'encoder' });
        expect(reloaded.dtype).toBe(dtype);
        expect(reloaded.weightBytes).toEqual(original.weightBytes);
        const x = original.forward(input).lastHiddenState.data;
        const y = reloaded.forward(input).lastHiddenState.data;
        expect(bits(y)).toEqual(bits(x));
      } finally {
        original.dispose();
        reloaded?.dispose();
      }
    }
  });

  it('the file: quantized matrices as I8 / U8 values and F32 scales, the rest F32, and the format in __metadata__', async () => {
    const m = await loadModel(rt, `${LM_DIR}qwen2`, { kind: 'causal-lm', dtype: 'q4' });
    try {
      const file = readSafetensors(m.save(), { integers: true });
      expect(file.__metadata__).toEqual({ format: 'wasm-attention', version: '1', dtype: 'q4', block: '32', kind: 'causal-lm', embeddingDtype: 'q4' });
      const e = m.hiddenSize, v = m.vocabSize;
      expect(file['embed.word']).toMatchObject({ dtype: 'U8', shape: [v, e / 2] });
      expect(file['embed.word.scales']).toMatchObject({ dtype: 'F32', shape: [v, e / 32] });
      expect(file['head.weight']).toBeUndefined(); // tied: the head is the word table
      expect(file['layers.0.attention.q_proj.bias']).toMatchObject({ dtype: 'F32' });
      expect(file['final_norm.weight']).toMatchObject({ dtype: 'F32', shape: [e] });
      for (const [name, t] of Object.entries(file)) if (t.dtype === 'U8') expect(file[`${name}.scales`]?.dtype).toBe('F32');
    } finally {
      m.dispose();
    }
  });

  it('the file of a 16-bit model: its matrices and word table as F16 / BF16 (the bits it holds), the rest F32', async () => {
    for (const dtype of ['f16', 'bf16'] as const) {
      const m = await loadModel(rt, `${LM_DIR}qwen2`, { kind: 'causal-lm', dtype });
      try {
        const file = readSafetensors(m.save(), { keep16: true });
        expect(file.__metadata__).toEqual({ format: 'wasm-attention', version: '1', dtype, block: '32', kind: 'causal-lm', embeddingDtype: dtype });
        const e = m.hiddenSize, v = m.vocabSize;
        const stored = dtype === 'f16' ? 'F16' : 'BF16';
        expect(file['embed.word']).toMatchObject({ dtype: stored, shape: [v, e] });
        expect(file['layers.0.attention.q_proj.weight']).toMatchObject({ dtype: stored });
        expect(file['layers.0.attention.q_proj.bias']).toMatchObject({ dtype: 'F32' });
        expect(file['final_norm.weight']).toMatchObject({ dtype: 'F32', shape: [e] });
        // the word table's values are the checkpoint's rounded to the nearest 16-bit float (ties to even)
        const original = readSafetensors(readFileSync(`${LM_DIR}qwen2/model.safetensors`))['model.embed_tokens.weight']!.data;
        const want = Uint16Array.from(original, (x) => numberToHalf(x, dtype));
        expect(file['embed.word']!.bits).toEqual(want);
      } finally {
        m.dispose();
      }
    }
    const b = await loadModel(rt, `${LM_DIR}llama`, { kind: 'causal-lm', dtype: 'bf16' });
    try {
      await expect(loadModel(rt, { config: config('llama'), weights: b.save() }, { dtype: 'f16' })).rejects.toThrow(/were saved as bf16; loading them as f16 would round again values already rounded to bf16 \(lossy\)/);
    } finally {
      b.dispose();
    }
  });

  it('tables and head in another dtype than the layers (embeddingDtype): saved and loaded back bit for bit, tied or not; other tables asked for are an error; a file without the field holds them in its dtype', async () => {
    for (const [name, tied] of [['llama', false], ['qwen2', true]] as const) {
      const original = await loadModel(rt, `${LM_DIR}${name}`, { kind: 'causal-lm', dtype: 'q4', embeddingDtype: 'q8' });
      let reloaded: CausalLMModel | undefined;
      try {
        expect([original.dtype, original.embeddingDtype]).toEqual(['q4', 'q8']);
        const bytes = original.save();
        const file = readSafetensors(bytes, { integers: true });
        expect(file.__metadata__).toMatchObject({ dtype: 'q4', embeddingDtype: 'q8' });
        expect(file['embed.word']).toMatchObject({ dtype: 'I8', shape: [original.vocabSize, original.hiddenSize] });
        expect(file['layers.0.attention.q_proj.weight']).toMatchObject({ dtype: 'U8' });
        if (tied) expect(file['head.weight']).toBeUndefined();
        else expect(file['head.weight']).toMatchObject({ dtype: 'I8', shape: [original.vocabSize, original.hiddenSize] });
        reloaded = await loadModel(rt, { config: config(name), weights: bytes }, { kind: 'causal-lm' });
        expect([reloaded.dtype, reloaded.embeddingDtype]).toEqual(['q4', 'q8']);
        expect(reloaded.weightBytes).toEqual(original.weightBytes);
        const ids = LM[name]!.prompts[0]!.input_ids;
        expect(bits(reloaded.forward(ids, { allLogits: true }).logits.data)).toEqual(bits(original.forward(ids, { allLogits: true }).logits.data));
        await expect(loadModel(rt, { config: config(name), weights: bytes }, { embeddingDtype: 'q4' })).rejects.toThrow(/the embedding tables and head were saved as q8; loading them as q4 would round again values already rounded to q8 \(lossy\): load them with embeddingDtype 'q8'/);
        const same = await loadModel(rt, { config: config(name), weights: bytes }, { dtype: 'q4' }); // the tables keep their saved dtype
        expect(same.embeddingDtype).toBe('q8');
        same.dispose();
      } finally {
        original.dispose();
        reloaded?.dispose();
      }
    }
    // q4 layers with f32 tables: asking for the layers' dtype again keeps the tables f32; a file saved all f32 may be quantized whole
    const mixed = await loadModel(rt, `${LM_DIR}qwen2`, { kind: 'causal-lm', dtype: 'q4', embeddingDtype: 'f32' });
    const mixedBytes = mixed.save();
    mixed.dispose();
    const again = await loadModel(rt, { config: config('qwen2'), weights: mixedBytes }, { kind: 'causal-lm', dtype: 'q4' });
    expect([again.dtype, again.embeddingDtype]).toEqual(['q4', 'f32']);
    again.dispose();
    const plain = await loadModel(rt, `${LM_DIR}qwen2`, { kind: 'causal-lm' });
    const plainBytes = plain.save();
    plain.dispose();
    const whole = await loadModel(rt, { config: config('qwen2'), weights: plainBytes }, { kind: 'causal-lm', dtype: 'q4' });
    expect([whole.dtype, whole.embeddingDtype]).toEqual(['q4', 'q4']);
    whole.dispose();
    // a file written before the field existed: its tables are in its dtype
    const m = await loadModel(rt, `${LM_DIR}qwen2`, { kind: 'causal-lm', dtype: 'q8' });
    const file = readSafetensors(m.save(), { integers: true });
    m.dispose();
    const { embeddingDtype: _, ...older } = file.__metadata__!;
    const tensors = new Map(Object.entries(file).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: t.data }] as const));
    const old = await loadModel(rt, { config: config('qwen2'), weights: writeSafetensors(tensors as never, older) }, { kind: 'causal-lm' });
    expect([old.dtype, old.embeddingDtype]).toEqual(['q8', 'q8']);
    old.dispose();
    await expect(loadModel(rt, `${LM_DIR}qwen2`, { embeddingDtype: 'int4' as never })).rejects.toThrow(new TypeError(`loadModel: options.embeddingDtype must be 'f32' (or 'fp32'), 'f16' (or 'fp16'), 'bf16', 'q8' or 'q4', received "int4"`));
  });

  it('an encoder with q8 word and position tables and q4 layers: the tables\' bytes in q8 (token types stay f32), saved and loaded back bit for bit', async () => {
    const name = 'bert-mini-st';
    const encConfig = JSON.parse(readFileSync(`${ENC_DIR}${name}/config.json`, 'utf8')) as Record<string, unknown>;
    const original = await loadModel(rt, `${ENC_DIR}${name}`, { kind: 'encoder', dtype: 'q4', embeddingDtype: 'q8' });
    let reloaded: EncoderModel | undefined;
    try {
      const vocab = encConfig['vocab_size'] as number, positions = encConfig['max_position_embeddings'] as number, e = original.hiddenSize;
      expect(original.weightBytes.q8).toBe((vocab + positions) * e * (1 + 4 / 32));
      const b = ENC[name]!.batch;
      const input = { inputIds: b.input_ids, attentionMask: b.attention_mask, tokenTypeIds: b.token_type_ids };
      reloaded = await loadModel(rt, { config: encConfig, weights: original.save() }, { kind: 'encoder' });
      expect([reloaded.dtype, reloaded.embeddingDtype]).toEqual(['q4', 'q8']);
      expect(bits(reloaded.forward(input).lastHiddenState.data)).toEqual(bits(original.forward(input).lastHiddenState.data));
    } finally {
      original.dispose();
      reloaded?.dispose();
    }
  });

  it('a saved model takes the cache dtype asked at load (kvDtype), as a checkpoint does', async () => {
    const m = await loadModel(rt, `${LM_DIR}llama`, { kind: 'causal-lm', dtype: 'q8' });
    const bytes = m.save();
    m.dispose();
    const q = await loadModel(rt, { config: config('llama'), weights: bytes }, { kind: 'causal-lm', kvDtype: 'q8' });
    expect(q.kvDtype).toBe('q8');
    const cache = q.createCache({ maxLength: 4 });
    expect(cache.kvDtype).toBe('q8');
    cache.dispose();
    q.dispose();
  });

  it('a saved quantized model loads only in its own dtype; an f32 one may be quantized at load', async () => {
    const m = await loadModel(rt, `${LM_DIR}llama`, { kind: 'causal-lm', dtype: 'q8' });
    const bytes = m.save();
    m.dispose();
    await expect(loadModel(rt, { config: config('llama'), weights: bytes }, { dtype: 'q4' })).rejects.toThrow(/were saved as q8; loading them as q4 would round again values already rounded to q8 \(lossy\)/);
    await expect(loadModel(rt, { config: config('llama'), weights: bytes }, { dtype: 'f32' })).rejects.toThrow(/saved as q8; loading them as f32/);
    const f = await loadModel(rt, `${LM_DIR}llama`, { kind: 'causal-lm' });
    const f32Bytes = f.save();
    f.dispose();
    const q = await loadModel(rt, { config: config('llama'), weights: f32Bytes }, { dtype: 'q8' });
    expect(q.dtype).toBe('q8');
    q.dispose();
    // another model's config: the names do not match
    await expect(loadModel(rt, { config: config('gpt2'), weights: bytes })).rejects.toThrow(/k_proj\.weight'\] holds \[16, 32\], expected \[32, 32\]/);
  });

  it('integer tensors in a file model.save() did not write are an error naming the tensor', async () => {
    const m = await loadModel(rt, `${LM_DIR}llama`, { kind: 'causal-lm', dtype: 'q8' });
    const bytes = m.save();
    m.dispose();
    // the same tensors without the metadata
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
    delete header['__metadata__'];
    const json = new TextEncoder().encode(JSON.stringify(header).padEnd(headerLength, ' '));
    const stripped = new Uint8Array(bytes);
    stripped.set(json, 8);
    await expect(loadModel(rt, { config: config('llama'), weights: stripped })).rejects.toThrow(/tensor embed\.word is I8: integer tensors are read only from a file that model\.save\(\) wrote/);
  });
});
