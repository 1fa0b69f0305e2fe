// Every statement the dashboard runs. Each one is bounded by the tenant it is given (the session's, or
// the one the sign-in form names), and joins to other tables repeat the tenant, so a row of another
// tenant cannot appear even through a foreign key that points across tenants.
import type { Sql } from '../db/sql.ts';
import type { DailyPoint } from './chart.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const DASHBOARD_ROLES = ['owner', 'admin'] as const;

export interface LoginCandidate {
  tenantId: string;
  tenantActive: boolean;
  user: { userId: string; passwordHash: string | null; role: string | null; active: boolean } | null;
}

/**
 * The tenant the form names (its id, or its name in any case among tenants not deleted; a name two
 * tenants share names none) and that tenant's user with this email. undefined when no tenant matches.
 */
export async function findLoginCandidate(sql: Sql, tenant: string, email: string): Promise<LoginCandidate | undefined> {
  const byId = UUID.test(tenant) ? tenant.toLowerCase() : null;
  const rows = await sql<{ tenant_id: string; tenant_active: boolean; user_id: string | null; password_hash: string | null; role: string | null; user_active: boolean | null }[]>`
    WITH tenant AS (
      SELECT tenant_id, status = 'active' AND deleted_at IS NULL AS tenant_active
      FROM tenants
      WHERE deleted_at IS NULL AND status IS DISTINCT FROM 'deleted'
        AND CASE WHEN ${byId}::uuid IS NOT NULL THEN tenant_id = ${byId}::uuid ELSE lower(name) = lower(${tenant}) END
    )
    SELECT t.tenant_id, t.tenant_active, u.user_id, u.password_hash, u.role,
           (u.status = 'active' AND u.deleted_at IS NULL) AS user_active
    FROM tenant t
    LEFT JOIN LATERAL (
      SELECT user_id, password_hash, role, status, deleted_at FROM users
      WHERE users.tenant_id = t.tenant_id AND lower(email) = lower(${email})
      ORDER BY deleted_at NULLS FIRST, created_at LIMIT 1
    ) u ON true
    WHERE (SELECT count(*) FROM tenant) = 1`;
  const row = rows[0];
  if (!row) return undefined;
  return {
    tenantId: row.tenant_id,
    tenantActive: row.tenant_active,
    user: row.user_id === null ? null : { userId: row.user_id, passwordHash: row.password_hash, role: row.role, active: row.user_active === true },
  };
}

export interface LoginRecord {
  tenantId: string;
  userId: string | null;
  email: string;
  ok: boolean;
  failure: string | null;
  sessionId: string | null;
  ipAddress: string | null;
  userAgent: string | null;
}

/** The `user_login` audit row, success or failed; on success also users.last_login_at, in one statement. */
export async function recordLogin(sql: Sql, r: LoginRecord): Promise<void> {
  await sql`
    WITH login AS (
      UPDATE users SET last_login_at = timezone('UTC', now())
      WHERE ${r.ok} AND user_id = ${r.userId}::uuid AND tenant_id = ${r.tenantId}::uuid
    )
    INSERT INTO audit_logs (log_id, tenant_id, user_id, action, resource, resource_id, details, ip_address, user_agent,
                            status, error_message, created_at)
    VALUES (gen_random_uuid(), ${r.tenantId}::uuid, ${r.userId}::uuid, 'user_login', 'dashboard', ${r.sessionId},
            jsonb_strip_nulls(jsonb_build_object('email', ${r.email.toLowerCase()}::text, 'session_id', ${r.sessionId}::text)),
            ${r.ipAddress}, ${r.userAgent}, ${r.ok ? 'success' : 'failed'}, ${r.failure}, timezone('UTC', now()))`;
}

/** `user_logout`: also what ends the session on every replica (loadSessionUser looks for it). */
export async function recordLogout(sql: Sql, s: { tenantId: string; userId: string; sessionId: string; ipAddress: string | null; userAgent: string | null }): Promise<void> {
  await sql`
    INSERT INTO audit_logs (log_id, tenant_id, user_id, action, resource, resource_id, details, ip_address, user_agent, status, created_at)
    VALUES (gen_random_uuid(), ${s.tenantId}::uuid, ${s.userId}::uuid, 'user_logout', 'dashboard', ${s.sessionId},
            jsonb_build_object('session_id', ${s.sessionId}::text), ${s.ipAddress}, ${s.userAgent}, 'success', timezone('UTC', now()))`;
}

export interface SessionUser {
  email: string;
  name: string | null;
  role: string;
  tenantName: string;
}

/**
 * The signed-in user, re-checked on every page: still active, still owner or admin, tenant still active,
 * and the session not signed out. So suspending a tenant or demoting a user ends the session at once.
 */
export async function loadSessionUser(sql: Sql, s: { tenantId: string; userId: string; sessionId: string; issuedAt: Date }): Promise<SessionUser | undefined> {
  const [row] = await sql<{ email: string; name: string | null; role: string; tenant_name: string }[]>`
    SELECT u.email, u.name, u.role, t.name AS tenant_name
    FROM users u JOIN tenants t ON t.tenant_id = u.tenant_id
    WHERE u.user_id = ${s.userId}::uuid AND u.tenant_id = ${s.tenantId}::uuid
      AND u.status = 'active' AND u.deleted_at IS NULL AND u.role IN ${sql(DASHBOARD_ROLES)}
      AND t.status = 'active' AND t.deleted_at IS NULL
      AND NOT EXISTS (
        SELECT 1 FROM audit_logs a
        WHERE a.tenant_id = ${s.tenantId}::uuid AND a.created_at >= ${s.issuedAt}::timestamp - interval '1 minute'
          AND a.action = 'user_logout' AND a.resource_id = ${s.sessionId})`;
  return row ? { email: row.email, name: row.name, role: row.role, tenantName: row.tenant_name } : undefined;
}

export interface WorkspaceUsage {
  workspaceId: string;
  name: string;
  status: string | null;
  hasQuota: boolean;
  tokensLimit: number;
  tokensUsed: number;
  requestsLimit: number;
  requestsUsed: number;
  /** File storage in MB: files_used is the gateway's count of stored bytes, rounded up (src/files/). */
  filesLimit: number;
  filesUsed: number;
  resetAt: Date | null;
  periodStart: Date;
  periodEnd: Date;
  daily: DailyPoint[];
}

/**
 * The tenant's workspaces with their quota as the next admission sees it (a reset that is due is applied,
 * without writing, like GET /_gateway/quota) and the current period: the month before reset_at, or the
 * calendar month (UTC) when the quota never resets or resets more than a month ahead (an operator's
 * choice). Then each period's daily tokens by model.
 */
export async function loadWorkspaceUsage(sql: Sql, tenantId: string): Promise<WorkspaceUsage[]> {
  const workspaces = await sql<{ workspace_id: string; name: string; status: string | null; has_quota: boolean; tokens_limit: number; tokens_used: number; requests_limit: number; requests_used: number; files_limit: number; files_used: number; reset_at: Date | null; period_start: Date; period_end: Date }[]>`
    WITH clock AS (SELECT timezone('UTC', now()) AS now_utc),
    quota AS (
      SELECT w.workspace_id, w.name, w.status, q.quota_id IS NOT NULL AS has_quota,
             COALESCE(q.tokens_limit, 0) AS tokens_limit, COALESCE(q.requests_limit, 0) AS requests_limit,
             COALESCE(q.files_limit, 0) AS files_limit, COALESCE(q.files_used, 0) AS files_used,
             CASE WHEN q.reset_at <= c.now_utc THEN 0 ELSE COALESCE(q.tokens_used, 0) END AS tokens_used,
             CASE WHEN q.reset_at <= c.now_utc THEN 0 ELSE COALESCE(q.requests_used, 0) END AS requests_used,
             CASE WHEN q.reset_at <= c.now_utc THEN geko_next_reset(q.reset_at, c.now_utc) ELSE q.reset_at END AS reset_at,
             c.now_utc
      FROM workspaces w CROSS JOIN clock c
      LEFT JOIN workspace_quotas q ON q.workspace_id = w.workspace_id
      WHERE w.tenant_id = ${tenantId}::uuid AND w.deleted_at IS NULL AND w.status IS DISTINCT FROM 'deleted'
    )
    SELECT workspace_id, name, status, has_quota, tokens_limit, tokens_used, requests_limit, requests_used, files_limit, files_used, reset_at,
           CASE WHEN reset_at - interval '1 month' <= now_utc THEN reset_at - interval '1 month'
                ELSE date_trunc('month', now_utc) END AS period_start,
           CASE WHEN reset_at - interval '1 month' <= now_utc THEN reset_at
                ELSE date_trunc('month', now_utc) + interval '1 month' END AS period_end
    FROM quota ORDER BY name, workspace_id`;
  if (workspaces.length === 0) return [];
  const daily = await sql<{ workspace_id: string; day: string; model: string; tokens: string }[]>`
    SELECT u.workspace_id, to_char(u.created_at, 'YYYY-MM-DD') AS day, COALESCE(u.model, '(none)') AS model,
           sum(u.total_tokens)::bigint AS tokens
    FROM chat_usage u
    JOIN unnest(${workspaces.map((w) => w.workspace_id)}::text[]::uuid[],
                ${workspaces.map((w) => w.period_start.toISOString())}::text[]::timestamp[],
                ${workspaces.map((w) => w.period_end.toISOString())}::text[]::timestamp[]) AS p(workspace_id, period_start, period_end)
      ON p.workspace_id = u.workspace_id
    WHERE u.tenant_id = ${tenantId}::uuid AND u.created_at >= p.period_start AND u.created_at < p.period_end
    GROUP BY 1, 2, 3`;
  return workspaces.map((w) => ({
    workspaceId: w.workspace_id, name: w.name, status: w.status, hasQuota: w.has_quota,
    tokensLimit: w.tokens_limit, tokensUsed: w.tokens_used, requestsLimit: w.requests_limit, requestsUsed: w.requests_used,
    filesLimit: w.files_limit, filesUsed: w.files_used,
    resetAt: w.reset_at, periodStart: w.period_start, periodEnd: w.period_end,
    daily: daily.filter((d) => d.workspace_id === w.workspace_id).map((d) => ({ day: d.day, model: d.model, tokens: Number(d.tokens) })),
  }));
}

export interface AuditRow {
  createdAt: Date;
  action: string;
  status: string | null;
  errorMessage: string | null;
  workspaceName: string | null;
  userEmail: string | null;
  model: string | null;
  source: string | null;
  ipAddress: string | null;
}

/** The tenant's latest audit rows (idx_audit_logs_tenant_created serves the order and the limit). */
export async function loadAuditRows(sql: Sql, tenantId: string, limit = 50): Promise<AuditRow[]> {
  const rows = await sql<{ created_at: Date; action: string; status: string | null; error_message: string | null; workspace_name: string | null; user_email: string | null; model: string | null; source: string | null; ip_address: string | null }[]>`
    SELECT a.created_at, a.action, a.status, a.error_message, w.name AS workspace_name, u.email AS user_email,
           a.details ->> 'model' AS model, a.details ->> 'source' AS source, a.ip_address
    FROM audit_logs a
    LEFT JOIN workspaces w ON w.workspace_id = a.workspace_id AND w.tenant_id = a.tenant_id
    LEFT JOIN users u ON u.user_id = a.user_id AND u.tenant_id = a.tenant_id
    WHERE a.tenant_id = ${tenantId}::uuid
    ORDER BY a.created_at DESC, a.log_id
    LIMIT ${limit}`;
  return rows.map((r) => ({
    createdAt: r.created_at, action: r.action, status: r.status, errorMessage: r.error_message, workspaceName: r.workspace_name,
    userEmail: r.user_email, model: r.model, source: r.source, ipAddress: r.ip_address,
  }));
}
