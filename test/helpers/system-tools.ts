// The programs outside node_modules that some suites drive: Chromium (the dashboard in a real browser),
// PgBouncer (replicas behind transaction pooling) and psql (the operators' cookbook, run as an operator
// does). `npm ci && npm test` must pass on a machine with Node and nothing else, so a suite that needs a
// missing tool is skipped, visibly: vitest counts it as skipped, and test/global-setup.ts prints once per
// run which files were skipped, for want of what, and the one command that installs it. Under CI (`CI`
// set, not "false"/"0") nothing may be skipped: the suite fails at collection, naming the tool.
//
// Each tool is found at its Debian path, else on PATH; `<NAME>_PATH` (CHROMIUM_PATH, PGBOUNCER_PATH,
// PSQL_PATH) overrides both, and any value that is not an executable file ("none", "") makes the tool
// unavailable, which is how scripts/fresh-machine-check.sh plays a fresh machine.
//
// Use:  import { chromium, describeWith } from './helpers/system-tools.ts';
//       describeWith(chromium)('dashboard in Chromium', () => { … chromium.path … });
import { accessSync, appendFileSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject } from 'vitest';

export interface SystemTool {
  /** The tool's name in every message: `chromium`, `pgbouncer`, `psql`. */
  readonly name: string;
  /** The variable that overrides where the tool is looked for. */
  readonly envVar: string;
  /** The executable, or undefined when it is not there. */
  readonly path: string | undefined;
  /** Why it is not there (empty when it is). */
  readonly missing: string;
  /** What the suites use it for. */
  readonly usedFor: string;
  /** The one command that makes it available (Debian/Ubuntu). */
  readonly enable: string;
}

interface ToolSpec {
  name: string;
  envVar: string;
  /** Where Debian's package puts it, tried first. */
  paths: string[];
  /** Command names looked up on PATH. */
  commands: string[];
  usedFor: string;
  enable: string;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Finds a tool from the environment given (by default this process's); exported for the helper's own test. */
export function findSystemTool(spec: ToolSpec, env: NodeJS.ProcessEnv = process.env): SystemTool {
  const base = { name: spec.name, envVar: spec.envVar, usedFor: spec.usedFor, enable: spec.enable };
  const override = env[spec.envVar];
  if (override !== undefined) {
    return isExecutableFile(override)
      ? { ...base, path: override, missing: '' }
      : { ...base, path: undefined, missing: `${spec.envVar}=${JSON.stringify(override)} is not an executable file` };
  }
  const onPath = (env.PATH ?? '').split(path.delimiter).filter(Boolean)
    .flatMap((dir) => spec.commands.map((command) => path.join(dir, command)));
  const found = [...spec.paths, ...onPath].find(isExecutableFile);
  return found
    ? { ...base, path: found, missing: '' }
    : { ...base, path: undefined, missing: `not found at ${spec.paths.join(' or ')}, nor as ${spec.commands.join('/')} on PATH` };
}

export const TOOL_SPECS = {
  chromium: {
    name: 'chromium', envVar: 'CHROMIUM_PATH', paths: ['/usr/bin/chromium'], commands: ['chromium', 'chromium-browser'],
    usedFor: 'driving the pages in a real headless browser (playwright-core, which downloads no browser)',
    enable: 'sudo apt-get install -y chromium',
  },
  pgbouncer: {
    name: 'pgbouncer', envVar: 'PGBOUNCER_PATH', paths: ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'], commands: ['pgbouncer'],
    usedFor: 'gateway processes behind PgBouncer in transaction pooling mode',
    enable: 'sudo apt-get install -y pgbouncer',
  },
  psql: {
    name: 'psql', envVar: 'PSQL_PATH', paths: ['/usr/bin/psql'], commands: ['psql'],
    usedFor: 'running the ops cookbook (sql/ops/*.sql) with the real psql client, as an operator does',
    enable: 'sudo apt-get install -y postgresql-client',
  },
} satisfies Record<string, ToolSpec>;

export const chromium = findSystemTool(TOOL_SPECS.chromium);
export const pgbouncer = findSystemTool(TOOL_SPECS.pgbouncer);
export const psql = findSystemTool(TOOL_SPECS.psql);

/** True when missing tools must fail the run instead of skipping (CI set to anything but "", "0", "false"). */
export function skipsForbidden(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

/** The message for a tool that is not there: its name, why it matters, and the one command that enables it. */
export function missingToolMessage(tool: SystemTool): string {
  return `${tool.name} is not available (${tool.missing}); it is needed for ${tool.usedFor}. Enable: ${tool.enable}`
    + ` (or set ${tool.envVar} to the executable)`;
}

/** The tool's executable; throws, naming the tool, when it is not there (for helpers the suites call). */
export function toolPath(tool: SystemTool): string {
  if (!tool.path) throw new Error(missingToolMessage(tool));
  return tool.path;
}

/** Records a skip for test/global-setup.ts's end-of-run summary (one JSON line per skipping file and tool). */
function recordSkip(tool: SystemTool): void {
  const file = path.relative(process.cwd(), expect.getState().testPath ?? 'an unknown file');
  let log: string | undefined;
  try { log = inject('systemToolSkipLog'); } catch { /* outside a vitest worker: nothing to record into */ }
  if (log) appendFileSync(log, `${JSON.stringify({ file, tool: tool.name })}\n`);
}

/**
 * `describe` when every tool is there; a skipped `describe` (recorded for the run's summary) when one is not;
 * under CI, throws at collection naming the missing tool, so the file fails instead of skipping.
 */
export function describeWith(...tools: SystemTool[]): ReturnType<typeof describe.skipIf> {
  const absent = tools.filter((tool) => !tool.path);
  if (absent.length > 0 && skipsForbidden()) {
    throw new Error(`CI is set, so no suite may be skipped: ${absent.map(missingToolMessage).join('; ')}`);
  }
  for (const tool of absent) recordSkip(tool);
  return describe.skipIf(absent.length > 0);
}
