// Fused scaled-dot-product attention (flash attention on a CPU).
//
//   out[b,h,i,:] = Σ_j softmax_j(q[b,h,i]·k[b,h,j]·scale | j ∈ visibleRange(b, i)) · v[b,h,j,:]
//
// A work item is one (batch b, head h, block of QB = 16 query rows); item n is
// ((b·H + h)·⌈Lq/QB⌉ + block). Items are independent: a range of them can run on any thread with
// its own scratch, and every split gives the same bits. For each item:
//   Qs = the block's query rows × scale·log2(e) (so the softmax needs only 2^x);
//   for each KB = 128-key block between the block's first and last visible key:
//     1. QK micro-kernel (2 rows × 16 keys in 8 v128 accumulators) writes a QB×KB score tile S;
//     2. online softmax per row: m' = max(m, rowmax), α = 2^(m−m'), P = 2^(S−m'),
//        l = l·α + ΣP (keys outside the row's visible range get P = 0);
//     3. PV micro-kernel (2 rows × 16 columns): O = α·O + P·V on a QB×Dv accumulator tile;
//   out = O / l (zeros where l = 0: the query saw no key).
// K is packed transposed into 16-key panels once per (b, h) that the range touches; heads with
// Lq ≤ 16 (decoder steps over a KV cache: one item per head) read row-major K in place instead.
//
// Scratch layout (attentionScratchBytes; offsets are 16-byte multiples):
//   S  : QB×KB f32 score / probability tile (row stride KB)
//   M,L,A : QB f32 each: running max (log2 domain), running sum, current rescale factor α
//   R  : QB (i32, i32): each row's visible keys [a, c) within the current key block
//   Qs : QB×D f32 query block (row stride D)
//   O  : QB×DvP f32 output accumulator, DvP = Dv rounded up to 4
//   Kp : ⌈Lk/16⌉ panels of 16×D f32 (absent when Lq ≤ 16)
import { roundUp4 } from '../simd';
import { loadQ, packK } from './pack';
import { BATCH, D, DV, f32At, HEADS, headPtr, i32At, K, LK, LQ, OUT, Q, rowBytes, SCALE, V } from './params';
import { onlineSoftmaxRow, writeOut, zeroRows } from './online-softmax';
import { pvBlock } from './pv';
import { scoreBlockPacked, scoreBlockRows } from './qk';
import { DIRECT_MAX_LQ, KB, PW, QB } from './tiles';
import { visibleHi, visibleLo } from './visibility';

const LOG2E: f32 = 1.44269504088896341;

/** Work items of `attention` for this parameter block: B·H·⌈Lq/QB⌉. */
export function attentionWorkItems(params: usize): i32 {
  return i32At(params, BATCH) * i32At(params, HEADS) * ((i32At(params, LQ) + QB - 1) / QB);
}

/** Scratch bytes one `attention` call (any range) needs for this parameter block (16-byte multiple). */
export function attentionScratchBytes(params: usize): i32 {
  const lq = i32At(params, LQ), lk = i32At(params, LK), d = i32At(params, D), dv = i32At(params, DV);
  const panels = lq <= DIRECT_MAX_LQ ? 0 : (lk + PW - 1) / PW;
  return QB * KB * 4                // S
    + 3 * QB * 4                    // M, L, A
    + 2 * QB * 4                    // R
    + QB * d * 4                    // Qs
    + QB * roundUp4(dv) * 4         // O
    + panels * PW * d * 4;          // Kp
}

/** Work items [begin, end) of the problem in the parameter block at `params` (see the top of the file). */
export function attention(params: usize, begin: i32, end: i32, scratch: usize): void {
  const heads = i32At(params, HEADS), lq = i32At(params, LQ);
  const d = i32At(params, D), dv = i32At(params, DV);
  const dvP = roundUp4(dv);
  const qBlocks = (lq + QB - 1) / QB;
  const qRow = rowBytes(params, Q), kRow = rowBytes(params, K);
  const vRow = rowBytes(params, V), oRow = rowBytes(params, OUT);
  const qScale = f32At(params, SCALE) * LOG2E; // scores in the log2 domain
  const direct = lq <= DIRECT_MAX_LQ;
  // scratch layout (see top of file)
  const sTile = scratch;
  const mState = sTile + <usize>(QB * KB * 4);
  const lState = mState + <usize>(QB * 4);
  const aState = lState + <usize>(QB * 4);
  const rowRange = aState + <usize>(QB * 4);
  const qBlock = rowRange + <usize>(QB * 8);
  const oTile = qBlock + (<usize>(QB * d) << 2);
  const kPanels = oTile + (<usize>(QB * dvP) << 2);
  const panelBytes = <usize>(PW * d) << 2;

  let packedHead = -1; // the (b, h) whose keys are in kPanels
  for (let item = begin; item < end; item++) {
    const bh = item / qBlocks;
    const i0 = (item - bh * qBlocks) * QB;
    const b = bh / heads, h = bh - b * heads;
    const nr = min<i32>(QB, lq - i0);
    const outBlock = headPtr(params, OUT, b, h) + <usize>i0 * oRow;
    // keys visible to some row of the block: [lo, hi) (the bounds are non-decreasing in i)
    const lo = visibleLo(params, b, i0), hi = visibleHi(params, b, i0 + nr - 1);
    if (hi <= lo) {
      zeroRows(outBlock, oRow, nr, dv);
      continue;
    }
    const jStart = lo - lo % KB; // key blocks are KB-aligned
    const kh = headPtr(params, K, b, h);
    if (!direct && bh != packedHead) {
      // the keys any row of this head may see, from their first key block on
      const headLo = visibleLo(params, b, 0);
      packK(kh, kRow, headLo - headLo % KB, visibleHi(params, b, lq - 1), d, kPanels);
      packedHead = bh;
    }
    loadQ(headPtr(params, Q, b, h) + <usize>i0 * qRow, qRow, nr, d, qScale, qBlock);
    // online-softmax state: m = -inf, l = 0, O = 0
    for (let r = 0; r < nr; r++) {
      store<f32>(mState + (<usize>r << 2), -Infinity);
      store<f32>(lState + (<usize>r << 2), 0);
    }
    memory.fill(oTile, 0, <usize>(nr * dvP) << 2);

    const vh = headPtr(params, V, b, h);
    // key blocks [j0, j0 + w): invariant after each block: for every row r,
    // m = max of its visible scores so far, l = Σ 2^(s − m), O = Σ 2^(s − m)·v
    for (let j0 = jStart; j0 < hi; j0 += KB) {
      const w = min<i32>(KB, hi - j0);
      if (direct) scoreBlockRows(qBlock, nr, d, kh + <usize>j0 * kRow, kRow, w, sTile);
      else scoreBlockPacked(qBlock, nr, d, kPanels + <usize>(j0 / PW) * panelBytes, (w + PW - 1) / PW, sTile);
      for (let r = 0; r < nr; r++) {
        // row r sees keys [a, c) of this block
        const a = min<i32>(max<i32>(visibleLo(params, b, i0 + r) - j0, 0), w);
        const c = max<i32>(min<i32>(visibleHi(params, b, i0 + r) - j0, w), a);
        const ro = <usize>r << 2;
        store<i32>(rowRange + (<usize>r << 3), a);
        store<i32>(rowRange + (<usize>r << 3), c, 4);
        onlineSoftmaxRow(sTile + (<usize>(r * KB) << 2), a, c, w, mState + ro, lState + ro, aState + ro);
      }
      pvBlock(sTile, vh + <usize>j0 * vRow, vRow, nr, dv, dvP, oTile, aState, rowRange);
    }
    // a row that saw keys but has l = 0 saw only -inf scores (from its inputs, not a mask): the
    // softmax of all -inf is NaN, as in PyTorch
    for (let r = 0; r < nr; r++) {
      const lr = lState + (<usize>r << 2);
      if (load<f32>(lr) == 0 && visibleHi(params, b, i0 + r) > visibleLo(params, b, i0 + r)) store<f32>(lr, NaN);
    }
    writeOut(oTile, dvP, lState, nr, dv, outBlock, oRow);
  }
}
