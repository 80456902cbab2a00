/**
 * The two state_dict forms a multi-head attention module loads, checked and stacked into one
 * resident in-projection [(H + 2·Hk)·Dh, E] (q rows, then k rows, then v rows) and one
 * out-projection [E, H·Dh], so self-attention is one gemm in and one gemm out either way:
 *   PyTorch `nn.MultiheadAttention`: in_proj_weight [3E, E], in_proj_bias [3E], out_proj.weight
 *     [E, E], out_proj.bias [E] (no biases with `bias: false`);
 *   Hugging Face Llama-style: q_proj.weight [H·Dh, E], k_proj.weight, v_proj.weight [Hk·Dh, E],
 *     o_proj.weight [E, H·Dh], each `.bias` optional (Qwen has q/k/v biases).
 */
import type { Tensor } from '../engine/memory.js';
import { type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
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

/**
 * Checks `weights` (either form) for E, H, Hk, Dh and copies them in, the weight matrices in `dtype`
 * (biases f32); nothing stays allocated on failure. `dh` is the head dim (default E / H; Qwen3 and
 * Gemma 3 set their own).
 */
export function loadProjections(ws: Workspace, where: string, weights: Record<string, unknown>, e: number, heads: number, kvHeads: number, bias: boolean, dh = e / heads, dtype: WeightDtype = 'f32'): Projections {
  const heap = ws.heap;
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
    const inW = flatten(`${where}: weights['q_proj.weight'], ['k_proj.weight'], ['v_proj.weight'] stacked`, [q, k, v], [heads * dh + 2 * kvHeads * dh, e]);
    const inB = biases[0] ? flatten(`${where}: the q, k, v biases stacked`, biases as Checked[], [heads * dh + 2 * kvHeads * dh]) : undefined;
    return resident(ws, inW, inB, o, ob, dtype);
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
    return resident(ws, inW, undefined, outW, undefined, dtype);
  }
  const inB = checkWeight(where, 'weights.in_proj_bias', weights['in_proj_bias'], heap, [3 * e], '[3E] (or bias: false)');
  const outB = checkWeight(where, "weights['out_proj.bias']", weights['out_proj.bias'], heap, [e], '[E] (or bias: false)');
  return resident(ws, inW, inB, outW, outB, dtype);
}

/** The projections resident: the weight matrices in `dtype`, the biases f32; all or none. */
function resident(ws: Workspace, inW: Checked, inB: Checked | undefined, outW: Checked, outB: Checked | undefined, dtype: WeightDtype): Projections {
  const b = residentWeights(ws.heap, { inB, outB });
  let w: WeightMatrix | undefined;
  try {
    w = residentMatrix(ws, inW, dtype);
    return { inW: w, inB: b.inB, outW: residentMatrix(ws, outW, dtype), outB: b.outB };
  } catch (error) {
    for (const t of [w, b.inB, b.outB]) t?.dispose();
    throw error;
  }
}

/**
 * The parts stacked along their first dimension as one checked tensor of `shape`: their 16-bit
 * patterns when all parts kept the same 16-bit format (no f32 copy), and their f32 values when read.
 */
function flatten(name: string, parts: Checked[], shape: number[]): Checked {
  const size = shape.reduce((a, b) => a * b, 1);
  const concat = <T extends Float32Array | Uint16Array>(out: T, arrays: ArrayLike<number>[]): T => {
    let at = 0;
    for (const a of arrays) (out.set(a, at), (at += a.length));
    return out;
  };
  const format = parts[0]!.half?.dtype;
  const half = format && parts.every((p) => p.half?.dtype === format) ? { bits: concat(new Uint16Array(size), parts.map((p) => p.half!.bits)), dtype: format } : undefined;
  const arg: Checked = { name, shape, half };
  let data: Float32Array | undefined;
  Object.defineProperty(arg, 'data', { enumerable: true, get: () => (data ??= concat(new Float32Array(size), parts.map((p) => (p.tensor ? p.tensor.data : p.data!)))) });
  return arg;
}
