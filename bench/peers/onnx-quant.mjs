// The low-precision ONNX files transformers.js ships next to onnx/model.onnx, written here from the
// same float32 weights the way its converter (transformers.js scripts/convert.py → quantize.py, on
// onnxruntime.quantization) writes them, so the bench's peers run what transformers.js users run:
//
//   'q8' → onnx/model_quantized.onnx: onnxruntime's dynamic quantization (IntegerOps mode, weights
//     QInt8, activations QUInt8 at run time). Every MatMul with a constant B becomes
//       DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_q, x_zp, W_zp) → Cast(float)
//       → Mul(·, x_scale · W_scale)
//     (onnxruntime's optimizer fuses it into com.microsoft DynamicQuantizeMatMul when it can); one
//     DynamicQuantizeLinear per activation, shared by the MatMuls that read it (Q, K, V). W_q is int8,
//     symmetric (zero point 0): per output column and 7-bit (−64 … 64, reduce_range) for encoders
//     like BERT; per tensor, −127 … 127, for decoder-only LMs (convert.py's
//     NO_PER_CHANNEL_REDUCE_RANGE_MODELS: llama, qwen2, …). Gathers from a constant table (the
//     embeddings) read a uint8 copy (asymmetric, per tensor, 0 … 255) → DequantizeLinear.
//     Scales as onnxruntime computes them: (rmax − rmin) / (qmax − qmin) over the range widened to
//     include 0 (± the larger magnitude when symmetric), values rounded half to even (numpy).
//   'q4' → onnx/model_q4.onnx: onnxruntime's MatMul4BitsQuantizer (block 32, symmetric, the
//     quantize.py defaults): every MatMul with a constant B becomes com.microsoft MatMulNBits
//     (bits 4, block_size 32, no accuracy_level), B uint8 [N, K/32, 16] (the 32 values of a block
//     two to a byte, the first in the low nibble), scales float32 [N, K/32], no zero points (8 by
//     default): a block's scale is its largest-magnitude value / −8 and q = clamp(round(x / scale) + 8,
//     0, 15) (MLAS's blockwise quantizer). Gathers stay float32.
import { initializer, intAttr, node, transposed, typedInitializer } from './onnx-graph.mjs';

const UINT8 = 2, INT8 = 3, FLOAT = 1;

/** The ONNX file per dtype, as transformers.js names them (its dtype option → the file suffix). */
export const ONNX_FILES = { f32: 'model.onnx', q8: 'model_quantized.onnx', q4: 'model_q4.onnx' };
/** What each file holds, in a few words (for the bench reports). */
export const ONNX_FORMATS = {
  f32: 'float32 MatMul',
  q8: 'int8 weights, activations quantized at run time (DynamicQuantizeLinear → MatMulInteger)',
  q4: 'com.microsoft MatMulNBits, 4-bit blocks of 32 with a float32 scale',
};

/** numpy's round: half to even. */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** onnxruntime's compute_scale_zp on the range [rmin, rmax] for integers qmin … qmax. */
function scaleZeroPoint(rmin, rmax, qmin, qmax, symmetric) {
  rmin = Math.min(rmin, 0);
  rmax = Math.max(rmax, 0);
  if (symmetric) {
    const m = Math.max(-rmin, rmax);
    [rmin, rmax] = [-m, m];
  }
  const scale = (rmax - rmin) / (qmax - qmin);
  if (!(scale >= 1.1754943508222875e-38)) return { scale: 1, zp: 0 };
  return { scale: Math.fround(scale), zp: symmetric ? roundHalfEven((qmin + qmax) / 2) : roundHalfEven(qmin - rmin / scale) };
}

const quantizeValue = (x, scale, zp, qmin, qmax) => Math.min(qmax, Math.max(qmin, roundHalfEven(Math.fround(x / scale)) + zp));

/**
 * int8 symmetric quantization of a MatMul's B [K, N] (row-major): per tensor, or per output column
 * (`perChannel`); −64 … 64 with `reduceRange`, else −127 … 127. → { q Int8Array [K·N], scale and
 * zp (Float32Array / Int8Array of 1 or N) }.
 */
export function quantizeInt8(b, K, N, { perChannel = false, reduceRange = false } = {}) {
  const [qmin, qmax] = reduceRange ? [-64, 64] : [-127, 127];
  const channels = perChannel ? N : 1;
  const scale = new Float32Array(channels), zp = new Int8Array(channels), q = new Int8Array(K * N);
  const lo = new Float64Array(channels).fill(Infinity), hi = new Float64Array(channels).fill(-Infinity);
  for (let i = 0; i < K * N; i++) {
    const c = perChannel ? i % N : 0;
    if (b[i] < lo[c]) lo[c] = b[i];
    if (b[i] > hi[c]) hi[c] = b[i];
  }
  for (let c = 0; c < channels; c++) {
    const s = scaleZeroPoint(lo[c], hi[c], qmin, qmax, true);
    scale[c] = s.scale;
    zp[c] = s.zp;
  }
  for (let i = 0; i < K * N; i++) {
    const c = perChannel ? i % N : 0;
    q[i] = quantizeValue(b[i], scale[c], zp[c], qmin, qmax);
  }
  return { q, scale, zp };
}

/** uint8 asymmetric per-tensor quantization (0 … 255) of a table. → { q Uint8Array, scale, zp }. */
export function quantizeUint8(t) {
  let lo = Infinity, hi = -Infinity;
  for (const x of t) (lo = Math.min(lo, x)), (hi = Math.max(hi, x));
  const { scale, zp } = scaleZeroPoint(lo, hi, 0, 255, false);
  return { q: Uint8Array.from(t, (x) => quantizeValue(x, scale, zp, 0, 255)), scale, zp };
}

/**
 * MatMulNBits's B from a weight W [N, K] in Hugging Face's layout (out × in; K a multiple of 32):
 * → { packed Uint8Array [N, K/32, 16], scales Float32Array [N, K/32] }.
 */
export function quantizeNBits4(w, N, K, block = 32) {
  if (K % block) throw new Error(`MatMulNBits: K ${K} is not a multiple of the block size ${block}`);
  const blocks = K / block;
  const packed = new Uint8Array((N * K) / 2), scales = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++)
    for (let kb = 0; kb < blocks; kb++) {
      const at = n * K + kb * block;
      let amax = 0, max = 0;
      for (let i = 0; i < block; i++) if (Math.abs(w[at + i]) > amax) (amax = Math.abs(w[at + i])), (max = w[at + i]);
      const scale = Math.fround(max / -8);
      const inv = scale ? Math.fround(1 / scale) : 0;
      scales[n * blocks + kb] = scale;
      // roundf: ties away from zero
      const q = (x) => {
        const t = Math.fround(x * inv);
        return Math.min(15, Math.max(0, Math.sign(t) * Math.round(Math.abs(t)) + 8));
      };
      for (let i = 0; i < block; i += 2) packed[(at + i) / 2] = q(w[at + i]) | (q(w[at + i + 1]) << 4);
    }
  return { packed, scales };
}

/**
 * The MatMul of a Linear layer in `dtype`, emitted into `nodes` / `inits`:
 * linear(x, name, w, n, k, y): y = x · Wᵀ for W [n, k] (Hugging Face's out × in layout), as
 *   f32: MatMul(x, name) with name = Wᵀ [k, n];
 *   q8:  (shared) DynamicQuantizeLinear(x) → MatMulInteger → Cast → Mul(x_scale · W_scale);
 *   q4:  MatMulNBits(x, name_Q4, name_scales).
 * `opts`: { perChannel, reduceRange } for q8 (see the header).
 */
export function linearOps(dtype, nodes, inits, opts = {}) {
  const quantized = new Set(); // activations with a DynamicQuantizeLinear already
  return (x, name, w, n, k, y) => {
    if (dtype === 'f32') {
      inits.push(initializer(name, transposed(w, n, k), [k, n]));
      nodes.push(node('MatMul', [x, name], [y]));
    } else if (dtype === 'q8') {
      const { q, scale, zp } = quantizeInt8(transposed(w, n, k), k, n, opts);
      const shape = scale.length === 1 ? [] : [n];
      inits.push(typedInitializer(`${name}_quantized`, q, [k, n], INT8), typedInitializer(`${name}_scale`, scale, shape, FLOAT), typedInitializer(`${name}_zero_point`, zp, shape, INT8));
      if (!quantized.has(x)) {
        quantized.add(x);
        nodes.push(node('DynamicQuantizeLinear', [x], [`${x}_quantized`, `${x}_scale`, `${x}_zero_point`]));
      }
      nodes.push(
        node('MatMulInteger', [`${x}_quantized`, `${name}_quantized`, `${x}_zero_point`, `${name}_zero_point`], [`${y}_int32`]),
        node('Cast', [`${y}_int32`], [`${y}_cast`], { attrs: [intAttr('to', FLOAT)] }),
        node('Mul', [`${x}_scale`, `${name}_scale`], [`${y}_scales`]),
        node('Mul', [`${y}_cast`, `${y}_scales`], [y]),
      );
    } else if (dtype === 'q4') {
      const { packed, scales } = quantizeNBits4(w, n, k);
      inits.push(typedInitializer(`${name}_Q4`, packed, [n, k / 32, 16], UINT8), typedInitializer(`${name}_scales`, scales, [n, k / 32], FLOAT));
      nodes.push(node('MatMulNBits', [x, `${name}_Q4`, `${name}_scales`], [y], { domain: 'com.microsoft', attrs: [intAttr('K', k), intAttr('N', n), intAttr('bits', 4), intAttr('block_size', 32)] }));
    } else throw new Error(`linearOps: dtype '${dtype}' is not one of f32, q8, q4`);
  };
}

/**
 * A Gather from a constant table [rows, cols] in `dtype` → y: q8 gathers from a uint8 copy and
 * dequantizes (DequantizeLinear); f32 and q4 gather from the float32 table (the initializer `name`,
 * added here unless `shared`, a table already in `inits`).
 */
export function gatherOps(dtype, nodes, inits) {
  return (name, table, shape, indices, y, { shared = false } = {}) => {
    if (dtype === 'q8') {
      const { q, scale, zp } = quantizeUint8(table);
      inits.push(typedInitializer(`${name}_quantized`, q, shape, UINT8), typedInitializer(`${name}_scale`, Float32Array.of(scale), [], FLOAT), typedInitializer(`${name}_zero_point`, Uint8Array.of(zp), [], UINT8));
      nodes.push(node('Gather', [`${name}_quantized`, indices], [`${y}_quantized`]), node('DequantizeLinear', [`${y}_quantized`, `${name}_scale`, `${name}_zero_point`], [y]));
    } else {
      if (!shared) inits.push(initializer(name, table, shape));
      nodes.push(node('Gather', [name, indices], [y]));
    }
  };
}
