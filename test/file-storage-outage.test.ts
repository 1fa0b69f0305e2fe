// A database outage between an upload's hold and LibreChat's answer loses nothing: the client still gets
// LibreChat's 200, and the settlement is retried until PostgreSQL is back, so the file is counted with its
// bytes and the hold leaves held_bytes exactly once.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipartBody, storageOf } from './helpers/files.ts';
import { librechatToken } from './helpers/jwt.ts';
import { startOutageHarness, type OutageHarness } from './helpers/outage.ts';
import { seedWorkspace } from './helpers/seed.ts';

let h: OutageHarness;

beforeAll(async () => {
  h = await startOutageHarness('geko-files-down-');
});

afterAll(async () => {
  await h?.close();
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
    const ws = await seedWorkspace(h.sql);
    const token = await librechatToken(ws.email);
    const { body, boundary, fileBytes } = multipartBody({ fileBytes: 1_500_000 });
    const requestId = `outage-${Date.now()}`;
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${h.gw.url}/api/files`, {
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
        const [row] = await h.sql<{ status: string }[]>`SELECT status FROM workspace_files WHERE request_id = ${requestId}`;
        return row?.status === 'held' ? true : undefined;
      }, 'the hold').then(async () => {
        await h.stopPostgres();
        req.end(body.subarray(1000));
      }, reject);
    });
    const reply = await answer;
    expect(reply.status, reply.text).toBe(200);
    expect(JSON.parse(reply.text)).toMatchObject({ bytes: fileBytes });

    await h.startPostgres();
    const row = await poll(async () => {
      const [found] = await h.sql<{ status: string; bytes: string }[]>`SELECT status, bytes::text FROM workspace_files WHERE request_id = ${requestId}`;
      return found?.status === 'stored' ? found : undefined;
    }, 'the retried settlement');
    expect(Number(row.bytes)).toBe(fileBytes);
    expect(await storageOf(h.sql, ws.workspaceId)).toMatchObject({ storedBytes: fileBytes, heldBytes: 0, filesUsed: 2 });
    const [audit] = await h.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_logs WHERE action = 'file_uploaded' AND details ->> 'request_id' = ${requestId}`;
    expect(audit!.n).toBe(1);
  });
});
