/**
 * Sentence embeddings from token states, as sentence-transformers' Pooling and Normalize modules
 * compute them (sentence_transformers/models/Pooling.py, Normalize.py), over [B, L, E] states and
 * a [B, L] attention mask (1 = a real token):
 *   mean: Σ_t h[t]·m[t] / max(Σ_t m[t], 1e-9)
 *   max:  max over tokens with m[t] = 1 (padding set to −1e9 first, as sentence-transformers does)
 *   cls:  h[0]
 *   normalize: x / max(‖x‖₂, 1e-12) (torch.nn.functional.normalize)
 */
export type Pooling = 'mean' | 'cls' | 'max';
export const POOLINGS: readonly Pooling[] = ['mean', 'cls', 'max'];

/** Row b of out [B, E] ← the pooled states of sequence b. Sums in float64, stored as float32. */
export function pool(states: Float32Array, mask: Uint8Array, batch: number, length: number, e: number, mode: Pooling, out: Float32Array, outRow = 0): void {
  const acc = new Float64Array(e);
  for (let b = 0; b < batch; b++) {
    const base = b * length * e;
    if (mode === 'cls') acc.set(states.subarray(base, base + e));
    else if (mode === 'mean') {
      acc.fill(0);
      let count = 0;
      for (let t = 0; t < length; t++) {
        if (!mask[b * length + t]) continue;
        count++;
        for (let j = 0; j < e; j++) acc[j]! += states[base + t * e + j]!;
      }
      const n = Math.max(count, 1e-9);
      for (let j = 0; j < e; j++) acc[j]! /= n;
    } else {
      acc.fill(-Infinity);
      for (let t = 0; t < length; t++) {
        for (let j = 0; j < e; j++) {
          const v = mask[b * length + t] ? states[base + t * e + j]! : -1e9;
          if (Number.isNaN(v) || v > acc[j]!) acc[j] = v; // NaN, once in, stays (torch.max propagates it)
        }
      }
    }
    out.set(acc, (outRow + b) * e);
  }
}

/** Each row of x [N, E] divided by max(its L2 norm, 1e-12), in place. */
export function normalizeRows(x: Float32Array, rows: number, e: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < e; j++) s += x[r * e + j]! * x[r * e + j]!;
    const d = Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < e; j++) x[r * e + j] = x[r * e + j]! / d;
  }
}
