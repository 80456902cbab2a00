// Types of bench/date-trust-cases.mjs (for test/date-trust.test.ts).
/** An input and its true ISO date (null: the text denotes no single date). */
export interface TrustCase {
  text: string;
  truth: string | null;
  kind: string;
}
export const KNOWN_CASES: TrustCase[];
export function trustCases(options?: { inDistribution?: number; each?: number; seed?: number; alphabet?: readonly string[] }): TrustCase[];
interface Counts {
  right: { n: number; valid: number; confident: number; trusted: number };
  wrong: { n: number; invalid: number; unconfident: number; flagged: number; missed: number };
}
export function trustTable(
  cases: readonly TrustCase[],
  results: readonly { output: string; valid: boolean; confidence: number }[],
  threshold: number,
): Counts & { byKind: Record<string, Counts>; missed: { text: string; truth: string | null; output: string; confidence: number }[] };
