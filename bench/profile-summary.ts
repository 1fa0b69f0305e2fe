// Summarises a V8 .cpuprofile (written by `node --cpu-prof`, BENCH_PROFILE=1 runs the gateway under it):
// self time per function and per origin (gateway source, each dependency, Node internals, GC, idle).
// Also runnable alone: `tsx bench/profile-summary.ts <file.cpuprofile>`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  total_ms: number;
  top_self: { fn: string; where: string; self_ms: number; pct: number }[];
  by_origin: { origin: string; self_ms: number; pct: number }[];
  /** Inclusive (self + callees) time of the gateway's own and its dependencies' functions. */
  top_total: { fn: string; where: string; total_ms: number; pct: number }[];
}

function origin(url: string, fn: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  if (url === '') return '(native/builtin)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module) return module[1]!;
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/dist/src/')) return 'gateway source';
  return url;
}

const short = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/');

const keyOf = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'}|${node.callFrame.url}|${node.callFrame.lineNumber}`;

/** Inclusive time per function of the gateway or a dependency (each function counted once per sample). */
function inclusive(profile: CpuProfile, byId: Map<number, ProfileNode>): Map<string, number> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node || !/node_modules|\/dist\/src\//.test(node.callFrame.url)) continue;
      const key = keyOf(node);
      if (seen.has(key)) continue;
      seen.add(key);
      totals.set(key, (totals.get(key) ?? 0) + us);
    }
  });
  return totals;
}

export function summariseProfile(profile: CpuProfile, top = 20): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  const origins = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    if (!node || us <= 0) return;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = functionName || '(anonymous)';
    const key = `${fn}|${url}|${lineNumber}`;
    const entry = self.get(key) ?? { fn, where: url ? `${short(url)}:${lineNumber + 1}` : '', us: 0 };
    entry.us += us;
    self.set(key, entry);
    const o = origin(url, fn);
    origins.set(o, (origins.get(o) ?? 0) + us);
  });
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  return {
    total_ms: Math.round(total / 1000),
    top_self: [...self.values()].sort((a, b) => b.us - a.us).slice(0, top)
      .map((e) => ({ fn: e.fn, where: e.where, self_ms: Math.round(e.us / 1000), pct: pct(e.us) })),
    by_origin: [...origins.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)
      .map(([o, us]) => ({ origin: o, self_ms: Math.round(us / 1000), pct: pct(us) })),
    top_total: [...inclusive(profile, byId).entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, us]) => {
      const [fn, url, line] = key.split('|');
      return { fn: fn!, where: `${short(url!)}:${Number(line) + 1}`, total_ms: Math.round(us / 1000), pct: pct(us) };
    }),
  };
}

export async function summariseProfileFile(file: string): Promise<ProfileSummary> {
  return summariseProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [`\nGateway CPU profile (${summary.total_ms} ms sampled), self time by origin:`];
  for (const o of summary.by_origin) lines.push(`  ${o.pct.toFixed(1).padStart(5)}%  ${o.origin}`);
  lines.push('Top self-time functions:');
  for (const f of summary.top_self) lines.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.fn}  ${f.where}`);
  lines.push('Top inclusive time, gateway source and dependencies:');
  for (const f of summary.top_total) lines.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.fn}  ${f.where}`);
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile>');
  process.stdout.write(`${formatProfile(await summariseProfileFile(file))}\n`);
}
