// The child process of ort-lm.mjs's ortLmRemote: one onnxruntime contender, driven over IPC.
import { ortLmContender } from './ort-lm.mjs';
import { SHAPES, halfToFloat, tensorHalf, tensorList } from '../lm-weights.mjs';

let contender;
process.on('message', async (m) => {
  try {
    let result;
    if (m.op === 'open') {
      const config = SHAPES[m.workload];
      const list = new Map(tensorList(config).map((t) => [t.name, t]));
      contender = ortLmContender({ peersDir: m.peersDir, flavor: m.flavor, threads: m.threads, dtype: m.dtype, config, weight: (n) => halfToFloat(tensorHalf(list.get(n))) });
      result = await contender.open();
      result.version = contender.version;
    } else if (m.op === 'run') result = await contender.run(m.job);
    else if (m.op === 'close') result = await contender?.close();
    process.send({ id: m.id, result });
  } catch (error) {
    process.send({ id: m.id, error: String(error?.message ?? error) });
  }
});
