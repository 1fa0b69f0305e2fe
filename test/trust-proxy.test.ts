// The client's address and host come from proxy headers only as far as TRUST_PROXY trusts the hops that
// wrote them (src/http/client-address.ts): `fly` reads Fly-Client-IP (Fly's proxy overwrites it), a hop
// count reads X-Forwarded-For that many entries from the right, a CIDR list walks it from the right past the
// listed proxies. Whatever a client wrote further left never becomes the audit IP, the per-IP sign-in key,
// or the host that picks the tenant.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { PASSWORD, request, seedDashboardTenant } from './helpers/dashboard.ts';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { seedWorkspace } from './helpers/seed.ts';

let h: Harness;
let fly: InProcessGateway;
let oneHop: InProcessGateway;
let legacyTrue: InProcessGateway;
let byRange: InProcessGateway;
let otherRange: InProcessGateway;
beforeAll(async () => {
  h = await startHarness();
  [fly, oneHop, legacyTrue, byRange, otherRange] = await Promise.all([
    startGateway(h.db.url, h.upstream.url, { TRUST_PROXY: 'fly' }),
    startGateway(h.db.url, h.upstream.url, { TRUST_PROXY: '1' }),
    startGateway(h.db.url, h.upstream.url, { TRUST_PROXY: 'true' }),
    // The test connects from 127.0.0.1: it plays the proxy at 127.0.0.1 in front of one at 10.x.
    startGateway(h.db.url, h.upstream.url, { TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' }),
    startGateway(h.db.url, h.upstream.url, { TRUST_PROXY: '10.0.0.0/8' }),
  ]);
});
afterAll(async () => {
  await Promise.all([fly, oneHop, legacyTrue, byRange, otherRange].map((g) => g?.close()));
  await h?.close();
});

async function auditOf(requestId: string) {
  const [row] = await h.db.sql<{ ip_address: string | null; user_agent: string | null }[]>`
    SELECT ip_address, user_agent FROM audit_logs WHERE details ->> 'request_id' = ${requestId}`;
  return row!;
}

let token: string;
beforeAll(async () => {
  const ws = await seedWorkspace(h.db.sql);
  token = await librechatToken(ws.email);
});

async function chatIp(gateway: InProcessGateway | Harness['gw'], headers: Record<string, string>): Promise<string | null> {
  const chat = await postChat(gateway.url, { token, body: chatBody(), headers });
  expect(chat.status, chat.text).toBe(200);
  return (await auditOf(chat.requestId)).ip_address;
}

describe('the client IP in audit rows', () => {
  it('on Fly: Fly-Client-IP as Fly sets it, never X-Forwarded-For', async () => {
    const chat = await postChat(fly.url, { token, body: chatBody(), headers: { 'fly-client-ip': '203.0.113.7', 'x-forwarded-for': '198.51.100.1', 'user-agent': 'agent/1.0' } });
    expect(await auditOf(chat.requestId)).toEqual({ ip_address: '203.0.113.7', user_agent: 'agent/1.0' });
    expect(await chatIp(fly, { 'x-forwarded-for': '198.51.100.1' })).toBe('127.0.0.1');
    expect(await chatIp(fly, { 'fly-client-ip': 'not-an-ip' })).toBe('127.0.0.1');
  });

  it('with a hop count: the address the nearest proxy appended, not what the client put in front of it', async () => {
    // The client sent "X-Forwarded-For: 198.51.100.66"; the one proxy appended the address it saw.
    expect(await chatIp(oneHop, { 'x-forwarded-for': '198.51.100.66, 203.0.113.9' })).toBe('203.0.113.9');
    expect(await chatIp(oneHop, { 'x-forwarded-for': '203.0.113.9', 'fly-client-ip': '198.51.100.66' })).toBe('203.0.113.9');
    expect(await chatIp(oneHop, {})).toBe('127.0.0.1');
  });

  it('TRUST_PROXY=true off Fly is one hop (on Fly it is `fly`)', async () => {
    expect(await chatIp(legacyTrue, { 'x-forwarded-for': '198.51.100.66, 203.0.113.9' })).toBe('203.0.113.9');
    const env = { LIBRECHAT_URL: 'http://lc', JWT_SECRET: 'x'.repeat(32), TRUST_PROXY: 'true' };
    expect(loadConfig(env).trustProxy).toEqual({ kind: 'hops', hops: 1 });
    expect(loadConfig({ ...env, FLY_MACHINE_ID: 'e784079b' }).trustProxy).toEqual({ kind: 'fly' });
  });

  it('with CIDRs: the first address from the right outside the trusted ranges', async () => {
    expect(await chatIp(byRange, { 'x-forwarded-for': '198.51.100.66, 203.0.113.9, 10.1.2.3' })).toBe('203.0.113.9');
    // Every hop a proxy: the left-most is the best there is.
    expect(await chatIp(byRange, { 'x-forwarded-for': '10.9.9.9, 10.1.2.3' })).toBe('10.9.9.9');
    // The socket's peer (127.0.0.1) is not in 10.0.0.0/8: nothing it sent is believed.
    expect(await chatIp(otherRange, { 'x-forwarded-for': '203.0.113.9', 'fly-client-ip': '203.0.113.10' })).toBe('127.0.0.1');
  });

  it('without TRUST_PROXY: the socket\'s peer', async () => {
    expect(await chatIp(h.gw, { 'fly-client-ip': '203.0.113.7', 'x-forwarded-for': '198.51.100.1' })).toBe('127.0.0.1');
  });
});

describe('the per-IP sign-in limit behind a proxy', () => {
  it('cannot be dodged by changing the X-Forwarded-For entries left of the trusted hop', async () => {
    const t = await seedDashboardTenant(h.db.sql);
    const attempt = (i: number) => request(oneHop.url, '/_gateway/dashboard/sign-in', {
      form: { tenant: t.name, email: `spray-${i}@example.com`, password: 'x' },
      headers: { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.200` },
    });
    for (let i = 0; i < 20; i += 1) expect((await attempt(i)).status).toBe(401);
    expect((await attempt(20)).status).toBe(429);
    // The limit is the real client's, not the proxy's: another client behind the same proxy still signs in.
    const other = await request(oneHop.url, '/_gateway/dashboard/sign-in', { form: { tenant: t.name, email: t.owner, password: PASSWORD }, headers: { 'x-forwarded-for': '203.0.113.201' } });
    expect(other.status).toBe(303);
  });
});

describe('the host that picks the tenant', () => {
  let email: string;
  let b: { tenantId: string };
  beforeAll(async () => {
    email = `both-${randomUUID().slice(0, 6)}@example.com`;
    b = await seedWorkspace(h.db.sql, { email, domains: ['chat.b.example.test'] });
    await seedWorkspace(h.db.sql, { email, domains: ['chat.a.example.test'] });
  });

  async function tenantSeen(gateway: InProcessGateway | Harness['gw'], headers: Record<string, string>) {
    const chat = await postChat(gateway.url, { token: await librechatToken(email), body: chatBody(), headers });
    if (chat.status !== 200) return chat.json.error?.code;
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === chat.requestId);
    return seen.headers['x-tenant-id'] === b.tenantId ? 'b' : seen.headers['x-tenant-id'];
  }

  it('is X-Forwarded-Host from a trusted hop, the nearest proxy\'s value', async () => {
    expect(await tenantSeen(oneHop, { 'x-forwarded-host': 'chat.b.example.test' })).toBe('b');
    expect(await tenantSeen(oneHop, { 'x-forwarded-host': 'chat.a.example.test, chat.b.example.test' })).toBe('b');
    expect(await tenantSeen(byRange, { 'x-forwarded-host': 'chat.b.example.test' })).toBe('b');
  });

  it('is the Host header when the hop is not trusted, or on Fly (whose proxy does not set X-Forwarded-Host)', async () => {
    for (const gateway of [h.gw, fly, otherRange]) {
      expect(await tenantSeen(gateway, { 'x-forwarded-host': 'chat.b.example.test' })).toBe('tenant_ambiguous');
    }
    expect(await tenantSeen(fly, { host: 'chat.b.example.test' })).toBe('b');
  });

  it('on Fly, LibreChat gets no client-written X-Forwarded-Host either: the gateway sends the Host it used', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const chat = await postChat(fly.url, { token: await librechatToken(ws.email), body: chatBody(), headers: { 'x-forwarded-host': 'evil.example.test' } });
    expect(chat.status, chat.text).toBe(200);
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === chat.requestId);
    expect(seen.headers['x-forwarded-host']).toBe(new URL(fly.url).host);
  });
});

describe('TRUST_PROXY values', () => {
  const env = { LIBRECHAT_URL: 'http://lc', JWT_SECRET: 'x'.repeat(32) };
  it('accepts false, true, fly, a hop count and CIDR lists, and names anything else at boot', () => {
    for (const off of [undefined, '', 'false', '0', 'no', 'off']) expect(loadConfig({ ...env, TRUST_PROXY: off }).trustProxy).toBe(false);
    expect(loadConfig({ ...env, TRUST_PROXY: 'FLY' }).trustProxy).toEqual({ kind: 'fly' });
    expect(loadConfig({ ...env, TRUST_PROXY: '2' }).trustProxy).toEqual({ kind: 'hops', hops: 2 });
    expect(loadConfig({ ...env, TRUST_PROXY: '10.0.0.0/8, fdaa::/16, 192.0.2.1' }).trustProxy).toMatchObject({ kind: 'ranges', ranges: ['10.0.0.0/8', 'fdaa::/16', '192.0.2.1/32'] });
    for (const bad of ['maybe', '10.0.0.0/33', '10.0.0/8', '99', 'fly, 10.0.0.1']) {
      expect(() => loadConfig({ ...env, TRUST_PROXY: bad }), bad).toThrow(ConfigError);
    }
    expect(() => loadConfig({ ...env, TRUST_PROXY: 'maybe' })).toThrow(/TRUST_PROXY must be false, true, fly, a hop count/);
  });
});
