// The storage limit holds under concurrency across processes, as the chat limits do: many uploads at once
// against one workspace, through two gateway processes on one database, never store or hold more than
// files_limit, and exactly as many as fit are admitted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, startGatewayProcess, type GatewayProcess } from './helpers/gateway.ts';
import { MiB, storageOf, upload } from './helpers/files.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken, librechatUserId } from './helpers/jwt.ts';
import { seedWorkspace } from './helpers/seed.ts';

let h: Harness;
let second: GatewayProcess;
beforeAll(async () => {
  h = await startHarness();
  second = await startGatewayProcess(baseEnv(h.db.url, h.upstream.url, { MIGRATE_ON_START: 'false' }));
});
afterAll(async () => {
  await second?.stop('SIGKILL');
  await h?.close();
});

describe('uploads under concurrency', () => {
  it('admits exactly the uploads that fit in files_limit out of 3N sent at once through two processes', async () => {
    const N = 8;
    const ws = await seedWorkspace(h.db.sql);
    await h.db.sql`UPDATE workspace_quotas SET files_limit = ${N} WHERE workspace_id = ${ws.workspaceId}`;
    const token = await librechatToken(ws.email, { id: librechatUserId() });
    // Each request is exactly 1 MiB and LibreChat reports it stored whole, so held and stored bytes are the
    // same whichever uploads settle first: exactly N fit.
    const results = await Promise.all(Array.from({ length: 3 * N }, (_, i) => upload(i % 2 === 0 ? h.gw.url : second.url, {
      token, totalBytes: MiB, headers: { 'x-fake-upload': `bytes=${MiB}` },
    })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(N);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * N);
    expect(results.filter((r) => r.status === 429).every((r) => r.json.error?.details?.kind === 'files')).toBe(true);
    expect(await storageOf(h.db.sql, ws.workspaceId)).toEqual({ filesUsed: N, filesLimit: N, storedBytes: N * MiB, heldBytes: 0 });
    const [counts] = await h.db.sql<{ stored: number; uploaded: number; denied: number }[]>`
      SELECT (SELECT count(*)::int FROM workspace_files WHERE workspace_id = ${ws.workspaceId} AND status = 'stored') AS stored,
             (SELECT count(*)::int FROM audit_logs WHERE workspace_id = ${ws.workspaceId} AND action = 'file_uploaded') AS uploaded,
             (SELECT count(*)::int FROM audit_logs WHERE workspace_id = ${ws.workspaceId} AND action = 'file_denied') AS denied`;
    expect(counts).toEqual({ stored: N, uploaded: N, denied: 2 * N });
  });
});
