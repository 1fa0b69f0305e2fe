// Forward-only migration runner for sql/migrations/NNNNN_name.sql. Each pending file runs in its own
// transaction under a transaction-scoped advisory lock, so two gateway processes starting at once
// apply each migration exactly once (the loser waits, then sees it recorded and skips it). Applied
// files are recorded with a checksum; editing an applied migration stops the run.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './sql.ts';

const FILE_NAME = /^(\d{5})_[a-z0-9_]+\.sql$/;
// An arbitrary constant that names "the migration lock" among all advisory locks of the database.
const MIGRATION_LOCK_KEY = 7_140_221_901;

export interface Migration {
  version: number;
  name: string;
  text: string;
  checksum: string;
}

/** Finds the project's sql/migrations folder from this file, in src/ (tsx) and in dist/src (built). */
export function defaultMigrationsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const candidate = path.join(dir, 'sql', 'migrations');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('sql/migrations not found above the gateway source');
}

export async function readMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_NAME.exec(file);
    if (!match) throw new Error(`migration file name must look like 00001_name.sql: ${file}`);
    const version = Number(match[1]);
    const expected = migrations.length + 1;
    if (version !== expected) throw new Error(`migration ${file} breaks the numbering (expected ${expected})`);
    const text = await readFile(path.join(dir, file), 'utf8');
    migrations.push({ version, name: file, text, checksum: createHash('sha256').update(text).digest('hex') });
  }
  return migrations;
}

export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

export async function migrate(sql: Sql, dir = defaultMigrationsDir()): Promise<MigrateResult> {
  const migrations = await readMigrations(dir);
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`
      create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamp not null default timezone('UTC', now())
      )`;
  });
  const result: MigrateResult = { applied: [], skipped: [] };
  for (const migration of migrations) {
    const applied = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
      const [row] = await tx<{ checksum: string }[]>`
        select checksum from schema_migrations where version = ${migration.version}`;
      if (row) {
        if (row.checksum !== migration.checksum) {
          throw new Error(`migration ${migration.name} was edited after it was applied (checksum differs)`);
        }
        return false;
      }
      await tx.unsafe(migration.text).simple();
      await tx`
        insert into schema_migrations (version, name, checksum)
        values (${migration.version}, ${migration.name}, ${migration.checksum})`;
      return true;
    });
    (applied ? result.applied : result.skipped).push(migration.name);
  }
  return result;
}
