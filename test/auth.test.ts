// Token verification against real keys: LibreChat's HS256 tokens and an identity provider's keys served
// over HTTP as a JWKS. Every attack gets the same 401 unauthenticated and never reaches LibreChat.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createTokenVerifier } from '../src/auth/verify-token.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { chatBody, postChat, upstreamSaw } from './helpers/harness.ts';
import { signHs256 } from './helpers/jwt.ts';
import { seedWorkspace } from './helpers/seed.ts';
import { startUpstreamProcess, type UpstreamProcess } from './helpers/upstream-process.ts';

let db: TestDatabase;
let upstream: UpstreamProcess;
let gw: InProcessGateway;
let jwksServer: http.Server;
let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
let rotated: Awaited<ReturnType<typeof generateKeyPair>>;
let served: JWK[] = [];
let jwksFetches = 0;
let jwksUrl = '';

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  rotated = await generateKeyPair('RS256', { extractable: true });
  served = [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }];
  jwksServer = http.createServer((_req, res) => {
    jwksFetches += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: served }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  [db, upstream] = await Promise.all([createTestDatabase(), startUpstreamProcess()]);
  // This upstream decodes tokens without verifying them: LibreChat verifies IdP tokens itself (remoteApi oidc).
  gw = await startGateway(db.url, upstream.url, { JWKS_URL: jwksUrl, JWT_ISSUER: 'https://idp.example.test', JWT_AUDIENCE: 'geko' });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
  await db?.drop();
  jwksServer?.close();
});

function idpToken(claims: Record<string, unknown>, key = rsa.privateKey, kid = 'k1') {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).setIssuedAt().setExpirationTime('5m')
    .setIssuer('https://idp.example.test').setAudience('geko').sign(key);
}

function unsigned(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

async function expectRejected(token: string) {
  const result = await postChat(gw.url, { token, body: chatBody() });
  expect(result.status, result.text).toBe(401);
  expect(result.json.error?.code).toBe('unauthenticated');
  expect(result.json.error?.message).toBe('A valid bearer token is required.');
  expect(await upstreamSaw(upstream, result.requestId)).toBe(false);
}

describe('identity-provider tokens through JWKS', () => {
  it('admits an RS256 token with tid and sub, and its header reaches LibreChat unchanged', async () => {
    const ws = await seedWorkspace(db.sql);
    const token = await idpToken({ tid: ws.tenantId, sub: ws.userId });
    const result = await postChat(gw.url, { token, body: chatBody() });
    expect(result.status, result.text).toBe(200);
    const seen = await upstream.control.waitFor((e) => e.headers['x-request-id'] === result.requestId);
    expect(seen.headers.authorization).toBe(`Bearer ${token}`);
  });

  it('picks up a rotated key (unknown kid) by refetching the key set', async () => {
    const verify = createTokenVerifier({ jwksUrl: new URL(jwksUrl), issuer: 'https://idp.example.test', audience: 'geko', jwksCooldownMs: 0 });
    const first = await verify(`Bearer ${await idpToken({ sub: 'a' })}`);
    expect(first.sub).toBe('a');
    const fetchesBefore = jwksFetches;
    const rotatedToken = await idpToken({ sub: 'b' }, rotated.privateKey, 'k2');
    await expect(verify(`Bearer ${rotatedToken}`)).rejects.toMatchObject({ code: 'unauthenticated' });
    served = [...served, { ...(await exportJWK(rotated.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' }];
    const second = await verify(`Bearer ${rotatedToken}`);
    expect(second.sub).toBe('b');
    expect(jwksFetches).toBeGreaterThan(fetchesBefore);
  });

  it('remembers a verified token at most a minute: a key dropped from the set stops counting by then', async () => {
    let clock = Date.now();
    const verify = createTokenVerifier({
      jwksUrl: new URL(jwksUrl), issuer: 'https://idp.example.test', audience: 'geko', jwksCooldownMs: 0, now: () => clock,
    });
    const token = await idpToken({ sub: 'kept' });
    expect((await verify(`Bearer ${token}`)).sub).toBe('kept');
    const before = served;
    try {
      // The provider drops k1; an unknown kid makes jose fetch the new set.
      served = [{ ...(await exportJWK(rotated.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' }];
      await expect(verify(`Bearer ${await idpToken({ sub: 'x' }, rotated.privateKey, 'k9')}`)).rejects.toMatchObject({ code: 'unauthenticated' });
      clock += 59_000;
      expect((await verify(`Bearer ${token}`)).sub).toBe('kept');
      clock += 2_000;
      await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'unauthenticated' });
    } finally {
      served = before;
    }
  });

  it('never honours a remembered token past its exp', async () => {
    let clock = Date.now();
    const verify = createTokenVerifier({ jwtSecret: 'remembered-secret-long-enough-for-hs256', now: () => clock, cacheTtlMs: 10 * 60_000 });
    const exp = Math.floor(clock / 1000) + 30;
    const token = await signHs256({ email: 'a@example.com' }, { secret: 'remembered-secret-long-enough-for-hs256', expiresIn: exp });
    expect((await verify(`Bearer ${token}`)).email).toBe('a@example.com');
    clock = exp * 1000 - 1;
    expect((await verify(`Bearer ${token}`)).email).toBe('a@example.com');
    clock = exp * 1000;
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(verify(`Bearer ${token.slice(0, -2)}xx`)).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('rejects a wrong issuer, a wrong audience and a key that is not in the set', async () => {
    const ws = await seedWorkspace(db.sql);
    const claims = { tid: ws.tenantId, sub: ws.userId };
    await expectRejected(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('5m').setIssuer('https://evil.test').setAudience('geko').sign(rsa.privateKey));
    await expectRejected(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('5m').setIssuer('https://idp.example.test').setAudience('other').sign(rsa.privateKey));
    const stranger = await generateKeyPair('RS256');
    await expectRejected(await idpToken(claims, stranger.privateKey, 'k1'));
  });
});

describe('attacks on HS256 tokens', () => {
  it('rejects alg none, HS/RS key confusion, bad signatures, expired and not-yet-valid tokens', async () => {
    const claims = { email: 'someone@example.com', iss: 'https://idp.example.test', aud: 'geko' };
    await expectRejected(unsigned(claims));
    // Key confusion: HS256 signed with the RSA public key as the HMAC secret.
    const publicPem = await exportSPKI(rsa.publicKey);
    await expectRejected(await signHs256(claims, { secret: publicPem }));
    await expectRejected(await signHs256(claims, { secret: 'not-the-secret-but-long-enough!!' }));
    await expectRejected(await signHs256(claims, { expiresIn: Math.floor(Date.now() / 1000) - 60 }));
    await expectRejected(await signHs256(claims, { notBefore: Math.floor(Date.now() / 1000) + 3600 }));
    const valid = await signHs256(claims);
    await expectRejected(`${valid.slice(0, -3)}abc`);
    await expectRejected('not.a.jwt');
  });
});
