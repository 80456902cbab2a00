// The source floors: imports go down only (models → nn → ops → engine), the reference twins import
// no runtime code, and no module imports itself through a cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../src');
const FLOORS = ['engine', 'ops', 'nn', 'models'] as const;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The src-relative paths a file imports (relative specifiers only; `.js` mapped back to `.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]);
  return specs.map((s) => relative(SRC, resolve(dirname(file), s)).replace(/\.js$/, '.ts'));
}

const graph = new Map(sources(SRC).map((f) => [relative(SRC, f), importsOf(f)]));
const floorOf = (path: string): number => FLOORS.indexOf(path.split('/')[0] as (typeof FLOORS)[number]);

describe('source layout', () => {
  it('every import resolves to a source file', () => {
    for (const [file, deps] of graph) for (const dep of deps) expect(graph.has(dep), `${file} imports ${dep}`).toBe(true);
  });

  it('floors import only their own floor or lower ones', () => {
    const upward: string[] = [];
    for (const [file, deps] of graph) {
      const floor = floorOf(file);
      if (floor < 0) continue;
      for (const dep of deps) if (floorOf(dep) > floor) upward.push(`${file} → ${dep}`);
    }
    expect(upward).toEqual([]);
  });

  it('the reference twins import nothing of the runtime', () => {
    const bad = [...graph].flatMap(([file, deps]) => (file.startsWith('reference/') ? deps.filter((d) => !d.startsWith('reference/')).map((d) => `${file} → ${d}`) : []));
    expect(bad).toEqual([]);
  });

  it('has no import cycles', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const dep of graph.get(file) ?? []) visit(dep, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
