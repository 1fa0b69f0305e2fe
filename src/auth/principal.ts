// Turns verified claims into who is asking. LibreChat's own tokens carry id/username/provider/email;
// identity-provider tokens may carry tid (tenant), sub (our user UUID) and wid (workspace).
import type { JWTPayload } from 'jose';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export interface Principal {
  /** The tid claim was present (even if it is not a UUID: then no tenant can match). */
  tenantClaimed: boolean;
  tenantId: string | null;
  userId: string | null;
  email: string | null;
  workspaceClaim: string | undefined;
  /** Stable key of the token's subject, used to check that a stream is read by the user who started it. */
  subjectKey: string;
}

function claimString(claims: JWTPayload, name: string): string | undefined {
  const value = claims[name];
  // PostgreSQL text cannot hold NUL: such a claim is no identity at all (and must never reach SQL).
  return typeof value === 'string' && value.length > 0 && value.length <= 320 && !value.includes('\u0000') ? value : undefined;
}

export function principalFromClaims(claims: JWTPayload): Principal {
  const tid = claimString(claims, 'tid');
  const sub = claimString(claims, 'sub');
  const email = claimString(claims, 'email');
  const id = claimString(claims, 'id');
  return {
    tenantClaimed: tid !== undefined,
    tenantId: isUuid(tid) ? tid.toLowerCase() : null,
    userId: tid !== undefined && isUuid(sub) ? sub.toLowerCase() : null,
    email: email ?? null,
    workspaceClaim: claimString(claims, 'wid'),
    subjectKey: `${claims.iss ?? ''}|${tid ?? ''}|${sub ?? id ?? ''}|${(email ?? '').toLowerCase()}`,
  };
}
