// LibreChat's lists, filtered to the caller's workspace over real HTTP (DESIGN.md "LibreChat's web client"):
// models, endpoints, agents, the startup config's model specs and the three MCP lists. A filtered answer is
// valid JSON of the right length with no upstream validator and `private, no-store`; one statement decides it;
// an operator's UPDATE shows on the next GET; without a token or a resolvable workspace LibreChat's answer
// passes byte for byte.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statementCalls } from './helpers/database.ts';
import { startGateway } from './helpers/gateway.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { send } from './helpers/raw-http.ts';
import { addMember, createWorkspace, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

let h: Harness;
let ws: SeededWorkspace;
let token: string;

beforeAll(async () => {
  h = await startHarness();
  ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o', 'claude-*'] });
  await h.db.sql`UPDATE workspace_config SET enabled_mcps = ${h.db.sql.json(['github'])} WHERE workspace_id = ${ws.workspaceId}`;
  token = await librechatToken(ws.email);
  await h.upstream.control.setAgent('agent_gpt', { model: 'gpt-4o', provider: 'openAI', name: 'GPT helper' });
  await h.upstream.control.setAgent('agent_gemini', { model: 'gemini-2.5-pro', provider: 'google', name: 'Gemini helper' });
  await h.upstream.control.setAgent('agent_support', { model: 'o3-mini', provider: 'openAI', name: 'Support' });
});
afterAll(async () => { await h?.close(); });

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  json: Record<string, unknown>;
}

async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const answer = await send(base, path, { headers });
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(answer.text) as Record<string, unknown>; } catch { /* not JSON */ }
  return { status: answer.status, headers: answer.headers, raw: answer.body, json };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function expectFiltered(answer: Answer): void {
  expect(answer.status).toBe(200);
  expect(answer.headers['cache-control']).toBe('private, no-store');
  expect(answer.headers.etag).toBeUndefined();
  expect(Number(answer.headers['content-length'])).toBe(answer.raw.length);
}

describe('filtered to the workspace', () => {
  it('GET /api/models: each endpoint lists only enabled models, in one statement', async () => {
    await get(h.gw.url, '/api/models', bearer(token)); // warm the connection's type lookups out of the count
    await h.db.sql`SELECT pg_stat_statements_reset()`;
    const answer = await get(h.gw.url, '/api/models', bearer(token));
    expect(await statementCalls(h.db.sql)).toBe(1);
    expectFiltered(answer);
    expect(answer.json).toEqual({ openAI: ['gpt-4o'], anthropic: ['claude-sonnet-4-5', 'claude-3-5-haiku-20241022'], google: [] });
  });

  it('GET /api/endpoints: an endpoint left with no model is dropped, the rest kept as LibreChat sent them', async () => {
    const direct = await get(h.upstream.url, '/api/endpoints', bearer(token));
    const answer = await get(h.gw.url, '/API/Endpoints/', bearer(token));
    expectFiltered(answer);
    const { google: _google, ...kept } = direct.json;
    expect(answer.json).toEqual(kept);
  });

  it('GET /api/agents: an agent stays when its id or its model is enabled; the list envelope is kept', async () => {
    const answer = await get(h.gw.url, '/api/agents?requiredPermission=1&limit=100', bearer(token));
    expectFiltered(answer);
    expect(answer.json).toMatchObject({ object: 'list', has_more: false, after: null });
    expect((answer.json.data as { id: string }[]).map((a) => a.id)).toEqual(['agent_gpt']);
    await h.db.sql`UPDATE workspace_config SET enabled_models = ${h.db.sql.json(['gpt-4o', 'claude-*', 'agent_support'])} WHERE workspace_id = ${ws.workspaceId}`;
    const after = await get(h.gw.url, '/api/agents', bearer(token));
    expect((after.json.data as { id: string }[]).map((a) => a.id)).toEqual(['agent_gpt', 'agent_support']);
    await h.db.sql`UPDATE workspace_config SET enabled_models = ${h.db.sql.json(['gpt-4o', 'claude-*'])} WHERE workspace_id = ${ws.workspaceId}`;
  });

  it('GET /api/config: modelSpecs.list keeps the specs whose preset model or agent is enabled, nothing else changes', async () => {
    const direct = await get(h.upstream.url, '/api/config');
    const answer = await get(h.gw.url, '/api/config', bearer(token));
    expectFiltered(answer);
    const specs = direct.json.modelSpecs as { list: { name: string }[] };
    expect(answer.json).toEqual({ ...direct.json, modelSpecs: { ...specs, list: specs.list.filter((s) => s.name === 'daily-gpt') } });
  });

  it('the MCP lists keep only enabled servers', async () => {
    const tools = await get(h.gw.url, '/api/mcp/tools', bearer(token));
    expectFiltered(tools);
    expect(Object.keys(tools.json.servers as object)).toEqual(['github']);
    const servers = await get(h.gw.url, '/api/mcp/servers', bearer(token));
    expectFiltered(servers);
    expect(Object.keys(servers.json)).toEqual(['github']);
    const status = await get(h.gw.url, '/api/mcp/connection/status', bearer(token));
    expectFiltered(status);
    expect(status.json.success).toBe(true);
    expect(Object.keys(status.json.connectionStatus as object)).toEqual(['github']);
  });

  it('shows an operator\'s UPDATE on the next GET, with no cache in between', async () => {
    expect((await get(h.gw.url, '/api/models', bearer(token))).json.google).toEqual([]);
    await h.db.sql`UPDATE workspace_config SET enabled_models = ${h.db.sql.json(['gemini-*'])}, enabled_mcps = ${h.db.sql.json(['*'])} WHERE workspace_id = ${ws.workspaceId}`;
    try {
      const models = await get(h.gw.url, '/api/models', bearer(token));
      expect(models.json).toMatchObject({ openAI: [], anthropic: [], google: ['gemini-2.5-pro', 'gemini-2.5-flash'] });
      const servers = await get(h.gw.url, '/api/mcp/servers', bearer(token));
      expect(Object.keys(servers.json)).toEqual(['google_search', 'github', 'filesystem']);
    } finally {
      await h.db.sql`UPDATE workspace_config SET enabled_models = ${h.db.sql.json(['gpt-4o', 'claude-*'])}, enabled_mcps = ${h.db.sql.json(['github'])} WHERE workspace_id = ${ws.workspaceId}`;
    }
  });

  it('never answers 304 for a filtered list: the client\'s validator is not passed on', async () => {
    const direct = await get(h.upstream.url, '/api/models', bearer(token));
    expect(direct.headers.etag).toBeTypeOf('string');
    const answer = await get(h.gw.url, '/api/models', { ...bearer(token), 'if-none-match': direct.headers.etag as string });
    expectFiltered(answer);
    expect(answer.json.openAI).toEqual(['gpt-4o']);
  });
});

describe('when the database does not answer', () => {
  it('fails closed: 503 database_unavailable, not LibreChat\'s unfiltered list', async () => {
    const gw = await startGateway(h.db.url, h.upstream.url, { DB_STATEMENT_TIMEOUT: '300' });
    try {
      await get(gw.url, '/api/models', bearer(token)); // the pool's connection is open before the lock
      let answer: Answer | undefined;
      await h.db.sql.begin(async (tx) => {
        await tx`LOCK TABLE workspace_config IN ACCESS EXCLUSIVE MODE`;
        answer = await get(gw.url, '/api/models', bearer(token));
      });
      expect(answer!.status).toBe(503);
      expect((answer!.json.error as { code: string }).code).toBe('database_unavailable');
      expect((await get(gw.url, '/api/models', bearer(token))).json.openAI).toEqual(['gpt-4o']);
    } finally {
      await gw.close();
    }
  });
});

describe('LibreChat\'s answer, byte for byte', () => {
  async function expectUnchanged(path: string, headers: Record<string, string> = {}): Promise<void> {
    const direct = await get(h.upstream.url, path, headers);
    const through = await get(h.gw.url, path, headers);
    expect(through.status).toBe(direct.status);
    expect(through.raw.equals(direct.raw)).toBe(true);
    expect(through.headers.etag).toBe(direct.headers.etag);
    expect(through.headers['cache-control']).toBe(direct.headers['cache-control']);
  }

  it('without a token, and with a token that does not verify', async () => {
    await expectUnchanged('/api/config');
    await expectUnchanged('/api/models');
    await expectUnchanged('/api/models', bearer('not.a.token'));
  });

  it('when no workspace resolves (two workspaces, none chosen; an unknown user)', async () => {
    const two = await seedWorkspace(h.db.sql);
    const second = await createWorkspace(h.db.sql, two.tenantId, two.userId);
    await addMember(h.db.sql, second, two.userId);
    const twoToken = await librechatToken(two.email);
    for (const path of ['/api/models', '/api/config', '/api/endpoints', '/api/agents', '/api/mcp/tools']) await expectUnchanged(path, bearer(twoToken));
    await expectUnchanged('/api/models', bearer(await librechatToken('nobody-at-all@example.com')));
  });
});
