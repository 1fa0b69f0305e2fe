// The direction of src/'s imports: the HTTP basics every route needs (src/http/) sit below the capability
// folders and import none of them; the gateway's own routes (ops/, dashboard/) take nothing from proxy/;
// only main.ts imports the composition root (app.ts), also among scripts/ and bench/; and no module imports
// itself back through others.
// Read from the source text (static `import … from` and `export … from` specifiers), so it needs no build.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/** Relative imports of one file, as paths from the repository root. */
function relativeImports(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/gm)].map((m) => m[1]!);
  return specifiers.map((s) => path.relative(ROOT, path.resolve(path.dirname(file), s)));
}

const graph = new Map<string, string[]>(sourceFiles(SRC).map((file) =>
  [path.relative(ROOT, file), relativeImports(file, readFileSync(file, 'utf8'))]));
const arrows = [...graph].flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`));

function violations(rule: (from: string, to: string) => boolean): string[] {
  return arrows.filter((arrow) => {
    const [from, to] = arrow.split(' -> ') as [string, string];
    return rule(from, to);
  });
}

describe('import direction in src/', () => {
  it('reads every source file and finds their imports', () => {
    expect(graph.size).toBeGreaterThan(30);
    expect(graph.get('src/main.ts')).toContain('src/app.ts');
  });

  it('ops/ and dashboard/ import nothing from proxy/', () => {
    expect(violations((from, to) => /^src\/(ops|dashboard)\//.test(from) && to.startsWith('src/proxy/'))).toEqual([]);
  });

  it('http/ imports only errors.ts and itself (it sits below every capability folder)', () => {
    expect(violations((from, to) => from.startsWith('src/http/') && !to.startsWith('src/http/') && to !== 'src/errors.ts')).toEqual([]);
  });

  it('only main.ts imports app.ts (tests aside: scripts/ and bench/ start the gateway as a process)', () => {
    expect(violations((from, to) => to === 'src/app.ts' && from !== 'src/main.ts')).toEqual([]);
    const tools = ['scripts', 'bench'].flatMap((dir) => sourceFiles(path.join(ROOT, dir)));
    expect(tools.filter((file) => relativeImports(file, readFileSync(file, 'utf8')).includes('src/app.ts'))).toEqual([]);
  });

  it('no module imports itself back through others (no cycle)', () => {
    const cycles: string[] = [];
    const done = new Set<string>();
    const walk = (file: string, trail: string[]): void => {
      const at = trail.indexOf(file);
      if (at !== -1) { cycles.push([...trail.slice(at), file].join(' -> ')); return; }
      if (done.has(file)) return;
      for (const next of graph.get(file) ?? []) walk(next, [...trail, file]);
      done.add(file);
    };
    for (const file of graph.keys()) walk(file, []);
    expect(cycles).toEqual([]);
  });
});
