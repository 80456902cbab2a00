// Rotary position embedding (RoPE) applied with a precomputed cos/sin table.

/**
 * Rotates each pair of x [rows, length, d] (row-major) at position p = row index within `length`:
 *   (a, b) → (a·cos θ − b·sin θ, b·cos θ + a·sin θ),  θ = angle of (p, pair i) from the table
 * table [length, d/2, 2] holds (cos, sin) per position and pair, computed by the caller in float64.
 * style 0 ('half', GPT-NeoX / LLaMA rotate_half): pair i is (i, i + d/2);
 * style 1 ('interleaved', RoFormer): pair i is (2i, 2i + 1).
 * out may equal x (in place).
 */
export function rope(x: usize, out: usize, rows: i32, length: i32, d: i32, table: usize, style: i32): void {
  const half = d >> 1;
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < length; p++) {
      const base = (<usize>r * <usize>length + <usize>p) * <usize>d << 2;
      const src = x + base;
      const dst = out + base;
      const t = table + ((<usize>p * <usize>half) << 3);
      if (style == 0) ropeHalf(src, dst, t, half);
      else ropeInterleaved(src, dst, t, half);
    }
  }
}

/**
 * In place, the same rotation for heads read inside wider rows: head h of position p in batch b is
 * the d floats at x + 4·(b·sB + p·sL + h·sH) (strides in floats), for b < batch, p < length, h < heads
 * (the q or k columns of a [B, L, H·D] projection, without copying them out).
 */
export function ropeHeads(x: usize, batch: i32, length: i32, heads: i32, d: i32, sB: i32, sL: i32, sH: i32,
                          table: usize, style: i32): void {
  const half = d >> 1;
  for (let b = 0; b < batch; b++) {
    for (let p = 0; p < length; p++) {
      const t = table + ((<usize>p * <usize>half) << 3);
      for (let h = 0; h < heads; h++) {
        const src = x + (<usize>(b * sB + p * sL + h * sH) << 2);
        if (style == 0) ropeHalf(src, src, t, half);
        else ropeInterleaved(src, src, t, half);
      }
    }
  }
}

@inline function ropeHalf(src: usize, dst: usize, t: usize, half: i32): void {
  const hb = <usize>half << 2;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= half; i += 4) {
      const o = <usize>i << 2;
      const cs0 = v128.load(t + (o << 1));      // c0 s0 c1 s1
      const cs1 = v128.load(t + (o << 1), 16);  // c2 s2 c3 s3
      const c = v128.shuffle<f32>(cs0, cs1, 0, 2, 4, 6);
      const s = v128.shuffle<f32>(cs0, cs1, 1, 3, 5, 7);
      const a = v128.load(src + o);
      const b = v128.load(src + hb + o);
      v128.store(dst + o, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
      v128.store(dst + hb + o, f32x4.add(f32x4.mul(b, c), f32x4.mul(a, s)));
    }
  }
  for (; i < half; i++) {
    const o = <usize>i << 2;
    const c = load<f32>(t + (o << 1));
    const s = load<f32>(t + (o << 1), 4);
    const a = load<f32>(src + o);
    const b = load<f32>(src + hb + o);
    store<f32>(dst + o, a * c - b * s);
    store<f32>(dst + hb + o, b * c + a * s);
  }
}

@inline function ropeInterleaved(src: usize, dst: usize, t: usize, half: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 2 <= half; i += 2) {
      const o = <usize>i << 3;                  // pairs i, i+1 → 4 floats at 2i
      const x = v128.load(src + o);             // a0 b0 a1 b1
      const cs = v128.load(t + o);              // c0 s0 c1 s1
      const c = v128.shuffle<f32>(cs, cs, 0, 0, 2, 2);
      const s = v128.shuffle<f32>(cs, cs, 1, 1, 3, 3);
      const swapped = v128.shuffle<f32>(x, f32x4.neg(x), 5, 0, 7, 2); // -b0 a0 -b1 a1
      v128.store(dst + o, f32x4.add(f32x4.mul(x, c), f32x4.mul(swapped, s)));
    }
  }
  for (; i < half; i++) {
    const o = <usize>i << 3;
    const c = load<f32>(t + o);
    const s = load<f32>(t + o, 4);
    const a = load<f32>(src + o);
    const b = load<f32>(src + o, 4);
    store<f32>(dst + o, a * c - b * s);
    store<f32>(dst + o, b * c + a * s, 4);
  }
}
