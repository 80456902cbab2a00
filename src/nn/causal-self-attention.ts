/**
 * The self-attention of decoder-only language models (Hugging Face's LlamaAttention and its
 * relatives), eval mode, over a resident key/value cache:
 *   q, k, v = x·W_qᵀ (+ b_q), x·W_kᵀ (+ b_k), x·W_vᵀ (+ b_v)       H query heads, Hk kv heads of Dh
 *   [q, k = RMSNorm_Dh(q), RMSNorm_Dh(k)]                        per head, Qwen3 / Gemma 3
 *   q, k = RoPE(q, k) at positions P … P + L − 1                 rotate-half or interleaved pairs
 *   cache[P … P + L − 1] = k, v
 *   o_h = softmax(scale·q_h·K_gᵀ [softcap] + causal [window]) V_g  g = h / (H / Hk)
 *   y = o·W_oᵀ (+ b_o)
 * for L new positions at once: a prompt (one fused causal attention call) or one decoded token.
 * The causal mask is aligned to the end (query i is position P + i and sees keys ≤ P + i). The
 * cache holds positions F … P − 1 in order in slots 0 … P − F − 1 (F = cache.first, 0 unless a
 * sliding-window layer dropped positions no query can see any more: F ≤ P − (window − 1)), so
 * the keys attended are slots 0 … P − F + L − 1 and the window still counts back from the end.
 */
import { Tensor } from '../engine/memory.js';
import { linear, mat, weightRows, type Mat } from '../engine/linear.js';
import type { QuantizedData, WeightDtype } from '../engine/quantized.js';
import { checkTensor, expectShape, type TensorLike } from '../engine/validate.js';
import { residentWeights } from '../engine/weights.js';
import type { Temps, Workspace } from '../engine/workspace.js';
import { attendFused, attendMaterialised } from '../ops/attend.js';
import { ropeTableOf } from '../ops/position.js';
import { variantFields, type Variants } from '../ops/variants.js';
import { KVCache } from './kv-cache.js';
import { KVStorage, type KVDtype } from './kv-storage.js';
import { holdsQuantized, loadProjections, loadSavedProjections, projectionsAs, type Projections } from './mha-weights.js';

export interface CausalSelfAttentionConfig {
  hiddenSize: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  /** `q_proj.weight` [H·Dh, E], `k_proj.weight`, `v_proj.weight` [Hk·Dh, E], `o_proj.weight` [E, H·Dh], each `.bias` optional (weights f32, or QuantizedData as saved). */
  weights: Record<string, TensorLike | QuantizedData>;
  /** Rotary embedding: θ_i for i < Dh/2 (`name` identifies them for the table cache); none for learned positions. */
  rope?: { invFreq: Float64Array; style: 'half' | 'interleaved'; name: string };
  /** Per-head RMSNorm of q and k before RoPE: weights [Dh] (Gemma's 1 + w already added). */
  qkNorm?: { q: TensorLike; k: TensorLike; eps: number };
  /** Score scale; default 1/√Dh. */
  scale?: number;
  /** Sliding window: a query sees itself and the window − 1 positions before it. */
  window?: number;
  /** Scores become c·tanh(s/c). */
  softcap?: number;
  /** The dtype of the q/k/v/o projection weights (default 'f32'; biases and norms stay f32). */
  dtype?: WeightDtype;
}

export class CausalSelfAttention {
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly window: number | undefined;
  private readonly ws: Workspace;
  private readonly proj: Projections;
  private readonly norms: { q: Tensor; k: Tensor; eps: number } | undefined;
  private readonly config: CausalSelfAttentionConfig;

  /** @internal built by the language models */
  constructor(ws: Workspace, where: string, config: CausalSelfAttentionConfig) {
    const { hiddenSize: e, numHeads: h, numKeyValueHeads: hk, headDim: dh } = config;
    this.ws = ws;
    this.config = config;
    this.hiddenSize = e;
    this.numHeads = h;
    this.numKeyValueHeads = hk;
    this.headDim = dh;
    this.window = config.window;
    const hasBias = Object.keys(config.weights).some((k) => k.endsWith('.bias'));
    this.proj = holdsQuantized(config.weights)
      ? loadSavedProjections(ws, where, config.weights, e, h, hk, dh)
      : projectionsAs(ws, loadProjections(ws, where, config.weights, e, h, hk, hasBias, dh, config.dtype ?? 'f32'), config.dtype ?? 'f32');
    if (config.qkNorm) {
      const q = checkTensor(`${where}.q_norm.weight`, config.qkNorm.q, ws.heap);
      const k = checkTensor(`${where}.k_norm.weight`, config.qkNorm.k, ws.heap);
      expectShape(`${where}.q_norm.weight`, q.shape, [dh], 'the head dim');
      expectShape(`${where}.k_norm.weight`, k.shape, [dh], 'the head dim');
      try {
        const t = residentWeights(ws.heap, { q, k });
        this.norms = { q: t.q!, k: t.k!, eps: config.qkNorm.eps };
      } catch (error) {
        this.disposeProjections();
        throw error;
      }
    }
  }

  /**
   * @internal The held weights (what a saved model writes): the q/k/v rows of the stacked
   * in-projection in their own matrices' names, o_proj, the biases and the q/k norms.
   */
  get held(): { projections: Projections; qNorm: Tensor | undefined; kNorm: Tensor | undefined } {
    return { projections: this.proj, qNorm: this.norms?.q, kNorm: this.norms?.k };
  }

  /** A cache of `maxLength` positions for `batch` sequences, K and V held as `dtype`. */
  createCache(batch: number, maxLength: number, dtype: KVDtype = 'f32'): KVCache {
    return new KVCache(this.ws.heap, this, new KVStorage(this.ws.heap, dtype, batch, maxLength, this.numKeyValueHeads, this.headDim), batch, maxLength, undefined);
  }

  /**
   * @internal x [B·L, E] (L new positions of each of B sequences) → out [B·L, E], appending their
   * keys and values to `cache` (which must have room: the caller checks). Left-padded batches:
   * `pads[b]` leading slots of sequence b are padding, hidden from every query, and its rotary
   * positions start after them. With `onWeights`, the weights of every head over the keys of
   * positions 0 … P + L − 1, [B, H, L, P + L], are passed to it (0 for positions the cache dropped:
   * they are outside every new query's window).
   */
  appendRows(temps: Temps, x: Mat, length: number, cache: KVCache, out: Mat, pads?: Int32Array, onWeights?: (w: Float32Array) => void): void {
    const { ws, numHeads: h, numKeyValueHeads: hk, headDim: dh } = this;
    const batch = cache.batch;
    const rows = batch * length;
    const start = cache.length;
    const first = cache.first, held = start - first;
    const qWidth = h * dh, kvWidth = hk * dh, width = qWidth + 2 * kvWidth;
    const qkv = mat(temps.tensor([rows, width]).ptr, width);
    const { inW, inB } = this.proj;
    linear(ws, x, weightRows(inW), qkv, rows, width, this.hiddenSize, { bias: inB ? inB.ptr : 0 });
    if (this.norms) {
      // RMSNorm over each head's Dh values, q heads then k heads (rows `width` apart)
      const { q, k, eps } = this.norms;
      for (let i = 0; i < h + hk; i++) ws.kernels.rmsNorm(qkv.ptr + 4 * i * dh, width, qkv.ptr + 4 * i * dh, width, rows, dh, i < h ? q.ptr : k.ptr, eps);
    }
    const rope = this.config.rope;
    if (rope) {
      // q and k heads are adjacent; a left-padded sequence counts its positions from its first token
      const style = rope.style === 'half' ? 0 : 1;
      const offsets = pads ? Array.from(pads, (p) => start - p) : [start]; // padding slots get negative positions: they are masked
      if (offsets.every((o) => o === offsets[0])) {
        ws.kernels.ropeHeads(qkv.ptr, batch, length, h + hk, dh, length * width, width, dh, ropeTableOf(ws, length, rope.invFreq, offsets[0]!, rope.name), style);
      } else {
        for (let b = 0; b < batch; b++) {
          const table = ropeTableOf(ws, length, rope.invFreq, offsets[b]!, rope.name);
          ws.kernels.ropeHeads(qkv.ptr + 4 * b * length * width, 1, length, h + hk, dh, length * width, width, dh, table, style);
        }
      }
    }
    // k and v of the new positions into their slots of every sequence, in the cache's dtype
    const storage = cache.storage;
    for (let b = 0; b < batch; b++) {
      const k = qkv.ptr + 4 * (b * length * width + qWidth);
      storage.write(ws, b, held, k, k + 4 * kvWidth, width, length);
    }
    const attn = mat(temps.tensor([rows, qWidth]).ptr, qWidth);
    const lk = held + length;
    const problem = {
      q: { ptr: qkv.ptr, sB: length * width, sH: dh, sL: width },
      ...storage.views(),
      out: { ptr: attn.ptr, sB: length * qWidth, sH: dh, sL: qWidth },
      batch, heads: h, lq: length, lk, d: dh, dv: dh, scale: this.config.scale ?? 1 / Math.sqrt(dh),
      causal: true, keyLengths: 0, group: h / hk,
      ...(pads && pads.some((p) => p > first) ? variantFields(temps, paddingMask(pads, first, batch, lk)) : {}),
      windowLeft: this.window === undefined ? -1 : this.window - 1, windowRight: this.window === undefined ? -1 : 0,
      softcap: this.config.softcap ?? 0,
    };
    if (onWeights) onWeights(widened(ws.heap.view(attendMaterialised(ws, temps, problem), batch * h * length * lk), first, lk));
    else attendFused(ws, problem);
    cache.advance(length);
    const { outW, outB } = this.proj;
    linear(ws, attn, weightRows(outW), out, rows, this.hiddenSize, qWidth, { bias: outB ? outB.ptr : 0 });
  }

  dispose(): void {
    this.disposeProjections();
    this.norms?.q.dispose();
    this.norms?.k.dispose();
  }

  private disposeProjections(): void {
    const { inW, inB, outW, outB } = this.proj;
    for (const t of [inW, inB, outW, outB]) t?.dispose();
  }
}


/**
 * The padding positions 0 … pads[b] − 1 of sequence b hidden from every query, over keys held from
 * position `first` on: a boolean mask [B, 1, 1, Lk] (1 = may attend).
 */
function paddingMask(pads: Int32Array, first: number, batch: number, lk: number): Variants {
  const data = new Uint8Array(batch * lk).fill(1);
  for (let b = 0; b < batch; b++) data.fill(0, b * lk, b * lk + Math.min(Math.max(0, pads[b]! - first), lk));
  return { windowLeft: -1, windowRight: -1, softcap: 0, mask: { kind: 'bool', data, strides: [lk, 0, 0, 1] } };
}

/** Weights over held keys [rows, Lk] (key j = position first + j) → over positions [rows, first + Lk], 0 before `first`. */
function widened(weights: Float32Array, first: number, lk: number): Float32Array {
  if (first === 0) return weights.slice();
  const rows = weights.length / lk, width = first + lk;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(weights.subarray(r * lk, (r + 1) * lk), r * width + first);
  return out;
}
