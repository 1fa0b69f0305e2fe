// Hostile input: fuzzed bodies, headers and tokens (fast-check), SQL injection strings in every field
// that reaches SQL, request smuggling, oversized headers and slowloris clients. Each gets a clear 4xx
// (never a 500), reaches LibreChat only when admitted, and changes nothing it should not.
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, startGatewayProcess, type GatewayProcess } from './helpers/gateway.ts';
import { chatBody, postChat, startHarness, upstreamSaw, type Harness } from './helpers/harness.ts';
import { librechatToken, signHs256 } from './helpers/jwt.ts';
import { seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

const INJECTIONS = [
  "' OR '1'='1", "'; DROP TABLE workspace_quotas; --", '" OR ""="', "\\'; SELECT pg_sleep(5); --",
  '$1', '%s%s%n', '\u0000', '../../etc/passwd', '{"$ne":null}', "1' UNION SELECT password_hash FROM users --",
];

let h: Harness;
let ws: SeededWorkspace;
let token: string;
beforeAll(async () => {
  h = await startHarness({ CHAT_BODY_LIMIT: '256kb' });
  ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'], tokensLimit: 10_000_000, requestsLimit: 100_000 });
  token = await librechatToken(ws.email);
});
afterAll(async () => { await h?.close(); });

async function tableCounts() {
  const [row] = await h.db.sql<Record<string, number>[]>`
    SELECT (SELECT count(*)::int FROM tenants) AS tenants, (SELECT count(*)::int FROM users) AS users,
           (SELECT count(*)::int FROM workspaces) AS workspaces, (SELECT count(*)::int FROM workspace_quotas) AS quotas,
           (SELECT count(*)::int FROM workspace_config) AS configs, (SELECT count(*)::int FROM workspace_members) AS members`;
  return row!;
}

const DENIAL_STATUSES = new Set([400, 401, 403, 404, 413, 429]);

describe('fuzzed requests', () => {
  it('random JSON bodies never cause a 500, and only admitted ones reach LibreChat', async () => {
    const before = await tableCounts();
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.jsonValue(), fc.record({ text: fc.string(), model: fc.oneof(fc.string(), fc.constantFrom(...INJECTIONS, 'gpt-4o')), endpoint: fc.string(), addedConvo: fc.jsonValue() }, { requiredKeys: [] })),
      async (body) => {
        const result = await postChat(h.gw.url, { token, rawBody: JSON.stringify(body) });
        if (result.status === 200) return;
        expect(DENIAL_STATUSES.has(result.status), `${result.status} ${result.text}`).toBe(true);
        expect(result.json.error?.request_id).toBe(result.requestId);
        expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
      },
    ), { numRuns: 60 });
    expect(await tableCounts()).toEqual(before);
  });

  it('random and mutated tokens are all 401', async () => {
    const valid = await librechatToken(ws.email);
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.string({ maxLength: 300 }), fc.integer({ min: 0, max: valid.length - 1 }).map((i) => `${valid.slice(0, i)}${valid[i] === 'A' ? 'B' : 'A'}${valid.slice(i + 1)}`)),
      async (candidate) => {
        if (candidate === valid) return;
        const safe = candidate.replace(/[^\x21-\x7e]/g, 'x');
        const result = await postChat(h.gw.url, { token: safe || 'x', body: chatBody() });
        // A mutation that only flips unused base64url padding bits can still verify; anything else must not.
        if (result.status === 200) return;
        expect(result.status).toBe(401);
        expect(result.json.error?.code).toBe('unauthenticated');
      },
    ), { numRuns: 80 });
  });

  it('random workspace headers and cookies are 404 workspace_not_found or admitted, never a 500', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.uuid(), fc.constantFrom(...INJECTIONS)), async (value) => {
      const printable = value.replace(/[^\x20-\x7e]/g, '').trim() || 'x';
      const viaHeader = await postChat(h.gw.url, { token, body: chatBody(), headers: { 'x-workspace-id': printable } });
      expect([200, 404]).toContain(viaHeader.status);
      if (viaHeader.status === 404) expect(viaHeader.json.error?.code).toBe('workspace_not_found');
      const viaCookie = await postChat(h.gw.url, { token, body: chatBody(), headers: { cookie: `geko_workspace=${encodeURIComponent(printable)}` } });
      expect([200, 404]).toContain(viaCookie.status);
    }), { numRuns: 40 });
  });
});

describe('SQL injection strings in every field that reaches SQL', () => {
  it('are data, not SQL: identity claims, workspace, model, endpoint, text and agent id', async () => {
    const before = await tableCounts();
    for (const payload of INJECTIONS) {
      const claims = [
        { email: payload }, { email: `${payload}@example.com` }, { tid: payload, sub: payload, email: ws.email },
        { tid: ws.tenantId, sub: payload, email: ws.email }, { email: ws.email, wid: payload },
      ];
      for (const claim of claims) {
        const result = await postChat(h.gw.url, { token: await signHs256(claim), body: chatBody() });
        expect(DENIAL_STATUSES.has(result.status) || result.status === 200, result.text).toBe(true);
      }
      const fields = [chatBody({ model: payload }), chatBody({ endpoint: payload, spec: payload }), { text: payload, endpoint: 'agents', agent_id: payload }];
      for (const body of fields) {
        const result = await postChat(h.gw.url, { token, body });
        expect([200, 400, 403]).toContain(result.status);
        if (result.status !== 200) expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
      }
      const pathResult = await postChat(h.gw.url, { token, path: `/api/agents/chat/${encodeURIComponent(payload)}`, body: chatBody() });
      expect(pathResult.status).toBeLessThan(500);
      const longPath = await postChat(h.gw.url, { token, path: `/api/agents/chat/${'e'.repeat(300)}`, body: chatBody() });
      expect(longPath.status).toBe(400);
    }
    expect(await tableCounts()).toEqual(before);
    const [tables] = await h.db.sql`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`;
    expect(tables!.n).toBeGreaterThanOrEqual(10);
  });
});

function rawExchange(port: number, payload: string, waitMs = 1_500): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => { received += chunk.toString('latin1'); });
    socket.on('error', () => resolve(received));
    socket.on('close', () => resolve(received));
    socket.write(payload);
    setTimeout(() => { socket.destroy(); resolve(received); }, waitMs);
  });
}

describe('protocol-level attacks', () => {
  it('refuses conflicting Content-Length and Transfer-Encoding (request smuggling)', async () => {
    const port = Number(new URL(h.gw.url).port);
    const smuggled = 'POST /api/agents/chat/abort HTTP/1.1\r\nHost: x\r\nX-Request-Id: smuggled-inner\r\nContent-Length: 2\r\n\r\n{}';
    const body = `0\r\n\r\n${smuggled}`;
    const request = `POST /api/config HTTP/1.1\r\nHost: x\r\nX-Request-Id: smuggled-outer\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`;
    const answer = await rawExchange(port, request);
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(await upstreamSaw(h.upstream, 'smuggled-outer')).toBe(false);
    expect(await upstreamSaw(h.upstream, 'smuggled-inner')).toBe(false);
  });

  it('answers 431 to oversized headers without forwarding', async () => {
    const result = await fetch(`${h.gw.url}/api/config`, { headers: { 'x-request-id': 'huge-headers', 'x-padding': 'p'.repeat(20_000) } });
    expect(result.status).toBe(431);
    expect(await upstreamSaw(h.upstream, 'huge-headers')).toBe(false);
  });

  it('does not let a header injection through', async () => {
    const port = Number(new URL(h.gw.url).port);
    const answer = await rawExchange(port, 'GET /api/config HTTP/1.1\r\nHost: x\r\nX-Request-Id: inj\rX-Tenant-Id: evil\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    const log = await h.upstream.control.log();
    expect(log.some((e) => e.headers['x-tenant-id'] === 'evil')).toBe(false);
  });
});

describe('slowloris', () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await startGatewayProcess(baseEnv(h.db.url, h.upstream.url, { MIGRATE_ON_START: 'false', CLIENT_HEADERS_TIMEOUT: '1s' }));
  });
  afterAll(async () => { await gateway?.stop('SIGKILL'); });

  it('closes a client that dribbles its headers past CLIENT_HEADERS_TIMEOUT', async () => {
    const socket = net.connect(gateway.port, '127.0.0.1');
    const started = Date.now();
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
    socket.on('error', () => undefined);
    const line = 'GET /api/config HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    let i = 0;
    const timer = setInterval(() => { if (!socket.destroyed) socket.write(line[i++ % line.length]!); }, 100);
    const elapsed = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 10_000))]);
    clearInterval(timer);
    socket.destroy();
    expect(elapsed).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(8_000);
  });
});
