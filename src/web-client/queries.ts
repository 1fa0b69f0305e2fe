// The web client's statements: each resolves the caller exactly as a chat does (admission/identity-ctes.ts) in
// ONE statement, and only reads. The workspace's entitlements for filtering a list; the caller's workspaces
// (memberships in active workspaces of the tenant, with the quota as the next admission would see it). Both
// run under one deadline and fail closed (runWebClientStatement).
import type { PendingQuery } from 'postgres';
import type { IdentityInput } from '../admission/identity-ctes.ts';
import { identityCtes } from '../admission/identity-ctes.ts';
import { isDatabaseUnavailable, type Sql } from '../db/sql.ts';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * Runs one of these statements, cancelled once `timeoutMs` has passed. Any failure is 503
 * database_unavailable (the web client's routes fail closed), logged as `failure` unless the database is
 * only unreachable.
 */
export async function runWebClientStatement<T>(
  query: { cancel(): void } & PromiseLike<T>,
  opts: { timeoutMs: number; logger: Logger; failure: string },
): Promise<T> {
  const timer = setTimeout(() => query.cancel(), opts.timeoutMs);
  try {
    return await query;
  } catch (error) {
    if (!isDatabaseUnavailable(error)) opts.logger.warn(opts.failure, { err_code: (error as { code?: string }).code });
    throw new GatewayError('database_unavailable');
  } finally {
    clearTimeout(timer);
  }
}

export interface ScopeRow {
  identity_code: string | null;
  workspace_id: string | null;
  enabled_models: unknown;
  enabled_mcps: unknown;
}

/** Who is asking and what their workspace enables; a viewer's workspace resolves (it may read, not chat). */
export function listScopeStatement(sql: Sql, who: IdentityInput): PendingQuery<ScopeRow[]> {
  return sql<ScopeRow[]>`
    WITH ${identityCtes(sql, who, true)}
    SELECT d.identity_code, d.workspace_id, d.enabled_models, cfg.enabled_mcps
    FROM decided d LEFT JOIN workspace_config cfg ON cfg.workspace_id = d.workspace_id`;
}

export interface MembershipRow {
  identity_code: string | null;
  tenant_id: string | null;
  user_id: string | null;
  selected_id: string | null;
  workspace_id: string | null;
  name: string | null;
  role: string | null;
  tokens_limit: number | null;
  tokens_used: number | null;
  requests_limit: number | null;
  requests_used: number | null;
  reset_at: Date | null;
}

/** One row per membership (or one row with no workspace), each carrying the caller's resolution. */
export function membershipsStatement(sql: Sql, who: IdentityInput): PendingQuery<MembershipRow[]> {
  return sql<MembershipRow[]>`
    WITH ${identityCtes(sql, who, true)}
    SELECT d.identity_code, d.tenant_id, d.user_id,
           CASE WHEN d.identity_code IS NULL THEN d.workspace_id END AS selected_id,
           mine.workspace_id, mine.name, mine.role, mine.tokens_limit, mine.tokens_used,
           mine.requests_limit, mine.requests_used, mine.reset_at
    FROM decided d
    LEFT JOIN LATERAL (
      SELECT w.workspace_id, w.name, m.role, q.tokens_limit, q.requests_limit,
             CASE WHEN q.reset_at <= d.now_utc THEN 0 ELSE q.tokens_used END AS tokens_used,
             CASE WHEN q.reset_at <= d.now_utc THEN 0 ELSE q.requests_used END AS requests_used,
             CASE WHEN q.reset_at <= d.now_utc THEN geko_next_reset(q.reset_at, d.now_utc) ELSE q.reset_at END AS reset_at
      FROM workspace_members m
      JOIN workspaces w ON w.workspace_id = m.workspace_id
      LEFT JOIN workspace_quotas q ON q.workspace_id = w.workspace_id
      WHERE m.user_id = d.user_id AND w.tenant_id = d.tenant_id AND w.status = 'active' AND w.deleted_at IS NULL
    ) mine ON d.user_id IS NOT NULL
    ORDER BY lower(mine.name), mine.workspace_id`;
}
