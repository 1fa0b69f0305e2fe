// File routes fail closed when the database cannot be reached: an upload that stores a file is refused
// 503 database_unavailable (with the top-level `message` LibreChat's toast shows) and nothing is forwarded,
// since its size could not be held against the limit.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type Gateway } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createSql, type Sql } from '../src/db/sql.ts';
import { createLogger } from '../src/log.ts';
import { upload } from './helpers/files.ts';
import { baseEnv } from './helpers/gateway.ts';
import { upstreamSaw } from './helpers/harness.ts';
import { librechatToken, TEST_JWT_SECRET } from './helpers/jwt.ts';
import { closedPort } from './helpers/raw-http.ts';
import { startUpstreamProcess, type UpstreamProcess } from './helpers/upstream-process.ts';

let upstream: UpstreamProcess;
let gateway: Gateway;
let sql: Sql;
let server: http.Server;
let url: string;

beforeAll(async () => {
  upstream = await startUpstreamProcess({ jwtSecret: TEST_JWT_SECRET });
  const databaseUrl = `postgres://postgres:postgres@127.0.0.1:${await closedPort()}/nowhere`;
  const config = loadConfig(baseEnv(databaseUrl, upstream.url, { PORT: '0', HOST: '127.0.0.1', DB_CONNECT_TIMEOUT: '1s', DB_STATEMENT_TIMEOUT: '2s' }));
  sql = createSql({ url: databaseUrl, max: 2, prepare: true, connectTimeoutMs: config.dbConnectTimeoutMs });
  gateway = buildGateway({ config, sql, logger: createLogger('silent'), instanceId: randomUUID() });
  server = http.createServer(gateway.requestListener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  gateway?.close();
  await sql?.end({ timeout: 1 });
  await upstream?.stop();
});

describe('file routes with the database down', () => {
  it('refuse an upload 503 database_unavailable and forward nothing', async () => {
    const up = await upload(url, { token: await librechatToken('someone@example.com'), fileBytes: 1_000 });
    expect(up.status, up.text).toBe(503);
    expect(up.json.error?.code).toBe('database_unavailable');
    expect(up.json.message).toBe(up.json.error?.message);
    expect(await upstreamSaw(upstream, up.requestId)).toBe(false);
  });
});
