import { instantiate } from '@assemblyscript/loader';
import type { Backend } from './backend.js';
import type { Kernels } from './kernels.js';

// One literal `new URL(…, import.meta.url)` per build, so bundlers (Vite, webpack, esbuild)
// see and emit each .wasm file without configuration.
function wasmUrl(backend: Backend): URL {
  switch (backend) {
    case 'relaxed-simd':
      return new URL('../build/relaxed-simd.wasm', import.meta.url);
    case 'simd':
      return new URL('../build/simd.wasm', import.meta.url);
    case 'scalar':
      return new URL('../build/scalar.wasm', import.meta.url);
  }
}

/** Where a build comes from: the default file beside the package, or a URL/bytes the caller gives. */
export type WasmSource = URL | string | ArrayBuffer | Uint8Array | WebAssembly.Module;

async function readFileUrl(url: URL): Promise<Uint8Array> {
  // Reached only for file: URLs (Node, Deno, Bun); kept out of the static import graph so a
  // browser bundle never pulls in a Node builtin.
  const fsName = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ fsName)) as { readFile(path: URL): Promise<Uint8Array> };
  try {
    return await fs.readFile(url);
  } catch (error) {
    throw new Error(`wasm-attention: cannot read ${url.href}: ${(error as Error).message}`);
  }
}

async function fetchWasm(url: URL): Promise<Response | ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`wasm-attention: cannot fetch ${url.href}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new Error(`wasm-attention: cannot fetch ${url.href}: HTTP ${response.status} ${response.statusText}`);
  // instantiateStreaming needs the right MIME type; fall back to bytes when a server omits it.
  const type = response.headers.get('content-type') ?? '';
  return type.startsWith('application/wasm') ? response : response.arrayBuffer();
}

/** Instantiates one build on `memory`; kernel aborts become JS `Error`s carrying the message. */
export async function loadKernels(backend: Backend, memory: WebAssembly.Memory, source?: WasmSource): Promise<Kernels> {
  const imports = { env: { memory } };
  let input: Response | ArrayBuffer | Uint8Array | WebAssembly.Module;
  if (source instanceof WebAssembly.Module || source instanceof ArrayBuffer || source instanceof Uint8Array) {
    input = source;
  } else {
    const url = source === undefined ? wasmUrl(backend) : new URL(source, import.meta.url);
    input = url.protocol === 'file:' ? await readFileUrl(url) : await fetchWasm(url);
  }
  const { exports } = await instantiate<Record<string, unknown>>(input as ArrayBuffer, imports);
  return exports as unknown as Kernels;
}
