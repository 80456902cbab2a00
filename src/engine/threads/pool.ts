/**
 * The calling thread's side of the threads: starts the workers, publishes jobs on the control
 * block, works on them too, and waits (bounded) for the chunks other threads claimed.
 *
 * Faults: a worker that ends between calls is replaced (its 'exit' arrives on the event loop);
 * one that ends during a call leaves a claimed chunk unfinished, which the bounded wait notices:
 * the call throws, the worker is terminated and replaced, and the next call is whole again (no
 * claim is bound to a thread, so fewer threads only means more chunks for the others).
 */
import { CONTROL, JOB, WORKER_STATE, claimChunks, type JobKernels, type WorkerStart } from './job.js';
import { canBlock, spawnWorker, type WorkerHandle } from './platform.js';

export { JOB };

/** How long a worker may take to instantiate the build before threads are given up. */
const START_TIMEOUT_MS = 20_000;
/** The least time the calling thread waits for other threads' chunks before it calls them lost. */
const MIN_WAIT_MS = 2_000;
/** The longest the calling thread spins for the other threads' chunks before it sleeps. */
const SPIN_MS = 0.2;

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

interface Slot {
  handle: WorkerHandle | undefined;
  /** A replacement is starting (asynchronously). */
  restarting: boolean;
}

export class ThreadPool {
  private ctl: Int32Array;
  private readonly slots: Slot[];
  private readonly blocking: boolean;
  private closed = false;
  /** Replacements started after a worker was lost (for tests and the note in errors). */
  replaced = 0;
  /** @internal test hook: runs on the calling thread after its first chunk of each job. */
  afterFirstChunk: (() => void) | undefined;

  private constructor(
    private kernels: JobKernels,
    private start: Omit<WorkerStart, 'slot'>,
    /** Threads in use, the calling one included. */
    readonly threads: number,
  ) {
    this.ctl = new Int32Array(start.memory.buffer, start.control, CONTROL.INTS);
    this.slots = Array.from({ length: threads }, () => ({ handle: undefined, restarting: false }));
    this.blocking = canBlock(this.ctl);
  }

  /**
   * Starts `threads − 1` workers on `memory` (the control block at `control`, zeroed). Rejects with
   * the reason when one cannot start; the workers already started are ended.
   */
  static async create(kernels: JobKernels, start: Omit<WorkerStart, 'slot'>, threads: number): Promise<ThreadPool> {
    const pool = new ThreadPool(kernels, start, threads);
    try {
      await Promise.all(pool.slots.map((_, slot) => (slot === 0 ? undefined : pool.startWorker(slot))));
    } catch (error) {
      pool.dispose();
      throw error;
    }
    return pool;
  }

  /** Whether the calling thread blocks in Atomics.wait (false: a browser main thread, which spins). */
  get blocks(): boolean {
    return this.blocking;
  }

  /** @internal the workers' handles (tests kill one mid-call). */
  get handles(): (WorkerHandle | undefined)[] {
    return this.slots.slice(1).map((s) => s.handle);
  }

  private async startWorker(slot: number): Promise<void> {
    if (this.closed) return;
    Atomics.store(this.ctl, CONTROL.WORKERS + slot, WORKER_STATE.STARTING);
    Atomics.store(this.ctl, CONTROL.BUSY + slot, 0);
    const handle = await spawnWorker();
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`a worker did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      handle.onMessage((m) => {
        clearTimeout(timer);
        if (m.type === 'ready') resolve();
        else if (m.type === 'failed') reject(new Error(m.message));
        else reject(new Error(`a worker could not instantiate the kernels: ${m.message}`));
      });
      handle.onExit((why) => {
        clearTimeout(timer);
        reject(new Error(`a worker ended while starting: ${why}`));
      });
    });
    handle.post({ ...this.start, slot } satisfies WorkerStart);
    try {
      await ready;
    } catch (error) {
      handle.terminate();
      throw error;
    }
    this.slots[slot]!.handle = handle;
    // From now on an exit is a loss: replace the worker (jobs meanwhile run on the others).
    handle.onExit(() => this.lost(slot, handle));
  }

  private lost(slot: number, handle: WorkerHandle): void {
    const s = this.slots[slot]!;
    if (s.handle !== handle) return;
    s.handle = undefined;
    Atomics.store(this.ctl, CONTROL.WORKERS + slot, WORKER_STATE.GONE);
    handle.terminate();
    if (this.closed || s.restarting) return;
    s.restarting = true;
    this.replaced++;
    this.startWorker(slot)
      .catch(() => {
        // The slot stays empty: its chunks go to the other threads.
      })
      .finally(() => {
        s.restarting = false;
        if (this.closed) s.handle?.terminate();
      });
  }

  /**
   * Runs `chunks` chunks of a job on every thread: `fields` are written at their CONTROL slots,
   * `scratch` + slot · `stride` is each thread's scratch. Returns when every chunk is done.
   */
  run(kind: number, chunks: number, perChunk: number, total: number, args: ArrayLike<number>, scratch: number, stride: number): void {
    if (this.closed) throw new Error('wasm-attention: this runtime was disposed; call init() for a new one');
    const ctl = this.ctl;
    const epoch = (ctl[CONTROL.EPOCH]! + 1) | 0;
    // First end every claim on the last job: a thread still in its claim loop reads CHUNKS after
    // NEXT, and must not see this job's CHUNKS next to the last job's exhausted NEXT.
    Atomics.store(ctl, CONTROL.NEXT, (epoch & 0xfffff) << 12);
    ctl[CONTROL.KIND] = kind;
    ctl[CONTROL.CHUNKS] = chunks;
    ctl[CONTROL.PER_CHUNK] = perChunk;
    ctl[CONTROL.TOTAL] = total;
    ctl[CONTROL.SCRATCH] = scratch;
    ctl[CONTROL.SCRATCH_STRIDE] = stride;
    for (let i = 0; i < args.length; i++) ctl[CONTROL.ARGS + i] = args[i]!;
    ctl[CONTROL.DONE] = 0;
    ctl[CONTROL.FAULT] = 0;
    // Claims of this job need its epoch, which threads read only after the fields are written.
    Atomics.store(ctl, CONTROL.EPOCH, epoch);
    Atomics.notify(ctl, CONTROL.EPOCH);

    const t0 = now();
    let ran = claimChunks(this.kernels, ctl, epoch, 0, scratch, 1);
    if (ran > 0 && this.afterFirstChunk) this.afterFirstChunk();
    ran += claimChunks(this.kernels, ctl, epoch, 0, scratch);
    const t1 = now();
    // Another thread's chunk costs about what ours did; allow a hundredfold for a busy machine.
    const bound = Math.max(MIN_WAIT_MS, ran > 0 ? (100 * (t1 - t0)) / ran : 0);
    // The other chunks usually end within about one chunk's time: spin that long (at most
    // SPIN_MS) before sleeping, since waking from Atomics.wait costs 20–50 µs here, as much as a
    // decode step's whole product.
    const spinUntil = t1 + Math.min(SPIN_MS, ran > 0 ? (2 * (t1 - t0)) / ran : SPIN_MS);
    while (Atomics.load(ctl, CONTROL.DONE) < chunks && now() < spinUntil);
    for (;;) {
      const done = Atomics.load(ctl, CONTROL.DONE);
      if (done >= chunks) break;
      const waited = now() - t1;
      if (waited > bound) this.abandon(epoch, chunks - done, waited);
      if (this.blocking) Atomics.wait(ctl, CONTROL.DONE, done, Math.min(50, bound - waited + 1));
    }
    if (Atomics.load(ctl, CONTROL.FAULT)) throw new Error('wasm-attention: a kernel failed in a worker thread during this call; its output is incomplete');
  }

  /** Ends the job whose chunks never finished: the threads that held them are replaced; the call throws. */
  private abandon(epoch: number, missing: number, waited: number): never {
    // Nobody can claim any more of this job, and late finishers of it only touch its own output.
    Atomics.store(this.ctl, CONTROL.NEXT, ((epoch + 1) & 0xfffff) << 12);
    for (let slot = 1; slot < this.slots.length; slot++) {
      const s = this.slots[slot]!;
      if (Atomics.load(this.ctl, CONTROL.BUSY + slot) !== 0 && s.handle) this.lost(slot, s.handle);
    }
    throw new Error(
      `wasm-attention: ${missing} part${missing === 1 ? '' : 's'} of this call did not finish on a worker thread within ${Math.round(waited)} ms ` +
        `(the worker stopped or was killed); the call's output is incomplete. The worker is being replaced; later calls are unaffected.`,
    );
  }

  /** Ends every worker (idempotent). */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, CONTROL.QUIT, 1);
    Atomics.add(this.ctl, CONTROL.EPOCH, 1);
    Atomics.notify(this.ctl, CONTROL.EPOCH);
    for (const s of this.slots) s.handle?.terminate();
    // Let go of the module and the memory so both can be collected.
    this.ctl = new Int32Array(CONTROL.INTS);
    this.kernels = undefined as unknown as JobKernels;
    this.start = undefined as unknown as Omit<WorkerStart, 'slot'>;
  }
}
