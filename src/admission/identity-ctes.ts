// The identity part of every metered statement (DESIGN.md "Identity"): find the tenant, the user, the
// workspace, the membership, the config and the quota, and name the first identity failure. The statement
// text is built for the identity form the request uses (tenant claimed or found by email, user by id or by
// email, workspace named or inferred from the only membership): up to eight prepared statements, each with
// only the lookups its form needs. One text with every branch behind a one-time filter cost PostgreSQL
// 10-15 % more per admission: every execution sets up all branches' plan nodes, and so does every re-check
// of a contended quota row (EvalPlanQual sets up the whole statement's subplans again).
import type { PendingQuery, Row } from 'postgres';
import { compactSql, type CompactSql } from '../db/compact-sql.ts';
import type { Sql } from '../db/sql.ts';

export interface IdentityInput {
  tenantClaimed: boolean;
  tenantId: string | null;
  userId: string | null;
  email: string | null;
  host: string;
  /** A workspace was named (header, cookie or claim); workspaceId is null when it is not a UUID. */
  workspaceGiven: boolean;
  workspaceId: string | null;
}

/** The candidate tenants: the claimed one, or every tenant with a live user of that email (and whether it serves this host). */
function candidateTenants(sql: CompactSql, who: IdentityInput): PendingQuery<Row[]> {
  if (who.tenantClaimed) return sql`SELECT t.tenant_id, false AS host_match FROM tenants t WHERE t.tenant_id = ${who.tenantId}::uuid`;
  return sql`
    SELECT t.tenant_id,
           EXISTS (SELECT 1 FROM jsonb_array_elements_text(
                     CASE WHEN jsonb_typeof(t.metadata -> 'domains') = 'array' THEN t.metadata -> 'domains' ELSE '[]'::jsonb END) d
                   WHERE lower(d) = ${who.host}) AS host_match
    FROM tenants t
    WHERE t.tenant_id IN (SELECT u.tenant_id FROM users u WHERE lower(u.email) = lower(${who.email}::text) AND u.deleted_at IS NULL)`;
}

/** The chosen tenant: the claimed one, else the one candidate on this host, else the only candidate. */
function chosenTenant(sql: CompactSql, who: IdentityInput): PendingQuery<Row[]> {
  if (who.tenantClaimed) return sql`pick.any_tenant`;
  return sql`CASE WHEN pick.n_host = 1 THEN pick.host_tenant WHEN pick.n_host = 0 AND pick.n = 1 THEN pick.any_tenant END`;
}

// Each lookup by key sits behind OFFSET 0 (a planning fence) with the tenant checked outside: left free, a
// generic plan may take the (tenant_id) index and filter all of a tenant's users or workspaces.

/** The user in the chosen tenant `t`: by id, or by email (a live, active row first). */
function userLookup(sql: CompactSql, who: IdentityInput): PendingQuery<Row[]> {
  if (who.userId !== null) {
    return sql`
      SELECT by_id.user_id, by_id.status, by_id.deleted_at
      FROM (SELECT uu.user_id, uu.tenant_id, uu.status, uu.deleted_at FROM users uu WHERE uu.user_id = ${who.userId}::uuid OFFSET 0) by_id
      WHERE by_id.tenant_id = t.tenant_id`;
  }
  return sql`
    SELECT by_email.user_id, by_email.status, by_email.deleted_at
    FROM (SELECT uu.user_id, uu.tenant_id, uu.status, uu.deleted_at FROM users uu
          WHERE lower(uu.email) = lower(${who.email}::text) OFFSET 0) by_email
    WHERE by_email.tenant_id = t.tenant_id
    ORDER BY by_email.deleted_at IS NULL DESC, (by_email.status = 'active') DESC
    LIMIT 1`;
}

/** The workspace in `t`: the named one, or else the user's only active workspace there. */
function workspaceLookup(sql: CompactSql, who: IdentityInput): PendingQuery<Row[]> {
  if (who.workspaceGiven) {
    return sql`
      SELECT named.workspace_id, named.status, named.deleted_at
      FROM (SELECT ww.workspace_id, ww.tenant_id, ww.status, ww.deleted_at FROM workspaces ww
            WHERE ww.workspace_id = ${who.workspaceId}::uuid OFFSET 0) named
      WHERE named.tenant_id = t.tenant_id`;
  }
  return sql`
    SELECT only_one.workspace_id, only_one.status, only_one.deleted_at
    FROM (SELECT ww.workspace_id, ww.tenant_id, ww.status, ww.deleted_at FROM workspaces ww
          WHERE ww.workspace_id = (
            SELECT CASE WHEN count(*) = 1 THEN (array_agg(mine.workspace_id))[1] END
            FROM (SELECT aw.workspace_id, aw.tenant_id, aw.status, aw.deleted_at
                  FROM (SELECT mm.workspace_id FROM workspace_members mm WHERE mm.user_id = u.user_id OFFSET 0) mm
                  JOIN workspaces aw ON aw.workspace_id = mm.workspace_id OFFSET 0) mine
            WHERE mine.tenant_id = t.tenant_id AND mine.status = 'active' AND mine.deleted_at IS NULL)
          OFFSET 0) only_one
    WHERE only_one.tenant_id = t.tenant_id`;
}

/**
 * The CTEs every metered statement shares: `ctx` (one row with everything found) and `decided` (ctx plus
 * `identity_code`, the first identity/workspace/membership failure, or null, and the quota as a due reset
 * leaves it). `viewerMayPass` is for quota reads. The failures that depend on the form (a claimed tenant
 * missing; no user of that email, or several tenants and none on this host; no workspace named or none
 * inferable) are written for the form, like the lookups.
 */
export function identityCtes(pool: Sql, who: IdentityInput, viewerMayPass: boolean): PendingQuery<Row[]> {
  const sql = compactSql(pool);
  return sql`
    clock AS (SELECT timezone('UTC', now()) AS now_utc),
    cand AS (${candidateTenants(sql, who)}),
    pick AS (
      -- host_match is read once: each aggregate filtered on it would evaluate its subquery again.
      SELECT agg.n, COALESCE(cardinality(agg.host_tenants), 0) AS n_host, agg.host_tenants[1] AS host_tenant, agg.any_tenant
      FROM (SELECT count(*)::int AS n, array_agg(tenant_id) FILTER (WHERE host_match) AS host_tenants,
                   (array_agg(tenant_id))[1] AS any_tenant
            FROM cand) agg
    ),
    ctx AS (
      SELECT clock.now_utc, pick.n, pick.n_host,
             t.tenant_id, t.status AS t_status, t.deleted_at AS t_deleted,
             u.user_id, u.status AS u_status, u.deleted_at AS u_deleted,
             w.workspace_id, w.status AS w_status, w.deleted_at AS w_deleted,
             m.role AS m_role, cfg.enabled_models, cfg.enabled_mcps, cfg.custom_settings,
             q.quota_id, q.tokens_limit, q.tokens_used, q.requests_limit, q.requests_used, q.reset_at, q.files_limit, q.files_used,
             (q.reset_at IS NOT NULL AND q.reset_at <= clock.now_utc) AS reset_due
      FROM clock CROSS JOIN pick
      LEFT JOIN tenants t ON t.tenant_id = ${chosenTenant(sql, who)}
      LEFT JOIN LATERAL (${userLookup(sql, who)}) u ON true
      LEFT JOIN LATERAL (${workspaceLookup(sql, who)}) w ON true
      LEFT JOIN workspace_members m ON m.workspace_id = w.workspace_id AND m.user_id = u.user_id
      LEFT JOIN workspace_config cfg ON cfg.workspace_id = w.workspace_id
      LEFT JOIN workspace_quotas q ON q.workspace_id = w.workspace_id
    ),
    decided AS (
      SELECT ctx.*,
        CASE
          ${who.tenantClaimed
            ? sql`WHEN ctx.tenant_id IS NULL THEN 'tenant_inactive'`
            : sql`WHEN ctx.n = 0 THEN 'user_inactive' WHEN ctx.tenant_id IS NULL THEN 'tenant_ambiguous'`}
          WHEN ctx.t_status IS DISTINCT FROM 'active' OR ctx.t_deleted IS NOT NULL THEN 'tenant_inactive'
          WHEN ctx.user_id IS NULL OR ctx.u_status IS DISTINCT FROM 'active' OR ctx.u_deleted IS NOT NULL THEN 'user_inactive'
          WHEN ctx.workspace_id IS NULL THEN ${who.workspaceGiven ? sql`'workspace_not_found'` : sql`'workspace_required'`}
          WHEN ctx.w_status IS DISTINCT FROM 'active' OR ctx.w_deleted IS NOT NULL THEN 'workspace_inactive'
          WHEN ctx.m_role IS NULL THEN 'not_a_member'
          WHEN ctx.m_role = 'viewer' AND NOT ${viewerMayPass}::boolean THEN 'role_forbidden'
        END AS identity_code,
        CASE WHEN ctx.reset_due THEN 0 ELSE ctx.tokens_used END AS eff_tokens_used,
        CASE WHEN ctx.reset_due THEN 0 ELSE ctx.requests_used END AS eff_requests_used,
        CASE WHEN ctx.reset_due THEN geko_next_reset(ctx.reset_at, ctx.now_utc) ELSE ctx.reset_at END AS eff_reset_at
      FROM ctx
    )`;
}
