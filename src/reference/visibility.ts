/**
 * Which keys a query may see, the plain-JS twin of assembly/attention/visibility.ts. With
 * pos(i) = i + Lk − Lq (queries aligned to the end of the keys, as decoding with a cache needs),
 * query i of batch b sees keys [lo, hi):
 *   lo = max(0, pos − left)                                when the window has a left bound
 *   hi = min(keyLengths[b], pos + 1 if causal, pos + right + 1 if the window has a right bound)
 * never below lo. A window bound of −1 (or no window) is unbounded on that side.
 */
export interface Visibility {
  lq: number;
  lk: number;
  causal?: boolean;
  keyLengths?: ArrayLike<number>;
  window?: readonly [number, number];
}

export function visibleRange(rule: Visibility, b: number, i: number): [number, number] {
  const pos = i + rule.lk - rule.lq;
  const [left, right] = rule.window ?? [-1, -1];
  const lo = left < 0 ? 0 : Math.max(0, pos - left);
  let hi = rule.keyLengths ? rule.keyLengths[b]! : rule.lk;
  if (rule.causal) hi = Math.min(hi, pos + 1);
  if (right >= 0) hi = Math.min(hi, pos + right + 1);
  return [lo, Math.max(hi, lo)];
}
