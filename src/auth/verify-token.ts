// Verifies client bearer tokens with jose. Each key type has its own allow-list of algorithms and the
// key is chosen from the token's `alg` only within that list, so `alg: none`, an HS256 token signed with
// a public RSA key (key confusion) or an algorithm we never configured are all rejected. Every failure is
// the same 401 `unauthenticated`: which check failed would only help an attacker.
// A token that verified is remembered (by its exact text) until it expires, for at most a minute: a
// client sends the same token with every request, and the signature check was a tenth of a chat's CPU.
// What the token grants is not cached: tenant, user, workspace and quota are read by SQL every time.
import { createSecretKey } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { GatewayError } from '../errors.ts';

const HMAC_ALGORITHMS = ['HS256'];
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface TokenVerifierOptions {
  jwtSecret?: string | undefined;
  jwksUrl?: URL | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Least time between two key-set fetches triggered by unknown `kid`s (jose's cooldown). */
  jwksCooldownMs?: number;
  /** Verified tokens remembered (0: none). */
  cacheSize?: number;
  /** Longest a verified token is remembered; never past its `exp`. A key dropped from the JWKS stops
   *  being honoured for tokens seen before within this time. */
  cacheTtlMs?: number;
  /** Milliseconds since the epoch (tests move it). */
  now?: () => number;
}

interface VerifiedToken {
  payload: JWTPayload;
  /** When the cached verdict stops counting: the earlier of `exp` and the cache TTL. */
  goodUntilMs: number;
}

export type TokenVerifier = (authorization: string | undefined) => Promise<JWTPayload>;

/** The bearer token of an Authorization header, if it is a JWT at all. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  const token = match?.[1];
  return token && JWT_SHAPE.test(token) ? token : undefined;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  // A KeyObject, imported once: given raw bytes, jose would import the key again for every token.
  const secret = options.jwtSecret ? createSecretKey(Buffer.from(options.jwtSecret, 'utf8')) : undefined;
  // jose caches the key set, refetches on an unknown `kid` (rate-limited by cooldownDuration) and on age.
  const jwks: JWTVerifyGetKey | undefined = options.jwksUrl
    ? createRemoteJWKSet(options.jwksUrl, { cooldownDuration: options.jwksCooldownMs ?? 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 })
    : undefined;
  const claimChecks = {
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };

  const now = options.now ?? Date.now;
  const cacheTtlMs = options.cacheTtlMs ?? 60_000;
  const verified = (options.cacheSize ?? 10_000) > 0
    ? new LRUCache<string, VerifiedToken>({ max: options.cacheSize ?? 10_000 })
    : undefined;

  async function verifySignature(token: string): Promise<JWTPayload | undefined> {
    try {
      const { alg } = decodeProtectedHeader(token);
      const currentDate = new Date(now());
      if (secret && alg && HMAC_ALGORITHMS.includes(alg)) {
        return (await jwtVerify(token, secret, { ...claimChecks, currentDate, algorithms: HMAC_ALGORITHMS })).payload;
      }
      if (jwks && alg && ASYMMETRIC_ALGORITHMS.includes(alg)) {
        return (await jwtVerify(token, jwks, { ...claimChecks, currentDate, algorithms: ASYMMETRIC_ALGORITHMS })).payload;
      }
    } catch {
      // the one answer below
    }
    return undefined;
  }

  return async function verifyToken(authorization) {
    const token = bearerToken(authorization);
    if (!token) throw new GatewayError('unauthenticated');
    const at = now();
    const cached = verified?.get(token);
    if (cached && at < cached.goodUntilMs) return cached.payload;
    if (cached) verified?.delete(token);
    const payload = await verifySignature(token);
    if (!payload) throw new GatewayError('unauthenticated');
    // jose refuses a token without exp only if told to; such a token is remembered for the TTL alone.
    const expMs = typeof payload.exp === 'number' ? payload.exp * 1000 : Infinity;
    verified?.set(token, { payload: Object.freeze(payload), goodUntilMs: Math.min(expMs, at + cacheTtlMs) });
    return payload;
  };
}
