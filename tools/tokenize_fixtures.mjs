// Step 1 of 2 of the Hugging Face checkpoint fixtures (step 2: /usr/bin/python3 tools/encoder_fixtures.py).
//
// Everything here is done by Hugging Face's Rust `tokenizers` library, through its prebuilt Node
// bindings (`@anush008/tokenizers`, a devDependency): nothing is tokenized by code of ours.
//
//   1. trains two tokenizers on CORPUS below (written to a temporary file) with the library's
//      default trainers (`Tokenizer.train`: WordPieceTrainer / BpeTrainer, vocab_size 30000,
//      min_frequency 0), keeps the first WORDPIECE_SIZE / BPE_MERGES entries of what they learned
//      (the trainers add tokens in merge order, so a prefix is what a smaller vocab_size gives),
//      and builds the final tokenizers with the library's own model/normalizer/pre-tokenizer/
//      post-processor/decoder objects, saved with its own serializer (`Tokenizer.save`):
//
//      wordpiece      BERT-style: BertNormalizer (clean text, CJK chars split, lowercase, accents
//                     stripped), BertPreTokenizer, WordPiece ("##" prefix, [UNK]), TemplateProcessing
//                     "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1", WordPiece decoder;
//                     [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4.
//      bytelevel-bpe  RoBERTa-style: ByteLevel pre-tokenizer (add_prefix_space false), BPE with merges
//                     over the 256-symbol byte alphabet, RobertaProcessing "<s> $A </s>" /
//                     "<s> $A </s> </s> $B </s>", ByteLevel decoder; <s>=0 <pad>=1 </s>=2 <unk>=3,
//                     <mask> (lstrip) last. The bindings export no ByteLevel decoder constructor,
//                     so its JSON is set here and the file re-loaded and re-saved by the library.
//
//      Written to test/fixtures/tokenizers/<name>/{tokenizer.json, tokenizer_config.json,
//      special_tokens_map.json} and copied into every checkpoint folder that uses it.
//
//   2. encodes the checkpoint fixture texts (CHECKPOINTS below; padded to the longest of each batch,
//      truncated where the checkpoint has a max length) and writes their ids, attention masks, token
//      type ids and tokens to test/fixtures/checkpoints/inputs.json, which the Python step reads
//      (there is no Python tokenizer on this machine).
//
// Training is NOT reproducible: the Rust WordPieceTrainer gives the "##x" continuation alphabet ids
// in HashMap iteration order, which then decides the order of equal-count merges, so two runs keep
// different 600-token vocabularies (the byte-level BpeTrainer gave the same file in every run here).
// So the committed test/fixtures/tokenizers/*/tokenizer.json are kept, re-loaded and re-saved by the
// library, and only `--retrain` (or a missing file) trains afresh; everything else is deterministic.
//
// Regenerate:  node tools/tokenize_fixtures.mjs && /usr/bin/python3 tools/encoder_fixtures.py
// (run both twice: `git status` shows nothing).
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const tk = require('@anush008/tokenizers');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TOKENIZERS = join(ROOT, 'test', 'fixtures', 'tokenizers');
const CHECKPOINTS_DIR = join(ROOT, 'test', 'fixtures', 'checkpoints');
const WORDPIECE_SIZE = 600; // learned WordPiece entries kept (plus the 5 special tokens)
const BPE_MERGES = 400; // learned merges kept (plus 256 bytes, 4 special tokens and <mask>)

// The training corpus: English prose, accents, CJK, emoji, punctuation, numbers.
export const CORPUS = [
  'The quick brown fox jumps over the lazy dog.',
  'A small model can still learn useful representations of language.',
  'Attention is all you need, or so the paper says.',
  'She sells sea shells by the sea shore; the shells she sells are surely sea shells.',
  'We measured the latency of the encoder on two threads and on one thread.',
  'The weather today is sunny with a light breeze from the west.',
  'Tokenizers split text into words, subwords and characters before the model sees it.',
  'Embeddings map every token to a vector; positions and segments are added to it.',
  'The café on the corner serves crème brûlée, jalapeño poppers and piña colada.',
  'Zoë and Chloé visited São Paulo, Zürich, Kraków and Reykjavík in the spring.',
  'Naïve résumé writers rarely mention their coöperation with the façade team.',
  'Ångström, Øresund, Straße, ﬁnancial, Œuvre, Ægir: letters from many alphabets.',
  'Mañana será otro día, dijo el señor en la estación.',
  'Les élèves étudient la théorie des ensembles à l’école normale.',
  'Der Übersetzer übersetzt die Bücher ins Französische.',
  '東京は日本の首都です。',
  '我喜欢学习自然语言处理和机器学习。',
  '北京欢迎你，上海也很好。',
  '안녕하세요, 만나서 반갑습니다.',
  'こんにちは世界、ひらがなとカタカナ。',
  'Привет, мир! Как дела?',
  'Γειά σου κόσμε, αλφα βήτα γάμμα.',
  'مرحبا بالعالم',
  'I love pizza 🍕 and tacos 🌮 so much 😀😀!',
  'Family: 👨‍👩‍👧‍👦, flags: 🇫🇷 🇯🇵, hearts: ❤️ 💙 💚.',
  'Thumbs up 👍🏽 and a rocket 🚀 for the launch 🎉.',
  'Prices rose 3.5% to $1,299.99 on 2024-03-15 at 10:45am.',
  'Call +1 (555) 012-3456 or email hello@example.com before 5pm.',
  'The numbers 0 1 2 3 4 5 6 7 8 9 10 100 1000 12345 and 3.14159.',
  'Version 2.0.1 was released; see https://example.org/docs?page=2#intro for details.',
  'Hello, world! How are you? I am fine... thanks; and you?',
  '"Quoted text", \'single quotes\', (parentheses), [brackets] and {braces}.',
  'Wait — what? Really?! Yes: really. #hashtag @mention & more * stars ~ tilde.',
  'snake_case, camelCase, kebab-case and SCREAMING_CASE identifiers.',
  'Internationalization and localization are often abbreviated i18n and l10n.',
  'Antidisestablishmentarianism is a famously long English word.',
  'Pneumonoultramicroscopicsilicovolcanoconiosis is even longer.',
  'The encoder reads the sentence and the pooler summarizes it into one vector.',
  'Mean pooling averages hidden states.',
  'The classifier predicts positive or negative sentiment for each review.',
  'This movie was wonderful, I loved every minute of it.',
  'This movie was terrible, I hated every minute of it.',
  'The service was slow but the food was excellent.',
  'Machine learning models are trained on large datasets.',
  'Transformers use self attention to mix information between positions.',
  'Layer normalization keeps the activations in a reasonable range.',
  'The residual connection adds the input of a block to its output.',
  'Feed forward networks apply the same transformation at every position.',
  'Softmax turns scores into probabilities that sum to one.',
  'Padding tokens are masked so that they receive no attention.',
  'WebAssembly runs compiled code in the browser at near native speed.',
  'JavaScript, TypeScript and AssemblyScript share much of their syntax.',
  'running runner runs ran; jumping jumper jumps jumped; playing player plays played.',
  'unbelievable unhappiness rethinking preprocessing tokenization detokenize',
  'The the THE tHe; Apple apple APPLE; Paris PARIS paris.',
  'Tabs\tand\tnewlines\nand   multiple   spaces   appear in real text.',
  'Ellipsis… em dash — en dash – bullet • section § paragraph ¶ degree ° copyright © trademark ™.',
  'Fractions ½ ¼ ¾, superscripts x² y³, math ∑ ∫ √ ∞ ≈ ≠ ≤ ≥ ±.',
];

// Checkpoint folders and the texts whose expected outputs the Python step computes. Every
// checkpoint has a `batch` (about 6 texts of varied lengths, padded to the longest) and an
// `attention` batch (2 short texts, one padded) whose attention weights are kept too.
// Items are strings or [text, pair] for sentence pairs.
const BERT_TEXTS = [
  'Hello world!',
  'The café serves crème brûlée.',
  'Mean pooling averages hidden states.',
  '東京は日本の首都です 😀',
  'Unbelievable!!! Prices rose 3.5%.',
  'a',
];
const ATTENTION_TEXTS = ['The quick brown fox.', 'Hi!'];
export const CHECKPOINTS = {
  'bert-mini-st': {
    tokenizer: 'wordpiece',
    maxLength: 24, // sentence_bert_config.json max_seq_length: the long text below is truncated
    batch: [...BERT_TEXTS.slice(0, 5), 'Transformers use self attention to mix information between positions, and the residual connection adds the input of a block to its output.'],
    attention: ATTENTION_TEXTS,
  },
  'bert-cls': {
    tokenizer: 'wordpiece',
    batch: [...BERT_TEXTS.slice(0, 4), ['Is the food good?', 'The food was excellent.'], 'a'],
    attention: [['Hello?', 'Hi!'], 'Hi!'],
  },
  'distilbert-cls': {
    tokenizer: 'wordpiece',
    batch: ['This movie was wonderful, I loved it.', 'This movie was terrible.', ...BERT_TEXTS.slice(1, 5)],
    attention: ATTENTION_TEXTS,
  },
  'roberta-mini': {
    tokenizer: 'bytelevel-bpe',
    batch: ['Hello world!', 'The café serves crème brûlée.', ' leading space and  two  spaces', '東京は日本の首都です 😀', 'Unbelievable!!! Prices rose 3.5%.', 'Transformers use self attention.'],
    attention: ATTENTION_TEXTS,
  },
  'bert-mini-f16': {
    tokenizer: 'wordpiece',
    batch: [BERT_TEXTS[0], BERT_TEXTS[1], BERT_TEXTS[3], BERT_TEXTS[5]],
    attention: ATTENTION_TEXTS,
  },
  'bert-mini-bf16-sharded': {
    tokenizer: 'wordpiece',
    batch: [BERT_TEXTS[0], BERT_TEXTS[2], BERT_TEXTS[4], BERT_TEXTS[5]],
    attention: ATTENTION_TEXTS,
  },
};

const WORDPIECE_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

function withCorpusFile(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'tokenizer-corpus-'));
  const file = join(dir, 'corpus.txt');
  writeFileSync(file, CORPUS.join('\n') + '\n');
  try {
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Trains `tokenizer` on the corpus with its model's default trainer; returns its saved JSON. */
function trainedModel(tokenizer, corpusFile, scratch) {
  tokenizer.train([corpusFile]);
  const path = join(scratch, 'trained.json');
  tokenizer.save(path, false);
  return JSON.parse(readFileSync(path, 'utf8')).model;
}

function buildWordPiece(corpusFile, scratch) {
  const trainer = new tk.Tokenizer(tk.WordPiece.empty());
  trainer.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  trainer.setPreTokenizer(tk.bertPreTokenizer());
  const learned = Object.entries(trainedModel(trainer, corpusFile, scratch).vocab).sort((a, b) => a[1] - b[1]).map(([t]) => t);
  const vocab = {};
  for (const t of [...WORDPIECE_SPECIALS, ...learned.slice(0, WORDPIECE_SIZE)]) vocab[t] ??= Object.keys(vocab).length;
  const tok = new tk.Tokenizer(tk.WordPiece.init(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 }));
  tok.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  tok.setPreTokenizer(tk.bertPreTokenizer());
  tok.setPostProcessor(tk.templateProcessing('[CLS]:0 $A:0 [SEP]:0', '[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1', [['[CLS]', vocab['[CLS]']], ['[SEP]', vocab['[SEP]']]]));
  tok.setDecoder(tk.wordPieceDecoder('##', true));
  tok.addAddedTokens(WORDPIECE_SPECIALS.map((t) => new tk.AddedToken(t, true, { singleWord: false, leftStrip: false, rightStrip: false, normalized: false })));
  return {
    tokenizer: tok,
    config: {
      clean_up_tokenization_spaces: true,
      cls_token: '[CLS]',
      do_basic_tokenize: true,
      do_lower_case: true,
      mask_token: '[MASK]',
      model_max_length: 512,
      never_split: null,
      pad_token: '[PAD]',
      sep_token: '[SEP]',
      strip_accents: null,
      tokenize_chinese_chars: true,
      tokenizer_class: 'BertTokenizer',
      unk_token: '[UNK]',
    },
    specialTokensMap: { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' },
  };
}

function buildByteLevelBpe(corpusFile, scratch) {
  const trainer = new tk.Tokenizer(tk.BPE.empty());
  trainer.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
  const model = trainedModel(trainer, corpusFile, scratch);
  const merges = model.merges.slice(0, BPE_MERGES).map((m) => (Array.isArray(m) ? m : m.split(' ')));
  const vocab = {};
  for (const t of ['<s>', '<pad>', '</s>', '<unk>', ...[...tk.byteLevelAlphabet()].sort(), ...merges.map(([a, b]) => a + b)]) vocab[t] ??= Object.keys(vocab).length;
  const tok = new tk.Tokenizer(tk.BPE.init(vocab, merges, {}));
  tok.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
  tok.setPostProcessor(tk.robertaProcessing(['</s>', vocab['</s>']], ['<s>', vocab['<s>']], true, false));
  const special = { singleWord: false, leftStrip: false, rightStrip: false, normalized: false };
  tok.addAddedTokens(['<s>', '<pad>', '</s>', '<unk>'].map((t) => new tk.AddedToken(t, true, special)));
  tok.addAddedTokens([new tk.AddedToken('<mask>', true, { ...special, leftStrip: true })]);
  // No ByteLevel decoder constructor in the bindings: set it in the JSON, let the library re-load it.
  const path = join(scratch, 'bpe.json');
  tok.save(path, false);
  const json = JSON.parse(readFileSync(path, 'utf8'));
  json.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  writeFileSync(path, JSON.stringify(json));
  const mask = { content: '<mask>', lstrip: true, normalized: false, rstrip: false, single_word: false, special: true };
  const tokenizerConfig = {
    add_prefix_space: false,
    bos_token: '<s>',
    clean_up_tokenization_spaces: false,
    cls_token: '<s>',
    eos_token: '</s>',
    errors: 'replace',
    mask_token: '<mask>',
    model_max_length: 512,
    pad_token: '<pad>',
    sep_token: '</s>',
    tokenizer_class: 'RobertaTokenizer',
    trim_offsets: true,
    unk_token: '<unk>',
  };
  return {
    tokenizer: tk.Tokenizer.fromFile(path),
    config: tokenizerConfig,
    specialTokensMap: { bos_token: '<s>', cls_token: '<s>', eos_token: '</s>', mask_token: mask, pad_token: '<pad>', sep_token: '</s>', unk_token: '<unk>' },
  };
}

/** tokenizer_config.json as transformers writes it: added_tokens_decoder first, keys sorted. */
function tokenizerConfigJson(tokenizerJsonText, config) {
  const added = JSON.parse(tokenizerJsonText).added_tokens;
  const decoder = {};
  for (const t of added) decoder[String(t.id)] = { content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip, single_word: t.single_word, special: t.special };
  return JSON.stringify({ added_tokens_decoder: decoder, ...config }, null, 2) + '\n';
}

function write(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`${relative(ROOT, path)}: ${Buffer.byteLength(text)} bytes`);
}

async function encodeBatch(tokenizer, items, maxLength, padId, padToken) {
  if (maxLength) tokenizer.setTruncation(maxLength);
  else tokenizer.disableTruncation();
  // one at a time (the bindings' encodeBatch takes no pairs), then padded by the library to the longest
  const encs = [];
  for (const item of items) encs.push(await tokenizer.encode(...(Array.isArray(item) ? item : [item, null]), { addSpecialTokens: true }));
  tokenizer.disableTruncation();
  const longest = Math.max(...encs.map((e) => e.getLength()));
  for (const e of encs) e.pad(longest, { padId, padToken, padTypeId: 0, direction: 'right' });
  return {
    texts: items,
    input_ids: encs.map((e) => e.getIds()),
    attention_mask: encs.map((e) => e.getAttentionMask()),
    token_type_ids: encs.map((e) => e.getTypeIds()),
    tokens: encs.map((e) => e.getTokens()),
  };
}

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'tokenizer-build-'));
  const retrain = process.argv.includes('--retrain');
  const built = withCorpusFile((corpus) => ({
    wordpiece: buildWordPiece(corpus, scratch),
    'bytelevel-bpe': buildByteLevelBpe(corpus, scratch),
  }));
  const files = {};
  for (const [name, { tokenizer, config, specialTokensMap }] of Object.entries(built)) {
    // Training is not reproducible (see the top of this file): the committed tokenizer.json is
    // kept unless --retrain is given or it is missing; it is re-loaded and re-saved by the library.
    const committed = join(TOKENIZERS, name, 'tokenizer.json');
    const tok = retrain || !existsSync(committed) ? tokenizer : tk.Tokenizer.fromFile(committed);
    const path = join(scratch, `${name}.json`);
    tok.save(path, true);
    const text = readFileSync(path, 'utf8') + '\n';
    files[name] = {
      'tokenizer.json': text,
      'tokenizer_config.json': tokenizerConfigJson(text, config),
      'special_tokens_map.json': JSON.stringify(specialTokensMap, null, 2) + '\n',
    };
    for (const [file, content] of Object.entries(files[name])) write(join(TOKENIZERS, name, file), content);
  }
  rmSync(scratch, { recursive: true, force: true });

  const inputs = { generator: 'tools/tokenize_fixtures.mjs (@anush008/tokenizers: Hugging Face tokenizers, Rust)', checkpoints: {} };
  for (const [name, spec] of Object.entries(CHECKPOINTS)) {
    for (const [file, content] of Object.entries(files[spec.tokenizer])) write(join(CHECKPOINTS_DIR, name, file), content);
    const tokenizer = tk.Tokenizer.fromString(files[spec.tokenizer]['tokenizer.json']);
    const vocab = tokenizer.getVocab(true);
    const [padToken] = spec.tokenizer === 'wordpiece' ? ['[PAD]'] : ['<pad>'];
    const padId = vocab[padToken];
    inputs.checkpoints[name] = {
      tokenizer: spec.tokenizer,
      vocab_size: tokenizer.getVocabSize(true),
      pad_token_id: padId,
      max_length: spec.maxLength ?? null,
      batch: await encodeBatch(tokenizer, spec.batch, spec.maxLength, padId, padToken),
      attention: await encodeBatch(tokenizer, spec.attention, spec.maxLength, padId, padToken),
    };
  }
  write(join(CHECKPOINTS_DIR, 'inputs.json'), JSON.stringify(inputs) + '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
