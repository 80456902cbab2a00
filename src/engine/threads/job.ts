/**
 * One parallel kernel call ("job") as the threads see it: the control block in shared memory,
 * how a chunk of work maps to a kernel call, the claiming loop, and the worker's main function.
 *
 * Everything a worker runs is in this file and self-contained (no imports, no closures over
 * module state except `CONTROL` and `JOB`, which `workerSource()` inlines): the worker's code is
 * this file's functions turned back into source, so no separate worker file has to be found,
 * served or bundled. The calling thread runs the very same `runChunk` and `claimChunks`.
 *
 * Claims. A job has `chunks` chunks (≤ 4095). `NEXT` holds (epoch mod 2^20) << 12 | next chunk;
 * a thread claims chunk c with a compare-exchange that also checks the epoch, so a thread that
 * woke late, after its job ended and another began, fails its claim instead of running chunks of
 * the new job with the old job's fields. Publishing a job: NEXT := (new epoch, 0) first (no
 * thread has seen the new epoch, so this ends every claim on the last job: a thread that read the
 * last job's exhausted NEXT and then this job's larger CHUNKS fails its compare-exchange), then
 * the fields, then `EPOCH` (a sequentially consistent store). Fields stay unchanged until every
 * chunk is done, so a successful claim proves the fields it read belong to its job. `DONE` counts
 * finished chunks.
 */

/** Int32 slots of the control block (it is CONTROL.INTS int32s long, at a 16-byte aligned address). */
export const CONTROL = {
  EPOCH: 0,
  NEXT: 1,
  DONE: 2,
  KIND: 3,
  CHUNKS: 4,
  PER_CHUNK: 5,
  TOTAL: 6,
  SCRATCH: 7,
  SCRATCH_STRIDE: 8,
  QUIT: 9,
  FAULT: 10,
  ARGS: 16,
  /** Per thread slot s (0 = the calling thread): its state (see WORKER_STATE). */
  WORKERS: 32,
  /** Per thread slot s: 1 + the chunk it is running, 0 when it runs none (tells which thread a lost chunk was on). */
  BUSY: 48,
  /** Slots: the calling thread and up to 15 workers. */
  MAX_THREADS: 16,
  INTS: 64,
  MAX_CHUNKS: 4095,
} as const;

/** What a worker slot's state word says. */
export const WORKER_STATE = { STARTING: 0, READY: 1, GONE: 2 } as const;

/** The kernel a job runs: fused attention items, materialised attention items, gemm, gemmQ8, gemmQ4 or gemmHalf column ranges, gemmQ8 or gemmQ4 row ranges, activation or swiglu element ranges. */
export const JOB = { ATTENTION: 1, ATTENTION_WEIGHTS: 2, GEMM: 3, GEMM_Q8: 4, GEMM_Q4: 5, GEMM_HALF: 6, ACTIVATION: 7, SWIGLU: 8, GEMM_Q8_ROWS: 9, GEMM_Q4_ROWS: 10 } as const;

/** The kernel exports a thread needs. */
export interface JobKernels {
  attention(params: number, begin: number, end: number, scratch: number): void;
  attentionWeights(params: number, begin: number, end: number, weights: number, scratch: number): void;
  gemm(a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number, transB: number, bias: number, accumulate: number, scratch: number): void;
  gemmQ8(xq: number, xs: number, m: number, wq: number, ws: number, c: number, ldc: number, n: number, k: number, bias: number, accumulate: number, scratch: number): void;
  gemmQ4(xq: number, xs: number, m: number, wq: number, ws: number, c: number, ldc: number, n: number, k: number, bias: number, accumulate: number, scratch: number): void;
  gemmHalf(a: number, lda: number, w: number, c: number, ldc: number, m: number, n: number, k: number, format: number, bias: number, accumulate: number, scratch: number): void;
  quantizeRows8(x: number, ldx: number, rows: number, k: number, q: number, scales: number): void;
  quantizeRows16(x: number, ldx: number, rows: number, k: number, q: number, scales: number): void;
  activation(x: number, out: number, count: number, kind: number): void;
  swiglu(gate: number, up: number, out: number, count: number): void;
}

/**
 * Runs chunk `chunk` of the job in `ctl`. Attention: items [chunk·per, …) of `TOTAL`; gemm: columns
 * [chunk·per, …) of n = `TOTAL` (per is a multiple of GEMM_NB, so any split gives the same bits);
 * gemmQ8 / gemmQ4 by rows: rows [chunk·per, …) of m = `TOTAL`, quantized by the chunk (each row's outputs are the same in any batch);
 * element-wise: elements [chunk·per, …) (per is a multiple of 4, so every element takes the vector
 * or the scalar path it takes in one call).
 */
export function runChunk(k: JobKernels, ctl: Int32Array, chunk: number, scratch: number): void {
  const per = ctl[CONTROL.PER_CHUNK]!;
  const total = ctl[CONTROL.TOTAL]!;
  const begin = chunk * per;
  const end = Math.min(total, begin + per);
  const a = CONTROL.ARGS;
  switch (ctl[CONTROL.KIND]) {
    case JOB.ATTENTION:
      k.attention(ctl[a]!, begin, end, scratch);
      return;
    case JOB.ATTENTION_WEIGHTS:
      k.attentionWeights(ctl[a]!, begin, end, ctl[a + 1]!, scratch);
      return;
    case JOB.GEMM: {
      // C[:, j0:j1] = A·op(B)[:, j0:j1]: B's columns start j0 rows down (Bᵀ stored [n, k]) or j0 across.
      const transB = ctl[a + 9]!;
      const ldb = ctl[a + 3]!;
      const bias = ctl[a + 10]!;
      k.gemm(
        ctl[a]!, ctl[a + 1]!, ctl[a + 2]! + 4 * begin * (transB ? ldb : 1), ldb, ctl[a + 4]! + 4 * begin, ctl[a + 5]!,
        ctl[a + 6]!, end - begin, ctl[a + 8]!, transB, bias ? bias + 4 * begin : 0, ctl[a + 11]!, scratch,
      );
      return;
    }
    case JOB.GEMM_Q8:
    case JOB.GEMM_Q4: {
      // y[:, j0:j1]: W's rows j0… (k int8 bytes each, Q4 k/2 bytes; k/32 scales each)
      const q4 = ctl[CONTROL.KIND] === JOB.GEMM_Q4;
      const kDim = ctl[a + 7]!;
      const bias = ctl[a + 8]!;
      (q4 ? k.gemmQ4 : k.gemmQ8)(
        ctl[a]!, ctl[a + 1]!, ctl[a + 2]!, ctl[a + 3]! + begin * (q4 ? kDim / 2 : kDim), ctl[a + 4]! + (begin * kDim) / 8, ctl[a + 5]! + 4 * begin, ctl[a + 6]!,
        end - begin, kDim, bias ? bias + 4 * begin : 0, ctl[a + 9]!, scratch,
      );
      return;
    }
    case JOB.GEMM_Q8_ROWS:
    case JOB.GEMM_Q4_ROWS: {
      // y[r0:r1, :]: x's rows r0… quantized here (Q4: k int8, Q8: k int16, and k/32 scales each), every column
      const q4 = ctl[CONTROL.KIND] === JOB.GEMM_Q4_ROWS;
      const kDim = ctl[a + 7]!;
      const ldc = ctl[a + 6]!;
      const ldx = ctl[a + 11]!;
      const xq = ctl[a]! + begin * kDim * (q4 ? 1 : 2), xs = ctl[a + 1]! + (begin * kDim) / 8;
      (q4 ? k.quantizeRows8 : k.quantizeRows16)(ctl[a + 10]! + 4 * begin * ldx, ldx, end - begin, kDim, xq, xs);
      (q4 ? k.gemmQ4 : k.gemmQ8)(
        xq, xs, end - begin, ctl[a + 3]!, ctl[a + 4]!, ctl[a + 5]! + 4 * begin * ldc, ldc,
        ctl[a + 2]!, kDim, ctl[a + 8]!, ctl[a + 9]!, scratch,
      );
      return;
    }
    case JOB.GEMM_HALF: {
      // y[:, j0:j1]: W's rows j0… (k 16-bit values each)
      const kDim = ctl[a + 6]!;
      const bias = ctl[a + 8]!;
      k.gemmHalf(
        ctl[a]!, ctl[a + 1]!, ctl[a + 2]! + 2 * begin * kDim, ctl[a + 3]! + 4 * begin, ctl[a + 4]!,
        ctl[a + 5]!, end - begin, kDim, ctl[a + 7]!, bias ? bias + 4 * begin : 0, ctl[a + 9]!, scratch,
      );
      return;
    }
    case JOB.ACTIVATION:
      k.activation(ctl[a]! + 4 * begin, ctl[a + 1]! + 4 * begin, end - begin, ctl[a + 2]!);
      return;
    case JOB.SWIGLU:
      k.swiglu(ctl[a]! + 4 * begin, ctl[a + 1]! + 4 * begin, ctl[a + 2]! + 4 * begin, end - begin);
      return;
  }
}

/**
 * Claims and runs chunks of the job of `epoch` until none is left; returns how many it ran.
 * A chunk that throws still counts as done (so no thread waits for it) and sets FAULT.
 */
export function claimChunks(k: JobKernels, ctl: Int32Array, epoch: number, slot: number, scratch: number, max = 0x7fffffff): number {
  const tag = epoch & 0xfffff;
  let ran = 0;
  while (ran < max) {
    const next = Atomics.load(ctl, CONTROL.NEXT);
    if (next >>> 12 !== tag) return ran;
    const chunk = next & 0xfff;
    if (chunk >= ctl[CONTROL.CHUNKS]!) return ran;
    if (Atomics.compareExchange(ctl, CONTROL.NEXT, next, next + 1) !== next) continue;
    Atomics.store(ctl, CONTROL.BUSY + slot, chunk + 1);
    try {
      runChunk(k, ctl, chunk, scratch);
    } catch {
      Atomics.store(ctl, CONTROL.FAULT, 1);
    }
    Atomics.store(ctl, CONTROL.BUSY + slot, 0);
    ran++;
    if (Atomics.add(ctl, CONTROL.DONE, 1) + 1 === ctl[CONTROL.CHUNKS]) Atomics.notify(ctl, CONTROL.DONE);
  }
  return ran;
}

/** What a worker is sent once: the compiled build, the shared memory, where the control block is, its slot. */
export interface WorkerStart {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  slot: number;
}

/**
 * A worker's whole life: instantiate the build on the shared memory, say ready, then sleep on
 * EPOCH, run its share of each job with its own scratch (slot · stride past SCRATCH), until QUIT.
 * Runs in Node worker_threads (eval'd source, `require` available) and in Web Workers.
 */
function workerMain(): void {
  type Port = { postMessage(message: unknown): void };
  const g = globalThis as unknown as { require?: (id: string) => { parentPort: Port & { once(e: string, f: (m: unknown) => void): void } }; onmessage?: unknown; postMessage(m: unknown): void };
  const nodePort = typeof g.require === 'function' ? g.require('node:worker_threads').parentPort : undefined;
  const port: Port = nodePort ?? { postMessage: (m) => g.postMessage(m) };
  const start = async (message: WorkerStart): Promise<void> => {
    const { module, memory, control, slot } = message;
    let kernels: JobKernels;
    try {
      const fail = (): never => {
        throw new Error('wasm-attention: kernel abort in a worker');
      };
      const instance = await WebAssembly.instantiate(module, { env: { memory, abort: fail, trace: () => {}, seed: Date.now } });
      kernels = instance.exports as unknown as JobKernels;
    } catch (error) {
      port.postMessage({ type: 'error', message: String((error as Error)?.message ?? error) });
      return;
    }
    const ctl = new Int32Array(memory.buffer, control, CONTROL.INTS);
    Atomics.store(ctl, CONTROL.WORKERS + slot, WORKER_STATE.READY);
    port.postMessage({ type: 'ready' });
    let seen = Atomics.load(ctl, CONTROL.EPOCH);
    for (;;) {
      // Spin ~0.2 ms before sleeping: the next job of a model's forward pass usually comes within
      // that, and waking from Atomics.wait costs 20–50 µs here (measured on a 2-core VM).
      for (const until = performance.now() + 0.2; Atomics.load(ctl, CONTROL.EPOCH) === seen && performance.now() < until; );
      Atomics.wait(ctl, CONTROL.EPOCH, seen);
      seen = Atomics.load(ctl, CONTROL.EPOCH);
      if (Atomics.load(ctl, CONTROL.QUIT)) break;
      const scratch = ctl[CONTROL.SCRATCH]! + slot * ctl[CONTROL.SCRATCH_STRIDE]!;
      claimChunks(kernels, ctl, seen, slot, scratch);
    }
    Atomics.store(ctl, CONTROL.WORKERS + slot, WORKER_STATE.GONE);
  };
  if (nodePort) nodePort.once('message', (m) => void start(m as WorkerStart));
  else g.onmessage = (event: { data: WorkerStart }) => void start(event.data);
}

/** The worker's source: the control layout and the functions above, then `workerMain()`. */
export function workerSource(): string {
  return [
    '"use strict";',
    `const CONTROL = ${JSON.stringify(CONTROL)};`,
    `const WORKER_STATE = ${JSON.stringify(WORKER_STATE)};`,
    `const JOB = ${JSON.stringify(JOB)};`,
    runChunk.toString(),
    claimChunks.toString(),
    `(${workerMain.toString()})();`,
  ].join('\n');
}
