// No Docker engine runs here, so the image is checked by what it is made of: the Dockerfile's stages and
// instructions are linted for what matters (multi-stage, production deps only, non-root, healthcheck,
// exec-form CMD so SIGTERM reaches node), the runtime stage's file list is built (tsc to a temp dir) and
// every file it starts exists; fly.toml agrees with the image and the shutdown drain.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';

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

  it('serves the image\'s port, checks health and readiness, and migrates in the release command', () => {
    expect(value('internal_port')).toBe(/EXPOSE\s+(\d+)/.exec(dockerfile)?.[1]);
    expect(flyToml).toMatch(/path = "\/_gateway\/healthz"/);
    expect(flyToml).toMatch(/path = "\/_gateway\/readyz"/);
    const release = value('release_command')!;
    expect(release).toBe('node dist/src/db/migrate-cli.js');
    expect(existsSync(path.join(outDir, 'src/db/migrate-cli.js'))).toBe(true);
  });

  it('gives the shutdown drain time to finish before Fly kills the machine', () => {
    expect(value('kill_signal')).toBe('SIGTERM');
    const drainMs = loadConfig({ LIBRECHAT_URL: 'http://lc', JWT_SECRET: 'x'.repeat(32) }).shutdownDeadlineMs;
    expect(Number(value('kill_timeout')) * 1000).toBeGreaterThan(drainMs);
  });
});
