/**
 * What the platform offers for threads: its core count, whether shared memory is allowed, and a
 * way to start a worker running `workerSource()` (Node: worker_threads with eval'd source, unref'd
 * so a process that disposed its runtime exits; browsers: a Web Worker from a Blob URL). No Node
 * builtin is imported statically, so browser bundles never see one.
 */
import { workerSource } from './job.js';

/** A started worker, seen the same way on every platform. */
export interface WorkerHandle {
  post(message: unknown): void;
  /** Called once with the worker's first message, or { type: 'failed', message } when it could not start. */
  onMessage(listener: (message: { type: string; message?: string }) => void): void;
  /** Called once when the worker ends (exit, terminate, uncaught error). */
  onExit(listener: (why: string) => void): void;
  terminate(): void;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** Why threads cannot be used here, or undefined when they can. */
export function threadsUnavailable(): string | undefined {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
    if (!isNode && typeof crossOriginIsolated !== 'undefined' && !crossOriginIsolated) {
      return (
        'this page is not cross-origin isolated, so the browser withholds SharedArrayBuffer; serve the page with the headers ' +
        "'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp' (or 'credentialless')"
      );
    }
    return 'this JavaScript engine has no SharedArrayBuffer / Atomics (shared Wasm memory)';
  }
  if (!isNode && typeof Worker === 'undefined') return 'this environment has no Web Workers';
  return undefined;
}

/** The cores the platform reports, and which API said so. */
export async function reportedCores(): Promise<{ cores: number; source: string }> {
  if (isNode) {
    const osName = 'node:os';
    const os = (await import(/* @vite-ignore */ /* webpackIgnore: true */ osName)) as { availableParallelism?(): number; cpus(): unknown[] };
    return typeof os.availableParallelism === 'function'
      ? { cores: os.availableParallelism(), source: 'os.availableParallelism()' }
      : { cores: os.cpus().length, source: 'os.cpus()' };
  }
  const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency : undefined;
  return { cores: cores && cores > 0 ? cores : 1, source: 'navigator.hardwareConcurrency' };
}

/** Whether this thread may block in Atomics.wait (not on a browser's main thread). */
export function canBlock(probe: Int32Array): boolean {
  try {
    Atomics.wait(probe, 0, probe[0]! + 1, 0); // returns 'not-equal' at once where waiting is allowed
    return true;
  } catch {
    return false;
  }
}

interface NodeWorker {
  postMessage(m: unknown): void;
  once(event: string, f: (x: unknown) => void): void;
  on(event: string, f: (x: unknown) => void): void;
  terminate(): Promise<number>;
  unref(): void;
}

/** Starts one worker running the kernels' worker loop. */
export async function spawnWorker(): Promise<WorkerHandle> {
  if (isNode) {
    const name = 'node:worker_threads';
    const { Worker: NodeWorkerClass } = (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as {
      Worker: new (source: string, options: { eval: true; name?: string; execArgv: string[] }) => NodeWorker;
    };
    // execArgv []: the source is a CommonJS script even when the process runs with --input-type=module
    // (V8 flags such as --experimental-wasm-relaxed-simd are process-wide and still apply).
    const worker = new NodeWorkerClass(workerSource(), { eval: true, name: 'wasm-attention', execArgv: [] });
    worker.unref();
    let exitListener: ((why: string) => void) | undefined;
    let ended = false;
    const end = (why: string): void => {
      if (ended) return;
      ended = true;
      exitListener?.(why);
    };
    worker.on('error', (e) => end(`it threw: ${(e as Error)?.message ?? e}`));
    worker.on('exit', (code) => end(`it exited with code ${code}`));
    return {
      post: (m) => worker.postMessage(m),
      onMessage: (f) => worker.once('message', f as (x: unknown) => void),
      onExit: (f) => (exitListener = f),
      terminate: () => void worker.terminate(),
    };
  }
  const url = URL.createObjectURL(new Blob([workerSource()], { type: 'text/javascript' }));
  let messageListener: ((m: { type: string; message?: string }) => void) | undefined;
  let exitListener: ((why: string) => void) | undefined;
  // A Content-Security-Policy that does not allow blob: workers: Chromium constructs the Worker,
  // reports a 'securitypolicyviolation' and then fires a bare 'error' Event (no message). The
  // violation names the directive, so the reason can say what to change.
  let blocked: string | undefined;
  const scope = globalThis as unknown as Partial<Pick<EventTarget, 'addEventListener' | 'removeEventListener'>>;
  const onViolation = (e: Event): void => {
    const v = e as Event & { blockedURI?: string; effectiveDirective?: string; originalPolicy?: string };
    if (!/^(worker|child|script|default)-src$/.test(v.effectiveDirective ?? '') || !/^blob(:|$)/.test(v.blockedURI ?? '')) return;
    blocked =
      `the page's Content-Security-Policy blocks blob: workers (directive ${v.effectiveDirective} of "${v.originalPolicy ?? '?'}"); ` +
      `allow blob: in worker-src to use threads`;
    // Should no error event follow (it does in Chromium), fail the start soon rather than after its timeout.
    setTimeout(() => messageListener && fail(`the browser did not start a worker: ${blocked}`), 1_000);
  };
  const stopWatching = (): void => scope.removeEventListener?.('securitypolicyviolation', onViolation);
  scope.addEventListener?.('securitypolicyviolation', onViolation);
  /** A start failure: the pending start hears it once, then the exit listener. */
  const fail = (why: string): void => {
    stopWatching();
    if (messageListener) {
      const f = messageListener;
      messageListener = undefined;
      f({ type: 'failed', message: why });
    }
    exitListener?.(why);
  };
  let worker: Worker;
  try {
    worker = new Worker(url, { name: 'wasm-attention' });
  } catch (error) {
    stopWatching();
    throw new Error(`the browser did not start a worker: ${blocked ?? (error as Error)?.message ?? error}`);
  } finally {
    // The worker has fetched its source once constructed; the Blob URL is not needed again.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  worker.onmessage = (event) => {
    stopWatching();
    const f = messageListener;
    messageListener = undefined;
    f?.(event.data);
  };
  worker.onerror = (event) => {
    event.preventDefault?.();
    const message = (event as Partial<ErrorEvent>).message;
    fail(
      message
        ? `a worker failed: ${message}`
        : `the browser did not start a worker: ${blocked ?? 'it gave no reason (a Content-Security-Policy whose worker-src does not allow blob:?)'}`,
    );
  };
  return {
    post: (m) => worker.postMessage(m),
    onMessage: (f) => (messageListener = f),
    onExit: (f) => (exitListener = f),
    terminate: () => worker.terminate(),
  };
}
