// Where a gemm tile meets C: x → C (+ C if addC) (+ bias if bias != 0), for one float, one vector,
// the first lanes of a vector, or one 8-wide tile row cut at the n tail.

@inline export function store1(c: usize, x: f32, bias: usize, addC: bool): void {
  if (addC) x += load<f32>(c);
  if (bias) x += load<f32>(bias);
  store<f32>(c, x);
}

/** An empty product (k = 0): C[i, j] = (C[i, j] if accumulating) + (bias[j] if given), rows ldc4 bytes apart. */
export function storeEmptyProduct(c: usize, ldc4: usize, m: i32, n: i32, bias: usize, addC: bool): void {
  for (let i = 0; i < m; i++) {
    const ci = c + <usize>i * ldc4;
    for (let j = 0; j < n; j++) store1(ci + (<usize>j << 2), 0, bias ? bias + (<usize>j << 2) : 0, addC);
  }
}

@inline export function store4(c: usize, v: v128, bias: usize, addC: bool): void {
  if (addC) v = f32x4.add(v, v128.load(c));
  if (bias) v = f32x4.add(v, v128.load(bias));
  v128.store(c, v);
}

/** The first cnt (< 4) lanes of v, one at a time. */
@inline export function storePart(c: usize, v: v128, cnt: i32, bias: usize, addC: bool): void {
  if (cnt > 0) store1(c, f32x4.extract_lane(v, 0), bias, addC);
  if (cnt > 1) store1(c + 4, f32x4.extract_lane(v, 1), bias ? bias + 4 : 0, addC);
  if (cnt > 2) store1(c + 8, f32x4.extract_lane(v, 2), bias ? bias + 8 : 0, addC);
}

/** One 8-wide tile row [v0 v1] into C[0 : nv]. */
@inline export function storeRow8(c: usize, v0: v128, v1: v128, nv: i32, bias: usize, addC: bool): void {
  storeRow8Call(c, v0, v1, nv, bias, addC);
}

// A real call, not inlined: inlined into each row of the 4×8 tile it made the simd build's packed
// gemm 10% slower (V8 allocates the micro-kernel's registers worse). Not exported itself, so no
// v128 crosses a module export.
function storeRow8Call(c: usize, v0: v128, v1: v128, nv: i32, bias: usize, addC: bool): void {
  if (nv >= 8) {
    store4(c, v0, bias, addC);
    store4(c + 16, v1, bias ? bias + 16 : 0, addC);
  } else if (nv >= 4) {
    store4(c, v0, bias, addC);
    storePart(c + 16, v1, nv - 4, bias ? bias + 16 : 0, addC);
  } else {
    storePart(c, v0, nv, bias, addC);
  }
}

/** Scalar build: four sums into C[0 : nv], nv ≤ 4. */
@inline export function store4Scalar(c: usize, s0: f32, s1: f32, s2: f32, s3: f32, nv: i32, bias: usize, addC: bool): void {
  if (nv > 0) store1(c, s0, bias, addC);
  if (nv > 1) store1(c + 4, s1, bias ? bias + 4 : 0, addC);
  if (nv > 2) store1(c + 8, s2, bias ? bias + 8 : 0, addC);
  if (nv > 3) store1(c + 12, s3, bias ? bias + 12 : 0, addC);
}
