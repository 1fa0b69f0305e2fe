// Settlement in batches (issue 18): generations that end while a settlement statement runs are settled
// together by the next one. Each still exactly once, each quota correction decided per chat against the
// quota row as locked (a chat admitted before a quota reset is charged in full), a never-taken chat's
// request given back, and the books balance when many chats end together through the gateway.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitChatStatement } from '../src/admission/statement.ts';
import { createSettlementBatcher } from '../src/metering/settle-batcher.ts';
import type { Settlement } from '../src/metering/settle.ts';
import { postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { completedAudit, waitSettled } from './helpers/metering.ts';
import { quotaRow, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

async function admit(ws: SeededWorkspace): Promise<{ usageId: string; requestId: string }> {
  const usageId = randomUUID();
  const requestId = `r-${usageId}`;
  const [row] = await admitChatStatement(h.db.sql, {
    who: { tenantClaimed: true, tenantId: ws.tenantId, userId: ws.userId, email: null, host: 'localhost', workspaceGiven: true, workspaceId: ws.workspaceId },
    req: { requestId, endpoint: 'openAI', model: 'gpt-4o', ipAddress: '127.0.0.1', userAgent: 'batch' },
    slots: [['gpt-4o']], promptTokens: 10, bodyOutputCap: 90, usageId, instanceId: randomUUID(),
  });
  expect(row?.code).toBeNull();
  return { usageId, requestId };
}

/** Calls of the settlement statements (single and batch) in this test's database so far. */
async function settlementCalls(): Promise<number> {
  const [row] = await h.db.sql<{ calls: string | null }[]>`
    SELECT sum(calls)::text AS calls FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query ILIKE '%closed AS (%' AND query ILIKE '%INSERT INTO audit_logs%'`;
  return Number(row?.calls ?? 0);
}

const usage = (total: number): Settlement['usage'] => ({ promptTokens: 10, completionTokens: total - 10, totalTokens: total, source: 'on_token_usage', perModel: {} });

describe('settlement in batches', () => {
  it('settles what arrives together in one statement, each exactly once, each correction per chat', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 10_000_000, requestsLimit: 1_000 });
    const chats = [];
    for (let i = 0; i < 20; i += 1) chats.push(await admit(ws));
    const before = await quotaRow(h.db.sql, ws.workspaceId);
    const holds = new Map((await h.db.sql<{ usage_id: string; hold_tokens: number }[]>`
      SELECT usage_id::text, hold_tokens FROM chat_usage WHERE workspace_id = ${ws.workspaceId}`).map((r) => [r.usage_id, r.hold_tokens]));
    // Two chats were admitted in a quota period that has since been reset: they are charged in full.
    const earlierPeriod = chats.slice(0, 2).map((c) => c.usageId);
    await h.db.sql`UPDATE chat_usage SET quota_reset_at = '2000-01-01' WHERE usage_id = ANY(${earlierPeriod}::uuid[])`;
    const calls = await settlementCalls();
    const batcher = createSettlementBatcher(h.db.sql);
    // All in one tick: the first goes alone, the other 19 (and a repeat of one of them) wait for it.
    const results = await Promise.all([
      ...chats.map((c, i) => batcher.settle({ usageId: c.usageId, outcome: 'completed', usage: usage(20 + i), neverTaken: i === 5 })),
      batcher.settle({ usageId: chats[7]!.usageId, outcome: 'completed', usage: usage(999) }),
    ]);
    expect(results).toEqual([...chats.map(() => true), false]);
    expect(await settlementCalls() - calls).toBe(3); // the first alone, the 19 together, the repeat after them
    let expected = before.tokens_used;
    chats.forEach((c, i) => { expected += earlierPeriod.includes(c.usageId) ? 20 + i : 20 + i - holds.get(c.usageId)!; });
    const after = await quotaRow(h.db.sql, ws.workspaceId);
    expect(after.tokens_used).toBe(expected);
    expect(after.requests_used).toBe(before.requests_used - 1); // chat 5 was never taken
    for (const [i, c] of chats.entries()) {
      const audits = await completedAudit(h.db.sql, c.requestId);
      expect(audits).toHaveLength(1);
      expect(audits[0]!.details).toMatchObject({ outcome: 'completed', total_tokens: 20 + i, usage_id: c.usageId });
    }
    const rows = await h.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM chat_usage WHERE workspace_id = ${ws.workspaceId} AND status = 'settled'`;
    expect(rows[0]!.n).toBe(20);
  });

  it('with a linger, settlements that end one after another share one statement', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 10_000_000, requestsLimit: 1_000 });
    const chats = [];
    for (let i = 0; i < 5; i += 1) chats.push(await admit(ws));
    const calls = await settlementCalls();
    const batcher = createSettlementBatcher(h.db.sql, { lingerMs: 200 });
    // Each settlement in a tick of its own, as generations that end a few milliseconds apart.
    const results: Promise<boolean>[] = [];
    for (const c of chats) {
      results.push(batcher.settle({ usageId: c.usageId, outcome: 'completed', usage: usage(30) }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await Promise.all(results)).toEqual(chats.map(() => true));
    expect(await settlementCalls() - calls).toBe(1);
    for (const c of chats) expect(await completedAudit(h.db.sql, c.requestId)).toHaveLength(1);
    // Without one, the first goes at once and the rest after it.
    const more = [];
    for (let i = 0; i < 3; i += 1) more.push(await admit(ws));
    const eager = createSettlementBatcher(h.db.sql);
    const before = await settlementCalls();
    const eagerResults: Promise<boolean>[] = [];
    for (const c of more) {
      eagerResults.push(eager.settle({ usageId: c.usageId, outcome: 'completed', usage: usage(30) }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await Promise.all(eagerResults)).toEqual([true, true, true]);
    expect(await settlementCalls() - before).toBeGreaterThan(1);
  });

  it('a batch PostgreSQL refuses is settled one by one: the bad settlement fails alone, the others land once', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 10_000_000, requestsLimit: 1_000 });
    const good = await admit(ws);
    const other = await admit(ws);
    const before = await quotaRow(h.db.sql, ws.workspaceId);
    const batcher = createSettlementBatcher(h.db.sql);
    const calls = await settlementCalls();
    // The second batch carries a usage id PostgreSQL rejects: that statement fails, then each goes alone.
    const first = batcher.settle({ usageId: other.usageId, outcome: 'completed', usage: usage(30) });
    const second = await Promise.allSettled([
      batcher.settle({ usageId: good.usageId, outcome: 'completed', usage: usage(40) }),
      batcher.settle({ usageId: 'not-a-uuid', outcome: 'completed', usage: usage(50) }),
    ]);
    expect(await first).toBe(true);
    expect(second.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(second[0]).toMatchObject({ value: true });
    // The first, then good alone (pg_stat_statements counts no statement that failed: the batch, the bad one).
    expect(await settlementCalls() - calls).toBe(2);
    expect(await completedAudit(h.db.sql, good.requestId)).toHaveLength(1);
    expect(await batcher.settle({ usageId: good.usageId, outcome: 'completed', usage: usage(40) })).toBe(false);
    expect(await completedAudit(h.db.sql, good.requestId)).toHaveLength(1);
    const holds = await h.db.sql<{ hold_tokens: number }[]>`SELECT hold_tokens FROM chat_usage WHERE usage_id = ANY(${[good.usageId, other.usageId]}::uuid[])`;
    expect((await quotaRow(h.db.sql, ws.workspaceId)).tokens_used).toBe(before.tokens_used + 70 - holds.reduce((n, r) => n + r.hold_tokens, 0));
  });

  it('many chats ending together through the gateway: every one settled once, the books balance', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 10_000_000, requestsLimit: 1_000 });
    const token = await librechatToken(ws.email);
    const calls = await settlementCalls();
    const chats = await Promise.all(Array.from({ length: 24 }, () => postChat(h.gw.url, { token, headers: { 'x-workspace-id': ws.workspaceId } })));
    expect(chats.map((c) => c.status)).toEqual(chats.map(() => 200));
    const rows = await Promise.all(chats.map((c) => waitSettled(h.db.sql, c.requestId)));
    for (const c of chats) expect(await completedAudit(h.db.sql, c.requestId)).toHaveLength(1);
    const quota = await quotaRow(h.db.sql, ws.workspaceId);
    expect(quota.tokens_used).toBe(rows.reduce((n, r) => n + r.total_tokens, 0));
    expect(quota.requests_used).toBe(24);
    expect(await settlementCalls() - calls).toBeLessThanOrEqual(24);
  });
});
