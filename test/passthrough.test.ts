// Every route that is not metered passes through untouched: what the client sends is what LibreChat's echo
// sees (method, raw path and query, headers, cookies, bodies byte for byte), and what LibreChat answers is
// what the client gets (status, headers, compressed bodies); only hop-by-hop and identity headers are the
// gateway's business. Real sockets both ways, raw node:http on the client side. Streams: passthrough-streams.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { startHarness, type Harness } from './helpers/harness.ts';
import { echoOf, send as sendTo, type Echo, type SendOptions } from './helpers/raw-http.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const send = (path: string, opts?: SendOptions) => sendTo(h.gw.url, path, opts);
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('requests reach LibreChat exactly as the client sent them', () => {
  it('forwards every method with its path, query, headers, cookies and body unchanged', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const body = method === 'GET' ? undefined : JSON.stringify({ method, note: 'spacing  kept é', n: [1, 2] });
      const headers: http.OutgoingHttpHeaders = {
        host: 'chat.example.test',
        authorization: 'Bearer sk-not-a-jwt-0123456789',
        cookie: 'connect.sid=s%3Aabc.def; refreshToken=r.t.k; geko_workspace=ws-1; quoted="a b"',
        'user-agent': 'passthrough-test/1.0',
        accept: 'application/json, text/plain;q=0.9',
        'accept-language': 'de-CH, en;q=0.5',
        'x-custom': '  value with  inner spaces',
        'x-multi': ['first', 'second'],
      };
      if (body !== undefined) {
        headers['content-type'] = 'application/json; charset=utf-8';
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      const path = `/__fake/echo/api/convos/${method.toLowerCase()}?pageSize=25&cursor=abc&order=desc`;
      const reply = await send(path, { method, headers, body });
      expect(reply.status, reply.text).toBe(200);
      const seen = echoOf(reply);
      expect(seen.method).toBe(method);
      expect(seen.url).toBe(path);
      expect(seen.headers).toMatchObject({
        host: 'chat.example.test', authorization: headers.authorization, cookie: headers.cookie, 'user-agent': headers['user-agent'],
        accept: headers.accept, 'accept-language': headers['accept-language'], 'x-custom': 'value with  inner spaces', 'x-multi': 'first, second',
      });
      expect(seen.bodyBytes).toBe(body === undefined ? 0 : Buffer.byteLength(body));
      if (body !== undefined) {
        expect(seen.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(body)));
        expect(seen.body).toBe(body);
      }
    }
  });

  it('keeps odd but legal path and query characters byte for byte', async () => {
    const paths = [
      "/__fake/echo/a%20b/%7Euser/~user/caf%C3%A9/;matrix=1;x=2/!$&'()*+,;=:@/end",
      '/__fake/echo/doubled//slashes///here/',
      '/__fake/echo/dot/./segment/.hidden/file.tar.gz',
      '/__fake/echo/http:/not-a-url/https://neither',
      '/__fake/echo/encoded%2Fslash%3Fquery%23hash%25percent',
      "/__fake/echo/q?a=1&a=2&empty=&flag&sp=a+b%20c&utf=%E2%9C%93&slash=/x/y?z=1&colon=:&quote='x'&at=@&sub=!$()*,;",
      '/__fake/echo/q?',
      '/__fake/echo/CaSe/Matters?KEY=Value',
    ];
    for (const path of paths) {
      const reply = await send(path);
      expect(reply.status, `${path}: ${reply.text}`).toBe(200);
      expect(echoOf(reply).url, path).toBe(path);
    }
  });

  it('streams a chunked body through unchanged, also on DELETE and GET, and smuggles nothing after it', async () => {
    // The body spells a whole second request: if the gateway lost the body's framing, LibreChat would read it as one.
    const smuggled = 'GET /__fake/echo/smuggled HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: forged\r\nContent-Length: 0\r\n\r\n';
    for (const method of ['POST', 'PUT', 'DELETE', 'GET', 'OPTIONS']) {
      const requestId = `chunked-${method}-${randomUUID()}`;
      const parts = [Buffer.from(smuggled), randomBytes(70_000), Buffer.from('tail')];
      const reply = await send(`/__fake/echo/chunked/${method}`, { method, headers: { 'x-request-id': requestId, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, body: parts });
      expect(reply.status, `${method}: ${reply.text}`).toBe(200);
      const seen = echoOf(reply);
      expect(seen.bodyBytes, method).toBe(parts.reduce((n, p) => n + p.length, 0));
      expect(seen.bodySha256, method).toBe(sha256(Buffer.concat(parts)));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const log = await h.upstream.control.log();
    expect(log.filter((e) => e.url.includes('smuggled'))).toEqual([]);
  });

  it('answers Expect: 100-continue on the client hop and still forwards the raw path and the whole body', async () => {
    const { hostname, port } = new URL(h.gw.url);
    const path = "/__fake/echo/expect//it's?x='1'";
    const body = randomBytes(300_000);
    const reply = await new Promise<{ status: number; text: string; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = http.request({ hostname, port, path, method: 'PUT', agent: false, headers: { expect: '100-continue', 'content-length': String(body.length) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, continued }));
      });
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('error', reject);
    });
    expect(reply.continued).toBe(true);
    expect(reply.status, reply.text).toBe(200);
    const seen = JSON.parse(reply.text) as Echo;
    expect(seen.url).toBe(path);
    expect(seen.bodySha256).toBe(sha256(body));
    expect(seen.headers.expect).toBeUndefined();
  });

  it('drops hop-by-hop headers and the ones Connection names, X-Tenant-Id and forged X-Forwarded-*, and sets its own', async () => {
    const reply = await send('/__fake/echo/hop', {
      method: 'POST',
      headers: {
        host: 'chat.example.test:8443',
        connection: 'keep-alive, X-Hop-Secret, x-other-hop',
        'x-hop-secret': 'must not pass',
        'x-other-hop': 'must not pass either',
        'keep-alive': 'timeout=5, max=100',
        te: 'trailers',
        trailer: 'X-Checksum',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
        'proxy-connection': 'keep-alive',
        'x-tenant-id': randomUUID(),
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        forwarded: 'for=203.0.113.7',
        'x-end-to-end': 'kept',
        'content-type': 'text/plain',
        'transfer-encoding': 'chunked',
      },
      body: [Buffer.from('hel'), Buffer.from('lo')],
    });
    expect(reply.status, reply.text).toBe(200);
    const seen = echoOf(reply);
    for (const name of ['x-hop-secret', 'x-other-hop', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection', 'x-tenant-id', 'forwarded']) {
      expect(seen.headers[name], name).toBeUndefined();
    }
    // Node's client always names its own connection option; nothing the client named may survive in it.
    expect(String(seen.headers.connection ?? '')).not.toMatch(/hop|upgrade/i);
    expect(seen.headers['x-end-to-end']).toBe('kept');
    expect(seen.body).toBe('hello');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('chat.example.test:8443');
    expect(seen.headers.host).toBe('chat.example.test:8443');
  });

  it('keeps a safe client X-Request-Id end to end and replaces an unsafe one with a fresh id it also sends upstream', async () => {
    const safe = ['abc-123_DEF.x=', 'a'.repeat(128), randomUUID()];
    for (const id of safe) {
      const reply = await send('/__fake/echo/rid', { headers: { 'x-request-id': id } });
      expect(reply.headers['x-request-id']).toBe(id);
      expect(echoOf(reply).headers['x-request-id']).toBe(id);
    }
    const unsafe = ['has space', 'a'.repeat(129), 'semi;colon', 'slash/y', '<script>', ''];
    const issued = new Set<string>();
    for (const id of unsafe) {
      const reply = await send('/__fake/echo/rid', { headers: { 'x-request-id': id } });
      const given = String(reply.headers['x-request-id']);
      expect(given, id).not.toBe(id);
      expect(given).toMatch(/^[A-Za-z0-9_.=-]{1,128}$/);
      expect(echoOf(reply).headers['x-request-id']).toBe(given);
      issued.add(given);
    }
    expect(issued.size).toBe(unsafe.length);
    const none = await send('/__fake/echo/rid');
    expect(none.headers['x-request-id']).toMatch(/^[A-Za-z0-9_.=-]{1,128}$/);
    expect(echoOf(none).headers['x-request-id']).toBe(none.headers['x-request-id']);
  });
});

describe("LibreChat's answers come back unchanged", () => {
  it('passes status codes and bodies through as they are, with X-Request-Id added', async () => {
    for (const status of [200, 201, 202, 204, 301, 304, 400, 401, 404, 409, 418, 429, 500, 503]) {
      const reply = await send(`/__fake/echo/status?status=${status}`, { headers: { 'if-none-match': '"v1"' } });
      expect(reply.status).toBe(status);
      expect(reply.headers['x-request-id']).toMatch(/^[A-Za-z0-9_.=-]{1,128}$/);
      if (status === 204 || status === 304) {
        expect(reply.body.length, String(status)).toBe(0);
      } else {
        // The echo's own JSON, not the gateway's error shape.
        const seen = echoOf(reply);
        expect(seen.url).toBe(`/__fake/echo/status?status=${status}`);
        expect(seen.headers['if-none-match']).toBe('"v1"');
      }
    }
    const notFound = await send('/api/no-such-route');
    expect(notFound.status).toBe(404);
    expect(JSON.parse(notFound.text)).toEqual({ message: 'Endpoint not found' });
  });

  it('passes response headers through, several Set-Cookie included, and drops hop-by-hop ones', async () => {
    const fakeHeaders = {
      etag: '"abc123"', 'cache-control': 'private, max-age=5', 'x-librechat': 'yes', 'content-language': 'de',
      connection: 'x-resp-hop', 'x-resp-hop': 'secret', 'keep-alive': 'timeout=99', 'proxy-authenticate': 'Basic', 'x-request-id': 'from-upstream',
    };
    const reply = await send('/__fake/echo/cookies?setCookie=refreshToken%3Dr1%3B%20HttpOnly%3B%20Path%3D%2F&setCookie=token_provider%3Dlibrechat%3B%20Secure&setCookie=a%3D1', {
      headers: { 'x-fake-response-headers': JSON.stringify(fakeHeaders), 'x-request-id': 'client-id-1' },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers['set-cookie']).toEqual(['refreshToken=r1; HttpOnly; Path=/', 'token_provider=librechat; Secure', 'a=1']);
    expect(reply.headers).toMatchObject({ etag: '"abc123"', 'cache-control': 'private, max-age=5', 'x-librechat': 'yes', 'content-language': 'de', 'content-type': 'application/json; charset=utf-8' });
    expect(reply.headers['x-resp-hop']).toBeUndefined();
    expect(reply.headers['keep-alive']).not.toBe('timeout=99');
    expect(reply.headers['proxy-authenticate']).toBeUndefined();
    expect(reply.headers['x-request-id']).toBe('client-id-1');
  });

  it('answers HEAD with the headers and no body', async () => {
    const reply = await send('/__fake/echo/head?setCookie=h%3D1', { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.headers['set-cookie']).toEqual(['h=1']);
    expect(reply.body.length).toBe(0);
    const seen = (await h.upstream.control.log()).find((e) => e.url === '/__fake/echo/head?setCookie=h%3D1');
    expect(seen?.method).toBe('HEAD');
  });

  it('closes the client connection after the answer when the client asked for Connection: close', async () => {
    const reply = await send('/__fake/echo/close', { headers: { connection: 'close' } });
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe('close');
    await reply.socketClosed;
  });

  it('passes a gzip body through compressed when the client accepts gzip, and plain when it does not', async () => {
    const zipped = await send('/__fake/echo/gz?gzip=1', { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('Accept-Encoding');
    const seen = JSON.parse(gunzipSync(zipped.body).toString('utf8')) as Echo;
    expect(seen.headers['accept-encoding']).toBe('gzip, deflate, br');
    const plain = await send('/__fake/echo/gz?gzip=1');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(echoOf(plain).headers['accept-encoding']).toBeUndefined();
  });
});
