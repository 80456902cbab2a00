// `npm run demo`: a tiny static server for the demo page, with no dependencies. It serves the
// package the way a user's server would: demo/ (the page), dist/ (the public entry, loaded as
// `../dist/index.js`), build/ (the .wasm files, found by dist/ through import.meta.url and sent
// as application/wasm so the browser can compile them while they download) and models/ (the date
// normaliser's weights and vocabulary, fetched by dist/ through import.meta.url as well), plus the
// tokenizer library at /node_modules/@huggingface/tokenizers/dist/tokenizers.mjs, where the page's
// import map points '@huggingface/tokenizers', and the chat-template library at
// /node_modules/@huggingface/jinja/dist/index.js, where it points '@huggingface/jinja'.
//
// Every response carries the cross-origin isolation headers (COOP same-origin, COEP require-corp,
// and CORP same-origin on each resource), so the page may use SharedArrayBuffer and the runtime's
// threads; `--no-isolation` (or `isolated: false`) serves without them, as a plain static host
// would, and the page then runs on one thread.
//
//   node demo/server.mjs [--port 5173] [--host 127.0.0.1] [--no-isolation]
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVED = ['demo', 'dist', 'build', 'models'];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ts': 'text/plain; charset=utf-8',
};

/**
 * The package's one runtime dependency, the tokenizer library loadModel imports as
 * '@huggingface/tokenizers' (a single ES module with no imports of its own): served at the path the
 * page's import map names, from wherever Node resolves it (this package's node_modules or a parent's).
 */
export const TOKENIZERS_URL_PATH = '/node_modules/@huggingface/tokenizers/dist/tokenizers.mjs';
function resolveModule(specifier) {
  try {
    return fileURLToPath(import.meta.resolve(specifier));
  } catch {
    return undefined; // not installed: the path answers 404
  }
}
/** The chat-template library chat sessions import as '@huggingface/jinja' (one ES module, no imports), served the same way. */
export const JINJA_URL_PATH = '/node_modules/@huggingface/jinja/dist/index.js';
const MODULES = { [TOKENIZERS_URL_PATH]: resolveModule('@huggingface/tokenizers'), [JINJA_URL_PATH]: resolveModule('@huggingface/jinja') };

/** What makes a page cross-origin isolated (crossOriginIsolated === true: SharedArrayBuffer, threads). */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Starts the server; `port: 0` picks a free port. `root` and `dirs` (the top-level folders served,
 * or null for all of root) default to the package's demo/, dist/, build/ and models/. `isolated` (default
 * true) sends ISOLATION_HEADERS on every response; `contentSecurityPolicy`, when given, is sent as
 * the Content-Security-Policy header of every response. Resolves to { url, origin, close() }.
 */
export function startDemoServer({ port = 5173, host = '127.0.0.1', root = ROOT, dirs = SERVED, isolated = true, contentSecurityPolicy } = {}) {
  root = root.endsWith(sep) ? root : root + sep;
  const common = {
    'cache-control': 'no-store',
    ...(isolated ? ISOLATION_HEADERS : {}),
    ...(contentSecurityPolicy ? { 'content-security-policy': contentSecurityPolicy } : {}),
  };
  const server = createServer(async (req, res) => {
    const send = (status, body, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { ...common, 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(400, 'bad request\n');
    }
    if ((path === '/' || path === '/demo') && dirs?.includes('demo')) {
      res.writeHead(302, { ...common, location: '/demo/' });
      return res.end();
    }
    if (path.endsWith('/')) path += 'index.html';
    const module = Object.hasOwn(MODULES, path) ? MODULES[path] : undefined;
    const file = module ?? normalize(join(root, path));
    const top = file.slice(root.length).split(sep)[0];
    if (!module && (!file.startsWith(root) || (dirs !== null && !dirs.includes(top)))) return send(404, `not found: ${path}\n`);
    try {
      if (!(await stat(file)).isFile()) return send(404, `not found: ${path}\n`);
      const body = await readFile(file);
      res.writeHead(200, {
        ...common,
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      send(404, `not found: ${path}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({
        origin: `http://${host}:${actual}`,
        url: `http://${host}:${actual}/demo/`,
        close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(() => done()); }),
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  for (const need of ['dist/index.js', 'build/simd.wasm']) {
    try {
      await stat(join(ROOT, need));
    } catch {
      console.error(`demo: ${need} is missing; run \`npm run build\` first`);
      process.exit(1);
    }
  }
  const isolated = !process.argv.includes('--no-isolation');
  const { url } = await startDemoServer({ port: Number(arg('port', process.env.PORT ?? 5173)), host: arg('host', '127.0.0.1'), isolated });
  const how = isolated ? 'cross-origin isolated: threads available' : 'without isolation headers: one thread';
  console.log(`wasm-attention demo: ${url}  (${how}; add ?backend=scalar to force a build; Ctrl+C stops)`);
}
