// The SIMD helpers every kernel family shares: one copy each. All are @inline, so a constant
// argument (a stride, an offset) folds into the caller's code as if written there.
//
// Horizontal reductions pair lanes as (0 + 1) + (2 + 3) everywhere, so a kernel that reduces a
// vector gives the same bits whichever family computed it.

/** a·b + c on f32x4: fused (relaxed_madd) in the relaxed-SIMD build, mul + add otherwise. */
@inline export function madd4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/** (a[0] + a[1]) + (a[2] + a[3]). */
@inline export function hsum(a: v128): f32 {
  return (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
}

/** max over the four lanes (f32.max: a NaN lane gives NaN). */
@inline export function hmax(a: v128): f32 {
  return max<f32>(max<f32>(f32x4.extract_lane(a, 0), f32x4.extract_lane(a, 1)),
                  max<f32>(f32x4.extract_lane(a, 2), f32x4.extract_lane(a, 3)));
}

/** [Σ a0, Σ a1, Σ a2, Σ a3]: the lanes of four accumulators summed (a 4×4 transpose-and-add). */
@inline export function hsum4x4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const t1 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
}

/**
 * 4×4 transpose: dst + c·dstStride ← [src[0][c], src[1][c], src[2][c], src[3][c]] for c < 4, where
 * row r of the source block is the 4 floats at src + r·srcStride (both strides in bytes). The block
 * is read whole before it is written, so dst may be src.
 */
@inline export function transpose4x4(src: usize, srcStride: usize, dst: usize, dstStride: usize): void {
  const r0 = v128.load(src), r1 = v128.load(src + srcStride);
  const r2 = v128.load(src + (srcStride << 1)), r3 = v128.load(src + srcStride * 3);
  storeTranspose4x4(r0, r1, r2, r3, dst, dstStride);
}

/** The 4×4 transpose of the 32-bit lanes of rows r0 … r3: dst + c·dstStride ← [r0[c], r1[c], r2[c], r3[c]]. */
@inline export function storeTranspose4x4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, dstStride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);   // a0 b0 a1 b1
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);   // a2 b2 a3 b3
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);   // c0 d0 c1 d1
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);   // c2 d2 c3 d3
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));                    // a0 b0 c0 d0
  v128.store(dst + dstStride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));        // a1 b1 c1 d1
  v128.store(dst + (dstStride << 1), v128.shuffle<f32>(t1, t3, 0, 1, 4, 5)); // a2 b2 c2 d2
  v128.store(dst + dstStride * 3, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));    // a3 b3 c3 d3
}

/** [r0[off], r1[off], r2[off], r3[off]] for the four rows at r0, r0 + rowStride, … (bytes). */
@inline export function gather4(r0: usize, rowStride: usize, off: usize): v128 {
  let t = f32x4.splat(load<f32>(r0 + off));
  t = f32x4.replace_lane(t, 1, load<f32>(r0 + rowStride + off));
  t = f32x4.replace_lane(t, 2, load<f32>(r0 + (rowStride << 1) + off));
  return f32x4.replace_lane(t, 3, load<f32>(r0 + rowStride * 3 + off));
}

/** a·b over n floats: four lanes of partial sums (lane l holds the terms i ≡ l mod 4), hsum, then the tail. */
@inline export function dot(a: usize, b: usize, n: i32): f32 {
  let sum: f32 = 0;
  let t: usize = 0;
  const end = <usize>n << 2;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (const end4 = end & ~15; t < end4; t += 16) acc = madd4(v128.load(a + t), v128.load(b + t), acc);
    sum = hsum(acc);
  }
  for (; t < end; t += 4) sum += load<f32>(a + t) * load<f32>(b + t);
  return sum;
}

/** (x + 3) & ~3: a count of floats rounded up to whole vectors. */
@inline export function roundUp4(x: i32): i32 {
  return (x + 3) & ~3;
}
