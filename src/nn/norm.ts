/**
 * The norms of transformer blocks as modules over resident rows of n values:
 *   LayerNorm: y = (x − mean)/√(var + eps)·w + b   (nn.LayerNorm; GPT-2, BERT)
 *   RMSNorm:   y = x/√(mean(x²) + eps)·w            (Llama, Qwen, Mistral, Phi-3; Gemma's (1 + w) is
 *                                                    folded into w when loading)
 */
import type { Tensor } from '../engine/memory.js';
import { checkTensor, expectShape, type TensorLike } from '../engine/validate.js';
import type { Mat } from '../engine/linear.js';
import { residentWeights } from '../engine/weights.js';
import type { Workspace } from '../engine/workspace.js';

export class Norm {
  private readonly ws: Workspace;
  private readonly weight: Tensor;
  private readonly bias: Tensor | undefined;

  /** @internal `where` names the norm's weight in errors. */
  constructor(ws: Workspace, where: string, readonly kind: 'layer' | 'rms', readonly size: number, weights: { weight: TensorLike; bias?: TensorLike }, readonly eps: number) {
    const w = checkTensor(`${where}.weight`, weights.weight, ws.heap);
    expectShape(`${where}.weight`, w.shape, [size], 'the hidden size');
    const b = weights.bias === undefined ? undefined : checkTensor(`${where}.bias`, weights.bias, ws.heap);
    if (b) expectShape(`${where}.bias`, b.shape, [size], 'the hidden size');
    if (kind === 'rms' && b) throw new TypeError(`${where}.bias: an RMSNorm has no bias`);
    const t = residentWeights(ws.heap, { w, b });
    this.ws = ws;
    this.weight = t.w!;
    this.bias = t.b;
  }

  /** @internal y = norm(x) for `rows` rows (y may be x). */
  forwardRows(x: Mat, rows: number, y: Mat): void {
    const k = this.ws.kernels;
    if (this.kind === 'layer') k.layerNorm(x.ptr, x.ld, y.ptr, y.ld, rows, this.size, this.weight.ptr, this.bias?.ptr ?? 0, this.eps, 0, 0);
    else k.rmsNorm(x.ptr, x.ld, y.ptr, y.ld, rows, this.size, this.weight.ptr, this.eps);
  }

  /** @internal The held weight and bias (what a saved model writes). */
  get held(): { weight: Tensor; bias: Tensor | undefined } {
    return { weight: this.weight, bias: this.bias };
  }

  dispose(): void {
    this.weight.dispose();
    this.bias?.dispose();
  }
}
