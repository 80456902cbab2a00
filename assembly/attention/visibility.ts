// Which keys a query may see: the one rule every attention path uses (fused and materialised);
// src/reference/visibility.ts is its plain-JS twin.
//
// With pos(i) = i + Lk − Lq (queries aligned to the end of the keys, as decoding with a cache needs):
//   visibleRange(b, i) = [lo, hi):  lo = max(0, pos − left if the window has a left bound)
//                                  hi = min(keyLengths[b], pos + 1 if causal,
//                                           pos + right + 1 if the window has a right bound), ≥ lo
//
// Both bounds are non-decreasing in i, so the keys a block of query rows [i0, i1] of one head
// may see are [lo(i0), hi(i1)): the kernels skip every key block outside it (a sliding window
// costs L·W, not L²). A mask tensor can hide more keys inside the range (bias.ts).
import { CAUSAL, i32At, KEY_LENGTHS, LK, LQ, ptrAt, WINDOW_LEFT, WINDOW_RIGHT } from './params';

/** First key query i of batch b may see. */
@inline export function visibleLo(params: usize, b: i32, i: i32): i32 {
  const left = i32At(params, WINDOW_LEFT);
  return left < 0 ? 0 : max<i32>(0, i + i32At(params, LK) - i32At(params, LQ) - left);
}

/** One past the last key query i of batch b may see (≥ visibleLo). */
@inline export function visibleHi(params: usize, b: i32, i: i32): i32 {
  const lengths = ptrAt(params, KEY_LENGTHS);
  let hi = lengths != 0 ? load<i32>(lengths + (<usize>b << 2)) : i32At(params, LK);
  const pos = i + i32At(params, LK) - i32At(params, LQ);
  if (i32At(params, CAUSAL) != 0) hi = min<i32>(hi, pos + 1);
  const right = i32At(params, WINDOW_RIGHT);
  if (right >= 0) hi = min<i32>(hi, pos + right + 1);
  return max<i32>(hi, visibleLo(params, b, i));
}
