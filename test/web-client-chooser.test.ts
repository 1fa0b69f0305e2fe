// Choosing a workspace over real HTTP (DESIGN.md "LibreChat's web client"): the list of the caller's
// workspaces, the geko_workspace cookie and its attributes, refusals that set nothing, chats and lists that
// follow the cookie, the page's security headers, and LibreChat's session routes passing through with the
// rotated refresh cookie.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { send } from './helpers/raw-http.ts';
import { addMember, createWorkspace, quotaRow, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

let h: Harness;
let behindProxy: InProcessGateway;
let ws: SeededWorkspace;
let second: string;
let token: string;

beforeAll(async () => {
  h = await startHarness();
  behindProxy = await startGateway(h.db.url, h.upstream.url, { TRUST_PROXY: 'true' });
  ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'], tokensLimit: 5000, requestsLimit: 50, resetAt: '2099-03-01 00:00:00' });
  second = await createWorkspace(h.db.sql, ws.tenantId, ws.userId, { models: ['gemini-*'], tokensLimit: 9000, requestsLimit: 90 });
  await addMember(h.db.sql, second, ws.userId, 'admin');
  await h.db.sql`UPDATE workspaces SET name = 'Alpha' WHERE workspace_id = ${ws.workspaceId}`;
  await h.db.sql`UPDATE workspaces SET name = 'Beta' WHERE workspace_id = ${second}`;
  await h.db.sql`UPDATE workspace_quotas SET tokens_used = 1200, requests_used = 7 WHERE workspace_id = ${ws.workspaceId}`;
  token = await librechatToken(ws.email);
});
afterAll(async () => {
  await behindProxy?.close();
  await h?.close();
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
}

async function call(base: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const { status, headers, text } = await send(base, path, { method, headers: opts.headers, body: opts.body });
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* HTML or text */ }
  return { status, headers, text, json };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const choose = (base: string, workspaceId: unknown, headers: Record<string, string> = bearer(token)) =>
  call(base, 'POST', '/_gateway/workspace', { headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ workspace_id: workspaceId }) });

describe('GET /_gateway/workspaces', () => {
  it('lists the caller\'s active workspaces with their quota; selected is null while none is chosen', async () => {
    const archived = await createWorkspace(h.db.sql, ws.tenantId, ws.userId, { status: 'archived' });
    await addMember(h.db.sql, archived, ws.userId);
    const reply = await call(h.gw.url, 'GET', '/_gateway/workspaces', { headers: bearer(token) });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.json).toEqual({
      selected: null,
      workspaces: [
        { workspace_id: ws.workspaceId, name: 'Alpha', role: 'member', tokens_limit: 5000, tokens_used: 1200, requests_limit: 50, requests_used: 7, reset_at: '2099-03-01T00:00:00.000Z' },
        { workspace_id: second, name: 'Beta', role: 'admin', tokens_limit: 9000, tokens_used: 0, requests_limit: 90, requests_used: 0, reset_at: null },
      ],
    });
    const chosen = await call(h.gw.url, 'GET', '/_gateway/workspaces', { headers: { ...bearer(token), cookie: `geko_workspace=${second}` } });
    expect(chosen.json.selected).toBe(second);
  });

  it('needs a valid token, and names a caller the gateway cannot place', async () => {
    expect((await call(h.gw.url, 'GET', '/_gateway/workspaces')).status).toBe(401);
    const unknown = await call(h.gw.url, 'GET', '/_gateway/workspaces', { headers: bearer(await librechatToken(`nobody-${randomUUID()}@example.com`)) });
    expect(unknown.status).toBe(403);
    expect((unknown.json.error as { code: string }).code).toBe('user_inactive');
  });
});

describe('POST /_gateway/workspace', () => {
  it('sets geko_workspace for the whole site: HttpOnly, SameSite=Lax, and Secure only over HTTPS', async () => {
    const reply = await choose(h.gw.url, second.toUpperCase());
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({ selected: second });
    const [cookie] = reply.headers['set-cookie'] ?? [];
    const attributes = cookie!.split(';').map((part) => part.trim());
    expect(attributes[0]).toBe(`geko_workspace=${second}`);
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Lax']));
    expect(attributes).not.toContain('Secure');

    const forwarded = await choose(behindProxy.url, second, { ...bearer(token), 'x-forwarded-proto': 'https' });
    expect(forwarded.headers['set-cookie']![0]).toMatch(/; Secure$/);
    const untrusted = await choose(h.gw.url, second, { ...bearer(token), 'x-forwarded-proto': 'https' });
    expect(untrusted.headers['set-cookie']![0]).not.toMatch(/Secure/);
  });

  it('refuses as a chat would, and a refusal sets no cookie', async () => {
    const otherTenant = await seedWorkspace(h.db.sql);
    const archived = await createWorkspace(h.db.sql, ws.tenantId, ws.userId, { status: 'archived' });
    await addMember(h.db.sql, archived, ws.userId);
    const foreign = await createWorkspace(h.db.sql, ws.tenantId, ws.userId);
    const cases: [unknown, Record<string, string>, number, string][] = [
      [randomUUID(), bearer(token), 404, 'workspace_not_found'],
      ['not-a-uuid', bearer(token), 404, 'workspace_not_found'],
      [otherTenant.workspaceId, bearer(token), 404, 'workspace_not_found'],
      [archived, bearer(token), 403, 'workspace_inactive'],
      [foreign, bearer(token), 403, 'not_a_member'],
      [42, bearer(token), 400, 'invalid_request'],
      [second, {}, 401, 'unauthenticated'],
      [second, { cookie: `geko_workspace=${ws.workspaceId}` }, 401, 'unauthenticated'],
    ];
    for (const [id, headers, status, code] of cases) {
      const reply = await choose(h.gw.url, id, headers);
      expect(reply.status, `${String(id)}: ${reply.text}`).toBe(status);
      expect((reply.json.error as { code: string }).code).toBe(code);
      expect(reply.headers['set-cookie']).toBeUndefined();
    }
  });

  it('chats and lists follow the cookie', async () => {
    const cookie = (await choose(h.gw.url, second)).headers['set-cookie']![0]!.split(';')[0]!;
    const before = await quotaRow(h.db.sql, second);
    const chat = await postChat(h.gw.url, { token, headers: { cookie }, body: chatBody({ model: 'gemini-2.5-flash', endpoint: 'google' }), path: '/api/agents/chat/google' });
    expect(chat.status, chat.text).toBe(200);
    expect((await quotaRow(h.db.sql, second)).requests_used).toBe(before.requests_used + 1);
    const models = await call(h.gw.url, 'GET', '/api/models', { headers: { ...bearer(token), cookie } });
    expect(models.json).toMatchObject({ openAI: [], google: ['gemini-2.5-pro', 'gemini-2.5-flash'] });
    const alpha = `geko_workspace=${ws.workspaceId}`;
    expect((await call(h.gw.url, 'GET', '/api/models', { headers: { ...bearer(token), cookie: alpha } })).json).toMatchObject({ openAI: ['gpt-4o'], google: [] });
    const refused = await postChat(h.gw.url, { token, headers: { cookie: alpha }, body: chatBody({ model: 'gemini-2.5-flash', endpoint: 'google' }), path: '/api/agents/chat/google' });
    expect(refused.status).toBe(403);
  });
});

describe('the page and LibreChat\'s session', () => {
  it('serves the page with no inline script, a strict CSP and no-store, and its script and stylesheet as files', async () => {
    const page = await call(h.gw.url, 'GET', '/_gateway/workspace');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self';/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![1]).toContain('src="/_gateway/workspace/app.js"');
    expect(scripts[0]![2]).toBe('');
    const script = await call(h.gw.url, 'GET', '/_gateway/workspace/app.js');
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.text).toContain('/api/auth/refresh');
    expect(script.text).not.toMatch(/innerHTML/);
    expect((await call(h.gw.url, 'GET', '/_gateway/workspace/style.css')).headers['content-type']).toMatch(/^text\/css/);
  });

  it('passes LibreChat\'s sign-in and refresh through, rotated refresh cookie included', async () => {
    const login = await call(h.gw.url, 'POST', '/api/auth/login', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ws.email, password: 'x' }) });
    expect(login.status).toBe(200);
    const first = login.headers['set-cookie']![0]!;
    expect(first).toMatch(/^refreshToken=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    const refreshed = await call(h.gw.url, 'POST', '/api/auth/refresh', { headers: { cookie: first.split(';')[0]! } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.token).toBeTypeOf('string');
    const rotated = refreshed.headers['set-cookie']![0]!;
    expect(rotated.split(';')[0]).not.toBe(first.split(';')[0]);
    const listed = await call(h.gw.url, 'GET', '/_gateway/workspaces', { headers: bearer(refreshed.json.token as string) });
    expect((listed.json.workspaces as unknown[]).length).toBe(2);
    expect((await call(h.gw.url, 'POST', '/api/auth/refresh', { headers: { cookie: first.split(';')[0]! } })).status).toBe(403);
  });
});
