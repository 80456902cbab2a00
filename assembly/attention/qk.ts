// QK micro-kernels and the score tile they fill: S[r][j] = Qs[r]·k[j] (log2 domain, Qs scaled).
// Names: qk<rows>x<keys><K layout>: Packed reads 16-key panels (pack.ts), Rows reads row-major K
// in place; Scalar is the scalar build's kernel, which takes either layout through its strides.
import { dot, gather4, hsum4x4, madd4 } from '../simd';
import { KB, PW } from './tiles';

/** 2 query rows × 16 keys of a panel, 8 v128 accumulators over the whole d loop. */
@inline function qk2x16Packed(qa: usize, qb: usize, kp: usize, d: i32, sa: usize, sb: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  // do-while (d ≥ 1) with the panel pointer as the induction variable: V8 emits one compare-and-
  // branch per iteration and no extra jump (the loop is dispatch-bound without FMA)
  const kEnd = kp + (<usize>d << 6);
  do {
    const k0 = v128.load(kp), k1 = v128.load(kp, 16);
    const k2 = v128.load(kp, 32), k3 = v128.load(kp, 48);
    const x = v128.load32_splat(qa), y = v128.load32_splat(qb);
    a0 = madd4(x, k0, a0); a1 = madd4(x, k1, a1); a2 = madd4(x, k2, a2); a3 = madd4(x, k3, a3);
    b0 = madd4(y, k0, b0); b1 = madd4(y, k1, b1); b2 = madd4(y, k2, b2); b3 = madd4(y, k3, b3);
    kp += 64; qa += 4; qb += 4;
  } while (kp < kEnd);
  v128.store(sa, a0); v128.store(sa, a1, 16); v128.store(sa, a2, 32); v128.store(sa, a3, 48);
  v128.store(sb, b0); v128.store(sb, b1, 16); v128.store(sb, b2, 32); v128.store(sb, b3, 48);
}

/** 1 query row × 16 keys of a panel (odd last row). */
@inline function qk1x16Packed(qa: usize, kp: usize, d: i32, sa: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let dd = 0; dd < d; dd++) {
    const x = v128.load32_splat(qa);
    a0 = madd4(x, v128.load(kp), a0);
    a1 = madd4(x, v128.load(kp, 16), a1);
    a2 = madd4(x, v128.load(kp, 32), a2);
    a3 = madd4(x, v128.load(kp, 48), a3);
    kp += 64; qa += 4;
  }
  v128.store(sa, a0); v128.store(sa, a1, 16); v128.store(sa, a2, 32); v128.store(sa, a3, 48);
}

/**
 * Scalar build: 2 query rows × 4 keys, 8 accumulators. Key i, dimension dd is at
 * k + i·jStep + dd·dStep: packed panel (jStep = 4, dStep = 64) or row-major K (jStep = kRow, dStep = 4).
 */
@inline function qk2x4Scalar(qa: usize, qb: usize, k: usize, jStep: usize, dStep: usize, d: i32,
                             sa: usize, sb: usize): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  let b0: f32 = 0, b1: f32 = 0, b2: f32 = 0, b3: f32 = 0;
  for (let dd = 0; dd < d; dd++) {
    const k0 = load<f32>(k), k1 = load<f32>(k + jStep);
    const k2 = load<f32>(k + 2 * jStep), k3 = load<f32>(k + 3 * jStep);
    const x = load<f32>(qa), y = load<f32>(qb);
    a0 += x * k0; a1 += x * k1; a2 += x * k2; a3 += x * k3;
    b0 += y * k0; b1 += y * k1; b2 += y * k2; b3 += y * k3;
    k += dStep; qa += 4; qb += 4;
  }
  store<f32>(sa, a0); store<f32>(sa, a1, 4); store<f32>(sa, a2, 8); store<f32>(sa, a3, 12);
  store<f32>(sb, b0); store<f32>(sb, b1, 4); store<f32>(sb, b2, 8); store<f32>(sb, b3, 12);
}

/** Scalar build: 1 query row × 4 keys (same addressing as qk2x4Scalar). */
@inline function qk1x4Scalar(qa: usize, k: usize, jStep: usize, dStep: usize, d: i32, sa: usize): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  for (let dd = 0; dd < d; dd++) {
    const x = load<f32>(qa);
    a0 += x * load<f32>(k); a1 += x * load<f32>(k + jStep);
    a2 += x * load<f32>(k + 2 * jStep); a3 += x * load<f32>(k + 3 * jStep);
    k += dStep; qa += 4;
  }
  store<f32>(sa, a0); store<f32>(sa, a1, 4); store<f32>(sa, a2, 8); store<f32>(sa, a3, 12);
}

/** 2 query rows × 4 row-major keys: 8 accumulators over d in steps of 4, then horizontal sums. */
@inline function qk2x4Rows(qa: usize, qb: usize, k0: usize, kRow: usize, d: i32, sa: usize, sb: usize): void {
  const k1 = k0 + kRow, k2 = k1 + kRow, k3 = k2 + kRow;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  let dd = 0;
  for (; dd + 4 <= d; dd += 4) {
    const off = <usize>dd << 2;
    const x = v128.load(qa + off), y = v128.load(qb + off);
    const v0 = v128.load(k0 + off), v1 = v128.load(k1 + off);
    const v2 = v128.load(k2 + off), v3 = v128.load(k3 + off);
    a0 = madd4(x, v0, a0); a1 = madd4(x, v1, a1); a2 = madd4(x, v2, a2); a3 = madd4(x, v3, a3);
    b0 = madd4(y, v0, b0); b1 = madd4(y, v1, b1); b2 = madd4(y, v2, b2); b3 = madd4(y, v3, b3);
  }
  let ra = hsum4x4(a0, a1, a2, a3), rb = hsum4x4(b0, b1, b2, b3);
  // dimension tail (d % 4)
  for (; dd < d; dd++) {
    const off = <usize>dd << 2;
    const kt = gather4(k0, kRow, off);
    ra = madd4(v128.load32_splat(qa + off), kt, ra);
    rb = madd4(v128.load32_splat(qb + off), kt, rb);
  }
  v128.store(sa, ra); v128.store(sb, rb);
}

/** 1 query row × 4 row-major keys. */
@inline function qk1x4Rows(qa: usize, k0: usize, kRow: usize, d: i32, sa: usize): void {
  const k1 = k0 + kRow, k2 = k1 + kRow, k3 = k2 + kRow;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let dd = 0;
  for (; dd + 4 <= d; dd += 4) {
    const off = <usize>dd << 2;
    const x = v128.load(qa + off);
    a0 = madd4(x, v128.load(k0 + off), a0); a1 = madd4(x, v128.load(k1 + off), a1);
    a2 = madd4(x, v128.load(k2 + off), a2); a3 = madd4(x, v128.load(k3 + off), a3);
  }
  let ra = hsum4x4(a0, a1, a2, a3);
  for (; dd < d; dd++) {
    const off = <usize>dd << 2;
    ra = madd4(v128.load32_splat(qa + off), gather4(k0, kRow, off), ra);
  }
  v128.store(sa, ra);
}

/**
 * 3 query rows × 3 row-major keys: 9 accumulators, enough independent multiply-adds to keep both FMA
 * pipes busy (a lone row has 4, one per key, and waits on their latency); each key's lanes are
 * reduced as hsum4x4 does, so every score has the bits the 2- and 1-row kernels give it. For the
 * odd GROUP of grouped-query decoding (3 query heads per kv head, as SmolLM2's 9 over 3).
 */
@inline function qk3x3Rows(qa: usize, qb: usize, qc: usize, k0: usize, kRow: usize, d: i32, sa: usize, sb: usize, sc: usize): void {
  const k1 = k0 + kRow, k2 = k1 + kRow;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, b0 = a0, b1 = a0, b2 = a0, c0 = a0, c1 = a0, c2 = a0;
  let dd = 0;
  for (; dd + 4 <= d; dd += 4) {
    const off = <usize>dd << 2;
    const x = v128.load(qa + off), y = v128.load(qb + off), z = v128.load(qc + off);
    let v = v128.load(k0 + off);
    a0 = madd4(x, v, a0); b0 = madd4(y, v, b0); c0 = madd4(z, v, c0);
    v = v128.load(k1 + off);
    a1 = madd4(x, v, a1); b1 = madd4(y, v, b1); c1 = madd4(z, v, c1);
    v = v128.load(k2 + off);
    a2 = madd4(x, v, a2); b2 = madd4(y, v, b2); c2 = madd4(z, v, c2);
  }
  let ra = hsum4x4(a0, a1, a2, a2), rb = hsum4x4(b0, b1, b2, b2), rc = hsum4x4(c0, c1, c2, c2);
  // dimension tail (d % 4): lane 3 (a copy of key 2) is never stored
  for (; dd < d; dd++) {
    const off = <usize>dd << 2;
    let kt = f32x4.splat(load<f32>(k0 + off));
    kt = f32x4.replace_lane(kt, 1, load<f32>(k1 + off));
    kt = f32x4.replace_lane(kt, 2, load<f32>(k2 + off));
    ra = madd4(v128.load32_splat(qa + off), kt, ra);
    rb = madd4(v128.load32_splat(qb + off), kt, rb);
    rc = madd4(v128.load32_splat(qc + off), kt, rc);
  }
  store3(sa, ra); store3(sb, rb); store3(sc, rc);
}

/** Lanes 0–2 of v → 3 floats at p (the word after them is not written). */
@inline function store3(p: usize, v: v128): void {
  v128.store64_lane(p, v, 0);
  store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/**
 * Score tile from packed K: S[r][16p + j] = Qs[r]·k[key 16p + j] for r < nr, p < np (np panels
 * starting at kp; S row stride KB). Panels outer, row pairs inner: one panel (16·d floats) stays
 * in L1 across the query block.
 */
export function scoreBlockPacked(qs: usize, nr: i32, d: i32, kp: usize, np: i32, s: usize): void {
  const qRow = <usize>d << 2;
  const panelBytes = <usize>(PW * d) << 2;
  const sRow = <usize>KB << 2;
  for (let p = 0; p < np; p++) {
    const panel = kp + <usize>p * panelBytes;
    const sp = s + (<usize>(p * PW) << 2);
    let r = 0;
    // row pairs
    for (; r + 2 <= nr; r += 2) {
      const qa = qs + <usize>r * qRow, qb = qa + qRow;
      const sa = sp + <usize>r * sRow, sb = sa + sRow;
      if (ASC_FEATURE_SIMD) {
        qk2x16Packed(qa, qb, panel, d, sa, sb);
      } else {
        for (let j = 0; j < PW; j += 4) {
          const jo = <usize>j << 2;
          qk2x4Scalar(qa, qb, panel + jo, 4, 64, d, sa + jo, sb + jo);
        }
      }
    }
    // odd last row
    if (r < nr) {
      const qa = qs + <usize>r * qRow;
      const sa = sp + <usize>r * sRow;
      if (ASC_FEATURE_SIMD) {
        qk1x16Packed(qa, panel, d, sa);
      } else {
        for (let j = 0; j < PW; j += 4) {
          const jo = <usize>j << 2;
          qk1x4Scalar(qa, panel + jo, 4, 64, d, sa + jo);
        }
      }
    }
  }
}

/**
 * Score tile from row-major K read in place: S[r][j] = Qs[r]·k[j] for r < nr, j < w (k points at
 * the block's first key, row stride kRow bytes; S row stride KB).
 */
export function scoreBlockRows(qs: usize, nr: i32, d: i32, k: usize, kRow: usize, w: i32, s: usize): void {
  const qRow = <usize>d << 2;
  const sRow = <usize>KB << 2;
  let r = 0;
  // an odd row count from 3 on: the first three rows together, three keys at a time over the keys
  // the 4-key kernels cover (j < w4); keys left before w4 by the 1-row kernel on the last four (the
  // same bits again), keys from w4 on by dot, as for the other rows
  if (ASC_FEATURE_SIMD && nr >= 3 && (nr & 1)) {
    const w4 = w & ~3;
    let j = 0;
    for (; j + 3 <= w4; j += 3) {
      const jo = <usize>j << 2;
      qk3x3Rows(qs, qs + qRow, qs + 2 * qRow, k + <usize>j * kRow, kRow, d, s + jo, s + sRow + jo, s + 2 * sRow + jo);
    }
    if (j < w4) {
      const kj = k + <usize>(w4 - 4) * kRow, jo = <usize>(w4 - 4) << 2;
      for (let t = 0; t < 3; t++) qk1x4Rows(qs + <usize>t * qRow, kj, kRow, d, s + <usize>t * sRow + jo);
    }
    for (j = w4; j < w; j++) {
      const kj = k + <usize>j * kRow, jo = <usize>j << 2;
      for (let t = 0; t < 3; t++) store<f32>(s + <usize>t * sRow + jo, dot(qs + <usize>t * qRow, kj, d));
    }
    r = 3;
  }
  // row pairs
  for (; r + 2 <= nr; r += 2) {
    const qa = qs + <usize>r * qRow, qb = qa + qRow;
    const sa = s + <usize>r * sRow, sb = sa + sRow;
    let j = 0;
    for (; j + 4 <= w; j += 4) {
      const kj = k + <usize>j * kRow, jo = <usize>j << 2;
      if (ASC_FEATURE_SIMD) qk2x4Rows(qa, qb, kj, kRow, d, sa + jo, sb + jo);
      else qk2x4Scalar(qa, qb, kj, kRow, 4, d, sa + jo, sb + jo);
    }
    for (; j < w; j++) {
      const kj = k + <usize>j * kRow, jo = <usize>j << 2;
      store<f32>(sa + jo, dot(qa, kj, d));
      store<f32>(sb + jo, dot(qb, kj, d));
    }
  }
  // odd last row
  if (r < nr) {
    const qa = qs + <usize>r * qRow;
    const sa = s + <usize>r * sRow;
    let j = 0;
    for (; j + 4 <= w; j += 4) {
      const kj = k + <usize>j * kRow, jo = <usize>j << 2;
      if (ASC_FEATURE_SIMD) qk1x4Rows(qa, kj, kRow, d, sa + jo);
      else qk1x4Scalar(qa, kj, kRow, 4, d, sa + jo);
    }
    for (; j < w; j++) store<f32>(sa + (<usize>j << 2), dot(qa, k + <usize>j * kRow, d));
  }
}
