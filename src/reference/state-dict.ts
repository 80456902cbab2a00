/**
 * The names of a module's state_dict against what the module loads, shared by the runtime and
 * the twins so that both report the same short paragraph: the first few missing and unexpected
 * names with a count of the rest, and, when the names look like a whole model's state_dict (the
 * module's names under one or more common prefixes), the `prefix` values that would pick one
 * module out of it. Pure string work.
 */
import { editDistance } from './names.js';

/** How many missing and how many unexpected names a message lists before counting the rest. */
const SHOWN_MISSING = 4;
const SHOWN_UNEXPECTED = 3;
/** How many suggested prefixes a message lists. */
const SHOWN_PREFIXES = 3;

/**
 * A prefix names a submodule, so its trailing dot is optional: 'layers.0.self_attn' and
 * 'layers.0.self_attn.' are the same ('' stays '': the whole record).
 */
export function modulePrefix(prefix: string): string {
  return prefix === '' || prefix.endsWith('.') ? prefix : `${prefix}.`;
}

/** The entries of `all` whose names start with `prefix` (already through modulePrefix), the prefix removed. */
export function entriesUnder(all: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(all)) if (name.startsWith(prefix)) record[name.slice(prefix.length)] = value;
  return record;
}

export interface NameCheck {
  /** The module, first in the message (e.g. 'multiHeadAttention'). */
  where: string;
  /** The whole state_dict as given (before the prefix). */
  all: Record<string, unknown>;
  /** The prefix in use, through modulePrefix ('' for none). */
  prefix: string;
  /** Names (after the prefix) the module needs. */
  required: readonly string[];
  /** Names it also takes. */
  optional?: readonly string[];
  /** Other sets of required names the module would load (another layout), for recognising a whole model. */
  alternatives?: readonly (readonly string[])[];
  /** Instead of required ∪ optional: whether a name (after the prefix) is one the module takes. */
  isKnown?: (name: string) => boolean;
  /** What the names should match, for the message; default "its state_dict". */
  what?: string;
  /**
   * A single missing name with nothing unexpected is left to the caller, whose own message gives
   * the tensor's expected shape (default true).
   */
  leaveSingleMissing?: boolean;
}

/** undefined when the names match, else the message (one paragraph) of a TypeError. */
export function nameMismatch(c: NameCheck): string | undefined {
  const { where, all, prefix } = c;
  const optional = c.optional ?? [];
  const isKnown = c.isKnown ?? ((name: string) => c.required.includes(name) || optional.includes(name));
  const record = entriesUnder(all, prefix);
  const missing = c.required.filter((name) => record[name] === undefined);
  const unexpected = Object.keys(record).filter((name) => !isKnown(name));
  if (missing.length === 0 && unexpected.length === 0) return undefined;
  if (unexpected.length === 0 && missing.length === 1 && (c.leaveSingleMissing ?? true)) return undefined;
  const parts: string[] = [];
  if (missing.length) parts.push(`missing ${list(missing.map((n) => prefix + n), SHOWN_MISSING)}`);
  if (unexpected.length) {
    const named = unexpected.slice(0, SHOWN_UNEXPECTED).map((n) => {
      const near = nearest(n, missing.length ? missing : c.isKnown ? [] : [...c.required, ...optional]);
      return near === undefined ? prefix + n : `${prefix + n} (did you mean ${prefix + near}?)`;
    });
    parts.push(`unexpected ${list(named, SHOWN_UNEXPECTED, unexpected.length)}`);
  }
  let message = `${where}: the weights do not match ${c.what ?? 'its state_dict'}: ${parts.join('; ')}`;
  if (prefix !== '' && Object.keys(record).length === 0) message += ` (no name starts with '${prefix}')`;
  const found = modulePrefixes(all, [c.required, ...(c.alternatives ?? [])]).filter((p) => p !== prefix);
  if (found.length) {
    const [first, ...rest] = found.map((p) => `'${p}'`);
    const others = rest.length === 0 ? '' : ` (or ${list(rest, SHOWN_PREFIXES - 1)})`;
    message += `. This looks like a whole model's state_dict: pass prefix ${first}${others} to load one module of it`;
  }
  return message;
}

/**
 * Every prefix P (in the order of the names) under which `all` holds all of one set of required
 * names: the places a module's state_dict sits inside a larger one.
 */
export function modulePrefixes(all: Record<string, unknown>, forms: readonly (readonly string[])[]): string[] {
  const out: string[] = [];
  for (const form of forms) {
    if (form.length === 0) continue;
    const anchor = form[0]!;
    for (const name of Object.keys(all)) {
      if (!name.endsWith(anchor)) continue;
      const p = name.slice(0, name.length - anchor.length);
      if ((p === '' || p.endsWith('.')) && !out.includes(p) && form.every((n) => all[p + n] !== undefined)) out.push(p);
    }
  }
  return out;
}

/** 'a, b, c and 5 more' (`total` counts the names of which `names` are the first). */
function list(names: readonly string[], shown: number, total = names.length): string {
  const head = names.slice(0, shown);
  const rest = total - head.length;
  return rest > 0 ? `${head.join(', ')} and ${rest} more` : head.join(', ');
}

/** The missing name a misspelt one most likely means (a small edit distance), if any. */
function nearest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

