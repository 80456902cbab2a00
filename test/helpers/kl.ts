// KL divergence of next-token distributions, in float64: the drift figure of the dtype tests.

/** log softmax of one logit row. */
export function logSoftmax(x: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]!);
  let z = 0;
  for (let i = 0; i < x.length; i++) z += Math.exp(x[i]! - max);
  const lse = max + Math.log(z);
  return Float64Array.from(x, (v) => v - lse);
}

/** KL(p ‖ q) = Σ_v p(v)·(log p(v) − log q(v)) for the logit rows of p and q. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const lp = logSoftmax(p), lq = logSoftmax(q);
  let s = 0;
  for (let v = 0; v < lp.length; v++) s += Math.exp(lp[v]!) * (lp[v]! - lq[v]!);
  return s;
}
