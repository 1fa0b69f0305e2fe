// geko_admit_chat (sql/migrations/00006_admit_chat.sql), the chat admission, against (1) the quota rule
// written out here: random quota rows (limits, counters, a period due or not) and random sequences of
// holds, one chat at a time; (2) the CTE statement it replaced (test/helpers/cte-admission.ts), in random
// worlds of tenants, users, workspaces, memberships, configs and quotas, for every identity form: the same
// answer row, the same usage row and the same audit row; (3) 3N concurrent chats against a limit of N.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitChatStatement } from '../src/admission/statement.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { cteAdmitChatStatement } from './helpers/cte-admission.ts';
import { addMember, claimedIdentity, createTenant, createUser, createWorkspace, quotaRow, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';
import type { IdentityInput } from '../src/admission/statement.ts';
import type { ModelSlot } from '../src/admission/chat-request.ts';

let db: TestDatabase;
const instanceId = randomUUID();

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

interface QuotaState { tokensLimit: number; tokensUsed: number; requestsLimit: number; requestsUsed: number; resetDue: boolean }

async function admit(ws: SeededWorkspace, hold: number): Promise<string | null> {
  const [row] = await admitChatStatement(db.sql, {
    who: claimedIdentity(ws),
    req: { requestId: randomUUID(), endpoint: 'openAI', model: 'gpt-4o', ipAddress: null, userAgent: null },
    // The hold is the prompt estimate plus the body's output cap: all of it from the cap here.
    slots: [['gpt-4o']], promptTokens: 0, bodyOutputCap: hold, usageId: randomUUID(), instanceId,
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

describe('geko_admit_chat and the quota', () => {
  it('admits the chats the rule admits, one at a time, and leaves the row the rule leaves', async () => {
    const state = fc.record({
      tokensLimit: fc.integer({ min: 0, max: 400 }),
      tokensUsed: fc.integer({ min: 0, max: 450 }),
      requestsLimit: fc.integer({ min: 0, max: 6 }),
      requestsUsed: fc.integer({ min: 0, max: 7 }),
      resetDue: fc.boolean(),
    });
    await fc.assert(fc.asyncProperty(state, fc.array(fc.integer({ min: 0, max: 150 }), { minLength: 1, maxLength: 8 }), async (quota, holds) => {
      const rule = expected(quota, holds);
      const ws = await seeded(quota);
      const codes: (string | null)[] = [];
      for (const hold of holds) codes.push(await admit(ws, hold));
      expect(codes).toEqual(rule.codes);
      const row = await quotaRow(db.sql, ws.workspaceId);
      expect({ tokens: row.tokens_used, requests: row.requests_used }).toEqual({ tokens: rule.tokensUsed, requests: rule.requestsUsed });
      if (quota.resetDue && rule.codes.includes(null)) expect(row.reset_at!.getTime()).toBeGreaterThan(Date.now());
    }), { numRuns: 40, seed: 18 });
  });

  it('admits exactly the request limit of 3N chats at once', async () => {
    const N = 10;
    const ws = await seedWorkspace(db.sql, { tokensLimit: 1_000_000, requestsLimit: N, models: ['gpt-4o'] });
    const codes = await Promise.all(Array.from({ length: 3 * N }, () => admit(ws, 5)));
    expect(codes.filter((code) => code === null)).toHaveLength(N);
    expect(codes.filter((code) => code === 'quota_exceeded')).toHaveLength(2 * N);
    expect(await quotaRow(db.sql, ws.workspaceId)).toMatchObject({ requests_used: N, tokens_used: 5 * N });
    const [usage] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM chat_usage WHERE workspace_id = ${ws.workspaceId}`;
    expect(usage!.n).toBe(N);
  });
});

// A world: one tenant with the user (and maybe a second tenant with a user of the same email), one
// workspace (maybe in the other tenant), and every status, role, config and quota the rules read.
const world = fc.record({
  // At most one thing wrong with the identity, so that most worlds reach the later rules too.
  fault: fc.constantFrom('none', 'none', 'none', 'none', 'none', 'tenant-suspended', 'tenant-deleted', 'user-suspended', 'user-deleted',
    'workspace-archived', 'workspace-deleted', 'workspace-elsewhere', 'not-member', 'viewer', 'second-same-host', 'second-other-host', 'host-domain'),
  role: fc.constantFrom('member', 'admin'),
  config: fc.constantFrom('models', 'models', 'models', 'other-models', 'not-array', 'none'),
  mcps: fc.constantFrom(null, ['github'], ['*'], 'not-array'),
  maxTokens: fc.constantFrom(undefined, undefined, 50, '70', 'x', 1e300, -5),
  quota: fc.constantFrom('roomy', 'roomy', 'roomy', 'tight', 'due', 'none'),
  form: fc.record({ tenantClaimed: fc.boolean(), byUserId: fc.boolean(), workspace: fc.constantFrom('named', 'named', 'named', 'inferred', 'garbage') }),
  slots: fc.constantFrom<ModelSlot[]>([['gpt-4o']], [['gpt-4o']], [['claude-3']], [['agent_x', 'gpt-4o']], [['gpt-4o'], ['mistral']]),
  tools: fc.constantFrom<string[]>([], [], [], ['github'], ['github', 'web_search']),
  prompt: fc.integer({ min: 0, max: 80 }),
  cap: fc.constantFrom(null, 0, 40),
});

type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

async function build(w: World): Promise<{ who: IdentityInput }> {
  const email = `u-${randomUUID().slice(0, 8)}@Example.com`;
  const tenantId = await createTenant(db.sql, {
    status: w.fault === 'tenant-suspended' ? 'suspended' : 'active', domains: w.fault === 'host-domain' ? ['chat.example'] : [],
  });
  const userId = await createUser(db.sql, tenantId, email, {
    status: w.fault === 'user-suspended' ? 'suspended' : 'active', deleted: w.fault === 'user-deleted',
  });
  if (w.fault === 'tenant-deleted') await db.sql`UPDATE tenants SET deleted_at = now() WHERE tenant_id = ${tenantId}`;
  if (w.fault === 'second-same-host' || w.fault === 'second-other-host') {
    const other = await createTenant(db.sql, { domains: w.fault === 'second-same-host' ? ['chat.example'] : ['other.example'] });
    await createUser(db.sql, other, email.toLowerCase());
  }
  const home = w.fault === 'workspace-elsewhere' ? await createTenant(db.sql) : tenantId;
  const creator = home === tenantId ? userId : await createUser(db.sql, home, `c-${randomUUID().slice(0, 8)}@example.com`);
  const tight = w.quota === 'tight';
  const workspaceId = await createWorkspace(db.sql, home, creator, {
    status: w.fault === 'workspace-archived' ? 'archived' : 'active',
    models: w.config === 'other-models' ? ['claude-*'] : ['gpt-4o', 'agent_*'],
    customSettings: w.maxTokens === undefined ? {} : { maxTokens: w.maxTokens } as Record<string, unknown>,
    noConfig: w.config === 'none', noQuota: w.quota === 'none',
    tokensLimit: tight ? 100 : 1_000_000, requestsLimit: tight ? 1 : 1_000,
    resetAt: w.quota === 'due' ? '2001-01-31 00:00:00' : null,
  });
  if (w.config === 'not-array') await db.sql`UPDATE workspace_config SET enabled_models = '{"gpt-4o": true}'::jsonb WHERE workspace_id = ${workspaceId}`;
  if (w.mcps !== null && w.config !== 'none') {
    const mcps = w.mcps === 'not-array' ? { github: true } : w.mcps;
    await db.sql`UPDATE workspace_config SET enabled_mcps = ${db.sql.json(mcps)} WHERE workspace_id = ${workspaceId}`;
  }
  if (w.fault === 'workspace-deleted') await db.sql`UPDATE workspaces SET deleted_at = now() WHERE workspace_id = ${workspaceId}`;
  if (w.quota === 'due') await db.sql`UPDATE workspace_quotas SET tokens_used = 99, requests_used = 7 WHERE workspace_id = ${workspaceId}`;
  if (tight) await db.sql`UPDATE workspace_quotas SET tokens_used = 30 WHERE workspace_id = ${workspaceId}`;
  if (w.fault !== 'not-member') await addMember(db.sql, workspaceId, userId, w.fault === 'viewer' ? 'viewer' : w.role);
  return {
    who: {
      tenantClaimed: w.form.tenantClaimed, tenantId: w.form.tenantClaimed ? tenantId : null,
      userId: w.form.byUserId ? userId : null, email: w.form.byUserId ? null : email, host: 'chat.example',
      workspaceGiven: w.form.workspace !== 'inferred', workspaceId: w.form.workspace === 'named' ? workspaceId : null,
    },
  };
}

/** Runs one admission in a transaction that is rolled back, and returns what it answered and wrote. */
async function outcome(run: (tx: typeof db.sql) => Promise<Record<string, unknown>[]>, usageId: string, requestId: string) {
  let seen: unknown;
  await db.sql.begin(async (tx) => {
    const [row] = await run(tx as unknown as typeof db.sql);
    const usage = await tx`SELECT tenant_id, workspace_id, user_id, endpoint, model, conversation_id, hold_tokens, hold_prompt_tokens,
                                  status, quota_reset_at, instance_id, ip_address, user_agent
                           FROM chat_usage WHERE usage_id = ${usageId}`;
    const audit = await tx`SELECT tenant_id, workspace_id, user_id, action, resource, resource_id, details, ip_address, user_agent, status, error_message
                           FROM audit_logs WHERE details ->> 'request_id' = ${requestId}`;
    const quota = row?.workspace_id ? await tx`SELECT tokens_used, requests_used, reset_at FROM workspace_quotas WHERE workspace_id = ${row.workspace_id as string}` : [];
    seen = { row: { ...row, retry_after: undefined }, retryAfter: row?.retry_after, usage: [...usage], audit: [...audit], quota: [...quota] };
    throw new Error('rollback');
  }).catch((error: Error) => { if (error.message !== 'rollback') throw error; });
  return seen as { row: Record<string, unknown>; retryAfter: number | null; usage: unknown[]; audit: unknown[]; quota: unknown[] };
}

describe('geko_admit_chat against the CTE statement it replaced', () => {
  it('answers and writes the same in random worlds, for every identity form', async () => {
    const codes = new Map<string, number>();
    await fc.assert(fc.asyncProperty(world, async (w) => {
      const { who } = await build(w);
      const usageId = randomUUID();
      const requestId = randomUUID();
      const input = {
        who, req: { requestId, endpoint: 'agents', model: w.slots[0]![0]!, ipAddress: '10.0.0.1', userAgent: 'ua', conversationId: 'conv-1' },
        slots: w.slots, promptTokens: w.prompt, bodyOutputCap: w.cap, usageId, instanceId, tools: w.tools,
      };
      const fn = await outcome((tx) => admitChatStatement(tx, input) as unknown as Promise<Record<string, unknown>[]>, usageId, requestId);
      const cte = await outcome((tx) => cteAdmitChatStatement(tx, input) as unknown as Promise<Record<string, unknown>[]>, usageId, requestId);
      codes.set(String(fn.row.code), (codes.get(String(fn.row.code)) ?? 0) + 1);
      expect({ ...fn, retryAfter: undefined }).toEqual({ ...cte, retryAfter: undefined });
      // The two ran a moment apart: the seconds to the reset may differ by the second between them.
      if (cte.retryAfter === null) expect(fn.retryAfter).toBeNull();
      else expect(Math.abs(fn.retryAfter! - cte.retryAfter)).toBeLessThanOrEqual(1);
    }), { numRuns: 300, seed: 6 });
    // The worlds reach every rule, not only the first few (a world generator that never admits proves little).
    expect([...codes.keys()].sort()).toEqual(expect.arrayContaining(['null', 'user_inactive', 'tenant_inactive', 'tenant_ambiguous', 'workspace_not_found',
      'workspace_required', 'workspace_inactive', 'not_a_member', 'role_forbidden', 'model_not_enabled', 'mcp_not_enabled',
      'quota_not_configured', 'quota_exceeded']));
  });
});
