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
import { asDtype, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import type { Workspace } from '../engine/workspace.js';
import { checkWeight, type Checked } from '../engine/validate.js';
import { residentWeights } from '../engine/weights.js';

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
    inW = asDtype(ws, p.inW as Tensor, dtype);
    return { ...p, inW, outW: asDtype(ws, p.outW as Tensor, dtype) };
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

