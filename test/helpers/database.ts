// A database of the test file's own, cloned from the migrated template (fast: no migrations per file).
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createSql, type Sql } from '../../src/db/sql.ts';

export interface TestDatabase {
  url: string;
  name: string;
  sql: Sql;
  drop(): Promise<void>;
}

export function databaseUrl(name: string): string {
  const url = new URL(inject('adminDatabaseUrl'));
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `geko_t_${randomBytes(6).toString('hex')}`;
  const admin = createSql({ url: inject('adminDatabaseUrl'), max: 1, prepare: false, connectTimeoutMs: 10_000 });
  await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
  await admin.end();
  const url = databaseUrl(name);
  const sql = createSql({ url, max: 4, prepare: false, connectTimeoutMs: 10_000 });
  return {
    url,
    name,
    sql,
    drop: async () => {
      await sql.end({ timeout: 5 });
      const cleanup = createSql({ url: inject('adminDatabaseUrl'), max: 1, prepare: false, connectTimeoutMs: 10_000 });
      await cleanup.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

/**
 * How many statements this test's database ran since the last `SELECT pg_stat_statements_reset()`
 * (test/global-setup.ts loads pg_stat_statements), leaving out the count's own queries and the gateway
 * instances' heartbeats (gateway_instances), which run on their own clock.
 */
export async function statementCalls(sql: Sql): Promise<number> {
  const [row] = await sql<{ calls: string | null }[]>`
    SELECT sum(calls)::text AS calls FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query NOT ILIKE '%pg_stat_statements%' AND query NOT ILIKE '%gateway_instances%'`;
  return Number(row?.calls ?? 0);
}
