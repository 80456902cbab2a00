// Operand preparation for the fused kernel: K packed into 16-key panels, a query block scaled.
import { transpose4x4 } from '../simd';
import { PW } from './tiles';

/**
 * Pack keys [j0, j1) (rows of length d, row stride kRow bytes, k = key j0) transposed into 16-key
 * panels at kp: panel p holds keys 16p … 16p + 15 with Kp[p][dd·16 + j] = k[16p + j][dd]; keys of
 * the last panel past j1 are zero. j0 is a multiple of 16; panels before j0/16 are not written.
 */
export function packK(k: usize, kRow: usize, j0: i32, j1: i32, d: i32, kp: usize): void {
  const panelBytes = <usize>(PW * d) << 2;
  const dimStride: usize = PW << 2; // one dimension of a panel: 16 keys
  for (let p0 = j0; p0 < j1; p0 += PW) {
    const panel = kp + <usize>(p0 / PW) * panelBytes;
    const nj = min<i32>(PW, j1 - p0);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      // 4 keys at a time: 4×4 transposes of (key, dim) → (dim, key)
      for (; j + 4 <= nj; j += 4) {
        const r0 = k + <usize>(p0 - j0 + j) * kRow;
        const dst = panel + (<usize>j << 2);
        let dd = 0;
        for (; dd + 4 <= d; dd += 4) transpose4x4(r0 + (<usize>dd << 2), kRow, dst + <usize>dd * dimStride, dimStride);
        // dimension tail (d % 4)
        for (; dd < d; dd++) {
          const o = dst + <usize>dd * dimStride;
          const off = <usize>dd << 2;
          store<f32>(o, load<f32>(r0 + off));
          store<f32>(o, load<f32>(r0 + kRow + off), 4);
          store<f32>(o, load<f32>(r0 + 2 * kRow + off), 8);
          store<f32>(o, load<f32>(r0 + 3 * kRow + off), 12);
        }
      }
    }
    // remaining keys one at a time (all keys in the scalar build)
    for (; j < nj; j++) {
      const src = k + <usize>(p0 - j0 + j) * kRow;
      const dst = panel + (<usize>j << 2);
      for (let dd = 0; dd < d; dd++) store<f32>(dst + <usize>dd * dimStride, load<f32>(src + (<usize>dd << 2)));
    }
    // zero the missing keys of a partial last panel
    for (; j < PW; j++) {
      const dst = panel + (<usize>j << 2);
      for (let dd = 0; dd < d; dd++) store<f32>(dst + <usize>dd * dimStride, 0);
    }
  }
}

/** dst[dd] = src[dd]·s for dd < d: one query row, scaled. */
export function loadQRow(src: usize, d: i32, s: f32, dst: usize): void {
  let dd = 0;
  if (ASC_FEATURE_SIMD) {
    const sv = f32x4.splat(s);
    for (; dd + 4 <= d; dd += 4) {
      const off = <usize>dd << 2;
      v128.store(dst + off, f32x4.mul(v128.load(src + off), sv));
    }
  }
  for (; dd < d; dd++) {
    const off = <usize>dd << 2;
    store<f32>(dst + off, load<f32>(src + off) * s);
  }
}
