// Opens the process's database: DATABASE_URL when set, else the embedded PostgreSQL under DATA_DIR.
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts';
import { createSql, type Sql } from './sql.ts';

export interface DatabaseOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  poolMax: number;
  prepare: boolean;
  connectTimeoutMs: number;
}

export interface Database {
  sql: Sql;
  embedded: EmbeddedPostgres | undefined;
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const embedded = options.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: path.join(options.dataDir, 'postgres'), settings: { shared_preload_libraries: 'pg_stat_statements' } });
  const sql = createSql({
    url: options.databaseUrl ?? embedded!.url, max: options.poolMax, prepare: options.prepare, connectTimeoutMs: options.connectTimeoutMs,
  });
  return {
    sql,
    embedded,
    close: async () => {
      await sql.end({ timeout: 5 });
      await embedded?.stop();
    },
  };
}
