/**
 * The SwiGLU feed-forward of Llama-family models: y = down(silu(gate(x)) ⊙ up(x)), with the
 * Hugging Face names `gate_proj.weight` [I, H], `up_proj.weight` [I, H], `down_proj.weight` [H, I]
 * (no biases, as in Llama). Two gemms in, the SwiGLU kernel in place, one gemm out.
 */
import type { Tensor } from '../engine/memory.js';
import { checkInteger, checkOptions, checkTensor, expectShape, formatShape, type TensorLike } from '../engine/validate.js';
import { linear, mat, weightRows } from '../engine/linear.js';
import { runSwiglu } from '../engine/parallel.js';
import { checkWeightDtype, matricesAs, type DtypeOption, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import { residentWeights } from '../engine/weights.js';
import { checkNames, underPrefix } from '../engine/state-dict.js';
import type { Workspace } from '../engine/workspace.js';

export interface SwigluFeedForwardConfig {
  hiddenSize: number;
  intermediateSize: number;
  /** `gate_proj.weight`, `up_proj.weight`, `down_proj.weight` (after `prefix`, e.g. 'model.layers.0.mlp.'). */
  weights: Record<string, TensorLike>;
  prefix?: string;
  /**
   * The dtype of the three weights: 'f32' (default, or 'fp32'), 'q8' or 'q4' (blocks of 32 inputs
   * with an f32 scale each); a matrix whose input width is not a multiple of 32 stays f32.
   */
  dtype?: DtypeOption;
}

const NAMES = ['gate_proj.weight', 'up_proj.weight', 'down_proj.weight'];

export class SwigluFeedForward {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  /** The dtype of the weights (config.dtype; 'fp32' reads 'f32'). */
  readonly dtype: WeightDtype;
  private readonly ws: Workspace;
  private readonly gate: WeightMatrix;
  private readonly up: WeightMatrix;
  private readonly down: WeightMatrix;

  /** @internal use `runtime.swigluFeedForward(...)` */
  constructor(ws: Workspace, config: SwigluFeedForwardConfig) {
    const where = 'swigluFeedForward';
    const cfg = checkOptions('config', config, ['hiddenSize', 'intermediateSize', 'weights', 'prefix', 'dtype'], where);
    const dtype = checkWeightDtype(where, 'config.dtype', cfg['dtype']);
    const h = checkInteger(`${where}: hiddenSize`, cfg['hiddenSize'], 1);
    const i = checkInteger(`${where}: intermediateSize`, cfg['intermediateSize'], 1);
    const under = underPrefix(where, cfg['weights'], cfg['prefix']);
    const { record: w, prefix } = under;
    checkNames(where, under, NAMES, { what: 'gate_proj, up_proj, down_proj', leaveSingleMissing: false });
    const check = (name: string, shape: number[]) => {
      const arg = checkTensor(`${where}: weights['${prefix}${name}']`, w[name], ws.heap);
      expectShape(`${where}: weights['${prefix}${name}']`, arg.shape, shape, `Linear weight as [out, in], hiddenSize ${h}, intermediateSize ${i}`);
      return arg;
    };
    const t = residentWeights(ws.heap, { gate: check('gate_proj.weight', [i, h]), up: check('up_proj.weight', [i, h]), down: check('down_proj.weight', [h, i]) });
    const held = matricesAs(ws, t as Record<'gate' | 'up' | 'down', Tensor>, ['gate', 'up', 'down'], dtype);
    this.ws = ws;
    this.hiddenSize = h;
    this.intermediateSize = i;
    this.dtype = dtype;
    [this.gate, this.up, this.down] = [held.gate, held.up, held.down];
  }

  /** x [..., hiddenSize] → [..., hiddenSize]. */
  forward(x: TensorLike): Float32Array {
    if (this.gate.disposed) throw new Error('swigluFeedForward: this module was disposed');
    const { ws, hiddenSize: h, intermediateSize: i } = this;
    const arg = checkTensor('x', x, ws.heap);
    if (arg.shape[arg.shape.length - 1] !== h) throw new RangeError(`x: expected shape [..., ${h}] (hiddenSize), received ${formatShape(arg.shape)}`);
    const rows = arg.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    return ws.run((temps) => {
      const xm = mat(temps.input(arg), h);
      const g = mat(temps.tensor([rows, i]).ptr, i);
      const u = mat(temps.tensor([rows, i]).ptr, i);
      linear(ws, xm, weightRows(this.gate), g, rows, i, h);
      linear(ws, xm, weightRows(this.up), u, rows, i, h);
      runSwiglu(ws, g.ptr, u.ptr, g.ptr, rows * i); // g = silu(g)·u
      const y = temps.tensor(arg.shape);
      linear(ws, g, weightRows(this.down), mat(y.ptr, h), rows, h, i);
      return y.toArray();
    });
  }

  dispose(): void {
    for (const t of [this.gate, this.up, this.down]) t.dispose();
  }
}
