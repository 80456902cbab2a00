// The README's JavaScript is real: every ```js block parses (node --check), and every block that
// imports the package runs to completion against this build (the package imports itself by name,
// through its "exports"), except one marked <!-- not run: … --> that needs a web server.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/(<!-- not run[^>]*-->\n)?```js\n([\s\S]*?)```/g)].map((m, i) => ({
  index: i,
  line: readme.slice(0, m.index).split('\n').length + (m[1] ? 1 : 0),
  run: !m[1] && m[2]!.includes("from 'wasm-attention'"),
  code: m[2]!,
}));
const dir = join(root, 'test-results', 'readme');

describe('README JavaScript', () => {
  it('has js blocks, and runs the main ones', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    expect(blocks.filter((b) => b.run).length).toBeGreaterThanOrEqual(4);
  });

  it.each(blocks)('the block at line $line parses', ({ index, code }) => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `block-${index}.mjs`);
    writeFileSync(file, code);
    execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' });
  });

  it.each(blocks.filter((b) => b.run))('the block at line $line runs', ({ index, code }) => {
    mkdirSync(dir, { recursive: true });
    // inside the package folder, so `import … from 'wasm-attention'` resolves to this package
    const file = join(dir, `run-${index}.mjs`);
    writeFileSync(file, code);
    execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', file], { cwd: root, stdio: 'pipe', timeout: 60_000 });
  });
});
