/**
 * The feed-forward blocks of language models, on resident rows (biases optional everywhere):
 *   gated (Llama, Qwen, Mistral, Phi-3):  y = down(silu(gate(x)) ⊙ up(x))        SwiGLU
 *   gated (Gemma 3):                      y = down(gelu_tanh(gate(x)) ⊙ up(x))   GeGLU
 *   plain (GPT-2):                        y = down(act(up(x))), act the tanh GELU ('gelu_new')
 * The last projection can accumulate into y (a fused residual add).
 */
import { ACTIVATION } from '../engine/kernels.js';
import { runActivation, runSwiglu } from '../engine/parallel.js';
import { mat, type Mat } from '../engine/linear.js';
import type { TensorLike } from '../engine/validate.js';
import type { Temps, Workspace } from '../engine/workspace.js';
import type { QuantizedData, WeightDtype } from '../engine/quantized.js';
import { Linear } from './linear.js';

type LinearWeights = { weight: TensorLike | QuantizedData; bias?: TensorLike };

export class FeedForward {
  readonly kind: 'gated' | 'plain';
  private readonly ws: Workspace;
  private readonly gate: Linear | undefined;
  private readonly up: Linear;
  private readonly down: Linear;
  private readonly activation: 'silu' | 'gelu_tanh';

  /** @internal `gate` given: gated (act(gate) ⊙ up); else plain (act(up)). */
  constructor(ws: Workspace, where: string, weights: { gate?: LinearWeights; up: LinearWeights; down: LinearWeights }, activation: 'silu' | 'gelu_tanh', dtype: WeightDtype = 'f32') {
    this.ws = ws;
    this.kind = weights.gate ? 'gated' : 'plain';
    this.activation = activation;
    const made: Linear[] = [];
    try {
      if (weights.gate) made.push((this.gate = new Linear(ws, `${where}.gate`, weights.gate, dtype)));
      made.push((this.up = new Linear(ws, `${where}.up`, weights.up, dtype)));
      made.push((this.down = new Linear(ws, `${where}.down`, weights.down, dtype)));
    } catch (error) {
      for (const m of made) m.dispose();
      throw error;
    }
  }

  /** @internal y [rows, H] = FF(x [rows, H]) (+ y with accumulate). */
  forwardRows(temps: Temps, x: Mat, rows: number, y: Mat, accumulate: boolean): void {
    const width = this.up.outFeatures;
    const u = mat(temps.tensor([rows, width]).ptr, width);
    this.up.forwardRows(x, rows, u);
    if (this.gate) {
      const g = mat(temps.tensor([rows, width]).ptr, width);
      this.gate.forwardRows(x, rows, g);
      if (this.activation === 'silu') runSwiglu(this.ws, g.ptr, u.ptr, u.ptr, rows * width); // u = silu(g)·u
      else {
        runActivation(this.ws, g.ptr, g.ptr, rows * width, ACTIVATION.geluTanh);
        this.ws.kernels.mulInPlace(u.ptr, g.ptr, rows * width); // u = gelu_tanh(g)·u
      }
    } else {
      runActivation(this.ws, u.ptr, u.ptr, rows * width, this.activation === 'silu' ? ACTIVATION.silu : ACTIVATION.geluTanh);
    }
    this.down.forwardRows(u, rows, y, accumulate);
  }

  /** @internal The held projections (what a saved model writes). */
  get held(): { gate: Linear | undefined; up: Linear; down: Linear } {
    return { gate: this.gate, up: this.up, down: this.down };
  }

  dispose(): void {
    this.gate?.dispose();
    this.up.dispose();
    this.down.dispose();
  }
}
