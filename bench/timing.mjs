// One timed slice of one contender with tinybench: at least `time` ms and one iteration, after an
// optional warmup (at least `warmupTime` ms and one iteration; V8 tiers Wasm up from Liftoff to
// TurboFan in the first ~250 ms). Returns the latency samples in ms. The runner calls this in
// rounds, contender after contender, so machine drift lands on every contender alike.
import { Bench } from 'tinybench';

export async function timeSlice(run, { time, warmupTime = 0, async = false }) {
  const bench = new Bench({
    time,
    iterations: 1,
    warmup: warmupTime > 0,
    warmupTime,
    warmupIterations: 1,
    retainSamples: true,
    throws: true,
  });
  bench.add('slice', run, { async });
  await bench.run();
  const task = bench.tasks[0];
  if (task.result?.error) throw task.result.error;
  return [...(task.result?.latency?.samples ?? [])];
}
