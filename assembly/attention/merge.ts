// Key-split attention (decode steps over long key ranges): each key chunk c of a row leaves its
// online-softmax state — m_c (running max, log2 domain), l_c = Σ 2^(s − m_c), O_c = Σ 2^(s − m_c)·v,
// and the count of unmasked keys — and the merge combines the chunks in index order:
//   M = max_c m_c,  l = Σ_c l_c·2^(m_c − M),  O = Σ_c O_c·2^(m_c − M),  out = O / l
// with the fused kernel's conventions (l = 0: zeros if no key was unmasked, else NaN; NaN in l
// stays NaN). The chunking and the order depend on the problem only, so any thread count gives
// the same bits.
import { roundUp4 } from '../simd';
import { exp2f32 } from '../vmath';
import { BATCH, DV, GROUP, HEADS, headPtr, i32At, LK, LQ, OUT, PARTIALS, ptrAt, rowBytes } from './params';
import { DIRECT_MAX_LQ, QB, SPLIT_KEYS } from './tiles';
import { writeOutRow } from './online-softmax';

/** Key chunks per (b, kv head, row block): > 1 only for ≤ DIRECT_MAX_LQ virtual rows and Lk ≥ 2·SPLIT_KEYS. */
export function keyChunks(params: usize): i32 {
  const lk = i32At(params, LK);
  return i32At(params, GROUP) * i32At(params, LQ) <= DIRECT_MAX_LQ && lk >= 2 * SPLIT_KEYS ? (lk + SPLIT_KEYS - 1) / SPLIT_KEYS : 1;
}

/** Row r of item `item` in the partials: [m, l, unmasked (i32), unused, O[dvP]] f32. */
@inline export function partialRow(partials: usize, item: i32, r: i32, dvP: i32): usize {
  return partials + (<usize>((item * QB + r) * (4 + dvP)) << 2);
}

/** Bytes of the partial states `attention` writes for this parameter block (0: no key split). */
export function attentionPartialBytes(params: usize): i32 {
  const chunks = keyChunks(params);
  if (chunks == 1) return 0;
  const units = i32At(params, BATCH) * (i32At(params, HEADS) / i32At(params, GROUP));
  return units * chunks * QB * (4 + roundUp4(i32At(params, DV))) * 4;
}

/** Work items of `attentionMerge`: one per (b, kv head) (the virtual rows fit one block); 0 when not split. */
export function attentionMergeItems(params: usize): i32 {
  return keyChunks(params) == 1 ? 0 : i32At(params, BATCH) * (i32At(params, HEADS) / i32At(params, GROUP));
}

/** Merges the key chunks of units [begin, end) into out (see the top of the file). */
export function attentionMerge(params: usize, begin: i32, end: i32): void {
  const chunks = keyChunks(params);
  const partials = ptrAt(params, PARTIALS);
  const group = i32At(params, GROUP), lq = i32At(params, LQ);
  const kvHeads = i32At(params, HEADS) / group;
  const dv = i32At(params, DV), dvP = roundUp4(dv);
  const oRow = rowBytes(params, OUT);
  const vRows = group * lq;
  for (let unit = begin; unit < end; unit++) {
    const b = unit / kvHeads, kvh = unit - b * kvHeads;
    for (let r = 0; r < vRows; r++) {
      const g = r / lq, i = r - g * lq;
      const dst = headPtr(params, OUT, b, kvh * group + g) + <usize>i * oRow;
      let m: f32 = -Infinity;
      for (let c = 0; c < chunks; c++) m = max<f32>(m, load<f32>(partialRow(partials, unit * chunks + c, r, dvP)));
      let sum: f32 = 0;
      let unmasked = 0;
      memory.fill(dst, 0, <usize>dv << 2);
      for (let c = 0; c < chunks; c++) {
        const src = partialRow(partials, unit * chunks + c, r, dvP);
        const f: f32 = m == -Infinity ? 0 : exp2f32(load<f32>(src) - m); // an empty chunk: 2^(−inf) = 0
        sum += load<f32>(src, 4) * f;
        unmasked += load<i32>(src, 8);
        for (let e = 0; e < dv; e++) {
          const o = dst + (<usize>e << 2);
          store<f32>(o, load<f32>(o) + f * load<f32>(src + 16 + (<usize>e << 2)));
        }
      }
      if (sum == 0 && unmasked > 0) sum = NaN;
      writeOutRow(dst, sum, dv, dst);
    }
  }
}
