// wllama (llama.cpp compiled to Wasm, @wllama/wllama) as a language-model peer. It runs in a
// browser only (a Web Worker, a 64-bit shared memory, JSPI), so the bench serves its files and the
// GGUF files with the cross-origin isolation headers (for threads) and drives Debian's Chromium
// headless through playwright-core (never a downloaded browser). Each run loads the model once per
// thread count and calls createCompletion with token ids (greedy: top_k 1, temperature 0; no prompt
// cache; EOS ignored); llama.cpp's own timings (prompt_ms, predicted_ms) and the wall time of each
// call come back.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.gguf': 'application/octet-stream', '.json': 'application/json' };
const PAGE = '<!doctype html><meta charset="utf-8"><title>wllama bench</title><p>wllama bench</p>';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The wllama package folder in the peers folder, or undefined. */
export function wllamaDir(peersDir) {
  const dir = join(peersDir, 'node_modules', '@wllama', 'wllama');
  return existsSync(join(dir, 'package.json')) ? dir : undefined;
}

function serve(roots) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin', 'Cache-Control': 'no-store' };
    if (url.pathname === '/') {
      res.writeHead(200, { ...headers, 'Content-Type': TYPES['.html'] });
      return res.end(PAGE);
    }
    const [, prefix, ...rest] = url.pathname.split('/');
    const root = roots[prefix];
    const path = root && normalize(join(root, ...rest.map(decodeURIComponent)));
    if (!path || !path.startsWith(root + sep) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404, headers);
      return res.end('not found');
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream', 'Content-Length': statSync(path).size });
    createReadStream(path).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * Opens one Chromium page per GGUF file and thread count, each with the model loaded (kept loaded,
 * so the bench can interleave its calls with other contenders'). files: [{ dir, name, label }].
 * → { version, contenders: [{ id, label, file, threads, open(), run(job), close() }], close() }.
 * run(job): job { text (a prompt that tokenizes to the job's ids), maxTokens, logprobs? } →
 * { wallMs, timings (llama.cpp's prompt_ms, predicted_ms, …), text, logprobs }.
 */
export async function wllamaContenders({ peersDir, rootRequire, files, threads, nCtx, log = () => {} }) {
  const dir = wllamaDir(peersDir);
  if (!dir) throw new Error('@wllama/wllama is not installed in the peers folder');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (Debian's chromium)`);
  const modelDirs = [...new Set(files.map((f) => f.dir))];
  const roots = { wllama: dir, ...Object.fromEntries(modelDirs.map((d, i) => [`m${i}`, d])) };
  const server = await serve(roots);
  const base = `http://127.0.0.1:${server.address().port}`;
  const { chromium } = rootRequire('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  const contenders = [];
  for (const file of files)
    for (const t of threads) {
      let page;
      contenders.push({
        id: `wllama-${file.label.toLowerCase()}-${t}t`,
        label: `wllama ${file.label} ${t}T`,
        group: 'peer',
        precision: file.label,
        threads: t,
        version,
        async open() {
          page = await browser.newPage();
          page.on('console', (m) => { if (process.env.WLLAMA_LOG) log(`wllama console: ${m.text()}`); });
          await page.goto(`${base}/`);
          const url = `${base}/m${modelDirs.indexOf(file.dir)}/${file.name}`;
          const info = await page.evaluate(pageOpen, { url, threads: t, nCtx });
          if (!info.multithread && t > 1) throw new Error(`wllama started ${info.numThreads} thread(s), not ${t}`);
          this.info = info;
          return info;
        },
        run: (job) => page.evaluate(pageRun, job),
        async close() {
          if (!page) return;
          await page.evaluate(() => globalThis.__wllama?.exit()).catch(() => {});
          await page.close().catch(() => {});
          page = undefined;
        },
      });
    }
  return {
    version,
    browser: browser.version(),
    contenders,
    async close() {
      for (const c of contenders) await c.close();
      await browser.close();
      server.close();
    },
  };
}

// In the page: load the model once.
async function pageOpen({ url, threads, nCtx }) {
  const { Wllama } = await import('/wllama/esm/index.js');
  const quiet = () => {};
  const w = new Wllama({ default: '/wllama/esm/wasm/wllama.wasm' }, { suppressNativeLog: true, logger: { debug: quiet, log: quiet, info: quiet, warn: quiet, error: console.error } });
  const t0 = performance.now();
  // a Blob (not loadModelFromUrl, which copies the file into the origin's storage first: over its quota at 2 GB)
  const blob = await (await fetch(url)).blob();
  await w.loadModel([blob], { n_threads: threads, n_ctx: nCtx, n_gpu_layers: 0 });
  globalThis.__wllama = w;
  return { crossOriginIsolated, libllama: Wllama.getLibllamaVersion?.(), multithread: w.isMultithread(), numThreads: w.getNumThreads(), loadMs: performance.now() - t0 };
}

// In the page: one completion, greedy, no prompt cache, EOS ignored.
async function pageRun(job) {
  const w = globalThis.__wllama;
  const t = performance.now();
  const c = await w.createCompletion({ prompt: job.text, max_tokens: job.maxTokens, temperature: 0, top_k: 1, cache_prompt: false, ignore_eos: true, stream: false, ...(job.logprobs ? { logprobs: job.logprobs } : {}) });
  return { wallMs: performance.now() - t, timings: c.timings, text: c.choices?.[0]?.text, logprobs: c.choices?.[0]?.logprobs ?? null, usage: c.usage };
}
