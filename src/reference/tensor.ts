export interface ReferenceTensor {
  data: Float32Array;
  shape: readonly number[];
}

/** [B, H, L, D] of a rank-2, -3 or -4 shape. */
export function bhld(shape: readonly number[]): [number, number, number, number] {
  const s = [1, 1, 1, 1, ...shape].slice(-4);
  return [s[0]!, s[1]!, s[2]!, s[3]!];
}
