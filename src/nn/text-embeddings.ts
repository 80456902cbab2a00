/**
 * The input embeddings of BERT-family encoders (Hugging Face's `BertEmbeddings`,
 * `RobertaEmbeddings`, DistilBERT's `Embeddings`), eval mode:
 *   e[i] = LayerNorm(word[ids[i]] + position[positions[i]] + tokenType[types[i]])
 * with the position and token-type tables and the norm each optional. The tables stay resident in
 * the model's dtype (f32; F16 / BF16 rows widened, Q8 / Q4 rows dequantized as they are gathered:
 * embedding-table.ts), except that the token-type table stays f32 under q8 / q4: it has a few rows,
 * one added to every token, so its rounding error would be the same at every position and survive
 * pooling. A call gathers rows straight into Wasm memory; the sum is fused into the norm's residual add.
 */
import { checkTensor, formatShape, type Checked, type TensorLike } from '../engine/validate.js';
import { mat, type Mat } from '../engine/linear.js';
import { residentWeights } from '../engine/weights.js';
import type { Tensor } from '../engine/memory.js';
import { isHalfDtype, isQuantizedData, type QuantizedData, type WeightDtype, type WeightMatrix } from '../engine/quantized.js';
import { embeddingTable, type EmbeddingTable } from './embedding-table.js';
import type { Temps, Workspace } from '../engine/workspace.js';

export interface TextEmbeddingsWeights {
  /** [V, E]: f32, or Q8 / Q4 as a saved model holds it. */
  word: TensorLike | QuantizedData;
  /** [P, E], learned absolute positions (f32, or as a saved model holds it). */
  position?: TensorLike | QuantizedData;
  /** [T, E], segment (token type) embeddings (f32, or as a saved model holds it). */
  tokenType?: TensorLike | QuantizedData;
  /** LayerNorm over E, with its epsilon. */
  norm?: { weight: TensorLike; bias: TensorLike; eps: number };
}

export class TextEmbeddings {
  readonly vocabSize: number;
  readonly dim: number;
  /** Rows of the position table (0: none). */
  readonly maxPositions: number;
  /** Rows of the token-type table (0: none). */
  readonly typeVocabSize: number;
  private readonly ws: Workspace;
  private readonly word: EmbeddingTable;
  private readonly position: EmbeddingTable | undefined;
  private readonly tokenType: EmbeddingTable | undefined;
  private readonly t: Record<'normWeight' | 'normBias', Tensor | undefined>;
  private readonly eps: number;

  /**
   * @internal `names` says what each table is called in the checkpoint, for the errors; `dtype` is
   * the tables' ('q8' / 'q4' hold the word and position tables quantized when the hidden size is a
   * multiple of 32; the token-type table stays f32).
   */
  constructor(ws: Workspace, weights: TextEmbeddingsWeights, names: Record<'word' | 'position' | 'tokenType' | 'normWeight' | 'normBias', string>, dtype: WeightDtype = 'f32') {
    const heap = ws.heap;
    const word = isQuantizedData(weights.word) ? weights.word : checkTensor(names.word, weights.word, heap);
    if (word.shape.length !== 2) throw new RangeError(`${names.word}: expected shape [vocab, hidden], received ${formatShape(word.shape)}`);
    const [vocab, e] = word.shape as [number, number];
    const table = (name: string, value: TensorLike | QuantizedData | undefined): Checked | QuantizedData | undefined => {
      if (value === undefined) return undefined;
      const arg = isQuantizedData(value) ? value : checkTensor(name, value, heap);
      if (arg.shape.length !== 2 || arg.shape[1] !== e) throw new RangeError(`${name}: expected shape [rows, ${e}] (the hidden size of ${names.word}), received ${formatShape(arg.shape)}`);
      return arg;
    };
    const vector = (name: string, value: TensorLike): Checked => {
      const arg = checkTensor(name, value, heap);
      if (arg.shape.length !== 1 || arg.shape[0] !== e) throw new RangeError(`${name}: expected shape [${e}] (the hidden size), received ${formatShape(arg.shape)}`);
      return arg;
    };
    const position = table(names.position, weights.position);
    const tokenType = table(names.tokenType, weights.tokenType);
    const normWeight = weights.norm ? vector(names.normWeight, weights.norm.weight) : undefined;
    const normBias = weights.norm ? vector(names.normBias, weights.norm.bias) : undefined;
    const made: { dispose(): void }[] = [];
    try {
      this.t = residentWeights(heap, { normWeight, normBias });
      made.push(...Object.values(this.t).filter((x) => x !== undefined));
      this.word = embeddingTable(ws, word, dtype);
      made.push(this.word);
      this.position = position && embeddingTable(ws, position, dtype);
      if (this.position) made.push(this.position);
      // q8 / q4: the token-type table stays f32 (see the top of the file)
      this.tokenType = tokenType && embeddingTable(ws, tokenType, isHalfDtype(dtype) ? dtype : 'f32');
    } catch (error) {
      for (const x of made) x.dispose();
      throw error;
    }
    this.ws = ws;
    this.vocabSize = vocab;
    this.dim = e;
    this.maxPositions = position?.shape[0] ?? 0;
    this.typeVocabSize = tokenType?.shape[0] ?? 0;
    this.eps = weights.norm?.eps ?? 0;
  }

  /**
   * @internal out [rows, E] for checked ids (< vocabSize), positions (< maxPositions) and types
   * (< typeVocabSize), each of `rows` entries (positions / types undefined: the table is unused).
   */
  forwardRows(temps: Temps, ids: Int32Array, positions: Int32Array | undefined, types: Int32Array | undefined, rows: number, out: Mat): void {
    const { ws, dim: e, t } = this;
    this.word.gather(ids, rows, out);
    const position = positions && this.position, tokenType = types && this.tokenType;
    let residual = 0;
    if (position || tokenType) {
      // r[i] = position[positions[i]] + tokenType[types[i]]: added to the word rows inside the norm
      const r = mat(temps.tensor([rows, e]).ptr, e);
      if (position) position.gather(positions!, rows, r);
      if (tokenType && !position) tokenType.gather(types!, rows, r);
      else if (tokenType) {
        const y = mat(temps.tensor([rows, e]).ptr, e);
        tokenType.gather(types!, rows, y);
        ws.kernels.addInPlace(r.ptr, y.ptr, rows * e);
      }
      residual = r.ptr;
    }
    if (t.normWeight) {
      ws.kernels.layerNorm(out.ptr, out.ld, out.ptr, out.ld, rows, e, t.normWeight.ptr, t.normBias!.ptr, this.eps, residual, e);
    } else if (residual) {
      for (let i = 0; i < rows; i++) ws.kernels.addInPlace(out.ptr + 4 * i * out.ld, residual + 4 * i * e, e);
    }
  }

  /** @internal The resident word table [V, E] (a tied output head reads its matrix in place). */
  get wordTable(): EmbeddingTable {
    return this.word;
  }

  /** @internal The resident position and token-type tables (in the model's dtype) and the f32 norm vectors, by role. */
  get tensors(): Readonly<{ position: WeightMatrix | undefined; tokenType: WeightMatrix | undefined; normWeight: Tensor | undefined; normBias: Tensor | undefined }> {
    return { position: this.position?.matrix, tokenType: this.tokenType?.matrix, ...this.t };
  }

  dispose(): void {
    this.word.dispose();
    this.position?.dispose();
    this.tokenType?.dispose();
    for (const x of Object.values(this.t)) x?.dispose();
  }

  /** @internal */
  get disposed(): boolean {
    return this.word.disposed;
  }
}
