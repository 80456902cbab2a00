// K and V caches held as f16 or q8, read by the fused kernel one key block at a time: the block's
// rows are converted to f32 into a tile of the scratch (KB rows at most), which the QK and PV
// micro-kernels then read as they read f32 rows. The cache itself is never widened: a thread holds
// one block of keys or values in f32 at a time.
//   f16: the value, exactly (half.ts).
//   q8 : int8 · scale, one f32 scale per (b, kv head, position): f32(q)·scale, rounded once.
// Every build computes the same f32 values (the SIMD lanes do the scalar arithmetic).
import { f16ToF32, f16x4ToF32x4 } from '../half';
import { i32At, KV_DTYPE, KV_F16, kvHeadPtr, kvRowBytes, ptrAt } from './params';

/**
 * Rows [j0, j0 + n) of head (b, h) of the k or v view (base = K or V; scales = K_SCALES or
 * V_SCALES, read for KV_Q8) → n rows of `dim` f32 at dst, `dim` floats apart.
 */
export function loadKVRows(params: usize, base: i32, scales: i32, b: i32, h: i32, j0: i32, n: i32, dim: i32, dst: usize): void {
  const row = kvRowBytes(params, base);
  let src = kvHeadPtr(params, base, b, h) + <usize>j0 * row;
  const dstRow = <usize>dim << 2;
  if (i32At(params, KV_DTYPE) == KV_F16) {
    for (let j = 0; j < n; j++) {
      halfRow(src, dim, dst);
      src += row; dst += dstRow;
    }
    return;
  }
  // q8: scale of (b, h, j) at scales + 4·(b·sB + h·sH + j·sL)
  const sL = <usize>i32At(params, scales + 12) << 2;
  let s = ptrAt(params, scales) + (<usize>(b * i32At(params, scales + 4) + h * i32At(params, scales + 8) + j0 * i32At(params, scales + 12)) << 2);
  for (let j = 0; j < n; j++) {
    int8Row(src, load<f32>(s), dim, dst);
    src += row; dst += dstRow; s += sL;
  }
}

/** dst[e] = f32(half src[e]) for e < dim. */
@inline function halfRow(src: usize, dim: i32, dst: usize): void {
  let e = 0;
  if (ASC_FEATURE_SIMD) {
    for (; e + 8 <= dim; e += 8) {
      v128.store(dst + (<usize>e << 2), f16x4ToF32x4(src + (<usize>e << 1)));
      v128.store(dst + (<usize>e << 2), f16x4ToF32x4(src + (<usize>e << 1) + 8), 16);
    }
    for (; e + 4 <= dim; e += 4) v128.store(dst + (<usize>e << 2), f16x4ToF32x4(src + (<usize>e << 1)));
  }
  for (; e < dim; e++) store<f32>(dst + (<usize>e << 2), f16ToF32(load<u16>(src + (<usize>e << 1))));
}

/** dst[e] = f32(src[e])·scale for e < dim (src int8). */
@inline function int8Row(src: usize, scale: f32, dim: i32, dst: usize): void {
  let e = 0;
  if (ASC_FEATURE_SIMD) {
    const s = f32x4.splat(scale);
    for (; e + 16 <= dim; e += 16) {
      const x = v128.load(src + <usize>e);
      const lo = i16x8.extend_low_i8x16_s(x), hi = i16x8.extend_high_i8x16_s(x);
      const o = dst + (<usize>e << 2);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), s));
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), s), 16);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), s), 32);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), s), 48);
    }
    for (; e + 4 <= dim; e += 4) {
      const x = i16x8.extend_low_i8x16_s(v128.load32_zero(src + <usize>e));
      v128.store(dst + (<usize>e << 2), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(x)), s));
    }
  }
  for (; e < dim; e++) store<f32>(dst + (<usize>e << 2), <f32>load<i8>(src + <usize>e) * scale);
}
