// Files LibreChat creates or removes on its own are counted through a reconciliation: a client's
// `GET /api/files` through the gateway corrects the count from LibreChat's own list of that user's files
// before the client gets it (one statement, at most once a minute per user). Here LibreChat "on its own" is
// the fake reached directly, past the gateway.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileList } from '../src/files/reconcile.ts';
import { statementCalls } from './helpers/database.ts';
import { deleteFiles, storageOf, upload } from './helpers/files.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken, librechatUserId } from './helpers/jwt.ts';
import { send } from './helpers/raw-http.ts';
import { seedWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

async function workspace() {
  const ws = await seedWorkspace(h.db.sql);
  await h.db.sql`UPDATE workspace_quotas SET files_limit = 50 WHERE workspace_id = ${ws.workspaceId}`;
  return { ...ws, token: await librechatToken(ws.email, { id: librechatUserId() }) };
}

const list = (base: string, token: string) => send(base, '/api/files', { headers: { authorization: `Bearer ${token}`, 'x-request-id': `list-${randomUUID()}` } });

describe('reconciliation from GET /api/files', () => {
  it('gives back a file LibreChat removed on its own and counts one it created on its own, once a minute', async () => {
    const ws = await workspace();
    const kept = await upload(h.gw.url, { token: ws.token, fileBytes: 1_000_000 });
    const expiring = await upload(h.gw.url, { token: ws.token, fileBytes: 2_000_000 });
    const recent = await upload(h.gw.url, { token: ws.token, fileBytes: 300_000 });
    expect([kept.status, expiring.status, recent.status]).toEqual([200, 200, 200]);
    // Stored two minutes ago, except `recent`.
    await h.db.sql`UPDATE workspace_files SET stored_at = stored_at - interval '2 minutes'
                   WHERE file_id IN (${kept.json.file_id as string}, ${expiring.json.file_id as string})`;
    expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ storedBytes: 3_300_000, filesUsed: 4 });
    // LibreChat on its own: the expiring file's TTL removes it, `recent` goes too (its removal is not trusted
    // yet: it was stored within the last minute), and a tool writes a new 5 MB file.
    expect((await deleteFiles(h.upstream.url, ws.token, [expiring.json.file_id as string, recent.json.file_id as string])).status).toBe(200);
    const toolOutput = await upload(h.upstream.url, { token: ws.token, fileBytes: 5 * 1024 * 1024 });
    expect(toolOutput.status).toBe(200);

    await h.db.sql`SELECT pg_stat_statements_reset()`;
    const listed = await list(h.gw.url, ws.token);
    expect(listed.status).toBe(200);
    expect((JSON.parse(listed.text) as unknown[]).length).toBe(2);
    expect(await statementCalls(h.db.sql)).toBe(1);
    expect(await storageOf(h.db.sql, ws.workspaceId)).toMatchObject({ storedBytes: 1_000_000 + 300_000 + 5 * 1024 * 1024, filesUsed: 7 });
    const rows = await h.db.sql<{ action: string; file_id: string; bytes: number }[]>`
      SELECT action, details ->> 'file_id' AS file_id, (details ->> 'bytes')::int AS bytes FROM audit_logs
      WHERE workspace_id = ${ws.workspaceId} AND details ->> 'source' = 'reconciliation' ORDER BY action`;
    expect(rows).toEqual([
      { action: 'file_deleted', file_id: expiring.json.file_id, bytes: 2_000_000 },
      { action: 'file_uploaded', file_id: toolOutput.json.file_id, bytes: 5 * 1024 * 1024 },
    ]);

    // Within the minute the list passes through with no statement at all.
    await h.db.sql`SELECT pg_stat_statements_reset()`;
    expect((await list(h.gw.url, ws.token)).status).toBe(200);
    expect(await statementCalls(h.db.sql)).toBe(0);
  });

  it('trusts only a whole list: an array of records with file ids, at most 5,000 of them', () => {
    expect(readFileList(Buffer.from('[{"file_id":"a","bytes":5},{"file_id":"a","bytes":5},{"file_id":"b"}]'))).toEqual({ fileIds: ['a', 'b'], bytes: [5, 0] });
    expect(readFileList(Buffer.from('{"message":"Error in request"}'))).toBeUndefined();
    expect(readFileList(Buffer.from('[{"bytes":5}]'))).toBeUndefined();
    expect(readFileList(Buffer.from('[1]'))).toBeUndefined();
    expect(readFileList(Buffer.from('[{"file_id":"a"'))).toBeUndefined();
    expect(readFileList(undefined)).toBeUndefined();
    expect(readFileList(Buffer.from(JSON.stringify(Array.from({ length: 5_001 }, (_, i) => ({ file_id: `f${i}`, bytes: 1 })))))).toBeUndefined();
  });
});
