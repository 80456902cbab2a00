// Appending to a KV cache held as f16 or q8: rows of f32 keys or values → the cache's element type.
//   f16: each value rounded to the nearest half, ties to even (half.ts).
//   q8 : per head of dh values (one cache position of one kv head), symmetric:
//        scale = max|x|/127 (rounded to f32), q = round-half-even(x/scale) (the quotient in f64, so
//        the result is the float64 twin's exactly), clamped to [−127, 127]. A head of zeros gets
//        scale 0 and q = 0; a head holding NaN or ±Infinity gets scale NaN (and q = 0), so every
//        attention output that reads it is NaN. Each position has its own scales: appending never
//        changes what is already held.
import { f32ToF16 } from './half';

/** x [rows, n] (rows ldx floats apart) → halves [rows, n] (rows ldh halves apart). */
export function storeRowsF16(x: usize, ldx: i32, rows: i32, n: i32, h: usize, ldh: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * ldx) << 2), hr = h + (<usize>(r * ldh) << 1);
    for (let e = 0; e < n; e++) store<u16>(hr + (<usize>e << 1), <u16>f32ToF16(load<f32>(xr + (<usize>e << 2))));
  }
}

/**
 * x [rows, heads·dh] (rows ldx floats apart) → int8 q [rows, heads·dh] (rows ldq bytes apart) and
 * f32 scales [rows, heads] (rows lds floats apart), one per (row, head) over its dh values.
 */
export function storeRowsQ8(x: usize, ldx: i32, rows: i32, heads: i32, dh: i32, q: usize, ldq: i32, scales: usize, lds: i32): void {
  for (let r = 0; r < rows; r++) {
    for (let hd = 0; hd < heads; hd++) {
      const xh = x + (<usize>(r * ldx + hd * dh) << 2), qh = q + <usize>(r * ldq + hd * dh);
      let amax: f32 = 0;
      for (let e = 0; e < dh; e++) amax = max<f32>(amax, abs<f32>(load<f32>(xh + (<usize>e << 2))));
      const scale = <f32>(<f64>amax / 127);
      store<f32>(scales + (<usize>(r * lds + hd) << 2), amax < Infinity ? scale : NaN);
      if (!(amax < Infinity) || scale == 0) {
        memory.fill(qh, 0, <usize>dh);
        continue;
      }
      const s64 = <f64>scale;
      for (let e = 0; e < dh; e++) {
        const v = nearest<f64>(<f64>load<f32>(xh + (<usize>e << 2)) / s64);
        store<i8>(qh + <usize>e, <i8>min<f64>(127, max<f64>(-127, v)));
      }
    }
  }
}
