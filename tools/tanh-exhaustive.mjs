// Max |tanhInPlace(x) − Math.tanh(x)| over every f32 in [0, 12] for each build, plus exact odd symmetry
// over the same values negated, plus special values (the figures quoted in assembly/vmath.ts).
// Usage, after `npm run build`: node --experimental-wasm-relaxed-simd tools/tanh-exhaustive.mjs [build...]
// (about a minute per build).
import { readFileSync } from 'node:fs';
const builds = process.argv.slice(2).length ? process.argv.slice(2) : ['scalar', 'simd', 'relaxed-simd'];
const CHUNK = 1 << 20;
const inpU = new Uint32Array(CHUNK), inp = new Float32Array(inpU.buffer);
for (const b of builds) {
  const memory = new WebAssembly.Memory({ initial: 256 });
  const { instance } = await WebAssembly.instantiate(readFileSync(new URL(`../build/${b}.wasm`, import.meta.url)), { env: { memory, abort() { throw new Error('abort'); }, trace() {}, seed: Date.now } });
  const k = instance.exports;
  const base = (k.heapBase() + 15) & ~15;
  const f = new Float32Array(memory.buffer, base, CHUNK);
  const u = new Uint32Array(memory.buffer, base, CHUNK);
  const out = new Float32Array(CHUNK);
  const END = 0x41400000; // bits of 12.0f
  let worst = 0, worstX = 0, asym = 0, over1 = 0, count = 0;
  const t0 = performance.now();
  for (let start = 0; start <= END; start += CHUNK) {
    const len = Math.min(CHUNK, END + 1 - start);
    for (let j = 0; j < len; j++) inpU[j] = start + j;
    u.set(inpU.subarray(0, len));
    k.tanhInPlace(base, len);
    out.set(f.subarray(0, len));
    for (let j = 0; j < len; j++) {
      const x = inp[j];
      const y = out[j];
      const d = Math.abs(y - Math.tanh(x));
      if (!(d <= worst)) { worst = d; worstX = x; }
      if (y > 1) over1++;
    }
    for (let j = 0; j < len; j++) u[j] = (start + j) | 0x80000000;
    k.tanhInPlace(base, len);
    for (let j = 0; j < len; j++) if (!Object.is(f[j], -out[j])) asym++;
    count += 2 * len;
  }
  const sp = [Infinity, -Infinity, 0, -0, NaN, 9, -9, 1e-40, -1e-40, 3.4e38, -3.4e38, 20, -20];
  f.set(sp); k.tanhInPlace(base, sp.length);
  console.log(`${b}: ${count} values, max abs error ${worst.toExponential(3)} at x = ${worstX}, |y| > 1: ${over1}, odd-symmetry mismatches: ${asym}, ` +
    `special ${sp.map((x, i) => `${x}→${Object.is(f[i], -0) ? '-0' : f[i]}`).join(' ')} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
