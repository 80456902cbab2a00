/**
 * Picking the next id from processed scores: the argmax (greedy), or a draw from their softmax with
 * a seeded generator. A draw uses exactly one number of the generator per token and walks the ids in
 * order, so the same seed and the same scores give the same ids on every machine.
 */
import { softmax } from './processors.js';

/**
 * A seeded generator of numbers in [0, 1): mulberry32 over a 32-bit state (the seed modulo 2^32),
 * each value a multiple of 2^-32. Small and fast; not for cryptography.
 */
export function seededRandom(seed: number): () => number {
  let s = Number(BigInt.asUintN(32, BigInt(seed)));
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for a call that passed none. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296);
}

/** The first id of the largest score; NaN scores are an error (a broken model), as is a fully masked row. */
export function argmax(scores: Float64Array): number {
  let best = -1;
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (Number.isNaN(s)) throw new Error(`generate: the model's logits hold NaN (token id ${i})`);
    if (s > max) {
      max = s;
      best = i;
    }
  }
  if (best < 0) throw new Error('generate: every token was removed (all scores -Infinity): does logitBias ban them all?');
  return best;
}

/** The id where the cumulative probability (ids in order) first exceeds u ∈ [0, 1). */
export function sample(scores: Float64Array, u: number): number {
  argmax(scores); // the same checks: no NaN, something left
  const probs = softmax(scores);
  let total = 0;
  for (const p of probs) total += p;
  const target = u * total;
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (p === 0) continue;
    cumulative += p;
    last = i;
    if (cumulative > target) return i;
  }
  return last; // rounding left the target at the very top
}
