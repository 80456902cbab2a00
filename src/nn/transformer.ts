/**
 * Transformer layers with the computation and state_dict names of `torch.nn.TransformerEncoderLayer`
 * and `TransformerDecoderLayer` (batch_first, eval: dropout off):
 *   post-norm: x = norm1(x + SA(x)); [decoder: x = norm2(x + CA(x, memory))]; x = normN(x + FF(x))
 *   pre-norm:  x = x + SA(norm1(x)); [decoder: x = x + CA(norm2(x), memory)]; x = x + FF(normN(x))
 *   FF(x) = linear2(activation(linear1(x))), activation ReLU or GELU (erf)
 * Everything stays in Wasm memory between the steps: the residual adds are fused into the layer
 * norms (post-norm) or into the epilogue of the projection that ends the sub-layer (pre-norm).
 */
import { checkBoolean, checkFinite, checkInteger, checkLengths, checkOptions, checkTensor, describe, expectShape, formatShape, type Checked, type Exact, type TensorLike } from '../engine/validate.js';
import { mat, linear, weightRows, type Mat } from '../engine/linear.js';
import { asDtype, checkWeightDtype, isQuantizedData, type DtypeOption, type QuantizedData, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import { KVCache, MultiHeadAttention } from './mha.js';
import { residentMatrix, residentWeights } from '../engine/weights.js';
import type { Projections } from './mha-weights.js';
import { checkNames, underPrefix } from '../engine/state-dict.js';
import { checkVariants, type Variants } from '../ops/variants.js';
import type { Temps, Workspace } from '../engine/workspace.js';
import { Tensor, type Heap } from '../engine/memory.js';
import { ACTIVATION } from '../engine/kernels.js';
import { runActivation } from '../engine/parallel.js';

/** 'gelu' is the exact (erf) form; 'gelu_tanh' the tanh approximation (PyTorch's approximate='tanh', Hugging Face's gelu_new). */
export type Activation = 'relu' | 'gelu' | 'gelu_tanh';

export interface TransformerLayerConfig {
  dModel: number;
  nhead: number;
  /** The feed-forward width; default: read from `linear1.weight` [dimFeedforward, dModel] (when given, it must match). */
  dimFeedforward?: number;
  /** Inputs and outputs are [B, L, dModel] (true, the default) or PyTorch's default [L, B, dModel] (false: `batch_first=False`). */
  batchFirst?: boolean;
  /** Default 'relu' (PyTorch's default). */
  activation?: Activation;
  /** Default 1e-5. */
  layerNormEps?: number;
  /** Pre-norm (norm_first=True). Default false. */
  normFirst?: boolean;
  /** The state_dict (names as PyTorch writes them), e.g. from readSafetensors. */
  weights: Record<string, TensorLike>;
  /** Only the entries starting with this prefix, with it removed (e.g. 'encoder.layers.0.'). */
  prefix?: string;
  /**
   * The dtype of the Linear weights (attention projections, linear1, linear2): 'f32' (default, or
   * 'fp32'), 'q8' or 'q4' (blocks of 32 inputs with an f32 scale each). Norms and biases stay f32,
   * and so does a matrix whose input width is not a multiple of 32.
   */
  dtype?: DtypeOption;
}

const CONFIG = ['dModel', 'nhead', 'dimFeedforward', 'batchFirst', 'activation', 'layerNormEps', 'normFirst', 'weights', 'prefix', 'dtype'];

/**
 * An attention mask as `nn.Transformer*` layers take it (`src_mask`, `tgt_mask`, `memory_mask`):
 * shape [L, S] (every sequence and head) or [B·nhead, L, S] (PyTorch's 3-D form, batch-major);
 * data a Uint8Array or boolean[] where true = NOT allowed to attend (PyTorch's convention for these
 * masks, the opposite of `multiHeadAttention`'s `attnMask`), or a Float32Array added to the scores
 * (−Infinity hides a key).
 */
export interface TransformerMask {
  data: Uint8Array | readonly boolean[] | Float32Array;
  shape: readonly number[];
}

/** A key padding mask [B, S] (`src_key_padding_mask`, …): true = padding (ignored as a key); left padding included. */
export interface KeyPaddingMask {
  data: Uint8Array | readonly boolean[];
  shape: readonly number[];
}

/** `transformerEncoderLayer.forward` / `transformerEncoder.forward` options (PyTorch's forward arguments, camelCase). */
export interface EncoderForwardOptions {
  /** Query i sees keys j ≤ i (`is_causal`, or `src_mask` = the square subsequent mask). */
  causal?: boolean;
  /** Per batch: keys j ≥ keyLengths[b] are padding (right padding; `srcKeyPaddingMask` for any padding). */
  keyLengths?: ArrayLike<number>;
  /** `src_mask` ([L, L] or [B·nhead, L, L]; bool true = masked, or float added). */
  srcMask?: TransformerMask;
  /** `src_key_padding_mask` [B, L]: true = padding. */
  srcKeyPaddingMask?: KeyPaddingMask;
}

/** `transformerDecoderLayer.forward` / `transformerDecoder.forward` options (PyTorch's forward arguments, camelCase). */
export interface DecoderForwardOptions {
  /** Self-attention: target position i sees positions j ≤ i (`tgt_is_causal`, or `tgt_mask` = the square subsequent mask). */
  causal?: boolean;
  /** Per batch: memory positions j ≥ memoryKeyLengths[b] are padding (right padding). */
  memoryKeyLengths?: ArrayLike<number>;
  /** `tgt_mask` for the self-attention ([T, T] or [B·nhead, T, T]; bool true = masked, or float added). */
  tgtMask?: TransformerMask;
  /** `memory_mask` for the cross-attention ([T, S] or [B·nhead, T, S]; bool true = masked, or float added). */
  memoryMask?: TransformerMask;
  /** `tgt_key_padding_mask` [B, T]: true = padding. */
  tgtKeyPaddingMask?: KeyPaddingMask;
  /** `memory_key_padding_mask` [B, S]: true = padding. */
  memoryKeyPaddingMask?: KeyPaddingMask;
}

const ENCODER_OPTIONS = ['causal', 'keyLengths', 'srcMask', 'srcKeyPaddingMask'];
const DECODER_OPTIONS = ['causal', 'memoryKeyLengths', 'tgtMask', 'memoryMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask'];
const ACTIVATION_KIND: Record<Activation, number> = { relu: ACTIVATION.relu, gelu: ACTIVATION.gelu, gelu_tanh: ACTIVATION.geluTanh };

/** The resident feed-forward and norms of a layer. */
export interface Parts {
  w1: WeightMatrix; b1: Tensor; w2: WeightMatrix; b2: Tensor;
  norms: { weight: Tensor; bias: Tensor }[];
}

/** A checked config: sizes, the named weights (prefix removed), and the attention modules. */
function checkLayer(ws: Workspace, where: string, config: TransformerLayerConfig, attentions: string[], norms: number) {
  const cfg = checkOptions('config', config, CONFIG, where);
  const e = checkInteger(`${where}: dModel`, cfg['dModel'], 1);
  const heads = checkInteger(`${where}: nhead`, cfg['nhead'], 1);
  if (e % heads !== 0) throw new RangeError(`${where}: dModel ${e} must be divisible by nhead ${heads}`);
  const activation = (cfg['activation'] ?? 'relu') as Activation;
  if (!(activation in ACTIVATION_KIND)) throw new TypeError(`${where}: activation must be 'relu', 'gelu' or 'gelu_tanh', received ${describe(cfg['activation'])}`);
  const eps = checkFinite(`${where}: layerNormEps`, cfg['layerNormEps'], 1e-5);
  if (!(eps > 0)) throw new RangeError(`${where}: layerNormEps must be positive, received ${eps}`);
  const normFirst = checkBoolean(`${where}: normFirst`, cfg['normFirst']);
  const dtype = checkWeightDtype(where, 'config.dtype', cfg['dtype']);
  const under = underPrefix(where, cfg['weights'], cfg['prefix']);
  const { record: weights, prefix } = under;
  const batchFirst = cfg['batchFirst'] === undefined ? true : checkBoolean(`${where}: batchFirst`, cfg['batchFirst']);
  // dimFeedforward: linear1.weight's rows (when the weight is there: a missing one is reported below)
  const w1Value = weights['linear1.weight'];
  const w1 = w1Value === undefined ? undefined : isQuantizedData(w1Value) ? w1Value : checkTensor(`${where}: weights['${prefix}linear1.weight']`, w1Value, ws.heap);
  const rowsOfW1 = w1 && w1.shape.length === 2 ? w1.shape[0]! : undefined;
  let ff: number;
  if (cfg['dimFeedforward'] === undefined) ff = rowsOfW1 ?? 1;
  else {
    ff = checkInteger(`${where}: dimFeedforward`, cfg['dimFeedforward'], 1);
    if (rowsOfW1 !== undefined && rowsOfW1 !== ff) {
      throw new RangeError(`${where}: dimFeedforward ${ff} does not match weights['${prefix}linear1.weight'] of shape ${formatShape(w1!.shape)} (dimFeedforward ${rowsOfW1}); omit dimFeedforward to read it from the weights`);
    }
  }
  // the names PyTorch's state_dict has, all required: report missing and unexpected ones together
  const shapes: Record<string, number[]> = {
    'linear1.weight': [ff, e], 'linear1.bias': [ff], 'linear2.weight': [e, ff], 'linear2.bias': [e],
  };
  for (const a of attentions) {
    Object.assign(shapes, { [`${a}.in_proj_weight`]: [3 * e, e], [`${a}.in_proj_bias`]: [3 * e], [`${a}.out_proj.weight`]: [e, e], [`${a}.out_proj.bias`]: [e] });
  }
  for (let n = 1; n <= norms; n++) Object.assign(shapes, { [`norm${n}.weight`]: [e], [`norm${n}.bias`]: [e] });
  checkNames(where, under, Object.keys(shapes), { what: "the layer's state_dict", leaveSingleMissing: false });
  const checked: Record<string, Checked | QuantizedData> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const value = weights[name];
    // a matrix as a saved model holds it (Q8 / Q4): the shape is checked, the values copied in as they are
    const arg = isQuantizedData(value) ? value : checkTensor(`${where}: weights['${prefix}${name}']`, value, ws.heap);
    expectShape(`${where}: weights['${prefix}${name}']`, arg.shape, shape, `dModel ${e}, dimFeedforward ${ff}`);
    checked[name] = arg;
  }
  return { e, heads, ff, activation, eps, normFirst, batchFirst, checked, dtype };
}

/** The feed-forward and norm weights resident (all or none; linear1/linear2 in `dtype`), then the attention modules. */
function loadParts(ws: Workspace, checked: Record<string, Checked | QuantizedData>, norms: number, dtype: WeightDtype): Parts {
  const vector = (name: string): Checked => {
    const c = checked[name]!;
    if (isQuantizedData(c)) throw new TypeError(`${name} is ${c.dtype}: only matrices are held quantized`);
    return c;
  };
  const names: Record<string, Checked> = { b1: vector('linear1.bias'), b2: vector('linear2.bias') };
  for (let n = 1; n <= norms; n++) Object.assign(names, { [`n${n}w`]: vector(`norm${n}.weight`), [`n${n}b`]: vector(`norm${n}.bias`) });
  const t = residentWeights(ws.heap, names) as Record<string, Tensor>;
  let w1: WeightMatrix | undefined, w2: WeightMatrix | undefined;
  try {
    w1 = residentMatrix(ws, checked['linear1.weight']!, dtype);
    w2 = residentMatrix(ws, checked['linear2.weight']!, dtype);
  } catch (error) {
    for (const tensor of Object.values(t)) tensor.dispose();
    w1?.dispose();
    throw error;
  }
  const parts: Parts = { w1, b1: t['b1']!, w2, b2: t['b2']!, norms: [] };
  for (let n = 1; n <= norms; n++) parts.norms.push({ weight: t[`n${n}w`]!, bias: t[`n${n}b`]! });
  return parts;
}

function attention(ws: Workspace, e: number, heads: number, checked: Record<string, Checked | QuantizedData>, name: string, dtype: WeightDtype): MultiHeadAttention {
  const w = (k: string) => checked[`${name}.${k}`]!;
  // QuantizedData (a saved model's matrices) passes through to the module, which holds it as it is
  const asInput = (c: Checked | QuantizedData) => (isQuantizedData(c) ? (c as unknown as TensorLike) : (c.tensor ?? { data: c.data!, shape: c.shape }));
  return new MultiHeadAttention(ws, {
    embedDim: e, numHeads: heads, dtype,
    weights: { in_proj_weight: asInput(w('in_proj_weight')), in_proj_bias: asInput(w('in_proj_bias')), 'out_proj.weight': asInput(w('out_proj.weight')), 'out_proj.bias': asInput(w('out_proj.bias')) },
  });
}

/** Shared by both layers: the feed-forward sub-layer and the norms, on resident rows. */
class LayerCore {
  constructor(
    protected readonly ws: Workspace,
    readonly dModel: number,
    readonly dimFeedforward: number,
    readonly activation: Activation,
    readonly normFirst: boolean,
    protected readonly eps: number,
    protected readonly parts: Parts,
    readonly nhead: number,
    /** Inputs and outputs [B, L, dModel] (true) or [L, B, dModel] (false). */
    readonly batchFirst: boolean,
    /** The dtype of the Linear weights (config.dtype; 'fp32' reads 'f32'). */
    readonly dtype: WeightDtype,
  ) {}

  /** y = norm_n(x (+ residual)) over rows of dModel. */
  protected norm(n: number, x: Mat, rows: number, y: Mat, residual?: Mat): void {
    const { weight, bias } = this.parts.norms[n - 1]!;
    this.ws.kernels.layerNorm(x.ptr, x.ld, y.ptr, y.ld, rows, this.dModel, weight.ptr, bias.ptr, this.eps, residual ? residual.ptr : 0, residual ? residual.ld : 0);
  }

  /** y = FF(x) (+ y when accumulate: the residual add fused into linear2's epilogue). */
  protected feedForward(temps: Temps, x: Mat, rows: number, y: Mat, accumulate: boolean): void {
    const { w1, b1, w2, b2 } = this.parts;
    const f = this.dimFeedforward, e = this.dModel;
    const hidden = mat(temps.tensor([rows, f]).ptr, f);
    linear(this.ws, x, weightRows(w1), hidden, rows, f, e, { bias: b1.ptr });
    runActivation(this.ws, hidden.ptr, hidden.ptr, rows * f, ACTIVATION_KIND[this.activation]);
    linear(this.ws, hidden, weightRows(w2), y, rows, e, f, { bias: b2.ptr, accumulate });
  }

  protected disposeParts(): void {
    const { w1, b1, w2, b2, norms } = this.parts;
    for (const t of [w1, b1, w2, b2, ...norms.flatMap((n) => [n.weight, n.bias])]) t.dispose();
  }

  protected assertLive(where: string): void {
    if (this.parts.w1.disposed) throw new Error(`${where}: this layer was disposed`);
  }
}

/** x [B, L, E] (batchFirst) or [L, B, E], checked; rows in batch-major order ([B, L, E]) either way. */
function checkRows(where: string, name: string, value: TensorLike, e: number, ws: Workspace, batchFirst: boolean): { arg: Checked; batch: number; length: number } {
  const arg = checkTensor(name, value, ws.heap);
  const layout = batchFirst ? `[B, L, ${e}] (batchFirst, dModel ${e})` : `[L, B, ${e}] (batchFirst false, dModel ${e})`;
  if (arg.shape.length !== 3 || arg.shape[2] !== e) throw new RangeError(`${where}: ${name}: expected shape ${layout}, received ${formatShape(arg.shape)}`);
  if (batchFirst) return { arg, batch: arg.shape[0]!, length: arg.shape[1]! };
  const [length, batch] = arg.shape as [number, number, number];
  const data = swapLeading(arg.tensor ? arg.tensor.data : arg.data!, length, batch, e);
  return { arg: { name, shape: [batch, length, e], data }, batch, length };
}

/** [A, B, E] → [B, A, E] (a copy). */
function swapLeading(x: Float32Array, a: number, b: number, e: number): Float32Array {
  const y = new Float32Array(a * b * e);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) y.set(x.subarray((i * b + j) * e, (i * b + j + 1) * e), (j * a + i) * e);
  return y;
}

/** The rows [B·L, E] of a result copied out in the caller's layout. */
function outputRows(heap: Heap, ptr: number, batch: number, length: number, e: number, batchFirst: boolean): Float32Array {
  const rows = heap.view(ptr, batch * length * e);
  return batchFirst ? rows.slice() : swapLeading(rows, batch, length, e);
}

/** A key padding mask [B, S] (true = padding) as flags, or undefined. */
function checkKeyPadding(name: string, value: unknown, batch: number, lk: number): Uint8Array | undefined {
  if (value === undefined) return undefined;
  const kpm = value as { data?: unknown; shape?: unknown };
  if (typeof kpm !== 'object' || kpm === null || ArrayBuffer.isView(kpm) || Array.isArray(kpm)) {
    throw new TypeError(`${name} must be { data: Uint8Array | boolean[], shape: [B, S] } (true = padding), received ${describe(kpm)}`);
  }
  if (!Array.isArray(kpm.shape) || kpm.shape.length !== 2 || kpm.shape[0] !== batch || kpm.shape[1] !== lk) {
    throw new RangeError(`${name}: expected shape [${batch}, ${lk}] ([B, S]: true where a key is padding), received ${Array.isArray(kpm.shape) ? formatShape(kpm.shape) : describe(kpm.shape)}`);
  }
  const data = kpm.data;
  const padding = data instanceof Uint8Array ? data : Array.isArray(data) && data.every((x) => typeof x === 'boolean') ? Uint8Array.from(data, Number) : undefined;
  if (!padding || padding.length !== batch * lk) throw new TypeError(`${name}.data must be a Uint8Array or boolean[] of ${batch * lk} entries (true = padding), received ${describe(data)}`);
  return padding;
}

/**
 * A layer mask ([L, S] or [B·H, L, S]; bool true = masked, or float added) in multi-head attention's
 * convention: [1 or B, 1 or H, L, S], bool true = may attend, or float added.
 */
function checkLayerMask(name: string, value: unknown, batch: number, heads: number, lq: number, lk: number): { data: Uint8Array | Float32Array; shape: number[] } | undefined {
  if (value === undefined) return undefined;
  const m = value as { data?: unknown; shape?: unknown };
  const forms = `[${lq}, ${lk}] ([L, S]) or [${batch * heads}, ${lq}, ${lk}] ([B·nhead, L, S])`;
  if (typeof m !== 'object' || m === null || ArrayBuffer.isView(m) || Array.isArray(m)) {
    throw new TypeError(`${name} must be { data, shape } of shape ${forms}, data a Uint8Array or boolean[] (true = masked) or a Float32Array (added to the scores), received ${describe(m)}`);
  }
  const shape = m.shape;
  const is2d = Array.isArray(shape) && shape.length === 2 && shape[0] === lq && shape[1] === lk;
  const is3d = Array.isArray(shape) && shape.length === 3 && shape[0] === batch * heads && shape[1] === lq && shape[2] === lk;
  if (!is2d && !is3d) throw new RangeError(`${name}: expected shape ${forms}, received ${Array.isArray(shape) ? formatShape(shape.map((d) => (typeof d === 'number' ? d : describe(d)))) : describe(shape)}`);
  const size = is2d ? lq * lk : batch * heads * lq * lk;
  const data = m.data;
  let out: Uint8Array | Float32Array | undefined;
  if (data instanceof Float32Array) out = data;
  else if (data instanceof Uint8Array) out = data.map((x) => (x ? 0 : 1));
  else if (Array.isArray(data) && data.every((x) => typeof x === 'boolean')) out = Uint8Array.from(data, (x) => (x ? 0 : 1));
  if (!out || out.length !== size) {
    throw new TypeError(`${name}.data must be a Uint8Array or boolean[] (true = masked) or a Float32Array (added to the scores) of ${size} entries, received ${describe(data)}`);
  }
  return { data: out, shape: is2d ? [1, 1, lq, lk] : [batch, heads, lq, lk] };
}

/** One attention mask for the fused call from a layer mask (attention's convention) and key padding flags. */
function maskVariants(mask: { data: Uint8Array | Float32Array; shape: number[] } | undefined, padding: Uint8Array | undefined, batch: number, heads: number, lq: number, lk: number, heap: Heap): Variants | undefined {
  if (!mask && !padding) return undefined;
  let attnMask: { data: Uint8Array | Float32Array; shape: number[] };
  if (!padding) attnMask = mask!;
  else if (!mask) attnMask = { data: padding.map((x) => (x ? 0 : 1)), shape: [batch, 1, 1, lk] };
  else {
    // [B, H', L, S]: a padded key hidden, else the mask's entry
    const h2 = mask.shape[1]!, perBatch = mask.shape[0] !== 1;
    const add = mask.data instanceof Float32Array;
    const data = add ? new Float32Array(batch * h2 * lq * lk) : new Uint8Array(batch * h2 * lq * lk);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < h2; h++) {
        const src = ((perBatch ? b * h2 + h : h) * lq) * lk, dst = ((b * h2 + h) * lq) * lk;
        for (let i = 0; i < lq * lk; i++) data[dst + i] = padding[b * lk + (i % lk)] ? (add ? -Infinity : 0) : mask.data[src + i]!;
      }
    }
    attnMask = { data, shape: [batch, h2, lq, lk] };
  }
  return checkVariants({ attnMask }, batch, heads, lq, lk, heap);
}

/** @internal src and the encoder forward options, checked. */
/** @internal One encoder call on resident rows: the batch, its length and masks. */
export type EncoderRows = Omit<EncoderInput, 'arg'>;

export interface EncoderInput {
  arg: Checked;
  batch: number;
  length: number;
  causal: boolean;
  keyLengths: Int32Array | undefined;
  variants: Variants | undefined;
}

/** src ([B, L, E] or [L, B, E]) and the encoder forward options, checked. */
function checkEncoderInput(where: string, src: TensorLike, options: unknown, layer: LayerCore, ws: Workspace): EncoderInput {
  const { arg, batch, length } = checkRows(where, 'src', src, layer.dModel, ws, layer.batchFirst);
  const opts = checkOptions('options', options, ENCODER_OPTIONS, 'forward');
  const causal = checkBoolean('options.causal', opts['causal']);
  const keyLengths = checkLengths('options.keyLengths', opts['keyLengths'], batch, length);
  const mask = checkLayerMask('options.srcMask', opts['srcMask'], batch, layer.nhead, length, length);
  const padding = checkKeyPadding('options.srcKeyPaddingMask', opts['srcKeyPaddingMask'], batch, length);
  return { arg, batch, length, causal, keyLengths, variants: maskVariants(mask, padding, batch, layer.nhead, length, length, ws.heap) };
}

export class TransformerEncoderLayer extends LayerCore {
  private readonly selfAttn: MultiHeadAttention;

  /** @internal use `runtime.transformerEncoderLayer(...)` */
  constructor(ws: Workspace, config: TransformerLayerConfig) {
    const where = 'transformerEncoderLayer';
    const c = checkLayer(ws, where, config, ['self_attn'], 2);
    const parts = loadParts(ws, c.checked, 2, c.dtype);
    let selfAttn: MultiHeadAttention;
    try {
      selfAttn = attention(ws, c.e, c.heads, c.checked, 'self_attn', c.dtype);
    } catch (error) {
      for (const t of [parts.w1, parts.b1, parts.w2, parts.b2, ...parts.norms.flatMap((n) => [n.weight, n.bias])]) t.dispose();
      throw error;
    }
    super(ws, c.e, c.ff, c.activation, c.normFirst, c.eps, parts, c.heads, c.batchFirst, c.dtype);
    this.selfAttn = selfAttn;
  }

  /** @internal The held weights (what a saved model writes): the feed-forward and norms, and the attention's projections. */
  get held(): { parts: Readonly<Parts>; attention: Projections } {
    return { parts: this.parts, attention: this.selfAttn.held };
  }

  /**
   * src [B, L, dModel] ([L, B, dModel] with batchFirst false) → the same shape. `causal`, `srcMask`
   * and the padding options (`keyLengths`, `srcKeyPaddingMask`) hide keys; padded query rows are
   * still computed (over the visible keys) and are best ignored. A row that sees no key at all gets a
   * zero attention output where PyTorch gives NaN.
   */
  forward<O extends EncoderForwardOptions = {}>(src: TensorLike, options?: Exact<O, EncoderForwardOptions>): Float32Array;
  forward(src: TensorLike, options?: EncoderForwardOptions): Float32Array;
  forward(src: TensorLike, options?: EncoderForwardOptions): Float32Array {
    this.assertLive('transformerEncoderLayer');
    const { ws, dModel: e } = this;
    const input = checkEncoderInput('transformerEncoderLayer.forward', src, options, this, ws);
    const rows = input.batch * input.length;
    return ws.run((temps) => {
      const y = mat(temps.tensor([rows, e]).ptr, e);
      this.forwardRows(temps, mat(temps.input(input.arg), e), input, y);
      return outputRows(ws.heap, y.ptr, input.batch, input.length, e, this.batchFirst);
    });
  }

  /** @internal The layer on resident rows: y [B·L, E] for x [B·L, E] (x is left as it was). */
  forwardRows(temps: Temps, x: Mat, p: EncoderRows, y: Mat, onWeights?: (weights: Float32Array) => void): void {
    const { ws, dModel: e } = this;
    const { batch, length, causal, keyLengths, variants } = p;
    const rows = batch * length;
    const sa = mat(temps.tensor([rows, e]).ptr, e);
    const attend = (q: Mat) => {
      const weights = this.selfAttn.attendRows(temps, { xq: q, batch, lq: length, lk: length, causal, keyLengths, variants, headWeights: onWeights !== undefined }, sa);
      if (weights) onWeights!(weights); // every head's weights [B, H, L, L], when asked
    };
    if (this.normFirst) {
      const n = mat(temps.tensor([rows, e]).ptr, e);
      this.norm(1, x, rows, n);
      attend(n);
      ws.kernels.addInPlace(sa.ptr, x.ptr, rows * e); // sa = x + SA(norm1(x))
      this.norm(2, sa, rows, n);
      ws.heap.floats().copyWithin(y.ptr >>> 2, sa.ptr >>> 2, (sa.ptr >>> 2) + rows * e);
      this.feedForward(temps, n, rows, y, true); // y = sa + FF(norm2(sa))
    } else {
      attend(x);
      this.norm(1, sa, rows, sa, x); // sa = norm1(x + SA(x))
      this.feedForward(temps, sa, rows, y, false);
      this.norm(2, y, rows, y, sa); // y = norm2(sa + FF(sa))
    }
  }

  dispose(): void {
    this.disposeParts();
    this.selfAttn.dispose();
  }
}

/** @internal tgt and memory of a decoder forward, checked. */
export interface DecoderInput {
  t: Checked;
  m: Checked;
  batch: number;
  lt: number;
  ls: number;
  causal: boolean;
  memoryKeyLengths: Int32Array | undefined;
  selfVariants: Variants | undefined;
  crossVariants: Variants | undefined;
}

function checkDecoderInput(where: string, tgt: TensorLike, memory: TensorLike, options: unknown, layer: LayerCore, ws: Workspace): DecoderInput {
  const e = layer.dModel, heads = layer.nhead;
  const t = checkRows(where, 'tgt', tgt, e, ws, layer.batchFirst);
  const m = checkRows(where, 'memory', memory, e, ws, layer.batchFirst);
  if (m.batch !== t.batch) throw new RangeError(`${where}: memory: expected shape ${layer.batchFirst ? `[${t.batch}, S, ${e}]` : `[S, ${t.batch}, ${e}]`} (the batch of tgt), received ${formatShape(layer.batchFirst ? m.arg.shape : [m.length, m.batch, e])}`);
  const opts = checkOptions('options', options, DECODER_OPTIONS, 'forward');
  const causal = checkBoolean('options.causal', opts['causal']);
  const memoryKeyLengths = checkLengths('options.memoryKeyLengths', opts['memoryKeyLengths'], t.batch, m.length);
  const [batch, lt, ls] = [t.batch, t.length, m.length];
  const tgtMask = checkLayerMask('options.tgtMask', opts['tgtMask'], batch, heads, lt, lt);
  const memoryMask = checkLayerMask('options.memoryMask', opts['memoryMask'], batch, heads, lt, ls);
  const tgtPadding = checkKeyPadding('options.tgtKeyPaddingMask', opts['tgtKeyPaddingMask'], batch, lt);
  const memoryPadding = checkKeyPadding('options.memoryKeyPaddingMask', opts['memoryKeyPaddingMask'], batch, ls);
  return {
    t: t.arg, m: m.arg, batch, lt, ls, causal, memoryKeyLengths,
    selfVariants: maskVariants(tgtMask, tgtPadding, batch, heads, lt, lt, ws.heap),
    crossVariants: maskVariants(memoryMask, memoryPadding, batch, heads, lt, ls, ws.heap),
  };
}

export class TransformerDecoderLayer extends LayerCore {
  private readonly selfAttn: MultiHeadAttention;
  private readonly crossAttn: MultiHeadAttention;

  /** @internal use `runtime.transformerDecoderLayer(...)` */
  constructor(ws: Workspace, config: TransformerLayerConfig) {
    const where = 'transformerDecoderLayer';
    const c = checkLayer(ws, where, config, ['self_attn', 'multihead_attn'], 3);
    const parts = loadParts(ws, c.checked, 3, c.dtype);
    const made: MultiHeadAttention[] = [];
    try {
      made.push(attention(ws, c.e, c.heads, c.checked, 'self_attn', c.dtype));
      made.push(attention(ws, c.e, c.heads, c.checked, 'multihead_attn', c.dtype));
    } catch (error) {
      for (const m of made) m.dispose();
      for (const t of [parts.w1, parts.b1, parts.w2, parts.b2, ...parts.norms.flatMap((n) => [n.weight, n.bias])]) t.dispose();
      throw error;
    }
    super(ws, c.e, c.ff, c.activation, c.normFirst, c.eps, parts, c.heads, c.batchFirst, c.dtype);
    [this.selfAttn, this.crossAttn] = made as [MultiHeadAttention, MultiHeadAttention];
  }

  /**
   * tgt [B, T, dModel], memory [B, S, dModel] → [B, T, dModel] ([T, B, ·], [S, B, ·] with batchFirst
   * false). `causal` and `tgtMask` / `tgtKeyPaddingMask` mask the self-attention; `memoryMask`,
   * `memoryKeyLengths` / `memoryKeyPaddingMask` the cross-attention. Padded target rows are still
   * computed; a row that sees no key gets a zero attention output where PyTorch gives NaN.
   */
  forward<O extends DecoderForwardOptions = {}>(tgt: TensorLike, memory: TensorLike, options?: Exact<O, DecoderForwardOptions>): Float32Array;
  forward(tgt: TensorLike, memory: TensorLike, options?: DecoderForwardOptions): Float32Array;
  forward(tgt: TensorLike, memory: TensorLike, options?: DecoderForwardOptions): Float32Array {
    this.assertLive('transformerDecoderLayer');
    const { ws, dModel: e } = this;
    const input = checkDecoderInput('transformerDecoderLayer.forward', tgt, memory, options, this, ws);
    const rows = input.batch * input.lt;
    return ws.run((temps) => {
      const y = mat(temps.tensor([rows, e]).ptr, e);
      this.forwardRows(temps, mat(temps.input(input.t), e), mat(temps.input(input.m), e), input, y);
      return outputRows(ws.heap, y.ptr, input.batch, input.lt, e, this.batchFirst);
    });
  }

  /** @internal The layer on resident rows: y [B·T, E] for x [B·T, E] over mem [B·S, E] (x is left as it was). */
  forwardRows(temps: Temps, x: Mat, mem: Mat, p: DecoderInput, y: Mat): void {
    const { ws, dModel: e } = this;
    const { batch, lt, ls, causal, memoryKeyLengths, selfVariants, crossVariants } = p;
    const rows = batch * lt;
    const a = y;
    const b = mat(temps.tensor([rows, e]).ptr, e);
    const selfAttend = (q: Mat, out: Mat) => this.selfAttn.attendRows(temps, { xq: q, batch, lq: lt, lk: lt, causal, variants: selfVariants }, out);
    const crossAttend = (q: Mat, out: Mat) => this.crossAttn.attendRows(temps, { xq: q, xk: mem, xv: mem, batch, lq: lt, lk: ls, causal: false, keyLengths: memoryKeyLengths, variants: crossVariants }, out);
    if (this.normFirst) {
      const n = mat(temps.tensor([rows, e]).ptr, e);
      this.norm(1, x, rows, n);
      selfAttend(n, a);
      ws.kernels.addInPlace(a.ptr, x.ptr, rows * e); // a = x + SA(norm1(x))
      this.norm(2, a, rows, n);
      crossAttend(n, b);
      ws.kernels.addInPlace(b.ptr, a.ptr, rows * e); // b = a + CA(norm2(a), memory)
      this.norm(3, b, rows, n);
      ws.heap.floats().copyWithin(a.ptr >>> 2, b.ptr >>> 2, (b.ptr >>> 2) + rows * e);
      this.feedForward(temps, n, rows, a, true); // a = b + FF(norm3(b))
      return;
    }
    selfAttend(x, a);
    this.norm(1, a, rows, a, x); // a = norm1(x + SA(x))
    crossAttend(a, b);
    this.norm(2, b, rows, b, a); // b = norm2(a + CA(a, memory))
    this.feedForward(temps, b, rows, a, false);
    this.norm(3, a, rows, a, b); // a = norm3(b + FF(b))
  }

  /** A self-attention KV cache for `bind(...).step`: [batch, maxLength] positions. */
  createCache(options: { batch: number; maxLength: number }): KVCache {
    this.assertLive('transformerDecoderLayer');
    return this.selfAttn.createCache(options);
  }

  /**
   * Keeps memory [B, S, dModel] resident with the cross-attention keys and values projected once,
   * for an incremental decode: `bound.step(x [B, dModel], cache)` then costs one token's work.
   * The memory's padding: `memoryKeyLengths` (right) or `memoryKeyPaddingMask` [B, S] (true = padding).
   */
  bind(memory: TensorLike, options?: { memoryKeyLengths?: ArrayLike<number>; memoryKeyPaddingMask?: KeyPaddingMask }): BoundDecoderLayer {
    const where = 'transformerDecoderLayer.bind';
    this.assertLive('transformerDecoderLayer');
    const { ws, dModel: e } = this;
    const m = checkRows(where, 'memory', memory, e, ws, this.batchFirst);
    const opts = checkOptions('options', options, ['memoryKeyLengths', 'memoryKeyPaddingMask'], 'bind');
    const lengths = checkLengths('options.memoryKeyLengths', opts['memoryKeyLengths'], m.batch, m.length);
    const padding = checkKeyPadding('options.memoryKeyPaddingMask', opts['memoryKeyPaddingMask'], m.batch, m.length);
    // one query row per step: the padding as a [B, 1, 1, S] mask
    const variants = maskVariants(undefined, padding, m.batch, this.nhead, 1, m.length, ws.heap);
    const kv = new Tensor(ws.heap, [m.batch * m.length, 2 * e]);
    try {
      ws.run((temps) => this.crossAttn.projectKeysValues(mat(temps.input(m.arg), e), m.batch * m.length, mat(kv.ptr, 2 * e)));
    } catch (error) {
      kv.dispose();
      throw error;
    }
    return new BoundDecoderLayer(this, kv, m.batch, m.length, lengths, variants);
  }

  /** @internal BoundDecoderLayer.step: the checks, then stepRows. */
  stepBound(x: TensorLike, cache: KVCache, bound: BoundDecoderLayer): Float32Array {
    this.assertLive('transformerDecoderLayer');
    const { ws, dModel: e } = this;
    const xa = checkTensor('x', x, ws.heap);
    expectShape('x', xa.shape, [bound.batch, e], 'the batch of the bound memory and dModel');
    if (!(cache instanceof KVCache) || cache.owner !== this.selfAttn || cache.batch !== bound.batch) {
      throw new TypeError(`cache must be a KVCache of batch ${bound.batch} made by this layer's createCache(), received ${describe(cache)}`);
    }
    if (cache.disposed) throw new TypeError('cache was disposed');
    cache.nextSlot(); // a full cache throws before anything runs
    return ws.run((temps) => {
      const y = temps.tensor([bound.batch, e]);
      this.stepRows(temps, mat(temps.input(xa), e), cache, bound, mat(y.ptr, e));
      return y.toArray();
    });
  }

  /** @internal One decoder step on resident rows: y [B, E] for x [B, E] at the cache's next position. */
  stepRows(temps: Temps, x: Mat, cache: KVCache, bound: BoundDecoderLayer, y: Mat): void {
    const { ws, dModel: e } = this;
    const batch = cache.batch;
    const a = mat(temps.tensor([batch, e]).ptr, e);
    const b = mat(temps.tensor([batch, e]).ptr, e);
    const cross = (q: Mat, out: Mat) => this.crossAttn.attendRows(temps, {
      xq: q, batch, lq: 1, lk: bound.sourceLength, causal: false, keyLengths: bound.lengths, variants: bound.variants, projectedKV: mat(bound.kv.ptr, 2 * e),
    }, out);
    if (this.normFirst) {
      const n = mat(temps.tensor([batch, e]).ptr, e);
      this.norm(1, x, batch, n);
      this.selfAttn.stepRows(temps, n, cache, a);
      ws.kernels.addInPlace(a.ptr, x.ptr, batch * e);
      this.norm(2, a, batch, n);
      cross(n, b);
      ws.kernels.addInPlace(b.ptr, a.ptr, batch * e);
      this.norm(3, b, batch, n);
      ws.heap.floats().copyWithin(y.ptr >>> 2, b.ptr >>> 2, (b.ptr >>> 2) + batch * e);
      this.feedForward(temps, n, batch, y, true);
      return;
    }
    this.selfAttn.stepRows(temps, x, cache, a);
    this.norm(1, a, batch, a, x);
    cross(a, b);
    this.norm(2, b, batch, b, a);
    this.feedForward(temps, b, batch, y, false);
    this.norm(3, y, batch, y, b);
  }

  dispose(): void {
    this.disposeParts();
    this.selfAttn.dispose();
    this.crossAttn.dispose();
  }
}

/** Memory bound to a decoder layer (its cross-attention keys and values projected once). */
export class BoundDecoderLayer {
  readonly batch: number;
  readonly sourceLength: number;
  /** @internal */ readonly kv: Tensor;
  /** @internal */ readonly lengths: Int32Array | undefined;
  /** @internal the memory key padding as an attention mask */ readonly variants: Variants | undefined;
  private readonly layer: TransformerDecoderLayer;

  /** @internal use `layer.bind(memory)` */
  constructor(layer: TransformerDecoderLayer, kv: Tensor, batch: number, sourceLength: number, lengths: Int32Array | undefined, variants: Variants | undefined) {
    this.variants = variants;
    this.layer = layer;
    this.kv = kv;
    this.batch = batch;
    this.sourceLength = sourceLength;
    this.lengths = lengths;
  }

  /**
   * One decoding step: x [B, dModel] is the newest target token of each sequence; its self-attention
   * key and value are appended to `cache` (from layer.createCache) → the layer's output row [B, dModel],
   * the row that `forward(tgt, memory, { causal: true, memoryKeyLengths, memoryKeyPaddingMask })` gives at this position.
   */
  step(x: TensorLike, cache: KVCache): Float32Array {
    if (this.kv.disposed) throw new Error('transformerDecoderLayer: this bound memory was disposed');
    return this.layer.stepBound(x, cache, this);
  }

  /** Frees the projected memory. Idempotent. */
  dispose(): void {
    this.kv.dispose();
  }
}


export interface TransformerEncoderConfig extends Omit<TransformerLayerConfig, 'prefix'> {
  numLayers: number;
  /** A final LayerNorm after the layers (`nn.TransformerEncoder(norm=LayerNorm(E))`): `norm.weight`, `norm.bias`. Default false. */
  norm?: boolean;
  /** Only the entries starting with this prefix (e.g. 'encoder.'), then `layers.N.` per layer. */
  prefix?: string;
}

/** numLayers layers from `layers.N.*` of one state_dict (and `norm.*`), all or none allocated. */
function loadStack<L extends { dispose(): void }>(ws: Workspace, where: string, config: TransformerEncoderConfig, make: (c: TransformerLayerConfig) => L) {
  const cfg = checkOptions('config', config, [...CONFIG, 'numLayers', 'norm'], where);
  const numLayers = checkInteger(`${where}: numLayers`, cfg['numLayers'], 1);
  const useNorm = checkBoolean(`${where}: norm`, cfg['norm']);
  checkWeightDtype(where, 'config.dtype', cfg['dtype']); // here, so that the error names the stack (each layer reads it again)
  const under = underPrefix(where, cfg['weights'] ?? {}, cfg['prefix']);
  const { prefix } = under;
  const all = under.all as Record<string, TensorLike>;
  // names outside layers.0 … layers.{numLayers − 1} (and norm.*) here; each layer checks its own
  const inLayer = (name: string) => { const m = /^layers\.(\d+)\./.exec(name); return m !== null && Number(m[1]) < numLayers; };
  const norms = useNorm ? ['norm.weight', 'norm.bias'] : [];
  checkNames(where, under, [], {
    isKnown: (name) => inLayer(name) || norms.includes(name),
    alternatives: [['layers.0.linear1.weight', ...norms]],
    what: `${numLayers} layer${numLayers === 1 ? '' : 's'}${useNorm ? ' and a final norm' : ''}`,
  });
  const e = checkInteger(`${where}: dModel`, cfg['dModel'], 1);
  const eps = checkFinite(`${where}: layerNormEps`, cfg['layerNormEps'], 1e-5);
  const layers: L[] = [];
  let finalNorm: { weight: Tensor; bias: Tensor } | undefined;
  try {
    const layerConfig = { ...config } as Record<string, unknown>;
    delete layerConfig['numLayers'];
    delete layerConfig['norm'];
    for (let n = 0; n < numLayers; n++) layers.push(make({ ...(layerConfig as unknown as TransformerLayerConfig), prefix: `${prefix}layers.${n}.` }));
    if (useNorm) {
      const w = checkTensor(`${where}: weights['${prefix}norm.weight']`, all[`${prefix}norm.weight`], ws.heap);
      const b = checkTensor(`${where}: weights['${prefix}norm.bias']`, all[`${prefix}norm.bias`], ws.heap);
      expectShape(`${where}: weights['${prefix}norm.weight']`, w.shape, [e], 'LayerNorm(dModel) weight');
      expectShape(`${where}: weights['${prefix}norm.bias']`, b.shape, [e], 'LayerNorm(dModel) bias');
      const t = residentWeights(ws.heap, { w, b });
      finalNorm = { weight: t.w!, bias: t.b! };
    }
  } catch (error) {
    for (const layer of layers) layer.dispose();
    throw error;
  }
  return { layers, finalNorm, eps };
}

/** What both stacks share: their layers, the optional final norm, and how they are freed. */
class LayerStack<L extends { dispose(): void; readonly dModel: number; readonly dtype: WeightDtype }> {
  readonly numLayers: number;
  readonly layers: readonly L[];
  protected readonly ws: Workspace;
  private readonly finalNorm: { weight: Tensor; bias: Tensor } | undefined;
  private readonly eps: number;

  protected constructor(ws: Workspace, where: string, config: TransformerEncoderConfig, make: (c: TransformerLayerConfig) => L) {
    const { layers, finalNorm, eps } = loadStack(ws, where, config, make);
    this.ws = ws;
    this.numLayers = layers.length;
    this.layers = layers;
    this.finalNorm = finalNorm;
    this.eps = eps;
  }

  /** The dtype of the layers' Linear weights (config.dtype; 'fp32' reads 'f32'). */
  get dtype(): WeightDtype {
    return this.layers[0]!.dtype;
  }

  /** The final norm, in place on rows of x (when the stack has one). */
  protected normOut(x: Mat, rows: number): void {
    const e = this.layers[0]!.dModel;
    if (this.finalNorm) this.ws.kernels.layerNorm(x.ptr, e, x.ptr, e, rows, e, this.finalNorm.weight.ptr, this.finalNorm.bias.ptr, this.eps, 0, 0);
  }

  dispose(): void {
    for (const layer of this.layers) layer.dispose();
    this.finalNorm?.weight.dispose();
    this.finalNorm?.bias.dispose();
  }
}

/** `torch.nn.TransformerEncoder`: numLayers encoder layers from one state_dict (`layers.N.*`), optionally a final norm. */
export class TransformerEncoder extends LayerStack<TransformerEncoderLayer> {
  /** @internal use `runtime.transformerEncoder(...)` */
  constructor(ws: Workspace, config: TransformerEncoderConfig) {
    super(ws, 'transformerEncoder', config, (layerConfig) => new TransformerEncoderLayer(ws, layerConfig));
  }

  /** src [B, L, dModel] ([L, B, dModel] with batchFirst false) → the same shape, through every layer (resident in between), then the final norm; options as the layer's. */
  forward<O extends EncoderForwardOptions = {}>(src: TensorLike, options?: Exact<O, EncoderForwardOptions>): Float32Array;
  forward(src: TensorLike, options?: EncoderForwardOptions): Float32Array;
  forward(src: TensorLike, options?: EncoderForwardOptions): Float32Array {
    const { ws } = this;
    const first = this.layers[0]!;
    const e = first.dModel;
    const input = checkEncoderInput('transformerEncoder.forward', src, options, first, ws);
    const { arg, batch, length } = input;
    const rows = batch * length;
    return ws.run((temps) => {
      // two buffers in turn: a layer reads one and writes the other (never the caller's tensor)
      const buffers = [mat(temps.tensor([rows, e]).ptr, e), mat(temps.tensor([rows, e]).ptr, e)];
      let x = mat(temps.input(arg), e);
      this.layers.forEach((layer, n) => {
        const y = buffers[n % 2]!;
        layer.forwardRows(temps, x, input, y);
        x = y;
      });
      this.normOut(x, rows);
      return outputRows(ws.heap, x.ptr, batch, length, e, first.batchFirst);
    });
  }

}

/** `torch.nn.TransformerDecoder`: numLayers decoder layers from one state_dict (`layers.N.*`), optionally a final norm. */
export class TransformerDecoder extends LayerStack<TransformerDecoderLayer> {
  /** @internal use `runtime.transformerDecoder(...)` */
  constructor(ws: Workspace, config: TransformerEncoderConfig) {
    super(ws, 'transformerDecoder', config, (layerConfig) => new TransformerDecoderLayer(ws, layerConfig));
  }

  /** tgt [B, T, dModel], memory [B, S, dModel] → [B, T, dModel] ([T, B, ·], [S, B, ·] with batchFirst false) through every layer, then the final norm; options as the layer's. */
  forward<O extends DecoderForwardOptions = {}>(tgt: TensorLike, memory: TensorLike, options?: Exact<O, DecoderForwardOptions>): Float32Array;
  forward(tgt: TensorLike, memory: TensorLike, options?: DecoderForwardOptions): Float32Array;
  forward(tgt: TensorLike, memory: TensorLike, options?: DecoderForwardOptions): Float32Array {
    const { ws } = this;
    const first = this.layers[0]!;
    const e = first.dModel;
    const input = checkDecoderInput('transformerDecoder.forward', tgt, memory, options, first, ws);
    const rows = input.batch * input.lt;
    return ws.run((temps) => {
      const buffers = [mat(temps.tensor([rows, e]).ptr, e), mat(temps.tensor([rows, e]).ptr, e)];
      const mem = mat(temps.input(input.m), e);
      let x = mat(temps.input(input.t), e);
      this.layers.forEach((layer, n) => {
        const y = buffers[n % 2]!;
        layer.forwardRows(temps, x, mem, input, y);
        x = y;
      });
      this.normOut(x, rows);
      return outputRows(ws.heap, x.ptr, input.batch, input.lt, e, first.batchFirst);
    });
  }

}
