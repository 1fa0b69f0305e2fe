// Upload holds whose answer never comes: the process that took one is killed mid-upload, and the upload
// sweep of another process (wired in main.ts beside the chat sweeper) gives the hold back once the dead
// process's heartbeat is stale. A live process's hold is left alone, and an answer that comes after its
// hold expired still records the file.
import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireUploadHolds } from '../src/files/upload-sweep.ts';
import { settleStoredUpload } from '../src/files/settle.ts';
import { baseEnv, startGatewayProcess, type GatewayProcess } from './helpers/gateway.ts';
import { MiB, storageOf } from './helpers/files.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { seedWorkspace } from './helpers/seed.ts';

let h: Harness;
let sweeping: GatewayProcess;
const env = () => baseEnv(h.db.url, h.upstream.url, { MIGRATE_ON_START: 'false', SWEEP_INTERVAL: '200ms', INSTANCE_STALE_AFTER: '1s' });

beforeAll(async () => {
  h = await startHarness();
  sweeping = await startGatewayProcess(env());
});
afterAll(async () => {
  await sweeping?.stop('SIGKILL');
  await h?.close();
});

async function waitFor<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await read();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts an upload of `declared` bytes and sends only part of it; the request stays open. */
function startUpload(url: string, token: string, requestId: string, declared: number): http.ClientRequest {
  const req = http.request(`${url}/api/files`, {
    method: 'POST', agent: false,
    headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId, 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(declared) },
  });
  req.on('error', () => undefined);
  req.write(randomBytes(64 * 1024));
  return req;
}

const fileRow = (requestId: string) => async () => {
  const [row] = await h.db.sql<{ upload_id: string; status: string }[]>`SELECT upload_id, status FROM workspace_files WHERE request_id = ${requestId}`;
  return row;
};

describe('upload holds whose answer never comes', () => {
  it('are given back by another process\'s sweep once the process that took them is gone', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    const dying = await startGatewayProcess(env());
    const requestId = `dying-${randomUUID()}`;
    const req = startUpload(dying.url, token, requestId, 5 * MiB);
    await waitFor(async () => ((await fileRow(requestId)())?.status === 'held' ? true : undefined), 'the hold');
    expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ heldBytes: 5 * MiB });
    await dying.stop('SIGKILL');
    req.destroy();
    await waitFor(async () => ((await fileRow(requestId)())?.status === 'expired' ? true : undefined), 'the sweep');
    expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ heldBytes: 0, storedBytes: 0, filesUsed: 0 });
  });

  it('leave a live process\'s hold alone, and an answer after expiry still records the file', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    const requestId = `live-${randomUUID()}`;
    // The in-process gateway runs no sweeper of its own, which is what keeps a process's heartbeat fresh:
    // beat for it here, so the other process's sweep sees it alive, as it would a real one.
    const beat = () => h.db.sql`UPDATE gateway_instances SET heartbeat_at = timezone('UTC', now()) WHERE instance_id = ${h.gw.instanceId}`;
    await beat();
    const heartbeat = setInterval(() => { beat().then(() => undefined, () => undefined); }, 100);
    const req = startUpload(h.gw.url, token, requestId, 3 * MiB);
    try {
      const row = await waitFor(fileRow(requestId), 'the hold');
      // Its own process's hold, and the process alive: left alone (here and by the other process's sweep).
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await expireUploadHolds(h.db.sql, { instanceId: h.gw.instanceId, instanceStaleMs: 60_000 })).toBe(0);
      expect((await fileRow(requestId)())?.status).toBe('held');
      // Past the backstop age it is given back all the same ...
      expect(await expireUploadHolds(h.db.sql, { instanceId: h.gw.instanceId, instanceStaleMs: 60_000, maxHoldMs: 0 })).toBe(1);
      expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ heldBytes: 0 });
      // ... and LibreChat's late 200 records the file without giving the hold back twice.
      expect(await settleStoredUpload(h.db.sql, { uploadId: row.upload_id, fileId: randomUUID(), bytes: 2 * MiB })).toBe(true);
      expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ heldBytes: 0, storedBytes: 2 * MiB, filesUsed: 2 });
    } finally {
      clearInterval(heartbeat);
      req.destroy();
    }
  });
});
