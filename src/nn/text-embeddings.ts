/**
 * The input embeddings of BERT-family encoders (Hugging Face's `BertEmbeddings`,
 * `RobertaEmbeddings`, DistilBERT's `Embeddings`), eval mode:
 *   e[i] = LayerNorm(word[ids[i]] + position[positions[i]] + tokenType[types[i]])
 * with the position and token-type tables and the norm each optional. The tables stay resident;
 * a call gathers rows straight into Wasm memory, and the sum is fused into the norm's residual add.
 */
import { checkTensor, formatShape, type Checked, type TensorLike } from '../engine/validate.js';
import { mat, type Mat } from '../engine/linear.js';
import { residentWeights } from '../engine/weights.js';
import type { HalfMatrix, WeightDtype } from '../engine/quantized.js';
import type { Tensor } from '../engine/memory.js';
import type { Temps, Workspace } from '../engine/workspace.js';
import { EmbeddingTable } from './embedding-table.js';

export interface TextEmbeddingsWeights {
  /** [V, E] */
  word: TensorLike;
  /** [P, E], learned absolute positions. */
  position?: TensorLike;
  /** [T, E], segment (token type) embeddings. */
  tokenType?: TensorLike;
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
  private readonly tables: Record<'word' | 'position' | 'tokenType', EmbeddingTable | undefined>;
  private readonly norm: Record<'normWeight' | 'normBias', Tensor | undefined>;
  private readonly eps: number;

  /**
   * @internal `names` says what each table is called in the checkpoint, for the errors. `dtype`
   * 'f16' / 'bf16' holds the three tables in 16 bits (the norm stays f32); other dtypes keep them f32.
   */
  constructor(ws: Workspace, weights: TextEmbeddingsWeights, names: Record<'word' | 'position' | 'tokenType' | 'normWeight' | 'normBias', string>, dtype: WeightDtype = 'f32') {
    const heap = ws.heap;
    const word = checkTensor(names.word, weights.word, heap);
    if (word.shape.length !== 2) throw new RangeError(`${names.word}: expected shape [vocab, hidden], received ${formatShape(word.shape)}`);
    const [vocab, e] = word.shape as [number, number];
    const table = (name: string, value: TensorLike | undefined): Checked | undefined => {
      if (value === undefined) return undefined;
      const arg = checkTensor(name, value, heap);
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
    const made: EmbeddingTable[] = [];
    const resident = (arg: Checked | undefined) => {
      if (arg === undefined) return undefined;
      const t = new EmbeddingTable(ws, arg, dtype);
      made.push(t);
      return t;
    };
    try {
      this.tables = { word: resident(word), position: resident(position), tokenType: resident(tokenType) };
      this.norm = residentWeights(heap, { normWeight, normBias });
    } catch (error) {
      for (const t of made) t.dispose();
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
    const { ws, dim: e, tables: t } = this;
    t.word!.gather(ids, rows, out);
    const position = t.position && positions ? t.position : undefined;
    const tokenType = t.tokenType && types ? t.tokenType : undefined;
    if (!position && !tokenType && !this.norm.normWeight) return;
    let residual = 0;
    if (position || tokenType) {
      // r[i] = position[positions[i]] + tokenType[types[i]]: added to the word rows inside the norm
      const r = mat(temps.tensor([rows, e]).ptr, e);
      if (position) position.gather(positions!, rows, r);
      if (tokenType) {
        if (!position) tokenType.gather(types!, rows, r);
        else {
          const y = mat(temps.tensor([rows, e]).ptr, e);
          tokenType.gather(types!, rows, y);
          ws.kernels.addInPlace(r.ptr, y.ptr, rows * e);
        }
      }
      residual = r.ptr;
    }
    const { normWeight, normBias } = this.norm;
    if (normWeight) {
      ws.kernels.layerNorm(out.ptr, out.ld, out.ptr, out.ld, rows, e, normWeight.ptr, normBias!.ptr, this.eps, residual, e);
    } else if (residual) {
      for (let i = 0; i < rows; i++) ws.kernels.addInPlace(out.ptr + 4 * i * out.ld, residual + 4 * i * e, e);
    }
  }

  /** @internal The resident word table [V, E], f32 or 16-bit (a tied output head reads it in place). */
  get wordTable(): Tensor | HalfMatrix {
    return this.tables.word!.matrix;
  }

  dispose(): void {
    for (const x of [...Object.values(this.tables), ...Object.values(this.norm)]) x?.dispose();
  }

  /** @internal */
  get disposed(): boolean {
    return this.tables.word!.disposed;
  }
}
