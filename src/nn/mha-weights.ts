/**
 * The two state_dict forms a multi-head attention module loads, checked and stacked into one
 * resident in-projection [(H + 2·Hk)·Dh, E] (q rows, then k rows, then v rows) and one
 * out-projection [E, H·Dh], so self-attention is one gemm in and one gemm out either way:
 *   PyTorch `nn.MultiheadAttention`: in_proj_weight [3E, E], in_proj_bias [3E], out_proj.weight
 *     [E, E], out_proj.bias [E] (no biases with `bias: false`);
 *   Hugging Face Llama-style: q_proj.weight [H·Dh, E], k_proj.weight, v_proj.weight [Hk·Dh, E],
 *     o_proj.weight [E, H·Dh], each `.bias` optional (Qwen has q/k/v biases).
 */
import { Tensor, type Heap } from '../engine/memory.js';
import { asDtype, isHalfDtype, isQ8, isQuantizedData, type QuantizedData, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import type { Workspace } from '../engine/workspace.js';
import { checkWeight, type Checked } from '../engine/validate.js';
import { residentMatrix, residentWeights } from '../engine/weights.js';

export const TORCH_NAMES = ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'] as const;
export const SPLIT_NAMES = ['q_proj.weight', 'q_proj.bias', 'k_proj.weight', 'k_proj.bias', 'v_proj.weight', 'v_proj.bias', 'o_proj.weight', 'o_proj.bias'] as const;

/** The resident projections of a module (`inB` / `outB` absent without biases). */
export interface Projections {
  inW: WeightMatrix;
  inB?: Tensor;
  outW: WeightMatrix;
  outB?: Tensor;
}

/** The projections' weight matrices in `dtype` (biases stay f32); on failure everything is freed. */
export function projectionsAs(ws: Workspace, p: Projections, dtype: WeightDtype): Projections {
  if (dtype === 'f32') return p;
  let inW: WeightMatrix | undefined;
  try {
    inW = p.inW instanceof Tensor ? asDtype(ws, p.inW, dtype) : p.inW;
    return { ...p, inW, outW: p.outW instanceof Tensor ? asDtype(ws, p.outW, dtype) : p.outW };
  } catch (error) {
    for (const t of [inW, p.inB, p.outB]) t?.dispose();
    throw error;
  }
}

/**
 * Checks `weights` (either form) for E, H, Hk, Dh and copies them in; nothing stays allocated on
 * failure. `dh` is the head dim (default E / H; Qwen3 and Gemma 3 set their own). With `dtype`
 * 'f16' / 'bf16' the weight matrices are made resident in it directly (16-bit patterns of a file in
 * that format copied as they are, never an f32 copy in Wasm memory); any other dtype copies them in
 * as f32 (projectionsAs then quantizes them).
 */
export function loadProjections(ws: Workspace, where: string, weights: Record<string, unknown>, e: number, heads: number, kvHeads: number, bias: boolean, dh = e / heads, dtype: WeightDtype = 'f32'): Projections {
  const heap = ws.heap;
  const residentAll = (w: Record<'inW' | 'inB' | 'outW' | 'outB', Checked | undefined>): Projections => resident(ws, w, isHalfDtype(dtype) ? dtype : 'f32');
  const split = Object.keys(weights).some((k) => (SPLIT_NAMES as readonly string[]).includes(k));
  if (split) {
    const w = (name: string, rows: number, cols: number, what: string) => checkWeight(where, `weights['${name}']`, weights[name], heap, [rows, cols], what);
    const b = (name: string, n: number): Checked | undefined => (weights[name] === undefined ? undefined : checkWeight(where, `weights['${name}']`, weights[name], heap, [n], `Linear bias [${n}]`));
    const q = w('q_proj.weight', heads * dh, e, `Linear(E, H·Dh) weight as [out, in], H = ${heads} query heads`);
    const k = w('k_proj.weight', kvHeads * dh, e, `Linear(E, Hk·Dh) weight as [out, in], Hk = ${kvHeads} key/value heads`);
    const v = w('v_proj.weight', kvHeads * dh, e, `Linear(E, Hk·Dh) weight as [out, in], Hk = ${kvHeads} key/value heads`);
    const o = w('o_proj.weight', e, heads * dh, 'Linear(H·Dh, E) weight as [out, in]');
    const biases = [b('q_proj.bias', heads * dh), b('k_proj.bias', kvHeads * dh), b('v_proj.bias', kvHeads * dh)];
    if (biases.some((x) => x !== undefined) && biases.some((x) => x === undefined)) {
      throw new TypeError(`${where}: weights has some of q_proj.bias, k_proj.bias, v_proj.bias but not all three`);
    }
    const ob = b('o_proj.bias', e);
    const rows = (heads + 2 * kvHeads) * dh;
    return residentAll({ inW: flatten([q, k, v], [rows, e]), inB: biases[0] ? flatten(biases as Checked[], [rows]) : undefined, outW: o, outB: ob });
  }
  if (kvHeads !== heads) {
    throw new TypeError(`${where}: numKeyValueHeads ${kvHeads} ≠ numHeads ${heads} needs separate projections (q_proj.weight, k_proj.weight, v_proj.weight, o_proj.weight): in_proj_weight stacks three [E, E] blocks`);
  }
  const inW = checkWeight(where, 'weights.in_proj_weight', weights['in_proj_weight'], heap, [3 * e, e], 'the q, k, v projections stacked as [3E, E]');
  const outW = checkWeight(where, "weights['out_proj.weight']", weights['out_proj.weight'], heap, [e, e], 'Linear(E, E) weight as [out, in]');
  if (!bias) {
    for (const name of ['in_proj_bias', 'out_proj.bias']) {
      if (weights[name] !== undefined) throw new TypeError(`${where}: weights['${name}'] is given but the module has bias: false`);
    }
    return residentAll({ inW, inB: undefined, outW, outB: undefined });
  }
  const inB = checkWeight(where, 'weights.in_proj_bias', weights['in_proj_bias'], heap, [3 * e], '[3E] (or bias: false)');
  const outB = checkWeight(where, "weights['out_proj.bias']", weights['out_proj.bias'], heap, [e], '[E] (or bias: false)');
  return residentAll({ inW, inB, outW, outB });
}

/** The projections resident: f32 copies, or with 'f16' / 'bf16' the weight matrices in it (biases f32); all or none. */
function resident(ws: Workspace, w: Record<'inW' | 'inB' | 'outW' | 'outB', Checked | undefined>, dtype: WeightDtype): Projections {
  if (!isHalfDtype(dtype)) {
    const t = residentWeights(ws.heap, w);
    return { inW: t.inW!, inB: t.inB, outW: t.outW!, outB: t.outB };
  }
  const b = residentWeights(ws.heap, { inB: w.inB, outB: w.outB });
  let inW: WeightMatrix | undefined;
  try {
    inW = residentMatrix(ws, w.inW!, dtype);
    return { inW, inB: b.inB, outW: residentMatrix(ws, w.outW!, dtype), outB: b.outB };
  } catch (error) {
    for (const t of [inW, b.inB, b.outB]) t?.dispose();
    throw error;
  }
}

/**
 * The parts stacked along their first dimension as one checked tensor of `shape`: their f32 values
 * (made when read), and their 16-bit patterns when every part kept the same 16-bit format.
 */
function flatten(parts: Checked[], shape: number[]): Checked {
  const size = shape.reduce((a, b) => a * b, 1);
  const concat = <T extends Float32Array | Uint16Array>(out: T, arrays: ArrayLike<number>[]): T => {
    let at = 0;
    for (const a of arrays) (out.set(a, at), (at += a.length));
    return out;
  };
  const format = parts[0]!.half?.dtype;
  const arg: Checked = { name: 'stacked', shape };
  if (format && parts.every((p) => p.half?.dtype === format)) {
    let bits: Uint16Array | undefined;
    arg.half = { dtype: format, get bits() { return (bits ??= concat(new Uint16Array(size), parts.map((p) => p.half!.bits))); } };
  }
  let data: Float32Array | undefined;
  Object.defineProperty(arg, 'data', { enumerable: true, get: () => (data ??= concat(new Float32Array(size), parts.map((p) => (p.tensor ? p.tensor.data : p.data!)))) });
  return arg;
}


/** Does a split-form state_dict hold quantized projections (a model that model.save() wrote)? */
export function holdsQuantized(weights: Record<string, unknown>): boolean {
  return ['q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'o_proj.weight', 'in_proj_weight', 'out_proj.weight'].some((n) => isQuantizedData(weights[n]));
}

/**
 * The projections of a saved model (either form; each weight QuantizedData, or f32 where its input
 * width is not a multiple of 32; biases f32), held as they are: the q, k, v rows stacked as loaded.
 */
export function loadSavedProjections(ws: Workspace, where: string, weights: Record<string, unknown>, e: number, heads: number, kvHeads: number, dh: number): Projections {
  const heap = ws.heap;
  if (weights['in_proj_weight'] !== undefined) {
    // PyTorch's form, q, k and v already stacked [3E, E]
    weights = {
      'q_proj.weight': weights['in_proj_weight'], 'o_proj.weight': weights['out_proj.weight'],
      ...(weights['in_proj_bias'] !== undefined ? { 'q_proj.bias': weights['in_proj_bias'] } : {}),
      ...(weights['out_proj.bias'] !== undefined ? { 'o_proj.bias': weights['out_proj.bias'] } : {}),
    };
    heads *= 3;
    kvHeads = 0;
  }
  const part = (name: string, rows: number, cols: number): Checked | QuantizedData => {
    const value = weights[name];
    if (!isQuantizedData(value)) return checkWeight(where, `weights['${name}']`, value, heap, [rows, cols], `[${rows}, ${cols}]`);
    if (value.shape[0] !== rows || value.shape[1] !== cols) throw new RangeError(`${where}: weights['${name}'] holds [${value.shape.join(', ')}], expected [${rows}, ${cols}]`);
    return value;
  };
  const stacked3 = kvHeads === 0; // PyTorch's form: q_proj holds the q, k, v rows [3E, E]
  const q = part('q_proj.weight', heads * dh, e);
  const o = part('o_proj.weight', e, stacked3 ? e : heads * dh);
  const bias = (name: string, n: number): Checked | undefined => (weights[name] === undefined ? undefined : checkWeight(where, `weights['${name}']`, weights[name], heap, [n], `Linear bias [${n}]`));
  const biases = stacked3 ? [bias('q_proj.bias', heads * dh)] : [bias('q_proj.bias', heads * dh), bias('k_proj.bias', kvHeads * dh), bias('v_proj.bias', kvHeads * dh)];
  const parts = stacked3 ? [q] : [q, part('k_proj.weight', kvHeads * dh, e), part('v_proj.weight', kvHeads * dh, e)];
  const stacked = parts.every(isQuantizedData) ? stackQuantized(parts as QuantizedData[]) : parts.some(isQuantizedData) ? undefined : flatten(parts as Checked[], [(heads + 2 * kvHeads) * dh, e]);
  const outB = bias('o_proj.bias', e);
  if (!stacked) throw new TypeError(`${where}: q_proj, k_proj and v_proj must all be quantized or all f32`);
  const t = residentWeights(heap, { inB: biases[0] ? flatten(biases as Checked[], [(heads + 2 * kvHeads) * dh]) : undefined, outB });
  const made: { dispose(): void }[] = [];
  try {
    const inW = residentMatrix(ws, stacked, 'f32');
    made.push(inW);
    const outW = residentMatrix(ws, o, 'f32');
    return { inW, inB: t.inB, outW, outB: t.outB };
  } catch (error) {
    for (const m of [...made, t.inB, t.outB]) m?.dispose();
    throw error;
  }
}

/** QuantizedData parts of one dtype and width stacked by rows. */
export function stackQuantized(parts: QuantizedData[]): QuantizedData {
  const dtype = parts[0]!.dtype;
  const cols = parts[0]!.shape[1];
  if (parts.some((p) => p.dtype !== dtype || p.shape[1] !== cols)) throw new TypeError(`quantized projections of different dtypes or widths cannot be stacked`);
  const rows = parts.reduce((n, p) => n + p.shape[0], 0);
  const values = dtype === 'q8' ? new Int8Array(parts.reduce((n, p) => n + p.values.length, 0)) : new Uint8Array(parts.reduce((n, p) => n + p.values.length, 0));
  const scales = new Float32Array(parts.reduce((n, p) => n + p.scales.length, 0));
  let at = 0, sat = 0;
  for (const p of parts) {
    values.set(p.values as never, at);
    scales.set(p.scales, sat);
    at += p.values.length;
    sat += p.scales.length;
  }
  return { dtype, shape: [rows, cols], values, scales };
}
