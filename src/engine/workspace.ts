/**
 * What the runtime hands every op: the kernels, the heap, and helpers that move user data into
 * Wasm memory once per call and free every temporary when the call ends, even on error.
 */
import { kernelTiles, type KernelTiles, type Kernels } from './kernels.js';
import type { ThreadPool } from './threads/pool.js';
import { Tensor, type Heap } from './memory.js';
import type { Checked } from './validate.js';
import { PARAMS_BYTES } from './attention-params.js';

/**
 * Work (multiply-adds × 2) below which a gemm runs on the calling thread alone; attention needs
 * twice as much. Measured on 2 cores (relaxed-simd, 1 vs 2 threads, calls back to back): gemm gains
 * 1.4–1.5× at 1.6–2.1 MFLOP and 1.6–1.8× above; attention breaks even at ~2 MFLOP in Node (L 90,
 * D 64: 0.99×; 0.63× in a Chromium worker at 2.1 MFLOP) and gains 1.6–1.7× from 4 MFLOP.
 */
export const PARALLEL_MIN_FLOPS = 2 ** 21;

export class Workspace {
  private scratchPtr = -1;
  private scratchSize = 0;
  private paramsPtr = -1;
  private partialsPtr = -1;
  private partialsSize = 0;
  /** The rotary (cos, sin) table of the last `rope` call, kept for the next call with the same key. */
  ropeTable: { key: string; ptr: number; freq?: Float64Array } | undefined;

  private liveKernels: Kernels | undefined;
  private livePool: ThreadPool | undefined;
  /** The build's tile sizes (read once). */
  readonly tiles: KernelTiles;

  constructor(
    kernels: Kernels,
    readonly heap: Heap,
    pool?: ThreadPool,
  ) {
    this.liveKernels = kernels;
    this.livePool = pool;
    this.tiles = kernelTiles(kernels);
  }

  /** Calls with less work (flops) than this stay on the calling thread (tests lower it to split every call). */
  parallelMinFlops = PARALLEL_MIN_FLOPS;

  /** The other threads, when the runtime has more than one (undefined once disposed). */
  get pool(): ThreadPool | undefined {
    return this.livePool;
  }

  /** Threads in use, the calling one included. */
  get threads(): number {
    return this.livePool?.threads ?? 1;
  }

  /** The module's exports (throws once the runtime was disposed). */
  get kernels(): Kernels {
    if (this.liveKernels === undefined) throw new Error('wasm-attention: this runtime was disposed; call init() for a new one');
    return this.liveKernels;
  }

  /**
   * Lets go of the module and its memory, so both can be collected even while modules, caches or
   * tensors made by this runtime are still referenced (they throw on use).
   */
  dispose(): void {
    this.liveKernels = undefined;
    this.ropeTable = undefined;
    this.livePool?.dispose();
    this.livePool = undefined;
    this.heap.dispose();
  }

  /**
   * A reusable scratch block of at least `bytes`, kept between calls (hot paths such as a decoder
   * step then allocate nothing). Valid until the next `scratch` call.
   */
  scratch(bytes: number): number {
    if (bytes === 0) return 0;
    if (bytes <= this.scratchSize) return this.scratchPtr;
    if (this.scratchPtr >= 0) this.heap.release(this.scratchPtr);
    this.scratchPtr = -1;
    this.scratchSize = 0;
    this.scratchPtr = this.heap.alloc(bytes);
    this.scratchSize = Math.ceil(bytes / 16) * 16;
    return this.scratchPtr;
  }

  /**
   * Scratch for every thread of a parallel call: thread s (0 = the calling one) uses
   * [base + s·stride, + bytes). Shares the block of `scratch`.
   */
  threadScratch(bytes: number): { base: number; stride: number } {
    const stride = Math.ceil(bytes / 16) * 16;
    return { base: stride === 0 ? 0 : this.scratch(stride * this.threads), stride };
  }

  /** A reusable block for key-split attention's partial states, kept between calls like `scratch`. */
  partials(bytes: number): number {
    if (bytes > this.partialsSize) {
      if (this.partialsPtr >= 0) this.heap.release(this.partialsPtr);
      this.partialsPtr = -1;
      this.partialsSize = 0;
      this.partialsPtr = this.heap.alloc(bytes);
      this.partialsSize = Math.ceil(bytes / 16) * 16;
    }
    return this.partialsPtr;
  }

  /** The attention parameter block (src/ops/attention-params.ts), allocated once and rewritten per call. */
  attentionParams(): number {
    if (this.paramsPtr < 0) this.paramsPtr = this.heap.alloc(PARAMS_BYTES);
    return this.paramsPtr;
  }

  /** Runs `body` with a list that collects temporaries; they are freed however `body` ends. */
  run<T>(body: (temps: Temps) => T): T {
    const temps = new Temps(this.heap);
    try {
      return body(temps);
    } finally {
      temps.dispose();
    }
  }
}

/** Temporaries of one call. */
export class Temps {
  private readonly list: Tensor[] = [];
  private readonly blocks: number[] = [];

  constructor(private readonly heap: Heap) {}

  /** The resident pointer of a checked argument, copying plain data in (once) when needed. */
  input(arg: Checked): number {
    if (arg.tensor) return arg.tensor.ptr;
    const t = this.tensor(arg.shape);
    this.heap.floats().set(arg.data!, t.ptr >>> 2);
    return t.ptr;
  }

  tensor(shape: readonly number[]): Tensor {
    const t = new Tensor(this.heap, shape, true);
    this.list.push(t);
    return t;
  }

  /** Int32 values copied into memory (e.g. per-batch key lengths); returns the pointer. */
  int32(values: Int32Array): number {
    return this.copyIn(values);
  }

  /** Float32 values copied into memory (e.g. ALiBi slopes, an additive mask); returns the pointer. */
  float32(values: Float32Array): number {
    return this.copyIn(values);
  }

  /** Bytes copied into memory (e.g. a bool mask); returns the pointer. */
  bytes(values: Uint8Array): number {
    return this.copyIn(values);
  }

  /** A temporary block holding a copy of `values`' bytes. */
  private copyIn(values: Int32Array | Float32Array | Uint8Array): number {
    const ptr = this.heap.alloc(values.byteLength);
    this.blocks.push(ptr);
    new Uint8Array(this.heap.memory.buffer, ptr, values.byteLength).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return ptr;
  }

  /** Keeps `t` alive past the call: the caller gets a tensor of its own (in its scope, under the safety net). */
  keep(t: Tensor): Tensor {
    const i = this.list.indexOf(t);
    if (i >= 0) this.list.splice(i, 1);
    return t.adopt();
  }

  dispose(): void {
    for (const t of this.list) t.dispose();
    for (const ptr of this.blocks) this.heap.release(ptr);
    this.list.length = 0;
    this.blocks.length = 0;
  }
}
