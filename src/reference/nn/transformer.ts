/**
 * Transformer layers written out in float64 (the twins of runtime.transformerEncoderLayer /
 * transformerDecoderLayer): torch.nn.TransformerEncoderLayer / DecoderLayer, batch_first, eval.
 *   post-norm: x = norm1(x + SA(x)); [x = norm2(x + CA(x, memory))]; x = normN(x + FF(x))
 *   pre-norm:  x = x + SA(norm1(x)); [x = x + CA(norm2(x), memory)]; x = x + FF(normN(x))
 *   FF(x) = linear2(act(linear1(x))), act = ReLU or GELU (0.5·x·(1 + erf(x/√2)))
 *   LayerNorm: (x − mean)/√(biased variance + eps)·weight + bias
 */
import { checkOptions, describe } from '../check.js';
import { multiHeadAttention, type ReferenceForwardOptions, type ReferenceMultiHeadAttention } from './mha.js';
import type { ReferenceTensor } from '../tensor.js';
import { modulePrefix } from '../state-dict.js';
import { erf } from '../ops/activations.js';
import { checkWeightDtype, inputLevels, roundInput, weightAs, type DtypeOption, type WeightDtype } from '../dtype.js';

export interface ReferenceTransformerLayerConfig {
  dModel: number;
  nhead: number;
  /** Default: the rows of `linear1.weight`. */
  dimFeedforward?: number;
  /** [B, L, E] (true, the default) or [L, B, E] (false). */
  batchFirst?: boolean;
  activation?: 'relu' | 'gelu' | 'gelu_tanh';
  layerNormEps?: number;
  normFirst?: boolean;
  weights: Record<string, ReferenceTensor>;
  prefix?: string;
  /** The Linear weights held as the runtime holds them in 'q8' or 'q4' (reference/dtype.ts); default 'f32'. */
  dtype?: DtypeOption;
}

const CONFIG = ['dModel', 'nhead', 'dimFeedforward', 'batchFirst', 'activation', 'layerNormEps', 'normFirst', 'weights', 'prefix', 'dtype'];

/** A layer mask as the runtime takes it: [L, S] or [B·nhead, L, S], bool true = masked, or float added. */
export interface ReferenceTransformerMask {
  data: Uint8Array | readonly boolean[] | Float32Array;
  shape: readonly number[];
}

/** A key padding mask [B, S]: true = padding. */
export interface ReferenceKeyPaddingMask {
  data: Uint8Array | readonly boolean[];
  shape: readonly number[];
}

/** The options of the encoder layer's and stack's `forward`, by the runtime's names. */
export interface ReferenceEncoderForwardOptions {
  causal?: boolean;
  keyLengths?: ArrayLike<number>;
  srcMask?: ReferenceTransformerMask;
  srcKeyPaddingMask?: ReferenceKeyPaddingMask;
}

/** The options of the decoder layer's and stack's `forward`, by the runtime's names. */
export interface ReferenceDecoderForwardOptions {
  causal?: boolean;
  memoryKeyLengths?: ArrayLike<number>;
  tgtMask?: ReferenceTransformerMask;
  memoryMask?: ReferenceTransformerMask;
  tgtKeyPaddingMask?: ReferenceKeyPaddingMask;
  memoryKeyPaddingMask?: ReferenceKeyPaddingMask;
}

/**
 * A layer mask in multi-head attention's convention (bool true = may attend, float added):
 * [L, S] as it is (it broadcasts), [B·H, L, S] as [B, H, L, S].
 */
function attnMaskOf(mask: ReferenceTransformerMask | undefined, batch: number, heads: number): ReferenceForwardOptions['attnMask'] {
  if (mask === undefined) return undefined;
  const shape = mask.shape.length === 3 ? [batch, heads, mask.shape[1]!, mask.shape[2]!] : [...mask.shape];
  if (mask.data instanceof Float32Array) return { data: mask.data, shape };
  return { data: Uint8Array.from(mask.data as ArrayLike<number | boolean>, (x) => (x ? 0 : 1)), shape };
}

/** [A, B, E] → [B, A, E]. */
function swapLeading(x: Float32Array, a: number, b: number, e: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < e; k++) y[(j * a + i) * e + k] = x[(i * b + j) * e + k]!;
  return y;
}

/** x in the layer's layout → batch-major [B, L, E]. */
function batchMajor(x: ReferenceTensor, batchFirst: boolean): ReferenceTensor {
  if (batchFirst) return { data: x.data, shape: [...x.shape] };
  const [l, b, e] = x.shape as [number, number, number];
  return { data: swapLeading(x.data, l, b, e), shape: [b, l, e] };
}

class Layer {
  readonly dModel: number;
  readonly nhead: number;
  readonly dimFeedforward: number;
  readonly activation: 'relu' | 'gelu' | 'gelu_tanh';
  readonly normFirst: boolean;
  readonly batchFirst: boolean;
  readonly dtype: WeightDtype;
  protected readonly eps: number;
  protected readonly w: Record<string, Float32Array>;
  /** linear1 and linear2 in the layer's dtype */
  private readonly ff: { w1: ArrayLike<number>; w2: ArrayLike<number> };
  protected readonly attn: Record<string, ReferenceMultiHeadAttention> = {};

  constructor(where: string, config: ReferenceTransformerLayerConfig, attentions: string[]) {
    const cfg = checkOptions('config', config, CONFIG, where);
    this.dModel = cfg['dModel'] as number;
    this.nhead = cfg['nhead'] as number;

    this.activation = (cfg['activation'] ?? 'relu') as 'relu' | 'gelu' | 'gelu_tanh';
    if (!['relu', 'gelu', 'gelu_tanh'].includes(this.activation)) throw new TypeError(`${where}: activation must be 'relu', 'gelu' or 'gelu_tanh', received ${describe(cfg['activation'])}`);
    this.normFirst = (cfg['normFirst'] ?? false) as boolean;
    this.batchFirst = (cfg['batchFirst'] ?? true) as boolean;
    this.eps = (cfg['layerNormEps'] ?? 1e-5) as number;
    this.dtype = checkWeightDtype(where, 'config.dtype', cfg['dtype']);
    const prefix = modulePrefix((cfg['prefix'] ?? '') as string);
    this.w = {};
    const shapes: Record<string, readonly number[]> = {};
    for (const [name, t] of Object.entries(config.weights)) {
      if (!name.startsWith(prefix)) continue;
      this.w[name.slice(prefix.length)] = t.data;
      shapes[name.slice(prefix.length)] = t.shape;
    }
    const rows = shapes['linear1.weight']?.[0];
    this.dimFeedforward = (cfg['dimFeedforward'] ?? rows) as number;
    if (rows !== undefined && rows !== this.dimFeedforward) {
      throw new RangeError(`${where}: dimFeedforward ${this.dimFeedforward} does not match weights['${prefix}linear1.weight'] of shape [${shapes['linear1.weight']!.join(', ')}] (dimFeedforward ${rows}); omit dimFeedforward to read it from the weights`);
    }
    this.ff = {
      w1: weightAs(this.w['linear1.weight']!, this.dimFeedforward, this.dModel, this.dtype),
      w2: weightAs(this.w['linear2.weight']!, this.dModel, this.dimFeedforward, this.dtype),
    };
    for (const a of attentions) {
      const get = (n: string) => ({ data: this.w[`${a}.${n}`]!, shape: [] as number[] });
      const e = this.dModel;
      this.attn[a] = multiHeadAttention({
        embedDim: e, numHeads: this.nhead, dtype: this.dtype,
        weights: {
          in_proj_weight: { ...get('in_proj_weight'), shape: [3 * e, e] }, in_proj_bias: { ...get('in_proj_bias'), shape: [3 * e] },
          'out_proj.weight': { ...get('out_proj.weight'), shape: [e, e] }, 'out_proj.bias': { ...get('out_proj.bias'), shape: [e] },
        },
      });
    }
  }

  /** LayerNorm n of each row of x [rows, E]. */
  protected norm(n: number, x: Float64Array): Float64Array {
    const e = this.dModel;
    const weight = this.w[`norm${n}.weight`]!, bias = this.w[`norm${n}.bias`]!;
    const y = new Float64Array(x.length);
    for (let r = 0; r < x.length / e; r++) {
      let mean = 0;
      for (let i = 0; i < e; i++) mean += x[r * e + i]! / e;
      let variance = 0;
      for (let i = 0; i < e; i++) variance += (x[r * e + i]! - mean) ** 2 / e;
      const inv = 1 / Math.sqrt(variance + this.eps);
      for (let i = 0; i < e; i++) y[r * e + i] = (x[r * e + i]! - mean) * inv * weight[i]! + bias[i]!;
    }
    return y;
  }

  /** linear2(act(linear1(x))) for x [rows, E]. */
  protected feedForward(x: Float64Array): Float64Array {
    const e = this.dModel, f = this.dimFeedforward, rows = x.length / e;
    const { w1, w2 } = this.ff;
    const b1 = this.w['linear1.bias']!, b2 = this.w['linear2.bias']!;
    const q1 = inputLevels(e, this.dtype), q2 = inputLevels(f, this.dtype);
    const y = new Float64Array(rows * e);
    const h = new Float64Array(f);
    for (let r = 0; r < rows; r++) {
      const xr = q1 ? roundInput(x, r * e, e, q1) : x.subarray(r * e, (r + 1) * e);
      for (let o = 0; o < f; o++) {
        let s = b1[o]!;
        for (let i = 0; i < e; i++) s += w1[o * e + i]! * xr[i]!;
        h[o] = this.activation === 'relu' ? Math.max(s, 0)
          : this.activation === 'gelu' ? 0.5 * s * (1 + erf(s / Math.SQRT2))
          : 0.5 * s * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (s + 0.044715 * s * s * s))); // gelu_tanh
      }
      const hr = q2 ? roundInput(h, 0, f, q2) : h;
      for (let o = 0; o < e; o++) {
        let s = b2[o]!;
        for (let i = 0; i < f; i++) s += w2[o * f + i]! * hr[i]!;
        y[r * e + o] = s;
      }
    }
    return y;
  }

  /** Rows [B, L, E] in float64 → float32 in the layer's layout. */
  protected output(x: Float64Array, shape: number[]): Float32Array {
    const y = Float32Array.from(x);
    return this.batchFirst ? y : swapLeading(y, shape[0]!, shape[1]!, shape[2]!);
  }

  protected attend(name: string, x: Float64Array, shape: number[], memory: ReferenceTensor | undefined, options: object): Float64Array {
    const q = { data: Float32Array.from(x), shape };
    const out = memory ? this.attn[name]!.forward(q, memory, memory, options) : this.attn[name]!.forward(q, options);
    return Float64Array.from(out.output);
  }

  dispose(): void {}
}

const add = (a: Float64Array, b: Float64Array): Float64Array => a.map((x, i) => x + b[i]!);

export class ReferenceTransformerEncoderLayer extends Layer {
  constructor(config: ReferenceTransformerLayerConfig) {
    super('transformerEncoderLayer', config, ['self_attn']);
  }

  forward(src: ReferenceTensor, options: ReferenceEncoderForwardOptions = {}): Float32Array {
    checkOptions('options', options, ['causal', 'keyLengths', 'srcMask', 'srcKeyPaddingMask'], 'forward');
    const rows = batchMajor(src, this.batchFirst);
    const shape = [...rows.shape];
    let x: Float64Array = Float64Array.from(rows.data);
    const attnOptions = {
      causal: options.causal, keyLengths: options.keyLengths,
      attnMask: attnMaskOf(options.srcMask, shape[0]!, this.nhead), keyPaddingMask: options.srcKeyPaddingMask,
    };
    const sa = (y: Float64Array) => this.attend('self_attn', y, shape, undefined, attnOptions);
    if (this.normFirst) {
      x = add(x, sa(this.norm(1, x)));
      x = add(x, this.feedForward(this.norm(2, x)));
    } else {
      x = this.norm(1, add(x, sa(x)));
      x = this.norm(2, add(x, this.feedForward(x)));
    }
    return this.output(x, shape);
  }
}

export class ReferenceTransformerDecoderLayer extends Layer {
  constructor(config: ReferenceTransformerLayerConfig) {
    super('transformerDecoderLayer', config, ['self_attn', 'multihead_attn']);
  }

  forward(tgt: ReferenceTensor, memory: ReferenceTensor, options: ReferenceDecoderForwardOptions = {}): Float32Array {
    checkOptions('options', options, ['causal', 'memoryKeyLengths', 'tgtMask', 'memoryMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask'], 'forward');
    const rows = batchMajor(tgt, this.batchFirst);
    const mem = batchMajor(memory, this.batchFirst);
    const shape = [...rows.shape];
    let x: Float64Array = Float64Array.from(rows.data);
    const batch = shape[0]!;
    const sa = (y: Float64Array) => this.attend('self_attn', y, shape, undefined, {
      causal: options.causal, attnMask: attnMaskOf(options.tgtMask, batch, this.nhead), keyPaddingMask: options.tgtKeyPaddingMask,
    });
    const ca = (y: Float64Array) => this.attend('multihead_attn', y, shape, mem, {
      keyLengths: options.memoryKeyLengths, attnMask: attnMaskOf(options.memoryMask, batch, this.nhead), keyPaddingMask: options.memoryKeyPaddingMask,
    });
    if (this.normFirst) {
      x = add(x, sa(this.norm(1, x)));
      x = add(x, ca(this.norm(2, x)));
      x = add(x, this.feedForward(this.norm(3, x)));
    } else {
      x = this.norm(1, add(x, sa(x)));
      x = this.norm(2, add(x, ca(x)));
      x = this.norm(3, add(x, this.feedForward(x)));
    }
    return this.output(x, shape);
  }
}

export function transformerEncoderLayer(config: ReferenceTransformerLayerConfig): ReferenceTransformerEncoderLayer {
  return new ReferenceTransformerEncoderLayer(config);
}

export function transformerDecoderLayer(config: ReferenceTransformerLayerConfig): ReferenceTransformerDecoderLayer {
  return new ReferenceTransformerDecoderLayer(config);
}

/** (x − mean)/√(biased variance + eps)·weight + bias over each row of e values. */
function layerNorm(x: ArrayLike<number>, e: number, p: { weight: Float32Array; bias: Float32Array }, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / e; r++) {
    let mean = 0;
    for (let i = 0; i < e; i++) mean += x[r * e + i]! / e;
    let variance = 0;
    for (let i = 0; i < e; i++) variance += (x[r * e + i]! - mean) ** 2 / e;
    for (let i = 0; i < e; i++) y[r * e + i] = ((x[r * e + i]! - mean) / Math.sqrt(variance + eps)) * p.weight[i]! + p.bias[i]!;
  }
  return y;
}

export interface ReferenceTransformerEncoderConfig extends ReferenceTransformerLayerConfig {
  numLayers: number;
  norm?: boolean;
}

/** nn.TransformerEncoder: the layers `layers.N.*` in turn, then `norm.*` when `norm`. */
export class ReferenceTransformerEncoder {
  readonly numLayers: number;
  readonly layers: readonly ReferenceTransformerEncoderLayer[];
  readonly dtype: WeightDtype;
  private readonly finalNorm: { weight: Float32Array; bias: Float32Array } | undefined;
  private readonly eps: number;

  constructor(config: ReferenceTransformerEncoderConfig) {
    const { numLayers, norm, prefix: given = '', ...layer } = config;
    const prefix = modulePrefix(given);
    checkWeightDtype('transformerEncoder', 'config.dtype', config.dtype);
    this.numLayers = numLayers;
    this.eps = config.layerNormEps ?? 1e-5;
    this.layers = Array.from({ length: numLayers }, (_, n) => new ReferenceTransformerEncoderLayer({ ...layer, prefix: `${prefix}layers.${n}.` }));
    this.dtype = this.layers[0]?.dtype ?? 'f32';
    this.finalNorm = norm ? { weight: config.weights[`${prefix}norm.weight`]!.data, bias: config.weights[`${prefix}norm.bias`]!.data } : undefined;
  }

  forward(src: ReferenceTensor, options: ReferenceEncoderForwardOptions = {}): Float32Array {
    let x = src.data;
    for (const layer of this.layers) x = layer.forward({ data: x, shape: src.shape }, options);
    return this.finalNorm ? layerNorm(x, src.shape[src.shape.length - 1]!, this.finalNorm, this.eps) : x;
  }

  dispose(): void {}
}

export function transformerEncoder(config: ReferenceTransformerEncoderConfig): ReferenceTransformerEncoder {
  return new ReferenceTransformerEncoder(config);
}

/** nn.TransformerDecoder: the layers `layers.N.*` in turn, then `norm.*` when `norm`. */
export class ReferenceTransformerDecoder {
  readonly numLayers: number;
  readonly layers: readonly ReferenceTransformerDecoderLayer[];
  readonly dtype: WeightDtype;
  private readonly finalNorm: { weight: Float32Array; bias: Float32Array } | undefined;
  private readonly eps: number;

  constructor(config: ReferenceTransformerEncoderConfig) {
    const { numLayers, norm, prefix: given = '', ...layer } = config;
    const prefix = modulePrefix(given);
    checkWeightDtype('transformerDecoder', 'config.dtype', config.dtype);
    this.numLayers = numLayers;
    this.eps = config.layerNormEps ?? 1e-5;
    this.layers = Array.from({ length: numLayers }, (_, n) => new ReferenceTransformerDecoderLayer({ ...layer, prefix: `${prefix}layers.${n}.` }));
    this.dtype = this.layers[0]?.dtype ?? 'f32';
    this.finalNorm = norm ? { weight: config.weights[`${prefix}norm.weight`]!.data, bias: config.weights[`${prefix}norm.bias`]!.data } : undefined;
  }

  forward(tgt: ReferenceTensor, memory: ReferenceTensor, options: ReferenceDecoderForwardOptions = {}): Float32Array {
    let x = tgt.data;
    for (const layer of this.layers) x = layer.forward({ data: x, shape: tgt.shape }, memory, options);
    return this.finalNorm ? layerNorm(x, tgt.shape[tgt.shape.length - 1]!, this.finalNorm, this.eps) : x;
  }

  dispose(): void {}
}

export function transformerDecoder(config: ReferenceTransformerEncoderConfig): ReferenceTransformerDecoder {
  return new ReferenceTransformerDecoder(config);
}
