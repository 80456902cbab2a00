// The GRU cell (torch.nn.GRU / GRUCell), fused after its two projections. With the gate order of
// PyTorch (r, z, n) and the projections made by gemm:
//   gi = x·W_ihᵀ + b_ih   [rows, 3H]      gh = h·W_hhᵀ + b_hh   [rows, 3H]
//   r  = σ(gi_r + gh_r)    z = σ(gi_z + gh_z)    n = tanh(gi_n + r ⊙ gh_n)
//   h' = (1 − z) ⊙ n + z ⊙ h, computed as n + z ⊙ (h − n) (one multiply-add less; the same value
//        up to one rounding)
// One pass over the row: f32x4 with a scalar tail (its scalar twin: the same helpers of vmath.ts).
// Error against float64: σ ≤ 1.5e-7, tanh ≤ 2.1e-7 absolute (vmath.ts), so |h'| error stays
// ≤ ~5e-7 for |h| ≤ 1 (test/gru.test.ts checks 1e-6 over random and saturated inputs).
import { madd4 } from './simd';
import { one4, sigmoidf32, sigmoidf32x4, tanhf32, tanhf32x4 } from './vmath';

/**
 * For each row b < rows and i < hidden:
 *   out[b, i] = h'(gi[b, :], gh[b, :], h[b, i])  with the gates above,
 * gi rows ldgi floats apart (a step of a [B, L, 3H] projection: ldgi = L·3H), gh rows ldgh apart,
 * h rows ldh apart, out rows ldo apart. out may equal h (in place): each element of h is read
 * before the same element of out is written.
 */
export function gruCell(gi: usize, ldgi: i32, gh: usize, ldgh: i32, h: usize, ldh: i32, out: usize, ldo: i32, rows: i32, hidden: i32): void {
  const gate = <usize>hidden << 2; // bytes from one gate's block to the next
  for (let b = 0; b < rows; b++) {
    const ib = gi + ((<usize>b * <usize>ldgi) << 2), hb = gh + ((<usize>b * <usize>ldgh) << 2);
    const xb = h + ((<usize>b * <usize>ldh) << 2), ob = out + ((<usize>b * <usize>ldo) << 2);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const one = one4();
      for (; i + 4 <= hidden; i += 4) {
        const o = <usize>i << 2;
        const r = sigmoidf32x4(f32x4.add(v128.load(ib + o), v128.load(hb + o)), one);
        const z = sigmoidf32x4(f32x4.add(v128.load(ib + gate + o), v128.load(hb + gate + o)), one);
        const n = tanhf32x4(madd4(r, v128.load(hb + 2 * gate + o), v128.load(ib + 2 * gate + o)));
        v128.store(ob + o, madd4(z, f32x4.sub(v128.load(xb + o), n), n));
      }
    }
    for (; i < hidden; i++) {
      const o = <usize>i << 2;
      const r = sigmoidf32(load<f32>(ib + o) + load<f32>(hb + o));
      const z = sigmoidf32(load<f32>(ib + gate + o) + load<f32>(hb + gate + o));
      const n = tanhf32(r * load<f32>(hb + 2 * gate + o) + load<f32>(ib + 2 * gate + o));
      store<f32>(ob + o, z * (load<f32>(xb + o) - n) + n);
    }
  }
}
