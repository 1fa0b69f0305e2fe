// The README (and bench/README.md) against what they describe, for the claims a file can check: the
// benchmark table is the latest run's, every file named exists, the reliability table names real test
// files, the error codes and statuses are errors.ts's, every configuration variable is one config.ts reads,
// the dependency versions are the lockfile's, and the system-tools table is the helper's.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { END_MARKER, renderBenchTable, START_MARKER } from '../bench/readme-table.ts';
import { TOOL_SPECS } from './helpers/system-tools.ts';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const readme = read('README.md');
const benchReadme = read('bench/README.md');

/** The rows of the markdown table that follows `heading` (cells trimmed, header and rule dropped). */
function tableAfter(text: string, heading: string): string[][] {
  const start = text.indexOf(heading);
  expect(start, heading).toBeGreaterThan(-1);
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
  }
  return rows.slice(2);
}

describe('README.md', () => {
  it('shows the benchmark table of bench/results/latest.json (npx tsx bench/readme-table.ts --write)', () => {
    const start = readme.indexOf(START_MARKER);
    const end = readme.indexOf(END_MARKER);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    const latest = JSON.parse(read('bench/results/latest.json')) as Record<string, unknown>;
    expect(readme.slice(start, end + END_MARKER.length)).toBe(renderBenchTable(latest));
  });

  it('names only files that exist', () => {
    // Repository paths (not `.js` ones: build output, or inside a dependency like postgres.js), without globs
    // (`sql/ops/*.sql`) or placeholders (`NNNNN_name.sql`).
    const named = (text: string) => [...text.matchAll(/(?<![\w./+-])((?:src|test|scripts|sql|bench|docs|patches|\.ci)\/[\w./+-]*[\w-](?:\.(?:ts|sql|md|png|svg|json|sh|patch|mjs)|\/run)?)(?![\w*]|\.\w)/g)]
      .map((m) => m[1]!).filter((file) => !/\*|NNN|\.js$/.test(file));
    const files = [...named(readme), ...named(benchReadme)];
    expect(files.length).toBeGreaterThan(40);
    expect([...new Set(files)].filter((file) => !existsSync(path.join(ROOT, file)))).toEqual([]);
    const benchLinks = [...benchReadme.matchAll(/\]\(((?!https?:|#)[^)#]+)/g)].map((m) => path.join('bench', m[1]!));
    const readmeLinks = [...readme.matchAll(/\]\(((?!https?:|#)[^)#]+)/g)].map((m) => m[1]!);
    expect([...benchLinks, ...readmeLinks].filter((file) => !existsSync(path.join(ROOT, file)))).toEqual([]);
  });

  it('links only to headings it has', () => {
    const slug = (heading: string) => heading.toLowerCase().replace(/[^\w\s-]/g, '').trim().replace(/\s/g, '-');
    const anchors = new Set([...readme.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1]!)));
    const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((anchor) => !anchors.has(anchor))).toEqual([]);
  });

  it('cites a test file for each reliability claim', () => {
    const rows = tableAfter(readme, '## Reliability: what is proven, and how');
    expect(rows.length).toBeGreaterThan(10);
    const names = rows.flatMap((row) => [...row[1]!.matchAll(/`([\w-]+)`/g)].map((m) => m[1]!));
    expect(names.filter((name) => !existsSync(path.join(ROOT, 'test', `${name}.test.ts`)))).toEqual([]);
  });

  it('lists exactly the error codes of src/errors.ts, with their statuses', () => {
    const statuses = Object.fromEntries([...read('src/errors.ts').matchAll(/^\s+(\w+): (\d{3}),$/gm)].map((m) => [m[1]!, Number(m[2])]));
    expect(Object.keys(statuses).length).toBeGreaterThan(15);
    const documented = Object.fromEntries(tableAfter(readme, '## Error codes').map((row) => [row[1]!.replace(/`/g, ''), Number(row[0])]));
    expect(documented).toEqual(statuses);
  });

  it('documents only configuration variables that src/config.ts reads', () => {
    const config = read('src/config.ts');
    const variables = tableAfter(readme, '## Configuration').flatMap((row) => [...row[0]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
    expect(variables.length).toBeGreaterThan(20);
    expect(variables.filter((name) => !new RegExp(`\\b${name}\\b`).test(config))).toEqual([]);
  });

  it('states the production dependency versions of package-lock.json', () => {
    const audit = /\*\*Dependency audit\.\*\* Production dependencies: ([^.]+(?:\.\d[^.]*)*?)\. `npm audit`/s.exec(readme)?.[1];
    expect(audit).toBeDefined();
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version: string }> };
    const stated = [...audit!.matchAll(/(@?[\w./-]+) (\d[\w.-]*)/g)].map((m) => [m[1]!, m[2]!] as const);
    expect(stated.length).toBeGreaterThan(8);
    for (const [name, version] of stated) {
      const installed = lock.packages[`node_modules/${name}`]?.version;
      expect(installed === version || installed?.startsWith(`${version}.`), `${name} ${version} vs ${installed}`).toBe(true);
    }
  });

  it('tells which suites need which system tool, as test/helpers/system-tools.ts finds and enables them', () => {
    const rows = tableAfter(readme, '**What the tests need.**');
    expect(rows).toHaveLength(Object.keys(TOOL_SPECS).length);
    for (const spec of Object.values(TOOL_SPECS)) {
      const row = rows.find((cells) => cells[2] === `\`${spec.enable}\``);
      expect(row, spec.name).toBeDefined();
      expect(row![3]).toBe(`\`${spec.envVar}\``);
      const file = /`(test\/[\w-]+\.test\.ts)`/.exec(row![0]!)?.[1];
      expect(read(file!)).toMatch(new RegExp(`describeWith\\(${spec.name}`));
    }
  });
});
