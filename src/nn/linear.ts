/**
 * `torch.nn.Linear`: y = x·Wᵀ + b with W [out, in] (the state_dict's `weight`, `bias` optional),
 * resident once. The classification heads of the encoder models and the output projections of
 * language models are Linear modules.
 */
import { checkTensor, describe, formatShape, type Checked, type TensorLike } from '../engine/validate.js';
import { linear, mat, weightRows, type Mat } from '../engine/linear.js';
import { residentMatrix, residentWeights } from '../engine/weights.js';
import { dtypeOf, isQ8, isQuantizedData, type Q4Rounding, type QuantizedData, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import type { Tensor } from '../engine/memory.js';
import type { Temps, Workspace } from '../engine/workspace.js';

export class Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  private readonly ws: Workspace;
  private readonly weight: WeightMatrix;
  private readonly bias: Tensor | undefined;
  /** The weight belongs to another module (a head tied to the input embeddings): not freed here. */
  private readonly shared: boolean;
  /** The dtype the weight is held in ('f32' also when Q8 or Q4 was asked for but `in` is not a multiple of 32). */
  readonly dtype: WeightDtype;

  /**
   * @internal weights: `{ weight [out, in], bias? [out] }` (`where` names the module in errors; the
   * weight f32, or QuantizedData as a saved model holds it), or `{ shared }`: a resident [out, in]
   * matrix of another module, used in place in its dtype (a head tied to the input embeddings).
   * `rounding`: how a Q4 weight picks its block scales (an output head over the vocabulary: 'ggml', as the tables).
   */
  constructor(ws: Workspace, where: string, weights: { weight: TensorLike | QuantizedData; bias?: TensorLike } | { shared: WeightMatrix }, dtype: WeightDtype = 'f32', rounding: Q4Rounding = 'search') {
    this.ws = ws;
    if ('shared' in weights) {
      const m = weights.shared;
      this.weight = m;
      this.dtype = dtypeOf(m);
      this.bias = undefined;
      this.shared = true;
      [this.outFeatures, this.inFeatures] = isQ8(m) ? [m.rows, m.cols] : (m.shape as [number, number]);
      return;
    }
    this.shared = false;
    const w = isQuantizedData(weights.weight) ? weights.weight : checkTensor(`${where}.weight`, weights.weight, ws.heap);
    if (w.shape.length !== 2) throw new RangeError(`${where}.weight: expected shape [out, in] (nn.Linear), received ${formatShape(w.shape)}`);
    const [out, inp] = w.shape as [number, number];
    let b: Checked | undefined;
    if (weights.bias !== undefined) {
      b = checkTensor(`${where}.bias`, weights.bias, ws.heap);
      if (b.shape.length !== 1 || b.shape[0] !== out) throw new RangeError(`${where}.bias: expected shape [${out}] (the rows of ${where}.weight), received ${formatShape(b.shape)}`);
    }
    const t = residentWeights(ws.heap, { b });
    try {
      this.weight = residentMatrix(ws, w, dtype, rounding);
    } catch (error) {
      t.b?.dispose();
      throw error;
    }
    this.dtype = dtypeOf(this.weight);
    this.bias = t.b;
    this.outFeatures = out;
    this.inFeatures = inp;
  }

  /** @internal y [rows, out] = x [rows, in]·Wᵀ (+ b) (+ y when accumulating: a fused residual add) on resident rows. */
  forwardRows(x: Mat, rows: number, y: Mat, accumulate = false): void {
    linear(this.ws, x, weightRows(this.weight), y, rows, this.outFeatures, this.inFeatures, { bias: this.bias?.ptr ?? 0, accumulate });
  }

  /** @internal A fresh [rows, out] temporary holding the product. */
  apply(temps: Temps, x: Mat, rows: number): Mat {
    const y = mat(temps.tensor([rows, this.outFeatures]).ptr, this.outFeatures);
    this.forwardRows(x, rows, y);
    return y;
  }

  dispose(): void {
    if (!this.shared) this.weight.dispose();
    this.bias?.dispose();
  }

  /** @internal The held weight and bias (what a saved model writes). */
  get held(): { weight: WeightMatrix; bias: Tensor | undefined } {
    return { weight: this.weight, bias: this.bias };
  }

  /** @internal */
  get disposed(): boolean {
    return this.weight.disposed;
  }

  toString(): string {
    return `Linear(in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${describe(this.bias !== undefined)})`;
  }
}
