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
import { asDtype, isQ8, isQuantizedData, type QuantizedData, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
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
    inW = isQ8(p.inW) ? p.inW : asDtype(ws, p.inW, dtype);
    return { ...p, inW, outW: isQ8(p.outW) ? p.outW : asDtype(ws, p.outW, dtype) };
  } catch (error) {
    for (const t of [inW, p.inB, p.outB]) t?.dispose();
    throw error;
  }
}

/** Checks `weights` (either form) for E, H, Hk, Dh and copies them in; nothing stays allocated on failure. */
/** `dh` is the head dim (default E / H; Qwen3 and Gemma 3 set their own). */
export function loadProjections(heap: Heap, where: string, weights: Record<string, unknown>, e: number, heads: number, kvHeads: number, bias: boolean, dh = e / heads): Projections {
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
    return stack(heap, [q, k, v], biases[0] ? (biases as Checked[]) : undefined, o, ob);
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
    const t = residentWeights(heap, { inW, outW });
    return { inW: t.inW!, outW: t.outW! };
  }
  const inB = checkWeight(where, 'weights.in_proj_bias', weights['in_proj_bias'], heap, [3 * e], '[3E] (or bias: false)');
  const outB = checkWeight(where, "weights['out_proj.bias']", weights['out_proj.bias'], heap, [e], '[E] (or bias: false)');
  const t = residentWeights(heap, { inW, inB, outW, outB });
  return { inW: t.inW!, inB: t.inB!, outW: t.outW!, outB: t.outB! };
}

/** One resident [(H + 2Hk)·Dh, E] in-projection (and bias) from the q, k, v parts. */
function stack(heap: Heap, parts: Checked[], biases: Checked[] | undefined, o: Checked, ob: Checked | undefined): Projections {
  const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
  const cols = parts[0]!.shape[1]!;
  const inW = flatten(parts, [rows, cols]);
  const inB = biases ? flatten(biases, [rows]) : undefined;
  const t = residentWeights(heap, { inW, inB, outW: o, outB: ob });
  return { inW: t.inW!, inB: t.inB, outW: t.outW!, outB: t.outB };
}

function flatten(parts: Checked[], shape: number[]): Checked {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let at = 0;
  for (const p of parts) {
    const src = p.tensor ? p.tensor.data : p.data!;
    data.set(src, at);
    at += src.length;
  }
  return { name: 'stacked', shape, data };
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
