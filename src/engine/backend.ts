/** The builds compiled from `assembly/`, best first. */
export const BACKENDS = ['relaxed-simd', 'simd', 'scalar'] as const;
export type Backend = (typeof BACKENDS)[number];

// Smallest modules that use one instruction of each feature: `WebAssembly.validate` on them
// tells what the engine runs without compiling a real build.
// simd: (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)
const SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11];
// relaxed-simd: (func (result v128) i32.const 1 i8x16.splat i32.const 2 i8x16.splat i8x16.relaxed_swizzle)
const RELAXED_SIMD_PROBE = [
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2,
  11,
];

/** Whether this engine can run a build. */
export function supports(backend: Backend): boolean {
  switch (backend) {
    case 'scalar':
      return true;
    case 'simd':
      return WebAssembly.validate(new Uint8Array(SIMD_PROBE));
    case 'relaxed-simd':
      return WebAssembly.validate(new Uint8Array(SIMD_PROBE)) && WebAssembly.validate(new Uint8Array(RELAXED_SIMD_PROBE));
  }
}

/** The builds this engine runs, best first. */
export function supportedBackends(): Backend[] {
  return BACKENDS.filter(supports);
}

/** The major version of Node.js, or undefined outside Node. */
function nodeMajor(): number | undefined {
  const version = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
  return version === undefined ? undefined : Number.parseInt(version, 10);
}

/** How to get relaxed SIMD on an engine that lacks it, or '' when there is nothing to say. */
export function relaxedSimdHint(node: number | undefined): string {
  if (node === undefined) return '';
  if (node < 22) return `Node ${node} runs it with the flag --experimental-wasm-relaxed-simd; Node 22+ has relaxed SIMD on by default`;
  return 'Node 22+ has relaxed SIMD on by default: check for a flag that turns it off';
}

/**
 * The reason of the automatic choice when the engine runs `supported` (best first; scalar always):
 * the builds it skipped and, for relaxed SIMD on Node (`node`: its major version, undefined
 * elsewhere), how to turn it on.
 */
export function choiceReason(supported: readonly Backend[], node: number | undefined): string {
  const best = BACKENDS.find((b) => supported.includes(b)) ?? 'scalar';
  const skipped = BACKENDS.slice(0, BACKENDS.indexOf(best));
  if (skipped.length === 0) return 'best build; the engine supports every feature it uses';
  const hint = skipped.includes('relaxed-simd') ? relaxedSimdHint(node) : '';
  return `best build this engine validates (no ${skipped.join(', no ')}${hint ? `: ${hint}` : ''})`;
}

/** Why a backend was chosen, for `runtime.backendReason`. */
export function chooseBackend(requested?: Backend): { backend: Backend; reason: string } {
  if (requested !== undefined) {
    if (!(BACKENDS as readonly string[]).includes(requested)) {
      throw new TypeError(`options.backend must be one of ${BACKENDS.map((b) => `'${b}'`).join(', ')}, received ${JSON.stringify(requested)}`);
    }
    if (!supports(requested)) {
      const hint = requested === 'relaxed-simd' ? ' (Node 20 needs --experimental-wasm-relaxed-simd; Node 22+ and current browsers run it by default)' : '';
      throw new Error(`options.backend '${requested}' is not supported by this WebAssembly engine${hint}; supported: ${supportedBackends().join(', ')}`);
    }
    return { backend: requested, reason: 'forced by options.backend' };
  }
  const supported = supportedBackends();
  return { backend: supported[0]!, reason: choiceReason(supported, nodeMajor()) };
}
