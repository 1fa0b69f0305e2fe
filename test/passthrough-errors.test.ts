// When LibreChat fails, the gateway says so in its one error shape: refused, reset or garbled connections
// are 502 upstream_unavailable, headers later than UPSTREAM_HEADERS_TIMEOUT are 504 upstream_timeout, and a
// response cut after its headers went out is cut for the client too. Plus the gateway's own /_gateway
// routes, which are answered here and never forwarded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { TEST_JWT_SECRET } from './helpers/jwt.ts';
import { closedPort, echoOf, send, type Reply } from './helpers/raw-http.ts';
import { startUpstreamProcess } from './helpers/upstream-process.ts';

let h: Harness;
/** A gateway whose LibreChat refuses connections. */
let nowhere: InProcessGateway;
/** A gateway that waits only 300 ms for LibreChat's response headers. */
let impatient: InProcessGateway;
beforeAll(async () => {
  h = await startHarness();
  nowhere = await startGateway(h.db.url, `http://127.0.0.1:${await closedPort()}`);
  impatient = await startGateway(h.db.url, h.upstream.url, { UPSTREAM_HEADERS_TIMEOUT: '300' });
});
afterAll(async () => {
  await impatient?.close();
  await nowhere?.close();
  await h?.close();
});

/** The error shape exactly, its request id matching the header. */
function expectError(reply: Reply, status: number, code: string, requestId?: string) {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(reply.text) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'request_id']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toBeTypeOf('string');
  expect(body.error.request_id).toBe(reply.headers['x-request-id']);
  if (requestId) expect(body.error.request_id).toBe(requestId);
}

describe('LibreChat unreachable or broken: 502 upstream_unavailable', () => {
  it('a refused connection answers 502 in the error shape, for bodiless and streamed requests alike', async () => {
    const requestId = `refused-${randomUUID()}`;
    expectError(await send(nowhere.url, '/api/convos?pageNumber=1', { headers: { 'x-request-id': requestId } }), 502, 'upstream_unavailable', requestId);
    // A streamed body on a pass-through route (an avatar: no File record, so no storage admission first).
    const upload = await send(nowhere.url, '/api/files/images/avatar', {
      method: 'POST', headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, body: [Buffer.alloc(256 * 1024, 1), Buffer.alloc(1024, 2)],
    });
    expectError(upload, 502, 'upstream_unavailable');
  });

  it('a connection LibreChat resets answers 502', async () => {
    const requestId = `reset-${randomUUID()}`;
    expectError(await send(h.gw.url, '/__fake/reset-socket', { headers: { 'x-request-id': requestId } }), 502, 'upstream_unavailable', requestId);
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === requestId);
    expect(seen.serverClosed).toBe(true);
  });

  it('an answer that is not HTTP answers 502', async () => {
    const requestId = `garbage-${randomUUID()}`;
    expectError(await send(h.gw.url, '/__fake/garbage', { headers: { 'x-request-id': requestId } }), 502, 'upstream_unavailable', requestId);
    // The gateway's pooled connections are still good for the next request.
    const next = await send(h.gw.url, '/__fake/echo/after-garbage');
    expect(next.status).toBe(200);
    expect(echoOf(next).url).toBe('/__fake/echo/after-garbage');
  });
});

describe('LibreChat too slow: 504 upstream_timeout', () => {
  it('no response headers within UPSTREAM_HEADERS_TIMEOUT answers 504 and abandons the upstream request', async () => {
    const requestId = `slow-${randomUUID()}`;
    const reply = await send(impatient.url, '/__fake/echo/x?delayHeadersMs=2000', { headers: { 'x-request-id': requestId } });
    expectError(reply, 504, 'upstream_timeout', requestId);
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === requestId && e.finishedAt !== null, 5_000);
    expect(seen.closedEarly).toBe(true);
    expect(seen.status).toBeNull();
  });

  it('the timeout covers the headers only: quick headers and a slow stream after them pass', async () => {
    const quick = await send(impatient.url, '/__fake/echo/quick?delayHeadersMs=20');
    expect(quick.status).toBe(200);
    // Three frames 600 ms apart: each gap is twice the headers timeout.
    const stream = await send(impatient.url, '/__fake/sse?frames=3&intervalMs=600');
    expect(stream.status).toBe(200);
    expect(stream.text.match(/^data: /gm)).toHaveLength(3);
  });
});

describe('a response cut after its headers went out', () => {
  it('is cut for the client too, never ended as if complete, and the next request answers 502', async () => {
    const upstream = await startUpstreamProcess({ jwtSecret: TEST_JWT_SECRET });
    const gw = await startGateway(h.db.url, upstream.url);
    try {
      const ending = await new Promise<'end' | 'cut' | 'hung'>((resolve, reject) => {
        setTimeout(() => resolve('hung'), 5_000).unref();
        const req = http.get(`${gw.url}/__fake/sse?frames=200&intervalMs=50`, { agent: false }, (res) => {
          let frames = 0;
          let killed = false;
          res.on('data', (chunk: Buffer) => {
            frames += chunk.toString().split('\n\n').length - 1;
            if (frames >= 2 && !killed) {
              killed = true;
              upstream.kill('SIGKILL');
            }
          });
          res.on('end', () => resolve('end'));
          res.on('error', () => resolve('cut'));
          res.on('close', () => resolve(res.complete ? 'end' : 'cut'));
        });
        req.on('error', reject);
      });
      expect(ending).toBe('cut');
      expectError(await send(gw.url, '/__fake/echo/after'), 502, 'upstream_unavailable');
    } finally {
      await gw.close();
      await upstream.stop();
    }
  });
});

describe("the gateway's own routes", () => {
  it('/_gateway/healthz answers 200 with X-Request-Id, also when LibreChat is down', async () => {
    for (const base of [h.gw.url, nowhere.url]) {
      const reply = await send(base, '/_gateway/healthz', { headers: { 'x-request-id': 'health-1' } });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.text)).toMatchObject({ status: 'ok' });
      expect(reply.headers['x-request-id']).toBe('health-1');
    }
  });

  it('/_gateway/readyz answers 200 when the database and LibreChat answer, 503 when LibreChat is down', async () => {
    const up = await send(h.gw.url, '/_gateway/readyz');
    expect(up.status, up.text).toBe(200);
    expect(JSON.parse(up.text)).toMatchObject({ database: true, librechat: true });
    expect(up.headers['x-request-id']).toBeTypeOf('string');
    const down = await send(nowhere.url, '/_gateway/readyz');
    expect(down.status, down.text).toBe(503);
    expect(JSON.parse(down.text)).toMatchObject({ database: true, librechat: false });
  });

  it('any other /_gateway path answers 404 not_found and is never forwarded', async () => {
    const marker = randomUUID();
    const paths = [`/_gateway/x-${marker}`, `/_gateway/healthz/extra?m=${marker}`, `/_gateway/?m=${marker}`];
    for (const path of paths) expectError(await send(h.gw.url, path), 404, 'not_found');
    expectError(await send(h.gw.url, `/_gateway/healthz?m=${marker}`, { method: 'POST', headers: { 'content-length': '2' }, body: '{}' }), 404, 'not_found');
    const log = await h.upstream.control.log();
    expect(log.filter((e) => e.url.includes(marker))).toEqual([]);
  });
});
