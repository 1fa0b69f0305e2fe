// Fail closed: with PostgreSQL stopped, metered requests answer 503 database_unavailable at once and
// nothing reaches LibreChat; when it comes back the gateway recovers by itself (no restart), and the
// holds taken before the outage settle exactly once.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createSql, type Sql } from '../src/db/sql.ts';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { chatBody, postChat, upstreamSaw } from './helpers/harness.ts';
import { librechatToken, TEST_JWT_SECRET } from './helpers/jwt.ts';
import { waitSettled } from './helpers/metering.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';
import { startUpstreamProcess, type UpstreamProcess } from './helpers/upstream-process.ts';

let dataDir: string;
let port: number;
let pg: EmbeddedPostgres;
let sql: Sql;
let upstream: UpstreamProcess;
let gw: InProcessGateway;


beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'geko-down-'));
  port = await freePort();
  pg = await startEmbeddedPostgres({ dataDir, port });
  sql = createSql({ url: pg.url, max: 2, prepare: false, connectTimeoutMs: 2_000 });
  await migrate(sql);
  upstream = await startUpstreamProcess({ jwtSecret: TEST_JWT_SECRET });
  gw = await startGateway(pg.url, upstream.url, { DB_CONNECT_TIMEOUT: '1s' });
});

afterAll(async () => {
  await gw?.close().catch(() => undefined);
  await sql?.end({ timeout: 1 }).catch(() => undefined);
  await upstream?.stop();
  await pg?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('database outage', () => {
  it('answers 503 database_unavailable while PostgreSQL is down and recovers by itself', async () => {
    const ws = await seedWorkspace(sql, { tokensLimit: 100_000 });
    const token = await librechatToken(ws.email);
    const before = await postChat(gw.url, { token, body: chatBody({ __fake: { deltas: Array.from({ length: 20 }, () => 'w '), frameIntervalMs: 100 } }) });
    expect(before.status).toBe(200);

    await pg.stop();
    const started = Date.now();
    const during = await postChat(gw.url, { token, body: chatBody() });
    expect(during.status).toBe(503);
    expect(during.json.error?.code).toBe('database_unavailable');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await upstreamSaw(upstream, during.requestId)).toBe(false);
    const ready = await fetch(`${gw.url}/_gateway/readyz`);
    expect(ready.status).toBe(503);

    pg = await startEmbeddedPostgres({ dataDir, port });
    let after: Awaited<ReturnType<typeof postChat>> | undefined;
    for (let i = 0; i < 50 && after?.status !== 200; i += 1) {
      after = await postChat(gw.url, { token, body: chatBody() });
      if (after.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(after?.status).toBe(200);

    // The chat admitted before the outage settles once its stream ends, its settlement retried past the outage.
    const row = await waitSettled(sql, before.requestId, 15_000);
    expect(row).toMatchObject({ status: 'settled', total_tokens: 821 });
    await waitSettled(sql, after!.requestId, 15_000);
    const quota = await quotaRow(sql, ws.workspaceId);
    expect(quota).toMatchObject({ tokens_used: 2 * 821, requests_used: 2 });
  });
});
