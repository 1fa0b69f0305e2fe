// No Docker engine runs here, so the image is checked by what it is made of: the Dockerfile's stages and
// instructions are linted for what matters (multi-stage, production deps only, non-root, healthcheck,
// exec-form CMD so SIGTERM reaches node), the runtime stage's file list is built (tsc to a temp dir) and
// every file it starts exists; fly.toml agrees with the image, the shutdown drain, the metrics listener and
// the memory budget the soak holds the gateway to.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { PRIVATE_METRICS_PATH } from '../src/ops/metrics-access.ts';
import { memoryBudget, parseMemoryMb, RSS_SHARE } from './soak/memory-budget.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const flyToml = readFileSync(path.join(ROOT, 'fly.toml'), 'utf8');
let outDir: string;

/** Instructions per stage, continuation lines joined, comments dropped. */
function stages(text: string): { name: string; lines: string[] }[] {
  const joined = text.replace(/\\\r?\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const result: { name: string; lines: string[] }[] = [];
  for (const line of joined) {
    if (/^FROM\s/i.test(line)) result.push({ name: /\sAS\s+(\S+)/i.exec(line)?.[1] ?? '', lines: [line] });
    else result.at(-1)?.lines.push(line);
  }
  return result;
}

beforeAll(() => {
  outDir = mkdtempSync(path.join(os.tmpdir(), 'geko-build-'));
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', outDir], { cwd: ROOT });
});
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('Dockerfile', () => {
  const [build, runtime] = stages(dockerfile);

  it('builds in one stage and runs from a slim one with production dependencies only', () => {
    expect(stages(dockerfile)).toHaveLength(2);
    expect(build!.lines.join('\n')).toMatch(/npm ci\b/);
    expect(build!.lines.join('\n')).toMatch(/npm run build/);
    expect(runtime!.lines[0]).toMatch(/^FROM node:20-[a-z]+-slim AS runtime$/);
    expect(runtime!.lines.join('\n')).toMatch(/npm ci --omit=dev/);
    expect(runtime!.lines.join('\n')).toMatch(/NODE_ENV=production/);
  });

  it('copies patches/ into both stages before npm ci, whose postinstall applies them', () => {
    for (const stage of [build!, runtime!]) {
      const copied = stage.lines.findIndex((l) => /^COPY\s+patches\s+\.\/patches$/.test(l));
      const installed = stage.lines.findIndex((l) => /npm ci\b/.test(l));
      expect(copied).toBeGreaterThanOrEqual(0);
      expect(copied).toBeLessThan(installed);
    }
    expect(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.postinstall).toBe('patch-package');
  });

  it('runs as a non-root user, with a healthcheck and an exec-form CMD so SIGTERM reaches node', () => {
    const lines = runtime!.lines;
    const user = lines.filter((l) => /^USER\s/.test(l)).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/\sroot$|\s0$/);
    expect(lines.find((l) => l.startsWith('HEALTHCHECK'))).toContain('/_gateway/healthz');
    const cmd = lines.filter((l) => l.startsWith('CMD')).at(-1)!;
    expect(JSON.parse(cmd.slice(3).trim())).toEqual(['node', 'dist/src/main.js']);
    expect(lines.some((l) => l.startsWith('ENTRYPOINT'))).toBe(false);
  });

  it('copies only what the runtime needs, and every file it starts is built', () => {
    const copies = runtime!.lines.filter((l) => l.startsWith('COPY')).map((l) => l.replace(/^COPY\s+(--from=\S+\s+)?/, ''));
    expect(copies).toEqual(expect.arrayContaining(['package.json package-lock.json ./', '/app/dist ./dist', 'sql ./sql']));
    expect(copies.some((c) => /\bsrc\b|\btest\b|node_modules/.test(c))).toBe(false);
    expect(existsSync(path.join(outDir, 'src/main.js'))).toBe(true);
    expect(existsSync(path.join(outDir, 'src/db/migrate-cli.js'))).toBe(true);
    expect(existsSync(path.join(ROOT, 'sql/migrations/00001_seed_schema.sql'))).toBe(true);
    // Tests are not part of the image.
    expect(readdirSync(outDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.test.js'))).toEqual([]);
    const dockerignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8');
    for (const entry of ['node_modules', 'dist', '.data']) expect(dockerignore).toContain(entry);
  });
});

describe('fly.toml', () => {
  const value = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*"?([^"\\n]+)"?`, 'm').exec(flyToml)?.[1]?.trim();
  /** A section's text, from its header to the next header. */
  const section = (header: string) => {
    const start = flyToml.indexOf(`\n${header}\n`);
    expect(start, header).toBeGreaterThan(-1);
    const rest = flyToml.slice(start + header.length + 2);
    const next = rest.search(/^\s*\[/m);
    return next === -1 ? rest : rest.slice(0, next);
  };
  /** [env] as the machines get it. */
  const flyEnv = (): Record<string, string> => Object.fromEntries(
    [...section('[env]').matchAll(/^\s*([A-Z_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1]!, m[2]!]));

  it('serves the image\'s port, checks health and readiness, and migrates in the release command', () => {
    expect(value('internal_port')).toBe(/EXPOSE\s+(\d+)/.exec(dockerfile)?.[1]);
    expect(flyToml).toMatch(/path = "\/_gateway\/healthz"/);
    expect(flyToml).toMatch(/path = "\/_gateway\/readyz"/);
    const release = value('release_command')!;
    expect(release).toBe('node dist/src/db/migrate-cli.js');
    expect(existsSync(path.join(outDir, 'src/db/migrate-cli.js'))).toBe(true);
  });

  it('lets Fly scrape metrics on the private METRICS_PORT listener, a port no service routes to', () => {
    const metrics = section('[metrics]');
    const port = /^\s*port\s*=\s*(\d+)/m.exec(metrics)?.[1];
    expect(/^\s*path\s*=\s*"([^"]+)"/m.exec(metrics)?.[1]).toBe(PRIVATE_METRICS_PATH);
    const config = loadConfig({ LIBRECHAT_URL: 'http://lc', JWT_SECRET: 'x'.repeat(32), ...flyEnv() });
    expect(config.metricsPort).toBe(Number(port));
    expect(config.metricsPort).not.toBe(config.port);
    for (const service of flyToml.matchAll(/^\s*internal_port\s*=\s*(\d+)/gm)) expect(Number(service[1])).not.toBe(Number(port));
    // No METRICS_TOKEN in the file: a token is a secret (fly secrets set), and Fly's scraper needs none.
    expect(flyToml).not.toMatch(/^\s*METRICS_TOKEN\s*=/m);
  });

  it('sizes the machine, caps V8\'s heap well inside it, and the soak holds the gateway to that machine', () => {
    const memoryMb = parseMemoryMb(/^\s*memory\s*=\s*"([^"]+)"/m.exec(section('[[vm]]'))?.[1] ?? '');
    expect(memoryMb).toBeGreaterThanOrEqual(512);
    const nodeOptions = flyEnv().NODE_OPTIONS ?? '';
    const heapMb = Number(/(?:^|\s)--max-old-space-size=(\d+)(?:\s|$)/.exec(nodeOptions)?.[1]);
    expect(heapMb).toBeGreaterThan(0);
    // At most half the machine: the young generation, socket and stream buffers, code and the kernel need the rest.
    expect(heapMb).toBeLessThanOrEqual(memoryMb! / 2);
    const budget = memoryBudget({});
    expect(budget).toEqual({ machineMb: memoryMb, nodeOptions, rssBudgetMb: Math.floor(memoryMb! * RSS_SHARE) });
    expect(budget.rssBudgetMb).toBeGreaterThan(heapMb);
    expect(budget.rssBudgetMb).toBeLessThan(memoryMb!);
    // The image starts plain node, so NODE_OPTIONS from [env] reaches the process; nothing overrides it.
    expect(dockerfile).not.toMatch(/NODE_OPTIONS/);
  });

  it('trusts Fly\'s proxy for the client address', () => {
    expect(loadConfig({ LIBRECHAT_URL: 'http://lc', JWT_SECRET: 'x'.repeat(32), ...flyEnv() }).trustProxy).toEqual({ kind: 'fly' });
  });

  it('gives the shutdown drain time to finish before Fly kills the machine', () => {
    expect(value('kill_signal')).toBe('SIGTERM');
    const drainMs = loadConfig({ LIBRECHAT_URL: 'http://lc', JWT_SECRET: 'x'.repeat(32) }).shutdownDeadlineMs;
    expect(Number(value('kill_timeout')) * 1000).toBeGreaterThan(drainMs);
  });
});
