// Fused scaled-dot-product attention (flash attention on a CPU).
//
//   out[b,h,i,:] = Σ_j softmax_j(step(q[b,h,i]·k[b,h',j]·scale) | j ∈ visibleRange(b, i)) · v[b,h',j,:]
//
// with h' = ⌊h / GROUP⌋ the kv head (grouped-query attention; GROUP = 1 is plain multi-head) and
// `step` the optional soft-capping, position bias and mask of bias.ts. The query rows of the GROUP
// heads that share a kv head are taken together as GROUP·Lq "virtual rows" (v = g·Lq + i for head
// kvh·GROUP + g), so K and V are read once per kv head: a decode step of 32 query heads over 8 kv
// heads reads the cache 8 times, not 32.
//
// A work item is one (batch b, kv head, block of QB = 16 virtual rows); item n is
// ((b·Hk + kvh)·⌈GROUP·Lq/QB⌉ + block). Items are independent: a range of them can run on any
// thread with its own scratch, and every split gives the same bits. For each item:
//   Qs = the block's query rows × scale·log2(e) (so the softmax needs only 2^x);
//   for each KB = 512-key block between the block's first and last visible key:
//     1. QK micro-kernel (2 rows × 16 keys in 8 v128 accumulators) writes a QB×KB score tile S;
//     2. the score step (softcap, bias, mask), when the problem has one;
//     3. online softmax per row: m' = max(m, rowmax), α = 2^(m−m'), P = 2^(S−m'),
//        l = l·α + ΣP (keys outside the row's visible range get P = 0);
//     4. PV micro-kernel (2 rows × 16 columns): O = α·O + P·V on a QB×Dv accumulator tile, each row
//        over its own visible keys;
//   out = O / l: zeros where the query saw no key (or the mask hid all it saw), NaN where l is NaN
//   or the visible scores were all −inf.
// K is packed transposed into 16-key panels once per (b, kv head) that the range touches; when
// the virtual rows fit one block (GROUP·Lq ≤ 16: decode steps) K is read in place instead.
//
// Key split (decode steps over long caches, see merge.ts): when the virtual rows fit one block and
// Lk ≥ 2·SPLIT_KEYS, each item is also one chunk of SPLIT_KEYS keys (item = unit·chunks + chunk),
// and it writes its rows' unnormalised state (m, l, unmasked, O) to PARTIALS instead of out;
// `attentionMerge` then combines the chunks in order. The split depends on the problem only.
//
// Scratch layout (attentionScratchBytes; offsets are 16-byte multiples):
//   T  : 16 bytes: (CALL, the (b, kv head) in Kp) — a thread that runs several ranges of one
//        call packs each head's keys once, not once per range
//   S  : QB×KB f32 score / probability tile (row stride KB)
//   M,L,A : QB f32 each: running max (log2 domain), running sum, current rescale factor α
//   R  : QB (i32, i32): each row's visible keys [a, c) within the current key block
//   U  : QB i32: keys each row saw that no mask hid
//   Qs : QB×D f32 query block (row stride D)
//   O  : QB×DvP f32 output accumulator, DvP = Dv rounded up to 4
//   Kp : ⌈Lk/16⌉ panels of 16×D f32 (absent when GROUP·Lq ≤ 16)
//   Kt : KB×D f32, Vt : KB×Dv f32: one key block of K and of V converted from f16 or q8
//        (kv-rows.ts), present only for those element types; packing converts KB keys at a time
//        through Kt
import { roundUp4 } from '../simd';
import { hasScoreStep, scoreStep } from './bias';
import { loadKVRows } from './kv-rows';
import { loadQRow, packK } from './pack';
import { BATCH, CALL, D, DV, f32At, GROUP, HEADS, headPtr, i32At, K, K_SCALES, KV_DTYPE, KV_F32, kvHeadPtr, kvRowBytes, LK, LQ, OUT, PARTIALS, ptrAt, Q, rowBytes, SCALE, V, V_SCALES } from './params';
import { keyChunks, partialRow } from './merge';
import { onlineSoftmaxRow, writeOutRow } from './online-softmax';
import { pvBlock } from './pv';
import { scoreBlockPacked, scoreBlockRows } from './qk';
import { DIRECT_MAX_LQ, KB, PW, QB, SPLIT_KEYS } from './tiles';
import { visibleHi, visibleLo } from './visibility';

const LOG2E: f32 = 1.44269504088896341;

/** Work items of `attention` for this parameter block: B·Hk·⌈GROUP·Lq/QB⌉ (× key chunks). */
export function attentionWorkItems(params: usize): i32 {
  const group = i32At(params, GROUP);
  return i32At(params, BATCH) * (i32At(params, HEADS) / group) * ((group * i32At(params, LQ) + QB - 1) / QB) * keyChunks(params);
}

/** Scratch bytes one `attention` call (any range) needs for this parameter block (16-byte multiple). */
export function attentionScratchBytes(params: usize): i32 {
  const lq = i32At(params, LQ), lk = i32At(params, LK), d = i32At(params, D), dv = i32At(params, DV);
  const panels = i32At(params, GROUP) * lq <= DIRECT_MAX_LQ ? 0 : (lk + PW - 1) / PW;
  const tiles = i32At(params, KV_DTYPE) == KV_F32 ? 0 : KB * (d + dv) * 4;
  return 16                         // T
    + QB * KB * 4                   // S
    + 3 * QB * 4                    // M, L, A
    + 2 * QB * 4                    // R
    + QB * 4                        // U
    + QB * d * 4                    // Qs
    + QB * roundUp4(dv) * 4         // O
    + panels * PW * d * 4           // Kp
    + tiles;                        // Kt, Vt
}

/** Work items [begin, end) of the problem in the parameter block at `params` (see the top of the file). */
export function attention(params: usize, begin: i32, end: i32, scratch: usize): void {
  const group = i32At(params, GROUP), lq = i32At(params, LQ);
  const kvHeads = i32At(params, HEADS) / group;
  const d = i32At(params, D), dv = i32At(params, DV);
  const dvP = roundUp4(dv);
  const vRows = group * lq;                  // virtual rows per (b, kv head)
  const qBlocks = (vRows + QB - 1) / QB;
  const qRow = rowBytes(params, Q), kRow = kvRowBytes(params, K);
  const vRow = kvRowBytes(params, V), oRow = rowBytes(params, OUT);
  const converted = i32At(params, KV_DTYPE) != KV_F32; // K and V in f16 or q8
  const qScale = f32At(params, SCALE) * LOG2E; // scores in the log2 domain
  const direct = vRows <= DIRECT_MAX_LQ;
  const step = hasScoreStep(params);
  // scratch layout (see top of file)
  const tag = scratch;
  const sTile = tag + 16;
  const mState = sTile + <usize>(QB * KB * 4);
  const lState = mState + <usize>(QB * 4);
  const aState = lState + <usize>(QB * 4);
  const rowRange = aState + <usize>(QB * 4);
  const unmasked = rowRange + <usize>(QB * 8);
  const qBlock = unmasked + <usize>(QB * 4);
  const oTile = qBlock + (<usize>(QB * d) << 2);
  const kPanels = oTile + (<usize>(QB * dvP) << 2);
  const panelBytes = <usize>(PW * d) << 2;
  const kTile = kPanels + (direct ? 0 : <usize>((i32At(params, LK) + PW - 1) / PW) * panelBytes);
  const vTile = kTile + (<usize>(KB * d) << 2);

  const chunks = keyChunks(params);
  const partials = ptrAt(params, PARTIALS);
  // the (b, kv head) whose keys are in kPanels: kept from an earlier range of this call
  const call = i32At(params, CALL);
  let packedHead = load<i32>(tag) == call ? load<i32>(tag, 4) : -1;
  for (let item = begin; item < end; item++) {
    const unit = item / chunks, chunk = item - unit * chunks;
    const bk = unit / qBlocks;
    const v0 = (unit - bk * qBlocks) * QB;
    const b = bk / kvHeads, kvh = bk - b * kvHeads;
    const nr = min<i32>(QB, vRows - v0);
    // virtual row v is query i = v % Lq of head kvh·GROUP + v / Lq; the block sees keys [lo, hi)
    let lo = i32.MAX_VALUE, hi = 0;
    for (let r = 0; r < nr; r++) {
      const i = (v0 + r) % lq;
      lo = min<i32>(lo, visibleLo(params, b, i));
      hi = max<i32>(hi, visibleHi(params, b, i));
    }
    if (chunks > 1) {
      lo = max<i32>(lo, chunk * SPLIT_KEYS);
      hi = min<i32>(hi, chunk * SPLIT_KEYS + SPLIT_KEYS);
    }
    const kh = kvHeadPtr(params, K, b, kvh);
    if (hi > lo) {
      if (!direct && bk != packedHead) {
        // the keys any row of this (b, kv head) may see, from their first key block on
        const headLo = visibleLo(params, b, 0);
        const from = headLo - headLo % KB, to = visibleHi(params, b, lq - 1);
        if (converted) {
          // KB keys at a time through Kt
          for (let c0 = from; c0 < to; c0 += KB) {
            const n = min<i32>(KB, to - c0);
            loadKVRows(params, K, K_SCALES, b, kvh, c0, n, d, kTile);
            packK(kTile, <usize>d << 2, c0, c0 + n, d, kPanels);
          }
        } else packK(kh + <usize>from * kRow, kRow, from, to, d, kPanels);
        packedHead = bk;
        store<i32>(tag, call);
        store<i32>(tag, bk, 4);
      }
      // online-softmax state: m = -inf, l = 0, O = 0; the scaled query rows
      for (let r = 0; r < nr; r++) {
        const v = v0 + r, g = v / lq, i = v - g * lq;
        store<f32>(mState + (<usize>r << 2), -Infinity);
        store<f32>(lState + (<usize>r << 2), 0);
        store<i32>(unmasked + (<usize>r << 2), 0);
        loadQRow(headPtr(params, Q, b, kvh * group + g) + <usize>i * qRow, d, qScale, qBlock + (<usize>(r * d) << 2));
      }
      memory.fill(oTile, 0, <usize>(nr * dvP) << 2);

      const vh = kvHeadPtr(params, V, b, kvh);
      // key blocks [j0, j0 + w): invariant after each block: for every row r,
      // m = max of its visible scores so far, l = Σ 2^(s − m), O = Σ 2^(s − m)·v
      for (let j0 = lo - lo % KB; j0 < hi; j0 += KB) {
        const w = min<i32>(KB, hi - j0);
        if (direct && converted) {
          loadKVRows(params, K, K_SCALES, b, kvh, j0, w, d, kTile);
          scoreBlockRows(qBlock, nr, d, kTile, <usize>d << 2, w, sTile);
        } else if (direct) scoreBlockRows(qBlock, nr, d, kh + <usize>j0 * kRow, kRow, w, sTile);
        else scoreBlockPacked(qBlock, nr, d, kPanels + <usize>(j0 / PW) * panelBytes, (w + PW - 1) / PW, sTile);
        for (let r = 0; r < nr; r++) {
          const v = v0 + r, g = v / lq, i = v - g * lq;
          // row r sees keys [a, c) of this block
          const a = min<i32>(max<i32>(visibleLo(params, b, i) - j0, 0), w);
          const c = max<i32>(min<i32>(visibleHi(params, b, i) - j0, w), a);
          const ro = <usize>r << 2;
          const sRow = sTile + (<usize>(r * KB) << 2);
          const hidden = step ? scoreStep(params, b, kvh * group + g, i, j0, w, sRow, LOG2E, j0 + a, j0 + c) : 0;
          store<i32>(unmasked + ro, load<i32>(unmasked + ro) + (c - a) - hidden);
          store<i32>(rowRange + (<usize>r << 3), a);
          store<i32>(rowRange + (<usize>r << 3), c, 4);
          onlineSoftmaxRow(sRow, a, c, w, mState + ro, lState + ro, aState + ro);
        }
        if (converted) {
          loadKVRows(params, V, V_SCALES, b, kvh, j0, w, dv, vTile);
          pvBlock(sTile, vTile, <usize>dv << 2, nr, dv, dvP, oTile, aState, rowRange);
        } else pvBlock(sTile, vh + <usize>j0 * vRow, vRow, nr, dv, dvP, oTile, aState, rowRange);
      }
    }
    if (chunks > 1) {
      // this chunk's unnormalised state per row (an empty chunk: m = −inf, l = 0, O = 0)
      for (let r = 0; r < nr; r++) {
        const ro = <usize>r << 2;
        const dst = partialRow(partials, item, r, dvP);
        const empty = hi <= lo;
        store<f32>(dst, empty ? -Infinity : load<f32>(mState + ro));
        store<f32>(dst, empty ? 0 : load<f32>(lState + ro), 4);
        store<i32>(dst, empty ? 0 : load<i32>(unmasked + ro), 8);
        if (empty) memory.fill(dst + 16, 0, <usize>dvP << 2);
        else memory.copy(dst + 16, oTile + (<usize>(r * dvP) << 2), <usize>dvP << 2);
      }
      continue;
    }
    for (let r = 0; r < nr; r++) {
      const v = v0 + r, g = v / lq, i = v - g * lq;
      const dst = headPtr(params, OUT, b, kvh * group + g) + <usize>i * oRow;
      const ro = <usize>r << 2;
      if (hi <= lo) {
        memory.fill(dst, 0, <usize>dv << 2); // no row of the block sees a key
        continue;
      }
      // a row that saw unmasked keys but has l = 0 saw only −inf scores (from its inputs): the
      // softmax of all −inf is NaN, as in PyTorch; a row whose keys were all hidden gets zeros
      let sum = load<f32>(lState + ro);
      if (sum == 0 && load<i32>(unmasked + ro) > 0) sum = NaN;
      writeOutRow(oTile + (<usize>(r * dvP) << 2), sum, dv, dst);
    }
  }
}
