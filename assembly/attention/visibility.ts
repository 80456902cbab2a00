// Which keys a query may see: the one rule every attention path uses (fused and materialised);
// src/reference/visibility.ts is its plain-JS twin.
//
//   visibleRange(b, i) = [lo, hi):  lo = 0
//                                  hi = min(keyLengths[b], i + Lk − Lq + 1 if causal), at least lo
//
// Both bounds are non-decreasing in i, so the keys a block of query rows [i0, i1] may see are
// [lo(i0), hi(i1)): the kernels skip every key block outside it.
import { CAUSAL, i32At, KEY_LENGTHS, LK, LQ, ptrAt } from './params';

/** First key query i of batch b may see. */
@inline export function visibleLo(params: usize, b: i32, i: i32): i32 {
  return 0;
}

/** One past the last key query i of batch b may see (≥ visibleLo). */
@inline export function visibleHi(params: usize, b: i32, i: i32): i32 {
  const lengths = ptrAt(params, KEY_LENGTHS);
  let hi = lengths != 0 ? load<i32>(lengths + (<usize>b << 2)) : i32At(params, LK);
  if (i32At(params, CAUSAL) != 0) hi = min<i32>(hi, i + i32At(params, LK) - i32At(params, LQ) + 1);
  return max<i32>(hi, visibleLo(params, b, i));
}
