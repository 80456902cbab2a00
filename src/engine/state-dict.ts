/**
 * A module's entries out of a state_dict: the names under `prefix` (with it removed), checked
 * against the module's names as load_state_dict(strict=True) does (unknown names with their
 * nearest known one and every missing name, in one TypeError), then each tensor against its shape.
 */
import { checkStateDict, checkTensor, describe, expectShape, type Checked } from './validate.js';
import type { Heap } from './memory.js';

/** The record under `prefix` ('' = all), names stripped of it. */
export function underPrefix(where: string, weights: unknown, prefix: unknown): { record: Record<string, unknown>; prefix: string } {
  if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError(`${where}: prefix must be a string, received ${describe(prefix)}`);
  if (typeof weights !== 'object' || weights === null || Array.isArray(weights) || ArrayBuffer.isView(weights)) {
    throw new TypeError(`${where}: weights must be a state_dict record (name → tensor), received ${describe(weights)}`);
  }
  const p = prefix ?? '';
  const record: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(weights)) if (name.startsWith(p)) record[name.slice(p.length)] = value;
  return { record, prefix: p };
}

/**
 * Every name of `shapes` checked in `record` (under `prefix`, for the messages): the names first,
 * then each tensor's shape (`why` says where the dimensions come from).
 */
export function checkNamed(where: string, record: Record<string, unknown>, prefix: string, shapes: Record<string, readonly number[]>, heap: Heap, why: string): Record<string, Checked> {
  const label = prefix ? `weights (under '${prefix}')` : 'weights';
  checkStateDict(label, record, Object.keys(shapes), [], where);
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
