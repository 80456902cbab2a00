// Hugging Face checkpoints through loadModel, against PyTorch modules that follow transformers'
// modeling files (tools/encoder_fixtures.py → test/fixtures/checkpoints/expected.json) and token
// ids from Hugging Face's Rust tokenizers (tools/tokenize_fixtures.mjs): every build, both thread
// projects.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type AttentionRuntime, type EncoderModel } from '../src/index.js';
import { BUILDS, normwise, runtimeFor } from './helpers.js';

const DIR = fileURLToPath(new URL('./fixtures/checkpoints/', import.meta.url));
type Text = string | [string, string];
interface Batch {
  texts: Text[];
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  last_hidden_state: number[][][];
  mean_pooling: number[][];
  cls_pooling: number[][];
  max_pooling: number[][];
  sentence_embedding?: number[][];
  logits?: number[][];
  scores?: number[][];
  attentions?: number[][][][][];
}
interface Expected {
  architecture: string;
  kind: string;
  safetensors_dtype: string;
  batch: Batch;
  attention: Batch;
}
const EXPECTED = (JSON.parse(readFileSync(`${DIR}expected.json`, 'utf8')) as { checkpoints: Record<string, Expected> }).checkpoints;

const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);


/** The fixture batch as forward's input (token types for the families that have them). */
const inputOf = (name: string, b: Batch) => ({
  inputIds: b.input_ids, attentionMask: b.attention_mask,
  ...(name.startsWith('roberta') || name.startsWith('distil') ? {} : { tokenTypeIds: b.token_type_ids }),
});

/** The ids of row i without its padding. */
const unpadded = (b: Batch, i: number) => b.input_ids[i]!.filter((_, t) => b.attention_mask[i]![t] === 1);

describe.each(BUILDS)('loadModel, %s build', (backend) => {
  let rt: AttentionRuntime;
  const models = new Map<string, EncoderModel>();
  beforeAll(async () => {
    rt = await runtimeFor(backend);
    for (const name of Object.keys(EXPECTED)) models.set(name, await loadModel(rt, `${DIR}${name}`, { kind: 'encoder' }));
  });
  afterAll(() => {
    for (const m of models.values()) m.dispose();
  });

  describe.each(Object.keys(EXPECTED))('%s', (name) => {
    const want = EXPECTED[name]!;

    it('reads config.json into the family and architecture', () => {
      const m = models.get(name)!;
      expect(m.architecture).toBe(want.architecture);
      expect(m.hiddenSize).toBe(32);
      expect(m.numLayers).toBe(2);
    });

    it("tokenizes the texts to the Rust tokenizer's ids", () => {
      const m = models.get(name)!;
      want.batch.texts.forEach((text, i) => {
        const ids = typeof text === 'string' ? m.tokenizer!.encode(text) : m.tokenizer!.encode(text[0], { pair: text[1] });
        const expected = unpadded(want.batch, i);
        // a text over max_seq_length was cut by the fixture: compare the cut form (truncation is checked below)
        if (ids.length > expected.length) expect(ids.length).toBeGreaterThan(m.embedDefaults.maxLength);
        else expect(ids).toEqual(expected);
      });
    });

    it('last hidden states within 1e-5 normwise of PyTorch', () => {
      const m = models.get(name)!;
      const b = want.batch;
      const r = m.forward(inputOf(name, b));
      expect(r.lastHiddenState.shape).toEqual([b.input_ids.length, b.input_ids[0]!.length, 32]);
      expect(normwise(r.lastHiddenState.data, flat(b.last_hidden_state))).toBeLessThan(1e-5);
    });

    it('attention weights of every layer and head', () => {
      const m = models.get(name)!;
      const b = want.attention;
      const r = m.forward(inputOf(name, b), { outputAttentions: true });
      for (let layer = 0; layer < 2; layer++) {
        expect(r.attentions![layer]!.shape).toEqual([b.input_ids.length, 4, b.input_ids[0]!.length, b.input_ids[0]!.length]);
        const w = flat(b.attentions![layer]);
        // padded query rows attend like real ones in both implementations; compare everything
        expect(normwise(r.attentions![layer]!.data, w)).toBeLessThan(1e-5);
      }
    });

    it('pooled embeddings (mean, cls, max) from the texts, as sentence-transformers pools them', () => {
      const m = models.get(name)!;
      const b = want.batch;
      const texts = b.texts;
      for (const [pooling, key] of [['mean', 'mean_pooling'], ['cls', 'cls_pooling'], ['max', 'max_pooling']] as const) {
        const got = m.embed(texts, { pooling, normalize: false });
        expect(normwise(got, flat(b[key])), pooling).toBeLessThan(1e-5);
      }
      if (b.sentence_embedding) expect(normwise(m.embed(texts), flat(b.sentence_embedding))).toBeLessThan(1e-5);
    });

    it("a text's embedding is the same bits alone and in any batch", () => {
      const m = models.get(name)!;
      const texts = want.batch.texts;
      const all = m.embed(texts);
      const e = m.hiddenSize;
      texts.forEach((text, i) => expect(m.embed([text])).toEqual(all.subarray(i * e, (i + 1) * e)));
      const reversed = m.embed([...texts].reverse(), { batchSize: 2 });
      texts.forEach((_, i) => expect(reversed.subarray((texts.length - 1 - i) * e, (texts.length - i) * e)).toEqual(all.subarray(i * e, (i + 1) * e)));
    });

    if (want.batch.scores) {
      it('classifies with the checkpoint labels and scores', () => {
        const m = models.get(name)!;
        const got = m.classify(want.batch.texts);
        got.forEach((g, i) => {
          const s = want.batch.scores![i]!;
          const best = s.indexOf(Math.max(...s));
          expect(g.label).toBe(m.labels![best]);
          expect(Math.max(...Array.from(g.scores, (v, j) => Math.abs(v - s[j]!)))).toBeLessThan(1e-5);
        });
      });
    }
  });

  it('reads a folder from a file: URL and from objects in memory, with the same results', async () => {
    const name = 'bert-mini-st';
    const folder = `${DIR}${name}/`;
    const read = (f: string) => JSON.parse(readFileSync(folder + f, 'utf8'));
    const fromUrl = await loadModel(rt, pathToFileURL(folder), { kind: 'encoder' });
    const fromObjects = await loadModel(rt, {
      config: read('config.json'), weights: readFileSync(`${folder}model.safetensors`), tokenizer: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json'),
      modules: read('modules.json'), pooling: read('1_Pooling/config.json'), sentenceBertConfig: read('sentence_bert_config.json'),
    }, { kind: 'encoder' });
    const texts = EXPECTED[name]!.batch.texts;
    expect(fromUrl.embed(texts)).toEqual(models.get(name)!.embed(texts));
    expect(fromObjects.embed(texts)).toEqual(models.get(name)!.embed(texts));
    fromUrl.dispose();
    fromObjects.dispose();
  });
});
