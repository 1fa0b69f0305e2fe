// MCP servers and built-in tools at admission, over real HTTP: every way a chat body asks for one
// (ephemeralAgent.mcp, each built-in flag, the same inside addedConvo) is refused with 403 mcp_not_enabled
// naming it when the workspace does not enable it (audited, never forwarded), admitted when an entry does
// (exact, prefix*, *), and each decision is still ONE SQL statement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statementCalls } from './helpers/database.ts';
import { chatBody, postChat, startHarness, upstreamSaw, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

/** A workspace enabling these MCP entries, and a token of its user. */
async function workspaceWith(enabledMcps: unknown) {
  const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
  await h.db.sql`UPDATE workspace_config SET enabled_mcps = ${JSON.stringify(enabledMcps)}::text::jsonb WHERE workspace_id = ${ws.workspaceId}`;
  return { ...ws, token: await librechatToken(ws.email) };
}

/** Generations that never end: no settlement statement runs while statements are counted. */
const chat = (extra: Record<string, unknown>) => chatBody({ ...extra, __fake: { ending: 'hang' } });

const WAYS: Array<[string, string, Record<string, unknown>]> = [
  ['an MCP server in ephemeralAgent.mcp', 'github', { ephemeralAgent: { mcp: ['github'] } }],
  ['web_search: true', 'web_search', { ephemeralAgent: { web_search: true } }],
  ['execute_code: true', 'execute_code', { ephemeralAgent: { execute_code: true } }],
  ['file_search: true', 'file_search', { ephemeralAgent: { file_search: true } }],
  ['an MCP server in addedConvo.ephemeralAgent.mcp', 'jira', { addedConvo: { model: 'gpt-4o', endpoint: 'openAI', ephemeralAgent: { mcp: ['jira'] } } }],
  ['a flag inside addedConvo', 'web_search', { addedConvo: { model: 'gpt-4o', endpoint: 'openAI', ephemeralAgent: { web_search: true } } }],
];

describe('a chat asking for a server or tool the workspace does not enable', () => {
  for (const [way, name, extra] of WAYS) {
    it(`${way}: 403 mcp_not_enabled naming "${name}", a chat_denied row, nothing forwarded or held`, async () => {
      const ws = await workspaceWith(['google_search']);
      const denied = await postChat(h.gw.url, { token: ws.token, body: chat(extra) });
      expect(denied.status, denied.text).toBe(403);
      expect(denied.json.error).toMatchObject({ code: 'mcp_not_enabled', request_id: denied.requestId, details: { name } });
      expect(denied.json.error?.message).toContain(`"${name}"`);
      expect(await upstreamSaw(h.upstream, denied.requestId)).toBe(false);
      const rows = await h.db.sql`SELECT action, status, error_message, details FROM audit_logs WHERE details ->> 'request_id' = ${denied.requestId}`;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ action: 'chat_denied', status: 'failed', error_message: 'mcp_not_enabled', details: { code: 'mcp_not_enabled', name } });
      expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ requests_used: 0, tokens_used: 0 });

      await h.db.sql`UPDATE workspace_config SET enabled_mcps = enabled_mcps || ${JSON.stringify([name])}::text::jsonb WHERE workspace_id = ${ws.workspaceId}`;
      const admitted = await postChat(h.gw.url, { token: ws.token, body: chat(extra) });
      expect(admitted.status, admitted.text).toBe(200);
      const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === admitted.requestId);
      // The fake records the body LibreChat got, ephemeralAgent included, byte for byte as sent.
      expect(seen.body).toMatchObject(extra);
    });
  }

  it('names the first name not enabled when several are, and passes when a prefix* or * entry covers them', async () => {
    const ws = await workspaceWith(['git*']);
    const body = chat({ ephemeralAgent: { mcp: ['github', 'gitlab', 'jira-cloud'], web_search: true } });
    const denied = await postChat(h.gw.url, { token: ws.token, body });
    expect(denied.json.error?.details).toEqual({ name: 'jira-cloud' });
    await h.db.sql`UPDATE workspace_config SET enabled_mcps = '["git*", "jira-*"]' WHERE workspace_id = ${ws.workspaceId}`;
    expect((await postChat(h.gw.url, { token: ws.token, body })).json.error?.details).toEqual({ name: 'web_search' });
    await h.db.sql`UPDATE workspace_config SET enabled_mcps = '["*"]' WHERE workspace_id = ${ws.workspaceId}`;
    expect((await postChat(h.gw.url, { token: ws.token, body })).status).toBe(200);
  });

  it('checks the model first: a disabled model is model_not_enabled even when a tool is refused too', async () => {
    const ws = await workspaceWith([]);
    const denied = await postChat(h.gw.url, { token: ws.token, body: chat({ model: 'o1', ephemeralAgent: { mcp: ['github'] } }) });
    expect(denied.json.error?.code).toBe('model_not_enabled');
  });

  it('leaves a chat that asks for no tool alone, whatever enabled_mcps holds, and ignores flags that are not true', async () => {
    const ws = await workspaceWith({ not: 'an array' });
    const plain = await postChat(h.gw.url, { token: ws.token, body: chat({ ephemeralAgent: { mcp: [], web_search: false, execute_code: 'yes' } }) });
    expect(plain.status, plain.text).toBe(200);
  });

  it('answers 400 invalid_request for a server name PostgreSQL could not hold, with no SQL', async () => {
    const ws = await workspaceWith(['*']);
    const bad = await postChat(h.gw.url, { token: ws.token, body: chat({ ephemeralAgent: { mcp: ['bad\u0000name'] } }) });
    expect(bad.status).toBe(400);
    expect(bad.json.error?.code).toBe('invalid_request');
    expect(await upstreamSaw(h.upstream, bad.requestId)).toBe(false);
  });
});

describe('a model spec the chat names', () => {
  it('asks for the spec\'s MCP servers and built-in tools (its mcpServers and webSearch), read from LibreChat\'s config', async () => {
    const list = [{ name: 'researcher', label: 'Researcher', preset: { endpoint: 'openAI', model: 'gpt-4o' }, mcpServers: ['jira'], webSearch: true }];
    await h.upstream.control.setModelSpecs({ enforce: false, list });
    try {
      const ws = await workspaceWith(['jira']);
      const denied = await postChat(h.gw.url, { token: ws.token, body: chat({ spec: 'researcher' }) });
      expect(denied.status, denied.text).toBe(403);
      expect(denied.json.error).toMatchObject({ code: 'mcp_not_enabled', details: { name: 'web_search' } });
      expect(denied.json).toMatchObject({ type: 'google_error' });
      expect(String(denied.json.info)).toContain('"web_search" is not enabled for your workspace');
      expect(await upstreamSaw(h.upstream, denied.requestId)).toBe(false);
      await h.db.sql`UPDATE workspace_config SET enabled_mcps = '["jira", "web_search"]'::jsonb WHERE workspace_id = ${ws.workspaceId}`;
      const admitted = await postChat(h.gw.url, { token: ws.token, body: chat({ spec: 'researcher' }) });
      expect(admitted.status, admitted.text).toBe(200);
    } finally {
      await h.upstream.control.setModelSpecs(null);
    }
  });
});

describe('one statement per decision', () => {
  it('runs exactly one SQL statement for an admission with tools and for an mcp_not_enabled refusal', async () => {
    const ws = await workspaceWith(['github']);
    const admittedBody = chat({ ephemeralAgent: { mcp: ['github'] } });
    const deniedBody = chat({ ephemeralAgent: { mcp: ['github', 'slack'] } });
    // Warm the connections' type lookups out of the count.
    await postChat(h.gw.url, { token: ws.token, body: admittedBody });
    await postChat(h.gw.url, { token: ws.token, body: deniedBody });
    await h.db.sql`SELECT pg_stat_statements_reset()`;
    const admitted = await postChat(h.gw.url, { token: ws.token, body: admittedBody });
    expect(admitted.status, admitted.text).toBe(200);
    expect(await statementCalls(h.db.sql)).toBe(1);
    await h.db.sql`SELECT pg_stat_statements_reset()`;
    const denied = await postChat(h.gw.url, { token: ws.token, body: deniedBody });
    expect(denied.json.error?.details).toEqual({ name: 'slack' });
    expect(await statementCalls(h.db.sql)).toBe(1);
  });
});
