// Dashboard sessions: a short-lived HS256 JWT (jose) carried in an HttpOnly, Secure, SameSite=Strict cookie
// scoped to /_gateway/dashboard. It names the user, the tenant, a session id (for sign-out) and the CSRF
// token the session's forms must echo. The signing key is derived, never JWT_SECRET itself.
import { hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

export const DASHBOARD_PATH = '/_gateway/dashboard';
export const SESSION_COOKIE = 'geko_dashboard';
const ISSUER = 'geko-gateway';
const AUDIENCE = 'geko-dashboard';

export interface DashboardSession {
  sessionId: string;
  userId: string;
  tenantId: string;
  csrf: string;
  issuedAt: Date;
  expiresAt: Date;
}

/**
 * The session key: HKDF-SHA256 of DASHBOARD_SECRET, else of JWT_SECRET. Deriving keeps the two apart: a
 * token signed with JWT_SECRET itself would be an access token LibreChat and the gateway accept, and a
 * LibreChat token must never pass for a dashboard session. undefined when there is no secret (JWKS only):
 * the dashboard is then off, since a per-process random key would break sessions across replicas.
 */
export function deriveSessionKey(secrets: { dashboardSecret: string | undefined; jwtSecret: string | undefined }): Uint8Array | undefined {
  const material = secrets.dashboardSecret ?? secrets.jwtSecret;
  if (material === undefined) return undefined;
  return new Uint8Array(hkdfSync('sha256', material, 'geko-gateway', 'dashboard-session-v1', 32));
}

export interface SessionCodec {
  issue(identity: { userId: string; tenantId: string; sessionId: string }): Promise<{ token: string; session: DashboardSession }>;
  /** The session a cookie carries, or undefined when it is missing, forged, expired or malformed. */
  verify(token: string | undefined): Promise<DashboardSession | undefined>;
  ttlSeconds: number;
}

export function createSessionCodec(options: { key: Uint8Array; ttlMs: number; now: () => number }): SessionCodec {
  const ttlSeconds = Math.max(60, Math.floor(options.ttlMs / 1000));
  return {
    ttlSeconds,
    async issue(identity) {
      const iat = Math.floor(options.now() / 1000);
      const session: DashboardSession = {
        sessionId: identity.sessionId,
        userId: identity.userId,
        tenantId: identity.tenantId,
        csrf: randomBytes(32).toString('base64url'),
        issuedAt: new Date(iat * 1000),
        expiresAt: new Date((iat + ttlSeconds) * 1000),
      };
      const token = await new SignJWT({ tid: session.tenantId, csrf: session.csrf })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(session.userId).setJti(session.sessionId).setIssuer(ISSUER).setAudience(AUDIENCE)
        .setIssuedAt(iat).setExpirationTime(iat + ttlSeconds)
        .sign(options.key);
      return { token, session };
    },
    async verify(token) {
      if (!token || token.length > 4096) return undefined;
      try {
        const { payload } = await jwtVerify(token, options.key, {
          algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, currentDate: new Date(options.now()), requiredClaims: ['exp', 'iat', 'jti', 'sub'],
        });
        const { sub, jti, tid, csrf, iat, exp } = payload;
        if (typeof sub !== 'string' || typeof jti !== 'string' || typeof tid !== 'string' || typeof csrf !== 'string') return undefined;
        if (typeof iat !== 'number' || typeof exp !== 'number') return undefined;
        return { sessionId: jti, userId: sub, tenantId: tid, csrf, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) };
      } catch {
        return undefined;
      }
    },
  };
}

/** The form's CSRF token matches the session's, compared in constant time. */
export function csrfMatches(session: DashboardSession, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(session.csrf);
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
