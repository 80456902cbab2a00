// Fused scaled-dot-product attention (flash attention on a CPU).
//
//   out[b,h,i,:] = Σ_j softmax_j(q[b,h,i]·k[b,h,j]·scale + mask) · v[b,h,j,:]
//
// Per (batch, head): K is packed transposed into 16-key panels in scratch. Query rows are taken
// in blocks of QB = 16 (copied to scratch, pre-multiplied by scale·log2(e) so the softmax needs
// only 2^x); keys in blocks of KB = 128. For each key block:
//   1. QK micro-kernel (2 rows × 16 keys in 8 v128 accumulators) writes a QB×KB score tile S;
//   2. one online-softmax pass per row: m' = max(m, rowmax), α = 2^(m−m'), P = 2^(S−m'),
//      l = l·α + ΣP (masked keys get -Infinity, i.e. P = 0);
//   3. PV micro-kernel (2 rows × 16 columns): O = α·O + P·V on a QB×dv accumulator tile.
// At the end out = O / l (zeros where l = 0: the query saw no key).
// Masks are all "visible prefix" masks: query i sees keys j < limit(i) with
//   limit(i) = min(keyLength[b], i + lk − lq + 1 if causal), so key blocks past the last row's
// limit are never computed (causal costs about half; padding keys cost nothing).
// Short queries (lq ≤ 16, e.g. decoder steps over a KV cache) skip the packing: there is one query
// block per head, so each key is used once and the QK kernel reads row-major K in place.
//
// Scratch layout (all offsets 16-byte multiples; the scratch pointer is 16-byte aligned):
//   S  : QB×KB f32 score / probability tile (row stride KB)
//   M,L,A : QB f32 each: running max (log2 domain), running sum, current rescale factor α
//   Qs : QB×d f32 query block × scale·log2e (row stride d)
//   O  : QB×dvP f32 output accumulator, dvP = dv rounded up to 4 (row stride dvP)
//   Kp : ceil(lk/16) panels of 16×d f32: Kp[p][dd·16 + j] = k[16p + j, dd], zero-padded
//        (absent when lq ≤ DIRECT_MAX_LQ)

import { exp2f32, exp2f32x4, madd4 } from "./vmath";

/** Query rows per block. */
// @ts-ignore: decorator
@inline const QB: i32 = 16;
/** Keys per block (score tile width). */
// @ts-ignore: decorator
@inline const KB: i32 = 128;
/** Keys per packed K panel (= 4 v128). */
// @ts-ignore: decorator
@inline const PW: i32 = 16;
/** Heads with at most this many query rows read K in place instead of packing it. */
// @ts-ignore: decorator
@inline const DIRECT_MAX_LQ: i32 = QB;
// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341;

// @ts-ignore: decorator
@inline function roundUp4(x: i32): i32 {
  return (x + 3) & ~3;
}

// @ts-ignore: decorator
@inline function scoreBytes(): i32 { return QB * KB * 4; }
// @ts-ignore: decorator
@inline function stateBytes(): i32 { return 3 * QB * 4; }

/** Scratch bytes `attention` needs for these sizes (16-byte multiple). */
export function attentionScratchBytes(lq: i32, lk: i32, d: i32, dv: i32): i32 {
  const panels = lq <= DIRECT_MAX_LQ ? 0 : (lk + PW - 1) / PW;
  return scoreBytes()            // S
    + stateBytes()               // M, L, A
    + QB * d * 4                 // Qs
    + QB * roundUp4(dv) * 4      // O
    + panels * PW * d * 4;       // Kp
}

// ---------------------------------------------------------------------------------------------
// Packing

/**
 * Pack n keys (rows of length d, row stride kRow bytes) transposed into 16-key panels:
 * Kp[p][dd·16 + j] = k[16p + j][dd]; keys 16p + j ≥ n of the last panel are zero.
 */
function packK(k: usize, kRow: usize, n: i32, d: i32, kp: usize): void {
  const panelBytes = <usize>(PW * d) << 2;
  for (let j0 = 0; j0 < n; j0 += PW) {
    const panel = kp + <usize>(j0 / PW) * panelBytes;
    const nj = min<i32>(PW, n - j0);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      // 4 keys at a time: 4×4 transposes of (key, dim) → (dim, key)
      for (; j + 4 <= nj; j += 4) {
        const r0p = k + <usize>(j0 + j) * kRow;
        const r1p = r0p + kRow, r2p = r1p + kRow, r3p = r2p + kRow;
        const dst = panel + (<usize>j << 2);
        let dd = 0;
        for (; dd + 4 <= d; dd += 4) {
          const off = <usize>dd << 2;
          const r0 = v128.load(r0p + off), r1 = v128.load(r1p + off);
          const r2 = v128.load(r2p + off), r3 = v128.load(r3p + off);
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5); // r0.0 r1.0 r0.1 r1.1
          const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7); // r0.2 r1.2 r0.3 r1.3
          const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          const o = dst + (<usize>(dd * PW) << 2);
          v128.store(o, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));       // dim dd
          v128.store(o, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 64);   // dim dd+1
          v128.store(o, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 128);  // dim dd+2
          v128.store(o, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 192);  // dim dd+3
        }
        // dimension tail (d % 4)
        for (; dd < d; dd++) {
          const o = dst + (<usize>(dd * PW) << 2);
          const off = <usize>dd << 2;
          store<f32>(o, load<f32>(r0p + off));
          store<f32>(o, load<f32>(r1p + off), 4);
          store<f32>(o, load<f32>(r2p + off), 8);
          store<f32>(o, load<f32>(r3p + off), 12);
        }
      }
    }
    // remaining keys one at a time (all keys in the scalar build)
    for (; j < nj; j++) {
      const src = k + <usize>(j0 + j) * kRow;
      const dst = panel + (<usize>j << 2);
      for (let dd = 0; dd < d; dd++) {
        store<f32>(dst + (<usize>(dd * PW) << 2), load<f32>(src + (<usize>dd << 2)));
      }
    }
    // zero the missing keys of a partial last panel
    for (; j < PW; j++) {
      const dst = panel + (<usize>j << 2);
      for (let dd = 0; dd < d; dd++) store<f32>(dst + (<usize>(dd * PW) << 2), 0);
    }
  }
}

/** Qs[r][dd] = q[r][dd]·s for r < nr (query row stride qRow bytes, Qs row stride d). */
function loadQ(q: usize, qRow: usize, nr: i32, d: i32, s: f32, qs: usize): void {
  for (let r = 0; r < nr; r++) {
    const src = q + <usize>r * qRow;
    const dst = qs + (<usize>(r * d) << 2);
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
}

// ---------------------------------------------------------------------------------------------
// QK micro-kernels: scores of query rows against one 16-key panel.
// s[j] = Σ_dd q[dd]·Kp[dd·16 + j], j < 16.

/** 2 query rows × 16 keys, 8 v128 accumulators over the whole d loop. */
// @ts-ignore: decorator
@inline function qk2x16(qa: usize, qb: usize, kp: usize, d: i32, sa: usize, sb: usize): void {
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

/** 1 query row × 16 keys (odd last row; decoder steps). */
// @ts-ignore: decorator
@inline function qk1x16(qa: usize, kp: usize, d: i32, sa: usize): void {
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
// @ts-ignore: decorator
@inline function qk2x4s(qa: usize, qb: usize, k: usize, jStep: usize, dStep: usize, d: i32,
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

/** Scalar build: 1 query row × 4 keys (same addressing as qk2x4s). */
// @ts-ignore: decorator
@inline function qk1x4s(qa: usize, k: usize, jStep: usize, dStep: usize, d: i32, sa: usize): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  for (let dd = 0; dd < d; dd++) {
    const x = load<f32>(qa);
    a0 += x * load<f32>(k); a1 += x * load<f32>(k + jStep);
    a2 += x * load<f32>(k + 2 * jStep); a3 += x * load<f32>(k + 3 * jStep);
    k += dStep; qa += 4;
  }
  store<f32>(sa, a0); store<f32>(sa, a1, 4); store<f32>(sa, a2, 8); store<f32>(sa, a3, 12);
}

/**
 * Score tile: S[r][16p + j] = Qs[r]·k[key 16p + j] (log2 domain) for r < nr, p < np
 * (np panels starting at kp; S row stride KB).
 * Panels outer, row pairs inner: one panel (16·d floats) stays in L1 across the query block.
 */
function scoreBlock(qs: usize, nr: i32, d: i32, kp: usize, np: i32, s: usize): void {
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
        qk2x16(qa, qb, panel, d, sa, sb);
      } else {
        for (let j = 0; j < PW; j += 4) {
          const jo = <usize>j << 2;
          qk2x4s(qa, qb, panel + jo, 4, 64, d, sa + jo, sb + jo);
        }
      }
    }
    // odd last row
    if (r < nr) {
      const qa = qs + <usize>r * qRow;
      const sa = sp + <usize>r * sRow;
      if (ASC_FEATURE_SIMD) {
        qk1x16(qa, panel, d, sa);
      } else {
        for (let j = 0; j < PW; j += 4) {
          const jo = <usize>j << 2;
          qk1x4s(qa, panel + jo, 4, 64, d, sa + jo);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Direct QK (K read in place, row-major): used when a head has a single query block (lq ≤ QB,
// e.g. decoder steps), where packing K would cost a full extra pass over K for one use.

/** [Σ a0, Σ a1, Σ a2, Σ a3]: horizontal sums of four vectors. */
// @ts-ignore: decorator
@inline function hsum4x4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const t1 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
}

/** [k0[dd], k1[dd], k2[dd], k3[dd]] for the 4 key rows at k0, k0 + kRow, ... */
// @ts-ignore: decorator
@inline function gather4(k0: usize, kRow: usize, off: usize): v128 {
  let t = f32x4.splat(load<f32>(k0 + off));
  t = f32x4.replace_lane(t, 1, load<f32>(k0 + kRow + off));
  t = f32x4.replace_lane(t, 2, load<f32>(k0 + 2 * kRow + off));
  return f32x4.replace_lane(t, 3, load<f32>(k0 + 3 * kRow + off));
}

/** 2 query rows × 4 row-major keys: 8 accumulators over d in steps of 4, then horizontal sums. */
// @ts-ignore: decorator
@inline function qk2x4d(qa: usize, qb: usize, k0: usize, kRow: usize, d: i32, sa: usize, sb: usize): void {
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
// @ts-ignore: decorator
@inline function qk1x4d(qa: usize, k0: usize, kRow: usize, d: i32, sa: usize): void {
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

/** a·b over d elements (key tail of the direct path). */
// @ts-ignore: decorator
@inline function dot(a: usize, b: usize, d: i32): f32 {
  let sum: f32 = 0;
  let dd = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (; dd + 4 <= d; dd += 4) {
      const off = <usize>dd << 2;
      acc = madd4(v128.load(a + off), v128.load(b + off), acc);
    }
    sum = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1))
        + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  }
  for (; dd < d; dd++) {
    const off = <usize>dd << 2;
    sum += load<f32>(a + off) * load<f32>(b + off);
  }
  return sum;
}

/**
 * Score tile from row-major K: S[r][j] = Qs[r]·k[j] for r < nr, j < w
 * (k points at the block's first key, row stride kRow bytes; S row stride KB).
 */
function scoreBlockDirect(qs: usize, nr: i32, d: i32, k: usize, kRow: usize, w: i32, s: usize): void {
  const qRow = <usize>d << 2;
  const sRow = <usize>KB << 2;
  let r = 0;
  // row pairs
  for (; r + 2 <= nr; r += 2) {
    const qa = qs + <usize>r * qRow, qb = qa + qRow;
    const sa = s + <usize>r * sRow, sb = sa + sRow;
    let j = 0;
    for (; j + 4 <= w; j += 4) {
      const kj = k + <usize>j * kRow, jo = <usize>j << 2;
      if (ASC_FEATURE_SIMD) qk2x4d(qa, qb, kj, kRow, d, sa + jo, sb + jo);
      else qk2x4s(qa, qb, kj, kRow, 4, d, sa + jo, sb + jo);
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
      if (ASC_FEATURE_SIMD) qk1x4d(qa, kj, kRow, d, sa + jo);
      else qk1x4s(qa, kj, kRow, 4, d, sa + jo);
    }
    for (; j < w; j++) {
      const kj = k + <usize>j * kRow;
      store<f32>(sa + (<usize>j << 2), dot(qa, kj, d));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Online softmax, one row of the tile.

/**
 * Row s[0..w) of log2-domain scores; keys j ≥ c are masked. Updates the running max m and sum l,
 * writes α = 2^(m − m') and overwrites s[0..w) with P = 2^(s − m') (0 for masked keys).
 * A row that has seen no key keeps m = -inf, l = 0 and gets α = 1, P = 0 (O stays 0).
 */
function softmaxRow(s: usize, c: i32, w: i32, mp: usize, lp: usize, ap: usize): void {
  const mOld = load<f32>(mp);
  let rowMax: f32 = -Infinity;
  let c4 = c;
  if (ASC_FEATURE_SIMD) {
    // max over [0, c4), with keys c..c4 (the vector tail) hidden as -inf
    c4 = roundUp4(c);
    for (let j = c; j < c4; j++) store<f32>(s + (<usize>j << 2), -Infinity);
    let mx = f32x4.splat(-Infinity);
    for (let j = 0; j < c4; j += 4) mx = f32x4.pmax(mx, v128.load(s + (<usize>j << 2)));
    const m01 = max<f32>(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1));
    const m23 = max<f32>(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3));
    rowMax = max<f32>(m01, m23);
  } else {
    for (let j = 0; j < c; j++) rowMax = max<f32>(rowMax, load<f32>(s + (<usize>j << 2)));
  }
  const mNew = max<f32>(mOld, rowMax);
  if (mNew == -Infinity) {
    // nothing visible so far: P = 0, α = 1, state unchanged
    memory.fill(s, 0, <usize>w << 2);
    store<f32>(ap, 1);
    return;
  }
  const alpha = exp2f32(mOld - mNew); // mOld = -inf → 0
  let sum: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    // P = 2^(s − m') over [0, c4) (masked tail → 0), zeros over [c4, w)
    const mv = f32x4.splat(mNew);
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j < c4; j += 4) {
      const ptr = s + (<usize>j << 2);
      const p = exp2f32x4(f32x4.sub(v128.load(ptr), mv));
      v128.store(ptr, p);
      acc = f32x4.add(acc, p);
    }
    const zero = f32x4.splat(0);
    for (; j < w; j += 4) v128.store(s + (<usize>j << 2), zero);
    sum = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1))
        + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  } else {
    let j = 0;
    for (; j < c; j++) {
      const ptr = s + (<usize>j << 2);
      const p = exp2f32(load<f32>(ptr) - mNew);
      store<f32>(ptr, p);
      sum += p;
    }
    for (; j < w; j++) store<f32>(s + (<usize>j << 2), 0);
  }
  store<f32>(mp, mNew);
  store<f32>(lp, load<f32>(lp) * alpha + sum);
  store<f32>(ap, alpha);
}

// ---------------------------------------------------------------------------------------------
// PV micro-kernels: o[c] = α·o[c] + Σ_{j<w} p[j]·v[j][c] for a strip of columns.
// p: probability row (f32, contiguous); v points at v[0][c], row stride vRow bytes.

/** 2 rows × 16 columns, 8 v128 accumulators over the whole key loop. */
// @ts-ignore: decorator
@inline function pv2x16(pa: usize, pb: usize, v: usize, vRow: usize, w: i32,
                        oa: usize, ob: usize, alphaA: f32, alphaB: f32): void {
  const xa = f32x4.splat(alphaA), xb = f32x4.splat(alphaB);
  let a0 = f32x4.mul(v128.load(oa), xa), a1 = f32x4.mul(v128.load(oa, 16), xa);
  let a2 = f32x4.mul(v128.load(oa, 32), xa), a3 = f32x4.mul(v128.load(oa, 48), xa);
  let b0 = f32x4.mul(v128.load(ob), xb), b1 = f32x4.mul(v128.load(ob, 16), xb);
  let b2 = f32x4.mul(v128.load(ob, 32), xb), b3 = f32x4.mul(v128.load(ob, 48), xb);
  // do-while (w ≥ 1) over the probability pointer, as in qk2x16
  const paEnd = pa + (<usize>w << 2);
  do {
    const v0 = v128.load(v), v1 = v128.load(v, 16), v2 = v128.load(v, 32), v3 = v128.load(v, 48);
    const x = v128.load32_splat(pa), y = v128.load32_splat(pb);
    a0 = madd4(x, v0, a0); a1 = madd4(x, v1, a1); a2 = madd4(x, v2, a2); a3 = madd4(x, v3, a3);
    b0 = madd4(y, v0, b0); b1 = madd4(y, v1, b1); b2 = madd4(y, v2, b2); b3 = madd4(y, v3, b3);
    v += vRow; pa += 4; pb += 4;
  } while (pa < paEnd);
  v128.store(oa, a0); v128.store(oa, a1, 16); v128.store(oa, a2, 32); v128.store(oa, a3, 48);
  v128.store(ob, b0); v128.store(ob, b1, 16); v128.store(ob, b2, 32); v128.store(ob, b3, 48);
}

/** 1 row × 16 columns. */
// @ts-ignore: decorator
@inline function pv1x16(pa: usize, v: usize, vRow: usize, w: i32, oa: usize, alphaA: f32): void {
  const xa = f32x4.splat(alphaA);
  let a0 = f32x4.mul(v128.load(oa), xa), a1 = f32x4.mul(v128.load(oa, 16), xa);
  let a2 = f32x4.mul(v128.load(oa, 32), xa), a3 = f32x4.mul(v128.load(oa, 48), xa);
  for (let j = 0; j < w; j++) {
    const x = v128.load32_splat(pa);
    a0 = madd4(x, v128.load(v), a0); a1 = madd4(x, v128.load(v, 16), a1);
    a2 = madd4(x, v128.load(v, 32), a2); a3 = madd4(x, v128.load(v, 48), a3);
    v += vRow; pa += 4;
  }
  v128.store(oa, a0); v128.store(oa, a1, 16); v128.store(oa, a2, 32); v128.store(oa, a3, 48);
}

/** 2 rows × 4 columns (column tail of the SIMD build). */
// @ts-ignore: decorator
@inline function pv2x4(pa: usize, pb: usize, v: usize, vRow: usize, w: i32,
                       oa: usize, ob: usize, alphaA: f32, alphaB: f32): void {
  let a = f32x4.mul(v128.load(oa), f32x4.splat(alphaA));
  let b = f32x4.mul(v128.load(ob), f32x4.splat(alphaB));
  for (let j = 0; j < w; j++) {
    const vv = v128.load(v);
    a = madd4(v128.load32_splat(pa), vv, a);
    b = madd4(v128.load32_splat(pb), vv, b);
    v += vRow; pa += 4; pb += 4;
  }
  v128.store(oa, a); v128.store(ob, b);
}

/** 1 row × 4 columns. */
// @ts-ignore: decorator
@inline function pv1x4(pa: usize, v: usize, vRow: usize, w: i32, oa: usize, alphaA: f32): void {
  let a = f32x4.mul(v128.load(oa), f32x4.splat(alphaA));
  for (let j = 0; j < w; j++) {
    a = madd4(v128.load32_splat(pa), v128.load(v), a);
    v += vRow; pa += 4;
  }
  v128.store(oa, a);
}

/** Scalar build: 2 rows × 4 columns, 8 accumulators. */
// @ts-ignore: decorator
@inline function pv2x4s(pa: usize, pb: usize, v: usize, vRow: usize, w: i32,
                        oa: usize, ob: usize, alphaA: f32, alphaB: f32): void {
  let a0 = load<f32>(oa) * alphaA, a1 = load<f32>(oa, 4) * alphaA;
  let a2 = load<f32>(oa, 8) * alphaA, a3 = load<f32>(oa, 12) * alphaA;
  let b0 = load<f32>(ob) * alphaB, b1 = load<f32>(ob, 4) * alphaB;
  let b2 = load<f32>(ob, 8) * alphaB, b3 = load<f32>(ob, 12) * alphaB;
  for (let j = 0; j < w; j++) {
    const v0 = load<f32>(v), v1 = load<f32>(v, 4), v2 = load<f32>(v, 8), v3 = load<f32>(v, 12);
    const x = load<f32>(pa), y = load<f32>(pb);
    a0 += x * v0; a1 += x * v1; a2 += x * v2; a3 += x * v3;
    b0 += y * v0; b1 += y * v1; b2 += y * v2; b3 += y * v3;
    v += vRow; pa += 4; pb += 4;
  }
  store<f32>(oa, a0); store<f32>(oa, a1, 4); store<f32>(oa, a2, 8); store<f32>(oa, a3, 12);
  store<f32>(ob, b0); store<f32>(ob, b1, 4); store<f32>(ob, b2, 8); store<f32>(ob, b3, 12);
}

/** Scalar build: 1 row × 4 columns. */
// @ts-ignore: decorator
@inline function pv1x4s(pa: usize, v: usize, vRow: usize, w: i32, oa: usize, alphaA: f32): void {
  let a0 = load<f32>(oa) * alphaA, a1 = load<f32>(oa, 4) * alphaA;
  let a2 = load<f32>(oa, 8) * alphaA, a3 = load<f32>(oa, 12) * alphaA;
  for (let j = 0; j < w; j++) {
    const x = load<f32>(pa);
    a0 += x * load<f32>(v); a1 += x * load<f32>(v, 4);
    a2 += x * load<f32>(v, 8); a3 += x * load<f32>(v, 12);
    v += vRow; pa += 4;
  }
  store<f32>(oa, a0); store<f32>(oa, a1, 4); store<f32>(oa, a2, 8); store<f32>(oa, a3, 12);
}

/** 1 row × 1 column (dv % 4 tail, both builds). */
// @ts-ignore: decorator
@inline function pv1x1(pa: usize, v: usize, vRow: usize, w: i32, oa: usize, alphaA: f32): void {
  let a = load<f32>(oa) * alphaA;
  for (let j = 0; j < w; j++) {
    a += load<f32>(pa) * load<f32>(v);
    v += vRow; pa += 4;
  }
  store<f32>(oa, a);
}

/**
 * O[r][c] = A[r]·O[r][c] + Σ_{j<w} P[r][j]·v[j][c] for r < nr, c < dv
 * (P = score tile, row stride KB; O row stride dvP; v row stride vRow bytes).
 * Column strips outer, row pairs inner: one strip of V (w × 16 floats) stays in L1 across the
 * query block.
 */
function pvBlock(p: usize, v: usize, vRow: usize, w: i32, nr: i32, dv: i32, dvP: i32,
                 o: usize, alpha: usize): void {
  const pRow = <usize>KB << 2;
  const oRow = <usize>dvP << 2;
  const pairs = nr & ~1;
  const odd = nr & 1;
  const pLast = p + <usize>pairs * pRow, oLast = o + <usize>pairs * oRow;
  const aLast: f32 = odd ? load<f32>(alpha + (<usize>pairs << 2)) : 0;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    // 16-column strips
    for (; c + 16 <= dv; c += 16) {
      const co = <usize>c << 2;
      for (let r = 0; r < pairs; r += 2) {
        const pa = p + <usize>r * pRow, oa = o + <usize>r * oRow + co;
        const ar = alpha + (<usize>r << 2);
        pv2x16(pa, pa + pRow, v + co, vRow, w, oa, oa + oRow, load<f32>(ar), load<f32>(ar, 4));
      }
      if (odd) pv1x16(pLast, v + co, vRow, w, oLast + co, aLast);
    }
    // 4-column strips
    for (; c + 4 <= dv; c += 4) {
      const co = <usize>c << 2;
      for (let r = 0; r < pairs; r += 2) {
        const pa = p + <usize>r * pRow, oa = o + <usize>r * oRow + co;
        const ar = alpha + (<usize>r << 2);
        pv2x4(pa, pa + pRow, v + co, vRow, w, oa, oa + oRow, load<f32>(ar), load<f32>(ar, 4));
      }
      if (odd) pv1x4(pLast, v + co, vRow, w, oLast + co, aLast);
    }
  } else {
    // 4-column strips, scalar
    for (; c + 4 <= dv; c += 4) {
      const co = <usize>c << 2;
      for (let r = 0; r < pairs; r += 2) {
        const pa = p + <usize>r * pRow, oa = o + <usize>r * oRow + co;
        const ar = alpha + (<usize>r << 2);
        pv2x4s(pa, pa + pRow, v + co, vRow, w, oa, oa + oRow, load<f32>(ar), load<f32>(ar, 4));
      }
      if (odd) pv1x4s(pLast, v + co, vRow, w, oLast + co, aLast);
    }
  }
  // single columns (dv % 4)
  for (; c < dv; c++) {
    const co = <usize>c << 2;
    for (let r = 0; r < nr; r++) {
      pv1x1(p + <usize>r * pRow, v + co, vRow, w, o + <usize>r * oRow + co, load<f32>(alpha + (<usize>r << 2)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Output

/** out[r][c] = O[r][c] / L[r], or 0 when L[r] = 0 (the query saw no key), r < nr, c < dv. */
function writeOut(o: usize, dvP: i32, l: usize, nr: i32, dv: i32, out: usize, outRow: usize): void {
  for (let r = 0; r < nr; r++) {
    const sum = load<f32>(l + (<usize>r << 2));
    const inv: f32 = sum > 0 ? <f32>1.0 / sum : 0;
    const src = o + (<usize>(r * dvP) << 2);
    const dst = out + <usize>r * outRow;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const iv = f32x4.splat(inv);
      for (; c + 4 <= dv; c += 4) {
        const co = <usize>c << 2;
        v128.store(dst + co, f32x4.mul(v128.load(src + co), iv));
      }
    }
    for (; c < dv; c++) {
      const co = <usize>c << 2;
      store<f32>(dst + co, load<f32>(src + co) * inv);
    }
  }
}

/** out[r][0..dv) = 0 for r < nr. */
function zeroRows(out: usize, outRow: usize, nr: i32, dv: i32): void {
  for (let r = 0; r < nr; r++) memory.fill(out + <usize>r * outRow, 0, <usize>dv << 2);
}

// ---------------------------------------------------------------------------------------------

/**
 * out = softmax(q·kᵀ·scale + mask)·v for every (batch b, head h).
 * q[b,h,i,:] at q + 4*(b*qSB + h*qSH + i*qSL), length d (innermost contiguous); k likewise with
 * kSB,kSH,kSL (length d); v with vSB,vSH,vSL (length dv); out with oSB,oSH,oSL (length dv).
 * Strides are in f32 elements.
 * Mask: if causal != 0, query i sees key j only when j <= i + lk - lq (bottom-right aligned);
 * if keyLengths != 0, it points to i32[batch] and keys j >= keyLengths[b] are hidden
 * (caller guarantees 0 <= keyLengths[b] <= lk).
 * A query that sees no key writes zeros (never NaN).
 * scratch: attentionScratchBytes(lq, lk, d, dv) bytes, 16-byte aligned.
 */
export function attention(
  q: usize, qSB: i32, qSH: i32, qSL: i32,
  k: usize, kSB: i32, kSH: i32, kSL: i32,
  v: usize, vSB: i32, vSH: i32, vSL: i32,
  out: usize, oSB: i32, oSH: i32, oSL: i32,
  batch: i32, heads: i32, lq: i32, lk: i32, d: i32, dv: i32,
  scale: f32, causal: i32, keyLengths: usize, scratch: usize): void {
  const dvP = roundUp4(dv);
  // scratch layout (see top of file)
  const sTile = scratch;
  const mState = sTile + <usize>scoreBytes();
  const lState = mState + <usize>(QB * 4);
  const aState = lState + <usize>(QB * 4);
  const qBlock = aState + <usize>(QB * 4);
  const oTile = qBlock + (<usize>(QB * d) << 2);
  const kPanels = oTile + (<usize>(QB * dvP) << 2);
  const panelBytes = <usize>(PW * d) << 2;

  const qRow = <usize>qSL << 2, kRow = <usize>kSL << 2;
  const vRow = <usize>vSL << 2, oRow = <usize>oSL << 2;
  const qScale = scale * LOG2E; // scores in the log2 domain: softmax needs only 2^x
  const shift = lk - lq;        // causal: query i sees keys j <= i + shift
  const direct = lq <= DIRECT_MAX_LQ; // one query block per head: K is used once, don't pack it

  for (let b = 0; b < batch; b++) {
    // keys [lkb, lk) are hidden for this batch entry and never touched
    const lkb = keyLengths != 0 ? load<i32>(keyLengths + (<usize>b << 2)) : lk;
    for (let h = 0; h < heads; h++) {
      const qh = q + (<usize>(b * qSB + h * qSH) << 2);
      const kh = k + (<usize>(b * kSB + h * kSH) << 2);
      const vh = v + (<usize>(b * vSB + h * vSH) << 2);
      const oh = out + (<usize>(b * oSB + h * oSH) << 2);
      if (!direct && lkb > 0) packK(kh, kRow, lkb, d, kPanels);

      // query blocks [i0, i0 + nr)
      for (let i0 = 0; i0 < lq; i0 += QB) {
        const nr = min<i32>(QB, lq - i0);
        const outBlock = oh + <usize>i0 * oRow;
        // keys [0, kEnd) are visible to at least one row of the block
        let kEnd = lkb;
        if (causal != 0) kEnd = min<i32>(kEnd, i0 + nr + shift);
        if (kEnd <= 0) {
          zeroRows(outBlock, oRow, nr, dv);
          continue;
        }
        loadQ(qh + <usize>i0 * qRow, qRow, nr, d, qScale, qBlock);
        // online-softmax state: m = -inf, l = 0, O = 0
        for (let r = 0; r < nr; r++) {
          store<f32>(mState + (<usize>r << 2), -Infinity);
          store<f32>(lState + (<usize>r << 2), 0);
        }
        memory.fill(oTile, 0, <usize>(nr * dvP) << 2);

        // key blocks [j0, j0 + w): invariant after each block: for every row r,
        // m = max of its visible scores so far, l = Σ 2^(s − m), O = Σ 2^(s − m)·v
        for (let j0 = 0; j0 < kEnd; j0 += KB) {
          const w = min<i32>(KB, kEnd - j0);
          if (direct) {
            scoreBlockDirect(qBlock, nr, d, kh + <usize>j0 * kRow, kRow, w, sTile);
          } else {
            scoreBlock(qBlock, nr, d, kPanels + <usize>(j0 / PW) * panelBytes, (w + PW - 1) / PW, sTile);
          }
          for (let r = 0; r < nr; r++) {
            // row r sees keys j < limit; c = visible keys of this block
            let limit = lkb;
            if (causal != 0) limit = min<i32>(limit, i0 + r + shift + 1);
            const c = max<i32>(0, min<i32>(limit - j0, w));
            const ro = <usize>r << 2;
            softmaxRow(sTile + (<usize>(r * KB) << 2), c, w, mState + ro, lState + ro, aState + ro);
          }
          pvBlock(sTile, vh + <usize>j0 * vRow, vRow, w, nr, dv, dvP, oTile, aState);
        }
        writeOut(oTile, dvP, lState, nr, dv, outBlock, oRow);
      }
    }
  }
}
