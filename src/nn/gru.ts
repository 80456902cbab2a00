/**
 * `torch.nn.GRU(inputSize, hiddenSize, batch_first=True)`, one layer, from its state_dict
 * (`weight_ih_l0` [3H, I], `weight_hh_l0` [3H, H], `bias_ih_l0` [3H], `bias_hh_l0` [3H]; gates r, z, n).
 *
 *   gi = x·W_ihᵀ + b_ih for all L steps at once (ONE gemm over B·L rows)
 *   per step t: gh = h·W_hhᵀ + b_hh (one gemm over B rows), then the fused cell (assembly/gru.ts)
 *               h' = (1 − z) ⊙ n + z ⊙ h, written straight into output row t
 * Step t reads h from output row t − 1 (or h0), so no state is copied between steps.
 * With `lengths`, sequence b runs only its first lengths[b] steps: its hidden is the state after
 * its last real step (h0 for length 0) and its output rows from lengths[b] on are zeros, as
 * pack_padded_sequence gives; the padding never enters its state.
 */
import { Tensor } from '../engine/memory.js';
import { checkInteger, checkLengths, checkOptions, checkTensor, formatShape, isOptionsObject, type Checked, type TensorLike } from '../engine/validate.js';
import { linear, mat, weightRows, type Mat } from '../engine/linear.js';
import { checkWeightDtype, matricesAs, type DtypeOption, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import { checkNamed, underPrefix } from '../engine/state-dict.js';
import { residentWeights } from '../engine/weights.js';
import type { Temps, Workspace } from '../engine/workspace.js';

export interface GruConfig {
  inputSize: number;
  hiddenSize: number;
  /** The state_dict of nn.GRU: `weight_ih_l0` [3H, I], `weight_hh_l0` [3H, H], `bias_ih_l0` [3H], `bias_hh_l0` [3H]. */
  weights: Record<string, TensorLike>;
  /** Only the entries starting with this prefix, with it removed (e.g. 'encoder.gru.'). */
  prefix?: string;
  /**
   * The dtype of weight_ih and weight_hh: 'f32' (default, or 'fp32'), 'q8' or 'q4' (blocks of 32
   * inputs with an f32 scale each; both products, the recurrent one included, run on the quantized
   * rows). Biases stay f32, and so does a matrix whose input width is not a multiple of 32.
   */
  dtype?: DtypeOption;
}

export interface GruForwardOptions {
  /** Per-batch true lengths: sequence b behaves as if run alone over its first lengths[b] steps. */
  lengths?: ArrayLike<number>;
}

export interface GruResult {
  /** [B, L, H]: h after every step (zeros past a sequence's length). */
  output: Float32Array;
  /** [B, H]: the state after each sequence's last step (PyTorch's h_n [1, B, H], the same values). */
  hidden: Float32Array;
}

/** @internal The resident weights of a GRU layer (also the decoder's). */
export interface GruWeights {
  wih: WeightMatrix;
  whh: WeightMatrix;
  bih: Tensor;
  bhh: Tensor;
}

/** @internal The state_dict names of one nn.GRU layer and their shapes. */
export function gruShapes(input: number, hidden: number, prefix = ''): Record<string, number[]> {
  return {
    [`${prefix}weight_ih_l0`]: [3 * hidden, input], [`${prefix}weight_hh_l0`]: [3 * hidden, hidden],
    [`${prefix}bias_ih_l0`]: [3 * hidden], [`${prefix}bias_hh_l0`]: [3 * hidden],
  };
}

/**
 * @internal Runs x rows [B·L, I] (row b·L + t, ld x.ld) through the layer: out [B·L, H] (ld H, zeroed
 * here) and hidden [B, H]; h0 [B, H] (ld H) or 0 for zeros.
 */
export function runGru(ws: Workspace, temps: Temps, w: GruWeights, x: Mat, batch: number, length: number, input: number, hidden: number, h0: number, lengths: Int32Array | undefined, out: Mat, last: Mat): void {
  const k = ws.kernels;
  const H = hidden, G = 3 * H;
  const gi = temps.tensor([batch * length, G]).ptr;
  const gh = temps.tensor([batch, G]).ptr;
  const start = h0 !== 0 ? h0 : temps.tensor([batch, H]).ptr;
  const f32 = ws.heap.floats();
  if (h0 === 0) f32.fill(0, start >>> 2, (start >>> 2) + batch * H);
  f32.fill(0, out.ptr >>> 2, (out.ptr >>> 2) + batch * length * H);
  linear(ws, x, weightRows(w.wih), mat(gi, G), batch * length, G, input, { bias: w.bih.ptr });
  for (let t = 0; t < length; t++) {
    // h of step t − 1 for every batch row: output rows t − 1 (L·H apart) or h0
    const prev = t === 0 ? mat(start, H) : mat(out.ptr + 4 * (t - 1) * H, length * H);
    linear(ws, prev, weightRows(w.whh), mat(gh, G), batch, G, H, { bias: w.bhh.ptr });
    // the cell over each run of rows still inside their sequence (all rows without lengths)
    for (let b0 = 0; b0 < batch;) {
      if (lengths && lengths[b0]! <= t) { b0++; continue; }
      let b1 = b0 + 1;
      while (b1 < batch && !(lengths && lengths[b1]! <= t)) b1++;
      k.gruCell(gi + 4 * (b0 * length + t) * G, length * G, gh + 4 * b0 * G, G, prev.ptr + 4 * b0 * prev.ld, prev.ld,
        out.ptr + 4 * (b0 * length + t) * H, length * H, b1 - b0, H);
      b0 = b1;
    }
  }
  for (let b = 0; b < batch; b++) {
    const n = lengths ? lengths[b]! : length;
    const from = n === 0 ? (start >>> 2) + b * H : (out.ptr >>> 2) + (b * length + n - 1) * H;
    f32.copyWithin((last.ptr >>> 2) + b * last.ld, from, from + H);
  }
}

export class GRU {
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** The dtype of weight_ih and weight_hh (config.dtype; 'fp32' reads 'f32'). */
  readonly dtype: WeightDtype;
  private readonly ws: Workspace;
  private readonly w: GruWeights;

  /** @internal use `runtime.gru(...)` */
  constructor(ws: Workspace, config: GruConfig) {
    const where = 'gru';
    const cfg = checkOptions('config', config, ['inputSize', 'hiddenSize', 'weights', 'prefix', 'dtype'], where);
    const dtype = checkWeightDtype(where, 'config.dtype', cfg['dtype']);
    const input = checkInteger(`${where}: inputSize`, cfg['inputSize'], 1);
    const hidden = checkInteger(`${where}: hiddenSize`, cfg['hiddenSize'], 1);
    const under = underPrefix(where, cfg['weights'], cfg['prefix']);
    const c = checkNamed(where, under, gruShapes(input, hidden), ws.heap, `nn.GRU(${input}, ${hidden}): gates r, z, n stacked`);
    const t = residentWeights(ws.heap, { wih: c['weight_ih_l0'], whh: c['weight_hh_l0'], bih: c['bias_ih_l0'], bhh: c['bias_hh_l0'] }) as Record<'wih' | 'whh' | 'bih' | 'bhh', Tensor>;
    const m = matricesAs(ws, t, ['wih', 'whh'], dtype);
    this.ws = ws;
    this.inputSize = input;
    this.hiddenSize = hidden;
    this.dtype = dtype;
    this.w = { wih: m.wih, whh: m.whh, bih: t.bih, bhh: t.bhh };
  }

  /**
   * x [B, L, inputSize], h0 [B, H] (or PyTorch's [1, B, H]; default zeros) → { output [B, L, H], hidden [B, H] }.
   * `forward(x, options)` works too.
   */
  forward(x: TensorLike, h0?: TensorLike | GruForwardOptions, options?: GruForwardOptions): GruResult {
    this.assertLive();
    if (options === undefined && h0 !== undefined && isOptionsObject(h0)) [h0, options] = [undefined, h0 as GruForwardOptions];
    const { ws, inputSize: I, hiddenSize: H } = this;
    const xa = checkTensor('x', x, ws.heap);
    if (xa.shape.length !== 3 || xa.shape[2] !== I) throw new RangeError(`x: expected shape [B, L, ${I}] (batch_first, inputSize ${I}), received ${formatShape(xa.shape)}`);
    const [batch, length] = xa.shape as [number, number, number];
    const ha = h0 === undefined ? undefined : this.checkHidden('h0', h0 as TensorLike, batch);
    const opts = checkOptions('options', options, ['lengths'], 'gru.forward');
    const lengths = checkLengths('options.lengths', opts['lengths'], batch, length);
    return ws.run((temps) => {
      const out = temps.tensor([batch * length, H]);
      const last = temps.tensor([batch, H]);
      runGru(ws, temps, this.w, mat(temps.input(xa), I), batch, length, I, H, ha ? temps.input(ha) : 0, lengths, mat(out.ptr, H), mat(last.ptr, H));
      return { output: out.toArray(), hidden: last.toArray() };
    });
  }

  /** One step of the cell: x [B, inputSize], h [B, H] → h' [B, H]. */
  step(x: TensorLike, h: TensorLike): Float32Array {
    this.assertLive();
    const { ws, inputSize: I, hiddenSize: H, w } = this;
    const xa = checkTensor('x', x, ws.heap);
    if (xa.shape.length !== 2 || xa.shape[1] !== I) throw new RangeError(`x: expected shape [B, ${I}] (inputSize ${I}), received ${formatShape(xa.shape)}`);
    const batch = xa.shape[0]!;
    const ha = this.checkHidden('h', h, batch);
    return ws.run((temps) => {
      const gi = temps.tensor([batch, 3 * H]).ptr, gh = temps.tensor([batch, 3 * H]).ptr, out = temps.tensor([batch, H]);
      const hp = temps.input(ha);
      linear(ws, mat(temps.input(xa), I), weightRows(w.wih), mat(gi, 3 * H), batch, 3 * H, I, { bias: w.bih.ptr });
      linear(ws, mat(hp, H), weightRows(w.whh), mat(gh, 3 * H), batch, 3 * H, H, { bias: w.bhh.ptr });
      ws.kernels.gruCell(gi, 3 * H, gh, 3 * H, hp, H, out.ptr, H, batch, H);
      return out.toArray();
    });
  }

  /** Frees the resident weights. Idempotent. */
  dispose(): void {
    for (const t of Object.values(this.w)) t.dispose();
  }

  private checkHidden(name: string, value: TensorLike, batch: number): Checked {
    const H = this.hiddenSize;
    const a = checkTensor(name, value, this.ws.heap);
    const s = a.shape;
    const ok = (s.length === 2 && s[0] === batch && s[1] === H) || (s.length === 3 && s[0] === 1 && s[1] === batch && s[2] === H);
    if (!ok) throw new RangeError(`${name}: expected shape [${batch}, ${H}] or [1, ${batch}, ${H}] (the batch of x, hiddenSize), received ${formatShape(s)}`);
    return a;
  }

  private assertLive(): void {
    if (this.w.wih.disposed) throw new Error('gru: this module was disposed');
  }
}
