/** The SwiGLU feed-forward in float64: y = down(silu(gate(x)) ⊙ up(x)), silu(z) = z·σ(z). */
import type { ReferenceTensor } from '../tensor.js';
import { modulePrefix } from '../state-dict.js';

export interface ReferenceSwigluFeedForwardConfig {
  hiddenSize: number;
  intermediateSize: number;
  weights: Record<string, ReferenceTensor>;
  prefix?: string;
}

export class ReferenceSwigluFeedForward {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  private readonly w: Record<string, Float32Array> = {};

  constructor(config: ReferenceSwigluFeedForwardConfig) {
    this.hiddenSize = config.hiddenSize;
    this.intermediateSize = config.intermediateSize;
    const prefix = modulePrefix(config.prefix ?? '');
    for (const [name, t] of Object.entries(config.weights)) if (name.startsWith(prefix)) this.w[name.slice(prefix.length)] = t.data;
  }

  forward(x: ReferenceTensor): Float32Array {
    const h = this.hiddenSize, n = this.intermediateSize, rows = x.data.length / h;
    const gate = this.w['gate_proj.weight']!, up = this.w['up_proj.weight']!, down = this.w['down_proj.weight']!;
    const y = new Float32Array(rows * h);
    const mid = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < n; o++) {
        let g = 0, u = 0;
        for (let i = 0; i < h; i++) {
          g += gate[o * h + i]! * x.data[r * h + i]!;
          u += up[o * h + i]! * x.data[r * h + i]!;
        }
        mid[o] = (g / (1 + Math.exp(-g))) * u;
      }
      for (let o = 0; o < h; o++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += down[o * n + i]! * mid[i]!;
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
