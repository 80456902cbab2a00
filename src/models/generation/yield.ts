/**
 * Giving the event loop a turn between tokens, so a page keeps painting and answering input and a
 * server keeps serving while a model generates. The cheapest way the platform offers:
 * `scheduler.yield()` (Chromium), `setImmediate` (Node, Bun, Deno), a MessageChannel message
 * (browsers: not clamped to 4 ms as nested `setTimeout(0)` is), else `setTimeout(0)`.
 */

type Yielder = { next(): Promise<void>; close(): void };

interface SchedulerLike {
  yield?: () => Promise<void>;
}

export function createYielder(): Yielder {
  const g = globalThis as unknown as { scheduler?: SchedulerLike; setImmediate?: (f: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (typeof g.scheduler?.yield === 'function') {
    const scheduler = g.scheduler;
    return { next: () => scheduler.yield!(), close() {} };
  }
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate;
    return { next: () => new Promise<void>((resolve) => void setImmediate(resolve)), close() {} };
  }
  if (typeof g.MessageChannel === 'function') {
    const channel = new g.MessageChannel();
    const waiting: (() => void)[] = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    return {
      next: () =>
        new Promise<void>((resolve) => {
          waiting.push(resolve);
          channel.port2.postMessage(null);
        }),
      close: () => {
        channel.port1.close();
        channel.port2.close();
      },
    };
  }
  return { next: () => new Promise<void>((resolve) => setTimeout(resolve, 0)), close() {} };
}
