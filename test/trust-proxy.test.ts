// Behind a trusted proxy (TRUST_PROXY=true, e.g. Fly's edge): the tenant host comes from
// X-Forwarded-Host, and audit rows record Fly-Client-IP (else the first X-Forwarded-For hop) and the
// user agent. Without it, those client-sent headers are ignored.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { seedWorkspace } from './helpers/seed.ts';

let h: Harness;
let trusting: InProcessGateway;
beforeAll(async () => {
  h = await startHarness();
  trusting = await startGateway(h.db.url, h.upstream.url, { TRUST_PROXY: 'true' });
});
afterAll(async () => {
  await trusting?.close();
  await h?.close();
});

async function auditOf(requestId: string) {
  const [row] = await h.db.sql<{ ip_address: string | null; user_agent: string | null }[]>`
    SELECT ip_address, user_agent FROM audit_logs WHERE details ->> 'request_id' = ${requestId}`;
  return row!;
}

describe('trusting the proxy in front', () => {
  it('records Fly-Client-IP, else the first X-Forwarded-For hop, and the user agent', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    const fly = await postChat(trusting.url, { token, body: chatBody(), headers: { 'fly-client-ip': '203.0.113.7', 'x-forwarded-for': '198.51.100.1', 'user-agent': 'agent/1.0' } });
    expect(fly.status).toBe(200);
    expect(await auditOf(fly.requestId)).toEqual({ ip_address: '203.0.113.7', user_agent: 'agent/1.0' });
    const xff = await postChat(trusting.url, { token, body: chatBody(), headers: { 'x-forwarded-for': '198.51.100.1, 10.0.0.1' } });
    expect((await auditOf(xff.requestId)).ip_address).toBe('198.51.100.1');
    const untrusted = await postChat(h.gw.url, { token, body: chatBody(), headers: { 'fly-client-ip': '203.0.113.7', 'x-forwarded-for': '198.51.100.1' } });
    expect((await auditOf(untrusted.requestId)).ip_address).toBe('127.0.0.1');
  });

  it('chooses the tenant by X-Forwarded-Host only when the proxy is trusted', async () => {
    const email = `both-${randomUUID().slice(0, 6)}@example.com`;
    const b = await seedWorkspace(h.db.sql, { email, domains: ['chat.b.example.test'] });
    await seedWorkspace(h.db.sql, { email, domains: ['chat.a.example.test'] });
    const token = await librechatToken(email);
    const viaProxy = await postChat(trusting.url, { token, body: chatBody(), headers: { 'x-forwarded-host': 'chat.b.example.test' } });
    expect(viaProxy.status, viaProxy.text).toBe(200);
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === viaProxy.requestId);
    expect(seen.headers['x-tenant-id']).toBe(b.tenantId);
    const direct = await postChat(h.gw.url, { token, body: chatBody(), headers: { 'x-forwarded-host': 'chat.b.example.test' } });
    expect(direct.json.error?.code).toBe('tenant_ambiguous');
  });
});
