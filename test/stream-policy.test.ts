// What actually runs is held to what the workspace enabled at admission (DESIGN.md: Admission, "What
// actually runs is held too"; the seed's other entitlements, "On the stream"): a primary, subagent or
// sequential call on a model not enabled, in a chat admitted by model, and a tool call of an MCP server or
// built-in tool not enabled, in every chat, end the generation through LibreChat's abort route with the
// caller's token; what was used is settled once, after a chat_policy_violation audit row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { waitSettled } from './helpers/metering.ts';
import { quotaRow, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

interface AuditRow {
  action: string;
  status: string;
  error_message: string | null;
  details: Record<string, unknown>;
  created_at: Date;
}

async function auditRows(requestId: string): Promise<AuditRow[]> {
  return h.db.sql<AuditRow[]>`
    SELECT action, status, error_message, details, created_at FROM audit_logs
    WHERE details ->> 'request_id' = ${requestId} ORDER BY created_at, action`;
}

async function workspace(models: string[], mcps: string[] = []): Promise<{ ws: SeededWorkspace; token: string }> {
  const ws = await seedWorkspace(h.db.sql, { models, tokensLimit: 1_000_000 });
  await h.db.sql`UPDATE workspace_config SET enabled_mcps = ${h.db.sql.json(mcps)} WHERE workspace_id = ${ws.workspaceId}`;
  return { ws, token: await librechatToken(ws.email) };
}

/** A long last call, so that an abort the gateway sends lands while the generation still runs. */
const longTail = { input: 200, output: 20, deltas: Array.from({ length: 150 }, () => 'x ') };

/** Settled, with the usage LibreChat reported for it, and LibreChat was asked to abort exactly when `aborted`. */
async function expectSettledAsLibreChatBilled(requestId: string, streamId: string, aborted: boolean) {
  const row = await waitSettled(h.db.sql, requestId);
  const job = await h.upstream.control.waitForJob((j) => j.streamId === streamId && j.status !== 'running', 5_000);
  expect(job.aborts).toBe(aborted ? 1 : 0);
  expect(row.status).toBe(aborted ? 'aborted' : 'settled');
  expect(row.total_tokens).toBe(job.tokensEmitted);
  return row;
}

describe('a call on a model the workspace does not enable', () => {
  it('an agent whose model changed after admission looked it up is stopped on its first call with the new model', async () => {
    const { ws, token } = await workspace(['gpt-4o']);
    await h.upstream.control.setAgent('agent_writer', { model: 'gpt-4o', provider: 'openAI' });
    const body = { text: 'write', endpoint: 'agents', agent_id: 'agent_writer', conversationId: null };
    const first = await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body });
    expect(first.status, first.text).toBe(200);
    await expectSettledAsLibreChatBilled(first.requestId, String(first.json.streamId), false);
    // The author switches the agent to a model the workspace never enabled; the gateway's lookup is still cached.
    await h.upstream.control.setAgent('agent_writer', { model: 'o1-pro', provider: 'openAI' });
    const calls = [{ input: 100, output: 10, deltas: ['a'] }, longTail];
    const chat = await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: { ...body, __fake: { calls, frameIntervalMs: 20 } } });
    expect(chat.status, chat.text).toBe(200);
    const streamId = String(chat.json.streamId);
    const row = await expectSettledAsLibreChatBilled(chat.requestId, streamId, true);
    expect(row.total_tokens).toBe(110);
    expect(row.details).toMatchObject({ reason: 'model_not_enabled' });
    expect((await quotaRow(h.db.sql, ws.workspaceId)).tokens_used).toBe(821 + 110);
    // The abort went to LibreChat with the caller's token and the generation's ids.
    const log = await h.upstream.control.log();
    const abort = log.find((e) => e.method === 'POST' && e.url === '/api/agents/chat/abort' && e.headers['x-request-id'] === chat.requestId);
    expect(abort?.status).toBe(200);
    expect(abort?.headers.authorization).toBe(`Bearer ${token}`);
    expect(abort?.body).toMatchObject({ streamId, conversationId: streamId });
    const audits = await auditRows(chat.requestId);
    expect(audits.map((a) => a.action)).toEqual(['chat_sent', 'chat_policy_violation', 'chat_completed']);
    expect(audits[1]).toMatchObject({ status: 'failed', error_message: 'model_not_enabled' });
    expect(audits[1]!.details).toMatchObject({ model: 'o1-pro', provider: 'openAI', usage_type: null, request_id: chat.requestId });
    expect(audits[2]!.details).toMatchObject({ outcome: 'aborted', total_tokens: 110 });
  });

  it('a subagent on a model the workspace does not enable stops the chat', async () => {
    const { token } = await workspace(['gpt-4o']);
    const calls = [{ model: 'gpt-4o', input: 50, output: 5 }, { model: 'claude-3-opus', provider: 'anthropic', usageType: 'subagent', input: 70, output: 7 }, longTail];
    const chat = await postChat(h.gw.url, { token, body: chatBody({ __fake: { calls, frameIntervalMs: 20 } }) });
    expect(chat.status, chat.text).toBe(200);
    await expectSettledAsLibreChatBilled(chat.requestId, String(chat.json.streamId), true);
    const violation = (await auditRows(chat.requestId)).find((a) => a.action === 'chat_policy_violation');
    expect(violation!.details).toMatchObject({ model: 'claude-3-opus', provider: 'anthropic', usage_type: 'subagent' });
  });

  it('LibreChat\'s helper calls (summarization, labels) on unlisted models are metered, never stopped', async () => {
    const { token } = await workspace(['gpt-4o']);
    const calls = [
      { model: 'gpt-4o', input: 300, output: 30 },
      { model: 'gpt-4.1-nano', usageType: 'summarization', input: 900, output: 90 },
      { model: 'gpt-4.1-nano', usageType: 'activity-label', input: 20, output: 2 },
      { model: 'gpt-4o', input: 400, output: 40 },
    ];
    const chat = await postChat(h.gw.url, { token, body: chatBody({ __fake: { calls } }) });
    expect(chat.status, chat.text).toBe(200);
    const row = await expectSettledAsLibreChatBilled(chat.requestId, String(chat.json.streamId), false);
    expect(row.total_tokens).toBe(1782);
    expect((row.details as { per_model: Record<string, unknown> }).per_model['gpt-4.1-nano']).toMatchObject({ total_tokens: 1012, calls: 2 });
    expect((await auditRows(chat.requestId)).map((a) => a.action)).toEqual(['chat_sent', 'chat_completed']);
  });

  it('an agent whose id is enabled is never stopped for the models it runs', async () => {
    const { token } = await workspace(['agent_trusted']);
    await h.upstream.control.setAgent('agent_trusted', { model: 'o1-pro', provider: 'openAI' });
    const calls = [{ input: 100, output: 10 }, { model: 'claude-3-opus', provider: 'anthropic', usageType: 'subagent', input: 70, output: 7 }];
    const chat = await postChat(h.gw.url, {
      token, path: '/api/agents/chat/agents', body: { text: 'go', endpoint: 'agents', agent_id: 'agent_trusted', __fake: { calls } },
    });
    expect(chat.status, chat.text).toBe(200);
    const row = await expectSettledAsLibreChatBilled(chat.requestId, String(chat.json.streamId), false);
    expect(row.total_tokens).toBe(187);
  });
});

describe('a tool call of an MCP server or built-in tool the workspace does not enable', () => {
  it('stops the generation, with the tool in the audit row', async () => {
    const { token } = await workspace(['gpt-4o'], ['github']);
    const calls = [{ model: 'gpt-4o', input: 60, output: 6, toolCalls: [{ name: 'post_message_mcp_slack', args: '{"text":"hi"}' }] }, longTail];
    const chat = await postChat(h.gw.url, { token, body: chatBody({ __fake: { calls, frameIntervalMs: 20 } }) });
    expect(chat.status, chat.text).toBe(200);
    await expectSettledAsLibreChatBilled(chat.requestId, String(chat.json.streamId), true);
    const audits = await auditRows(chat.requestId);
    expect(audits.map((a) => a.action)).toEqual(['chat_sent', 'chat_policy_violation', 'chat_completed']);
    expect(audits[1]).toMatchObject({ status: 'failed', error_message: 'mcp_not_enabled' });
    expect(audits[1]!.details).toMatchObject({ tool: 'post_message_mcp_slack', server: 'slack', request_id: chat.requestId });
  });

  it('does not stop a tool of an enabled server (as LibreChat spells it in tool keys), nor other tools', async () => {
    const { token } = await workspace(['gpt-4o'], ['github', 'Team Drive']);
    const toolCalls = [{ name: 'create_issue_mcp_github' }, { name: 'list_files_mcp_Team_Drive' }, { name: 'dalle' }];
    const calls = [{ model: 'gpt-4o', input: 60, output: 6, toolCalls }, { model: 'gpt-4o', input: 80, output: 8 }];
    const chat = await postChat(h.gw.url, { token, body: chatBody({ __fake: { calls } }) });
    expect(chat.status, chat.text).toBe(200);
    const row = await expectSettledAsLibreChatBilled(chat.requestId, String(chat.json.streamId), false);
    expect(row.total_tokens).toBe(154);
  });

  it('stops a built-in tool that is not enabled even in a chat admitted by an enabled agent id', async () => {
    const { token } = await workspace(['agent_searcher'], []);
    await h.upstream.control.setAgent('agent_searcher', { model: 'gpt-4o', provider: 'openAI' });
    const calls = [{ input: 60, output: 6, toolCalls: [{ name: 'web_search', args: '{"query":"news"}' }] }, longTail];
    const chat = await postChat(h.gw.url, {
      token, path: '/api/agents/chat/agents', body: { text: 'go', endpoint: 'agents', agent_id: 'agent_searcher', __fake: { calls, frameIntervalMs: 20 } },
    });
    expect(chat.status, chat.text).toBe(200);
    await expectSettledAsLibreChatBilled(chat.requestId, String(chat.json.streamId), true);
    const violation = (await auditRows(chat.requestId)).find((a) => a.action === 'chat_policy_violation');
    expect(violation!.details).toMatchObject({ tool: 'web_search' });
  });
});

describe('the OpenAI-compatible route', () => {
  it('its chunks name no model per call, but a tool call of a server not enabled cuts the answer (LibreChat stops its run) and is audited', async () => {
    const { ws, token } = await workspace(['agent_*'], ['github']);
    const calls = [{ input: 100, output: 10, toolCalls: [{ name: 'query_mcp_postgres', args: '{"sql":"select 1"}' }] }, longTail];
    const result = await postChat(h.gw.url, {
      token, path: '/api/agents/v1/chat/completions',
      body: { model: 'agent_remote', stream: true, messages: [{ role: 'user', content: 'count the rows' }], __fake: { calls, frameIntervalMs: 20 } },
    }).catch(() => undefined);
    const rows = await h.db.sql<{ request_id: string }[]>`SELECT request_id FROM chat_usage WHERE workspace_id = ${ws.workspaceId}`;
    expect(rows).toHaveLength(1);
    const requestId = rows[0]!.request_id;
    const row = await waitSettled(h.db.sql, requestId);
    // Nothing streamed reports usage before the end: what ran is charged at least the prompt estimate.
    expect(row).toMatchObject({ status: 'aborted', usage_source: 'estimate' });
    expect(row.prompt_tokens).toBeGreaterThan(0);
    const upstreamPost = (await h.upstream.control.log()).find((e) => e.headers['x-request-id'] === requestId);
    expect(upstreamPost?.closedEarly).toBe(true);
    if (result) expect(result.text).not.toContain('[DONE]');
    const audits = await auditRows(requestId);
    expect(audits.map((a) => a.action)).toEqual(['chat_sent', 'chat_policy_violation', 'chat_completed']);
    expect(audits[1]!.details).toMatchObject({ tool: 'query_mcp_postgres', server: 'postgres' });
  });
});
