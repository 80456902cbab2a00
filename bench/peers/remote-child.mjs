// The child side of ./remote.mjs: one peer, one prepared workload at a time.
import { Unsupported } from '../errors.mjs';
import { timeSlice } from '../timing.mjs';
import { quickWorkloads, workloads } from '../workloads.mjs';
import { makePeer } from './index.mjs';

let peer = null;
let prepared = null;
process.on('message', async ({ id, spec, dir, cmd, workload, tiny, options }) => {
  try {
    peer ??= await makePeer(spec, dir);
    let value;
    if (cmd === 'prepare') {
      await prepared?.dispose?.();
      const w = [...workloads({ tiny }), ...quickWorkloads({ tiny })].find((x) => x.id === workload);
      prepared = await peer.prepare(w, w.makeInputs());
      value = { note: prepared.note };
    } else if (cmd === 'result') value = await prepared.result();
    else if (cmd === 'slice') value = await timeSlice(prepared.run, { ...options, async: prepared.async });
    else if (cmd === 'dispose') (await prepared?.dispose?.(), (prepared = null));
    process.send({ id, ok: true, value });
  } catch (error) {
    process.send({ id, ok: false, error: String(error?.message ?? error), unsupported: error instanceof Unsupported });
  }
});
