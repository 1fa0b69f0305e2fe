// The two ways the admission statement takes its quota row (src/admission/statement.ts `quotaTake`):
// inline, and through geko_take_quota (sql/migrations/00006_take_quota.sql) when other chats of the
// workspace are in flight. They must admit exactly the same chats. A property: for random quota rows
// (limits, counters, a period due or not) and random sequences of holds, each form run one chat at a
// time on its own copy of the row gives the decisions of the rule written out here, and leaves the same
// row. Then the function form under concurrency: 3N chats at once against a request limit of N.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitChatStatement, type QuotaTake } from '../src/admission/statement.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { claimedIdentity, quotaRow, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

let db: TestDatabase;
const instanceId = randomUUID();

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

interface QuotaState { tokensLimit: number; tokensUsed: number; requestsLimit: number; requestsUsed: number; resetDue: boolean }

async function admit(ws: SeededWorkspace, hold: number, takeQuota: QuotaTake): Promise<string | null> {
  const [row] = await admitChatStatement(db.sql, {
    who: claimedIdentity(ws),
    req: { requestId: randomUUID(), endpoint: 'openAI', model: 'gpt-4o', ipAddress: null, userAgent: null },
    // The hold is the prompt estimate plus the body's output cap: all of it from the cap here.
    slots: [['gpt-4o']], promptTokens: 0, bodyOutputCap: hold, usageId: randomUUID(), instanceId, takeQuota,
  });
  return row!.code;
}

/** DESIGN.md's rule, one chat at a time: a due period starts from zero; a chat needs a request left and its whole hold. */
function expected(state: QuotaState, holds: number[]): { codes: (string | null)[]; tokensUsed: number; requestsUsed: number } {
  let tokensUsed = state.resetDue ? 0 : state.tokensUsed;
  let requestsUsed = state.resetDue ? 0 : state.requestsUsed;
  const codes = holds.map((hold) => {
    if (requestsUsed >= state.requestsLimit || tokensUsed >= state.tokensLimit || tokensUsed + hold > state.tokensLimit) return 'quota_exceeded';
    tokensUsed += hold;
    requestsUsed += 1;
    return null;
  });
  // The reset is lazy: a period that is due is written back only by a chat that takes the row.
  if (!codes.includes(null)) return { codes, tokensUsed: state.tokensUsed, requestsUsed: state.requestsUsed };
  return { codes, tokensUsed, requestsUsed };
}

async function seeded(state: QuotaState): Promise<SeededWorkspace> {
  const ws = await seedWorkspace(db.sql, { tokensLimit: state.tokensLimit, requestsLimit: state.requestsLimit, models: ['gpt-4o'] });
  const resetAt = state.resetDue ? new Date(Date.now() - 86_400_000) : new Date(Date.now() + 86_400_000);
  await db.sql`UPDATE workspace_quotas SET tokens_used = ${state.tokensUsed}, requests_used = ${state.requestsUsed}, reset_at = ${resetAt}
               WHERE workspace_id = ${ws.workspaceId}`;
  return ws;
}

describe('the quota take, inline and through geko_take_quota', () => {
  it('admits the chats the rule admits and leaves the same row, either way', async () => {
    const state = fc.record({
      tokensLimit: fc.integer({ min: 0, max: 400 }),
      tokensUsed: fc.integer({ min: 0, max: 450 }),
      requestsLimit: fc.integer({ min: 0, max: 6 }),
      requestsUsed: fc.integer({ min: 0, max: 7 }),
      resetDue: fc.boolean(),
    });
    await fc.assert(fc.asyncProperty(state, fc.array(fc.integer({ min: 0, max: 150 }), { minLength: 1, maxLength: 8 }), async (quota, holds) => {
      const rule = expected(quota, holds);
      for (const form of ['inline', 'function'] as const) {
        const ws = await seeded(quota);
        const codes: (string | null)[] = [];
        for (const hold of holds) codes.push(await admit(ws, hold, form));
        expect({ form, codes }).toEqual({ form, codes: rule.codes });
        const row = await quotaRow(db.sql, ws.workspaceId);
        expect({ form, tokens: row.tokens_used, requests: row.requests_used })
          .toEqual({ form, tokens: rule.tokensUsed, requests: rule.requestsUsed });
        if (quota.resetDue && rule.codes.includes(null)) expect(row.reset_at!.getTime()).toBeGreaterThan(Date.now());
      }
    }), { numRuns: 40, seed: 18 });
  });

  it('through geko_take_quota, admits exactly the request limit of 3N chats at once', async () => {
    const N = 10;
    const ws = await seedWorkspace(db.sql, { tokensLimit: 1_000_000, requestsLimit: N, models: ['gpt-4o'] });
    const codes = await Promise.all(Array.from({ length: 3 * N }, () => admit(ws, 5, 'function')));
    expect(codes.filter((code) => code === null)).toHaveLength(N);
    expect(codes.filter((code) => code === 'quota_exceeded')).toHaveLength(2 * N);
    expect(await quotaRow(db.sql, ws.workspaceId)).toMatchObject({ requests_used: N, tokens_used: 5 * N });
    const [usage] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM chat_usage WHERE workspace_id = ${ws.workspaceId}`;
    expect(usage!.n).toBe(N);
  });
});
