// The kernel cases: one table that drives both the kernel test harness (test/kernels.test.ts: every
// edge case on every build against a float64 reference) and the per-kernel benchmark
// (bench/kernels.mjs, `npm run bench -- --kernels`: the perf cases, checked against the same
// reference, then timed), as ggml's test-backend-ops is one harness with a perf mode.
//
// Edge sizes come from the tile constants the compiled kernels export (runtime.tiles, or
// kernelTiles(rawKernels)): for a tile or block T the sizes 1, T−1, T, T+1 and 2T+1 (XNNPACK's
// sweep), so the cases follow any change of the tiles. The one other size unit is LANES, the f32x4
// width, which Wasm SIMD fixes.
//
// A case is { kernel, name, dims, flops, edge, perf }:
//   gemm              dims { m, n, k, transB, bias, accumulate, lda, ldb, ldc }          flops 2mnk
//   attention,        dims { batch, heads, lq, lk, d, dv, scale, causal, keyLengths,     flops 2·H·(live pairs)·(D + Dv)
//   attentionWeights         layout: 'bhld' | 'blhd' | 'padded' }                               (= 4·B·H·pairs·D when Dv = D)
//   softmax           dims { rows, cols, ldx, scale, mask: 'none' | 'row' | 'full', visible }  flops 5·rows·cols
//   layerNorm         dims { rows, n, ldx, ldo, ldr, weight, bias, residual, eps, inPlace,  flops (6 + 2 affine + 1 residual)·rows·n
//                            data: 'unit' | 'offset' | 'small' | 'special' }
//   rmsNorm           dims { rows, n, ldx, ldo, weight, eps, inPlace, data }                   flops (3 + 1 weight)·rows·n
//   activation        dims { count, kind: 'relu' | 'gelu' | 'geluTanh' | 'silu' | 'erf',       flops per element: relu 1, gelu 5,
//                            inPlace, data: 'uniform' | 'mixed' }                                    geluTanh 9, silu 4, erf 1
//   swiglu            dims { count, out: 'new' | 'gate' | 'up', data }                          flops 5·count
//   addInPlace        dims { count }                                                            flops count
//   mulInPlace        dims { count }                                                            flops count
//   quantizeRows8,    dims { rows, k, ldx, data: 'uniform' | 'special' }                         flops 3·rows·k
//   quantizeRows16
//   gemmQ8            dims { m, n, k, bias, accumulate, ldc, data: 'uniform' | 'special' }       flops 2mnk (integer)
//   quantizeRows4     dims { rows, k, ldx, search, data: 'uniform' | 'special' }                 flops 3·rows·k
//   gemmQ4            dims { m, n, k, bias, accumulate, ldc, data: 'uniform' | 'special' }       flops 2mnk (integer)
//   gemmHalf          dims { m, n, k, bf16, bias, accumulate, lda, ldc, data: 'uniform' | 'special' }  flops 2mnk
//   dequantizeRows8,  dims { rows, k, ldo, data: 'uniform' | 'special' }                         flops rows·k
//   dequantizeRows4
//   storeRowsF16      dims { rows, heads, dh, ldx, data: 'uniform' | 'special' }                  flops rows·heads·dh
//   storeRowsQ8       dims { rows, heads, dh, ldx, data: 'uniform' | 'special' }                  flops 3·rows·heads·dh
// Attention dims may carry kvDtype 'f16' or 'q8': k and v are then held as IEEE halves or as int8
// with one f32 scale per (b, kv head, position) (what a language model's KV cache holds).
// Live pairs: key j is visible to query i of batch b when j ≤ i + Lk − Lq (if causal) and
// j < keyLengths[b] (if given); a query with no visible key outputs zeros and zero weights.
// Elementwise flops count a transcendental as one (as softmax counts its exp). Norm data: 'unit'
// rows uniform in [−1, 1]; 'offset' 1000 + u (the mean/variance cancellation test); 'small' ±1e-3
// (variance near eps); 'special' rows i ≡ 1 (mod 4) hold a NaN, i ≡ 2 an ±Infinity, i ≡ 3 are
// constant. Activation data: 'uniform' [−6, 6]; 'mixed' the same with SPECIAL_VALUES (±30, ±1e3,
// tiny, subnormal, ±0, NaN, ±Infinity, the kernels' cut-offs) at hashed positions.
//
// prepareCase(env, case) puts a case's inputs into Wasm memory (seeded from its dims, so every build
// and the bench see the same values), runs the raw kernel and checks it: ONE tolerance for every
// kernel, the normalised error ‖got − ref‖₂ / ‖ref‖₂ ≤ 1e-5 (ggml's NMSE; ‖ref‖₂ = 0: ‖got‖₂ ≤ 1e-6;
// NaN fails; where the reference is NaN or ±Infinity, got must be the same, and those elements stay
// out of the norms), no write outside the outputs (gaps and fresh outputs hold a NaN sentinel), no
// input modified. Gaps of strided inputs and the scratch hold the sentinel too, so a kernel that reads
// what it should not gets NaN.
//
// The Q8 kernels have their own rules. quantizeRows8 must equal, exactly (bits of every scale and
// every int8), its literal float32 replica (quantizeRows8Reference): d = fround(max|x|/127),
// q = round-half-even(fround(x/d)) clamped to [−127, 127]; quantizeRows16 (the activations of Q8
// products) the same with 4095 for 127 and int16 values. gemmQ8 (int16 activations in [−4095, 4095]
// × int8 weights) is checked against the float64
// product of the dequantized operands, Σ_b xs·ws·Σ_i xq·wq, with Q8_TOLERANCE (1e-6) relative to the
// magnitude of its terms, ‖got − ref‖₂ / ‖|bias| + |y₀| + Σ_b |xs·ws·Σ_i xq·wq|‖₂ (an element whose
// terms cancel, e.g. a 128-block sum of 0.9 from terms summing to 25 in magnitude, is as
// well-conditioned as its terms allow, no better): its block sums are exact integers, so only the
// per-block float scaling and the f32 sum over blocks round. Its
// 'special' data puts a NaN scale (what quantizeRows16 makes of a NaN or ±Infinity) in one row.
// The Q4 kernels follow the same rules: quantizeRows4 must equal its float32 replica
// (quantizeRows4Reference, ggml's quantize_row_q4_0_ref: d = fround(mx/−8) with mx the first element
// of largest magnitude, id = fround(1/d), q = min(15, trunc(fround(fround(x·id) + 8.5))); with search,
// the d = fround(mx/c) of least f32 squared error for c in Q4_SEARCH_DIVISORS, the error summed in the
// kernel's lane order), every byte and every scale; gemmQ4 is checked against the float64 product of the dequantized operands,
// Σ_b xs·ws·Σ_i xq·(q − 8), with the same Q8_TOLERANCE.
// gemmHalf (W [n, k] as f16 or bf16 patterns) follows the one TOLERANCE against the float64 product
// with W's values decoded from the definition (halfValue: ±(1 + m/2^M)·2^(e − bias), subnormals, ±∞,
// NaN); its 'special' data puts ±∞, NaN and subnormal patterns in W (NaN in, NaN out); f16 weights
// without ±∞ / NaN run with the finite format code (2), the others with 0.
// The KV cache element types (halfBits and quantizeHeadQ8 here are literal copies of the float64 twins
// in src/reference/kv-dtype.ts). storeRowsF16 must equal, every half bit for bit, the nearest half of
// each value, ties to even (halfBits); storeRowsQ8 must equal its float64 twin (quantizeHeadQ8:
// scale = fround(max|x|/127), q = round-half-even(x/scale) in float64, clamped to [−127, 127]),
// every int8 and every scale. Attention over f16 or q8 k and v is checked with the one TOLERANCE
// against the float64 reference over the values the cache holds: the halves exactly, q8 as q·scale
// in float64 (the kernel's f32(q)·scale rounds once, 6e-8 relative).

/** Normalised error bound ‖got − ref‖₂ / ‖ref‖₂ of every kernel. */
export const TOLERANCE = 1e-5;
/** Absolute bound ‖got‖₂ when the reference is all zeros. */
export const ZERO_TOLERANCE = 1e-6;
/** Normalised error bound of gemmQ8 and gemmQ4 against the float64 product of the dequantized operands (relative to the magnitude of its terms). */
export const Q8_TOLERANCE = 1e-6;
/** Bound of the dequantization kernels against float64: each element is one f32 product, rounded once (relative ≤ 2⁻²⁴). */
export const DEQUANTIZE_TOLERANCE = 2 ** -24;
/** The f32x4 width (Wasm SIMD fixes it; not a tile constant). */
export const LANES = 4;
/** Extra floats per row of the strided layouts. */
export const PAD = 3;
/** A quiet NaN with a payload: fills gaps, fresh outputs and scratch; a write leaves another value. */
export const SENTINEL = 0x7fc0beef;

export const KERNELS = ['gemm', 'attention', 'attentionWeights', 'softmax', 'layerNorm', 'rmsNorm', 'activation', 'swiglu', 'addInPlace', 'mulInPlace', 'quantizeRows8', 'quantizeRows16', 'gemmQ8', 'quantizeRows4', 'gemmQ4', 'dequantizeRows8', 'dequantizeRows4', 'storeRowsF16', 'storeRowsQ8', 'gemmHalf'];

/** The `kind` argument of the activation kernel (src/engine/kernels.ts ACTIVATION; test/kernels.test.ts checks they agree). */
export const ACTIVATION_KINDS = { relu: 0, gelu: 1, geluTanh: 2, silu: 3, erf: 4 };

/** Special inputs of the 'mixed' activation data: large, tiny, subnormal, signed zeros, NaN, ±Infinity, the kernels' cut-offs. */
export const SPECIAL_VALUES = [30, -30, 1e3, -1e3, 1e-30, -1e-30, 1e-42, 0, -0, NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1, -1, 4, -4, -10.5, 88.5, -88.5, -87.5, 6e-8];

// ---- the table -----------------------------------------------------------------------------------

/** Sorted distinct positive sizes. */
const sizes = (xs) => [...new Set(xs)].filter((x) => Number.isInteger(x) && x >= 1).sort((a, b) => a - b);

/** FNV-1a of a string: seeds and flag patterns that do not depend on the order of the table. */
export function hash32(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The dims of a case as one line, every field (for names and failure messages). */
export function describeDims(c) {
  const d = c.dims;
  switch (c.kernel) {
    case 'gemm':
      return `m=${d.m} n=${d.n} k=${d.k} transB=${d.transB} bias=${+d.bias} accumulate=${+d.accumulate} lda=${d.lda} ldb=${d.ldb} ldc=${d.ldc}`;
    case 'attention':
    case 'attentionWeights':
      return (
        `B=${d.batch} H=${d.heads} Lq=${d.lq} Lk=${d.lk} D=${d.d} Dv=${d.dv} causal=${+d.causal} ` +
        `keyLengths=${d.keyLengths ? `[${d.keyLengths.join(',')}]` : 'none'} layout=${d.layout} scale=${d.scale.toPrecision(6)}` +
        `${d.kvDtype ? ` kv=${d.kvDtype}` : ''}`
      );
    case 'softmax':
      return `rows=${d.rows} cols=${d.cols} ldx=${d.ldx} scale=${d.scale} mask=${d.mask} visible=${d.visible}`;
    case 'layerNorm':
      return (
        `rows=${d.rows} n=${d.n} ldx=${d.ldx} ldo=${d.ldo} weight=${+d.weight} bias=${+d.bias} residual=${+d.residual}` +
        `${d.residual ? ` ldr=${d.ldr}` : ''} eps=${d.eps.toPrecision(3)} inPlace=${+d.inPlace} data=${d.data}`
      );
    case 'rmsNorm':
      return `rows=${d.rows} n=${d.n} ldx=${d.ldx} ldo=${d.ldo} weight=${+d.weight} eps=${d.eps.toPrecision(3)} inPlace=${+d.inPlace} data=${d.data}`;
    case 'activation':
      return `kind=${d.kind} count=${d.count} inPlace=${+d.inPlace} data=${d.data}`;
    case 'swiglu':
      return `count=${d.count} out=${d.out} data=${d.data}`;
    case 'addInPlace':
    case 'mulInPlace':
      return `count=${d.count}`;
    case 'quantizeRows8':
    case 'quantizeRows16':
      return `rows=${d.rows} k=${d.k} ldx=${d.ldx} data=${d.data}`;
    case 'quantizeRows4':
      return `rows=${d.rows} k=${d.k} ldx=${d.ldx} search=${+d.search} data=${d.data}`;
    case 'gemmQ8':
    case 'gemmQ4':
      return `m=${d.m} n=${d.n} k=${d.k} bias=${+d.bias} accumulate=${+d.accumulate} ldc=${d.ldc} data=${d.data}`;
    case 'gemmHalf':
      return `m=${d.m} n=${d.n} k=${d.k} ${d.bf16 ? 'bf16' : 'f16'} bias=${+d.bias} accumulate=${+d.accumulate} lda=${d.lda} ldc=${d.ldc} data=${d.data}`;
    case 'dequantizeRows8':
    case 'dequantizeRows4':
      return `rows=${d.rows} k=${d.k} ldo=${d.ldo} data=${d.data}`;
    case 'storeRowsF16':
    case 'storeRowsQ8':
      return `rows=${d.rows} heads=${d.heads} dh=${d.dh} ldx=${d.ldx} data=${d.data}`;
  }
  throw new Error(`unknown kernel ${c.kernel}`);
}

/** The dims that matter for timing, short, for every kernel (bench/kernels.mjs's table). */
export function shortDims(c) {
  const d = c.dims;
  switch (c.kernel) {
    case 'gemm':
      return `m=${d.m} n=${d.n} k=${d.k} ${d.transB ? 'NT' : 'NN'}${d.bias ? ' bias' : ''}${d.accumulate ? ' accumulate' : ''}`;
    case 'attention':
    case 'attentionWeights':
      return `B=${d.batch} H=${d.heads} Lq=${d.lq} Lk=${d.lk} D=${d.d}${d.dv !== d.d ? ` Dv=${d.dv}` : ''}${d.causal ? ' causal' : ''}${d.keyLengths ? ' keyLengths' : ''}${d.kvDtype ? ` kv ${d.kvDtype}` : ''}`;
    case 'softmax':
      return `rows=${d.rows} cols=${d.cols}${d.mask !== 'none' ? ` mask=${d.mask}` : ''}${d.visible < d.cols ? ` visible=${d.visible}` : ''}`;
    case 'layerNorm':
      return `rows=${d.rows} n=${d.n}${d.weight || d.bias ? ' affine' : ''}${d.residual ? ' residual' : ''}${d.inPlace ? ' in place' : ''}`;
    case 'rmsNorm':
      return `rows=${d.rows} n=${d.n}${d.weight ? ' weight' : ''}${d.inPlace ? ' in place' : ''}`;
    case 'activation':
      return `${d.kind} count=${d.count}${d.inPlace ? ' in place' : ''}`;
    case 'swiglu':
      return `count=${d.count}${d.out !== 'new' ? ` out=${d.out}` : ''}`;
    case 'addInPlace':
    case 'mulInPlace':
      return `count=${d.count}`;
    case 'quantizeRows8':
    case 'quantizeRows16':
    case 'quantizeRows4':
      return `rows=${d.rows} k=${d.k}`;
    case 'gemmQ8':
    case 'gemmQ4':
      return `m=${d.m} n=${d.n} k=${d.k}${d.bias ? ' bias' : ''}${d.accumulate ? ' accumulate' : ''}`;
    case 'gemmHalf':
      return `m=${d.m} n=${d.n} k=${d.k} ${d.bf16 ? 'bf16' : 'f16'}${d.bias ? ' bias' : ''}${d.accumulate ? ' accumulate' : ''}`;
    case 'dequantizeRows8':
    case 'dequantizeRows4':
      return `rows=${d.rows} k=${d.k}`;
    case 'storeRowsF16':
    case 'storeRowsQ8':
      return `rows=${d.rows} ${d.heads}×${d.dh}`;
  }
  throw new Error(`unknown kernel ${c.kernel}`);
}

/** The tile constants a kernel's edges depend on, e.g. "MR=4 NR=8 KC=512 MC=128 DIRECT_M=16 NB=16". */
export function tileSummary(kernel, tiles) {
  const g = tiles.gemm, a = tiles.attention;
  const gemm = `MR=${g.MR} NR=${g.NR} KC=${g.KC} MC=${g.MC} DIRECT_M=${g.DIRECT_M} NB=${g.NB}`;
  const attention = `QB=${a.QB} KB=${a.KB} PW=${a.PW} DIRECT_MAX_LQ=${a.DIRECT_MAX_LQ} SPLIT_KEYS=${a.SPLIT_KEYS}`;
  switch (kernel) {
    case 'gemm':
    case 'gemmHalf':
      return gemm;
    case 'attention':
      return attention;
    case 'attentionWeights': // per head: gemm (QKᵀ, W·V) and the row softmax
      return `${attention} ${gemm}`;
    case 'quantizeRows8':
    case 'quantizeRows16':
    case 'quantizeRows4':
    case 'dequantizeRows8':
    case 'dequantizeRows4':
      return `Q8_BLOCK=${tiles.q8.BLOCK}`;
    case 'gemmQ8':
    case 'gemmQ4':
      return `Q8_BLOCK=${tiles.q8.BLOCK} PACKED_M=${tiles.q8.PACKED_M} MC=${tiles.q8.MC}`;
    default:
      return '';
  }
}

/** Keys query i of batch b sees (the visibility rule, in closed form: for flops only). */
function visibleCount(dims, b, i) {
  let hi = dims.keyLengths ? dims.keyLengths[b] : dims.lk;
  if (dims.causal) hi = Math.min(hi, i + dims.lk - dims.lq + 1);
  return Math.max(0, Math.min(hi, dims.lk));
}

function flopsOf(kernel, d) {
  switch (kernel) {
    case 'gemm':
      return 2 * d.m * d.n * d.k;
    case 'attention':
    case 'attentionWeights': {
      let pairs = 0;
      for (let b = 0; b < d.batch; b++) for (let i = 0; i < d.lq; i++) pairs += visibleCount(d, b, i);
      return 2 * d.heads * pairs * (d.d + d.dv);
    }
    case 'softmax':
      return 5 * d.rows * d.cols;
    case 'layerNorm':
      return (6 + (d.weight ? 1 : 0) + (d.bias ? 1 : 0) + (d.residual ? 1 : 0)) * d.rows * d.n;
    case 'rmsNorm':
      return (3 + (d.weight ? 1 : 0)) * d.rows * d.n;
    case 'activation':
      return { relu: 1, gelu: 5, geluTanh: 9, silu: 4, erf: 1 }[d.kind] * d.count;
    case 'swiglu':
      return 5 * d.count;
    case 'addInPlace':
    case 'mulInPlace':
      return d.count;
    case 'quantizeRows8':
    case 'quantizeRows16':
    case 'quantizeRows4':
      return 3 * d.rows * d.k;
    case 'gemmQ8':
    case 'gemmQ4':
    case 'gemmHalf':
      return 2 * d.m * d.n * d.k;
    case 'dequantizeRows8':
    case 'dequantizeRows4':
      return d.rows * d.k;
    case 'storeRowsF16':
      return d.rows * d.heads * d.dh;
    case 'storeRowsQ8':
      return 3 * d.rows * d.heads * d.dh;
  }
  throw new Error(`unknown kernel ${kernel}`);
}

/** A case from its kernel and dims; `name` defaults to the kernel and its dims. */
export function makeCase(kernel, dims, { name, edge = true, perf = false } = {}) {
  const c = { kernel, name: '', dims, flops: flopsOf(kernel, dims), edge, perf };
  c.name = name ?? `${kernel} ${describeDims(c)}`;
  return c;
}

/** gemm dims with the leading dims filled in (strided: PAD more than the row needs). */
export function gemmDims(m, n, k, transB, { bias = false, accumulate = false, strided = false } = {}) {
  const pad = strided ? PAD : 0;
  return { m, n, k, transB, bias, accumulate, lda: k + pad, ldb: (transB ? k : n) + pad, ldc: n + pad };
}

/**
 * layerNorm dims with defaults: affine (weight and bias), no residual, eps = fround(1e-5), contiguous,
 * unit data; strided: every leading dim PAD longer than the row; inPlace: out = x (ldo = ldx).
 */
export function layerNormDims({ rows, n, weight = true, bias = true, residual = false, eps = 1e-5, strided = false, inPlace = false, data = 'unit' }) {
  const ld = n + (strided ? PAD : 0);
  return { rows, n, ldx: ld, ldo: inPlace ? ld : n + (strided ? 2 * PAD : 0), ldr: residual ? ld + (strided ? 1 : 0) : 0, weight, bias, residual, eps: Math.fround(eps), inPlace, data };
}

/** rmsNorm dims with defaults: weight, eps = fround(1e-6), contiguous, unit data. */
export function rmsNormDims({ rows, n, weight = true, eps = 1e-6, strided = false, inPlace = false, data = 'unit' }) {
  const ld = n + (strided ? PAD : 0);
  return { rows, n, ldx: ld, ldo: inPlace ? ld : n + (strided ? 2 * PAD : 0), weight, eps: Math.fround(eps), inPlace, data };
}

/** gemmQ8 dims: contiguous x and W (k bytes per row), ldc = n (+ PAD when strided). */
export function gemmQ8Dims(m, n, k, { bias = false, accumulate = false, strided = false, data = 'uniform' } = {}) {
  return { m, n, k, bias, accumulate, ldc: n + (strided ? PAD : 0), data };
}

/** gemmHalf dims: W [n, k] 16-bit rows k values apart; strided: lda and ldc PAD longer than the row. */
export function gemmHalfDims(m, n, k, bf16, { bias = false, accumulate = false, strided = false, data = 'uniform' } = {}) {
  const pad = strided ? PAD : 0;
  return { m, n, k, bf16, bias, accumulate, lda: k + pad, ldc: n + pad, data };
}

/** attention dims with defaults: dv = d, scale = fround(1/√d), contiguous [B, H, L, D], f32 k and v (kvDtype only when not f32). */
export function attentionDims({ batch = 1, heads = 1, lq, lk, d, dv = d, causal = false, keyLengths = null, layout = 'bhld', scale, kvDtype = 'f32' }) {
  const dims = { batch, heads, lq, lk, d, dv, scale: Math.fround(scale ?? 1 / Math.sqrt(d)), causal, keyLengths, layout };
  return kvDtype === 'f32' ? dims : { ...dims, kvDtype };
}

/**
 * Every case for these tile constants: the edge cases (edge: true) and the sizes worth timing
 * (perf: true; `tiny` shrinks them, for the bench's own test).
 */
export function kernelCases(tiles, { tiny = false } = {}) {
  const { MR, NR, KC, MC, DIRECT_M, NB } = tiles.gemm;
  const { QB, KB, PW, DIRECT_MAX_LQ, SPLIT_KEYS } = tiles.attention;
  const cases = [];

  // gemm: m × n × k × layout around the micro-tile, the rows/packed cut-off and the row block;
  // bias, accumulate and strided leading dims on a pattern of the cases.
  const ms = sizes([1, 2, MR - 1, MR, MR + 1, DIRECT_M - 1, DIRECT_M, DIRECT_M + 1, MC + 1]);
  const ns = sizes([1, NR - 1, NR, NR + 1, 2 * NB + 1]);
  const ks = sizes([1, LANES - 1, LANES, LANES + 1, 4 * LANES + 1]);
  for (const m of ms)
    for (const n of ns)
      for (const k of ks)
        for (const transB of [0, 1]) {
          const bits = hash32(`gemm ${m} ${n} ${k} ${transB}`);
          cases.push(makeCase('gemm', gemmDims(m, n, k, transB, { bias: (bits & 1) === 1, accumulate: (bits & 2) === 2, strided: (bits & 12) === 0 })));
        }
  // Across the k block (packed path only): every combination of bias and accumulate per m and layout.
  const kBlocks = sizes([KC - 1, KC, KC + 1, 2 * KC + 3]);
  sizes([DIRECT_M, MC + 1]).forEach((m, mi) =>
    [0, 1].forEach((transB) =>
      kBlocks.forEach((k, ki) => {
        const combo = (ki + 2 * mi + transB) % 4;
        cases.push(makeCase('gemm', gemmDims(m, NR + 1, k, transB, { bias: (combo & 1) === 1, accumulate: (combo & 2) === 2, strided: ki === 1 })));
      }),
    ),
  );
  // k = 0: C = (C if accumulating) + (bias if given), on both paths.
  for (const m of sizes([MR + 1, DIRECT_M + 1]))
    for (const transB of [0, 1]) cases.push(makeCase('gemm', gemmDims(m, NR + 1, 0, transB, { bias: true, accumulate: transB === 1 })));

  // attention and attentionWeights: the same problems. Lq around the query block and the
  // in-place/packed cut-off, Lk around the K panel and the key block, D around the lanes and the panel.
  const lqs = sizes([1, QB - 1, QB, QB + 1, 2 * QB + 1, DIRECT_MAX_LQ, DIRECT_MAX_LQ + 1]);
  const lks = sizes([1, PW - 1, PW, PW + 1, KB - 1, KB, KB + 1, 2 * KB + PW + 1]);
  const ds = sizes([1, LANES - 1, LANES, LANES + 1, PW + 1, 64]);
  const shapes = [
    [2, 2],
    [1, 1],
    [2, 1],
    [1, 1],
    [1, 3],
    [1, 1],
  ];
  const layouts = ['bhld', 'blhd', 'padded'];
  lqs.forEach((lq, qi) =>
    lks.forEach((lk, ki) =>
      ds.forEach((d, di) => {
        const [batch, heads] = shapes[(qi + 2 * ki + di) % shapes.length];
        const dv = (qi + ki + 2 * di) % 3 === 0 ? ds[(di + 2) % ds.length] : d;
        // Key lengths on a third of the cases: a 0, 1, a panel, a block, Lk − 1 and Lk (those ≤ Lk).
        let keyLengths = null;
        if ((2 * qi + ki + di) % 3 === 0) {
          const choices = [...new Set([0, 1, PW, KB, lk - 1, lk])].filter((x) => x >= 0 && x <= lk);
          keyLengths = Array.from({ length: batch }, (_, b) => choices[(qi + ki + di + 3 * b) % choices.length]);
        }
        const dims = attentionDims({ batch, heads, lq, lk, d, dv, causal: (qi + ki + di) % 2 === 1, keyLengths, layout: layouts[(qi + 2 * ki + di) % 3] });
        cases.push(makeCase('attention', dims));
        cases.push(makeCase('attentionWeights', dims));
      }),
    ),
  );  // Key-split decode steps (≤ DIRECT_MAX_LQ rows, Lk ≥ 2·SPLIT_KEYS): Lk around the chunk edges,
  // key lengths ending before, on and after a chunk boundary, causal rows.
  const splitLks = sizes([2 * SPLIT_KEYS - 1, 2 * SPLIT_KEYS, 2 * SPLIT_KEYS + 1, 3 * SPLIT_KEYS + KB + 1]);
  sizes([1, DIRECT_MAX_LQ]).forEach((lq, qi) =>
    splitLks.forEach((lk, ki) => {
      const keyLengths = (qi + ki) % 2 === 0 ? [Math.min(lk, SPLIT_KEYS), lk - 1] : null;
      const dims = attentionDims({ batch: 2, heads: 2, lq, lk, d: 32, dv: 17, causal: ki % 2 === 1, keyLengths, layout: layouts[(qi + ki) % 3] });
      cases.push(makeCase('attention', dims));
    }),
  );

  // K and V held as f16 or q8 (the fused kernel only): both paths (Lq ≤ DIRECT_MAX_LQ reads a key
  // block converted in place, larger Lq packs converted panels), Lk around the panel and the key
  // block, D around the lanes and the 16-wide conversion, a key-split decode step.
  for (const kvDtype of ['f16', 'q8'])
    sizes([1, DIRECT_MAX_LQ, DIRECT_MAX_LQ + 1, 2 * QB + 1]).forEach((lq, qi) =>
      sizes([1, PW + 1, KB, KB + 1, 2 * KB + PW + 1]).forEach((lk, ki) =>
        sizes([1, LANES + 1, PW + 1, 64]).forEach((d, di) => {
          const [batch, heads] = shapes[(qi + 2 * ki + di) % shapes.length];
          const dv = (qi + ki + di) % 3 === 0 ? PW - 1 : d;
          const keyLengths = (qi + ki + 2 * di) % 4 === 0 ? Array.from({ length: batch }, (_, b) => [lk, Math.min(lk, PW)][b % 2]) : null;
          cases.push(makeCase('attention', attentionDims({ batch, heads, lq, lk, d, dv, causal: (qi + ki + di) % 2 === 0, keyLengths, layout: layouts[(qi + ki + di) % 3], kvDtype })));
        }),
      ),
    );
  for (const kvDtype of ['f16', 'q8'])
    cases.push(makeCase('attention', attentionDims({ batch: 2, heads: 2, lq: 1, lk: 2 * SPLIT_KEYS + 1, d: 64, dv: 17, causal: true, keyLengths: [SPLIT_KEYS, 2 * SPLIT_KEYS + 1], layout: 'blhd', kvDtype })));

  // softmax: row lengths around the lanes, the panel and the key block; masks, visible ranges.
  const cols = sizes([1, LANES - 1, LANES, LANES + 1, PW - 1, PW, PW + 1, KB + 1]);
  cols.forEach((n, ci) =>
    ['none', 'row', 'full'].forEach((mask, mi) =>
      [n, n - 1, 0, n + 1].forEach((visible, vi) => {
        if (visible < 0) return;
        const v = ci + mi + vi;
        const rows = v % 2 === 0 ? 3 : 1;
        cases.push(makeCase('softmax', { rows, cols: n, ldx: n + (v % 3 === 0 ? PAD : 0), scale: v % 2 === 0 ? 1 : 0.37, mask, visible }));
      }),
    ),
  );

  // layerNorm: row lengths around the lanes and the 8-lane accumulators, and model widths; rows 1, 2, 7;
  // with and without affine, with and without the fused residual, eps 1e-5 and 1e-6 (every
  // combination); layouts, weight or bias alone, and the data on a pattern.
  const normNs = sizes([1, LANES - 1, LANES, LANES + 1, 4 * LANES - 1, 4 * LANES, 4 * LANES + 1, 64, 512, 1000]);
  const normRows = [1, 2, 7];
  for (const n of normNs)
    for (const rows of normRows)
      for (const affine of [false, true])
        for (const residual of [false, true])
          for (const eps of [1e-5, 1e-6]) {
            const bits = hash32(`layerNorm ${n} ${rows} ${affine} ${residual} ${eps}`);
            const layout = bits % 3; // 0 contiguous, 1 strided, 2 in place
            const data = rows > 1 && (bits & 24) === 0 ? 'special' : ['unit', 'unit', 'offset', 'small'][(bits >>> 5) & 3];
            cases.push(makeCase('layerNorm', layerNormDims({ rows, n, weight: affine, bias: affine, residual, eps, strided: layout === 1, inPlace: layout === 2, data })));
          }
  for (const n of normNs) {
    cases.push(makeCase('layerNorm', layerNormDims({ rows: 2, n, weight: true, bias: false, residual: n % 2 === 1, strided: true })));
    cases.push(makeCase('layerNorm', layerNormDims({ rows: 2, n, weight: false, bias: true, residual: n % 2 === 0, inPlace: true, data: 'offset' })));
    cases.push(makeCase('layerNorm', layerNormDims({ rows: 7, n, residual: true, inPlace: n % 2 === 0, data: 'special' })));
  }
  // rmsNorm: the same row lengths and rows, with and without weight, eps 1e-5 and 1e-6.
  for (const n of normNs)
    for (const rows of normRows)
      for (const weight of [false, true])
        for (const eps of [1e-5, 1e-6]) {
          const bits = hash32(`rmsNorm ${n} ${rows} ${weight} ${eps}`);
          const layout = bits % 3;
          const data = rows > 1 && (bits & 24) === 0 ? 'special' : ['unit', 'unit', 'small', 'unit'][(bits >>> 5) & 3];
          cases.push(makeCase('rmsNorm', rmsNormDims({ rows, n, weight, eps, strided: layout === 1, inPlace: layout === 2, data })));
        }
  for (const n of normNs) cases.push(makeCase('rmsNorm', rmsNormDims({ rows: 7, n, data: 'special', inPlace: n % 2 === 1 })));
  // Elementwise: every count 1..37 (bodies of 0..9 vectors, every tail) with special values mixed in,
  // out of place and in place; and a long run of plain values.
  const counts = Array.from({ length: 37 }, (_, i) => i + 1);
  for (const kind of Object.keys(ACTIVATION_KINDS)) {
    for (const count of counts) cases.push(makeCase('activation', { count, kind, inPlace: hash32(`activation ${kind} ${count}`) % 2 === 1, data: 'mixed' }));
    cases.push(makeCase('activation', { count: 1000, kind, inPlace: false, data: 'uniform' }));
    cases.push(makeCase('activation', { count: 1001, kind, inPlace: true, data: 'mixed' }));
  }
  for (const count of [...counts, 1000, 1001]) cases.push(makeCase('swiglu', { count, out: ['new', 'gate', 'up'][count % 3], data: count === 1000 ? 'uniform' : 'mixed' }));
  for (const count of [...counts, 1000]) cases.push(makeCase('addInPlace', { count }));
  for (const count of [...counts, 1000]) cases.push(makeCase('mulInPlace', { count }));

  // Q8: k around the block (1, 2, 3 blocks) and a model width (128 blocks); rows around the row
  // pairs and the DIRECT_M cut-off of the f32 gemm; every n 1…17 (the 4-column tile and its tails)
  // and 2·NB + 1; bias, accumulate, a padded ldc and NaN scales on a pattern.
  const QBK = tiles.q8.BLOCK;
  const q8ks = [QBK, 2 * QBK, 3 * QBK];
  for (const rows of [1, 2, 5])
    for (const k of [...q8ks, 128 * QBK])
      for (const data of ['uniform', 'special'])
        for (const kernel of ['quantizeRows8', 'quantizeRows16']) cases.push(makeCase(kernel, { rows, k, ldx: k + (rows === 2 ? PAD : 0), data }));
  const q8ns = sizes([...Array.from({ length: 17 }, (_, i) => i + 1), 2 * NB + 1]);
  const { PACKED_M, MC: QMC } = tiles.q8;
  const q8ms = sizes([1, 2, 3, PACKED_M - 1, PACKED_M, PACKED_M + 1, PACKED_M + 3, DIRECT_M - 1, DIRECT_M, DIRECT_M + 1]);
  for (const m of q8ms)
    for (const n of q8ns)
      for (const k of q8ks) {
        const bits = hash32(`gemmQ8 ${m} ${n} ${k}`);
        cases.push(makeCase('gemmQ8', gemmQ8Dims(m, n, k, { bias: (bits & 1) === 1, accumulate: (bits & 2) === 2, strided: (bits & 12) === 0, data: m > 1 && (bits & 48) === 0 ? 'special' : 'uniform' })));
      }
  for (const m of [1, 2]) for (const n of [1, 4, 5, 17]) cases.push(makeCase('gemmQ8', gemmQ8Dims(m, n, 128 * QBK, { bias: n % 2 === 1, accumulate: m === 2 })));
  // the packed path's row blocks: MC − 1 … 2·MC + 1 rows
  for (const m of sizes([QMC - 1, QMC, QMC + 1, 2 * QMC + 1])) cases.push(makeCase('gemmQ8', gemmQ8Dims(m, 9, 2 * QBK, { bias: m % 2 === 1, accumulate: m === QMC, data: m === QMC + 1 ? 'special' : 'uniform' })));
  cases.push(makeCase('gemmQ8', gemmQ8Dims(PACKED_M + 1, 17, 128 * QBK, { bias: true, accumulate: true })));
  // Q4: the same sizes (the same blocks, tiles and tails; gemmQ8Dims serves both).
  for (const rows of [1, 2, 5])
    for (const k of [...q8ks, 128 * QBK])
      for (const data of ['uniform', 'special'])
        for (const search of [false, true]) cases.push(makeCase('quantizeRows4', { rows, k, ldx: k + (rows === 2 ? PAD : 0), search, data }));
  for (const m of q8ms)
    for (const n of q8ns)
      for (const k of q8ks) {
        const bits = hash32(`gemmQ4 ${m} ${n} ${k}`);
        cases.push(makeCase('gemmQ4', gemmQ8Dims(m, n, k, { bias: (bits & 1) === 1, accumulate: (bits & 2) === 2, strided: (bits & 12) === 0, data: m > 1 && (bits & 48) === 0 ? 'special' : 'uniform' })));
      }
  for (const m of [1, 2]) for (const n of [1, 4, 5, 17]) cases.push(makeCase('gemmQ4', gemmQ8Dims(m, n, 128 * QBK, { bias: n % 2 === 1, accumulate: m === 2 })));
  for (const m of sizes([QMC - 1, QMC, QMC + 1, 2 * QMC + 1])) cases.push(makeCase('gemmQ4', gemmQ8Dims(m, 9, 2 * QBK, { bias: m % 2 === 1, accumulate: m === QMC, data: m === QMC + 1 ? 'special' : 'uniform' })));
  cases.push(makeCase('gemmQ4', gemmQ8Dims(PACKED_M + 1, 17, 128 * QBK, { bias: true, accumulate: true })));
  // Dequantization (the quantized embedding gather): the same rows and blocks, a padded ldo, NaN scales.
  for (const kernel of ['dequantizeRows8', 'dequantizeRows4'])
    for (const rows of [1, 2, 5])
      for (const k of [...q8ks, 128 * QBK])
        for (const data of ['uniform', 'special']) cases.push(makeCase(kernel, { rows, k, ldo: k + (rows === 2 ? PAD : 0), data }));

  // 16-bit weights: gemm's edges (rows around the pairs, DIRECT_M and MR; k around the 16-value
  // steps of the rows path and KC; n around the 4-column dot tiles, NR and NB), both formats.
  for (const bf16 of [0, 1])
    for (const m of sizes([1, 2, 3, MR + 1, DIRECT_M - 1, DIRECT_M, DIRECT_M + 1]))
      for (const n of sizes([1, 3, 4, 5, NR + 1, 2 * NB + 1]))
        for (const k of sizes([1, 3, 4, 15, 16, 17, 33, KC + 1])) {
          const bits = hash32(`gemmHalf ${bf16} ${m} ${n} ${k}`);
          if (k > KC && (bits & 3) !== 0) continue; // a quarter of the KC + 1 cases: the k blocks, not every shape again
          cases.push(makeCase('gemmHalf', gemmHalfDims(m, n, k, bf16, { bias: (bits & 4) === 4, accumulate: (bits & 8) === 8, strided: (bits & 48) === 0, data: (bits & 64) === 0 ? 'special' : 'uniform' })));
        }
  // KV cache appends: heads of dh around the lanes and the 16-wide loads; halves' edges and NaN heads.
  for (const [rows, heads, dh] of [[1, 1, 1], [1, 3, 64], [2, 2, LANES + 1], [5, 1, 2 * PW + 1], [3, 4, 32]])
    for (const data of ['uniform', 'special'])
      for (const kernel of ['storeRowsF16', 'storeRowsQ8']) cases.push(makeCase(kernel, { rows, heads, dh, ldx: heads * dh + (rows === 2 ? PAD : 0), data }));

  // Sizes worth timing.
  const perf = { edge: false, perf: true };
  const s = tiny ? 8 : 1; // tiny: every length divided by 8 (the bench's own test)
  const L = (x) => Math.max(1, x / s);
  cases.push(makeCase('gemm', gemmDims(L(256), L(1536), L(512), 1), { ...perf, name: `gemm NT ${L(256)}×${L(1536)}×${L(512)}` }));
  cases.push(makeCase('gemm', gemmDims(1, L(1536), L(512), 1), { ...perf, name: `gemm NT 1×${L(1536)}×${L(512)} (decoder step)` }));
  cases.push(makeCase('gemm', gemmDims(L(512), L(512), L(512), 0), { ...perf, name: `gemm NN ${L(512)}³` }));
  cases.push(makeCase('attention', attentionDims({ heads: 8, lq: L(256), lk: L(256), d: 64 }), { ...perf, name: `attention B1 H8 L${L(256)} D64` }));
  cases.push(makeCase('attention', attentionDims({ lq: L(1024), lk: L(1024), d: 64, causal: true }), { ...perf, name: `attention B1 H1 L${L(1024)} D64 causal` }));
  cases.push(makeCase('attention', attentionDims({ heads: 8, lq: 1, lk: L(4096), d: 128 }), { ...perf, name: `attention decode 1×${L(4096)} D128 H8` }));
  for (const kvDtype of ['f16', 'q8'])
    cases.push(makeCase('attention', attentionDims({ heads: 8, lq: 1, lk: L(4096), d: 128, kvDtype }), { ...perf, name: `attention decode 1×${L(4096)} D128 H8 kv ${kvDtype}` }));
  cases.push(makeCase('attentionWeights', attentionDims({ heads: 8, lq: L(256), lk: L(256), d: 64 }), { ...perf, name: `attentionWeights B1 H8 L${L(256)} D64` }));
  cases.push(makeCase('softmax', { rows: L(256), cols: L(1024), ldx: L(1024), scale: 0.125, mask: 'none', visible: L(1024) }, { ...perf, name: `softmax ${L(256)} rows × ${L(1024)}` }));
  cases.push(makeCase('layerNorm', layerNormDims({ rows: L(256), n: L(512), residual: true }), { ...perf, name: `layerNorm ${L(256)}×${L(512)} residual` }));
  cases.push(makeCase('activation', { count: L(256) * L(2048), kind: 'gelu', inPlace: false, data: 'uniform' }, { ...perf, name: `gelu ${L(256)}×${L(2048)}` }));
  cases.push(makeCase('swiglu', { count: L(256) * L(2048), out: 'new', data: 'uniform' }, { ...perf, name: `swiglu ${L(256)}×${L(2048)}` }));
  const k8 = Math.max(QBK, L(576) - (L(576) % QBK));
  cases.push(makeCase('gemmQ8', gemmQ8Dims(1, L(1536), k8, {}), { ...perf, name: `gemmQ8 1×${L(1536)}×${k8} (decoder step)` }));
  cases.push(makeCase('quantizeRows8', { rows: L(256), k: k8, ldx: k8, data: 'uniform' }, { ...perf, name: `quantizeRows8 ${L(256)}×${k8}` }));
  cases.push(makeCase('quantizeRows16', { rows: L(256), k: k8, ldx: k8, data: 'uniform' }, { ...perf, name: `quantizeRows16 ${L(256)}×${k8}` }));
  cases.push(makeCase('gemmQ4', gemmQ8Dims(1, L(1536), k8, {}), { ...perf, name: `gemmQ4 1×${L(1536)}×${k8} (decoder step)` }));
  cases.push(makeCase('quantizeRows4', { rows: L(256), k: k8, ldx: k8, search: true, data: 'uniform' }, { ...perf, name: `quantizeRows4 ${L(256)}×${k8}` }));
  for (const bf16 of [0, 1]) {
    const f = bf16 ? 'bf16' : 'f16';
    cases.push(makeCase('gemmHalf', gemmHalfDims(1, L(1536), L(576), bf16), { ...perf, name: `gemmHalf ${f} 1×${L(1536)}×${L(576)} (decoder step)` }));
    cases.push(makeCase('gemmHalf', gemmHalfDims(L(256), L(1536), L(512), bf16), { ...perf, name: `gemmHalf ${f} ${L(256)}×${L(1536)}×${L(512)}` }));
  }
  const e = Math.max(QBK, L(1536));
  cases.push(makeCase('dequantizeRows8', { rows: L(64), k: e, ldo: e, data: 'uniform' }, { ...perf, name: `dequantizeRows8 ${L(64)}×${e} (embedding gather)` }));
  cases.push(makeCase('dequantizeRows4', { rows: L(64), k: e, ldo: e, data: 'uniform' }, { ...perf, name: `dequantizeRows4 ${L(64)}×${e} (embedding gather)` }));
  return cases;
}

// ---- float64 references (naive loops) -----------------------------------------------------------

/** C = (c0 if given) + (bias[j] if given) + A[m,k]·op(B); b is [k,n] (transB 0) or [n,k] (transB 1), all contiguous. */
export function referenceGemm({ m, n, k, transB }, a, b, bias = null, c0 = null) {
  const c = new Float64Array(m * n);
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    if (transB) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
        row[j] = s;
      }
    } else {
      for (let p = 0; p < k; p++) {
        const aip = a[i * k + p];
        for (let j = 0; j < n; j++) row[j] += aip * b[p * n + j];
      }
    }
    for (let j = 0; j < n; j++) c[i * n + j] = (c0 ? c0[i * n + j] : 0) + (bias ? bias[j] : 0) + row[j];
  }
  return c;
}

/** The visibility rule, literally: key j is visible to query i of batch b. */
export function keyVisible(dims, b, i, j) {
  if (dims.keyLengths && !(j < dims.keyLengths[b])) return false;
  if (dims.causal && !(j <= i + dims.lk - dims.lq)) return false;
  return true;
}

/**
 * softmax(q·kᵀ·scale over the visible keys)·v per batch and head, q [B,H,Lq,D], k [B,H,Lk,D],
 * v [B,H,Lk,Dv] contiguous → { out [B,H,Lq,Dv], weights [B,H,Lq,Lk] }; a query that sees no key
 * gets zeros in both.
 */
export function referenceAttention(dims, q, k, v) {
  const { batch, heads, lq, lk, d, dv, scale } = dims;
  const out = new Float64Array(batch * heads * lq * dv);
  const weights = new Float64Array(batch * heads * lq * lk);
  const s = new Float64Array(lk);
  const seen = new Uint8Array(lk);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++) {
      const bh = b * heads + h;
      for (let i = 0; i < lq; i++) {
        let max = -Infinity;
        for (let j = 0; j < lk; j++) {
          seen[j] = keyVisible(dims, b, i, j) ? 1 : 0;
          if (!seen[j]) continue;
          let dot = 0;
          for (let e = 0; e < d; e++) dot += q[(bh * lq + i) * d + e] * k[(bh * lk + j) * d + e];
          s[j] = dot * scale;
          if (s[j] > max) max = s[j];
        }
        if (max === -Infinity) continue; // no visible key: zeros
        let sum = 0;
        for (let j = 0; j < lk; j++) if (seen[j]) sum += (s[j] = Math.exp(s[j] - max));
        const o = (bh * lq + i) * dv;
        for (let j = 0; j < lk; j++) {
          if (!seen[j]) continue;
          const w = s[j] / sum;
          weights[(bh * lq + i) * lk + j] = w;
          for (let e = 0; e < dv; e++) out[o + e] += w * v[(bh * lk + j) * dv + e];
        }
      }
    }
  return { out, weights };
}

/**
 * Row i of x [rows, cols]: softmax of z_j = x_j·scale + mask_j over j < clamp(visible, 0, cols), zeros
 * elsewhere and on a row whose z are all -Infinity. mask: null, one row [cols], or [rows, cols].
 */
export function referenceSoftmax({ rows, cols, scale, visible }, x, mask = null, maskPerRow = false) {
  const y = new Float64Array(rows * cols);
  const hi = Math.min(Math.max(visible, 0), cols);
  const z = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    let max = -Infinity;
    for (let j = 0; j < hi; j++) {
      z[j] = x[i * cols + j] * scale + (mask ? mask[(maskPerRow ? i * cols : 0) + j] : 0);
      if (z[j] > max) max = z[j];
    }
    if (max === -Infinity) continue;
    let sum = 0;
    for (let j = 0; j < hi; j++) sum += (z[j] = Math.exp(z[j] - max));
    for (let j = 0; j < hi; j++) y[i * cols + j] = z[j] / sum;
  }
  return y;
}

// ---- float64 erf and the activations -------------------------------------------------------------

const SQRT_PI = Math.sqrt(Math.PI);

/** erf(z) for 0 ≤ z < 2: (2/√π)·e^{−z²}·Σ_{n≥0} (2z²)^n·z / (1·3·…·(2n+1)), every term positive (no cancellation). */
function erfSeries(z) {
  const z2 = 2 * z * z;
  let term = z;
  let sum = z;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= z2 / (2 * n + 1);
    sum += term;
  }
  return (2 / SQRT_PI) * Math.exp(-z * z) * sum;
}

/** erfc(z) for z ≥ 2: the continued fraction e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), 120 terms from the tail. */
function erfcFraction(z) {
  if (z > 27) return 0; // e^{−729} underflows
  let f = z;
  for (let k = 120; k >= 1; k--) f = z + k / 2 / f;
  return Math.exp(-z * z) / (SQRT_PI * f);
}

/**
 * erf in float64: the series below 2, 1 − erfc (continued fraction) above; within 9e-16 absolute of
 * erf over [−8, 8] (checked against mpmath at 40 digits; test/kernels.test.ts checks tabulated values).
 */
export function erf64(x) {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x);
  const r = z < 2 ? erfSeries(z) : 1 - erfcFraction(z);
  return x < 0 ? -r : r;
}

/** erfc in float64, relative error below 2e-13 (for the GELU reference's left tail: no 1 + erf cancellation). */
export function erfc64(x) {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc64(-x);
  return x < 2 ? 1 - erfSeries(x) : erfcFraction(x);
}

/** The activations in float64 (the references of the activation kernel; limits at ±Infinity written out). */
export const ACTIVATIONS64 = {
  relu: (x) => (Number.isNaN(x) ? NaN : Math.max(x, 0)),
  /** x·Φ(x) = 0.5·x·erfc(−x/√2) (= 0.5·x·(1 + erf(x/√2)), without its cancellation for x ≪ 0). */
  gelu: (x) => (x === -Infinity ? 0 : 0.5 * x * erfc64(-x / Math.SQRT2)),
  /** 0.5·x·(1 + tanh(u)) = x / (1 + e^{−2u}), u = √(2/π)·(x + 0.044715·x³). */
  geluTanh: (x) => (x === -Infinity ? 0 : x / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))),
  silu: (x) => (x === -Infinity ? 0 : x / (1 + Math.exp(-x))),
  erf: erf64,
};

/** f(x) elementwise in float64, f one of ACTIVATIONS64 by name. */
export function referenceActivation(kind, x) {
  const f = ACTIVATIONS64[kind];
  return Float64Array.from(x, (v) => f(v));
}

/** silu(gate)·up in float64. */
export function referenceSwiglu(gate, up) {
  return Float64Array.from(gate, (g, i) => ACTIVATIONS64.silu(g) * up[i]);
}

// ---- float64 norms ----------------------------------------------------------------------------------

/**
 * nn.LayerNorm per row of x [rows, n] in float64: x' = fround(x + residual) (the f32 add of the
 * unfused `x + sublayer(x)`, which the fused kernel also makes), mean, biased variance, then
 * (x' − mean)/√(var + eps)·weight + bias. Inputs contiguous; weight/bias null: none.
 */
export function referenceLayerNorm({ rows, n, eps }, x, residual = null, weight = null, bias = null) {
  const y = new Float64Array(rows * n);
  const row = new Float64Array(n);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += row[j] = residual ? Math.fround(x[i * n + j] + residual[i * n + j]) : x[i * n + j];
    const mean = sum / n;
    let ss = 0;
    for (let j = 0; j < n; j++) ss += (row[j] - mean) ** 2;
    const rstd = 1 / Math.sqrt(ss / n + eps);
    for (let j = 0; j < n; j++) y[i * n + j] = (row[j] - mean) * rstd * (weight ? weight[j] : 1) + (bias ? bias[j] : 0);
  }
  return y;
}

/** Llama RMSNorm per row of x [rows, n] in float64: x/√(mean(x²) + eps)·weight (weight null: none). */
export function referenceRmsNorm({ rows, n, eps }, x, weight = null) {
  const y = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) {
    let ss = 0;
    for (let j = 0; j < n; j++) ss += x[i * n + j] ** 2;
    const scale = Math.sqrt(ss / n + eps);
    for (let j = 0; j < n; j++) y[i * n + j] = (x[i * n + j] / scale) * (weight ? weight[j] : 1);
  }
  return y;
}

/**
 * The one tolerance rule: { error, absolute, ok, nanAt, specialAt }. error = ‖got − ref‖₂ / ‖ref‖₂ (absolute:
 * ‖got − ref‖₂ when ‖ref‖₂ = 0) over the elements whose reference is finite; a NaN in got there fails
 * (nanAt), and so does an element whose reference is NaN or ±Infinity and got is not the same (specialAt).
 */
export function compare(got, ref, tolerance = TOLERANCE, magnitude = null) {
  if (got.length !== ref.length) return { error: Infinity, absolute: false, ok: false, nanAt: -1, specialAt: -1 };
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const r = ref[i];
    if (!Number.isFinite(r)) {
      // a NaN or ±Infinity the reference gives: the same, exactly, and out of the norms
      if (Number.isNaN(r) ? !Number.isNaN(g) : g !== r) return { error: Infinity, absolute: false, ok: false, nanAt: -1, specialAt: i };
      continue;
    }
    if (Number.isNaN(g)) return { error: Infinity, absolute: false, ok: false, nanAt: i, specialAt: -1 };
    diff += (g - r) ** 2;
    norm += (magnitude ? magnitude[i] : r) ** 2;
  }
  if (norm === 0) {
    const error = Math.sqrt(diff);
    return { error, absolute: true, ok: error <= ZERO_TOLERANCE, nanAt: -1, specialAt: -1 };
  }
  const error = Math.sqrt(diff / norm);
  return { error, absolute: false, ok: error <= tolerance, nanAt: -1, specialAt: -1 };
}

// ---- cases in Wasm memory -----------------------------------------------------------------------

/** Indices (in floats from a base) of a rows × cols matrix with leading dim ld, row-major. */
function matrixIndices(rows, cols, ld) {
  const idx = new Int32Array(rows * cols);
  for (let i = 0, p = 0; i < rows; i++) for (let j = 0; j < cols; j++) idx[p++] = i * ld + j;
  return idx;
}

/** Strides (floats) of a [B, H, L, dim] view in a layout, and the floats its buffer spans. */
export function viewStrides(layout, B, H, L, dim) {
  let sB, sH, sL;
  switch (layout) {
    case 'bhld':
      sL = dim;
      sH = L * sL;
      sB = H * sH;
      break;
    case 'padded': // rows PAD floats longer than the head dim
      sL = dim + PAD;
      sH = L * sL;
      sB = H * sH;
      break;
    case 'blhd': // heads side by side in each row: [B, L, H·dim], as multi-head attention reads them
      sH = dim;
      sL = H * dim;
      sB = L * sL;
      break;
    default:
      throw new Error(`unknown layout ${layout}`);
  }
  return { sB, sH, sL, span: (B - 1) * sB + (H - 1) * sH + (L - 1) * sL + dim };
}

function viewIndices(B, H, L, dim, s) {
  const idx = new Int32Array(B * H * L * dim);
  let p = 0;
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < L; i++) for (let e = 0; e < dim; e++) idx[p++] = b * s.sB + h * s.sH + i * s.sL + e;
  return idx;
}

/**
 * The memory of one case: buffers (each filled with SENTINEL, then its logical elements written),
 * inputs snapshotted to check they stay unmodified, outputs checked for writes outside them.
 */
class Arena {
  constructor(heap) {
    this.heap = heap;
    this.blocks = [];
    this.inputs = []; // { name, ptr, floats, snapshot }
    this.outputs = []; // { name, ptr, floats, idx }
  }
  alloc(floats) {
    const ptr = this.heap.alloc(Math.max(1, floats) * 4);
    this.blocks.push(ptr);
    return ptr;
  }
  u32() {
    return new Uint32Array(this.heap.memory.buffer);
  }
  fill(ptr, floats) {
    this.u32().fill(SENTINEL, ptr >>> 2, (ptr >>> 2) + floats);
  }
  scatter(ptr, idx, values) {
    const f = this.heap.floats();
    const base = ptr >>> 2;
    for (let i = 0; i < idx.length; i++) f[base + idx[i]] = values[i];
  }
  gather(ptr, idx) {
    const f = this.heap.floats();
    const base = ptr >>> 2;
    const out = new Float32Array(idx.length);
    for (let i = 0; i < idx.length; i++) out[i] = f[base + idx[i]];
    return out;
  }
  snapshot(ptr, floats) {
    return this.u32().slice(ptr >>> 2, (ptr >>> 2) + floats);
  }
  /** Problems: an input whose bits changed, an output whose gaps were written. */
  problems() {
    const found = [];
    const u = this.u32();
    for (const input of this.inputs) {
      const base = input.ptr >>> 2;
      let changed = 0;
      let first = -1;
      for (let i = 0; i < input.floats; i++)
        if (u[base + i] !== input.snapshot[i]) {
          if (first < 0) first = i;
          changed++;
        }
      if (changed) found.push(`input ${input.name} modified at ${changed} floats (first at offset ${first})`);
    }
    for (const output of this.outputs) {
      const mine = new Uint8Array(output.floats);
      for (let i = 0; i < output.idx.length; i++) mine[output.idx[i]] = 1;
      const base = output.ptr >>> 2;
      let written = 0;
      let first = -1;
      for (let i = 0; i < output.floats; i++)
        if (!mine[i] && u[base + i] !== SENTINEL) {
          if (first < 0) first = i;
          written++;
        }
      if (written) found.push(`${output.name}: ${written} floats written outside the output (first at offset ${first})`);
    }
    return found;
  }
  release() {
    for (const ptr of this.blocks) this.heap.release(ptr);
    this.blocks = [];
  }
}

/**
 * Puts case `c` into Wasm memory. env: { k (raw kernels), heap (src/engine/memory.ts Heap),
 * writeAttentionParams, writePartials, uniform (the seeded generator), cache? (a Map: references shared by builds) }.
 */
export function prepareCase(env, c) {
  switch (c.kernel) {
    case 'gemm':
      return prepareGemm(env, c);
    case 'attention':
    case 'attentionWeights':
      return prepareAttention(env, c);
    case 'softmax':
      return prepareSoftmax(env, c);
    case 'layerNorm':
    case 'rmsNorm':
      return prepareNorm(env, c);
    case 'activation':
    case 'swiglu':
    case 'addInPlace':
    case 'mulInPlace':
      return prepareElementwise(env, c);
    case 'quantizeRows8':
    case 'quantizeRows16':
    case 'quantizeRows4':
      return prepareQuantize(env, c);
    case 'gemmQ8':
    case 'gemmQ4':
      return prepareGemmQ8(env, c);
    case 'gemmHalf':
      return prepareGemmHalf(env, c);
    case 'dequantizeRows8':
    case 'dequantizeRows4':
      return prepareDequantize(env, c);
    case 'storeRowsF16':
    case 'storeRowsQ8':
      return prepareStoreRows(env, c);
  }
  throw new Error(`unknown kernel ${c.kernel}`);
}

function cached(env, key, make) {
  if (!env.cache) return make();
  let value = env.cache.get(key);
  if (value === undefined) env.cache.set(key, (value = make()));
  return value;
}

/** The parts every prepared case shares: outputs(), check(), newScratch(), release(). */
function finish(arena, c, parts) {
  const prepared = {
    case: c,
    ...parts,
    outputs() {
      const floats = Object.fromEntries(arena.outputs.map((o) => [o.name, arena.gather(o.ptr, o.idx)]));
      return parts.readOutputs ? { ...floats, ...parts.readOutputs() } : floats;
    },
    /** A fresh scratch block of `bytes` (default: the case's), filled with the sentinel. */
    newScratch(bytes = parts.scratchBytes) {
      const ptr = arena.alloc(Math.ceil(bytes / 4));
      arena.fill(ptr, Math.ceil(bytes / 4));
      return ptr;
    },
    /** Resets the outputs, runs the whole problem once and compares every output with the reference. */
    check() {
      prepared.reset();
      prepared.run();
      const got = prepared.outputs();
      const want = prepared.references();
      const errors = {};
      let ok = true;
      let error = 0;
      for (const name of Object.keys(want)) {
        const r = compare(got[name], want[name], parts.tolerance ?? TOLERANCE, parts.magnitudes?.()[name] ?? null);
        errors[name] = r;
        ok &&= r.ok;
        if (!(r.error <= error)) error = r.error;
      }
      const problems = arena.problems();
      return { ok: ok && problems.length === 0, error, errors, problems };
    },
    release() {
      arena.release();
    },
  };
  return prepared;
}

function prepareGemm(env, c) {
  const { k: kernels, heap } = env;
  const { m, n, k, transB, bias, accumulate, lda, ldb, ldc } = c.dims;
  const key = `gemm ${JSON.stringify(c.dims)}`;
  const seed = hash32(key);
  const [bRows, bCols] = transB ? [n, k] : [k, n];
  const a = env.uniform(m * k, seed + 1);
  const b = env.uniform(bRows * bCols, seed + 2);
  const biasValues = bias ? env.uniform(n, seed + 3) : null;
  const c0 = accumulate ? env.uniform(m * n, seed + 4) : null;
  const arena = new Arena(heap);
  const aFloats = (m - 1) * lda + k;
  const bFloats = (bRows - 1) * ldb + bCols;
  const cFloats = (m - 1) * ldc + n;
  const scratchBytes = kernels.gemmScratchBytes(m, n, k);
  const ptr = { a: arena.alloc(aFloats), b: arena.alloc(bFloats), bias: bias ? arena.alloc(n) : 0, c: arena.alloc(cFloats), scratch: 0 };
  ptr.scratch = arena.alloc(Math.ceil(scratchBytes / 4));
  const aIdx = matrixIndices(m, k, lda);
  const bIdx = matrixIndices(bRows, bCols, ldb);
  const cIdx = matrixIndices(m, n, ldc);
  for (const [name, p, floats, idx, values] of [
    ['A', ptr.a, aFloats, aIdx, a],
    ['B', ptr.b, bFloats, bIdx, b],
    ['bias', ptr.bias, n, new Int32Array(n).map((_, j) => j), biasValues],
  ]) {
    if (!values) continue;
    arena.fill(p, floats);
    arena.scatter(p, idx, values);
    arena.inputs.push({ name, ptr: p, floats, snapshot: arena.snapshot(p, floats) });
  }
  arena.outputs.push({ name: 'C', ptr: ptr.c, floats: cFloats, idx: cIdx });
  return finish(arena, c, {
    ptr,
    items: 0,
    scratchBytes,
    /** C = the sentinel, then c0 when accumulating; the scratch = the sentinel. */
    reset() {
      arena.fill(ptr.c, cFloats);
      if (c0) arena.scatter(ptr.c, cIdx, c0);
      arena.fill(ptr.scratch, Math.ceil(scratchBytes / 4));
    },
    run() {
      kernels.gemm(ptr.a, lda, ptr.b, ldb, ptr.c, ldc, m, n, k, transB, ptr.bias, accumulate ? 1 : 0, ptr.scratch);
    },
    references() {
      return cached(env, key, () => ({ C: referenceGemm(c.dims, a, b, biasValues, c0) }));
    },
  });
}

function prepareAttention(env, c) {
  const { k: kernels, heap } = env;
  const d = c.dims;
  const weightsToo = c.kernel === 'attentionWeights';
  const key = `attention ${JSON.stringify(d)}`;
  const seed = hash32(key);
  const { batch: B, heads: H, lq, lk } = d;
  const q = env.uniform(B * H * lq * d.d, seed + 1);
  const kv = env.uniform(B * H * lk * d.d, seed + 2);
  const v = env.uniform(B * H * lk * d.dv, seed + 3);
  const arena = new Arena(heap);
  const views = {
    q: viewStrides(d.layout, B, H, lq, d.d),
    k: viewStrides(d.layout, B, H, lk, d.d),
    v: viewStrides(d.layout, B, H, lk, d.dv),
    out: viewStrides(d.layout, B, H, lq, d.dv),
  };
  // k and v as the cache holds them: f32, halves, or int8 with a scale per (b, head, position)
  const kvDtype = d.kvDtype ?? 'f32';
  const held = { k: heldValues(kvDtype, kv, B * H * lk, d.d), v: heldValues(kvDtype, v, B * H * lk, d.dv) };
  const kvFloats = (span) => Math.ceil((span * { f32: 4, f16: 2, q8: 1 }[kvDtype]) / 4);
  const ptr = { q: arena.alloc(views.q.span), k: arena.alloc(kvFloats(views.k.span)), v: arena.alloc(kvFloats(views.v.span)), out: arena.alloc(views.out.span) };
  const scaleView = viewStrides(d.layout, B, H, lk, 1);
  ptr.kScales = kvDtype === 'q8' ? arena.alloc(scaleView.span) : 0;
  ptr.vScales = kvDtype === 'q8' ? arena.alloc(scaleView.span) : 0;
  ptr.keyLengths = d.keyLengths ? arena.alloc(B) : 0;
  const paramsBytes = kernels.ATTENTION_PARAMS_BYTES.value;
  ptr.params = arena.alloc(paramsBytes / 4);
  ptr.weights = weightsToo ? arena.alloc(B * H * lq * lk) : 0;
  const outIdx = viewIndices(B, H, lq, d.dv, views.out);
  for (const [name, values, L, dim] of [
    ['q', q, lq, d.d],
    ['k', kv, lk, d.d],
    ['v', v, lk, d.dv],
  ]) {
    const idx = viewIndices(B, H, L, dim, views[name]);
    const floats = name === 'q' ? views[name].span : kvFloats(views[name].span);
    arena.fill(ptr[name], floats);
    if (name === 'q' || kvDtype === 'f32') arena.scatter(ptr[name], idx, values);
    else if (kvDtype === 'f16') {
      const h16 = new Uint16Array(heap.memory.buffer, ptr[name], 2 * floats);
      for (let i = 0; i < idx.length; i++) h16[idx[i]] = held[name].bits[i];
    } else {
      const i8 = new Int8Array(heap.memory.buffer, ptr[name], 4 * floats);
      for (let i = 0; i < idx.length; i++) i8[idx[i]] = held[name].q[i];
      const sPtr = name === 'k' ? ptr.kScales : ptr.vScales;
      arena.fill(sPtr, scaleView.span);
      arena.scatter(sPtr, viewIndices(B, H, lk, 1, scaleView), held[name].scales);
      arena.inputs.push({ name: `${name} scales`, ptr: sPtr, floats: scaleView.span, snapshot: arena.snapshot(sPtr, scaleView.span) });
    }
    arena.inputs.push({ name, ptr: ptr[name], floats, snapshot: arena.snapshot(ptr[name], floats) });
  }
  if (d.keyLengths) heap.ints().set(d.keyLengths, ptr.keyLengths >>> 2);
  const view = (name) => ({ ptr: ptr[name], sB: views[name].sB, sH: views[name].sH, sL: views[name].sL });
  env.writeAttentionParams(heap, ptr.params, {
    q: view('q'),
    k: view('k'),
    v: view('v'),
    out: view('out'),
    batch: B,
    heads: H,
    lq,
    lk,
    d: d.d,
    dv: d.dv,
    scale: d.scale,
    causal: d.causal,
    keyLengths: ptr.keyLengths,
    ...(kvDtype === 'f32' ? {} : { kvDtype }),
    ...(kvDtype === 'q8' ? { kScales: { ptr: ptr.kScales, sB: scaleView.sB, sH: scaleView.sH, sL: scaleView.sL }, vScales: { ptr: ptr.vScales, sB: scaleView.sB, sH: scaleView.sH, sL: scaleView.sL } } : {}),
  });
  if (d.keyLengths) arena.inputs.push({ name: 'keyLengths', ptr: ptr.keyLengths, floats: B, snapshot: arena.snapshot(ptr.keyLengths, B) });
  // A key-split problem writes partial states, merged by attentionMerge (finishItems).
  const partialBytes = weightsToo ? 0 : kernels.attentionPartialBytes(ptr.params);
  ptr.partials = partialBytes ? arena.alloc(partialBytes / 4) : 0;
  if (partialBytes) env.writePartials(heap, ptr.params, ptr.partials);
  arena.inputs.push({ name: 'params', ptr: ptr.params, floats: paramsBytes / 4, snapshot: arena.snapshot(ptr.params, paramsBytes / 4) });
  const items = weightsToo ? kernels.attentionWeightsWorkItems(ptr.params) : kernels.attentionWorkItems(ptr.params);
  const scratchBytes = weightsToo ? kernels.attentionWeightsScratchBytes(ptr.params) : kernels.attentionScratchBytes(ptr.params);
  ptr.scratch = arena.alloc(Math.ceil(scratchBytes / 4));
  arena.outputs.push({ name: 'out', ptr: ptr.out, floats: views.out.span, idx: outIdx });
  const weightFloats = B * H * lq * lk;
  if (weightsToo) arena.outputs.push({ name: 'weights', ptr: ptr.weights, floats: weightFloats, idx: new Int32Array(weightFloats).map((_, i) => i) });
  const runItems = (begin, end, scratch = ptr.scratch) => {
    if (weightsToo) kernels.attentionWeights(ptr.params, begin, end, ptr.weights, scratch);
    else kernels.attention(ptr.params, begin, end, scratch);
  };
  const finishItems = () => {
    if (partialBytes) kernels.attentionMerge(ptr.params, 0, kernels.attentionMergeItems(ptr.params));
  };
  return finish(arena, c, {
    ptr,
    /** Work items of the kernel: any split of [0, items) gives the same bits. */
    items,
    scratchBytes,
    reset() {
      arena.fill(ptr.out, views.out.span);
      if (weightsToo) arena.fill(ptr.weights, weightFloats);
      arena.fill(ptr.scratch, Math.ceil(scratchBytes / 4));
    },
    run() {
      runItems(0, items);
      finishItems();
    },
    /** Items [begin, end) with this scratch (default: the case's); then finishItems() once. */
    runItems,
    finishItems,
    references() {
      const r = cached(env, key, () => referenceAttention(d, q, held.k.values, held.v.values));
      return weightsToo ? { out: r.out, weights: r.weights } : { out: r.out };
    },
  });
}

function prepareSoftmax(env, c) {
  const { k: kernels, heap } = env;
  const { rows, cols, ldx, scale, mask, visible } = c.dims;
  const key = `softmax ${JSON.stringify(c.dims)}`;
  const seed = hash32(key);
  const x = env.uniform(rows * cols, seed + 1, -4, 4);
  const maskRows = mask === 'full' ? rows : mask === 'row' ? 1 : 0;
  const maskValues = maskRows ? env.uniform(maskRows * cols, seed + 2, -3, 3) : null;
  if (maskValues) {
    for (let i = 0; i < maskValues.length; i += 5) maskValues[i] = -Infinity; // hidden entries
    if (maskRows > 1) maskValues.fill(-Infinity, cols, 2 * cols); // a row with nothing visible: zeros
  }
  const ldMask = mask === 'full' ? cols + PAD : 0;
  const arena = new Arena(heap);
  const xFloats = (rows - 1) * ldx + cols;
  const maskFloats = maskRows ? (maskRows - 1) * ldMask + cols : 0;
  const ptr = { x: arena.alloc(xFloats), mask: maskRows ? arena.alloc(maskFloats) : 0 };
  const xIdx = matrixIndices(rows, cols, ldx);
  if (maskValues) {
    arena.fill(ptr.mask, maskFloats);
    arena.scatter(ptr.mask, matrixIndices(maskRows, cols, ldMask), maskValues);
    arena.inputs.push({ name: 'mask', ptr: ptr.mask, floats: maskFloats, snapshot: arena.snapshot(ptr.mask, maskFloats) });
  }
  arena.outputs.push({ name: 'x', ptr: ptr.x, floats: xFloats, idx: xIdx });
  return finish(arena, c, {
    ptr,
    items: 0,
    scratchBytes: 0,
    /** x = the input again (softmax works in place), the sentinel in its gaps. */
    reset() {
      arena.fill(ptr.x, xFloats);
      arena.scatter(ptr.x, xIdx, x);
    },
    run() {
      kernels.softmax(ptr.x, ldx, rows, cols, scale, ptr.mask, ldMask, visible);
    },
    references() {
      return cached(env, key, () => ({ x: referenceSoftmax(c.dims, x, maskValues, maskRows > 1) }));
    },
  });
}

/** Rows of norm input data [rows, n] (see the header: 'unit', 'offset', 'small', 'special'). */
function normRowsData(env, data, rows, n, seed) {
  if (data === 'offset') return Float32Array.from(env.uniform(rows * n, seed), (u) => 1000 + u);
  if (data === 'small') return env.uniform(rows * n, seed, -1e-3, 1e-3);
  const x = env.uniform(rows * n, seed);
  if (data === 'special')
    for (let i = 0; i < rows; i++) {
      const row = x.subarray(i * n, (i + 1) * n);
      const at = (3 * i) % n;
      if (i % 4 === 1) row[at] = NaN;
      else if (i % 4 === 2) row[at] = i % 8 === 2 ? Infinity : -Infinity;
      else if (i % 4 === 3) row.fill(row[at]);
    }
  return x;
}

/** Elementwise input: uniform on [−6, 6], and for 'mixed' the special values at hashed positions. */
function elementwiseData(env, data, count, seed) {
  const x = env.uniform(count, seed, -6, 6);
  if (data === 'mixed')
    for (let i = 0; i < count; i++) {
      const h = hash32(`${seed} ${i}`);
      if (h % 3 === 0) x[i] = SPECIAL_VALUES[(h >>> 2) % SPECIAL_VALUES.length];
    }
  return x;
}

function prepareNorm(env, c) {
  const { k: kernels, heap } = env;
  const d = c.dims;
  const layer = c.kernel === 'layerNorm';
  const { rows, n, ldx, ldo } = d;
  const key = `${c.kernel} ${JSON.stringify(d)}`;
  const seed = hash32(key);
  const x = normRowsData(env, d.data, rows, n, seed + 1);
  const small = d.data === 'small' ? 1e-3 : 1;
  const residual = layer && d.residual ? env.uniform(rows * n, seed + 2, -small, small) : null;
  const weight = d.weight ? env.uniform(n, seed + 3, 0.5, 1.5) : null;
  const bias = layer && d.bias ? env.uniform(n, seed + 4, -0.5, 0.5) : null;
  const arena = new Arena(heap);
  const xFloats = (rows - 1) * ldx + n;
  const outFloats = (rows - 1) * ldo + n;
  const rFloats = residual ? (rows - 1) * d.ldr + n : 0;
  const ptr = { x: arena.alloc(xFloats), out: 0, residual: 0, weight: 0, bias: 0 };
  ptr.out = d.inPlace ? ptr.x : arena.alloc(outFloats);
  const xIdx = matrixIndices(rows, n, ldx);
  const outIdx = matrixIndices(rows, n, ldo);
  const inputs = [
    ['residual', residual, rFloats, residual ? matrixIndices(rows, n, d.ldr) : null],
    ['weight', weight, n, null],
    ['bias', bias, n, null],
  ];
  if (!d.inPlace) inputs.unshift(['x', x, xFloats, xIdx]);
  for (const [name, values, floats, idx] of inputs) {
    if (!values) continue;
    if (!ptr[name]) ptr[name] = arena.alloc(floats);
    arena.fill(ptr[name], floats);
    arena.scatter(ptr[name], idx ?? new Int32Array(floats).map((_, j) => j), values);
    arena.inputs.push({ name, ptr: ptr[name], floats, snapshot: arena.snapshot(ptr[name], floats) });
  }
  arena.outputs.push({ name: 'out', ptr: ptr.out, floats: outFloats, idx: outIdx });
  return finish(arena, c, {
    ptr,
    items: 0,
    scratchBytes: 0,
    /** out = the sentinel (in place: x again, the sentinel in its gaps). */
    reset() {
      arena.fill(ptr.out, outFloats);
      if (d.inPlace) arena.scatter(ptr.x, xIdx, x);
    },
    run() {
      if (layer) kernels.layerNorm(ptr.x, ldx, ptr.out, ldo, rows, n, ptr.weight, ptr.bias, d.eps, ptr.residual, d.ldr);
      else kernels.rmsNorm(ptr.x, ldx, ptr.out, ldo, rows, n, ptr.weight, d.eps);
    },
    references() {
      return cached(env, key, () => ({ out: layer ? referenceLayerNorm(d, x, residual, weight, bias) : referenceRmsNorm(d, x, weight) }));
    },
  });
}

function prepareElementwise(env, c) {
  const { k: kernels, heap } = env;
  const d = c.dims;
  const { count } = d;
  const key = `${c.kernel} ${JSON.stringify(d)}`;
  const seed = hash32(key);
  const arena = new Arena(heap);
  const all = new Int32Array(count).map((_, i) => i);
  // a: x (activation), gate (swiglu), x (addInPlace, mulInPlace); b: up (swiglu), y (addInPlace, mulInPlace)
  const inPlacePair = c.kernel === 'addInPlace' || c.kernel === 'mulInPlace';
  const a = inPlacePair ? env.uniform(count, seed + 1) : elementwiseData(env, d.data, count, seed + 1);
  const b = c.kernel === 'activation' ? null : env.uniform(count, seed + 2); // |up| ≤ 1: silu(3.4e38)·up stays finite in f32
  if (b && d.data === 'mixed') for (let i = 0; i < count; i += 7) b[i] = [NaN, 0, -0, 1e-30][(i / 7) % 4]; // NaN, signed zeros, tiny in up
  // where the output lands: its own buffer, or over a (in place, gate) or b (up)
  const outOver = inPlacePair ? 'a' : c.kernel === 'activation' ? (d.inPlace ? 'a' : null) : d.out === 'gate' ? 'a' : d.out === 'up' ? 'b' : null;
  const ptr = { a: arena.alloc(count), b: b ? arena.alloc(count) : 0, out: 0 };
  ptr.out = outOver ? ptr[outOver] : arena.alloc(count);
  for (const [name, values] of [
    ['a', a],
    ['b', b],
  ]) {
    if (!values || outOver === name) continue;
    arena.fill(ptr[name], count);
    arena.scatter(ptr[name], all, values);
    arena.inputs.push({ name, ptr: ptr[name], floats: count, snapshot: arena.snapshot(ptr[name], count) });
  }
  arena.outputs.push({ name: 'out', ptr: ptr.out, floats: count, idx: all });
  return finish(arena, c, {
    ptr,
    items: 0,
    scratchBytes: 0,
    /** out = the sentinel, or the input it overwrites. */
    reset() {
      if (outOver) arena.scatter(ptr.out, all, outOver === 'a' ? a : b);
      else arena.fill(ptr.out, count);
    },
    run() {
      if (c.kernel === 'activation') kernels.activation(ptr.a, ptr.out, count, ACTIVATION_KINDS[d.kind]);
      else if (c.kernel === 'swiglu') kernels.swiglu(ptr.a, ptr.b, ptr.out, count);
      else if (c.kernel === 'mulInPlace') kernels.mulInPlace(ptr.a, ptr.b, count);
      else kernels.addInPlace(ptr.a, ptr.b, count);
    },
    references() {
      return cached(env, key, () => {
        if (c.kernel === 'activation') return { out: referenceActivation(d.kind, a) };
        if (c.kernel === 'swiglu') return { out: referenceSwiglu(a, b) };
        if (c.kernel === 'mulInPlace') return { out: Float64Array.from(a, (v, i) => v * b[i]) };
        return { out: Float64Array.from(a, (v, i) => v + b[i]) };
      });
    },
  });
}

/** One failure line: kernel, build, every dim, the tile constants, what went wrong. */
export function failureMessage(c, build, tiles, result) {
  const tilesText = tileSummary(c.kernel, tiles);
  const what = [];
  for (const [name, r] of Object.entries(result.errors)) {
    if (r.ok) continue;
    const label = Object.keys(result.errors).length > 1 ? `${name}: ` : '';
    if (r.nanAt >= 0) what.push(`${label}NaN at element ${r.nanAt}`);
    else if (r.specialAt >= 0) what.push(`${label}element ${r.specialAt} is not the reference's NaN / ±Infinity`);
    else what.push(`${label}${r.absolute ? 'absolute' : 'normalised'} error ${r.error.toExponential(2)}`);
  }
  what.push(...result.problems);
  return `${c.kernel} ${build} ${describeDims(c)}${tilesText ? ` (${tilesText})` : ''}: ${what.join('; ')}`;
}

// ---- Q8 ------------------------------------------------------------------------------------------

/** Ties to even, as f32.nearest. */
function roundEven(v) {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : r;
}

/**
 * The literal float32 replica of quantizeRows8: per block of 32, d = fround(max|x|/127) (NaN when the
 * block holds a NaN or ±Infinity, then q = 0; 0 for a zero block), q = round-half-even(fround(x/d))
 * clamped to [−127, 127]. x [rows, k] contiguous → { q: Int8Array [rows, k], scales: Float32Array [rows, k/32] }.
 */
export function quantizeRows8Reference(x, rows, k, block = 32) {
  return quantizeRowsReference(x, rows, k, 127, new Int8Array(rows * k), block);
}

/** The literal float32 replica of quantizeRows16 (the activations of Q8 products): as quantizeRows8Reference with 4095 for 127, q an Int16Array. */
export function quantizeRows16Reference(x, rows, k, block = 32) {
  return quantizeRowsReference(x, rows, k, X16_MAX, new Int16Array(rows * k), block);
}

/** Largest level of quantizeRows16 (assembly/gemm/q8.ts X16_MAX). */
export const X16_MAX = 4095;

function quantizeRowsReference(x, rows, k, levels, q, block) {
  const scales = new Float32Array((rows * k) / block);
  for (let b = 0; b < scales.length; b++) {
    let amax = 0;
    for (let i = 0; i < block; i++) {
      const v = Math.abs(x[b * block + i]);
      amax = Number.isNaN(v) || Number.isNaN(amax) ? NaN : Math.max(amax, v);
    }
    const d = Math.fround(amax / levels);
    if (!(d < Infinity) || d === 0) {
      scales[b] = d === 0 ? 0 : NaN;
      continue;
    }
    scales[b] = d;
    for (let i = 0; i < block; i++) q[b * block + i] = Math.max(-levels, Math.min(levels, roundEven(Math.fround(x[b * block + i] / d))));
  }
  return { q, scales };
}

/**
 * y = Σ_b xs·ws·Σ_i xq·wq (+ bias) (+ c0) in float64: the product of the dequantized operands.
 * With `magnitude`, the sum of the magnitudes of those terms instead (|bias| + |c0| + Σ_b |xs·ws·Σ_i xq·wq|).
 */
export function referenceGemmQ8({ m, n, k }, xq, xs, wq, ws, bias = null, c0 = null, block = 32, magnitude = false) {
  const blocks = k / block;
  const c = new Float64Array(m * n);
  const f = magnitude ? Math.abs : (v) => v;
  for (let r = 0; r < m; r++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let b = 0; b < blocks; b++) {
        let dot = 0;
        for (let i = 0; i < block; i++) dot += xq[r * k + b * block + i] * wq[j * k + b * block + i];
        s += f(xs[r * blocks + b] * ws[j * blocks + b] * dot);
      }
      c[r * n + j] = f(c0 ? c0[r * n + j] : 0) + f(bias ? bias[j] : 0) + s;
    }
  return c;
}

/**
 * The literal float32 replica of quantizeRows4 (ggml's quantize_row_q4_0_ref with an f32 scale): per
 * block of 32, mx = the first element of largest magnitude, d = fround(mx/−8), id = fround(1/d),
 * q = min(15, trunc(fround(fround(x·id) + 8.5))) (0 when that is below 0 or NaN); a zero block gets
 * d = 0 and q = 8, a block holding NaN or ±Infinity d = NaN and q = 8. search: d = fround(mx/c) of
 * least f32 squared error Σ (x − d·(q − 8))² over c in Q4_SEARCH_DIVISORS (the first on a tie), the
 * error summed in four lanes (i mod 4) then (l0 + l2) + (l1 + l3), as the kernel. x [rows, k] contiguous →
 * { q: Uint8Array [rows, k/2] (byte i of a block: element i low nibble, element 16 + i high),
 *   values: Int8Array [rows, k] (q − 8, unpacked), scales: Float32Array [rows, k/32] }.
 */
export function quantizeRows4Reference(x, rows, k, block = 32, search = false) {
  const q = new Uint8Array((rows * k) / 2);
  const values = new Int8Array(rows * k);
  const scales = new Float32Array((rows * k) / block);
  const f = Math.fround;
  const nibble = (v, id) => {
    const t = f(f(v * id) + 8.5);
    return t >= 15 ? 15 : t > 0 ? Math.trunc(t) : 0;
  };
  for (let b = 0; b < scales.length; b++) {
    const xb = x.subarray ? x.subarray(b * block, (b + 1) * block) : Array.prototype.slice.call(x, b * block, (b + 1) * block);
    let amax = 0, mx = 0, finite = true;
    for (let i = 0; i < block; i++) {
      const v = xb[i], a = Math.abs(v);
      if (!(a < Infinity)) finite = false;
      if (amax < a) (amax = a, mx = v);
    }
    let d = f(mx / -8);
    const nib = new Int32Array(block).fill(8);
    if (!finite || d === 0) scales[b] = finite ? 0 : NaN;
    else {
      if (search) {
        // Σ (x − d·(q − 8))² in f32: lane l over i ≡ l (mod 4), then (l0 + l2) + (l1 + l3)
        const error = (dc) => {
          const id = f(1 / dc), lanes = [0, 0, 0, 0];
          for (let i = 0; i < block; i++) {
            const e = f(xb[i] - f(dc * (nibble(xb[i], id) - 8)));
            lanes[i % 4] = f(lanes[i % 4] + f(e * e));
          }
          return f(f(lanes[0] + lanes[2]) + f(lanes[1] + lanes[3]));
        };
        let best = error(d);
        for (const c of Q4_SEARCH_DIVISORS.slice(1)) {
          const dc = f(mx / c), e = error(dc);
          if (e < best) (best = e, d = dc);
        }
      }
      scales[b] = d;
      const id = f(1 / d);
      for (let i = 0; i < block; i++) nib[i] = nibble(xb[i], id);
    }
    for (let i = 0; i < block / 2; i++) q[(b * block) / 2 + i] = nib[i] | (nib[i + block / 2] << 4);
    for (let i = 0; i < block; i++) values[b * block + i] = nib[i] - 8;
  }
  return { q, values, scales };
}

/** The divisors c of the Q4 scale search, d = mx/c (assembly/gemm/q4.ts), as f32. */
export const Q4_SEARCH_DIVISORS = [-8, -7.8, -7.6, -7.4, -7.2, -7].map(Math.fround);

/** int8 values in [−127, 127] from the seeded generator. */
function int8Values(env, count, seed) {
  return Int8Array.from(env.uniform(count, seed, -127.49, 127.49), (v) => Math.round(v));
}

/** Input rows of quantizeRows8: uniform, each row at its own scale; 'special' adds ties, a zero block, NaN and ±Infinity. */
function quantizeData(env, d, seed, four = false, wide = false) {
  const { rows, k } = d;
  const x = env.uniform(rows * k, seed);
  for (let r = 0; r < rows; r++) {
    const scale = [1, 1e-3, 40, 1e-30, 3e4][r % 5];
    for (let i = 0; i < k; i++) x[r * k + i] = Math.fround(x[r * k + i] * scale);
  }
  if (d.data === 'special') {
    // block 0 of row 0: d = 1 exactly, and halves that round to even
    const top = wide ? X16_MAX : 127;
    x.set([top, 2.5, -3.5, 0.5, -0.5, 1.5, top - 0.5, -(top - 0.5)], 0);
    if (k > 32) x.fill(0, k - 32, k); // a zero block: d = 0, q = 0
    if (rows > 1) x[k + 5] = NaN;
    if (rows > 2) x[2 * k + 7] = -Infinity;
    if (rows > 3) x[3 * k + 1] = 1e-40; // subnormal: d rounds, x/d may pass the last level + 0.5 (clamped)
    if (four && k > 64) {
      // Q4, block 1 of row 0: mx = −8, so d = 1: halves round up (x + 8.5 truncated), 7.5 clamps to 15
      x.fill(0, 32, 64);
      x.set([-8, 0.5, -0.5, 1.5, -1.5, 7.5, 7, -7.5, 2.5, -2.5], 32);
      // block 2: +5 and −5 tie for the largest magnitude: the first (+5) sets d = −5/8
      x.fill(1, 64, 96);
      x.set([5, -5], 70);
    }
  }
  return x;
}

function prepareQuantize(env, c) {
  const { k: kernels, heap } = env;
  const d = c.dims;
  const { rows, k, ldx } = d;
  const four = c.kernel === 'quantizeRows4', wide = c.kernel === 'quantizeRows16';
  const key = `${c.kernel} ${JSON.stringify(d)}`;
  const x = quantizeData(env, d, hash32(key), four, wide);
  const arena = new Arena(heap);
  const xFloats = (rows - 1) * ldx + k;
  const qFloats = (rows * k) / (four ? 8 : wide ? 2 : 4);
  const sFloats = (rows * k) / 32;
  const ptr = { x: arena.alloc(xFloats), q: arena.alloc(qFloats), scales: arena.alloc(sFloats) };
  const xIdx = matrixIndices(rows, k, ldx);
  arena.fill(ptr.x, xFloats);
  arena.scatter(ptr.x, xIdx, x);
  arena.inputs.push({ name: 'x', ptr: ptr.x, floats: xFloats, snapshot: arena.snapshot(ptr.x, xFloats) });
  const all = (n) => new Int32Array(n).map((_, i) => i);
  arena.outputs.push({ name: 'scales', ptr: ptr.scales, floats: sFloats, idx: all(sFloats) });
  arena.outputs.push({ name: 'qBytes', ptr: ptr.q, floats: qFloats, idx: all(qFloats) });
  return finish(arena, c, {
    ptr,
    items: 0,
    scratchBytes: 0,
    tolerance: 0,
    reset() {
      arena.fill(ptr.q, qFloats);
      arena.fill(ptr.scales, sFloats);
    },
    run() {
      if (four) kernels.quantizeRows4(ptr.x, ldx, rows, k, ptr.q, ptr.scales, d.search ? 1 : 0);
      else if (wide) kernels.quantizeRows16(ptr.x, ldx, rows, k, ptr.q, ptr.scales);
      else kernels.quantizeRows8(ptr.x, ldx, rows, k, ptr.q, ptr.scales);
    },
    /** q as numbers (the int8s or int16s, or the bytes of packed nibbles), exact. */
    readOutputs() {
      if (four) return { q: Float32Array.from(new Uint8Array(heap.memory.buffer, ptr.q, (rows * k) / 2)) };
      if (wide) return { q: Float32Array.from(new Int16Array(heap.memory.buffer, ptr.q, rows * k)) };
      return { q: Float32Array.from(new Int8Array(heap.memory.buffer, ptr.q, rows * k)) };
    },
    references() {
      return cached(env, key, () => {
        const dense = new Float32Array(rows * k);
        for (let r = 0; r < rows; r++) dense.set(x.subarray(r * k, (r + 1) * k), r * k);
        const r = four ? quantizeRows4Reference(dense, rows, k, 32, d.search) : wide ? quantizeRows16Reference(dense, rows, k) : quantizeRows8Reference(dense, rows, k);
        return { q: Float64Array.from(r.q), scales: Float64Array.from(r.scales) };
      });
    },
  });
}

function prepareGemmQ8(env, c) {
  const { k: kernels, heap } = env;
  const d = c.dims;
  const { m, n, k, ldc } = d;
  const blocks = k / 32;
  const four = c.kernel === 'gemmQ4';
  const key = `${c.kernel} ${JSON.stringify(d)}`;
  const seed = hash32(key);
  // activations: Q8's int16 in [−4095, 4095], Q4's int8
  const xTop = four ? 127 : X16_MAX;
  const xq = four ? int8Values(env, m * k, seed + 1) : Int16Array.from(env.uniform(m * k, seed + 1, -xTop - 0.49, xTop + 0.49), (v) => Math.round(v));
  const wq = int8Values(env, n * k, seed + 2);
  // Q4: weight values q − 8 in [−8, 7] (nibbles 0…15)
  if (four) for (let i = 0; i < wq.length; i++) wq[i] = (((wq[i] % 16) + 16) % 16) - 8;
  // the largest block sums: row 0's first block ±xTop, column 0 the same signs (+32·xTop·127), column 1 the opposite
  for (let i = 0; i < 32; i++) {
    const s = (hash32(`${seed} ${i}`) & 1) === 1 ? 1 : -1;
    xq[i] = xTop * s;
    wq[i] = four ? (s > 0 ? 7 : -8) : 127 * s;
    if (n > 1) wq[k + i] = four ? (s > 0 ? -8 : 7) : -127 * s;
  }
  const xs = env.uniform(m * blocks, seed + 3, 1e-3, 2e-2);
  const ws = env.uniform(n * blocks, seed + 4, 1e-3, 2e-2);
  if (d.data === 'special') xs[1 * blocks + (blocks - 1)] = NaN; // row 1: NaN everywhere
  const biasValues = d.bias ? env.uniform(n, seed + 5) : null;
  const c0 = d.accumulate ? env.uniform(m * n, seed + 6) : null;
  const arena = new Arena(heap);
  const cFloats = (m - 1) * ldc + n;
  const wBytes = four ? k / 2 : k;
  const ptr = {
    xq: arena.alloc((m * k * xq.BYTES_PER_ELEMENT) / 4), xs: arena.alloc(m * blocks), wq: arena.alloc((n * wBytes) / 4), ws: arena.alloc(n * blocks),
    bias: d.bias ? arena.alloc(n) : 0, c: arena.alloc(cFloats), scratch: 0,
  };
  const scratchBytes = kernels.gemmQ8ScratchBytes(m, n, k);
  ptr.scratch = arena.alloc(Math.ceil(scratchBytes / 4));
  new (four ? Int8Array : Int16Array)(heap.memory.buffer, ptr.xq, m * k).set(xq);
  if (four) {
    const packed = new Uint8Array(heap.memory.buffer, ptr.wq, n * wBytes);
    for (let j = 0; j < n; j++)
      for (let b = 0; b < blocks; b++)
        for (let i = 0; i < 16; i++) {
          const e = j * k + 32 * b + i;
          packed[j * wBytes + 16 * b + i] = (wq[e] + 8) | ((wq[e + 16] + 8) << 4);
        }
    kernels.interleaveRows4(ptr.wq, n, k); // the order gemmQ4 reads (assembly/gemm/q4-layout.ts)
  } else new Int8Array(heap.memory.buffer, ptr.wq, n * k).set(wq);
  const all = (len) => new Int32Array(len).map((_, i) => i);
  arena.scatter(ptr.xs, all(m * blocks), xs);
  arena.scatter(ptr.ws, all(n * blocks), ws);
  if (biasValues) arena.scatter(ptr.bias, all(n), biasValues);
  for (const [name, p, floats] of [['xq', ptr.xq, (m * k * xq.BYTES_PER_ELEMENT) / 4], ['xs', ptr.xs, m * blocks], ['wq', ptr.wq, (n * wBytes) / 4], ['ws', ptr.ws, n * blocks], ['bias', ptr.bias, n]]) {
    if (p) arena.inputs.push({ name, ptr: p, floats, snapshot: arena.snapshot(p, floats) });
  }
  const cIdx = matrixIndices(m, n, ldc);
  arena.outputs.push({ name: 'C', ptr: ptr.c, floats: cFloats, idx: cIdx });
  return finish(arena, c, {
    ptr,
    items: 0,
    scratchBytes,
    tolerance: Q8_TOLERANCE,
    /** C = the sentinel, then c0 when accumulating; the scratch = the sentinel. */
    reset() {
      arena.fill(ptr.c, cFloats);
      if (c0) arena.scatter(ptr.c, cIdx, c0);
      arena.fill(ptr.scratch, Math.ceil(scratchBytes / 4));
    },
    run() {
      (four ? kernels.gemmQ4 : kernels.gemmQ8)(ptr.xq, ptr.xs, m, ptr.wq, ptr.ws, ptr.c, ldc, n, k, ptr.bias, d.accumulate ? 1 : 0, ptr.scratch);
    },
    /** Columns [j0, j1) as their own call (the work range). */
    runColumns(j0, j1) {
      (four ? kernels.gemmQ4 : kernels.gemmQ8)(ptr.xq, ptr.xs, m, ptr.wq + j0 * wBytes, ptr.ws + 4 * j0 * blocks, ptr.c + 4 * j0, ldc, j1 - j0, k, ptr.bias ? ptr.bias + 4 * j0 : 0, d.accumulate ? 1 : 0, ptr.scratch);
    },
    /** Rows [r0, r1) as their own call: a row's outputs must not depend on the other rows of the batch. */
    runRows(r0, r1) {
      // fewer rows never need more scratch than the whole call
      (four ? kernels.gemmQ4 : kernels.gemmQ8)(ptr.xq + r0 * k * xq.BYTES_PER_ELEMENT, ptr.xs + 4 * r0 * blocks, r1 - r0, ptr.wq, ptr.ws, ptr.c + 4 * r0 * ldc, ldc, n, k, ptr.bias, d.accumulate ? 1 : 0, ptr.scratch);
    },
    references() {
      return cached(env, key, () => ({ C: referenceGemmQ8(d, xq, xs, wq, ws, biasValues, c0) }));
    },
    /** The error is normalised by the magnitude of the terms (the f32 sum over blocks cancels in some elements). */
    magnitudes() {
      return cached(env, `${key} magnitude`, () => ({ C: referenceGemmQ8(d, xq, xs, wq, ws, biasValues, c0, 32, true) }));
    },
  });
}

// ---- 16-bit weights ------------------------------------------------------------------------------

/** The value of a 16-bit pattern, from the definition: f16 (bf16 = 0: 5 exponent, 10 mantissa bits) or bf16 (8, 7). */
export function halfValue(bits, bf16 = 0) {
  const [E, M] = bf16 ? [8, 7] : [5, 10];
  const bias = 2 ** (E - 1) - 1;
  const sign = (bits >> (E + M)) & 1 ? -1 : 1;
  const e = (bits >> M) & (2 ** E - 1);
  const m = bits & (2 ** M - 1);
  if (e === 2 ** E - 1) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** (1 - bias - M);
  return sign * (1 + m / 2 ** M) * 2 ** (e - bias);
}

/** 16-bit patterns near uniform values in [−1, 1]: bf16 the top 16 bits of the f32; f16 truncated (any finite pattern will do). */
function halfPatterns(env, count, seed, bf16) {
  const f = env.uniform(count, seed);
  const u = new Uint32Array(f.buffer, f.byteOffset, count);
  // f16: the f32's sign, its exponent rebiased (below f16's normals: exponent field 0, a subnormal), its top 10 mantissa bits
  return Uint16Array.from(u, (x) => (bf16 ? x >>> 16 : ((x >>> 16) & 0x8000) | (Math.max(0, ((x >>> 23) & 0xff) - 112) << 10) | ((x >>> 13) & 0x3ff)));
}

function prepareGemmHalf(env, c) {
  const { k: kernels, heap } = env;
  const d = c.dims;
  const { m, n, k, lda, ldc, bf16 } = d;
  const key = `gemmHalf ${JSON.stringify(d)}`;
  const seed = hash32(key);
  const a = env.uniform(m * k, seed + 1);
  const w = halfPatterns(env, n * k, seed + 2, bf16);
  if (d.data === 'special') {
    // row 0: +∞ at its last value; row 1 (if any): NaN; row 2: −∞; rows 3…: a subnormal first value
    // (only beside other terms: a bf16 subnormal times a(i) underflows f32 itself)
    const [inf, nan] = bf16 ? [0x7f80, 0x7fc1] : [0x7c00, 0x7e01];
    w[k - 1] = inf;
    if (n > 1) w[k + (k >> 1)] = nan;
    if (n > 2) w[2 * k] = inf | 0x8000;
    for (let j = 3; j < n && k > 1; j++) w[j * k] = j & 1 ? 0x0003 : 0x8001;
  }
  const wide = Float64Array.from(w, (h) => halfValue(h, bf16));
  // the kernels' format code: 1 bf16; f16 with no ±∞ / NaN pattern 2 (the shorter conversion), else 0
  const format = bf16 ? 1 : w.every((h) => (h & 0x7c00) !== 0x7c00) ? 2 : 0;
  const biasValues = d.bias ? env.uniform(n, seed + 3) : null;
  const c0 = d.accumulate ? env.uniform(m * n, seed + 4) : null;
  const arena = new Arena(heap);
  const aFloats = (m - 1) * lda + k;
  const wFloats = Math.ceil((n * k) / 2);
  const cFloats = (m - 1) * ldc + n;
  const scratchBytes = kernels.gemmHalfScratchBytes(m, n, k);
  const ptr = { a: arena.alloc(aFloats), w: arena.alloc(wFloats), bias: d.bias ? arena.alloc(n) : 0, c: arena.alloc(cFloats), scratch: 0 };
  ptr.scratch = arena.alloc(Math.ceil(scratchBytes / 4));
  const aIdx = matrixIndices(m, k, lda);
  const cIdx = matrixIndices(m, n, ldc);
  arena.fill(ptr.a, aFloats);
  arena.scatter(ptr.a, aIdx, a);
  arena.fill(ptr.w, wFloats);
  new Uint16Array(heap.memory.buffer, ptr.w, n * k).set(w);
  if (biasValues) (arena.fill(ptr.bias, n), arena.scatter(ptr.bias, new Int32Array(n).map((_, j) => j), biasValues));
  for (const [name, p, floats] of [['A', ptr.a, aFloats], ['W', ptr.w, wFloats], ['bias', ptr.bias, n]]) {
    if (p) arena.inputs.push({ name, ptr: p, floats, snapshot: arena.snapshot(p, floats) });
  }
  arena.outputs.push({ name: 'C', ptr: ptr.c, floats: cFloats, idx: cIdx });
  return finish(arena, c, {
    ptr,
    items: 0,
    scratchBytes,
    reset() {
      arena.fill(ptr.c, cFloats);
      if (c0) arena.scatter(ptr.c, cIdx, c0);
      arena.fill(ptr.scratch, Math.ceil(scratchBytes / 4));
    },
    run() {
      kernels.gemmHalf(ptr.a, lda, ptr.w, ptr.c, ldc, m, n, k, format, ptr.bias, d.accumulate ? 1 : 0, ptr.scratch);
    },
    references() {
      return cached(env, key, () => ({ C: referenceGemm({ m, n, k, transB: 1 }, a, wide, biasValues, c0) }));
    },
  });
}

/**
 * The float64 dequantization of Q8 or Q4 rows (the twin of src/reference/ops/dequantize.ts):
 * out[r, 32b + i] = scales[r, b]·v[r, 32b + i], v the int8 values (Q8) or the unpacked q − 8 (Q4).
 */
export function dequantizeRowsReference(values, scales, rows, k, block = 32) {
  const out = new Float64Array(rows * k);
  for (let i = 0; i < rows * k; i++) out[i] = scales[Math.floor(i / block)] * values[i];
  return out;
}

function prepareDequantize(env, c) {
  const { k: kernels, heap } = env;
  const d = c.dims;
  const { rows, k, ldo } = d;
  const four = c.kernel === 'dequantizeRows4';
  const key = `${c.kernel} ${JSON.stringify(d)}`;
  // the values and scales quantizeRows8 / quantizeRows4 make of the quantize cases' data (NaN scales in 'special')
  const x = quantizeData(env, { rows, k, data: d.data }, hash32(key), four);
  const quantized = four ? quantizeRows4Reference(x, rows, k) : quantizeRows8Reference(x, rows, k);
  const values = four ? quantized.values : quantized.q;
  const arena = new Arena(heap);
  const qBytes = four ? (rows * k) / 2 : rows * k;
  const sFloats = (rows * k) / 32;
  const outFloats = (rows - 1) * ldo + k;
  const ptr = { q: arena.alloc(qBytes / 4), scales: arena.alloc(sFloats), out: arena.alloc(outFloats) };
  new Uint8Array(heap.memory.buffer, ptr.q, qBytes).set(new Uint8Array(quantized.q.buffer, quantized.q.byteOffset, qBytes));
  if (four) kernels.interleaveRows4(ptr.q, rows, k); // the order dequantizeRows4 reads (assembly/gemm/q4-layout.ts)
  const all = (n) => new Int32Array(n).map((_, i) => i);
  arena.scatter(ptr.scales, all(sFloats), quantized.scales);
  arena.inputs.push({ name: 'q', ptr: ptr.q, floats: qBytes / 4, snapshot: arena.snapshot(ptr.q, qBytes / 4) });
  arena.inputs.push({ name: 'scales', ptr: ptr.scales, floats: sFloats, snapshot: arena.snapshot(ptr.scales, sFloats) });
  const outIdx = matrixIndices(rows, k, ldo);
  arena.outputs.push({ name: 'out', ptr: ptr.out, floats: outFloats, idx: outIdx });
  const run = four ? kernels.dequantizeRows4 : kernels.dequantizeRows8;
  return finish(arena, c, {
    ptr,
    items: 0,
    scratchBytes: 0,
    tolerance: DEQUANTIZE_TOLERANCE,
    reset() {
      arena.fill(ptr.out, outFloats);
    },
    run() {
      run(ptr.q, ptr.scales, rows, k, ptr.out, ldo);
    },
    references() {
      return cached(env, key, () => ({ out: dequantizeRowsReference(values, quantized.scales, rows, k) }));
    },
  });
}

// ---- KV cache element types -----------------------------------------------------------------------

const HALF = new Float32Array(1);
const HALF_BITS = new Uint32Array(HALF.buffer);

/** The bits of the half nearest x (x a float32 value), ties to even; ±Infinity past 65504 + 16, NaN → 0x7e00 (signed). */
export function halfBits(x) {
  HALF[0] = x;
  const sign = (HALF_BITS[0] >>> 16) & 0x8000;
  const a = Math.abs(x);
  if (Number.isNaN(x)) return sign | 0x7e00;
  if (a >= 65520) return sign | 0x7c00;
  // the half grid: spacing 2^(e − 10) for a in [2^e, 2^(e + 1)), e ≥ −14; 2^−24 below 2^−14
  const e = a < 2 ** -14 ? -14 : Math.floor(Math.log2(a));
  const step = 2 ** (e - 10);
  const m = roundEven(a / step); // exact: a / step is a float32 value times a power of two
  const value = m * step;
  if (value === 0) return sign;
  // encode value (normal or subnormal half)
  if (value < 2 ** -14) return sign | (value / 2 ** -24);
  const ex = Math.floor(Math.log2(value));
  return sign | ((ex + 15) << 10) | (value / 2 ** (ex - 10) - 1024);
}

/** One head of dh values → { q: int8s, scale } (float64 twin of storeRowsQ8's arithmetic). */
export function quantizeHeadQ8(x, offset, dh) {
  let amax = 0;
  for (let e = 0; e < dh; e++) {
    const a = Math.abs(x[offset + e]);
    amax = Number.isNaN(a) || Number.isNaN(amax) ? NaN : Math.max(amax, a);
  }
  const q = new Int8Array(dh);
  if (!(amax < Infinity)) return { q, scale: NaN };
  const scale = Math.fround(amax / 127);
  if (scale !== 0) for (let e = 0; e < dh; e++) q[e] = Math.max(-127, Math.min(127, roundEven(x[offset + e] / scale)));
  return { q, scale };
}

/**
 * `count` rows of `dim` values as a cache of kvDtype holds them: { values (float64, what attention
 * sees), bits (f16), q and scales (q8) }.
 */
function heldValues(kvDtype, x, count, dim) {
  if (kvDtype === 'f32') return { values: x };
  if (kvDtype === 'f16') {
    const bits = Uint16Array.from(x, halfBits);
    return { values: Float64Array.from(bits, (h) => halfValue(h)), bits };
  }
  const q = new Int8Array(count * dim), scales = new Float32Array(count), values = new Float64Array(count * dim);
  for (let r = 0; r < count; r++) {
    const h = quantizeHeadQ8(x, r * dim, dim);
    q.set(h.q, r * dim);
    scales[r] = h.scale;
    for (let e = 0; e < dim; e++) values[r * dim + e] = h.q[e] * h.scale;
  }
  return { values, q, scales };
}

/** The values of a cache append: uniform with per-row magnitudes, and the edges of halves and of q8. */
function storeData(env, d, seed) {
  const n = d.heads * d.dh;
  const x = env.uniform(d.rows * n, seed);
  for (let r = 0; r < d.rows; r++) {
    const scale = [1, 1e-3, 4e4, 1e-6, 3][r % 5];
    for (let i = 0; i < n; i++) x[r * n + i] = Math.fround(x[r * n + i] * scale);
  }
  if (d.data === 'special') {
    // halves: the largest, the overflow tie, ties to even, the subnormal grid, and SPECIAL_VALUES
    const edges = [65504, 65519, 65520, -65536, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24, 2 ** -25, 3 * 2 ** -25, -(2 ** -15) * 1.5, 6.1e-5, 1e-42];
    edges.concat(SPECIAL_VALUES).forEach((v, i) => { if (i < x.length) x[(i * 7) % x.length] = Math.fround(v); });
    if (d.dh > 8) x.set([127, 63.5, -0.5, 2.5, -1.5, 0, 0, 0, 0], 0); // a head whose max is 127 (scale 1) when its other values are small: ties to even
  }
  return x;
}

function prepareStoreRows(env, c) {
  const { k: kernels, heap } = env;
  const d = c.dims;
  const { rows, heads, dh, ldx } = d;
  const half = c.kernel === 'storeRowsF16';
  const n = heads * dh;
  const key = `${c.kernel} ${JSON.stringify(d)}`;
  const x = storeData(env, d, hash32(key));
  const arena = new Arena(heap);
  const xFloats = (rows - 1) * ldx + n;
  const outFloats = Math.ceil((rows * n * (half ? 2 : 1)) / 4);
  const ptr = { x: arena.alloc(xFloats), out: arena.alloc(outFloats), scales: half ? 0 : arena.alloc(rows * heads) };
  arena.fill(ptr.x, xFloats);
  arena.scatter(ptr.x, matrixIndices(rows, n, ldx), x);
  arena.inputs.push({ name: 'x', ptr: ptr.x, floats: xFloats, snapshot: arena.snapshot(ptr.x, xFloats) });
  const all = (m) => new Int32Array(m).map((_, i) => i);
  arena.outputs.push({ name: 'bytes', ptr: ptr.out, floats: outFloats, idx: all(outFloats) });
  if (!half) arena.outputs.push({ name: 'scales', ptr: ptr.scales, floats: rows * heads, idx: all(rows * heads) });
  return finish(arena, c, {
    ptr,
    items: 0,
    scratchBytes: 0,
    tolerance: 0,
    reset() {
      arena.fill(ptr.out, outFloats);
      if (!half) arena.fill(ptr.scales, rows * heads);
    },
    run() {
      if (half) kernels.storeRowsF16(ptr.x, ldx, rows, n, ptr.out, n);
      else kernels.storeRowsQ8(ptr.x, ldx, rows, heads, dh, ptr.out, n, ptr.scales, heads);
    },
    /** The halves' bits or the int8s, as numbers: exact. */
    readOutputs() {
      if (half) return { values: Float32Array.from(new Uint16Array(heap.memory.buffer, ptr.out, rows * n)) };
      return { values: Float32Array.from(new Int8Array(heap.memory.buffer, ptr.out, rows * n)) };
    },
    references() {
      return cached(env, key, () => {
        if (half) return { values: Float64Array.from(x, halfBits) };
        const values = new Float64Array(rows * n), scales = new Float64Array(rows * heads);
        for (let r = 0; r < rows * heads; r++) {
          const h = quantizeHeadQ8(x, r * dh, dh);
          values.set(h.q, r * dh);
          scales[r] = h.scale;
        }
        return { values, scales };
      });
    },
  });
}
