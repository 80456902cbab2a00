/** init(): pick a build, give it a memory, and bind the ops to its kernels. */
import { chooseBackend, supportedBackends, type Backend } from './engine/backend.js';
import { compileKernels, instantiateKernels, type WasmSource } from './engine/load.js';
import { CONTROL } from './engine/threads/job.js';
import { reportedCores, threadsUnavailable } from './engine/threads/platform.js';
import { ThreadPool } from './engine/threads/pool.js';
import { Heap, Tensor, type MemoryStats } from './engine/memory.js';
import { residentBytes, type ResidentBytes } from './engine/resident.js';
import { attentionContext, type ContextOptions } from './ops/context.js';
import { matmul, type MatmulOptions } from './ops/matmul.js';
import { scaledDotProductAttention, type AttentionOptions, type AttentionResult } from './ops/sdpa.js';
import { MultiHeadAttention, type MultiHeadAttentionConfig } from './nn/mha.js';
import { TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, type TransformerEncoderConfig, type TransformerLayerConfig } from './nn/transformer.js';
import { rope, sinusoidalEncoding, type RopeOptions } from './ops/position.js';
import { bahdanauAttention, luongAttention, type BahdanauOptions, type BahdanauWeights, type LuongOptions, type Seq2seqAttention } from './nn/seq2seq.js';
import { softmax, type SoftmaxOptions } from './ops/softmax.js';
import { layerNorm, rmsNorm, type LayerNormOptions, type RmsNormOptions } from './ops/norms.js';
import { activation, gelu, type ActivationKind, type ActivationOptions, type GeluOptions } from './ops/activations.js';
import { Workspace } from './engine/workspace.js';
import { SwigluFeedForward, type SwigluFeedForwardConfig } from './nn/swiglu.js';
import { GRU, type GruConfig } from './nn/gru.js';
import { Embedding, type EmbeddingOptions } from './nn/embedding.js';
import { AttnDecoderRNN, type AttnDecoderOptions } from './nn/attn-decoder.js';
import { GruSeq2seq, type GruSeq2seqConfig } from './nn/gru-seq2seq.js';
import { PARAMS_BYTES } from './engine/attention-params.js';
import { kernelTiles, type KernelTiles } from './engine/kernels.js';
import { asFloat32, checkOptions, checkShape, describe, formatShape, type Exact, type TensorLike } from './engine/validate.js';

export interface InitOptions {
  /** Force a build instead of the best one the engine validates; fails if the engine lacks it. */
  backend?: Backend;
  /** Initial Wasm memory in MiB (it grows on demand); default 16. */
  initialMemoryMiB?: number;
  /**
   * Where to load the chosen build from (URL, path URL or bytes); default: the file shipped beside the package.
   * With threads, give the build's `-shared` variant (e.g. build/simd-shared.wasm): the plain one cannot use a
   * shared memory, and the runtime then falls back to one thread (`threadsReason` says so).
   */
  wasm?: WasmSource;
  /**
   * Threads that compute each large call, the calling one included: a number (1–16), or `'auto'` (the default):
   * the cores the platform reports (`os.availableParallelism()`, `navigator.hardwareConcurrency`), at most 8.
   * Results are the same bits for every count. Needs shared memory (in browsers: a cross-origin isolated page);
   * where it is missing the runtime uses one thread and `threadsReason` says what to change.
   */
  threads?: number | 'auto';
}

/** runtime.memoryStats(): the allocator's figures, and the resident weights and KV caches by dtype. */
export interface RuntimeMemoryStats extends MemoryStats, ResidentBytes {}

/** The output type an options object asks for: a resident `Tensor` with `resident: true`, else a copy. */
type Resident<O> = O extends { resident: true } ? Tensor : Float32Array;
/** sdpa's result for options O: `weights` is present when O asks for them. */
export type AttentionResultFor<O> = AttentionResult<Resident<O>> &
  (O extends { returnWeights: true } ? { weights: Float32Array } : unknown);

export class AttentionRuntime {
  /** The build that runs. */
  readonly backend: Backend;
  /** Why that build was chosen. */
  readonly backendReason: string;
  /** Threads that compute each large call, the calling one included (1: no workers). */
  readonly threads: number;
  /** Why that many: what was asked or reported, or what kept threads off and how to turn them on. */
  readonly threadsReason: string;
  private readonly ws: Workspace;

  /** @internal use `init()` */
  constructor(backend: Backend, reason: string, ws: Workspace, threadsReason: string) {
    this.backend = backend;
    this.backendReason = reason;
    this.ws = ws;
    this.threads = ws.threads;
    this.threadsReason = threadsReason;
  }

  /** @internal calls with fewer flops stay on the calling thread (tests set 0 to split every call). */
  set parallelMinFlops(flops: number) {
    this.ws.parallelMinFlops = flops;
  }

  /** @internal the workspace the models build their modules on (models are loaded by functions that take the runtime). */
  get workspace(): Workspace {
    return this.ws;
  }

  /** @internal the worker pool (tests kill workers through it). */
  get threadPool(): ThreadPool | undefined {
    return this.ws.pool;
  }

  /**
   * The tile and block sizes this build's kernels use (gemm: MR×NR micro-tiles, KC×MC blocks, the
   * few-rows cut-off DIRECT_M; attention: QB query rows × KB keys, PW-key panels). Shapes just
   * past a multiple of these run the kernels' tail paths.
   */
  get tiles(): KernelTiles {
    return kernelTiles(this.ws.kernels);
  }

  /** The Wasm memory the kernels run on (a shared one when `threads` > 1). */
  get memory(): WebAssembly.Memory {
    return this.ws.heap.memory;
  }

  /** Copies `data` into a resident tensor of `shape` (row-major). Dispose it when done. */
  tensor(data: Float32Array | ArrayLike<number>, shape: readonly number[]): Tensor {
    const dims = checkShape('shape', shape);
    const size = dims.reduce((a, b) => a * b, 1);
    const floats = asFloat32('data', data);
    if (floats === undefined) throw new TypeError(`data must be a Float32Array, another numeric typed array or an array of numbers, received ${describe(data)}`);
    if (floats.length !== size) throw new RangeError(`data has ${data.length} elements but shape ${formatShape(dims)} needs ${size}`);
    const t = new Tensor(this.ws.heap, dims);
    this.ws.heap.floats().set(floats, t.ptr >>> 2);
    return t;
  }

  /** A resident tensor of `shape` filled with zeros. */
  zeros(shape: readonly number[]): Tensor {
    const t = new Tensor(this.ws.heap, checkShape('shape', shape));
    t.data.fill(0);
    return t;
  }

  /**
   * Runs `body`; every tensor created through this runtime inside it is disposed when it returns
   * (or throws), except the ones it returns (a tensor, or an array / object of tensors).
   */
  scope<T>(body: () => T): T {
    const made: Tensor[] = [];
    const scopes = this.ws.heap.scopes;
    scopes.push(made);
    let result: T | undefined;
    try {
      result = body();
      return result;
    } finally {
      scopes.splice(scopes.lastIndexOf(made), 1);
      const kept = new Set<Tensor>();
      const collect = (value: unknown): void => {
        if (value instanceof Tensor) kept.add(value);
        else if (Array.isArray(value)) value.forEach(collect);
        else if (value && typeof value === 'object') Object.values(value).forEach(collect);
      };
      collect(result);
      for (const t of made) {
        if (kept.has(t)) scopes.at(-1)?.push(t); // an enclosing scope owns what this one returns
        else t.dispose();
      }
    }
  }

  /**
   * Ends this runtime: its Wasm module and memory are let go (Wasm memory never shrinks, so this,
   * followed by a new `init()`, is how a process gives back memory that one large call grew).
   * Tensors, modules, caches and bound memories made by it throw on use afterwards. Idempotent.
   */
  dispose(): void {
    if (!this.ws.heap.disposed) this.ws.dispose();
  }

  /** True after `dispose()`. */
  get disposed(): boolean {
    return this.ws.heap.disposed;
  }

  /**
   * Bytes in use, their peak, and the memory's capacity; and of what is in use, the bytes of live
   * weights (`weights`) and KV caches (`caches`) by the dtype they are held in (e.g. `{ f32, q4 }`).
   */
  memoryStats(): RuntimeMemoryStats {
    return { ...this.ws.heap.stats(), ...residentBytes(this.ws.heap) };
  }

  /** Starts a new peak measurement from what is in use now. */
  resetPeakMemory(): void {
    this.ws.heap.resetPeak();
  }

  /**
   * softmax(q·kᵀ·scale + mask)·v with q [B,H,Lq,D], k [B,H,Lk,D], v [B,H,Lk,Dv]
   * ([H,L,D] and [L,D] too) → { output [B,H,Lq,Dv], weights? [B,H,Lq,Lk] }.
   */
  scaledDotProductAttention<O extends AttentionOptions = {}>(q: TensorLike, k: TensorLike, v: TensorLike, options?: Exact<O, AttentionOptions>): AttentionResultFor<O>;
  scaledDotProductAttention(q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions & { resident?: false }): AttentionResult<Float32Array>;
  scaledDotProductAttention(q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions): AttentionResult<Float32Array | Tensor>;
  scaledDotProductAttention(q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions): AttentionResult<Float32Array | Tensor> {
    return scaledDotProductAttention(this.ws, q, k, v, options);
  }

  /** a [..., M, K] · b [K, N] (or bᵀ for b [N, K] with `transposeB`) + bias [N] → [..., M, N]. */
  matmul<O extends MatmulOptions = {}>(a: TensorLike, b: TensorLike, options?: Exact<O, MatmulOptions>): Resident<O>;
  matmul(a: TensorLike, b: TensorLike, options?: MatmulOptions & { resident?: false }): Float32Array;
  matmul(a: TensorLike, b: TensorLike, options?: MatmulOptions): Float32Array | Tensor;
  matmul(a: TensorLike, b: TensorLike, options?: MatmulOptions): Float32Array | Tensor {
    return matmul(this.ws, a, b, options);
  }

  /** softmax(x·scale + mask) over the last dimension of x. */
  softmax<O extends SoftmaxOptions = {}>(x: TensorLike, options?: Exact<O, SoftmaxOptions>): Resident<O>;
  softmax(x: TensorLike, options?: SoftmaxOptions & { resident?: false }): Float32Array;
  softmax(x: TensorLike, options?: SoftmaxOptions): Float32Array | Tensor;
  softmax(x: TensorLike, options?: SoftmaxOptions): Float32Array | Tensor {
    return softmax(this.ws, x, options);
  }

  /**
   * LayerNorm over the last dimension of x [..., N] (`F.layer_norm(x, [N], weight, bias, eps)`):
   * (x − mean)/√(var + eps)·weight + bias, biased variance; `residual` is added to x first.
   */
  layerNorm<O extends LayerNormOptions = {}>(x: TensorLike, options?: Exact<O, LayerNormOptions>): Resident<O>;
  layerNorm(x: TensorLike, options?: LayerNormOptions & { resident?: false }): Float32Array;
  layerNorm(x: TensorLike, options?: LayerNormOptions): Float32Array | Tensor;
  layerNorm(x: TensorLike, options?: LayerNormOptions): Float32Array | Tensor {
    return layerNorm(this.ws, x, options);
  }

  /** RMSNorm over the last dimension of x [..., N] (Llama's): x/√(mean(x²) + eps)·weight, eps default 1e-6. */
  rmsNorm<O extends RmsNormOptions = {}>(x: TensorLike, options?: Exact<O, RmsNormOptions>): Resident<O>;
  rmsNorm(x: TensorLike, options?: RmsNormOptions & { resident?: false }): Float32Array;
  rmsNorm(x: TensorLike, options?: RmsNormOptions): Float32Array | Tensor;
  rmsNorm(x: TensorLike, options?: RmsNormOptions): Float32Array | Tensor {
    return rmsNorm(this.ws, x, options);
  }

  /** An elementwise activation of x: 'relu', 'gelu' (erf), 'geluTanh', 'silu' or 'tanh'; same shape. */
  activation<O extends ActivationOptions = {}>(x: TensorLike, kind: ActivationKind, options?: Exact<O, ActivationOptions>): Resident<O>;
  activation(x: TensorLike, kind: ActivationKind, options?: ActivationOptions & { resident?: false }): Float32Array;
  activation(x: TensorLike, kind: ActivationKind, options?: ActivationOptions): Float32Array | Tensor;
  activation(x: TensorLike, kind: ActivationKind, options?: ActivationOptions): Float32Array | Tensor {
    return activation(this.ws, x, kind, options);
  }

  /** `F.gelu(x, approximate)`: the exact erf form (default) or `approximate: 'tanh'`. */
  gelu<O extends GeluOptions = {}>(x: TensorLike, options?: Exact<O, GeluOptions>): Resident<O>;
  gelu(x: TensorLike, options?: GeluOptions & { resident?: false }): Float32Array;
  gelu(x: TensorLike, options?: GeluOptions): Float32Array | Tensor;
  gelu(x: TensorLike, options?: GeluOptions): Float32Array | Tensor {
    return gelu(this.ws, x, options);
  }

  /** Context vectors: weights [M, S] (or [S]) · values [S, D] → [M, D] (or [D]). */
  attentionContext<O extends ContextOptions = {}>(weights: TensorLike, values: TensorLike, options?: Exact<O, ContextOptions>): Resident<O>;
  attentionContext(weights: TensorLike, values: TensorLike, options?: ContextOptions & { resident?: false }): Float32Array;
  attentionContext(weights: TensorLike, values: TensorLike, options?: ContextOptions): Float32Array | Tensor;
  attentionContext(weights: TensorLike, values: TensorLike, options?: ContextOptions): Float32Array | Tensor {
    return attentionContext(this.ws, weights, values, options);
  }

  /**
   * Luong attention for seq2seq decoders: `{ score: 'dot' }`, `{ score: 'general', W }` or
   * `{ score: 'concat', Wa, va, ba? }`, each optionally with `Wc` (and `bc`) for the attentional
   * state tanh(Wc·[c; h]). `.bind(encoderStates [B, S, H])` → memory; `memory.step(h [B, H])`.
   * `dtype` holds W, Wa and Wc as 'q8' / 'q4' or 'f16' / 'bf16'.
   */
  luongAttention(options: LuongOptions): Seq2seqAttention {
    return luongAttention(this.ws, options);
  }

  /** Bahdanau (additive) attention from the PyTorch tutorial's state_dict (`Wa`, `Ua`, `Va`); `dtype` holds Wa and Ua as 'q8' / 'q4' or 'f16' / 'bf16'. */
  bahdanauAttention(stateDict: BahdanauWeights | Record<string, TensorLike>, options?: BahdanauOptions): Seq2seqAttention {
    return bahdanauAttention(this.ws, stateDict, options);
  }

  /** `torch.nn.MultiheadAttention(embedDim, numHeads, bias=True, batch_first=True)` from its state_dict; `dtype: 'q8' | 'q4'` holds the projections quantized, `'f16' | 'bf16'` as 16-bit floats. */
  multiHeadAttention(config: MultiHeadAttentionConfig): MultiHeadAttention {
    return new MultiHeadAttention(this.ws, config);
  }

  /**
   * `torch.nn.TransformerEncoderLayer` (eval) from its state_dict (`self_attn.*`, `linear1.*`,
   * `linear2.*`, `norm1.*`, `norm2.*`; `prefix` picks a submodule's entries). Inputs are [B, L, E]
   * unless `batchFirst: false` ([L, B, E], PyTorch's default); `dimFeedforward` is read from the weights.
   * `dtype: 'q8' | 'q4'` holds the Linear weights quantized, `'f16' | 'bf16'` as 16-bit floats (so do the other transformer constructors).
   */
  transformerEncoderLayer(config: TransformerLayerConfig): TransformerEncoderLayer {
    return new TransformerEncoderLayer(this.ws, config);
  }

  /** The SwiGLU feed-forward of Llama-family models, `down(silu(gate(x)) ⊙ up(x))`, from `gate_proj` / `up_proj` / `down_proj` weights (`dtype: 'q8' | 'q4'` to quantize them, `'f16' | 'bf16'` to hold them in 16 bits). */
  swigluFeedForward(config: SwigluFeedForwardConfig): SwigluFeedForward {
    return new SwigluFeedForward(this.ws, config);
  }

  /** `torch.nn.TransformerEncoder`: `numLayers` layers from one state_dict (`layers.N.*`, and `norm.*` with `norm: true`). */
  transformerEncoder(config: TransformerEncoderConfig): TransformerEncoder {
    return new TransformerEncoder(this.ws, config);
  }

  /** `torch.nn.TransformerDecoder`: `numLayers` decoder layers from one state_dict (`layers.N.*`, and `norm.*` with `norm: true`). */
  transformerDecoder(config: TransformerEncoderConfig): TransformerDecoder {
    return new TransformerDecoder(this.ws, config);
  }

  /** `torch.nn.TransformerDecoderLayer` (eval; [B, T, E] unless `batchFirst: false`) from its state_dict (`self_attn.*`, `multihead_attn.*`, `linear1/2.*`, `norm1/2/3.*`). */
  transformerDecoderLayer(config: TransformerLayerConfig): TransformerDecoderLayer {
    return new TransformerDecoderLayer(this.ws, config);
  }

  /** `torch.nn.GRU(inputSize, hiddenSize, batch_first=True)`, one layer, from its state_dict (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`); `dtype: 'q8' | 'q4'` quantizes both matrices (`'f16' | 'bf16'`: 16-bit floats). */
  gru(config: GruConfig): GRU {
    return new GRU(this.ws, config);
  }

  /** `torch.nn.Embedding` from its weight [V, E] (a tensor, or a `{ weight }` state_dict with an optional `prefix`), held in f32 or (`dtype`) 'f16' / 'bf16'. */
  embedding(weight: TensorLike | Record<string, TensorLike>, options?: EmbeddingOptions): Embedding {
    return new Embedding(this.ws, weight, options);
  }

  /** The PyTorch seq2seq tutorial's `AttnDecoderRNN` (Bahdanau attention, GRU, output layer) from its state_dict; `bind(encoderOutputs).step(token, hidden)`; options `prefix`, `dtype`. */
  attnDecoderRNN(stateDict: Record<string, TensorLike>, options?: AttnDecoderOptions): AttnDecoderRNN {
    return new AttnDecoderRNN(this.ws, stateDict, options);
  }

  /** The tutorial's EncoderRNN + AttnDecoderRNN as one model: `greedyDecode` (batched) and `beamSearch`; `dtype: 'q8' | 'q4' | 'f16' | 'bf16'` for its Linear weights. */
  gruSeq2seq(config: GruSeq2seqConfig): GruSeq2seq {
    return new GruSeq2seq(this.ws, config);
  }

  /** The sinusoidal position table [maxLength, dim]: sin on even, cos on odd dimensions, base 10000. */
  sinusoidalEncoding(maxLength: number, dim: number): Float32Array {
    return sinusoidalEncoding(maxLength, dim);
  }

  /**
   * Rotary position embedding of x [..., L, D] (positions along L from `offset`), style 'half'
   * (GPT-NeoX / LLaMA) or 'interleaved' (RoFormer). Returns a new array (or, for a resident tensor,
   * a new tensor) unless `inPlace`.
   */
  rope<X extends TensorLike | Float32Array>(x: X, options: RopeOptions): X extends Tensor ? Tensor : Float32Array {
    return rope(this.ws, x, options) as X extends Tensor ? Tensor : Float32Array;
  }
}

const MIB = 2 ** 20;

/** Loads the best build this engine supports (or `options.backend`), starts its threads, and returns a runtime. */
export async function init(options: InitOptions = {}): Promise<AttentionRuntime> {
  checkOptions('options', options, ['backend', 'initialMemoryMiB', 'wasm', 'threads'], 'init');
  const { backend, reason } = chooseBackend(options.backend);
  const initialMiB = options.initialMemoryMiB ?? 16;
  if (typeof initialMiB !== 'number' || !Number.isInteger(initialMiB) || initialMiB < 1 || initialMiB > 4095) {
    throw new RangeError(`options.initialMemoryMiB must be an integer in [1, 4095], received ${describe(initialMiB)}`);
  }
  const asked = options.threads ?? 'auto';
  if (asked !== 'auto' && (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1 || asked > CONTROL.MAX_THREADS)) {
    throw new RangeError(`options.threads must be 'auto' or an integer in [1, ${CONTROL.MAX_THREADS}], received ${describe(asked)}`);
  }
  const initial = (initialMiB * MIB) / 65536;
  const plan = await planThreads(asked);
  if (plan.threads > 1) {
    try {
      const memory = new WebAssembly.Memory({ initial, maximum: 65536, shared: true });
      const module = await compileKernels(backend, true, options.wasm);
      const kernels = await instantiateKernels(module, memory);
      checkParams(backend, kernels);
      // The control block sits below the heap, outside what memoryStats() counts.
      const control = Math.ceil(kernels.heapBase() / 16) * 16;
      new Int32Array(memory.buffer, control, CONTROL.INTS).fill(0);
      const heap = new Heap(memory, control + 4 * CONTROL.INTS);
      const pool = await ThreadPool.create(kernels, { module, memory, control }, plan.threads);
      return new AttentionRuntime(backend, reason, new Workspace(kernels, heap, pool), plan.reason);
    } catch (error) {
      const why = (error as Error)?.message ?? String(error);
      const hint = options.wasm !== undefined ? ` (options.wasm must be a -shared build for threads)` : '';
      plan.reason = `1 thread: threads could not start: ${why.replace(/^wasm-attention: /, '')}${hint}; pass threads: 1 to skip trying`;
    }
  }
  const memory = new WebAssembly.Memory({ initial, maximum: 65536 });
  const kernels = await instantiateKernels(await compileKernels(backend, false, options.wasm), memory);
  const heap = new Heap(memory, kernels.heapBase());
  checkParams(backend, kernels);
  return new AttentionRuntime(backend, reason, new Workspace(kernels, heap), plan.reason);
}

/** How many threads to start and why (before trying them). */
async function planThreads(asked: number | 'auto'): Promise<{ threads: number; reason: string }> {
  if (asked === 1) return { threads: 1, reason: '1 thread: options.threads is 1' };
  const unavailable = threadsUnavailable();
  if (unavailable) return { threads: 1, reason: `1 thread: ${unavailable}` };
  if (asked !== 'auto') return { threads: asked, reason: `${asked} threads: options.threads asked for ${asked}` };
  const { cores, source } = await reportedCores();
  const threads = Math.max(1, Math.min(cores, AUTO_MAX_THREADS));
  if (threads === 1) return { threads, reason: `1 thread: ${source} reports 1 core (pass threads: N to use N anyway)` };
  const capped = cores > AUTO_MAX_THREADS ? `, capped at ${AUTO_MAX_THREADS} by threads: 'auto' (pass a number for more)` : '';
  return { threads, reason: `${threads} threads: ${source} reports ${cores} cores${capped}` };
}

/** threads: 'auto' uses at most this many (attention on more cores is rarely worth their memory bandwidth). */
const AUTO_MAX_THREADS = 8;

function checkParams(backend: Backend, kernels: { ATTENTION_PARAMS_BYTES?: WebAssembly.Global }): void {
  const paramsBytes = kernels.ATTENTION_PARAMS_BYTES?.value as number | undefined;
  if (paramsBytes !== PARAMS_BYTES) {
    throw new Error(`wasm-attention: the ${backend} build does not match this runtime (attention parameter block of ${paramsBytes} bytes, expected ${PARAMS_BYTES}); rebuild with npm run build`);
  }
}

export { supportedBackends };
