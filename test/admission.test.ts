// DESIGN.md's admission table, row by row, against a real database and a real upstream process: each
// denial has its status and code, writes the audit row it should (or none), and never reaches LibreChat.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { addMember, createUser, createWorkspace, quotaRow, seedWorkspace } from './helpers/seed.ts';
import { librechatToken, signHs256 } from './helpers/jwt.ts';
import { chatBody, postChat, startHarness, upstreamSaw, type Harness } from './helpers/harness.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness({ CHAT_BODY_LIMIT: '64kb' }); });
afterAll(async () => { await h?.close(); });

async function auditRows(requestId: string) {
  return h.db.sql<{ action: string; status: string; error_message: string | null; details: Record<string, unknown>; workspace_id: string | null; user_id: string | null; tenant_id: string }[]>`
    SELECT action, status, error_message, details, workspace_id, user_id, tenant_id FROM audit_logs WHERE details ->> 'request_id' = ${requestId}`;
}

async function expectDenied(result: Awaited<ReturnType<typeof postChat>>, status: number, code: string, audited: boolean, endpoint = 'openAI') {
  expect(result.status, result.text).toBe(status);
  expect(result.json.error?.code).toBe(code);
  expect(result.json.error?.request_id).toBe(result.requestId);
  expect(result.res.headers.get('x-request-id')).toBe(result.requestId);
  expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  const rows = await auditRows(result.requestId);
  if (audited) {
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'chat_denied', status: 'failed', error_message: code });
    expect(rows[0]!.details).toMatchObject({ code, request_id: result.requestId, endpoint });
  } else {
    expect(rows).toHaveLength(0);
  }
  return rows;
}

describe('admission: the happy path', () => {
  it('admits a LibreChat token, forwards with the resolved identity headers, and reserves the hold', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 10_000, requestsLimit: 10, resetAt: '2099-01-31 00:00:00' });
    const token = await librechatToken(ws.email.toUpperCase());
    const result = await postChat(h.gw.url, {
      token, body: chatBody({ text: 'x'.repeat(40), max_tokens: 100 }),
      headers: { 'x-tenant-id': randomUUID(), 'user-agent': 'admission-test' },
    });
    expect(result.status, result.text).toBe(200);
    expect(result.json.streamId).toBeTypeOf('string');
    expect(result.res.headers.get('x-quota-tokens-remaining')).toBe(String(10_000 - 110));
    expect(result.res.headers.get('x-quota-requests-remaining')).toBe('9');
    expect(result.res.headers.get('x-quota-reset')).toBe('2099-01-31T00:00:00.000Z');
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === result.requestId);
    expect(seen.headers['x-tenant-id']).toBe(ws.tenantId);
    expect(seen.headers['x-workspace-id']).toBe(ws.workspaceId);
    expect(seen.headers.authorization).toBe(`Bearer ${token}`);
    const [usage] = await h.db.sql`SELECT * FROM chat_usage WHERE request_id = ${result.requestId}`;
    expect(usage).toMatchObject({ tenant_id: ws.tenantId, workspace_id: ws.workspaceId, user_id: ws.userId, hold_tokens: 110, model: 'gpt-4o', endpoint: 'openAI' });
    const sent = (await auditRows(result.requestId)).find((r) => r.action === 'chat_sent');
    expect(sent).toMatchObject({ status: 'success', workspace_id: ws.workspaceId, user_id: ws.userId });
    expect(sent!.details).toMatchObject({ endpoint: 'openAI', model: 'gpt-4o', hold_tokens: 110 });
  });

  it('names the continued conversation on the audit rows and the usage row from the start', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    const conversationId = `conv-${Date.now()}`;
    const admitted = await postChat(h.gw.url, { token, body: chatBody({ conversationId, __fake: { ending: 'hang' } }) });
    expect(admitted.status).toBe(200);
    const [usage] = await h.db.sql`SELECT conversation_id, status FROM chat_usage WHERE request_id = ${admitted.requestId}`;
    expect(usage).toMatchObject({ conversation_id: conversationId });
    const [sent] = await h.db.sql`SELECT resource_id FROM audit_logs WHERE details ->> 'request_id' = ${admitted.requestId}`;
    expect(sent!.resource_id).toBe(conversationId);
    const denied = await postChat(h.gw.url, { token, body: chatBody({ conversationId, model: 'o1' }) });
    const [deniedRow] = await h.db.sql`SELECT resource_id FROM audit_logs WHERE details ->> 'request_id' = ${denied.requestId}`;
    expect(deniedRow!.resource_id).toBe(conversationId);
    const fresh = await postChat(h.gw.url, { token, body: chatBody({ conversationId: 'new', model: 'o1' }) });
    const [freshRow] = await h.db.sql`SELECT resource_id FROM audit_logs WHERE details ->> 'request_id' = ${fresh.requestId}`;
    expect(freshRow!.resource_id).toBeNull();
  });

  it('re-sends the body to LibreChat byte for byte', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const raw = '{ "text" : "spacing  kept\\u00e9", "model":"gpt-4o",   "endpoint":"openAI", "conversationId": null }';
    const result = await postChat(h.gw.url, { token: await librechatToken(ws.email), rawBody: raw });
    expect(result.status, result.text).toBe(200);
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === result.requestId);
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(raw)));
    expect(seen.body).toEqual(JSON.parse(raw));
  });
});

describe('admission: every denial in DESIGN.md order', () => {
  it('401 unauthenticated without a valid token, an sk- key, or a forged signature', async () => {
    await expectDenied(await postChat(h.gw.url, {}), 401, 'unauthenticated', false);
    await expectDenied(await postChat(h.gw.url, { token: 'sk-abcdef0123456789' }), 401, 'unauthenticated', false);
    const forged = await signHs256({ email: 'a@b.c' }, { secret: 'another-secret-that-is-long-enough' });
    await expectDenied(await postChat(h.gw.url, { token: forged }), 401, 'unauthenticated', false);
  });

  it('400 invalid_request, 413 payload_too_large and 400 model_required', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    await expectDenied(await postChat(h.gw.url, { token, rawBody: '{"text": "unterminated' }), 400, 'invalid_request', false);
    await expectDenied(await postChat(h.gw.url, { token, rawBody: '[1,2]' }), 400, 'invalid_request', false);
    await expectDenied(await postChat(h.gw.url, { token, body: chatBody({ text: 'y'.repeat(70_000) }) }), 413, 'payload_too_large', false);
    await expectDenied(await postChat(h.gw.url, { token, body: { text: 'hi', endpoint: 'openAI' } }), 400, 'model_required', false);
  });

  it('400 tenant_ambiguous for an email in two tenants, unless the host names one', async () => {
    const email = `shared-${randomUUID().slice(0, 6)}@example.com`;
    const a = await seedWorkspace(h.db.sql, { email, domains: ['a.example.test'] });
    await seedWorkspace(h.db.sql, { email, domains: ['b.example.test'] });
    const token = await librechatToken(email);
    await expectDenied(await postChat(h.gw.url, { token }), 400, 'tenant_ambiguous', false);
    const viaHost = await postChat(h.gw.url, { token, body: chatBody(), headers: { host: 'A.example.test:443' } });
    expect(viaHost.status, viaHost.text).toBe(200);
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === viaHost.requestId);
    expect(seen.headers['x-tenant-id']).toBe(a.tenantId);
  });

  it('403 tenant_inactive for a suspended tenant and for a tid that does not exist', async () => {
    const ws = await seedWorkspace(h.db.sql, { tenantStatus: 'suspended' });
    await expectDenied(await postChat(h.gw.url, { token: await librechatToken(ws.email) }), 403, 'tenant_inactive', true);
    const ghost = await signHs256({ tid: randomUUID(), sub: randomUUID(), email: 'x@y.z' });
    await expectDenied(await postChat(h.gw.url, { token: ghost }), 403, 'tenant_inactive', false);
  });

  it('403 user_inactive for an unknown email, a suspended user and a deleted user', async () => {
    await expectDenied(await postChat(h.gw.url, { token: await librechatToken(`nobody-${randomUUID()}@example.com`) }), 403, 'user_inactive', false);
    const ws = await seedWorkspace(h.db.sql);
    await h.db.sql`UPDATE users SET status = 'suspended' WHERE user_id = ${ws.userId}`;
    const rows = await expectDenied(await postChat(h.gw.url, { token: await librechatToken(ws.email) }), 403, 'user_inactive', true);
    expect(rows[0]!.user_id).toBe(ws.userId);
    const ws2 = await seedWorkspace(h.db.sql);
    await h.db.sql`UPDATE users SET deleted_at = now() WHERE user_id = ${ws2.userId}`;
    // A deleted user's email is no candidate: no tenant can be chosen, so no audit row.
    await expectDenied(await postChat(h.gw.url, { token: await librechatToken(ws2.email) }), 403, 'user_inactive', false);
    const byId = await signHs256({ tid: ws2.tenantId, sub: ws2.userId });
    await expectDenied(await postChat(h.gw.url, { token: byId }), 403, 'user_inactive', true);
  });

  it('400 workspace_required when the user has several workspaces and names none', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const second = await createWorkspace(h.db.sql, ws.tenantId, ws.userId);
    await addMember(h.db.sql, second, ws.userId);
    const token = await librechatToken(ws.email);
    await expectDenied(await postChat(h.gw.url, { token }), 400, 'workspace_required', true);
    const byCookie = await postChat(h.gw.url, { token, body: chatBody(), headers: { cookie: `a=1; geko_workspace=${second}` } });
    expect(byCookie.status, byCookie.text).toBe(200);
    const byClaim = await postChat(h.gw.url, { token: await librechatToken(ws.email, { wid: second }), body: chatBody() });
    expect(byClaim.status, byClaim.text).toBe(200);
  });

  it('404 workspace_not_found for another tenant\'s workspace and for a non-UUID id', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const other = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    const rows = await expectDenied(await postChat(h.gw.url, { token, headers: { 'x-workspace-id': other.workspaceId } }), 404, 'workspace_not_found', true);
    expect(rows[0]).toMatchObject({ tenant_id: ws.tenantId, workspace_id: null });
    await expectDenied(await postChat(h.gw.url, { token, headers: { 'x-workspace-id': "1' OR '1'='1" } }), 404, 'workspace_not_found', true);
  });

  it('403 workspace_inactive for an archived or deleted workspace', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    await h.db.sql`UPDATE workspaces SET status = 'archived' WHERE workspace_id = ${ws.workspaceId}`;
    await expectDenied(await postChat(h.gw.url, { token, headers: { 'x-workspace-id': ws.workspaceId } }), 403, 'workspace_inactive', true);
    await h.db.sql`UPDATE workspaces SET status = 'active', deleted_at = now() WHERE workspace_id = ${ws.workspaceId}`;
    await expectDenied(await postChat(h.gw.url, { token, headers: { 'x-workspace-id': ws.workspaceId } }), 403, 'workspace_inactive', true);
  });

  it('403 not_a_member and 403 role_forbidden for a viewer', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const outsider = await createUser(h.db.sql, ws.tenantId, `outsider-${randomUUID().slice(0, 6)}@example.com`);
    const [o] = await h.db.sql<{ email: string }[]>`SELECT email FROM users WHERE user_id = ${outsider}`;
    await expectDenied(await postChat(h.gw.url, { token: await librechatToken(o!.email), headers: { 'x-workspace-id': ws.workspaceId } }), 403, 'not_a_member', true);
    const viewer = await seedWorkspace(h.db.sql, { role: 'viewer' });
    await expectDenied(await postChat(h.gw.url, { token: await librechatToken(viewer.email) }), 403, 'role_forbidden', true);
  });

  it('403 model_not_enabled unless every named model is enabled (a trailing * is a prefix)', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o', 'claude-*'] });
    const token = await librechatToken(ws.email);
    await expectDenied(await postChat(h.gw.url, { token, body: chatBody({ model: 'gpt-5' }) }), 403, 'model_not_enabled', true);
    const prefixed = await postChat(h.gw.url, { token, path: '/api/agents/chat/anthropic', body: chatBody({ model: 'claude-3-opus', endpoint: 'anthropic' }) });
    expect(prefixed.status, prefixed.text).toBe(200);
    await expectDenied(await postChat(h.gw.url, { token, body: chatBody({ addedConvo: { endpoint: 'openAI', model: 'o3' } }) }), 403, 'model_not_enabled', true);
    const both = await postChat(h.gw.url, { token, body: chatBody({ addedConvo: { endpoint: 'anthropic', model: 'claude-3-haiku' } }) });
    expect(both.status, both.text).toBe(200);
    const spec = await postChat(h.gw.url, { token, body: { text: 'hi', endpoint: 'openAI', spec: 'claude-special' } });
    expect(spec.status, spec.text).toBe(200);
  });

  it('admits a saved agent by its id or by the model LibreChat says it runs', async () => {
    const byId = await seedWorkspace(h.db.sql, { models: ['agent_enabled'] });
    const ok = await postChat(h.gw.url, { token: await librechatToken(byId.email), path: '/api/agents/chat/agents', body: { text: 'hi', endpoint: 'agents', agent_id: 'agent_enabled', conversationId: null } });
    expect(ok.status, ok.text).toBe(200);
    await h.upstream.control.setAgent('agent_runs_claude', { model: 'claude-3-5-sonnet', provider: 'anthropic' });
    const byModel = await seedWorkspace(h.db.sql, { models: ['claude-*'] });
    const token = await librechatToken(byModel.email);
    const viaModel = await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: { text: 'hi', endpoint: 'agents', agent_id: 'agent_runs_claude', conversationId: null } });
    expect(viaModel.status, viaModel.text).toBe(200);
    await expectDenied(await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: { text: 'hi', endpoint: 'agents', agent_id: 'agent_unknown', conversationId: null } }), 403, 'model_not_enabled', true, 'agents');
  });

  it('leaves out an agent model LibreChat names that no workspace could enable (oversized, or with NUL)', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['agent_odd_*', 'claude-*'] });
    const token = await librechatToken(ws.email);
    await h.upstream.control.setAgent('agent_odd_long', { model: `claude-${'x'.repeat(200_000)}`, provider: 'anthropic' });
    await h.upstream.control.setAgent('agent_odd_nul', { model: 'claude-\u0000', provider: 'anthropic' });
    for (const agentId of ['agent_odd_long', 'agent_odd_nul']) {
      const byId = await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: { text: 'hi', endpoint: 'agents', agent_id: agentId, conversationId: null } });
      expect(byId.status, byId.text).toBe(200);
    }
    const claudeOnly = await seedWorkspace(h.db.sql, { models: ['claude-*'] });
    await expectDenied(await postChat(h.gw.url, {
      token: await librechatToken(claudeOnly.email), path: '/api/agents/chat/agents', body: { text: 'hi', endpoint: 'agents', agent_id: 'agent_odd_long', conversationId: null },
    }), 403, 'model_not_enabled', true, 'agents');
  });

  it('403 quota_not_configured without a quota row', async () => {
    const ws = await seedWorkspace(h.db.sql, { noQuota: true });
    await expectDenied(await postChat(h.gw.url, { token: await librechatToken(ws.email) }), 403, 'quota_not_configured', true);
  });

  it('429 quota_exceeded for requests and for tokens, with Retry-After to reset_at', async () => {
    const ws = await seedWorkspace(h.db.sql, { requestsLimit: 1, tokensLimit: 1000, resetAt: '2099-01-01 00:00:00' });
    const token = await librechatToken(ws.email);
    expect((await postChat(h.gw.url, { token, body: chatBody() })).status).toBe(200);
    const denied = await expectDenied(await postChat(h.gw.url, { token }), 429, 'quota_exceeded', true);
    expect(denied[0]!.details).toMatchObject({ kind: 'requests' });
    const again = await postChat(h.gw.url, { token });
    expect(again.json.error?.details).toMatchObject({ kind: 'requests' });
    const retryAfter = Number(again.res.headers.get('retry-after'));
    const expected = Math.ceil((Date.parse('2099-01-01T00:00:00Z') - Date.now()) / 1000);
    expect(Math.abs(retryAfter - expected)).toBeLessThanOrEqual(5);

    const tokensWs = await seedWorkspace(h.db.sql, { tokensLimit: 100, resetAt: null });
    const t2 = await librechatToken(tokensWs.email);
    const big = await postChat(h.gw.url, { token: t2, body: chatBody({ max_tokens: 101, text: '' }) });
    expect(big.status).toBe(429);
    expect(big.json.error?.details).toMatchObject({ kind: 'tokens' });
    expect(big.res.headers.get('retry-after')).toBeNull();
    expect(await upstreamSaw(h.upstream, big.requestId)).toBe(false);
    expect(await quotaRow(h.db.sql, tokensWs.workspaceId)).toMatchObject({ tokens_used: 0, requests_used: 0 });
  });

  it('sizes the hold from workspace maxTokens before the body\'s max_tokens', async () => {
    const ws = await seedWorkspace(h.db.sql, { customSettings: { maxTokens: 2000 } });
    const result = await postChat(h.gw.url, { token: await librechatToken(ws.email), body: chatBody({ text: 'é'.repeat(10), max_tokens: 5 }) });
    expect(result.status, result.text).toBe(200);
    const [usage] = await h.db.sql`SELECT hold_tokens, hold_prompt_tokens FROM chat_usage WHERE request_id = ${result.requestId}`;
    expect(usage).toMatchObject({ hold_tokens: 2005, hold_prompt_tokens: 5 });
  });
});

describe('admission: ops change things with plain SQL and the next request sees it', () => {
  it('disabling a model and lowering a limit take effect at once', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    expect((await postChat(h.gw.url, { token, body: chatBody() })).status).toBe(200);
    await h.db.sql`UPDATE workspace_config SET enabled_models = '["gpt-4o-mini"]' WHERE workspace_id = ${ws.workspaceId}`;
    expect((await postChat(h.gw.url, { token, body: chatBody() })).json.error?.code).toBe('model_not_enabled');
    await h.db.sql`UPDATE workspace_config SET enabled_models = '["gpt-4o"]' WHERE workspace_id = ${ws.workspaceId}`;
    expect((await postChat(h.gw.url, { token, body: chatBody() })).status).toBe(200);
    await h.db.sql`UPDATE workspace_quotas SET requests_limit = 2 WHERE workspace_id = ${ws.workspaceId}`;
    expect((await postChat(h.gw.url, { token, body: chatBody() })).json.error?.code).toBe('quota_exceeded');
  });
});

describe('admission: GET /_gateway/quota', () => {
  it('answers the caller\'s workspace quota, and a viewer may read it', async () => {
    const ws = await seedWorkspace(h.db.sql, { role: 'viewer', tokensLimit: 500, requestsLimit: 7, resetAt: '2099-03-31 00:00:00' });
    const res = await fetch(`${h.gw.url}/_gateway/quota`, { headers: { authorization: `Bearer ${await librechatToken(ws.email)}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      tenant_id: ws.tenantId, workspace_id: ws.workspaceId, tokens_limit: 500, tokens_used: 0,
      requests_limit: 7, requests_used: 0, reset_at: '2099-03-31T00:00:00.000Z',
    });
    const anonymous = await fetch(`${h.gw.url}/_gateway/quota`);
    expect(anonymous.status).toBe(401);
    const unknown = await fetch(`${h.gw.url}/_gateway/nope`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});
