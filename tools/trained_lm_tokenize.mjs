// Step 1 of 2 of the trained language-model fixtures (step 2: /usr/bin/python3 tools/trained_lm_fixtures.py).
//
// The random fixtures of test/fixtures/lm say little about how far rounding moves a trained model's
// predictions; these two checkpoints are trained, briefly, on real English: Moby-Dick, chapters 1-125
// (tools/moby_dick.mjs); the evaluation prompts are cut from the held-out chapters 126-135 and the
// epilogue.
//
// Tokenized by Hugging Face's Rust `tokenizers` (Node bindings `@anush008/tokenizers`) with the
// byte-level BPE tokenizers of two committed fixtures: test/fixtures/lm/llama (Llama 3 style) for
// the Llama checkpoint and test/fixtures/lm/gpt2 for the GPT-2 one; no special tokens are added.
// Writes:
//   $TMPDIR/wasm-attention-trained-lm/<name>.train.json   training ids (not committed; step 2 reads them)
//   test/fixtures/lm-trained/inputs.json                  per checkpoint: vocab size and the
//                                                         EVAL_PROMPTS prompts of EVAL_TOKENS ids
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS_PACKAGE, SCRATCH, TRAIN_CHAPTERS, mobyDick } from './moby_dick.mjs';

const require = createRequire(import.meta.url);
const tk = require('@anush008/tokenizers');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const EVAL_PROMPTS = 4;
const EVAL_TOKENS = 64;
const OUT = join(ROOT, 'test', 'fixtures', 'lm-trained');

const { train, heldOut } = mobyDick();
mkdirSync(OUT, { recursive: true });
const inputs = {
  corpus: `${CORPUS_PACKAGE} (Moby-Dick): chapters 1-${TRAIN_CHAPTERS} (training); ${TRAIN_CHAPTERS + 1}-135 and the epilogue (evaluation prompts)`,
  checkpoints: {},
};
for (const [name, from] of [['llama', 'llama'], ['gpt2', 'gpt2']]) {
  const tokenizer = tk.Tokenizer.fromFile(join(ROOT, 'test', 'fixtures', 'lm', from, 'tokenizer.json'));
  const ids = async (text) => (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
  const trainIds = await ids(train);
  const evalIds = await ids(heldOut);
  // EVAL_PROMPTS windows spread evenly over the held-out text
  const stride = Math.floor((evalIds.length - EVAL_TOKENS) / (EVAL_PROMPTS - 1));
  const prompts = Array.from({ length: EVAL_PROMPTS }, (_, i) => evalIds.slice(i * stride, i * stride + EVAL_TOKENS));
  writeFileSync(join(SCRATCH, `${name}.train.json`), JSON.stringify(trainIds));
  inputs.checkpoints[name] = { tokenizer: `test/fixtures/lm/${from}/tokenizer.json`, vocab_size: tokenizer.getVocabSize(true), train_tokens: trainIds.length, prompts };
  console.log(`${name}: ${trainIds.length} training ids, ${evalIds.length} held-out ids, vocabulary ${tokenizer.getVocabSize(true)}`);
}
writeFileSync(join(OUT, 'inputs.json'), JSON.stringify(inputs) + '\n');
console.log(`wrote ${join(OUT, 'inputs.json')} and ${SCRATCH}/*.train.json`);
