// The benchmark's PostgreSQL: the gateway's own embedded server (src/db/embedded.ts) in a temp folder,
// with pg_stat_statements preloaded, migrated, and a second superuser role `geko_bench` for the bench's
// own queries, so pg_stat_statements can tell the gateway's statements (role postgres) from ours.
// Stopped and removed by the Cleanup it registers with.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createSql, type Sql } from '../src/db/sql.ts';
import type { Cleanup } from './processes.ts';

export interface BenchDatabase {
  /** For the gateway (role postgres). */
  gatewayUrl: string;
  /** The bench's own pool (role geko_bench). */
  sql: Sql;
  dataDir: string;
  /** The postmaster's pid (its backends are its children). */
  pid: number;
}

export const BENCH_ROLE = 'geko_bench';

// Production-like but sized for a 10M-row history load on this machine; fsync stays off (embedded default).
const SETTINGS: Record<string, string> = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'top',
  // Planning time per statement too: a statement re-planned on every call shows up here.
  'pg_stat_statements.track_planning': 'on',
  max_connections: '200',
  shared_buffers: '512MB',
  work_mem: '16MB',
  maintenance_work_mem: '512MB',
  max_wal_size: '8GB',
  checkpoint_timeout: '30min',
  synchronous_commit: 'off',
};

function withUser(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

export async function startBenchDatabase(cleanup: Cleanup): Promise<BenchDatabase> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'geko-bench-pg-'));
  cleanup.add('temp dir', () => rm(dataDir, { recursive: true, force: true }));
  const embedded = await startEmbeddedPostgres({ dataDir, settings: SETTINGS });
  cleanup.add('postgres', () => embedded.stop());
  const admin = createSql({ url: embedded.url, max: 2, prepare: false, connectTimeoutMs: 10_000 });
  const password = randomBytes(12).toString('hex');
  try {
    await admin`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
    await migrate(admin);
    await admin.unsafe(`CREATE ROLE ${BENCH_ROLE} LOGIN SUPERUSER PASSWORD '${password}'`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const sql = createSql({ url: withUser(embedded.url, BENCH_ROLE, password), max: 4, prepare: false, connectTimeoutMs: 10_000 });
  cleanup.add('bench pool', () => sql.end({ timeout: 5 }));
  const pid = Number((await readFile(path.join(dataDir, 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  return { gatewayUrl: embedded.url, sql, dataDir, pid };
}
