/**
 * Giving the event loop a turn between tokens, so a page keeps painting and answering input and a
 * server keeps serving while a model generates. The cheapest way the platform offers that lets
 * timers run too: `setImmediate` (Node, Bun, Deno), a MessageChannel message (browsers: not clamped
 * to 4 ms as nested `setTimeout(0)` is), else `setTimeout(0)`.
 *
 * Not `scheduler.yield()`: its continuations outrank timers, and in Chromium a `setTimeout(0)` never
 * fired while a loop yielded that way. Not MessageChannel in Node: Node drains a port's messages in
 * one go, starving timers. test/generation-browser.test.ts checks the MessageChannel path in Chromium.
 */

type Yielder = { next(): Promise<void>; close(): void };

export function createYielder(): Yielder {
  const g = globalThis as unknown as { setImmediate?: (f: () => void) => unknown; MessageChannel?: typeof MessageChannel };
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
