// Verifies client bearer tokens with jose. Each key type has its own allow-list of algorithms and the
// key is chosen from the token's `alg` only within that list, so `alg: none`, an HS256 token signed with
// a public RSA key (key confusion) or an algorithm we never configured are all rejected. Every failure is
// the same 401 `unauthenticated`: which check failed would only help an attacker.
import { createSecretKey } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
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

  return async function verifyToken(authorization) {
    const token = bearerToken(authorization);
    if (!token) throw new GatewayError('unauthenticated');
    try {
      const { alg } = decodeProtectedHeader(token);
      if (secret && alg && HMAC_ALGORITHMS.includes(alg)) {
        return (await jwtVerify(token, secret, { ...claimChecks, algorithms: HMAC_ALGORITHMS })).payload;
      }
      if (jwks && alg && ASYMMETRIC_ALGORITHMS.includes(alg)) {
        return (await jwtVerify(token, jwks, { ...claimChecks, algorithms: ASYMMETRIC_ALGORITHMS })).payload;
      }
    } catch {
      // fall through to the one answer
    }
    throw new GatewayError('unauthenticated');
  };
}
