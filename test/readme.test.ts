// The JavaScript of README.md and docs/*.md is real: every ```js block parses (node --check), and
// every block that imports the package runs to completion against this build (the package imports
// itself by name, through its "exports"), except the ones marked <!-- not run: … --> (a block that
// needs a web server). Every relative link of those pages points at a file that exists, and a
// link to a heading of a Markdown page at a heading that exists.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const text = new Map(pages.map((p) => [p, readFileSync(join(root, p), 'utf8')]));
const lineOf = (page: string, index: number) => text.get(page)!.slice(0, index).split('\n').length;

const blocks = pages.flatMap((page) =>
  [...text.get(page)!.matchAll(/(<!-- not run[^>]*-->\n)?```js\n([\s\S]*?)```/g)].map((m) => {
    const line = lineOf(page, m.index!) + (m[1] ? 1 : 0);
    return {
      name: `${page}:${line}`,
      file: `${page.replace(/[/.]/g, '-')}-${line}.mjs`,
      page,
      run: !m[1] && m[2]!.includes("from 'wasm-attention'"),
      code: m[2]!,
    };
  }),
);
const dir = join(root, 'test-results', 'readme');
const count = (page: string, run = false) => blocks.filter((b) => b.page === page && (!run || b.run)).length;

describe('the JavaScript of the README and docs/', () => {
  it('has js blocks on every page that teaches an API, and runs the main ones', () => {
    // the README's examples: attention, a PyTorch layer, a Hugging Face checkpoint, the date normaliser
    expect(count('README.md', true)).toBeGreaterThanOrEqual(4);
    for (const page of ['docs/ops.md', 'docs/modules.md', 'docs/models.md', 'docs/memory.md', 'docs/threads.md', 'docs/browser.md']) {
      expect(count(page, true), page).toBeGreaterThanOrEqual(1);
    }
    expect(count('docs/modules.md', true)).toBeGreaterThanOrEqual(5); // seq2seq, MHA, transformer, SwiGLU, GRU
    expect(blocks.length).toBeGreaterThanOrEqual(17);
    expect(blocks.filter((b) => b.run).length).toBeGreaterThanOrEqual(16);
  });

  it.each(blocks)('$name parses', ({ file, code }) => {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `check-${file}`);
    writeFileSync(path, code);
    execFileSync(process.execPath, ['--check', path], { stdio: 'pipe' });
  });

  it.each(blocks.filter((b) => b.run))('$name runs', ({ file, code }) => {
    mkdirSync(dir, { recursive: true });
    // inside the package folder, so `import … from 'wasm-attention'` resolves to this package and
    // the examples' relative paths (test/fixtures/…) resolve from the repository root
    const path = join(dir, `run-${file}`);
    writeFileSync(path, code);
    execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', path], { cwd: root, stdio: 'pipe', timeout: 60_000 });
  });
});

// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 … on repeats
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const m of withoutCode.matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

const links = pages.flatMap((page) => {
  const body = text.get(page)!.replace(/^```[\s\S]*?^```/gm, (code) => code.replace(/[^\n]/g, ' '));
  return [...body.matchAll(/\]\(([^)\s]+)\)/g)]
    .filter((m) => !/^[a-z]+:/.test(m[1]!))
    .map((m) => ({ name: `${page}:${lineOf(page, m.index!)} → ${m[1]}`, page, target: m[1]! }));
});

describe('the links of the README and docs/', () => {
  it('links every docs page from the README', () => {
    for (const page of pages.filter((p) => p.startsWith('docs/'))) expect(text.get('README.md'), page).toContain(`](${page})`);
  });

  it.each(links)('$name resolves', ({ page, target }) => {
    const [path, hash] = target.split('#') as [string, string | undefined];
    const file = path === '' ? page : posix.normalize(posix.join(posix.dirname(page), path));
    expect(existsSync(join(root, file)), `${file} exists`).toBe(true);
    if (hash !== undefined) {
      expect(file.endsWith('.md'), `${file} has headings`).toBe(true);
      expect([...anchors(readFileSync(join(root, file), 'utf8'))]).toContain(hash);
    }
  });
});
