/**
 * A module's entries out of a state_dict: the names under `prefix` (with it removed; the trailing
 * dot of a prefix is optional), checked against the module's names as load_state_dict(strict=True)
 * does, then each tensor against its shape. A name mismatch is one short TypeError (see
 * reference/state-dict.ts, shared with the twins): the first few missing and unexpected names, and
 * the prefixes to pass when the record is a whole model's state_dict.
 */
import { checkTensor, describe, expectShape, type Checked } from './validate.js';
import { entriesUnder, modulePrefix, nameMismatch, type NameCheck } from '../reference/state-dict.js';
import type { Heap } from './memory.js';

export { modulePrefix };

/** A state_dict and the part of it under a prefix. */
export interface Under {
  /** The entries under `prefix`, names stripped of it. */
  record: Record<string, unknown>;
  /** The prefix with its trailing dot ('' = all). */
  prefix: string;
  /** The whole record as given. */
  all: Record<string, unknown>;
}

/** The record under `prefix` ('' = all), names stripped of it. */
export function underPrefix(where: string, weights: unknown, prefix: unknown): Under {
  if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError(`${where}: prefix must be a string, received ${describe(prefix)}`);
  if (typeof weights !== 'object' || weights === null || Array.isArray(weights) || ArrayBuffer.isView(weights)) {
    throw new TypeError(`${where}: weights must be a state_dict record (name → tensor), received ${describe(weights)}`);
  }
  const p = modulePrefix(prefix ?? '');
  const all = weights as Record<string, unknown>;
  return { record: entriesUnder(all, p), prefix: p, all };
}

/** Throws the TypeError of nameMismatch when the names under the prefix are not the module's. */
export function checkNames(where: string, under: Under, required: readonly string[], options: Omit<NameCheck, 'where' | 'all' | 'prefix' | 'required'> = {}): void {
  const message = nameMismatch({ where, all: under.all, prefix: under.prefix, required, ...options });
  if (message !== undefined) throw new TypeError(message);
}

/**
 * Every name of `shapes` checked under the prefix: the names first (checkNames), then each
 * tensor's shape (`why` says where the dimensions come from).
 */
export function checkNamed(where: string, under: Under, shapes: Record<string, readonly number[]>, heap: Heap, why: string): Record<string, Checked> {
  checkNames(where, under, Object.keys(shapes));
  const { record, prefix } = under;
  const out: Record<string, Checked> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const value = record[name];
    const label = `${where}: weights['${prefix}${name}']`;
    if (value === undefined || value === null) throw new TypeError(`${label} is missing (expected shape [${shape.join(', ')}], ${why})`);
    const arg = checkTensor(label, value, heap);
    expectShape(label, arg.shape, shape, why);
    out[name] = arg;
  }
  return out;
}
