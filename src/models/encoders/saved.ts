/**
 * The tensors of an encoder in the file model.save() writes (models/saved-tensors.ts says how each is
 * stored): under the checkpoint's own names (spec's), as the model holds them — the q, k, v rows of
 * each layer's stacked in-projection in their query / key / value matrices. Buffers and other tasks'
 * heads that the model does not read are not written.
 */
import type { Tensor } from '../../engine/memory.js';
import type { WeightMatrix } from '../../engine/quantized.js';
import type { Linear } from '../../nn/linear.js';
import type { TransformerEncoderLayer } from '../../nn/transformer.js';
import type { SavedTensors } from '../saved-tensors.js';
import type { EncoderSpec, LinearNames } from './spec.js';

/** What an encoder holds, module by module. */
export interface HeldEncoder {
  word: WeightMatrix;
  tables: Readonly<{ position: WeightMatrix | undefined; tokenType: WeightMatrix | undefined; normWeight: Tensor | undefined; normBias: Tensor | undefined }>;
  layers: TransformerEncoderLayer[];
  head: { hidden: Linear; out: Linear } | undefined;
}

export function saveEncoder(held: HeldEncoder, spec: EncoderSpec, out: SavedTensors): void {
  const e = spec.embeddings;
  out.matrix(e.word, held.word);
  if (held.tables.position) out.matrix(e.position, held.tables.position);
  if (e.tokenType && held.tables.tokenType) out.matrix(e.tokenType, held.tables.tokenType);
  out.f32(e.norm.weight, held.tables.normWeight);
  out.f32(e.norm.bias, held.tables.normBias);
  const h = spec.hiddenSize;
  held.layers.forEach((layer, i) => {
    const names = spec.layers[i]!;
    const { parts, attention: pr } = layer.held;
    ([names.query, names.key, names.value] as LinearNames[]).forEach((n, k) => {
      out.matrix(n.weight, pr.inW, k * h, (k + 1) * h);
      out.tensors.set(n.bias, { dtype: 'F32', shape: [h], data: pr.inB!.data.slice(k * h, (k + 1) * h) });
    });
    out.matrix(names.output.weight, pr.outW);
    out.f32(names.output.bias, pr.outB);
    out.f32(names.norm1.weight, parts.norms[0]!.weight);
    out.f32(names.norm1.bias, parts.norms[0]!.bias);
    out.matrix(names.ffIn.weight, parts.w1);
    out.f32(names.ffIn.bias, parts.b1);
    out.matrix(names.ffOut.weight, parts.w2);
    out.f32(names.ffOut.bias, parts.b2);
    out.f32(names.norm2.weight, parts.norms[1]!.weight);
    out.f32(names.norm2.bias, parts.norms[1]!.bias);
  });
  if (held.head && spec.head) {
    for (const [names, lin] of [[spec.head.hidden, held.head.hidden], [spec.head.out, held.head.out]] as const) {
      out.matrix(names.weight, lin.held.weight);
      out.f32(names.bias, lin.held.bias);
    }
  }
}
