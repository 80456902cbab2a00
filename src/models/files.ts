/**
 * A checkpoint folder, wherever it is: a path or `file:` URL (Node), a base URL (fetched; browsers
 * and Node), or the files of a folder picked in a page (`<input type="file" webkitdirectory>`:
 * a FileList or File[]). Only the user's own files are read: nothing is looked up on a hub.
 */

export interface CheckpointFolder {
  /** The folder, as a person would name it in an error. */
  readonly where: string;
  /** The bytes of `name` ('/'-separated, relative to the folder), or undefined when there is no such file. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Where `name` was looked for (a path or URL), for the message when it is missing. */
  locate(name: string): string;
}

/** A `File` as the folder picker gives it (`webkitRelativePath` is 'folder/sub/name'). */
interface PickedFile {
  readonly name: string;
  readonly webkitRelativePath?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** 'https://…', 'file:///…', 'blob:…' (two letters or more before the colon, so 'C:\\' is a path). */
const hasScheme = (s: string): boolean => /^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(s);

export function isPickedFiles(source: unknown): source is ArrayLike<PickedFile> {
  if (typeof FileList !== 'undefined' && source instanceof FileList) return true;
  return Array.isArray(source) && source.length > 0 && source.every((f) => typeof f === 'object' && f !== null && typeof (f as PickedFile).arrayBuffer === 'function' && typeof (f as PickedFile).name === 'string');
}

/** The folder `source` names: a path or URL (string or URL), or picked files. */
export async function openFolder(source: string | URL | ArrayLike<PickedFile>, where: string): Promise<CheckpointFolder> {
  if (typeof source === 'string' || source instanceof URL) return urlFolder(await folderUrl(source, where));
  return pickedFolder(source, where);
}

async function folderUrl(source: string | URL, where: string): Promise<URL> {
  let url: URL;
  if (source instanceof URL) url = new URL(source.href);
  else if (source === '') throw new TypeError(`${where}: source must name a checkpoint folder, received an empty string`);
  else if (hasScheme(source)) url = new URL(source);
  else if (isNode()) {
    const urlName = 'node:url';
    const { pathToFileURL } = (await import(/* @vite-ignore */ /* webpackIgnore: true */ urlName)) as { pathToFileURL(path: string): URL };
    url = pathToFileURL(source);
  } else {
    const base = typeof document !== 'undefined' ? document.baseURI : (globalThis as { location?: { href: string } }).location?.href;
    url = base === undefined ? new URL(source) : new URL(source, base);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function urlFolder(base: URL): CheckpointFolder {
  const where = base.protocol === 'file:' ? decodeURIComponent(base.pathname) : base.href;
  return {
    where,
    locate: (name) => (base.protocol === 'file:' ? decodeURIComponent(new URL(name, base).pathname) : new URL(name, base).href),
    read: (name) => (base.protocol === 'file:' ? readFile(new URL(name, base)) : fetchFile(new URL(name, base))),
  };
}

async function readFile(url: URL): Promise<Uint8Array | undefined> {
  // kept out of the static import graph: a browser bundle never sees a Node builtin
  const fsName = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName)) as { readFile(path: URL): Promise<Uint8Array> };
  try {
    return await fs.readFile(url);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new Error(`cannot read ${decodeURIComponent(url.pathname)}: ${(error as Error).message}`);
  }
}

async function fetchFile(url: URL): Promise<Uint8Array | undefined> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`cannot fetch ${url.href}: ${(error as Error).message}`);
  }
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`cannot fetch ${url.href}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  return new Uint8Array(await response.arrayBuffer());
}

/** Picked files by their path inside the picked folder (the folder's own name removed). */
function pickedFolder(files: ArrayLike<PickedFile>, where: string): CheckpointFolder {
  const list = Array.from(files);
  if (list.length === 0) throw new TypeError(`${where}: source is an empty list of files (pick the checkpoint's folder)`);
  const paths = list.map((f) => (f.webkitRelativePath || f.name).replace(/\\/g, '/'));
  const tops = new Set(paths.map((p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '')));
  const strip = tops.size === 1 && !tops.has('') ? [...tops][0]! + '/' : '';
  const byPath = new Map(list.map((f, i) => [paths[i]!.slice(strip.length), f]));
  const folder = strip ? strip.slice(0, -1) : 'the picked files';
  return {
    where: folder,
    locate: (name) => `${folder}/${name}`,
    read: async (name) => {
      const file = byPath.get(name);
      return file === undefined ? undefined : new Uint8Array(await file.arrayBuffer());
    },
  };
}

/** The file's text parsed as JSON, with the file named when it is not JSON. */
export function parseJson(bytes: Uint8Array, place: string): unknown {
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${place} is not valid JSON: ${(error as Error).message}`);
  }
}
