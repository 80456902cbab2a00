import type { Backend } from './backend.js';
import type { Kernels } from './kernels.js';

// No dependency and no Node builtin in the static import graph: `dist/index.js` loads as is in a
// browser (`<script type="module">`, a relative path or an import map) and in every bundler.

// One literal `new URL(…, import.meta.url)` per build, so bundlers (Vite, webpack, esbuild)
// see and emit each .wasm file without configuration.
// The -shared builds are the same kernels compiled for a shared memory (threads).
function wasmUrl(backend: Backend, shared: boolean): URL {
  switch (backend) {
    case 'relaxed-simd':
      return shared ? new URL('../../build/relaxed-simd-shared.wasm', import.meta.url) : new URL('../../build/relaxed-simd.wasm', import.meta.url);
    case 'simd':
      return shared ? new URL('../../build/simd-shared.wasm', import.meta.url) : new URL('../../build/simd.wasm', import.meta.url);
    case 'scalar':
      return shared ? new URL('../../build/scalar-shared.wasm', import.meta.url) : new URL('../../build/scalar.wasm', import.meta.url);
  }
}

/** Where a build comes from: the default file beside the package, or a URL/bytes the caller gives. */
export type WasmSource = URL | string | ArrayBuffer | Uint8Array | WebAssembly.Module;

async function readFileUrl(url: URL): Promise<Uint8Array> {
  // Reached only for file: URLs (Node, Deno, Bun); kept out of the static import graph so a
  // browser bundle never pulls in a Node builtin.
  const fsName = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName)) as { readFile(path: URL): Promise<Uint8Array> };
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
  if (!response.ok) throw new Error(`wasm-attention: cannot fetch ${url.href}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  // compileStreaming needs the right MIME type; fall back to bytes when a server omits it.
  const type = response.headers.get('content-type') ?? '';
  return type.startsWith('application/wasm') && typeof WebAssembly.compileStreaming === 'function' ? response : response.arrayBuffer();
}

/** An AssemblyScript string (UTF-16, byte length in the 4 bytes before it) read out of memory. */
function readString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return 'null';
  const bytes = new Uint32Array(memory.buffer)[(ptr - 4) >>> 2]!;
  const units = new Uint16Array(memory.buffer, ptr, bytes >>> 1);
  let text = '';
  for (let i = 0; i < units.length; i += 4096) text += String.fromCharCode(...units.subarray(i, i + 4096));
  return text;
}

/** What AssemblyScript imports: the memory, and abort() / trace() when a build uses them. */
function kernelImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return {
    env: {
      memory,
      // Release builds normally import only the memory; unused imports are ignored.
      abort(message: number, file: number, line: number, column: number): never {
        throw new Error(`abort: ${readString(memory, message)} at ${readString(memory, file)}:${line}:${column}`);
      },
      trace(message: number, n: number, ...args: number[]): void {
        console.log(`trace: ${readString(memory, message)}${n ? ' ' : ''}${args.slice(0, n).join(', ')}`);
      },
      seed: Date.now,
    },
  };
}

// Not `new URL('..', import.meta.url)`: bundlers would take that literal for an asset to emit.
const moduleUrl = import.meta.url;
/** The package's `dist/` folder: a relative URL a user passes for a file resolves against it. */
export const distUrl = (): URL => new URL('..', moduleUrl);

/** Compiles one build (the variant for a shared memory when `shared`). */
export async function compileKernels(backend: Backend, shared: boolean, source?: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) return WebAssembly.compile(source as BufferSource);
  const url = source === undefined ? wasmUrl(backend, shared) : new URL(source, distUrl());
  const input = url.protocol === 'file:' ? await readFileUrl(url) : await fetchWasm(url);
  return input instanceof Response ? WebAssembly.compileStreaming(input) : WebAssembly.compile(input as BufferSource);
}

/** Instantiates a compiled build on `memory`; kernel aborts become JS `Error`s carrying the message. */
export async function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<Kernels> {
  const instance = await WebAssembly.instantiate(module, kernelImports(memory));
  return instance.exports as unknown as Kernels;
}

/** Compiles and instantiates one build on `memory` (the shared variant when `memory` is shared). */
export async function loadKernels(backend: Backend, memory: WebAssembly.Memory, source?: WasmSource): Promise<Kernels> {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  return instantiateKernels(await compileKernels(backend, shared, source), memory);
}
