// The migrations produce the seed's schema exactly (shared/seed/database.md), checked against
// information_schema, and the runner is idempotent and safe when two processes run it at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { mkdtemp, writeFile, copyFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSql } from '../src/db/sql.ts';
import { defaultMigrationsDir, migrate } from '../src/db/migrate.ts';
import { databaseUrl } from './helpers/database.ts';

// [column, data_type (with length), default (normalised), nullable]
type Col = [string, string, string | null, boolean];
const SEED: Record<string, Col[]> = {
  tenants: [
    ['tenant_id', 'uuid', null, false], ['name', 'character varying(255)', null, false],
    ['plan', 'character varying(50)', "'free'", true], ['status', 'character varying(50)', "'active'", true],
    ['stripe_customer_id', 'character varying(255)', null, true], ['metadata', 'jsonb', "'{}'", true],
    ['created_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true],
    ['updated_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true], ['deleted_at', 'timestamp without time zone', null, true],
  ],
  users: [
    ['user_id', 'uuid', null, false], ['tenant_id', 'uuid', null, false], ['email', 'character varying(255)', null, false],
    ['password_hash', 'character varying(255)', null, true], ['name', 'character varying(255)', null, true],
    ['role', 'character varying(50)', "'member'", true], ['status', 'character varying(50)', "'active'", true],
    ['last_login_at', 'timestamp without time zone', null, true],
    ['created_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true],
    ['updated_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true], ['deleted_at', 'timestamp without time zone', null, true],
  ],
  workspaces: [
    ['workspace_id', 'uuid', null, false], ['tenant_id', 'uuid', null, false], ['name', 'character varying(255)', null, false],
    ['description', 'text', null, true], ['icon_url', 'character varying(500)', null, true], ['created_by', 'uuid', null, false],
    ['status', 'character varying(50)', "'active'", true],
    ['created_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true],
    ['updated_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true], ['deleted_at', 'timestamp without time zone', null, true],
  ],
  workspace_members: [
    ['workspace_id', 'uuid', null, false], ['user_id', 'uuid', null, false], ['role', 'character varying(50)', "'member'", true],
    ['joined_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true],
  ],
  workspace_config: [
    ['config_id', 'uuid', null, false], ['workspace_id', 'uuid', null, false], ['enabled_models', 'jsonb', "'[]'", true],
    ['enabled_mcps', 'jsonb', "'[]'", true], ['custom_settings', 'jsonb', "'{}'", true],
    ['created_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true], ['updated_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true],
  ],
  workspace_quotas: [
    ['quota_id', 'uuid', null, false], ['workspace_id', 'uuid', null, false], ['tokens_limit', 'integer', '100000', true],
    ['tokens_used', 'integer', '0', true], ['requests_limit', 'integer', '1000', true], ['requests_used', 'integer', '0', true],
    ['files_limit', 'integer', '100', true], ['files_used', 'integer', '0', true], ['reset_at', 'timestamp without time zone', null, true],
    ['created_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true], ['updated_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true],
  ],
  audit_logs: [
    ['log_id', 'uuid', null, false], ['tenant_id', 'uuid', null, false], ['workspace_id', 'uuid', null, true], ['user_id', 'uuid', null, true],
    ['action', 'character varying(255)', null, false], ['resource', 'character varying(255)', null, true],
    ['resource_id', 'character varying(255)', null, true], ['details', 'jsonb', null, true], ['ip_address', 'character varying(45)', null, true],
    ['user_agent', 'text', null, true], ['status', 'character varying(50)', "'success'", true], ['error_message', 'text', null, true],
    ['created_at', 'timestamp without time zone', 'CURRENT_TIMESTAMP', true],
  ],
};
const SEED_INDEXES = ['idx_users_tenant_email', 'idx_workspaces_tenant', 'idx_workspace_members_user', 'idx_quotas_workspace', 'idx_audit_logs_tenant_created'];

function normaliseDefault(value: string | null): string | null {
  if (value === null) return null;
  return value.replace(/::[a-z ]+(\(\d+\))?/g, '');
}

describe('migrations', () => {
  let dbName: string;
  const admin = () => createSql({ url: inject('adminDatabaseUrl'), max: 1, prepare: false, connectTimeoutMs: 10_000 });

  beforeAll(async () => {
    dbName = `geko_schema_${Date.now()}`;
    const sql = admin();
    await sql.unsafe(`CREATE DATABASE ${dbName}`);
    await sql.end();
  });
  afterAll(async () => {
    const sql = admin();
    await sql.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await sql.end();
  });

  it('two runners started at once apply every migration exactly once, and a third run applies nothing', async () => {
    const a = createSql({ url: databaseUrl(dbName), max: 2, prepare: false, connectTimeoutMs: 10_000 });
    const b = createSql({ url: databaseUrl(dbName), max: 2, prepare: false, connectTimeoutMs: 10_000 });
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    const files = (await readdir(defaultMigrationsDir())).filter((f) => f.endsWith('.sql')).sort();
    expect([...ra.applied, ...rb.applied].sort()).toEqual(files);
    expect(ra.applied.filter((f) => rb.applied.includes(f))).toEqual([]);
    const again = await migrate(a);
    expect(again.applied).toEqual([]);
    expect(again.skipped).toEqual(files);
    const recorded = await a<{ name: string }[]>`SELECT name FROM schema_migrations ORDER BY version`;
    expect(recorded.map((r) => r.name)).toEqual(files);
    await a.end();
    await b.end();
  });

  it('creates the seed tables with every column, type, default and nullability', async () => {
    const sql = createSql({ url: databaseUrl(dbName), max: 1, prepare: false, connectTimeoutMs: 10_000 });
    for (const [table, expected] of Object.entries(SEED)) {
      const rows = await sql<{ column_name: string; data_type: string; character_maximum_length: number | null; column_default: string | null; is_nullable: string }[]>`
        SELECT column_name, data_type, character_maximum_length, column_default, is_nullable
        FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ${table} ORDER BY ordinal_position`;
      const actual: Col[] = rows.map((r) => [
        r.column_name,
        r.character_maximum_length ? `${r.data_type}(${r.character_maximum_length})` : r.data_type,
        normaliseDefault(r.column_default),
        r.is_nullable === 'YES',
      ]);
      expect(actual, table).toEqual(expected);
    }
    await sql.end();
  });

  it('has the seed constraints and indexes', async () => {
    const sql = createSql({ url: databaseUrl(dbName), max: 1, prepare: false, connectTimeoutMs: 10_000 });
    const indexes = await sql<{ indexname: string }[]>`SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`;
    expect(indexes.map((i) => i.indexname)).toEqual(expect.arrayContaining(SEED_INDEXES));
    const constraints = await sql<{ table_name: string; constraint_type: string; columns: string }[]>`
      SELECT tc.table_name, tc.constraint_type, string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position) AS columns
      FROM information_schema.table_constraints tc
      JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_name = tc.table_name
      WHERE tc.table_schema = 'public' AND tc.constraint_type IN ('UNIQUE', 'PRIMARY KEY', 'FOREIGN KEY')
      GROUP BY tc.table_name, tc.constraint_name, tc.constraint_type`;
    const has = (table: string, type: string, columns: string) =>
      expect(constraints.some((c) => c.table_name === table && c.constraint_type === type && c.columns === columns), `${table} ${type} ${columns}`).toBe(true);
    has('users', 'UNIQUE', 'tenant_id,email');
    has('workspaces', 'UNIQUE', 'tenant_id,name');
    has('workspace_members', 'PRIMARY KEY', 'workspace_id,user_id');
    has('workspace_config', 'UNIQUE', 'workspace_id');
    has('workspace_quotas', 'UNIQUE', 'workspace_id');
    has('users', 'FOREIGN KEY', 'tenant_id');
    has('workspaces', 'FOREIGN KEY', 'created_by');
    has('audit_logs', 'FOREIGN KEY', 'user_id');
    await sql.end();
  });

  it('refuses to run when an applied migration was edited', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'geko-mig-'));
    for (const file of await readdir(defaultMigrationsDir())) await copyFile(path.join(defaultMigrationsDir(), file), path.join(dir, file));
    await writeFile(path.join(dir, '00001_seed_schema.sql'), '-- edited\nSELECT 1;');
    const sql = createSql({ url: databaseUrl(dbName), max: 1, prepare: false, connectTimeoutMs: 10_000 });
    await expect(migrate(sql, dir)).rejects.toThrow(/edited after it was applied/);
    await sql.end();
  });
});
