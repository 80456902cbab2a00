/** The SwiGLU feed-forward in float64: y = down(silu(gate(x)) ⊙ up(x)), silu(z) = z·σ(z). */
import type { ReferenceTensor } from '../tensor.js';
import { modulePrefix } from '../state-dict.js';
import { checkWeightDtype, inputLevels, roundInput, weightAs, type DtypeOption, type WeightDtype } from '../dtype.js';

export interface ReferenceSwigluFeedForwardConfig {
  hiddenSize: number;
  intermediateSize: number;
  weights: Record<string, ReferenceTensor>;
  prefix?: string;
  /** The weights held as the runtime holds them in 'q8' or 'q4' (reference/dtype.ts); default 'f32'. */
  dtype?: DtypeOption;
}

export class ReferenceSwigluFeedForward {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly dtype: WeightDtype;
  private readonly w: Record<string, ArrayLike<number>> = {};

  constructor(config: ReferenceSwigluFeedForwardConfig) {
    this.hiddenSize = config.hiddenSize;
    this.intermediateSize = config.intermediateSize;
    this.dtype = checkWeightDtype('swigluFeedForward', 'config.dtype', config.dtype);
    const prefix = modulePrefix(config.prefix ?? '');
    for (const [name, t] of Object.entries(config.weights)) if (name.startsWith(prefix)) this.w[name.slice(prefix.length)] = t.data;
    const [h, n] = [this.hiddenSize, this.intermediateSize];
    this.w['gate_proj.weight'] = weightAs(this.w['gate_proj.weight']!, n, h, this.dtype);
    this.w['up_proj.weight'] = weightAs(this.w['up_proj.weight']!, n, h, this.dtype);
    this.w['down_proj.weight'] = weightAs(this.w['down_proj.weight']!, h, n, this.dtype);
  }

  forward(x: ReferenceTensor): Float32Array {
    const h = this.hiddenSize, n = this.intermediateSize, rows = x.data.length / h;
    const gate = this.w['gate_proj.weight']!, up = this.w['up_proj.weight']!, down = this.w['down_proj.weight']!;
    const y = new Float32Array(rows * h);
    const mid = new Float64Array(n);
    const qIn = inputLevels(h, this.dtype), qDown = inputLevels(n, this.dtype);
    for (let r = 0; r < rows; r++) {
      const xr = qIn ? roundInput(x.data, r * h, h, qIn) : x.data.subarray(r * h, (r + 1) * h);
      for (let o = 0; o < n; o++) {
        let g = 0, u = 0;
        for (let i = 0; i < h; i++) {
          g += gate[o * h + i]! * xr[i]!;
          u += up[o * h + i]! * xr[i]!;
        }
        mid[o] = (g / (1 + Math.exp(-g))) * u;
      }
      const m = qDown ? roundInput(mid, 0, n, qDown) : mid;
      for (let o = 0; o < h; o++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += down[o * n + i]! * m[i]!;
        y[r * h + o] = s;
      }
    }
    return y;
  }

  dispose(): void {}
}

export function swigluFeedForward(config: ReferenceSwigluFeedForwardConfig): ReferenceSwigluFeedForward {
  return new ReferenceSwigluFeedForward(config);
}
