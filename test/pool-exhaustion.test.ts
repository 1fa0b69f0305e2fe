// A saturated database must not pile requests up: with the pool busy (the quota row locked by an
// operator's open transaction), admissions wait at most DB_STATEMENT_TIMEOUT, past DB_MAX_PENDING they
// are refused at once, every refusal is a clear 503, and no hold is left behind for a request that got one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { waitSettled, waitWorkspaceAtRest } from './helpers/metering.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';

let h: Harness;
let tight: InProcessGateway;
beforeAll(async () => {
  h = await startHarness();
  tight = await startGateway(h.db.url, h.upstream.url, { DB_POOL_MAX: '1', DB_MAX_PENDING: '4', DB_STATEMENT_TIMEOUT: '400ms' });
});
afterAll(async () => {
  await tight?.close();
  await h?.close();
});

describe('an exhausted pool', () => {
  it('answers 503 within the bounded wait, refuses past the queue limit, and leaks no hold', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 1_000_000, requestsLimit: 1_000 });
    const token = await librechatToken(ws.email);
    await postChat(tight.url, { token, body: chatBody() }); // warm the connection
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    const locked = h.db.sql.begin(async (tx) => {
      await tx`SELECT 1 FROM workspace_quotas WHERE workspace_id = ${ws.workspaceId} FOR UPDATE`;
      await released;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 12 }, () => postChat(tight.url, { token, body: chatBody() })));
    const elapsed = Date.now() - started;
    release();
    await locked;
    expect(results.every((r) => r.status === 503 && r.json.error?.code === 'database_unavailable')).toBe(true);
    // 12 requests against a queue of 4: most are refused at once; none waits much past the deadline.
    expect(elapsed).toBeLessThan(5_000);
    const after = await postChat(tight.url, { token, body: chatBody() });
    expect(after.status).toBe(200);
    await waitSettled(h.db.sql, after.requestId);
    // A statement that committed after its 503 gives its hold back: wait for that, then check nothing leaked.
    await waitWorkspaceAtRest(h.db.sql, ws.workspaceId);
    const rows = await h.db.sql<{ status: string; n: number }[]>`
      SELECT status, count(*)::int AS n FROM chat_usage WHERE workspace_id = ${ws.workspaceId} GROUP BY status`;
    expect(rows.find((r) => r.status === 'reserved')).toBeUndefined();
    const quota = await quotaRow(h.db.sql, ws.workspaceId);
    const [settled] = await h.db.sql<{ tokens: number; requests: number }[]>`
      SELECT COALESCE(sum(total_tokens), 0)::int AS tokens, count(*) FILTER (WHERE status = 'settled')::int AS requests
      FROM chat_usage WHERE workspace_id = ${ws.workspaceId}`;
    expect(quota.tokens_used).toBe(settled!.tokens);
    expect(quota.requests_used).toBe(settled!.requests);
  });
});
