// The peers: loaded from the separate package in this folder, installed only when asked
// (`npm run bench -- --install-peers`, or a y/N question when the bench runs in a terminal), never
// by the library's own install or tests. A peer that is not installed or fails to load is listed
// with the reason instead of a result; none is dropped silently.
//
// onnxruntime-web reads its thread count once per process (env.wasm.numThreads), so its 2-thread
// contenders run in a companion child process (./remote.mjs) that the runner drives slice by
// slice, interleaved with everything else.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { remoteContender } from './remote.mjs';

export const DEFAULT_PEERS_DIR = dirname(fileURLToPath(import.meta.url));

// id, package, how to make it. Order: the report's order.
export const PEER_SPECS = [
  { id: 'tfjs-wasm', label: 'tfjs-wasm', pkg: '@tensorflow/tfjs-backend-wasm', threads: 1 },
  { id: 'ort-web-matmul-1t', label: 'ort-web MatMul graph 1T', pkg: 'onnxruntime-web', flavor: 'web', graph: 'matmul', threads: 1 },
  { id: 'ort-web-mha-1t', label: 'ort-web MHA op 1T', pkg: 'onnxruntime-web', flavor: 'web', graph: 'mha', threads: 1 },
  { id: 'ort-web-matmul-2t', label: 'ort-web MatMul graph 2T', pkg: 'onnxruntime-web', flavor: 'web', graph: 'matmul', threads: 2, remote: true },
  { id: 'ort-web-mha-2t', label: 'ort-web MHA op 2T', pkg: 'onnxruntime-web', flavor: 'web', graph: 'mha', threads: 2, remote: true },
  { id: 'ort-node-matmul-1t', label: 'ort-node MatMul graph 1T', pkg: 'onnxruntime-node', flavor: 'node', graph: 'matmul', threads: 1 },
  { id: 'ort-node-mha-1t', label: 'ort-node MHA op 1T', pkg: 'onnxruntime-node', flavor: 'node', graph: 'mha', threads: 1 },
  { id: 'ort-node-matmul-2t', label: 'ort-node MatMul graph 2T', pkg: 'onnxruntime-node', flavor: 'node', graph: 'matmul', threads: 2 },
  { id: 'ort-node-mha-2t', label: 'ort-node MHA op 2T', pkg: 'onnxruntime-node', flavor: 'node', graph: 'mha', threads: 2 },
];

const installed = (dir, pkg) => existsSync(join(dir, 'node_modules', pkg, 'package.json'));
const versionOf = (dir, pkg) => JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')).version;

/** Whether every peer package is installed in `dir`. */
export const peersInstalled = (dir = DEFAULT_PEERS_DIR) => [...new Set(PEER_SPECS.map((s) => s.pkg))].every((p) => installed(dir, p));

// The peer libraries as users know them, with their installed size: `du -sm` of each package in
// bench/peers/node_modules on linux-x64 (onnxruntime-node ships the CPU binaries of every
// platform); all of node_modules, dependencies included, is PEERS_MIB.
export const PEER_LIBRARIES = [
  { name: 'tfjs-wasm', pkg: '@tensorflow/tfjs-backend-wasm', mib: 65 },
  { name: 'onnxruntime-web', pkg: 'onnxruntime-web', mib: 140 },
  { name: 'onnxruntime-node', pkg: 'onnxruntime-node', mib: 288 },
];
export const PEERS_MIB = 515;

/** The peer libraries not installed in `dir`: [{ name, pkg, mib }]. */
export const missingPeers = (dir = DEFAULT_PEERS_DIR) => PEER_LIBRARIES.filter((l) => !installed(dir, l.pkg));

/**
 * Installs the peer package into `dir` (its package.json and lock copied there first when `dir` is
 * not this folder) with `npm ci`; onnxruntime-node's GPU download is skipped. → whether it worked.
 */
export function installPeers(dir = DEFAULT_PEERS_DIR) {
  mkdirSync(dir, { recursive: true });
  for (const f of ['package.json', 'package-lock.json', '.npmrc']) if (!existsSync(join(dir, f))) copyFileSync(join(DEFAULT_PEERS_DIR, f), join(dir, f));
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', dir], { stdio: ['ignore', 2, 2], env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  return r.status === 0;
}

const libraries = new Map(); // pkg → Promise<module> (one load per process)
async function library(dir, spec, threads) {
  const require = createRequire(join(dir, 'package.json'));
  if (!libraries.has(spec.pkg)) {
    libraries.set(
      spec.pkg,
      (async () => {
        if (spec.pkg === '@tensorflow/tfjs-backend-wasm') return (await import('./tfjs.mjs')).tfjsContender(require);
        const ort = require(spec.pkg);
        if (spec.flavor === 'web') {
          ort.env.wasm.numThreads = threads; // read once, at the first session
          ort.env.logLevel = 'error';
        }
        return ort;
      })(),
    );
  }
  return libraries.get(spec.pkg);
}

/** One peer contender made in this process (the remote child calls this too). */
export async function makePeer(spec, dir = DEFAULT_PEERS_DIR) {
  const lib = await library(dir, spec, spec.threads);
  if (spec.pkg === '@tensorflow/tfjs-backend-wasm') return lib;
  const { ortContender } = await import('./ort.mjs');
  return { ...ortContender(lib, { flavor: spec.flavor, graph: spec.graph, threads: spec.threads, version: versionOf(dir, spec.pkg) }), label: spec.label };
}

/** Every peer contender; the ones that cannot run carry the reason as their status. `dir` false: none installed. */
export async function peerContenders(dir = DEFAULT_PEERS_DIR) {
  // onnxruntime-web and -node share one onnxruntime-common (one backend registry). Whichever loads
  // first owns the 'cpu' name, and a later registration does not replace it: load -node first so
  // its sessions ('cpu') run natively while -web's ask for 'wasm'. (ort.mjs checks this per session.)
  const loadOrder = [...PEER_SPECS].sort((a, b) => (b.pkg === 'onnxruntime-node') - (a.pkg === 'onnxruntime-node'));
  const made = new Map();
  for (const spec of loadOrder) {
    const base = { id: spec.id, label: spec.label, group: 'peer', threads: spec.threads };
    if (!dir) {
      made.set(spec.id, { ...base, status: 'left out (--no-peers)' });
      continue;
    }
    if (!installed(dir, spec.pkg)) {
      made.set(spec.id, { ...base, status: `not installed (${spec.pkg}; \`npm run bench -- --install-peers\` installs it)` });
      continue;
    }
    try {
      made.set(spec.id, spec.remote ? remoteContender(spec, dir, versionOf(dir, spec.pkg)) : await makePeer(spec, dir));
    } catch (error) {
      made.set(spec.id, { ...base, status: `failed to load: ${String(error?.message ?? error).split('\n')[0]}` });
    }
  }
  return PEER_SPECS.map((spec) => made.get(spec.id));
}
