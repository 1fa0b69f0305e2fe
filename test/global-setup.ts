// Starts the test PostgreSQL once for the whole run (DATABASE_URL when set, else an embedded server in a
// temporary folder) and migrates a template database with the production runner. Each test file clones
// the template into a database of its own (test/helpers/database.ts). It also prints, once at the end of the
// run, which suites were skipped for want of a system tool (test/helpers/system-tools.ts).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createSql } from '../src/db/sql.ts';
import { chromium, missingToolMessage, pgbouncer, psql } from './helpers/system-tools.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
    /** A file the suites append `{file, tool}` lines to when they skip for want of a system tool. */
    systemToolSkipLog: string;
  }
}

export const TEMPLATE_DATABASE = 'geko_test_template';

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** One block per missing tool: what it is for, the one command that enables it, the files that did not run. */
export function skippedSuitesSummary(lines: string): string {
  const filesByTool = new Map<string, Set<string>>();
  for (const line of lines.split('\n').filter(Boolean)) {
    const { file, tool } = JSON.parse(line) as { file: string; tool: string };
    filesByTool.set(tool, (filesByTool.get(tool) ?? new Set()).add(file));
  }
  const blocks = [chromium, pgbouncer, psql].filter((tool) => filesByTool.has(tool.name)).map((tool) =>
    `  ${missingToolMessage(tool)}\n    skipped in: ${[...filesByTool.get(tool.name)!].sort().join(', ')}`);
  if (blocks.length === 0) return '';
  return `\nSKIPPED (counted as skipped, not passed): suites that need a system tool this machine lacks\n${blocks.join('\n')}\n`
    + '  Under CI=true these fail instead.\n';
}

export default async function setup(project: TestProject) {
  let dataDir: string | undefined;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!adminUrl) {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'geko-test-pg-'));
    const embedded = await startEmbeddedPostgres({
      dataDir,
      settings: { shared_preload_libraries: 'pg_stat_statements', max_connections: '300', 'pg_stat_statements.track': 'top' },
    });
    adminUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const admin = createSql({ url: adminUrl, max: 1, prepare: false, connectTimeoutMs: 10_000 });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  const template = createSql({ url: withDatabase(adminUrl, TEMPLATE_DATABASE), max: 1, prepare: false, connectTimeoutMs: 10_000 });
  await template`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
  await migrate(template);
  await template.end();
  await admin.end();
  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', TEMPLATE_DATABASE);
  const skipDir = await mkdtemp(path.join(os.tmpdir(), 'geko-test-skips-'));
  const skipLog = path.join(skipDir, 'skips.jsonl');
  project.provide('systemToolSkipLog', skipLog);
  return async () => {
    const summary = skippedSuitesSummary(await readFile(skipLog, 'utf8').catch(() => ''));
    if (summary) process.stdout.write(summary);
    await rm(skipDir, { recursive: true, force: true });
    await stopEmbedded?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  };
}
