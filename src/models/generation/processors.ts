/**
 * Logits processors: each a small function that rewrites the next-token scores in place (float64,
 * `-Infinity` for a removed token), applied in the order transformers' generate() applies its own:
 *
 *   1. logitBias          (transformers' sequence_bias, which it applies first; OpenAI's logit_bias)
 *   2. repetitionPenalty  (transformers' RepetitionPenaltyLogitsProcessor)
 *   3. frequencyPenalty, presencePenalty (OpenAI's; not in transformers: placed with the penalties)
 *   — sampling only (temperature > 0); greedy decoding stops here and takes the argmax —
 *   4. temperature        (TemperatureLogitsWarper)
 *   5. topK               (TopKLogitsWarper)
 *   6. topP               (TopPLogitsWarper)
 *   7. minP               (MinPLogitsWarper)
 *
 * A processor whose option is at its neutral value (bias {}, penalty 1, penalties 0, temperature 1,
 * topK 0, topP 1, minP 0) is left out of the chain, as transformers leaves it out.
 */
import type { ResolvedOptions } from './options.js';

/** What the processors see besides the scores. */
export interface ProcessorContext {
  /** Every id of the sequence so far: the prompt (the whole conversation in a chat session) and the generated ids. */
  readonly seen: ReadonlySet<number>;
  /** How often each id was generated in this call. */
  readonly counts: ReadonlyMap<number, number>;
}

export type LogitsProcessor = (scores: Float64Array, context: ProcessorContext) => void;

export interface NamedProcessor {
  name: string;
  apply: LogitsProcessor;
}

/** Adds each bias to its id's score. */
export function logitBiasProcessor(bias: readonly (readonly [number, number])[]): LogitsProcessor {
  return (scores) => {
    for (const [id, b] of bias) scores[id]! += b;
  };
}

/**
 * transformers' repetition penalty (Keskar et al., CTRL): for each id seen in the prompt or the
 * output, once, a positive score is divided by the penalty and a negative one multiplied by it.
 */
export function repetitionPenaltyProcessor(penalty: number): LogitsProcessor {
  return (scores, { seen }) => {
    for (const id of seen) {
      const s = scores[id]!;
      scores[id] = s < 0 ? s * penalty : s / penalty;
    }
  };
}

/**
 * OpenAI's penalties over the generated ids: score −= count × frequency + (count > 0) × presence.
 */
export function frequencyPresenceProcessor(frequency: number, presence: number): LogitsProcessor {
  return (scores, { counts }) => {
    for (const [id, count] of counts) scores[id]! -= count * frequency + presence;
  };
}

/** Divides every score by the temperature. */
export function temperatureProcessor(temperature: number): LogitsProcessor {
  return (scores) => {
    for (let i = 0; i < scores.length; i++) scores[i]! /= temperature;
  };
}

/** The k-th largest score (1 ≤ k ≤ n), by a min-heap of the k largest. */
export function kthLargest(scores: Float64Array, k: number): number {
  const heap = new Float64Array(k);
  let size = 0;
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && heap[l]! < heap[m]!) m = l;
      if (r < size && heap[r]! < heap[m]!) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let j = 0; j < scores.length; j++) {
    const v = scores[j]!;
    if (size < k) {
      let i = size++;
      heap[i] = v;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heap[p]! <= heap[i]!) break;
        [heap[i], heap[p]] = [heap[p]!, heap[i]!];
        i = p;
      }
    } else if (v > heap[0]!) {
      heap[0] = v;
      down(0);
    }
  }
  return heap[0]!;
}

/** Keeps the ids whose score is at least the k-th largest (ties with it kept, as transformers' topk mask does). */
export function topKProcessor(k: number): LogitsProcessor {
  return (scores) => {
    if (k >= scores.length) return;
    const threshold = kthLargest(scores, k);
    for (let i = 0; i < scores.length; i++) if (scores[i]! < threshold) scores[i] = -Infinity;
  };
}

/** softmax of the scores, in float64 (zero where a score is -Infinity). */
export function softmax(scores: Float64Array): Float64Array {
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  const p = new Float64Array(scores.length);
  if (max === -Infinity) return p;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += p[i] = Math.exp(scores[i]! - max);
  for (let i = 0; i < p.length; i++) p[i]! /= sum;
  return p;
}

/**
 * Nucleus sampling as transformers does it: sort the scores ascending (ties by id), accumulate their
 * probabilities, and remove every id whose cumulative probability is ≤ 1 − topP; the most likely id
 * always stays. What is kept is the smallest set of the most likely ids whose probabilities add up to
 * at least topP.
 */
export function topPProcessor(topP: number): LogitsProcessor {
  return (scores) => {
    const probs = softmax(scores);
    const live: number[] = [];
    for (let i = 0; i < scores.length; i++) if (scores[i]! > -Infinity) live.push(i);
    live.sort((a, b) => scores[a]! - scores[b]! || a - b);
    let cumulative = 0;
    for (let j = 0; j < live.length - 1; j++) {
      const id = live[j]!;
      cumulative += probs[id]!;
      if (cumulative <= 1 - topP) scores[id] = -Infinity;
      else break;
    }
  };
}

/** Removes ids whose probability is below minP × the largest probability (Nguyen et al., min-p sampling). */
export function minPProcessor(minP: number): LogitsProcessor {
  return (scores) => {
    const probs = softmax(scores);
    let top = 0;
    for (const p of probs) if (p > top) top = p;
    const threshold = minP * top;
    for (let i = 0; i < scores.length; i++) if (probs[i]! < threshold) scores[i] = -Infinity;
  };
}

/** The chain for these options, in the order above; the sampling warpers only when sampling. */
export function buildProcessors(o: ResolvedOptions): NamedProcessor[] {
  const chain: NamedProcessor[] = [];
  if (o.logitBias.length > 0) chain.push({ name: 'logitBias', apply: logitBiasProcessor(o.logitBias) });
  if (o.repetitionPenalty !== 1) chain.push({ name: 'repetitionPenalty', apply: repetitionPenaltyProcessor(o.repetitionPenalty) });
  if (o.frequencyPenalty !== 0 || o.presencePenalty !== 0) {
    chain.push({ name: 'frequencyPresencePenalty', apply: frequencyPresenceProcessor(o.frequencyPenalty, o.presencePenalty) });
  }
  if (o.temperature > 0) {
    if (o.temperature !== 1) chain.push({ name: 'temperature', apply: temperatureProcessor(o.temperature) });
    if (o.topK > 0) chain.push({ name: 'topK', apply: topKProcessor(o.topK) });
    if (o.topP < 1) chain.push({ name: 'topP', apply: topPProcessor(o.topP) });
    if (o.minP > 0) chain.push({ name: 'minP', apply: minPProcessor(o.minP) });
  }
  return chain;
}
