// Bodies and streams pass through as streams: a 50 MB upload reaches LibreChat byte for byte while it is
// still being sent and costs the gateway little memory; SSE arrives frame by frame, uncompressed; a client
// that leaves (mid-upload, mid-stream) makes the gateway leave LibreChat too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { baseEnv, startGatewayProcess } from './helpers/gateway.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { send } from './helpers/raw-http.ts';
import { seedWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

/** A field of /proc/<pid>/status in KiB (VmRSS: resident now; VmHWM: the peak so far). */
async function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

describe('uploads stream through, never buffered whole', () => {
  const MiB = 1024 * 1024;
  const blocks = Array.from({ length: 16 }, () => randomBytes(64 * 1024));

  /** A multipart body of `size` data bytes, generated block by block; `afterFirstMiB` runs once 1 MiB went out. */
  function multipart(size: number, boundary: string, afterFirstMiB?: () => Promise<void>) {
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const hash = createHash('sha256');
    async function* generate() {
      hash.update(head);
      yield head;
      for (let sent = 0, i = 0; sent < size; i++) {
        const block = blocks[(i * 7 + (i >> 4)) % blocks.length]!.subarray(0, Math.min(64 * 1024, size - sent));
        hash.update(block);
        sent += block.length;
        yield block;
        if (sent === MiB && afterFirstMiB) await afterFirstMiB();
      }
      hash.update(tail);
      yield tail;
    }
    return { length: head.length + size + tail.length, generate, digest: () => hash.digest('hex') };
  }

  it('a 50 MB multipart upload reaches LibreChat byte for byte, starts arriving before it is sent, and costs the gateway little memory', async () => {
    // A gateway process of its own, so its resident memory is its alone (/proc/<pid>/status).
    const gw = await startGatewayProcess(baseEnv(h.db.url, h.upstream.url));
    try {
      // An upload that stores a file is admitted against the workspace's storage (files_limit 100 MB by default).
      const ws = await seedWorkspace(h.db.sql);
      const token = await librechatToken(ws.email);
      const requestId = `upload-${randomUUID()}`;
      const boundary = `----geko${randomUUID()}`;
      const headers = (length: number) => ({ authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(length) });
      // Warm the path up so the baseline includes sockets, parsers and the proxy's code.
      const warm = multipart(2 * MiB, boundary);
      expect((await send(gw.url, '/api/files', { method: 'POST', headers: headers(warm.length), body: warm.generate() })).status).toBe(200);

      let reachedUpstreamEarly = false;
      const upload = multipart(50 * MiB, boundary, async () => {
        await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === requestId, 5_000);
        reachedUpstreamEarly = true;
      });
      const before = await memoryKiB(gw.child.pid!, 'VmRSS');
      const reply = await send(gw.url, '/api/files', { method: 'POST', headers: { ...headers(upload.length), 'x-request-id': requestId }, body: upload.generate() });
      const peak = await memoryKiB(gw.child.pid!, 'VmHWM');
      expect(reply.status, reply.text).toBe(200);
      expect(reachedUpstreamEarly).toBe(true);
      expect(JSON.parse(reply.text)).toMatchObject({ bytes: 50 * MiB, body_bytes: upload.length, body_sha256: upload.digest() });
      const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === requestId && e.status !== null);
      expect(seen.headers['content-length']).toBe(String(upload.length));
      expect(seen.headers['content-type']).toBe(`multipart/form-data; boundary=${boundary}`);
      expect(seen.bodyBytes).toBe(upload.length);
      // The peak resident size during the upload, over the size before it: a buffered 50 MB body would show.
      // Measured: about 30 MiB whatever the body size (garbage not yet collected), 10 MB to 200 MB alike.
      const growthMiB = (peak - before) / 1024;
      expect(growthMiB, `peak RSS growth ${growthMiB.toFixed(1)} MiB`).toBeLessThan(40);
    } finally {
      await gw.stop();
    }
  });

  it('an upload the client abandons mid-body is cancelled upstream too, and its hold given back', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    const requestId = `abandon-${randomUUID()}`;
    const req = http.request(`${h.gw.url}/api/files`, {
      method: 'POST', agent: false,
      headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId, 'content-type': 'application/octet-stream', 'content-length': String(50 * MiB) },
    });
    req.on('error', () => undefined);
    req.write(randomBytes(2 * MiB));
    await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === requestId, 5_000);
    req.destroy();
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === requestId && e.closedEarly, 3_000);
    expect(seen.status).toBeNull();
    expect(seen.bodyBytes).toBeNull();
    for (let i = 0; ; i += 1) {
      const [row] = await h.db.sql<{ status: string }[]>`SELECT status FROM workspace_files WHERE request_id = ${requestId}`;
      if (row?.status === 'released') break;
      if (i > 100) throw new Error(`hold not given back: ${row?.status}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [storage] = await h.db.sql<{ held: string }[]>`SELECT held_bytes::text AS held FROM workspace_storage WHERE workspace_id = ${ws.workspaceId}`;
    expect(storage!.held).toBe('0');
  });
});

describe('SSE passes frame by frame', () => {
  interface Arrival { n: number; at: number }

  it('delivers each frame as LibreChat sends it, uncompressed, before LibreChat has finished', async () => {
    const marker = randomUUID();
    const path = `/__fake/sse?frames=10&intervalMs=100&m=${marker}`;
    const started = Date.now();
    const arrivals: Arrival[] = [];
    let upstreamStateAtFirstFrame: Promise<number | null | undefined> | undefined;
    const reply = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; chunks: number }>((resolve, reject) => {
      const req = http.get(`${h.gw.url}${path}`, { agent: false, headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip, br' } }, (res) => {
        let buffered = '';
        let chunks = 0;
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          chunks++;
          buffered += text;
          let end: number;
          while ((end = buffered.indexOf('\n\n')) !== -1) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (!data) continue;
            arrivals.push({ n: (JSON.parse(data.slice(6)) as { n: number }).n, at: Date.now() - started });
            upstreamStateAtFirstFrame ??= h.upstream.control.log().then((log) => log.find((e) => e.url === path)?.finishedAt);
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/event-stream');
    expect(reply.headers['content-encoding'] ?? 'identity').toBe('identity');
    expect(reply.headers['x-request-id']).toBeTypeOf('string');
    expect(arrivals.map((a) => a.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(reply.chunks).toBeGreaterThan(1);
    // While the client held frame 0, LibreChat was still sending (its response had not finished).
    expect(await upstreamStateAtFirstFrame).toBeNull();
    // LibreChat spaced the frames 900 ms apart in all; buffering would deliver them together.
    expect(arrivals[9]!.at - arrivals[0]!.at).toBeGreaterThan(400);
  });

  it('a client that leaves mid-stream closes the upstream request promptly', async () => {
    const marker = randomUUID();
    const path = `/__fake/sse?frames=200&intervalMs=50&m=${marker}`;
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${h.gw.url}${path}`, { agent: false }, (res) => {
        let frames = 0;
        res.on('data', (chunk: Buffer) => {
          frames += chunk.toString().split('\n\n').length - 1;
          if (frames >= 2) {
            req.destroy();
            resolve();
          }
        });
        res.on('end', () => reject(new Error('the stream ended before the client left')));
      });
      req.on('error', () => undefined);
    });
    const left = Date.now();
    const seen = await h.upstream.control.waitFor((e) => e.url === path && e.closedEarly, 3_000);
    expect(seen.serverClosed).toBe(false);
    // 200 frames take 10 s; the upstream saw the close long before that.
    expect(seen.finishedAt! - left).toBeLessThan(3_000);
  });
});
