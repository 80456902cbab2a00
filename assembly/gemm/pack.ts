// Packing op(B) into NR-wide column panels for the packed micro-kernels.
import { transpose4x4 } from '../simd';
import { NR } from './tiles';

/**
 * dst[p][kk][jj] = op(B)[k0+kk, 8p+jj] for kk < kc, jj < 8; 0 where 8p+jj ≥ n.
 * Panel p starts at dst + p·kc·32 bytes; its row kk is 8 contiguous floats.
 */
export function packB(b: usize, ldb4: usize, trans: bool, k0: i32, kc: i32, n: i32, dst: usize): void {
  const panelRow: usize = NR << 2;
  for (let j0 = 0; j0 < n; j0 += NR) {
    const nv = n - j0 < NR ? n - j0 : NR;
    if (!trans) {
      // B[k,n]: panel row kk = B[k0+kk, j0 : j0+nv], zero-padded to 8.
      let src = b + <usize>k0 * ldb4 + (<usize>j0 << 2);
      let kk = 0;
      if (ASC_FEATURE_SIMD) {
        if (nv == NR) {
          for (; kk < kc; kk++) {
            v128.store(dst, v128.load(src));
            v128.store(dst, v128.load(src, 16), 16);
            src += ldb4;
            dst += panelRow;
          }
        }
      }
      for (; kk < kc; kk++) {
        for (let jj = 0; jj < NR; jj++) {
          store<f32>(dst + (<usize>jj << 2), jj < nv ? load<f32>(src + (<usize>jj << 2)) : 0);
        }
        src += ldb4;
        dst += panelRow;
      }
    } else {
      // B[n,k]: panel row kk = B[j0 : j0+nv, k0+kk] (a column of the stored B), zero-padded.
      const src = b + <usize>j0 * ldb4 + (<usize>k0 << 2);
      let kk = 0;
      if (ASC_FEATURE_SIMD) if (nv == NR) {
        // 4 k at a time: two 4×4 transposes (columns j0..j0+3 and j0+4..j0+7).
        for (; kk + 4 <= kc; kk += 4) {
          const s = src + (<usize>kk << 2);
          transpose4x4(s, ldb4, dst, panelRow);
          transpose4x4(s + (ldb4 << 2), ldb4, dst + 16, panelRow);
          dst += panelRow << 2;
        }
      }
      // Remaining k (and partial panels): one float at a time.
      for (; kk < kc; kk++) {
        const s = src + (<usize>kk << 2);
        for (let jj = 0; jj < NR; jj++) {
          store<f32>(dst + (<usize>jj << 2), jj < nv ? load<f32>(s + <usize>jj * ldb4) : 0);
        }
        dst += panelRow;
      }
    }
  }
}
