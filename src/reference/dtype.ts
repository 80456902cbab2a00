/**
 * Weight dtypes, shared by the runtime and the twins: the one check of a `dtype` option
 * (loadModel, every module constructor, the date normaliser, and their twins), and the float64
 * replicas of what the runtime does to a Linear layer held in Q8 or Q4 (src/engine/quantized.ts):
 *
 *   weight rows, per block of 32 inputs:
 *     Q8: d = fround(max|w|/127), q = round-half-even(fround(w/d)) ∈ [−127, 127], w ≈ d·q
 *     Q4: d = fround(m/−8) (m the first input of largest magnitude), id = fround(1/d),
 *         q = min(15, trunc(fround(fround(w·id) + 8.5))) ∈ [0, 15], w ≈ d·(q − 8); Linear weights
 *         (not the embedding tables and output heads) take instead the d = fround(m/c), c in −8,
 *         −7.8, …, −7, of least f32 squared error Σ (w − d·(q − 8))² (the first on a tie)
 *   the input rows x of the product are rounded per block of 32 too, from their float32 values:
 *   for Q8 weights to 13-bit integers (d = fround(max|x|/4095), q ∈ [−4095, 4095]), for Q4 weights
 *   as Q8 (d = fround(max|x|/127)); so y = Σ_blocks d_x·d_w·Σ q_x·q_w + b.
 *
 * A matrix whose input width is not a multiple of 32 stays f32, and its inputs are not rounded.
 * F16 and BF16 hold every weight rounded to the nearest 16-bit float (ties to even, as PyTorch's
 * .half() / .bfloat16()), whatever its width; the kernels convert them to f32 exactly and the
 * inputs are not rounded.
 * The twins apply `weightAs` to each Linear weight and `roundInput` to each input row of a
 * quantized product, then compute in float64 as they do for f32.
 */
import { describe } from './check.js';
import { halfToNumber, numberToHalf } from './ops/half.js';

/** The weight dtypes a module or model can be made with. */
export type WeightDtype = 'f32' | 'q8' | 'q4' | 'f16' | 'bf16';
/** What a `dtype` option accepts: 'fp32' is another name for 'f32', 'fp16' for 'f16'. */
export type DtypeOption = WeightDtype | 'fp32' | 'fp16';

/** Inputs per block of a Q8 / Q4 row (one scale each). */
export const QUANT_BLOCK = 32;

/** Each accepted spelling of a `dtype` option → the dtype it names, the canonical spelling first. */
const SPELLINGS: Readonly<Record<string, WeightDtype>> = { f32: 'f32', fp32: 'f32', f16: 'f16', fp16: 'f16', bf16: 'bf16', q8: 'q8', q4: 'q4' };

/** Every weight dtype, in its canonical spelling. */
export const WEIGHT_DTYPES: readonly WeightDtype[] = [...new Set(Object.values(SPELLINGS))];

/** Dtypes that are known but not computed by this version: named as such in the error. */
const NOT_YET = ['q4f16', 'int8', 'uint8', 'bnb4'];

/** The accepted values for messages: "'f32' (or 'fp32'), 'q8' or 'q4'". */
function accepted(): string {
  const names = new Map<WeightDtype, string[]>();
  for (const [spelling, dtype] of Object.entries(SPELLINGS)) names.set(dtype, [...(names.get(dtype) ?? []), spelling]);
  const each = [...names.values()].map(([first, ...others]) => `'${first}'${others.length ? ` (or ${others.map((o) => `'${o}'`).join(', ')})` : ''}`);
  return `${each.slice(0, -1).join(', ')} or ${each.at(-1)}`;
}

/**
 * A `dtype` option → the weight dtype ('f32' when undefined). A known dtype this version does not
 * compute (q4f16, int8, …) is an Error saying so; anything else a TypeError naming the option and
 * the accepted values. `where` names the caller, `name` the option (e.g. 'options.dtype').
 */
export function checkWeightDtype(where: string, name: string, value: unknown): WeightDtype {
  if (value === undefined) return 'f32';
  if (typeof value === 'string' && Object.hasOwn(SPELLINGS, value)) return SPELLINGS[value]!;
  const canonical = WEIGHT_DTYPES.map((d) => `'${d}'`);
  if (typeof value === 'string' && NOT_YET.includes(value)) throw new Error(`${where}: ${name} '${value}' is not supported yet; use ${canonical.slice(0, -1).join(', ')} or ${canonical.at(-1)}`);
  throw new TypeError(`${where}: ${name} must be ${accepted()}, received ${describe(value)}`);
}

/** Whether a Linear weight [·, cols] is held quantized, Q8 or Q4 (cols a multiple of 32), so that the product rounds its inputs. */
export function isQuantized(cols: number, dtype: WeightDtype): boolean {
  return (dtype === 'q8' || dtype === 'q4') && cols % QUANT_BLOCK === 0;
}

/** Is this a 16-bit float dtype ('f16' or 'bf16')? */
export function isHalfDtype(dtype: WeightDtype): dtype is 'f16' | 'bf16' {
  return dtype === 'f16' || dtype === 'bf16';
}

/** The dtype a Linear weight [·, cols] is held in: `dtype`, except f32 for Q8 / Q4 when cols is not a multiple of 32. */
export function heldDtype(cols: number, dtype: WeightDtype): WeightDtype {
  return isHalfDtype(dtype) || isQuantized(cols, dtype) ? dtype : 'f32';
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : r;
}

/** One block of 32 values (from `at`) rounded to integers in [−levels, levels] and back (Q8: levels 127): d·q in float64 (NaN for a block holding NaN or ±∞). */
function q8Block(x: ArrayLike<number>, at: number, out: Float64Array, to: number, levels = 127): void {
  let amax = 0;
  for (let i = 0; i < QUANT_BLOCK; i++) {
    const a = Math.abs(Math.fround(x[at + i]!));
    amax = Number.isNaN(a) || Number.isNaN(amax) ? NaN : Math.max(amax, a);
  }
  const d = Math.fround(amax / levels);
  for (let i = 0; i < QUANT_BLOCK; i++) {
    if (d === 0) out[to + i] = 0;
    else if (!(d < Infinity)) out[to + i] = NaN;
    else out[to + i] = d * (Math.max(-levels, Math.min(levels, roundHalfEven(Math.fround(Math.fround(x[at + i]!) / d)))) + 0); // q an integer: +0, not −0
  }
}

/** ggml's 4-bit value of x for id = 1/d, as f32 arithmetic: min(15, trunc(fround(fround(x·id) + 8.5))), 0 below 0. */
function nibble(x: number, id: number): number {
  const t = Math.fround(Math.fround(x * id) + 8.5);
  return t >= 15 ? 15 : t > 0 ? Math.trunc(t) : 0;
}

/** The divisors c of the Q4 scale search of Linear weights, d = fround(mx/c) (assembly/gemm/q4.ts). */
const Q4_SEARCH_DIVISORS = [-8, -7.8, -7.6, -7.4, -7.2, -7].map(Math.fround);

/** Σ (x − d·(q − 8))² of one block in f32, lane l over i ≡ l (mod 4), then (l0 + l2) + (l1 + l3): the kernel's order. */
function q4BlockError(x: ArrayLike<number>, at: number, d: number): number {
  const f = Math.fround, id = f(1 / d), lanes = [0, 0, 0, 0];
  for (let i = 0; i < QUANT_BLOCK; i++) {
    const v = f(x[at + i]!), e = f(v - f(d * (nibble(v, id) - 8)));
    lanes[i % 4] = f(lanes[i % 4]! + f(e * e));
  }
  return f(f(lanes[0]! + lanes[2]!) + f(lanes[1]! + lanes[3]!));
}

/**
 * One block rounded to Q4 and back: d·(q − 8) in float64 (ggml's quantize_row_q4_0_ref with an f32
 * scale; `search`: the scale of least squared error among mx/c, c in Q4_SEARCH_DIVISORS, the first on a tie).
 */
function q4Block(x: ArrayLike<number>, at: number, out: Float64Array, to: number, search: boolean): void {
  let amax = 0, mx = 0, finite = true;
  for (let i = 0; i < QUANT_BLOCK; i++) {
    const v = Math.fround(x[at + i]!), a = Math.abs(v);
    if (!(a < Infinity)) finite = false;
    if (amax < a) (amax = a, mx = v);
  }
  let d = Math.fround(mx / -8);
  if (search && finite && d !== 0) {
    let best = q4BlockError(x, at, d);
    for (const c of Q4_SEARCH_DIVISORS.slice(1)) {
      const dc = Math.fround(mx / c), e = q4BlockError(x, at, dc);
      if (e < best) (best = e, d = dc);
    }
  }
  const id = Math.fround(1 / d);
  for (let i = 0; i < QUANT_BLOCK; i++) {
    if (!finite) out[to + i] = NaN;
    else if (d === 0) out[to + i] = 0;
    else out[to + i] = d * (nibble(Math.fround(x[at + i]!), id) - 8);
  }
}

/**
 * A Linear weight [rows, cols] as the runtime holds it in `dtype`: the values the kernels use
 * (d·q, float64) when it is quantized, the nearest 16-bit floats in f16 / bf16, else `w` itself.
 * `table`: an embedding table or output head (Q4 keeps ggml's scales there; Linear weights search).
 */
export function weightAs<T extends ArrayLike<number>>(w: T, rows: number, cols: number, dtype: WeightDtype, table = false): T | Float64Array {
  if (isHalfDtype(dtype)) return Float64Array.from({ length: rows * cols }, (_, i) => halfToNumber(numberToHalf(Math.fround(w[i]!), dtype), dtype));
  if (!isQuantized(cols, dtype)) return w;
  const out = new Float64Array(rows * cols);
  for (let at = 0; at < rows * cols; at += QUANT_BLOCK) {
    if (dtype === 'q8') q8Block(w, at, out, at);
    else q4Block(w, at, out, at, !table);
  }
  return out;
}

/**
 * How a product with a weight [·, cols] held in `dtype` rounds its input rows: the largest integer
 * level per block of 32 (Q8 weights 4095, Q4 weights 127), or 0 when the inputs are not rounded.
 */
export function inputLevels(cols: number, dtype: WeightDtype): number {
  return isQuantized(cols, dtype) ? (dtype === 'q8' ? 4095 : 127) : 0;
}

/** An input row x[at … at + k) of a quantized product, rounded as the kernels round it (per block of 32 to `levels`, from float32). */
export function roundInput(x: ArrayLike<number>, at: number, k: number, levels: number): Float64Array {
  const out = new Float64Array(k);
  for (let i = 0; i < k; i += QUANT_BLOCK) q8Block(x, at + i, out, i, levels);
  return out;
}

/** Rows [rows, k] of inputs, each rounded by `roundInput` to `levels` (0: x itself). */
export function roundInputs(x: ArrayLike<number>, rows: number, k: number, levels: number): ArrayLike<number> {
  if (!levels) return x;
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) out.set(roundInput(x, r * k, k, levels), r * k);
  return out;
}
