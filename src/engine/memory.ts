/**
 * The allocator over the module's imported `WebAssembly.Memory`, and resident tensors.
 *
 * Invariants: every block starts and ends on a 16-byte boundary (v128 loads and the wasm
 * page size both divide evenly); `free` holds disjoint, address-sorted, coalesced blocks that
 * all lie below `top`; everything in [top, memory size) is unused. Only this object writes
 * the block tables, so one allocating thread (the main one) may later share the memory with
 * workers that compute on pointers they are given.
 */
const ALIGN = 16;
const PAGE = 65536;
/** wasm32 addresses 2^32 bytes; we keep the last page unused so end pointers stay < 2^32. */
export const MAX_BYTES = 65535 * PAGE;

interface Block {
  ptr: number;
  size: number;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export interface MemoryStats {
  /** Bytes in live allocations (tensors and scratch). */
  bytesInUse: number;
  /** The most `bytesInUse` has been since the runtime started (or `resetPeak()`). */
  peakBytes: number;
  /** Size of the Wasm linear memory. */
  capacityBytes: number;
  /** Number of live allocations. */
  allocations: number;
  /**
   * Tensors freed because they were garbage-collected without `dispose()` (with the caches, bound
   * memories and modules that held them). Non-zero means a leak that the safety net caught:
   * dispose explicitly, or memory stays in use until the collector happens to run.
   */
  rescued: number;
}

export class Heap {
  private wasmMemory: WebAssembly.Memory | undefined;
  private readonly base: number;
  private top: number;
  private free: Block[] = [];
  private readonly live = new Map<number, number>();
  private inUse = 0;
  private peak = 0;
  private f32?: Float32Array;
  private i32?: Int32Array;
  private rescuedCount = 0;
  /** Tensors made inside each open `runtime.scope` (innermost last). */
  readonly scopes: Tensor[][] = [];
  /** Frees the block of a tensor that was collected without dispose(). */
  readonly finalizer = new FinalizationRegistry<number>((ptr) => {
    if (this.wasmMemory === undefined || !this.live.has(ptr)) return;
    this.release(ptr);
    this.rescuedCount++;
  });

  constructor(memory: WebAssembly.Memory, heapBase: number) {
    this.wasmMemory = memory;
    this.base = Math.ceil(heapBase / ALIGN) * ALIGN;
    this.top = this.base;
  }

  /** Allocates `bytes` (rounded up to 16), zero-filled only where memory is fresh; returns the pointer. */
  alloc(bytes: number): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`allocation size must be a non-negative number of bytes, received ${bytes}`);
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let ptr = -1;
    // First fit over the address-sorted free list keeps low addresses busy and the top free.
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i]!;
      if (block.size < size) continue;
      ptr = block.ptr;
      if (block.size === size) this.free.splice(i, 1);
      else {
        block.ptr += size;
        block.size -= size;
      }
      break;
    }
    if (ptr < 0) {
      ptr = this.top;
      this.ensureCapacity(ptr + size, size);
      this.top = ptr + size;
    }
    this.live.set(ptr, size);
    this.inUse += size;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return ptr;
  }

  /** Returns a block to the free list, merging it with its neighbours and with the top. */
  release(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new Error(`wasm-attention: pointer ${ptr} is not a live allocation (double free?)`);
    this.live.delete(ptr);
    this.inUse -= size;
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.ptr < ptr) lo = mid + 1;
      else hi = mid;
    }
    const block: Block = { ptr, size };
    const prev = this.free[lo - 1];
    const next = this.free[lo];
    if (prev && prev.ptr + prev.size === ptr) {
      prev.size += size;
      if (next && prev.ptr + prev.size === next.ptr) {
        prev.size += next.size;
        this.free.splice(lo, 1);
      }
    } else if (next && ptr + size === next.ptr) {
      next.ptr = ptr;
      next.size += size;
    } else {
      this.free.splice(lo, 0, block);
    }
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      this.free.pop();
    }
  }

  private ensureCapacity(end: number, request: number): void {
    const capacity = this.memory.buffer.byteLength;
    if (end <= capacity) return;
    if (end > MAX_BYTES) {
      throw new RangeError(
        `wasm-attention: cannot allocate ${mib(request)}: Wasm memory would reach ${mib(end)}, past the wasm32 limit of ${mib(MAX_BYTES)} ` +
          `(${mib(this.inUse)} in use in ${this.live.size} allocations)`,
      );
    }
    // Grow by at least half the current size so a run of growing requests costs O(log n) grows.
    const needed = Math.ceil((end - capacity) / PAGE);
    const wanted = Math.min(Math.max(needed, Math.ceil(capacity / PAGE / 2)), MAX_BYTES / PAGE - capacity / PAGE);
    try {
      this.memory.grow(wanted);
    } catch {
      try {
        this.memory.grow(needed);
      } catch (error) {
        throw new RangeError(
          `wasm-attention: cannot allocate ${mib(request)}: the engine refused to grow Wasm memory from ${mib(capacity)} to ${mib(end)} (${(error as Error).message})`,
        );
      }
    }
  }

  /** The Wasm memory (throws once the runtime was disposed). */
  get memory(): WebAssembly.Memory {
    if (this.wasmMemory === undefined) throw new Error('wasm-attention: this runtime was disposed; call init() for a new one');
    return this.wasmMemory;
  }

  get disposed(): boolean {
    return this.wasmMemory === undefined;
  }

  /** Lets go of the memory and every block: tensors and modules still held throw on use. */
  dispose(): void {
    this.wasmMemory = undefined;
    this.f32 = undefined;
    this.i32 = undefined;
    this.live.clear();
    this.free = [];
    this.inUse = 0;
  }

  /** A Float32Array over the whole memory, re-made whenever growth replaced the buffer. */
  floats(): Float32Array {
    const buffer = this.memory.buffer;
    if (this.f32 === undefined || this.f32.buffer !== buffer) this.f32 = new Float32Array(buffer);
    return this.f32;
  }

  /** A Uint8Array over the whole memory, made on each call (valid until the memory grows). */
  bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  /** An Int32Array over the whole memory, re-made whenever growth replaced the buffer. */
  ints(): Int32Array {
    const buffer = this.memory.buffer;
    if (this.i32 === undefined || this.i32.buffer !== buffer) this.i32 = new Int32Array(buffer);
    return this.i32;
  }

  /** A view of `length` floats at `ptr`, valid until the next allocation that grows memory. */
  view(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  stats(): MemoryStats {
    return { bytesInUse: this.inUse, peakBytes: this.peak, capacityBytes: this.memory.buffer.byteLength, allocations: this.live.size, rescued: this.rescuedCount };
  }

  resetPeak(): void {
    this.peak = this.inUse;
  }
}

/**
 * A float32 tensor resident in Wasm memory (row-major). Kernels read and write it in place; it
 * stays until `dispose()` (or, as a safety net, until it is garbage-collected: see
 * `MemoryStats.rescued`). `data` is a view made on each access: a view kept in a variable is
 * detached when memory grows, so re-read `tensor.data` after any call that may allocate.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  private heap: Heap | undefined;
  private address: number;

  /** @internal Use `runtime.tensor(...)` or `runtime.zeros(...)`. */
  constructor(heap: Heap, shape: readonly number[], temporary = false) {
    this.shape = Object.freeze([...shape]);
    this.size = shape.reduce((a, b) => a * b, 1);
    this.heap = heap;
    this.address = heap.alloc(this.size * 4);
    // an op's temporaries are always disposed before it returns: no scope or safety net needed
    if (!temporary) {
      heap.finalizer.register(this, this.address, this);
      heap.scopes.at(-1)?.push(this);
    }
  }

  /** True after `dispose()`, or once its runtime was disposed. */
  get disposed(): boolean {
    return this.heap === undefined || this.heap.disposed;
  }

  /** Byte offset in Wasm memory. */
  get ptr(): number {
    if (this.heap === undefined) throw new Error('wasm-attention: this tensor was disposed');
    if (this.heap.disposed) throw new Error('wasm-attention: the runtime of this tensor was disposed');
    return this.address;
  }

  /** A live view of the values (re-made from the current buffer on every access). */
  get data(): Float32Array {
    if (this.heap === undefined) throw new Error('wasm-attention: this tensor was disposed');
    return this.heap.view(this.address, this.size);
  }

  /** A copy of the values that outlives the tensor. */
  toArray(): Float32Array {
    return this.data.slice();
  }

  /** Frees the memory; later use of this tensor throws. Idempotent. */
  dispose(): void {
    if (this.heap === undefined) return;
    this.heap.finalizer.unregister(this);
    if (!this.heap.disposed) this.heap.release(this.address);
    this.heap = undefined;
  }

  /** @internal An op's temporary handed to the caller: registered as if the caller had made it. */
  adopt(): Tensor {
    const heap = this.heap!;
    heap.finalizer.register(this, this.address, this);
    heap.scopes.at(-1)?.push(this);
    return this;
  }

  /** @internal */
  belongsTo(heap: Heap): boolean {
    return this.heap === heap;
  }
}
