// A peer hosted in a child process (for settings that are fixed once per process, like
// onnxruntime-web's thread count). The child rebuilds the workload's inputs from its id (they are
// deterministic), prepares the peer, and times slices when asked, so the parent can interleave it
// with the contenders it runs itself. Messages: prepare, result, slice, dispose → { ok, value | error }.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./remote-child.mjs', import.meta.url));

export function remoteContender(spec, dir, version) {
  let child = null;
  let seq = 0;
  const pending = new Map();
  const call = (msg) =>
    new Promise((resolve, reject) => {
      if (!child) {
        child = fork(CHILD, [], { execArgv: process.execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
        child.on('message', ({ id, ok, value, error, unsupported }) => {
          const p = pending.get(id);
          pending.delete(id);
          if (ok) p.resolve(value);
          else p.reject(Object.assign(new Error(error), { unsupported }));
        });
        child.on('exit', (code) => {
          for (const p of pending.values()) p.reject(new Error(`peer process exited (${code}): ${stderr.trim().split('\n').at(-1) ?? ''}`));
          pending.clear();
          child = null;
        });
        child.unref();
        child.channel?.unref();
      }
      const id = ++seq;
      pending.set(id, { resolve, reject });
      child.ref();
      child.channel?.ref();
      child.send({ id, spec, dir, ...msg });
    }).finally(() => {
      if (pending.size === 0 && child) (child.unref(), child.channel?.unref());
    });
  return {
    id: spec.id,
    label: spec.label,
    group: 'peer',
    threads: spec.threads,
    status: 'ok',
    version: `onnxruntime-${spec.flavor} ${version} (in a child process)`,
    async prepare(w, _inputs, { tiny = false } = {}) {
      let prepared;
      try {
        prepared = await call({ cmd: 'prepare', workload: w.id, tiny });
      } catch (error) {
        if (error.unsupported) {
          const { Unsupported } = await import('../errors.mjs');
          throw new Unsupported(error.message);
        }
        throw error;
      }
      return {
        remote: true,
        note: prepared?.note,
        result: () => call({ cmd: 'result' }),
        slice: (options) => call({ cmd: 'slice', options }),
        dispose: () => call({ cmd: 'dispose' }),
      };
    },
    close: () => child?.kill(),
  };
}
