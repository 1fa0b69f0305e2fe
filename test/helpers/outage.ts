// A gateway on a PostgreSQL of the test file's own (embedded, its data in a temporary folder), which the test
// stops and starts again on the same data and port to play a database outage; LibreChat is the fake, as a
// process. The gateway gives up connecting after 1 s (DB_CONNECT_TIMEOUT), so an outage shows at once.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createSql, type Sql } from '../../src/db/sql.ts';
import { startGateway, type InProcessGateway } from './gateway.ts';
import { TEST_JWT_SECRET } from './jwt.ts';
import { startUpstreamProcess, type UpstreamProcess } from './upstream-process.ts';

export interface OutageHarness {
  /** The test's own connections (2 at most, 2 s to connect), for seeding and reading the books. */
  sql: Sql;
  upstream: UpstreamProcess;
  gw: InProcessGateway;
  stopPostgres(): Promise<void>;
  /** PostgreSQL back, on the same data and port. */
  startPostgres(): Promise<void>;
  close(): Promise<void>;
}

/** `tmpPrefix` names the data folder in the temporary folder (`geko-…-`). */
export async function startOutageHarness(tmpPrefix: string): Promise<OutageHarness> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), tmpPrefix));
  let port: number | undefined;
  let pg: EmbeddedPostgres | undefined;
  let sql: Sql | undefined;
  let upstream: UpstreamProcess | undefined;
  let gw: InProcessGateway | undefined;
  const close = async () => {
    await gw?.close().catch(() => undefined);
    await sql?.end({ timeout: 1 }).catch(() => undefined);
    await upstream?.stop();
    await pg?.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    port = await freePort();
    pg = await startEmbeddedPostgres({ dataDir, port });
    sql = createSql({ url: pg.url, max: 2, prepare: false, connectTimeoutMs: 2_000 });
    await migrate(sql);
    upstream = await startUpstreamProcess({ jwtSecret: TEST_JWT_SECRET });
    gw = await startGateway(pg.url, upstream.url, { DB_CONNECT_TIMEOUT: '1s' });
  } catch (error) {
    await close();
    throw error;
  }
  const fixedPort = port;
  return {
    sql,
    upstream,
    gw,
    stopPostgres: async () => { await pg?.stop(); },
    startPostgres: async () => { pg = await startEmbeddedPostgres({ dataDir, port: fixedPort }); },
    close,
  };
}
