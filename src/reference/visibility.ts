/**
 * Which keys a query may see, the plain-JS twin of assembly/attention/visibility.ts: query i of
 * batch b sees keys [lo, hi) with lo = 0 and hi = min(keyLengths[b], i + Lk − Lq + 1 if causal)
 * (causal is bottom-right aligned, as decoding with a cache needs), never below lo.
 */
export interface Visibility {
  lq: number;
  lk: number;
  causal?: boolean;
  keyLengths?: ArrayLike<number>;
}

export function visibleRange(rule: Visibility, b: number, i: number): [number, number] {
  const lo = 0;
  let hi = rule.keyLengths ? rule.keyLengths[b]! : rule.lk;
  if (rule.causal) hi = Math.min(hi, i + rule.lk - rule.lq + 1);
  return [lo, Math.max(hi, lo)];
}
