// Tenant isolation, generated: every gateway route × every kind of identity, against one workspace W
// of tenant T. Each cell states the outcome DESIGN.md implies; the test runs them all and reports the
// cells that differ. Streams and aborts belong to W's owner: LibreChat (here, the upstream) refuses anyone
// else, and the gateway never serves another identity from its own subscription.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatUserId, signHs256 } from './helpers/jwt.ts';
import { addMember, createTenant, createUser, createWorkspace, seedWorkspace } from './helpers/seed.ts';

type Identity = 'owner' | 'admin' | 'member' | 'viewer' | 'other_tenant' | 'deleted_user' | 'suspended_tenant';
type Route = 'chat' | 'steer' | 'quota' | 'stream' | 'abort';
const IDENTITIES: Identity[] = ['owner', 'admin', 'member', 'viewer', 'other_tenant', 'deleted_user', 'suspended_tenant'];
const ROUTES: Route[] = ['chat', 'steer', 'quota', 'stream', 'abort'];

// Expected "status code" per cell; `upstream:N` means forwarded and LibreChat answered N.
const EXPECTED: Record<Identity, Record<Route, string>> = {
  owner: { chat: '200', steer: 'upstream:404', quota: '200', stream: '200', abort: 'upstream:200' },
  admin: { chat: '200', steer: 'upstream:404', quota: '200', stream: 'upstream:403', abort: 'upstream:403' },
  member: { chat: '200', steer: 'upstream:404', quota: '200', stream: 'upstream:403', abort: 'upstream:403' },
  viewer: { chat: '403 role_forbidden', steer: '403 role_forbidden', quota: '200', stream: 'upstream:403', abort: 'upstream:403' },
  other_tenant: { chat: '404 workspace_not_found', steer: '404 workspace_not_found', quota: '404 workspace_not_found', stream: 'upstream:403', abort: 'upstream:403' },
  deleted_user: { chat: '403 user_inactive', steer: '403 user_inactive', quota: '403 user_inactive', stream: 'upstream:403', abort: 'upstream:403' },
  suspended_tenant: { chat: '403 tenant_inactive', steer: '403 tenant_inactive', quota: '403 tenant_inactive', stream: 'upstream:403', abort: 'upstream:403' },
};

let h: Harness;
let workspaceId: string;
const tokens = {} as Record<Identity, string>;

async function tokenFor(email: string): Promise<string> {
  return signHs256({ id: librechatUserId(), username: email, provider: 'local', email });
}

beforeAll(async () => {
  h = await startHarness();
  const owner = await seedWorkspace(h.db.sql, { role: 'owner', models: ['gpt-4o'] });
  workspaceId = owner.workspaceId;
  tokens.owner = await tokenFor(owner.email);
  for (const role of ['admin', 'member', 'viewer'] as const) {
    const email = `${role}-${randomUUID().slice(0, 6)}@example.com`;
    await addMember(h.db.sql, workspaceId, await createUser(h.db.sql, owner.tenantId, email), role);
    tokens[role] = await tokenFor(email);
  }
  const other = await seedWorkspace(h.db.sql);
  tokens.other_tenant = await tokenFor(other.email);
  const deletedEmail = `gone-${randomUUID().slice(0, 6)}@example.com`;
  const deleted = await createUser(h.db.sql, owner.tenantId, deletedEmail, { deleted: true });
  await addMember(h.db.sql, workspaceId, deleted, 'member');
  tokens.deleted_user = await tokenFor(deletedEmail);
  const suspendedTenant = await createTenant(h.db.sql, { status: 'suspended' });
  const suspendedEmail = `susp-${randomUUID().slice(0, 6)}@example.com`;
  const suspendedUser = await createUser(h.db.sql, suspendedTenant, suspendedEmail);
  await addMember(h.db.sql, await createWorkspace(h.db.sql, suspendedTenant, suspendedUser), suspendedUser);
  tokens.suspended_tenant = await tokenFor(suspendedEmail);
});
afterAll(async () => { await h?.close(); });

async function outcome(status: number, code: string | undefined, requestId: string): Promise<string> {
  const forwarded = (await h.upstream.control.log()).some((e) => e.headers['x-request-id'] === requestId);
  if (forwarded) return `upstream:${status}`;
  return code ? `${status} ${code}` : String(status);
}

async function call(route: Route, identity: Identity, streamId: string): Promise<string> {
  const headers = { 'x-workspace-id': workspaceId };
  const token = tokens[identity];
  if (route === 'chat') {
    const r = await postChat(h.gw.url, { token, headers, body: chatBody() });
    return r.status === 200 ? '200' : outcome(r.status, r.json.error?.code, r.requestId);
  }
  if (route === 'steer') {
    const r = await postChat(h.gw.url, { token, headers, path: '/api/agents/chat/steer', body: { conversationId: streamId } });
    return outcome(r.status, r.json.error?.code, r.requestId);
  }
  if (route === 'abort') {
    const r = await postChat(h.gw.url, { token, headers, path: '/api/agents/chat/abort', body: { streamId } });
    return outcome(r.status, r.json.error?.code, r.requestId);
  }
  const requestId = `m-${randomUUID()}`;
  const path = route === 'quota' ? '/_gateway/quota' : `/api/agents/chat/stream/${streamId}`;
  const res = await fetch(`${h.gw.url}${path}`, { headers: { ...headers, authorization: `Bearer ${token}`, 'x-request-id': requestId } });
  const text = await res.text();
  const code = res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as { error?: { code?: string } }).error?.code : undefined;
  if (res.status === 200 && route === 'quota') expect(JSON.parse(text)).toMatchObject({ workspace_id: workspaceId });
  return res.status === 200 && !(await h.upstream.control.log()).some((e) => e.headers['x-request-id'] === requestId) ? '200' : outcome(res.status, code, requestId);
}

describe('tenant isolation matrix', () => {
  it('every identity gets exactly its allowed outcome on every route', async () => {
    // A long generation of the owner's, held by the gateway, for the stream and abort columns.
    const started = await postChat(h.gw.url, {
      token: tokens.owner, headers: { 'x-workspace-id': workspaceId },
      body: chatBody({ __fake: { deltas: Array.from({ length: 400 }, () => 'x'), frameIntervalMs: 20 } }),
    });
    expect(started.status).toBe(200);
    const streamId = String(started.json.streamId);
    const differences: string[] = [];
    // Aborting is destructive: the owner's abort runs last, after every other cell.
    const order = ROUTES.flatMap((route) => IDENTITIES.map((identity) => [route, identity] as const))
      .sort(([ra, ia], [rb, ib]) => Number(ra === 'abort' && ia === 'owner') - Number(rb === 'abort' && ib === 'owner'));
    for (const [route, identity] of order) {
      const actual = route === 'stream' && identity === 'owner'
        ? await (async () => {
          const controller = new AbortController();
          const res = await fetch(`${h.gw.url}/api/agents/chat/stream/${streamId}`, { headers: { authorization: `Bearer ${tokens.owner}` }, signal: controller.signal });
          controller.abort();
          return String(res.status);
        })()
        : await call(route, identity, streamId);
      if (actual !== EXPECTED[identity][route]) differences.push(`${identity} × ${route}: expected ${EXPECTED[identity][route]}, got ${actual}`);
    }
    expect(differences).toEqual([]);
  });
});
