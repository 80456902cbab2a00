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
  const backend = supportedBackends()[0]!;
  const skipped = BACKENDS.slice(0, BACKENDS.indexOf(backend));
  const reason = skipped.length === 0 ? 'best build; the engine supports every feature it uses' : `best build this engine validates (no ${skipped.join(', no ')})`;
  return { backend, reason };
}
