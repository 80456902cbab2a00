// loadModel's sources and errors: picked files, missing files, unsupported families and config
// fields, weight names, truncation. Outputs are checked against PyTorch in test/models.test.ts.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, readSafetensors, supportedModels, type AttentionRuntime, type CheckpointSource, type LoadModelOptions } from '../src/index.js';
import { initRuntime } from './helpers.js';

const DIR = fileURLToPath(new URL('./fixtures/checkpoints/', import.meta.url));
const ST = `${DIR}bert-mini-st`;
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/** The folder as a page's folder picker gives it: File objects with webkitRelativePath. */
function pickedFiles(dir: string, top = 'bert-mini-st'): File[] {
  const walk = (d: string, rel: string): File[] => readdirSync(d).flatMap((name) => {
    const path = join(d, name);
    if (statSync(path).isDirectory()) return walk(path, `${rel}/${name}`);
    const file = new File([readFileSync(path)], name);
    Object.defineProperty(file, 'webkitRelativePath', { value: `${rel}/${name}` });
    return [file];
  });
  return walk(dir, top);
}

function objects(overrides: Record<string, unknown> = {}) {
  return {
    config: json(`${ST}/config.json`),
    weights: readSafetensors(readFileSync(`${ST}/model.safetensors`)) as Record<string, { data: Float32Array; shape: number[] }>,
    tokenizer: json(`${ST}/tokenizer.json`),
    tokenizerConfig: json(`${ST}/tokenizer_config.json`),
    ...overrides,
  };
}

const loadEncoder = (rt: AttentionRuntime, source: CheckpointSource, options: LoadModelOptions = {}) => loadModel(rt, source, { ...options, kind: 'encoder' });

describe('loadModel sources and errors', () => {
  let rt: AttentionRuntime;
  beforeAll(async () => {
    rt = await initRuntime();
  });
  afterAll(() => rt.dispose());

  it('reads the files of a picked folder (File[] with webkitRelativePath) like the folder itself', async () => {
    const a = await loadEncoder(rt, ST);
    const b = await loadEncoder(rt, pickedFiles(ST));
    expect(b.embedDefaults).toEqual(a.embedDefaults);
    expect(b.embed(['Hello world!', 'a'])).toEqual(a.embed(['Hello world!', 'a']));
    a.dispose();
    b.dispose();
  });

  it('reads the sentence-transformers files: mean pooling, normalisation, max_seq_length', async () => {
    const m = await loadEncoder(rt, ST);
    expect(m.embedDefaults).toEqual({ pooling: 'mean', normalize: true, maxLength: 24, lowerCase: false });
    const v = m.embed('Hello world!');
    expect(Math.hypot(...v)).toBeCloseTo(1, 6);
    const long = 'word '.repeat(100);
    expect(() => m.embed(long, { truncation: false })).toThrow(/more than the model's limit of 24/);
    expect(m.embed(long).length).toBe(32);
    m.dispose();
  });

  it('gives the same embeddings when the Wasm memory has to grow in the middle of a call', async () => {
    // Fill a small memory so that its free space runs out at every point of one embed call in turn:
    // wherever it grows, a view of the old buffer must not be written through.
    const text = 'Mean pooling averages hidden states.';
    const want = (await loadEncoder(rt, ST)).embed([text]);
    let grew = 0;
    for (let free = 1024; free <= 8192; free += 256) {
      const small = await initRuntime({ initialMemoryMiB: 1, threads: 1 });
      const m = await loadEncoder(small, ST);
      const s = small.memoryStats();
      const filler = small.zeros([Math.floor((s.capacityBytes - s.bytesInUse - free) / 4)]);
      const before = small.memoryStats().capacityBytes;
      expect(m.embed([text]), `free ${free}`).toEqual(want);
      if (small.memoryStats().capacityBytes > before) grew++;
      filler.dispose();
      small.dispose();
    }
    expect(grew).toBeGreaterThan(10);
  });

  it("loads XLM-RoBERTa's config (model_type 'xlm-roberta') through RoBERTa's computation", async () => {
    const dir = `${DIR}roberta-mini`;
    const objects = {
      config: json(`${dir}/config.json`), weights: readFileSync(`${dir}/model.safetensors`),
      tokenizer: json(`${dir}/tokenizer.json`), tokenizerConfig: json(`${dir}/tokenizer_config.json`),
    };
    const roberta = await loadEncoder(rt, objects);
    const xlmr = await loadEncoder(rt, { ...objects, config: { ...objects.config, model_type: 'xlm-roberta', architectures: ['XLMRobertaModel'] } });
    expect(xlmr.family).toBe('xlm-roberta');
    expect(xlmr.embed(['Hello world!', 'a'])).toEqual(roberta.embed(['Hello world!', 'a']));
    roberta.dispose();
    xlmr.dispose();
  });

  it('says which file is missing and where it looked', async () => {
    await expect(loadEncoder(rt, `${DIR}no-such-folder`)).rejects.toThrow(/config\.json not found in .*no-such-folder.*looked for .*no-such-folder\/config\.json/);
    const files = pickedFiles(ST).filter((f) => !f.name.endsWith('.safetensors'));
    await expect(loadEncoder(rt, files)).rejects.toThrow(/no weights in bert-mini-st: looked for bert-mini-st\/model\.safetensors and bert-mini-st\/model\.safetensors\.index\.json/);
    const noTokenizer = await loadEncoder(rt, pickedFiles(ST).filter((f) => f.name !== 'tokenizer.json'));
    expect(() => noTokenizer.embed('hi')).toThrow(/tokenizer\.json was not found \(looked for bert-mini-st\/tokenizer\.json\)/);
    expect(noTokenizer.embed([[2, 100, 3]]).length).toBe(32);
    noTokenizer.dispose();
  });

  it('names an unsupported family and lists the supported ones', async () => {
    const config = { ...json(`${ST}/config.json`), model_type: 'albert', architectures: ['AlbertModel'] };
    await expect(loadEncoder(rt, objects({ config }))).rejects.toThrow(/model_type "albert" \(AlbertModel\) is not supported; supported: bert \(BertModel.*distilbert.*roberta/);
    const arch = { ...json(`${ST}/config.json`), architectures: ['BertForQuestionAnswering'] };
    await expect(loadEncoder(rt, objects({ config: arch }))).rejects.toThrow(/BertForQuestionAnswering is not supported; the bert architectures this runtime loads: BertModel/);
    expect(Object.keys(supportedModels())).toEqual(['bert', 'distilbert', 'roberta', 'xlm-roberta', 'llama', 'mistral', 'qwen2', 'qwen3', 'phi3', 'gemma3_text', 'gpt2']);
  });

  it('refuses config fields that change the computation, and unknown fields unless told to ignore them', async () => {
    const base = json(`${ST}/config.json`);
    await expect(loadEncoder(rt, objects({ config: { ...base, position_embedding_type: 'relative_key_query' } }))).rejects.toThrow(/"position_embedding_type": "relative_key_query" is not supported \(supported: "absolute"\)/);
    await expect(loadEncoder(rt, objects({ config: { ...base, is_decoder: true } }))).rejects.toThrow(/"is_decoder": true is not supported/);
    await expect(loadEncoder(rt, objects({ config: { ...base, hidden_act: 'swish' } }))).rejects.toThrow(/"hidden_act": "swish" is not supported/);
    await expect(loadEncoder(rt, objects({ config: { ...base, rotary_dim: 8 } }))).rejects.toThrow(/unknown field "rotary_dim".*ignoreConfigFields: \['rotary_dim'\]/);
    const m = await loadEncoder(rt, objects({ config: { ...base, rotary_dim: 8 } }), { ignoreConfigFields: ['rotary_dim'] });
    m.dispose();
    await expect(loadEncoder(rt, ST, { dtype: 'int4' } as never)).rejects.toThrow(TypeError);
  });

  it('reports missing and unexpected weight names together', async () => {
    const { weights } = objects();
    const broken: Record<string, unknown> = { ...weights, 'encoder.layer.0.attention.self.query.extra': weights['embeddings.LayerNorm.bias'] };
    delete broken['encoder.layer.1.output.dense.bias'];
    await expect(loadEncoder(rt, objects({ weights: broken }))).rejects.toThrow(/missing 1: encoder\.layer\.1\.output\.dense\.bias; unexpected 1: encoder\.layer\.0\.attention\.self\.query\.extra/);
  });

  it('checks token ids, masks and types', async () => {
    const m = await loadEncoder(rt, ST);
    expect(() => m.forward({ inputIds: [[2, 9999, 3]] })).toThrow(RangeError);
    expect(() => m.forward({ inputIds: [[2, 5, 3]], attentionMask: [[1, 1]] })).toThrow(/attentionMask must have the shape of inputIds/);
    expect(() => m.forward({ inputIds: [[2, 5, 3]], attentionMask: [[1, 2, 1]] })).toThrow(/expected 0 or 1/);
    expect(() => m.forward({ inputIds: [[]] })).toThrow(/every sequence is empty/);
    expect(() => m.forward({ inputIds: [[2, 5, 3]] }, { outputAttentions: [5] })).toThrow(/layer indices in \[0, 1\]/);
    expect(() => m.classify('hi')).toThrow(/BertModel has no classification head/);
    m.dispose();
    expect(() => m.embed('hi')).toThrow(/disposed/);
  });

  it('a left-padding mask hides the padded tokens: what sits under the mask does not change the real ones', async () => {
    const m = await loadEncoder(rt, ST);
    const ids = m.tokenizer!.encode('Hello world!');
    const mask = [[0, 0, 0, ...ids.map(() => 1)]];
    const a = m.forward({ inputIds: [[0, 0, 0, ...ids]], attentionMask: mask }).lastHiddenState.data;
    const b = m.forward({ inputIds: [[7, 8, 9, ...ids]], attentionMask: mask }).lastHiddenState.data;
    expect(b.subarray(3 * 32)).toEqual(a.subarray(3 * 32));
    m.dispose();
  });
});
