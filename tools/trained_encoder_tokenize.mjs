// Step 1 of 2 of the trained encoder fixture (step 2: /usr/bin/python3 tools/trained_encoder_fixtures.py).
//
// A BERT trained, briefly, as a masked language model on Moby-Dick chapters 1-125 (tools/moby_dick.mjs),
// to measure what f16, bf16, q8 and q4 weights do to a trained encoder's sentence embeddings (the
// random fixtures of test/fixtures/checkpoints have weights no trained model has). Tokenized by
// Hugging Face's Rust `tokenizers` (Node bindings `@anush008/tokenizers`) with the WordPiece
// tokenizer of test/fixtures/checkpoints/bert-mini-st (lower-cased, 605 entries).
// Writes:
//   $TMPDIR/wasm-attention-trained-lm/bert.train.json   training ids, no special tokens (not committed)
//   test/fixtures/encoder-trained/inputs.json           SENTENCES held-out sentences (chapters 126-135
//                                                       and the epilogue) of 8 to 48 ids with [CLS] and
//                                                       [SEP], evenly spread; the special token ids
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS_PACKAGE, SCRATCH, TRAIN_CHAPTERS, mobyDick } from './moby_dick.mjs';

const require = createRequire(import.meta.url);
const tk = require('@anush008/tokenizers');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SENTENCES = 32;
const OUT = join(ROOT, 'test', 'fixtures', 'encoder-trained');

const { train, heldOut } = mobyDick();
const tokenizer = tk.Tokenizer.fromFile(join(ROOT, 'test', 'fixtures', 'checkpoints', 'bert-mini-st', 'tokenizer.json'));
const trainIds = (await tokenizer.encode(train, null, { addSpecialTokens: false })).getIds();
// sentences: split after . ! ? followed by white space; keep those of 8 to 48 ids with the special tokens
const candidates = [];
for (const text of heldOut.split(/(?<=[.!?])\s+/).map((s) => s.trim()).filter(Boolean)) {
  const ids = (await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds();
  if (ids.length >= 8 && ids.length <= 48) candidates.push({ text, input_ids: ids });
}
const stride = candidates.length / SENTENCES;
const sentences = Array.from({ length: SENTENCES }, (_, i) => candidates[Math.floor(i * stride)]);
const special = Object.fromEntries(['[PAD]', '[CLS]', '[SEP]', '[MASK]', '[UNK]'].map((t) => [t, tokenizer.tokenToId(t)]));
mkdirSync(OUT, { recursive: true });
writeFileSync(join(SCRATCH, 'bert.train.json'), JSON.stringify(trainIds));
writeFileSync(join(OUT, 'inputs.json'), JSON.stringify({
  corpus: `${CORPUS_PACKAGE} (Moby-Dick): chapters 1-${TRAIN_CHAPTERS} (training); ${TRAIN_CHAPTERS + 1}-135 and the epilogue (evaluation sentences)`,
  tokenizer: 'test/fixtures/checkpoints/bert-mini-st/tokenizer.json', vocab_size: tokenizer.getVocabSize(true), special, train_tokens: trainIds.length, sentences,
}) + '\n');
console.log(`bert: ${trainIds.length} training ids, ${candidates.length} held-out sentences of 8-48 ids, ${SENTENCES} kept; special ${JSON.stringify(special)}`);
