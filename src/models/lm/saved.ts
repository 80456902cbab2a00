/**
 * The tensor names of a language model in the file model.save() writes (models/saved-tensors.ts
 * says how each is stored), one per piece of LMTensors, as the model holds it (after the family's
 * conversions: GPT-2's Conv1D weights transposed, Phi-3's fused projections split, Gemma's 1 + w norms):
 *   embed.word, embed.position                       [V, E], [P, E] (learned positions only)
 *   layers.{i}.input_norm.{weight,bias}              bias for LayerNorm families
 *   layers.{i}.attention.{q,k,v,o}_proj.{weight,bias}
 *   layers.{i}.q_norm.weight, layers.{i}.k_norm.weight
 *   layers.{i}.{post_attention,pre_feedforward,post_feedforward}_norm.{weight,bias}
 *   layers.{i}.mlp.{gate,up,down}.{weight,bias}      gate for gated feed-forwards
 *   final_norm.{weight,bias}, head.{weight,bias}     no head: tied to embed.word
 */
import type { WeightMatrix } from '../../engine/quantized.js';
import type { Linear } from '../../nn/linear.js';
import type { Norm } from '../../nn/norm.js';
import type { CausalSelfAttention } from '../../nn/causal-self-attention.js';
import type { FeedForward } from '../../nn/feed-forward.js';
import type { SavedReader, SavedTensors } from '../saved-tensors.js';
import type { TensorLike } from '../../engine/validate.js';
import type { LinearTensors, LMLayerTensors, LMSpec, LMTensors } from './spec.js';

/** What a language model holds, module by module. */
export interface HeldLM {
  word: WeightMatrix;
  position: WeightMatrix | undefined;
  layers: { inputNorm: Norm; attention: CausalSelfAttention; postAttentionNorm?: Norm; preFeedForwardNorm: Norm; postFeedForwardNorm?: Norm; mlp: FeedForward }[];
  finalNorm: Norm;
  /** undefined: tied to the word table. */
  head: Linear | undefined;
}

/** Every tensor of `held` into `out`, under the names above. */
export function saveLM(held: HeldLM, spec: LMSpec, out: SavedTensors): void {
  const norm = (name: string, n: Norm | undefined) => {
    if (!n) return;
    out.f32(`${name}.weight`, n.held.weight);
    out.f32(`${name}.bias`, n.held.bias);
  };
  const linear = (name: string, l: Linear | undefined) => {
    if (!l) return;
    out.matrix(`${name}.weight`, l.held.weight);
    out.f32(`${name}.bias`, l.held.bias);
  };
  out.matrix('embed.word', held.word);
  if (held.position) out.matrix('embed.position', held.position);
  const q = spec.numHeads * spec.headDim, kv = spec.numKeyValueHeads * spec.headDim;
  held.layers.forEach((layer, i) => {
    const p = `layers.${i}.`;
    norm(`${p}input_norm`, layer.inputNorm);
    const { projections: pr, qNorm, kNorm } = layer.attention.held;
    // the stacked in-projection [q; k; v] back into its three matrices (rows are independent in every dtype)
    const bounds = { q_proj: [0, q], k_proj: [q, q + kv], v_proj: [q + kv, q + 2 * kv] } as const;
    for (const [name, [r0, r1]] of Object.entries(bounds)) {
      out.matrix(`${p}attention.${name}.weight`, pr.inW, r0, r1);
      if (pr.inB) out.tensors.set(`${p}attention.${name}.bias`, { dtype: 'F32', shape: [r1 - r0], data: pr.inB.data.slice(r0, r1) });
    }
    out.matrix(`${p}attention.o_proj.weight`, pr.outW);
    out.f32(`${p}attention.o_proj.bias`, pr.outB);
    out.f32(`${p}q_norm.weight`, qNorm);
    out.f32(`${p}k_norm.weight`, kNorm);
    norm(`${p}post_attention_norm`, layer.postAttentionNorm);
    norm(`${p}pre_feedforward_norm`, layer.preFeedForwardNorm);
    norm(`${p}post_feedforward_norm`, layer.postFeedForwardNorm);
    const mlp = layer.mlp.held;
    linear(`${p}mlp.gate`, mlp.gate);
    linear(`${p}mlp.up`, mlp.up);
    linear(`${p}mlp.down`, mlp.down);
  });
  norm('final_norm', held.finalNorm);
  linear('head', held.head);
}

/** The LMTensors of a saved file (names above); every tensor must be read. */
export function savedLMTensors(r: SavedReader, spec: LMSpec): LMTensors {
  const lin = (name: string): LinearTensors => ({ weight: r.take(`${name}.weight`), ...(r.has(`${name}.bias`) ? { bias: r.f32(`${name}.bias`) } : {}) });
  const norm = (name: string): { weight: TensorLike; bias?: TensorLike } => ({ weight: r.f32(`${name}.weight`), ...(r.has(`${name}.bias`) ? { bias: r.f32(`${name}.bias`) } : {}) });
  const optionalNorm = (name: string) => (r.has(`${name}.weight`) ? norm(name) : undefined);
  const layers: LMLayerTensors[] = [];
  for (let i = 0; i < spec.numLayers; i++) {
    const p = `layers.${i}.`;
    const attention: LMLayerTensors['attention'] = {};
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) {
      attention[`${proj}.weight`] = r.take(`${p}attention.${proj}.weight`);
      if (r.has(`${p}attention.${proj}.bias`)) attention[`${proj}.bias`] = r.f32(`${p}attention.${proj}.bias`);
    }
    layers.push({
      inputNorm: norm(`${p}input_norm`),
      attention,
      ...(r.has(`${p}q_norm.weight`) ? { qNorm: r.f32(`${p}q_norm.weight`), kNorm: r.f32(`${p}k_norm.weight`) } : {}),
      postAttentionNorm: optionalNorm(`${p}post_attention_norm`),
      preFeedForwardNorm: norm(`${p}pre_feedforward_norm`),
      postFeedForwardNorm: optionalNorm(`${p}post_feedforward_norm`),
      mlp: { ...(r.has(`${p}mlp.gate.weight`) ? { gate: lin(`${p}mlp.gate`) } : {}), up: lin(`${p}mlp.up`), down: lin(`${p}mlp.down`) },
    });
  }
  const tensors: LMTensors = {
    embed: { word: r.take('embed.word'), ...(r.has('embed.position') ? { position: r.take('embed.position') } : {}) },
    layers,
    finalNorm: norm('final_norm'),
    ...(r.has('head.weight') ? { head: lin('head') } : {}),
  };
  r.finish();
  return tensors;
}
