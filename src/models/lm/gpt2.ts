/**
 * GPT-2 (Hugging Face's modeling_gpt2.py): learned absolute positions (wpe) added to the word
 * embeddings (wte), pre-norm LayerNorm blocks (ln_1 → attention → residual, ln_2 → MLP →
 * residual), a final ln_f and the output head tied to wte. Its Conv1D layers store weights as
 * [in, out] (y = x·W + b): they are transposed to Linear's [out, in] on load, and the fused c_attn
 * [E, 3E] is cut into q, k, v. Names with the `transformer.` prefix (GPT2LMHeadModel) or without it
 * (the hub's gpt2 files); the `attn.bias` / `attn.masked_bias` buffers of old checkpoints are ignored.
 */
import { describe, type TensorLike } from '../../engine/validate.js';
import type { StateDict } from '../checkpoint.js';
import { ConfigReader } from '../config.js';
import { prefixOf } from '../encoders/bert.js';
import { tokenId, tokenIdList, type LMLayerTensors, type LMSpec } from './spec.js';

export function gpt2Spec(config: Record<string, unknown>, names: Set<string>, architecture: string, allowed: readonly string[]): LMSpec {
  const place = 'config.json (gpt2)';
  const c = new ConfigReader(config, place);
  const e = c.int('n_embd', undefined, 1);
  const heads = c.int('n_head', undefined, 1);
  if (e % heads !== 0) throw new Error(`${place}: n_embd ${e} is not a multiple of n_head ${heads}`);
  const layers = c.int('n_layer', undefined, 1);
  const inner = config['n_inner'] === null || config['n_inner'] === undefined ? 4 * e : c.int('n_inner', undefined, 1);
  c.ignore('n_inner', 'n_ctx', 'summary_type', 'summary_use_proj', 'summary_activation', 'summary_proj_to_labels', 'summary_first_dropout', 'resid_pdrop', 'embd_pdrop', 'attn_pdrop', 'reorder_and_upcast_attn', 'tie_word_embeddings');
  c.oneOf('activation_function', ['gelu_new', 'gelu_pytorch_tanh'], 'gelu_new');
  c.only('scale_attn_weights', (v) => v === true, 'true');
  c.only('scale_attn_by_inverse_layer_idx', (v) => v === false, 'false');
  c.only('add_cross_attention', (v) => v === false, 'false');
  const eos = config['eos_token_id'];
  const prefix = prefixOf(names, ['transformer.'], 'wte.weight');
  const required = [`${prefix}wte.weight`, `${prefix}wpe.weight`, `${prefix}ln_f.weight`, `${prefix}ln_f.bias`];
  for (let i = 0; i < layers; i++) {
    const p = `${prefix}h.${i}.`;
    for (const n of ['ln_1', 'attn.c_attn', 'attn.c_proj', 'ln_2', 'mlp.c_fc', 'mlp.c_proj']) required.push(`${p}${n}.weight`, `${p}${n}.bias`);
  }
  const spec: LMSpec = {
    family: 'gpt2',
    architecture,
    vocabSize: c.int('vocab_size', undefined, 1),
    hiddenSize: e,
    numLayers: layers,
    numHeads: heads,
    numKeyValueHeads: heads,
    headDim: e / heads,
    intermediateSize: inner,
    norm: 'layer',
    normEps: c.number('layer_norm_epsilon', 1e-5),
    activation: 'gelu_tanh',
    maxPositions: c.int('n_positions', 1024, 1),
    windows: Array.from({ length: layers }, () => undefined),
    bosTokenId: tokenId(config['bos_token_id']),
    padTokenId: tokenId(config['pad_token_id']),
    eosTokenIds: tokenIdList(eos),
    required,
    unused: (name) => /\.attn\.(bias|masked_bias)$/.test(name) || name === 'lm_head.weight',
    tensors: (w: StateDict) => {
      const t = (name: string): TensorLike => w[name]!;
      const conv = (base: string) => ({ weight: transpose(t(`${base}.weight`), `${base}.weight`), bias: t(`${base}.bias`) });
      const ln = (base: string) => ({ weight: t(`${base}.weight`), bias: t(`${base}.bias`) });
      const layerTensors: LMLayerTensors[] = [];
      for (let i = 0; i < layers; i++) {
        const p = `${prefix}h.${i}.`;
        const qkv = conv(`${p}attn.c_attn`); // [3E, E] after the transpose: q rows, k rows, v rows
        const bias = (qkv.bias as { data: Float32Array }).data;
        const rows = (qkv.weight as { data: Float32Array }).data;
        const part = (k: number) => ({ data: rows.slice(k * e * e, (k + 1) * e * e), shape: [e, e] });
        const b = (k: number) => ({ data: bias.slice(k * e, (k + 1) * e), shape: [e] });
        const proj = conv(`${p}attn.c_proj`);
        layerTensors.push({
          inputNorm: ln(`${p}ln_1`),
          attention: {
            'q_proj.weight': part(0), 'q_proj.bias': b(0), 'k_proj.weight': part(1), 'k_proj.bias': b(1),
            'v_proj.weight': part(2), 'v_proj.bias': b(2), 'o_proj.weight': proj.weight, 'o_proj.bias': proj.bias,
          },
          preFeedForwardNorm: ln(`${p}ln_2`),
          mlp: { up: conv(`${p}mlp.c_fc`), down: conv(`${p}mlp.c_proj`) },
        });
      }
      return { embed: { word: t(`${prefix}wte.weight`), position: t(`${prefix}wpe.weight`) }, layers: layerTensors, finalNorm: ln(`${prefix}ln_f`) };
    },
  };
  c.finish(allowed);
  return spec;
}

/** [in, out] → [out, in] (Conv1D's storage to Linear's). */
function transpose(tensor: TensorLike, name: string): { data: Float32Array; shape: number[] } {
  const { data, shape } = tensor as { data: Float32Array; shape: readonly number[] };
  if (!(data instanceof Float32Array) || shape.length !== 2) throw new Error(`${name}: expected a 2-D tensor, found ${describe(tensor)}`);
  const [rows, cols] = shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = data[r * cols + k]!;
  return { data: out, shape: [cols, rows] };
}
