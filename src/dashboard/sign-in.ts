// The sign-in decision: tenant + email + password against users.password_hash (timing-safe scrypt), for
// owners and admins of an active tenant only, with the `user_login` audit row written either way and the
// per-account and per-IP attempt limits applied, and the attempt counted, before any password is checked.
import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/sql.ts';
import type { Logger } from '../log.ts';
import { verifyPassword } from './password.ts';
import { DASHBOARD_ROLES, findLoginCandidate, recordLogin } from './queries.ts';
import { accountKey, type LoginLimiter } from './rate-limit.ts';

export interface SignInForm {
  tenant: string;
  email: string;
  password: string;
}

export interface SignInClient {
  ipAddress: string | null;
  userAgent: string | null;
}

export type SignInOutcome =
  | { kind: 'ok'; userId: string; tenantId: string; sessionId: string }
  | { kind: 'invalid' }
  | { kind: 'forbidden' }
  | { kind: 'rate_limited'; retryAfterSeconds: number };

export interface SignInDeps {
  sql: Sql;
  logger: Logger;
  limiter: LoginLimiter;
}

/** Why a sign-in failed, as written to audit_logs.error_message. */
type Failure = 'unknown_user' | 'bad_password' | 'user_inactive' | 'tenant_inactive' | 'role_forbidden';

export async function signIn(deps: SignInDeps, form: SignInForm, client: SignInClient): Promise<SignInOutcome> {
  const keys = { account: accountKey(form.tenant, form.email), ip: client.ipAddress ?? 'unknown' };
  // Counted now, before the first await: parallel guesses each see the ones before them.
  const waitMs = deps.limiter.takeAttempt(keys);
  if (waitMs > 0) {
    deps.logger.warn('dashboard sign-in rate limited', { ip: client.ipAddress });
    return { kind: 'rate_limited', retryAfterSeconds: Math.ceil(waitMs / 1000) };
  }
  const candidate = await findLoginCandidate(deps.sql, form.tenant, form.email);
  // Always one scrypt run, against a decoy when there is no such user: the answer time tells nothing.
  const passwordOk = await verifyPassword(form.password, candidate?.user?.passwordHash);
  if (!candidate) {
    deps.logger.info('dashboard sign-in failed', { reason: 'unknown_tenant' });
    return { kind: 'invalid' };
  }
  const user = candidate.user;
  const failure: Failure | null = !user ? 'unknown_user'
    : !passwordOk ? 'bad_password'
      : !user.active ? 'user_inactive'
        : !candidate.tenantActive ? 'tenant_inactive'
          : !(DASHBOARD_ROLES as readonly (string | null)[]).includes(user.role) ? 'role_forbidden'
            : null;
  // The session id goes into the success row, so a sign-out can later be matched to this sign-in.
  const sessionId = failure === null ? randomUUID() : null;
  await recordLogin(deps.sql, {
    tenantId: candidate.tenantId, userId: user?.userId ?? null, email: form.email, ok: failure === null, failure, sessionId,
    ipAddress: client.ipAddress, userAgent: client.userAgent,
  });
  deps.logger.info(failure === null ? 'dashboard sign-in' : 'dashboard sign-in failed', { tenant_id: candidate.tenantId, reason: failure ?? undefined });
  if (failure === null && user && sessionId !== null) {
    deps.limiter.recordSuccess(keys);
    return { kind: 'ok', userId: user.userId, tenantId: candidate.tenantId, sessionId };
  }
  // The right password for a member is not a guess: refuse it plainly and give the attempt back.
  if (failure === 'role_forbidden') {
    deps.limiter.giveBack(keys);
    return { kind: 'forbidden' };
  }
  return { kind: 'invalid' };
}
