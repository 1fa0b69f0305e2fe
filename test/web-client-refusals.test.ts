// DESIGN.md's refusal table for LibreChat's web client, row by row over real HTTP: every refused chat keeps
// its status and `error` object and adds LibreChat's own top-level fields (never a `code`), so the client
// renders it as one of its own: illegal_model_request, message_limit, token_balance, and google_error with our
// sentence for every other refusal. The body is read back the way the client finds it (extractJson).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken, signHs256 } from './helpers/jwt.ts';
import { addMember, createTenant, createUser, createWorkspace, seedWorkspace } from './helpers/seed.ts';
import { startGateway } from './helpers/gateway.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness({ CHAT_BODY_LIMIT: '64kb' }); });
afterAll(async () => { await h?.close(); });

/** LibreChat's client/src/utils/json.ts extractJson: the first brace-balanced span, braces in strings counted too. */
function extractJson(text: string): string {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === '{') {
      if (depth === 0) start = i;
      depth += 1;
    } else if (text[i] === '}') {
      depth -= 1;
      if (depth === 0 && start !== -1) return text.slice(start, i + 1);
    }
  }
  return '';
}

type Reply = Awaited<ReturnType<typeof postChat>>;

/** What both client generations key on, read as they read it: the stringified body, then extractJson. */
function asClientSees(reply: Reply): Record<string, unknown> {
  const parsed = JSON.parse(extractJson(JSON.stringify(reply.json))) as Record<string, unknown>;
  expect(parsed).toEqual(reply.json);
  expect(parsed).not.toHaveProperty('code');
  return parsed;
}

function expectSentence(reply: Reply, status: number, code: string, sentence: RegExp): void {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.json.error).toMatchObject({ code, request_id: reply.requestId });
  const seen = asClientSees(reply);
  expect(seen.type).toBe('google_error');
  expect(seen.info).toMatch(sentence);
  expect(String(seen.info)).not.toMatch(/[{}]/);
}

async function tokenFor(ws: { email: string }) {
  return librechatToken(ws.email);
}

describe('refusals LibreChat has a type for', () => {
  it('model_not_enabled: illegal_model_request naming the endpoint as posted and the first model not enabled', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o', 'claude-*'] });
    const token = await tokenFor(ws);
    const direct = await postChat(h.gw.url, { token, body: chatBody({ model: 'gpt-4.1' }) });
    expect(direct.status).toBe(403);
    expect(direct.json.error).toMatchObject({ code: 'model_not_enabled', details: { model: 'gpt-4.1' } });
    expect(asClientSees(direct)).toMatchObject({ type: 'illegal_model_request', info: 'openAI|gpt-4.1' });

    const added = await postChat(h.gw.url, {
      token, path: '/api/agents/chat/anthropic',
      body: chatBody({ model: 'claude-sonnet-4-5', endpoint: 'anthropic', addedConvo: { endpoint: 'openAI', model: 'o3-mini' } }),
    });
    expect(added.status).toBe(403);
    expect(asClientSees(added)).toMatchObject({ type: 'illegal_model_request', info: 'anthropic|o3-mini' });

    await h.upstream.control.setAgent('agent_web_refusal', { model: 'gemini-2.5-pro', provider: 'google' });
    const agent = await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: chatBody({ endpoint: 'agents', agent_id: 'agent_web_refusal', model: undefined }) });
    expect(agent.status).toBe(403);
    expect(asClientSees(agent)).toMatchObject({ type: 'illegal_model_request', info: 'agents|gemini-2.5-pro' });
  });

  it('requests used up: message_limit with the cap, the minutes to the reset and the reset in epoch ms', async () => {
    const resetAt = new Date(Date.now() + 90 * 60_000);
    const ws = await seedWorkspace(h.db.sql, { requestsLimit: 1, resetAt: resetAt.toISOString().replace('T', ' ').replace('Z', '') });
    const token = await tokenFor(ws);
    expect((await postChat(h.gw.url, { token })).status).toBe(200);
    const refused = await postChat(h.gw.url, { token });
    expect(refused.status).toBe(429);
    expect(refused.json.error).toMatchObject({ code: 'quota_exceeded', details: { kind: 'requests', requests_limit: 1, requests_used: 1 } });
    const seen = asClientSees(refused);
    expect(seen).toMatchObject({ type: 'message_limit', max: 1 });
    expect(seen.resetAt).toBe(resetAt.getTime());
    expect(seen.windowInMinutes).toBeGreaterThanOrEqual(89);
    expect(seen.windowInMinutes).toBeLessThanOrEqual(90);
  });

  it('requests used up with no reset: message_limit with the cap and no window to count down', async () => {
    const ws = await seedWorkspace(h.db.sql, { requestsLimit: 0 });
    const seen = asClientSees(await postChat(h.gw.url, { token: await tokenFor(ws) }));
    expect(seen).toEqual(expect.objectContaining({ type: 'message_limit', max: 0 }));
    expect(seen).not.toHaveProperty('windowInMinutes');
    expect(seen).not.toHaveProperty('resetAt');
  });

  it('tokens used up: token_balance with what is left, the hold and the prompt estimate', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 100 });
    await h.db.sql`UPDATE workspace_quotas SET tokens_used = 70 WHERE workspace_id = ${ws.workspaceId}`;
    const refused = await postChat(h.gw.url, { token: await tokenFor(ws), body: chatBody({ text: 'x'.repeat(80), max_tokens: 20 }) });
    expect(refused.status).toBe(429);
    expect(asClientSees(refused)).toMatchObject({ type: 'token_balance', balance: 30, tokenCost: 40, promptTokens: 20 });
  });
});

describe('every other refusal: google_error with a sentence for the person in the chat', () => {
  it('401 only for a missing or bad token', async () => {
    expectSentence(await postChat(h.gw.url, {}), 401, 'unauthenticated', /sign in again/);
    expectSentence(await postChat(h.gw.url, { token: 'not-a-jwt' }), 401, 'unauthenticated', /sign in again/);
  });

  it('the body: not JSON, too large, no model', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await tokenFor(ws);
    expectSentence(await postChat(h.gw.url, { token, rawBody: '{"text":' }), 400, 'invalid_request', /could not read this message/);
    expectSentence(await postChat(h.gw.url, { token, body: chatBody({ text: 'x'.repeat(70 * 1024) }) }), 413, 'payload_too_large', /Shorten it/);
    expectSentence(await postChat(h.gw.url, { token, body: chatBody({ model: undefined }) }), 400, 'model_required', /Choose a model/);
  });

  it('who the caller is: several organisations, an inactive organisation, an unknown user', async () => {
    const email = `twice-${randomUUID().slice(0, 8)}@example.com`;
    for (let i = 0; i < 2; i += 1) await createUser(h.db.sql, await createTenant(h.db.sql), email);
    expectSentence(await postChat(h.gw.url, { token: await librechatToken(email) }), 400, 'tenant_ambiguous', /your own organisation's address/);
    const paused = await seedWorkspace(h.db.sql, { tenantStatus: 'suspended' });
    expectSentence(await postChat(h.gw.url, { token: await tokenFor(paused) }), 403, 'tenant_inactive', /administrator/);
    expectSentence(await postChat(h.gw.url, { token: await librechatToken(`nobody-${randomUUID()}@example.com`) }), 403, 'user_inactive', /administrator/);
  });

  it('which workspace: none chosen, not found, archived, not a member, a viewer', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await tokenFor(ws);
    const second = await createWorkspace(h.db.sql, ws.tenantId, ws.userId);
    await addMember(h.db.sql, second, ws.userId);
    const chooser = /\/_gateway\/workspace/;
    expectSentence(await postChat(h.gw.url, { token }), 400, 'workspace_required', chooser);
    expectSentence(await postChat(h.gw.url, { token, headers: { 'x-workspace-id': randomUUID() } }), 404, 'workspace_not_found', chooser);
    const archived = await createWorkspace(h.db.sql, ws.tenantId, ws.userId, { status: 'archived' });
    await addMember(h.db.sql, archived, ws.userId);
    expectSentence(await postChat(h.gw.url, { token, headers: { cookie: `geko_workspace=${archived}` } }), 403, 'workspace_inactive', chooser);
    const foreign = await createWorkspace(h.db.sql, ws.tenantId, ws.userId);
    expectSentence(await postChat(h.gw.url, { token, headers: { 'x-workspace-id': foreign } }), 403, 'not_a_member', chooser);
    const viewer = await seedWorkspace(h.db.sql, { role: 'viewer' });
    expectSentence(await postChat(h.gw.url, { token: await tokenFor(viewer) }), 403, 'role_forbidden', /viewer/);
  });

  it('no quota configured, and the same form on the OpenAI-compatible and assistants routes and on resume', async () => {
    const ws = await seedWorkspace(h.db.sql, { noQuota: true });
    const token = await tokenFor(ws);
    expectSentence(await postChat(h.gw.url, { token }), 403, 'quota_not_configured', /workspace admin/);
    expectSentence(await postChat(h.gw.url, { token, path: '/api/assistants/v2/chat', body: { model: 'gpt-4o', text: 'hi' } }), 403, 'quota_not_configured', /workspace admin/);
    expectSentence(await postChat(h.gw.url, { token: await signHs256({ email: ws.email }), path: '/api/agents/v1/chat/completions', body: { model: 'gpt-4o', messages: [] } }), 403, 'quota_not_configured', /workspace admin/);
    expectSentence(await postChat(h.gw.url, { token, path: '/api/agents/chat/resume', body: { conversationId: randomUUID() } }), 403, 'quota_not_configured', /workspace admin/);
  });

  it('LibreChat not reachable: 502 with a sentence, the hold given back', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const down = await startGateway(h.db.url, 'http://127.0.0.1:1');
    try {
      expectSentence(await postChat(down.url, { token: await tokenFor(ws) }), 502, 'upstream_unavailable', /could not be reached/);
    } finally {
      await down.close();
    }
  });
});
