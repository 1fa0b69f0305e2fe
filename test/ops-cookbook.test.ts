// The operators' SQL cookbook (sql/ops/*.sql), each file run with the real psql against a real database:
// its effect in the tables, its audit row, its refusals (exit 3, nothing changed), and, where the
// gateway is concerned, what the very next chat request gets. The psql suites are skipped, and named at the end
// of the run, where psql is not installed (test/helpers/system-tools.ts); they fail under CI.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../src/dashboard/password.ts';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { waitSettled } from './helpers/metering.ts';
import { expectOpsOk, expectOpsRefused, parseCsv, runOpsFile } from './helpers/psql.ts';
import { describeWith, psql } from './helpers/system-tools.ts';
import { quotaRow } from './helpers/seed.ts';

let h: Harness;
let ownerHash: string;
beforeAll(async () => {
  h = await startHarness();
  ownerHash = await hashPassword('owner password');
});
afterAll(async () => { await h?.close(); });

const ops = (file: string, vars: Record<string, string | number>, extra: string[] = []) => runOpsFile(h.db.url, file, vars, extra);

const expectOk = (file: string, vars: Record<string, string | number>) => expectOpsOk(h.db.url, file, vars);
const expectRefused = (file: string, vars: Record<string, string | number>, message: RegExp) => expectOpsRefused(h.db.url, file, vars, message);

async function auditActions(tenantId: string): Promise<string[]> {
  const rows = await h.db.sql<{ action: string }[]>`SELECT action FROM audit_logs WHERE tenant_id = ${tenantId} ORDER BY created_at, action`;
  return rows.map((r) => r.action);
}

/** A tenant with an owner and a workspace, made with the cookbook itself. */
async function tenantWithWorkspace(opts: { models?: string; tokensLimit?: number; requestsLimit?: number } = {}) {
  const name = `Tenant ${randomUUID().slice(0, 8)}`;
  const email = `owner-${randomUUID().slice(0, 8)}@example.com`;
  await expectOk('create_tenant.sql', { tenant_name: name, owner_email: email, owner_password_hash: ownerHash });
  await expectOk('create_workspace.sql', {
    tenant: name, workspace_name: 'Main', models: opts.models ?? '["gpt-4o"]',
    tokens_limit: opts.tokensLimit ?? 100_000, requests_limit: opts.requestsLimit ?? 1000,
  });
  const [row] = await h.db.sql<{ tenant_id: string; user_id: string; workspace_id: string }[]>`
    SELECT t.tenant_id, u.user_id, w.workspace_id FROM tenants t JOIN users u USING (tenant_id) JOIN workspaces w USING (tenant_id)
    WHERE t.name = ${name}`;
  return { name, email, ...row! };
}

async function chat(email: string, extra: { model?: string; headers?: Record<string, string> } = {}) {
  return postChat(h.gw.url, { token: await librechatToken(email), body: chatBody(extra.model ? { model: extra.model } : {}), headers: extra.headers });
}

describe('hash-password CLI', () => {
  it('prints a scrypt:salt:key hash that the dashboard verifier accepts, and only for that password', async () => {
    const cwd = new URL('..', import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/hash-password.ts', 'correct horse'], { cwd });
    const hash = stdout.trim();
    expect(hash).toMatch(/^scrypt:[0-9a-f]{32}:[0-9a-f]{128}$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsf', hash)).toBe(false);
    expect(await verifyPassword('correct horse', hash.replace(/.$/, (c) => (c === '0' ? '1' : '0')))).toBe(false);
    expect(await verifyPassword('correct horse', 'scrypt:zz:00')).toBe(false);
    expect(await verifyPassword('', null)).toBe(false);
  });
});

describeWith(psql)('create_tenant.sql and create_workspace.sql', () => {
  it('create a tenant with its owner and a workspace with config, quota and membership that the gateway admits at once', async () => {
    const name = `Acme ${randomUUID().slice(0, 8)}`;
    await expectOk('create_tenant.sql', {
      tenant_name: name, owner_email: 'Alice@Example.com', owner_password_hash: ownerHash, owner_name: 'Alice', plan: 'pro', domains: 'acme.test, Chat.Acme.test',
    });
    const [tenant] = await h.db.sql`SELECT * FROM tenants WHERE name = ${name}`;
    expect(tenant).toMatchObject({ plan: 'pro', status: 'active', metadata: { domains: ['acme.test', 'chat.acme.test'] } });
    const [owner] = await h.db.sql`SELECT * FROM users WHERE tenant_id = ${tenant!.tenant_id}`;
    expect(owner).toMatchObject({ email: 'alice@example.com', role: 'owner', status: 'active', name: 'Alice', password_hash: ownerHash });
    expect(await verifyPassword('owner password', owner!.password_hash as string)).toBe(true);

    await expectOk('create_workspace.sql', {
      tenant: name.toUpperCase(), workspace_name: 'Sales', models: '["gpt-4o","claude-*"]', tokens_limit: 5000, requests_limit: 7,
      custom_settings: '{"maxTokens":100}',
    });
    const [ws] = await h.db.sql`
      SELECT w.workspace_id, w.created_by, c.enabled_models, c.custom_settings, q.tokens_limit, q.requests_limit, q.reset_at, m.role,
             date_trunc('month', timezone('UTC', now())) + interval '1 month' AS next_month
      FROM workspaces w JOIN workspace_config c USING (workspace_id) JOIN workspace_quotas q USING (workspace_id)
      JOIN workspace_members m USING (workspace_id)
      WHERE w.tenant_id = ${tenant!.tenant_id} AND w.name = 'Sales'`;
    expect(ws).toMatchObject({ created_by: owner!.user_id, enabled_models: ['gpt-4o', 'claude-*'], custom_settings: { maxTokens: 100 }, tokens_limit: 5000, requests_limit: 7, role: 'owner' });
    expect(ws!.reset_at).toEqual(ws!.next_month);
    expect(await auditActions(tenant!.tenant_id)).toEqual(['tenant_created', 'workspace_created']);

    const admitted = await chat('alice@example.com', { model: 'claude-3-haiku' });
    expect(admitted.status, admitted.text).toBe(200);
    expect(admitted.res.headers.get('x-quota-requests-remaining')).toBe('6');
  });

  it('refuse a taken tenant name, a bad hash, a missing variable, a bad models list, and change nothing', async () => {
    const t = await tenantWithWorkspace();
    const tenantCount = async () => (await h.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM tenants`)[0]!.n;
    const before = await tenantCount();
    await expectRefused('create_tenant.sql', { tenant_name: t.name.toLowerCase(), owner_email: 'x@example.com', owner_password_hash: ownerHash }, /exists already/);
    await expectRefused('create_tenant.sql', { tenant_name: 'Other', owner_email: 'x@example.com', owner_password_hash: 'plaintext' }, /not scrypt/);
    await expectRefused('create_tenant.sql', { tenant_name: 'Other', owner_email: 'x@example.com' }, /owner_password_hash/);
    expect(await tenantCount()).toBe(before);
    await expectRefused('create_workspace.sql', { tenant: t.name, workspace_name: 'Main' }, /already has a workspace/);
    await expectRefused('create_workspace.sql', { tenant: t.name, workspace_name: 'New', models: '["a", 1]' }, /JSON array of strings/);
    await expectRefused('create_workspace.sql', { tenant: 'no such tenant', workspace_name: 'New' }, /no tenant "no such tenant"/);
    const [count] = await h.db.sql`SELECT count(*)::int AS n FROM workspaces WHERE tenant_id = ${t.tenant_id}`;
    expect(count!.n).toBe(1);
  });
});

describeWith(psql)('add_member.sql and remove_member.sql', () => {
  it('add a new user as member (the gateway admits them), change the role, then remove them (not_a_member)', async () => {
    const t = await tenantWithWorkspace();
    await expectOk('add_member.sql', { tenant: t.tenant_id, workspace: 'Main', email: 'Bob@Example.com', name: 'Bob' });
    const [bob] = await h.db.sql`SELECT u.user_id, u.role AS tenant_role, u.password_hash, m.role FROM users u JOIN workspace_members m USING (user_id)
                                 WHERE u.tenant_id = ${t.tenant_id} AND u.email = 'bob@example.com'`;
    expect(bob).toMatchObject({ tenant_role: 'member', password_hash: null, role: 'member' });
    expect((await chat('bob@example.com')).status).toBe(200);

    await expectOk('add_member.sql', { tenant: t.name, workspace: t.workspace_id, email: 'bob@example.com', role: 'viewer' });
    const denied = await chat('bob@example.com');
    expect(denied.json.error?.code).toBe('role_forbidden');

    await expectOk('remove_member.sql', { tenant: t.name, workspace: 'Main', email: 'BOB@example.com' });
    const [left] = await h.db.sql`SELECT count(*)::int AS n FROM workspace_members WHERE user_id = ${bob!.user_id}`;
    expect(left!.n).toBe(0);
    const removed = await chat('bob@example.com', { headers: { 'x-workspace-id': t.workspace_id } });
    expect(removed.status).toBe(403);
    expect(removed.json.error?.code).toBe('not_a_member');
    await expectRefused('remove_member.sql', { tenant: t.name, workspace: 'Main', email: 'bob@example.com' }, /not a member/);
    await expectRefused('add_member.sql', { tenant: t.name, workspace: 'Main', email: 'c@example.com', role: 'root' }, /role must be/);
    const trail = await h.db.sql`SELECT action, details ->> 'role' AS role FROM audit_logs WHERE resource = 'user' AND resource_id = ${bob!.user_id} ORDER BY created_at`;
    expect(trail.map((r) => `${r.action}:${r.role}`)).toEqual(['user_added:member', 'member_added:member', 'member_added:viewer', 'member_removed:viewer']);
  });
});

describeWith(psql)('enable_model.sql and disable_model.sql', () => {
  it('disable a model (next request: 403 model_not_enabled), enable it again (200), refuse a model a prefix still covers', async () => {
    const t = await tenantWithWorkspace({ models: '["gpt-4o","claude-*"]' });
    expect((await chat(t.email)).status).toBe(200);
    await expectOk('disable_model.sql', { tenant: t.name, workspace: 'Main', model: 'gpt-4o' });
    const denied = await chat(t.email);
    expect(denied.status).toBe(403);
    expect(denied.json.error?.code).toBe('model_not_enabled');
    await expectOk('enable_model.sql', { tenant: t.name, workspace: 'Main', model: 'gpt-4o' });
    await expectOk('enable_model.sql', { tenant: t.name, workspace: 'Main', model: 'gpt-4o' });
    const [config] = await h.db.sql`SELECT enabled_models FROM workspace_config WHERE workspace_id = ${t.workspace_id}`;
    expect(config!.enabled_models).toEqual(['claude-*', 'gpt-4o']);
    expect((await chat(t.email)).status).toBe(200);
    await expectRefused('disable_model.sql', { tenant: t.name, workspace: 'Main', model: 'claude-3-opus' }, /stay enabled through claude-\*/);
    await expectRefused('disable_model.sql', { tenant: t.name, workspace: 'Main', model: 'o3' }, /not in the enabled_models/);
    const actions = await auditActions(t.tenant_id);
    expect(actions.filter((a) => a.startsWith('model_'))).toEqual(['model_disabled', 'model_enabled', 'model_enabled']);
  });
});

describeWith(psql)('change_limits.sql and reset_quota.sql', () => {
  it('lower a limit (next request: 429 quota_exceeded), then reset the quota with geko_next_reset (admitted again)', async () => {
    const t = await tenantWithWorkspace({ requestsLimit: 100 });
    const first = await chat(t.email);
    expect(first.status).toBe(200);
    await waitSettled(h.db.sql, first.requestId);
    await expectOk('change_limits.sql', { tenant: t.name, workspace: 'Main', requests_limit: 1 });
    expect(await quotaRow(h.db.sql, t.workspace_id)).toMatchObject({ requests_limit: 1, tokens_limit: 100_000, requests_used: 1 });
    const denied = await chat(t.email);
    expect(denied.status).toBe(429);
    expect(denied.json.error?.details).toMatchObject({ kind: 'requests' });
    await expectRefused('change_limits.sql', { tenant: t.name, workspace: 'Main' }, /tokens_limit=<n> and\/or/);
    await expectRefused('change_limits.sql', { tenant: t.name, workspace: 'Main', tokens_limit: '-5' }, /whole numbers/);

    const [before] = await h.db.sql`SELECT reset_at, geko_next_reset(reset_at, timezone('UTC', now())) AS expected FROM workspace_quotas WHERE workspace_id = ${t.workspace_id}`;
    await expectOk('reset_quota.sql', { tenant: t.name, workspace: 'Main' });
    const after = await quotaRow(h.db.sql, t.workspace_id);
    expect(after).toMatchObject({ tokens_used: 0, requests_used: 0 });
    expect(after.reset_at).toEqual(before!.expected);
    expect(after.reset_at!.getTime()).toBeGreaterThan((before!.reset_at as Date).getTime());
    expect((await chat(t.email)).status).toBe(200);

    await expectOk('reset_quota.sql', { tenant: t.name, workspace: 'Main', next_reset: '2031-02-01 00:00' });
    expect((await quotaRow(h.db.sql, t.workspace_id)).reset_at).toEqual(new Date('2031-02-01T00:00:00Z'));
    const [audit] = await h.db.sql`SELECT details FROM audit_logs WHERE tenant_id = ${t.tenant_id} AND action = 'limits_changed'`;
    expect(audit!.details).toMatchObject({ requests_limit: 1, previous_requests_limit: 100 });
    const resets = await h.db.sql`SELECT details FROM audit_logs WHERE tenant_id = ${t.tenant_id} AND action = 'quota_reset' ORDER BY created_at`;
    expect(resets.map((r) => r.details)).toMatchObject([{ previous_requests_used: 1 }, { previous_requests_used: 1, reset_at: '2031-02-01T00:00:00' }]);
  });
});

describeWith(psql)('suspend_tenant.sql and reactivate_tenant.sql', () => {
  it('suspend a tenant (next request: 403 tenant_inactive) and reactivate it', async () => {
    const t = await tenantWithWorkspace();
    await expectOk('suspend_tenant.sql', { tenant: t.name, reason: 'unpaid invoice' });
    const [tenant] = await h.db.sql`SELECT status FROM tenants WHERE tenant_id = ${t.tenant_id}`;
    expect(tenant!.status).toBe('suspended');
    const denied = await chat(t.email);
    expect(denied.status).toBe(403);
    expect(denied.json.error?.code).toBe('tenant_inactive');
    const [audit] = await h.db.sql`SELECT details FROM audit_logs WHERE tenant_id = ${t.tenant_id} AND action = 'tenant_suspended'`;
    expect(audit!.details).toMatchObject({ reason: 'unpaid invoice', source: 'sql/ops/suspend_tenant.sql' });
    await expectOk('reactivate_tenant.sql', { tenant: t.tenant_id });
    expect((await chat(t.email)).status).toBe(200);
  });
});

describeWith(psql)('usage_by_workspace_model.sql and user_audit_trail.sql', () => {
  async function usage(t: { tenant_id: string; user_id: string }, workspaceId: string, model: string, total: number, at: string) {
    await h.db.sql`INSERT INTO chat_usage (usage_id, request_id, tenant_id, workspace_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, status, created_at)
                   VALUES (gen_random_uuid(), ${randomUUID()}, ${t.tenant_id}, ${workspaceId}, ${t.user_id}, ${model}, ${total - 10}, 10, ${total}, 'settled', ${at}::timestamp)`;
  }

  it('sum chat_usage per workspace and model for the period, for this tenant only', async () => {
    const t = await tenantWithWorkspace();
    await expectOk('create_workspace.sql', { tenant: t.name, workspace_name: 'Second' });
    const [second] = await h.db.sql`SELECT workspace_id FROM workspaces WHERE tenant_id = ${t.tenant_id} AND name = 'Second'`;
    await usage(t, t.workspace_id, 'gpt-4o', 100, '2026-03-01 00:00:00');
    await usage(t, t.workspace_id, 'gpt-4o', 50, '2026-03-31 23:59:59');
    await usage(t, t.workspace_id, 'o3', 17, '2026-03-15 12:00:00');
    await usage(t, second!.workspace_id as string, 'gpt-4o', 1000, '2026-03-02 00:00:00');
    await usage(t, t.workspace_id, 'gpt-4o', 9999, '2026-04-01 00:00:00');
    await usage(t, t.workspace_id, 'gpt-4o', 9999, '2026-02-28 23:59:59');
    const other = await tenantWithWorkspace();
    await usage(other, other.workspace_id, 'gpt-4o', 5555, '2026-03-10 00:00:00');

    const result = await ops('usage_by_workspace_model.sql', { tenant: t.name, period_start: '2026-03-01' }, ['--csv']);
    expect(result.code, result.stderr).toBe(0);
    const rows = parseCsv(result.stdout).map((r) => `${r.workspace}|${r.model}|${r.generations}|${r.total_tokens}|${r.prompt_tokens}`);
    expect(rows).toEqual(['Main|gpt-4o|2|150|130', 'Main|o3|1|17|7', 'Second|gpt-4o|1|1000|990']);

    const all = await ops('usage_by_workspace_model.sql', { tenant: 'all', period_start: '2026-03-01', period_end: '2026-03-11' }, ['--csv']);
    const tenants = new Set(parseCsv(all.stdout).map((r) => r.tenant));
    expect(tenants).toContain(other.name);
    expect(tenants).toContain(t.name);
  });

  it('list what a user did and what was done to them, newest first, and nothing of other users', async () => {
    const t = await tenantWithWorkspace();
    await expectOk('add_member.sql', { tenant: t.name, workspace: 'Main', email: 'carol@example.com' });
    const sent = await chat('carol@example.com');
    expect(sent.status).toBe(200);
    await waitSettled(h.db.sql, sent.requestId);
    await chat(t.email);
    const result = await ops('user_audit_trail.sql', { tenant: t.name, email: 'Carol@example.com' }, ['--csv']);
    expect(result.code, result.stderr).toBe(0);
    const rows = parseCsv(result.stdout);
    expect(rows.map((r) => r.action)).toEqual(['chat_completed', 'chat_sent', 'member_added', 'user_added']);
    expect(rows[1]).toMatchObject({ request_id: sent.requestId, model: 'gpt-4o', workspace: 'Main', actor: 'user' });
    expect(rows[2]).toMatchObject({ actor: 'sql/ops/add_member.sql' });
    const limited = await ops('user_audit_trail.sql', { tenant: t.name, email: 'carol@example.com', max_rows: 1 }, ['--csv']);
    expect(parseCsv(limited.stdout)).toHaveLength(1);
    await expectRefused('user_audit_trail.sql', { tenant: t.name, email: 'nobody@example.com' }, /no user nobody@example.com/);
  });
});
