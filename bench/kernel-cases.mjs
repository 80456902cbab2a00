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
// Live pairs: key j is visible to query i of batch b when j ≤ i + Lk − Lq (if causal) and
// j < keyLengths[b] (if given); a query with no visible key outputs zeros and zero weights.
//
// prepareCase(env, case) puts a case's inputs into Wasm memory (seeded from its dims, so every build
// and the bench see the same values), runs the raw kernel and checks it: ONE tolerance for every
// kernel, the normalised error ‖got − ref‖₂ / ‖ref‖₂ ≤ 1e-5 (ggml's NMSE; ‖ref‖₂ = 0: ‖got‖₂ ≤ 1e-6;
// NaN fails), no write outside the outputs (gaps and fresh outputs hold a NaN sentinel), no input
// modified. Gaps of strided inputs and the scratch hold the sentinel too, so a kernel that reads
// what it should not gets NaN.

/** Normalised error bound ‖got − ref‖₂ / ‖ref‖₂ of every kernel. */
export const TOLERANCE = 1e-5;
/** Absolute bound ‖got‖₂ when the reference is all zeros. */
export const ZERO_TOLERANCE = 1e-6;
/** The f32x4 width (Wasm SIMD fixes it; not a tile constant). */
export const LANES = 4;
/** Extra floats per row of the strided layouts. */
export const PAD = 3;
/** A quiet NaN with a payload: fills gaps, fresh outputs and scratch; a write leaves another value. */
export const SENTINEL = 0x7fc0beef;

export const KERNELS = ['gemm', 'attention', 'attentionWeights', 'softmax'];

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
        `keyLengths=${d.keyLengths ? `[${d.keyLengths.join(',')}]` : 'none'} layout=${d.layout} scale=${d.scale.toPrecision(6)}`
      );
    case 'softmax':
      return `rows=${d.rows} cols=${d.cols} ldx=${d.ldx} scale=${d.scale} mask=${d.mask} visible=${d.visible}`;
  }
  throw new Error(`unknown kernel ${c.kernel}`);
}

/** The tile constants a kernel's edges depend on, e.g. "MR=4 NR=8 KC=512 MC=128 DIRECT_M=16 NB=16". */
export function tileSummary(kernel, tiles) {
  const g = tiles.gemm, a = tiles.attention;
  const gemm = `MR=${g.MR} NR=${g.NR} KC=${g.KC} MC=${g.MC} DIRECT_M=${g.DIRECT_M} NB=${g.NB}`;
  const attention = `QB=${a.QB} KB=${a.KB} PW=${a.PW} DIRECT_MAX_LQ=${a.DIRECT_MAX_LQ}`;
  switch (kernel) {
    case 'gemm':
      return gemm;
    case 'attention':
      return attention;
    case 'attentionWeights': // per head: gemm (QKᵀ, W·V) and the row softmax
      return `${attention} ${gemm}`;
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

/** attention dims with defaults: dv = d, scale = fround(1/√d), contiguous [B, H, L, D]. */
export function attentionDims({ batch = 1, heads = 1, lq, lk, d, dv = d, causal = false, keyLengths = null, layout = 'bhld', scale }) {
  return { batch, heads, lq, lk, d, dv, scale: Math.fround(scale ?? 1 / Math.sqrt(d)), causal, keyLengths, layout };
}

/**
 * Every case for these tile constants: the edge cases (edge: true) and the sizes worth timing
 * (perf: true; `tiny` shrinks them, for the bench's own test).
 */
export function kernelCases(tiles, { tiny = false } = {}) {
  const { MR, NR, KC, MC, DIRECT_M, NB } = tiles.gemm;
  const { QB, KB, PW, DIRECT_MAX_LQ } = tiles.attention;
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
  );

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
  cases.push(makeCase('attentionWeights', attentionDims({ heads: 8, lq: L(256), lk: L(256), d: 64 }), { ...perf, name: `attentionWeights B1 H8 L${L(256)} D64` }));
  cases.push(makeCase('softmax', { rows: L(256), cols: L(1024), ldx: L(1024), scale: 0.125, mask: 'none', visible: L(1024) }, { ...perf, name: `softmax ${L(256)} rows × ${L(1024)}` }));
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

/**
 * The one tolerance rule: { error, absolute, ok, nanAt }. error = ‖got − ref‖₂ / ‖ref‖₂ (absolute:
 * ‖got − ref‖₂ when ‖ref‖₂ = 0); a NaN in got fails (error = Infinity).
 */
export function compare(got, ref) {
  if (got.length !== ref.length) return { error: Infinity, absolute: false, ok: false, nanAt: -1 };
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(got[i])) return { error: Infinity, absolute: false, ok: false, nanAt: i };
    diff += (got[i] - ref[i]) ** 2;
    norm += ref[i] ** 2;
  }
  if (norm === 0) {
    const error = Math.sqrt(diff);
    return { error, absolute: true, ok: error <= ZERO_TOLERANCE, nanAt: -1 };
  }
  const error = Math.sqrt(diff / norm);
  return { error, absolute: false, ok: error <= TOLERANCE, nanAt: -1 };
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
 * Puts case `c` into Wasm memory. env: { k (raw kernels), heap (src/memory.ts Heap),
 * writeAttentionParams, uniform (the seeded generator), cache? (a Map: references shared by builds) }.
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
      return Object.fromEntries(arena.outputs.map((o) => [o.name, arena.gather(o.ptr, o.idx)]));
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
        const r = compare(got[name], want[name]);
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
  const ptr = { q: arena.alloc(views.q.span), k: arena.alloc(views.k.span), v: arena.alloc(views.v.span), out: arena.alloc(views.out.span) };
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
    arena.fill(ptr[name], views[name].span);
    arena.scatter(ptr[name], viewIndices(B, H, L, dim, views[name]), values);
    arena.inputs.push({ name, ptr: ptr[name], floats: views[name].span, snapshot: arena.snapshot(ptr[name], views[name].span) });
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
  });
  if (d.keyLengths) arena.inputs.push({ name: 'keyLengths', ptr: ptr.keyLengths, floats: B, snapshot: arena.snapshot(ptr.keyLengths, B) });
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
    },
    /** Items [begin, end) with this scratch (default: the case's). */
    runItems,
    references() {
      const r = cached(env, key, () => referenceAttention(d, q, kv, v));
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

/** One failure line: kernel, build, every dim, the tile constants, what went wrong. */
export function failureMessage(c, build, tiles, result) {
  const tilesText = tileSummary(c.kernel, tiles);
  const what = [];
  for (const [name, r] of Object.entries(result.errors)) {
    if (r.ok) continue;
    const label = Object.keys(result.errors).length > 1 ? `${name}: ` : '';
    if (r.nanAt >= 0) what.push(`${label}NaN at element ${r.nanAt}`);
    else what.push(`${label}${r.absolute ? 'absolute' : 'normalised'} error ${r.error.toExponential(2)}`);
  }
  what.push(...result.problems);
  return `${c.kernel} ${build} ${describeDims(c)}${tilesText ? ` (${tilesText})` : ''}: ${what.join('; ')}`;
}
