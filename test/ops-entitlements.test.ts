// The cookbook files for the seed's other entitlements, run with the real psql: enable_mcp.sql and
// disable_mcp.sql (what the very next chat asking for that server gets), set_storage_limit.sql (what the
// very next upload gets); each with its audit row and its refusals (exit 3, nothing changed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { storageOf, upload } from './helpers/files.ts';
import { librechatToken, librechatUserId } from './helpers/jwt.ts';
import { expectOpsOk, expectOpsRefused } from './helpers/psql.ts';
import { seedWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const expectOk = (file: string, vars: Record<string, string | number>) => expectOpsOk(h.db.url, file, vars);
const expectRefused = (file: string, vars: Record<string, string | number>, message: RegExp) => expectOpsRefused(h.db.url, file, vars, message);

async function workspace() {
  const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
  const [names] = await h.db.sql<{ tenant: string; workspace: string }[]>`
    SELECT t.name AS tenant, w.name AS workspace FROM workspaces w JOIN tenants t USING (tenant_id) WHERE w.workspace_id = ${ws.workspaceId}`;
  return { ...ws, ...names!, token: await librechatToken(ws.email, { id: librechatUserId() }) };
}

const withServer = (name: string) => chatBody({ ephemeralAgent: { mcp: [name] }, __fake: { ending: 'hang' } });

describe('enable_mcp.sql and disable_mcp.sql', () => {
  it('enable a server (next chat asking for it: admitted), disable it (403 mcp_not_enabled), refuse what a prefix still covers', async () => {
    const t = await workspace();
    const before = await postChat(h.gw.url, { token: t.token, body: withServer('github') });
    expect(before.json.error?.code).toBe('mcp_not_enabled');
    await expectOk('enable_mcp.sql', { tenant: t.tenant, workspace: t.workspace, mcp: 'github' });
    await expectOk('enable_mcp.sql', { tenant: t.tenant, workspace: t.workspaceId, mcp: 'github' });
    await expectOk('enable_mcp.sql', { tenant: t.tenant, workspace: t.workspace, mcp: 'jira-*' });
    const [config] = await h.db.sql`SELECT enabled_mcps FROM workspace_config WHERE workspace_id = ${t.workspaceId}`;
    expect(config!.enabled_mcps).toEqual(['github', 'jira-*']);
    expect((await postChat(h.gw.url, { token: t.token, body: withServer('github') })).status).toBe(200);
    expect((await postChat(h.gw.url, { token: t.token, body: withServer('jira-cloud') })).status).toBe(200);

    await expectOk('disable_mcp.sql', { tenant: t.tenant, workspace: t.workspace, mcp: 'github' });
    const after = await postChat(h.gw.url, { token: t.token, body: withServer('github') });
    expect(after.status).toBe(403);
    expect(after.json.error).toMatchObject({ code: 'mcp_not_enabled', details: { name: 'github' } });
    await expectRefused('disable_mcp.sql', { tenant: t.tenant, workspace: t.workspace, mcp: 'jira-cloud' }, /stay enabled through jira-\*/);
    await expectRefused('disable_mcp.sql', { tenant: t.tenant, workspace: t.workspace, mcp: 'github' }, /not in the enabled_mcps/);
    await expectRefused('enable_mcp.sql', { tenant: t.tenant, workspace: t.workspace }, /set -v mcp=/);
    const actions = await h.db.sql<{ action: string; mcp: string }[]>`
      SELECT action, details ->> 'mcp' AS mcp FROM audit_logs WHERE tenant_id = ${t.tenantId} AND action LIKE 'mcp_%' ORDER BY created_at, action`;
    expect(actions.map((a) => `${a.action}:${a.mcp}`)).toEqual(['mcp_enabled:github', 'mcp_enabled:github', 'mcp_enabled:jira-*', 'mcp_disabled:github']);
  });

  it('start a column that is not a JSON array over as one (it enabled nothing)', async () => {
    const t = await workspace();
    await h.db.sql`UPDATE workspace_config SET enabled_mcps = '{"github": true}' WHERE workspace_id = ${t.workspaceId}`;
    await expectOk('enable_mcp.sql', { tenant: t.tenant, workspace: t.workspace, mcp: 'web_search' });
    const [config] = await h.db.sql`SELECT enabled_mcps FROM workspace_config WHERE workspace_id = ${t.workspaceId}`;
    expect(config!.enabled_mcps).toEqual(['web_search']);
  });
});

describe('set_storage_limit.sql', () => {
  it('raise the limit (the next upload fits), lower it below what is stored (refused), with its audit row', async () => {
    const t = await workspace();
    await expectOk('set_storage_limit.sql', { tenant: t.tenant, workspace: t.workspace, files_limit: 1 });
    const tooBig = await upload(h.gw.url, { token: t.token, fileBytes: 1_500_000 });
    expect(tooBig.status).toBe(429);
    await expectOk('set_storage_limit.sql', { tenant: t.tenant, workspace: t.workspace, files_limit: 3 });
    const fits = await upload(h.gw.url, { token: t.token, fileBytes: 1_500_000 });
    expect(fits.status, fits.text).toBe(200);
    expect(await storageOf(h.db.sql, t.workspaceId)).toMatchObject({ filesLimit: 3, filesUsed: 2 });
    await expectOk('set_storage_limit.sql', { tenant: t.tenant, workspace: t.workspace, files_limit: 1 });
    const refused = await upload(h.gw.url, { token: t.token, fileBytes: 10 });
    expect(refused.json.message).toMatch(/of 1 MB used/);
    await expectRefused('set_storage_limit.sql', { tenant: t.tenant, workspace: t.workspace, files_limit: '2.5' }, /whole number/);
    const [audit] = await h.db.sql`SELECT details FROM audit_logs WHERE tenant_id = ${t.tenantId} AND action = 'storage_limit_changed' ORDER BY created_at DESC LIMIT 1`;
    expect(audit!.details).toMatchObject({ files_limit: 1, previous_files_limit: 3, source: 'sql/ops/set_storage_limit.sql' });
  });
});
