// A database outage between an upload's hold and LibreChat's answer loses nothing: the client still gets
// LibreChat's 200, and the settlement is retried until PostgreSQL is back, so the file is counted with its
// bytes and the hold leaves held_bytes exactly once.
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createSql, type Sql } from '../src/db/sql.ts';
import { multipartBody, storageOf } from './helpers/files.ts';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { librechatToken, TEST_JWT_SECRET } from './helpers/jwt.ts';
import { seedWorkspace } from './helpers/seed.ts';
import { startUpstreamProcess, type UpstreamProcess } from './helpers/upstream-process.ts';

let dataDir: string;
let port: number;
let pg: EmbeddedPostgres;
let sql: Sql;
let upstream: UpstreamProcess;
let gw: InProcessGateway;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'geko-files-down-'));
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

async function poll<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await read().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('database outage during an upload', () => {
  it('retries the settlement until PostgreSQL is back; the client gets LibreChat\'s answer meanwhile', async () => {
    const ws = await seedWorkspace(sql);
    const token = await librechatToken(ws.email);
    const { body, boundary, fileBytes } = multipartBody({ fileBytes: 1_500_000 });
    const requestId = `outage-${Date.now()}`;
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${gw.url}/api/files`, {
        method: 'POST', agent: false,
        headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) },
      }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 1000));
      void poll(async () => {
        const [row] = await sql<{ status: string }[]>`SELECT status FROM workspace_files WHERE request_id = ${requestId}`;
        return row?.status === 'held' ? true : undefined;
      }, 'the hold').then(async () => {
        await pg.stop();
        req.end(body.subarray(1000));
      }, reject);
    });
    const reply = await answer;
    expect(reply.status, reply.text).toBe(200);
    expect(JSON.parse(reply.text)).toMatchObject({ bytes: fileBytes });

    pg = await startEmbeddedPostgres({ dataDir, port });
    const row = await poll(async () => {
      const [found] = await sql<{ status: string; bytes: string }[]>`SELECT status, bytes::text FROM workspace_files WHERE request_id = ${requestId}`;
      return found?.status === 'stored' ? found : undefined;
    }, 'the retried settlement');
    expect(Number(row.bytes)).toBe(fileBytes);
    expect(await storageOf(sql, ws.workspaceId)).toMatchObject({ storedBytes: fileBytes, heldBytes: 0, filesUsed: 2 });
    const [audit] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_logs WHERE action = 'file_uploaded' AND details ->> 'request_id' = ${requestId}`;
    expect(audit!.n).toBe(1);
  });
});
