// File storage over real HTTP (DESIGN.md "File storage"): an upload that stores a file is admitted in ONE
// statement holding its Content-Length against files_limit (MB), settled to LibreChat's `bytes` on its 200
// and given back otherwise; a delete gives the bytes back on LibreChat's 200; files_used is whole MB,
// rounded up. Refusals say in a top-level `message` how much is used and allowed, and forward nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statementCalls } from './helpers/database.ts';
import { upstreamSaw, startHarness, type Harness } from './helpers/harness.ts';
import { deleteFiles, MiB, storageOf, upload } from './helpers/files.ts';
import { librechatToken, librechatUserId } from './helpers/jwt.ts';
import { send } from './helpers/raw-http.ts';
import { seedWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

async function workspace(filesLimitMb: number, opts: { filesUsed?: number; role?: string } = {}) {
  const ws = await seedWorkspace(h.db.sql, { role: opts.role });
  await h.db.sql`UPDATE workspace_quotas SET files_limit = ${filesLimitMb}, files_used = ${opts.filesUsed ?? 0} WHERE workspace_id = ${ws.workspaceId}`;
  // Each user its own LibreChat id, so LibreChat (the fake) tells their files apart.
  return { ...ws, token: await librechatToken(ws.email, { id: librechatUserId() }) };
}

async function audit(requestId: string) {
  return h.db.sql<{ action: string; status: string; error_message: string | null; details: Record<string, unknown>; workspace_id: string | null; resource_id: string | null }[]>`
    SELECT action, status, error_message, details, workspace_id, resource_id FROM audit_logs WHERE details ->> 'request_id' = ${requestId}`;
}

describe('an upload that fits', () => {
  it('is forwarded as it streams, settled to LibreChat\'s bytes, and raises files_used by them rounded up; its delete gives them back', async () => {
    const ws = await workspace(10);
    const up = await upload(h.gw.url, { token: ws.token, fileBytes: 1_500_000 });
    expect(up.status, up.text).toBe(200);
    expect(up.json).toMatchObject({ message: 'File uploaded and processed successfully', bytes: 1_500_000 });
    const fileId = up.json.file_id as string;
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === up.requestId);
    expect(seen.headers['x-workspace-id']).toBe(ws.workspaceId);
    expect(seen.headers['x-tenant-id']).toBe(ws.tenantId);
    // Settled before the client got the answer: no waiting needed.
    expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ filesUsed: 2, storedBytes: 1_500_000, heldBytes: 0 });
    const [file] = await h.db.sql`SELECT status, bytes::int, hold_bytes::int, user_id, route FROM workspace_files WHERE file_id = ${fileId}`;
    expect(file).toMatchObject({ status: 'stored', bytes: 1_500_000, user_id: ws.userId, route: '/api/files' });
    expect(file!.hold_bytes).toBeGreaterThan(1_500_000);
    const [uploaded] = await audit(up.requestId);
    expect(uploaded).toMatchObject({ action: 'file_uploaded', status: 'success', workspace_id: ws.workspaceId, resource_id: fileId, details: { file_id: fileId, bytes: 1_500_000 } });

    const second = await upload(h.gw.url, { token: ws.token, fileBytes: 600_000, path: '/API/Files/Images/' });
    expect(second.status, second.text).toBe(200);
    expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ filesUsed: 3, storedBytes: 2_100_000 });

    const removed = await deleteFiles(h.gw.url, ws.token, [fileId]);
    expect(removed.status, removed.text).toBe(200);
    expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ filesUsed: 1, storedBytes: 600_000, heldBytes: 0 });
    const [deleted] = await audit(removed.requestId);
    expect(deleted).toMatchObject({ action: 'file_deleted', workspace_id: ws.workspaceId, details: { file_id: fileId, bytes: 1_500_000 } });
    // A second delete of the same file gives nothing back twice.
    expect((await deleteFiles(h.gw.url, ws.token, [fileId])).status).toBe(200);
    expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ filesUsed: 1, storedBytes: 600_000 });
  });

  it('gives the hold back when LibreChat does not store the file, and passes its answer on', async () => {
    const ws = await workspace(10);
    const failed = await upload(h.gw.url, { token: ws.token, fileBytes: 50_000, headers: { 'x-fake-upload': 'status=500' } });
    expect(failed.status).toBe(500);
    expect(failed.json).toEqual({ message: 'Error processing file' });
    expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ filesUsed: 0, storedBytes: 0, heldBytes: 0 });
    const [row] = await h.db.sql`SELECT status FROM workspace_files WHERE request_id = ${failed.requestId}`;
    expect(row!.status).toBe('released');
  });

  it('does not count a delete LibreChat refuses, nor another tenant\'s file', async () => {
    const owner = await workspace(10);
    const stranger = await workspace(10);
    const up = await upload(h.gw.url, { token: owner.token, fileBytes: 100_000 });
    const fileId = up.json.file_id as string;
    const refused = await deleteFiles(h.gw.url, stranger.token, [fileId]);
    expect(refused.status).toBe(403);
    expect(await storageOf(h.db.sql, owner.workspaceId)).toMatchObject({ filesUsed: 1, storedBytes: 100_000 });
    // The same LibreChat user signed in through another tenant: LibreChat deletes its file, but a caller of
    // another tenant never gives back this tenant's bytes (they stay counted until a reconciliation).
    const [ownerClaims] = owner.token.split('.').slice(1, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as { id: string });
    const twin = await librechatToken(stranger.email, { id: ownerClaims!.id });
    const crossTenant = await deleteFiles(h.gw.url, twin, [fileId]);
    expect(crossTenant.status).toBe(200);
    expect(await storageOf(h.db.sql, owner.workspaceId)).toMatchObject({ filesUsed: 1, storedBytes: 100_000 });
    expect(await audit(crossTenant.requestId)).toHaveLength(0);
  });

  it('leaves avatars, speech to text and other file routes alone', async () => {
    const token = await librechatToken(`nobody-${randomUUID()}@example.com`);
    const avatar = await send(h.gw.url, '/api/files/images/avatar', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-length': '3' }, body: 'abc' });
    expect(avatar.status).toBe(404); // the fake has no avatar route: LibreChat's answer, not a gateway refusal
    expect(avatar.text).not.toContain('user_inactive');
  });
});

describe('an upload that does not fit', () => {
  it('is refused 429 quota_exceeded (kind files) with a sentence in `message`, audited, and nothing is forwarded', async () => {
    const ws = await workspace(1);
    const up = await upload(h.gw.url, { token: ws.token, fileBytes: 2 * MiB });
    expect(up.status, up.text).toBe(429);
    expect(up.json.error).toMatchObject({ code: 'quota_exceeded', request_id: up.requestId, details: { kind: 'files', files_limit: 1, files_used: 0 } });
    expect(up.json.message).toMatch(/0\.0 MB of 1 MB used.*needs 2\.1 MB/);
    expect(up.json.message).toBe(up.json.error.message);
    expect(up.json.code).toBeUndefined();
    expect(await upstreamSaw(h.upstream, up.requestId)).toBe(false);
    const [denied] = await audit(up.requestId);
    expect(denied).toMatchObject({ action: 'file_denied', status: 'failed', error_message: 'quota_exceeded', details: { kind: 'files', code: 'quota_exceeded' } });
    expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ filesUsed: 0, heldBytes: 0 });
  });

  it('counts what the workspace stored before the gateway counted bytes (files_used)', async () => {
    const ws = await workspace(5, { filesUsed: 5 });
    const up = await upload(h.gw.url, { token: ws.token, fileBytes: 10 });
    expect(up.status).toBe(429);
    expect(up.json.message).toMatch(/5\.0 MB of 5 MB used/);
  });

  it('answers 411 length_required to an upload without Content-Length, before any SQL', async () => {
    const ws = await workspace(10);
    const requestId = `chunked-${randomUUID()}`;
    const reply = await send(h.gw.url, '/api/files', {
      method: 'POST', headers: { authorization: `Bearer ${ws.token}`, 'content-type': 'multipart/form-data; boundary=x', 'transfer-encoding': 'chunked', 'x-request-id': requestId },
      body: [Buffer.from('--x\r\n'), Buffer.from('data')],
    });
    expect(reply.status).toBe(411);
    const json = JSON.parse(reply.text) as { error: { code: string }; message: string };
    expect(json.error.code).toBe('length_required');
    expect(json.message).toMatch(/Content-Length/);
    expect(await upstreamSaw(h.upstream, requestId)).toBe(false);
    expect(await audit(requestId)).toHaveLength(0);
  });

  it('applies the chats\' identity rules: 401 without a token, 403 for a viewer', async () => {
    const noToken = await send(h.gw.url, '/api/files', { method: 'POST', headers: { 'content-length': '3' }, body: 'abc' });
    expect(noToken.status).toBe(401);
    const viewer = await workspace(10, { role: 'viewer' });
    const up = await upload(h.gw.url, { token: viewer.token, fileBytes: 10 });
    expect(up.json.error?.code).toBe('role_forbidden');
    expect(await upstreamSaw(h.upstream, up.requestId)).toBe(false);
  });
});

describe('statements', () => {
  it('decides an upload in one statement (and settles it in one more)', async () => {
    const ws = await workspace(1);
    await upload(h.gw.url, { token: ws.token, fileBytes: 10 });
    await upload(h.gw.url, { token: ws.token, fileBytes: 2 * MiB });
    await h.db.sql`SELECT pg_stat_statements_reset()`;
    expect((await upload(h.gw.url, { token: ws.token, fileBytes: 2 * MiB })).status).toBe(429);
    expect(await statementCalls(h.db.sql)).toBe(1);
    await h.db.sql`SELECT pg_stat_statements_reset()`;
    expect((await upload(h.gw.url, { token: ws.token, fileBytes: 10 })).status).toBe(200);
    expect(await statementCalls(h.db.sql)).toBe(2);
  });
});
