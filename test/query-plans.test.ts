// The per-chat statements find their chat_usage row by primary key whatever plan PostgreSQL caches.
// postgres.js prepares every statement, and after five runs PostgreSQL may keep one generic plan for the
// connection's life (up to 30 minutes). A generic plan made while the table was small once picked a
// partial index over open holds for `usage_id = $1 AND status = 'reserved'`, so every settlement walked
// every open hold: 0.7 ms with 3,000 open streams, growing with them. These run the real statements with
// plan_cache_mode = force_generic_plan and read the plan auto_explain reports.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitChatStatement, checkQuotaStatement, readQuotaStatement, type IdentityInput } from '../src/admission/statement.ts';
import type { Sql } from '../src/db/sql.ts';
import { settleUsage } from '../src/metering/settle.ts';
import { findStreamHolder, recordStreamHolder } from '../src/metering/stream-routing.ts';
import { expireStaleHolds } from '../src/metering/sweeper.ts';
import { holdUploadStatement } from '../src/files/hold.ts';
import { reconcileFilesStatement } from '../src/files/reconcile.ts';
import { deleteFilesStatement, settleStoredUpload } from '../src/files/settle.ts';
import { expireUploadHolds } from '../src/files/upload-sweep.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { claimedIdentity, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

const OPEN_HOLDS = 400;

let db: TestDatabase;
let ws: SeededWorkspace;
let instanceId: string;
let plans: string[] = [];
let generic: Sql;

function claimed(): IdentityInput {
  return claimedIdentity(ws);
}

const facts = () => ({ requestId: randomUUID(), endpoint: 'agents', model: 'gpt-4o', ipAddress: '127.0.0.1', userAgent: 'plans' });

async function admit(sql: Sql, who: IdentityInput = claimed()): Promise<string> {
  const usageId = randomUUID();
  const [row] = await admitChatStatement(sql, { who, req: facts(), slots: [['gpt-4o']], promptTokens: 5, bodyOutputCap: null, usageId, instanceId });
  expect(row?.code).toBeNull();
  return usageId;
}

/** The plan nodes auto_explain logged for the statements `run` executes on the generic-plan connection. */
async function planOf(run: () => Promise<unknown>): Promise<string> {
  plans = [];
  await run();
  return plans.join('\n');
}

beforeAll(async () => {
  db = await createTestDatabase();
  ws = await seedWorkspace(db.sql, { models: ['gpt-4o'], tokensLimit: 100_000_000, requestsLimit: 1_000_000 });
  instanceId = randomUUID();
  await db.sql`INSERT INTO gateway_instances (instance_id) VALUES (${instanceId})`;
  // 20,000 other tenants, each with a user and a workspace: identity lookups must not grow with them.
  await db.sql`INSERT INTO tenants (tenant_id, name) SELECT gen_random_uuid(), 'Other ' || i FROM generate_series(1, 20000) i`;
  await db.sql`INSERT INTO users (user_id, tenant_id, email)
               SELECT gen_random_uuid(), tenant_id, 'u-' || tenant_id || '@example.com' FROM tenants WHERE name LIKE 'Other %'`;
  await db.sql`INSERT INTO workspaces (workspace_id, tenant_id, name, created_by)
               SELECT gen_random_uuid(), tenant_id, 'W', user_id FROM users WHERE email LIKE 'u-%'`;
  await db.sql`INSERT INTO workspace_members (workspace_id, user_id) SELECT workspace_id, created_by FROM workspaces WHERE name = 'W'`;
  await db.sql`INSERT INTO workspace_config (config_id, workspace_id, enabled_models)
               SELECT gen_random_uuid(), workspace_id, '["gpt-4o"]' FROM workspaces WHERE name = 'W'`;
  await db.sql`INSERT INTO workspace_quotas (quota_id, workspace_id, tokens_limit, requests_limit)
               SELECT gen_random_uuid(), workspace_id, 1000, 10 FROM workspaces WHERE name = 'W'`;
  // And the test's own tenant is big: 3,000 more users and 1,000 more workspaces the user is not in.
  await db.sql`INSERT INTO users (user_id, tenant_id, email)
               SELECT gen_random_uuid(), ${ws.tenantId}, 'colleague-' || i || '@example.com' FROM generate_series(1, 3000) i`;
  await db.sql`INSERT INTO workspaces (workspace_id, tenant_id, name, created_by)
               SELECT gen_random_uuid(), ${ws.tenantId}, 'Team ' || i, ${ws.userId} FROM generate_series(1, 1000) i`;
  // 20,000 stored files, so the file statements' plans are read against a table that is not small.
  await db.sql`INSERT INTO workspace_files (upload_id, file_id, request_id, tenant_id, workspace_id, user_id, status, hold_bytes, bytes, stored_at)
               SELECT gen_random_uuid(), 'f-' || gen_random_uuid(), 'seed', tenant_id, workspace_id, created_by, 'stored', 10, 10, timezone('UTC', now())
               FROM workspaces WHERE name = 'W'`;
  await db.sql`INSERT INTO workspace_storage (workspace_id, stored_bytes) SELECT workspace_id, 10 FROM workspaces WHERE name = 'W'`;
  await db.sql`ANALYZE`;
  // Many open holds, and no ANALYZE since: the state a long-lived connection planned in.
  for (let i = 0; i < OPEN_HOLDS; i += 1) await admit(db.sql);
  generic = postgres(db.url, {
    max: 1, prepare: true,
    connection: { plan_cache_mode: 'force_generic_plan', TimeZone: 'UTC' },
    onnotice: (notice) => { plans.push(String(notice.message)); },
  }) as unknown as Sql;
  await generic.unsafe(`LOAD 'auto_explain'`);
  await generic.unsafe(`SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_timing = off;
                        SET auto_explain.log_level = notice; SET client_min_messages = notice;
                        SET auto_explain.log_nested_statements = on`); // the admission's own statements run inside geko_admit_chat
});

afterAll(async () => {
  await generic?.end({ timeout: 5 });
  await db?.drop();
});

describe('generic plans with many open holds', () => {
  it('settlement updates its chat_usage row through the primary key', async () => {
    const usageId = await admit(db.sql);
    const plan = await planOf(() => settleUsage(generic, {
      usageId, outcome: 'completed',
      usage: { promptTokens: 5, completionTokens: 7, totalTokens: 12, source: 'on_token_usage', perModel: {} },
    }));
    expect(plan).toMatch(/Update on chat_usage[\s\S]*?Index Scan using chat_usage_pkey on chat_usage/);
    const [row] = await db.sql<{ status: string; total_tokens: number }[]>`SELECT status, total_tokens FROM chat_usage WHERE usage_id = ${usageId}`;
    expect(row).toEqual({ status: 'settled', total_tokens: 12 });
  });

  it('recording the stream holder finds the row through the primary key, and the holder is found by stream id', async () => {
    const usageId = await admit(db.sql);
    const streamId = `stream-${randomUUID()}`;
    const plan = await planOf(() => recordStreamHolder(generic, usageId, streamId, 'conv-1'));
    expect(plan).toMatch(/Update on chat_usage[\s\S]*?Index Scan using chat_usage_pkey on chat_usage/);
    await db.sql`UPDATE gateway_instances SET fly_machine_id = 'machine-a' WHERE instance_id = ${instanceId}`;
    const lookup = await planOf(() => findStreamHolder(generic, streamId, 60_000));
    expect(lookup).toMatch(/Index Scan (Backward )?using idx_chat_usage_stream_open on chat_usage/);
    expect(await findStreamHolder(db.sql, streamId, 60_000)).toBe('machine-a');
  });

  it('the sweeper reads open holds through the open-holds index, whatever this process holds', async () => {
    const held = Array.from({ length: 200 }, () => randomUUID());
    const plan = await planOf(() => expireStaleHolds(generic, { instanceId, reservationTtlMs: 60_000, instanceStaleMs: 60_000, heldUsageIds: held }));
    expect(plan).toMatch(/Index Scan using idx_chat_usage_open on chat_usage/);
    expect(plan).not.toMatch(/Seq Scan on chat_usage\b/);
  });

  it('the sweeper leaves alone a settled row written without settled_at (an import, ops SQL)', async () => {
    const usageId = randomUUID();
    await db.sql`INSERT INTO chat_usage (usage_id, request_id, tenant_id, workspace_id, user_id, hold_tokens, hold_prompt_tokens,
                                         total_tokens, status, instance_id, created_at)
                 VALUES (${usageId}, 'imported', ${ws.tenantId}, ${ws.workspaceId}, ${ws.userId}, 50, 20, 70, 'settled',
                         ${randomUUID()}, timezone('UTC', now()) - interval '2 hours')`;
    const before = await db.sql<{ tokens_used: number }[]>`SELECT tokens_used FROM workspace_quotas WHERE workspace_id = ${ws.workspaceId}`;
    await expireStaleHolds(db.sql, { instanceId, reservationTtlMs: 60_000, instanceStaleMs: 60_000 });
    const [row] = await db.sql<{ status: string; total_tokens: number }[]>`SELECT status, total_tokens FROM chat_usage WHERE usage_id = ${usageId}`;
    expect(row).toEqual({ status: 'settled', total_tokens: 70 });
    const after = await db.sql<{ tokens_used: number }[]>`SELECT tokens_used FROM workspace_quotas WHERE workspace_id = ${ws.workspaceId}`;
    expect(after[0]!.tokens_used).toBe(before[0]!.tokens_used);
  });
});

describe('the MCP check', () => {
  it('an admission that asks for tools reads enabled_mcps from the workspace\'s own config row, scanning no whole table', async () => {
    await db.sql`UPDATE workspace_config SET enabled_mcps = '["git*", "web_search"]' WHERE workspace_id = ${ws.workspaceId}`;
    const plan = await planOf(async () => {
      const [row] = await admitChatStatement(generic, {
        who: claimed(), req: facts(), slots: [['gpt-4o']], promptTokens: 5, bodyOutputCap: null, usageId: randomUUID(), instanceId,
        tools: ['github', 'web_search'],
      });
      expect(row?.code).toBeNull();
    });
    expect(plan).toMatch(/Update on workspace_quotas/);
    for (const table of ['tenants', 'users', 'workspaces', 'workspace_members', 'workspace_config', 'workspace_quotas', 'chat_usage']) {
      expect(plan).not.toMatch(new RegExp(`Seq Scan on ${table}\\b`));
    }
  });
});

describe('the file statements', () => {
  it('hold, settle, delete and reconcile reach their rows by key, scanning no whole table', async () => {
    const uploadId = randomUUID();
    const fileId = `file-${randomUUID()}`;
    const who = claimed();
    const plan = await planOf(async () => {
      const [held] = await holdUploadStatement(generic, {
        who, upload: { uploadId, requestId: randomUUID(), route: '/api/files', holdBytes: 1_000, instanceId, ipAddress: null, userAgent: null },
      });
      expect(held?.code).toBeNull();
      expect(await settleStoredUpload(generic, { uploadId, fileId, bytes: 900 })).toBe(true);
      const deleted = await deleteFilesStatement(generic, { who, requestId: randomUUID(), fileIds: [fileId], ipAddress: null, userAgent: null });
      expect(deleted).toHaveLength(1);
      await reconcileFilesStatement(generic, { who, requestId: randomUUID(), listed: { fileIds: [], bytes: [] }, askedAt: new Date(), ipAddress: null, userAgent: null });
      await expireUploadHolds(generic, { instanceId, instanceStaleMs: 60_000 });
    });
    for (const table of ['tenants', 'users', 'workspaces', 'workspace_members', 'workspace_config', 'workspace_quotas', 'workspace_files', 'workspace_storage']) {
      expect(plan).not.toMatch(new RegExp(`Seq Scan on ${table}\\b`));
    }
  });
});

describe('identity lookups among 20,000 tenants', () => {
  const BIG_TABLES = ['tenants', 'users', 'workspaces', 'workspace_members', 'workspace_config', 'workspace_quotas', 'chat_usage'];
  // Every identity form has its own statement text (src/admission/identity-ctes.ts): all eight are read.
  const variants: Array<[string, () => IdentityInput]> = [];
  for (const tenantClaimed of [true, false]) {
    for (const userById of [true, false]) {
      for (const workspaceGiven of [true, false]) {
        const name = `tenant ${tenantClaimed ? 'claimed' : 'by email'}, user ${userById ? 'by id' : 'by email'}, workspace ${workspaceGiven ? 'named' : 'from the only membership'}`;
        variants.push([name, () => ({
          ...claimed(), tenantClaimed, tenantId: tenantClaimed ? ws.tenantId : null, userId: userById ? ws.userId : null, email: ws.email,
          workspaceGiven, workspaceId: workspaceGiven ? ws.workspaceId : null,
        })]);
      }
    }
  }
  for (const [name, who] of variants) {
    it(`${name}: no statement scans a whole table`, async () => {
      const plan = await planOf(async () => {
        await admit(generic, who());
        const [check] = await checkQuotaStatement(generic, { who: who(), req: facts() });
        expect(check?.code).toBeNull();
        const [read] = await readQuotaStatement(generic, who());
        expect(read?.workspace_id).toBe(ws.workspaceId);
      });
      expect(plan.match(/Update on workspace_quotas/g)).toHaveLength(1);
      for (const table of BIG_TABLES) expect(plan).not.toMatch(new RegExp(`Seq Scan on ${table}\\b`));
      // No index scan wading through a tenant's users or workspaces to find one.
      const removed = [...plan.matchAll(/Rows Removed by (?:Filter|Join Filter): (\d+)/g)].map((m) => Number(m[1]));
      expect(Math.max(0, ...removed)).toBeLessThan(50);
    });
  }
});
