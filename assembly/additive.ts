// Additive (Bahdanau / Luong-concat) attention scores over precomputed keys.
import { madd4, tanhf32, tanhf32x4 } from './vmath';

/**
 * scores[s] = Σ_i v[i]·tanh(q[i] + keys[s, i]) + vBias   for s < n, i < h
 * q [h] is the projected decoder state (Wa·h + bias), keys [n, h] (row stride ldk) the projected
 * encoder states (Ua·hs + bias), computed once per source sequence; v [h] is the Va weight row.
 */
export function additiveScores(q: usize, keys: usize, ldk: i32, v: usize, vBias: f32, scores: usize, n: i32, h: i32): void {
  for (let s = 0; s < n; s++) {
    const row = keys + ((<usize>s * <usize>ldk) << 2);
    let sum: f32 = 0;
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      let acc = f32x4.splat(0);
      for (; i + 4 <= h; i += 4) {
        const o = <usize>i << 2;
        acc = madd4(v128.load(v + o), tanhf32x4(f32x4.add(v128.load(q + o), v128.load(row + o))), acc);
      }
      sum = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    }
    for (; i < h; i++) {
      const o = <usize>i << 2;
      sum += load<f32>(v + o) * tanhf32(load<f32>(q + o) + load<f32>(row + o));
    }
    store<f32>(scores + (<usize>s << 2), sum + vBias);
  }
}

/** x[i] = tanh(x[i]) for i < n, in place (the attentional state h̃ = tanh(Wc·[c; h])). */
export function tanhInPlace(x: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const p = x + (<usize>i << 2);
      v128.store(p, tanhf32x4(v128.load(p)));
    }
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<f32>(p, tanhf32(load<f32>(p)));
  }
}
