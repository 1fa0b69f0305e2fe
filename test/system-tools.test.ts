// How the suites find the system tools they drive (test/helpers/system-tools.ts), and what a newcomer reads
// when one is missing: the override variable, the Debian path, PATH, the CI rule, and the end-of-run summary.
// scripts/fresh-machine-check.sh proves the whole promise on a clean clone; this file holds the pieces.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skippedSuitesSummary } from './global-setup.ts';
import { findSystemTool, missingToolMessage, skipsForbidden, TOOL_SPECS } from './helpers/system-tools.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'geko-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeExecutable(name: string, mode = 0o755): string {
  const file = path.join(dir, name);
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, mode);
  return file;
}

const spec = { ...TOOL_SPECS.pgbouncer, paths: [path.join(dir, 'no-such-pgbouncer')] };

describe('finding a system tool', () => {
  it('takes the override variable when it names an executable file, before any other place', () => {
    const exe = fakeExecutable('my-pgbouncer');
    const tool = findSystemTool({ ...spec, paths: [process.execPath] }, { PGBOUNCER_PATH: exe, PATH: '' });
    expect(tool.path).toBe(exe);
    expect(tool.missing).toBe('');
  });

  it('makes the tool unavailable when the override is not an executable file, even if the tool is installed', () => {
    for (const value of ['none', '', path.join(dir, 'absent'), dir, fakeExecutable('not-executable', 0o644)]) {
      const tool = findSystemTool({ ...spec, paths: [process.execPath] }, { PGBOUNCER_PATH: value, PATH: '' });
      expect(tool.path, value).toBeUndefined();
      expect(tool.missing).toBe(`PGBOUNCER_PATH=${JSON.stringify(value)} is not an executable file`);
    }
  });

  it('tries the Debian path, then each command name on PATH', () => {
    expect(findSystemTool({ ...spec, paths: [process.execPath] }, { PATH: '' }).path).toBe(process.execPath);
    const onPath = findSystemTool(spec, { PATH: [path.join(dir, 'empty'), path.dirname(fakeExecutable('pgbouncer'))].join(path.delimiter) });
    expect(onPath.path).toBe(path.join(dir, 'pgbouncer'));
  });

  it('says where it looked, what the tool is for and the one command that installs it', () => {
    const tool = findSystemTool({ ...TOOL_SPECS.chromium, paths: [path.join(dir, 'no-chromium')] }, { PATH: path.join(dir, 'empty') });
    expect(tool.path).toBeUndefined();
    expect(tool.missing).toBe(`not found at ${path.join(dir, 'no-chromium')}, nor as chromium/chromium-browser on PATH`);
    const message = missingToolMessage(tool);
    expect(message).toMatch(/^chromium is not available \(not found at /);
    expect(message).toContain('Enable: sudo apt-get install -y chromium (or set CHROMIUM_PATH to the executable)');
  });
});

describe('the CI rule', () => {
  it('forbids skips when CI is set to anything but "", "0" or "false"', () => {
    for (const ci of ['true', '1', 'yes', 'TRUE']) expect(skipsForbidden({ CI: ci }), ci).toBe(true);
    for (const ci of [undefined, '', '0', 'false', 'False']) expect(skipsForbidden({ CI: ci }), String(ci)).toBe(false);
  });
});

describe('the end-of-run summary', () => {
  it('names each missing tool once, with its command and every file it skipped, and nothing when none skipped', () => {
    const lines = [
      { file: 'test/replicas.test.ts', tool: 'pgbouncer' }, { file: 'test/ops-cookbook.test.ts', tool: 'psql' },
      { file: 'test/ops-cookbook.test.ts', tool: 'psql' }, { file: 'test/b-browser.test.ts', tool: 'chromium' },
      { file: 'test/a-browser.test.ts', tool: 'chromium' },
    ].map((line) => JSON.stringify(line)).join('\n');
    const summary = skippedSuitesSummary(`${lines}\n`);
    expect(summary).toContain('SKIPPED (counted as skipped, not passed)');
    expect(summary).toContain('skipped in: test/a-browser.test.ts, test/b-browser.test.ts\n');
    expect(summary).toContain('skipped in: test/ops-cookbook.test.ts\n');
    expect(summary).toContain('skipped in: test/replicas.test.ts\n');
    for (const command of ['apt-get install -y chromium', 'apt-get install -y pgbouncer', 'apt-get install -y postgresql-client']) {
      expect(summary.split(command)).toHaveLength(2);
    }
    expect(skippedSuitesSummary('')).toBe('');
  });
});
