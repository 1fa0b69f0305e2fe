// The admission statement: ONE SQL statement (data-modifying CTEs, no BEGIN/COMMIT) that resolves
// tenant, user, workspace, membership, config and quota, decides in DESIGN.md's order, and writes.
// Race-freedom: the decision CTEs read a snapshot, but the quota is only taken by an UPDATE whose WHERE
// re-tests every limit against the row's latest committed version (PostgreSQL re-evaluates it after
// waiting for the row lock), so concurrent admissions from any number of processes serialise on the
// quota row and none can pass a limit. The audit and usage inserts read the UPDATE's RETURNING, so
// they happen exactly when it took the quota; a snapshot "yes" the UPDATE refused becomes a 429.
import type { PendingQuery, Row } from 'postgres';
import type { Sql } from '../db/sql.ts';
import type { ModelSlot } from './chat-request.ts';

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

export interface RequestFacts {
  requestId: string;
  endpoint: string;
  model: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  /** The conversation the client continues, when it names one (a new one is only known at settlement). */
  conversationId?: string | null;
}

export interface DecisionRow {
  code: string | null;
  quota_kind: 'requests' | 'tokens' | null;
  tenant_id: string | null;
  workspace_id: string | null;
  user_id: string | null;
  tokens_limit: number | null;
  tokens_used: number | null;
  requests_limit: number | null;
  requests_used: number | null;
  reset_at: Date | null;
  retry_after: number | null;
  hold: number | null;
}

/**
 * The CTEs every metered statement shares: `ctx` (one row with everything found) and `decided` (ctx plus
 * `code`, the first identity/workspace/membership failure, or null). `viewerMayPass` is for quota reads.
 */
function identityCtes(sql: Sql, who: IdentityInput, viewerMayPass: boolean): PendingQuery<Row[]> {
  return sql`
    clock AS (SELECT timezone('UTC', now()) AS now_utc),
    cand AS (
      SELECT t.tenant_id,
             EXISTS (SELECT 1 FROM jsonb_array_elements_text(
                       CASE WHEN jsonb_typeof(t.metadata -> 'domains') = 'array' THEN t.metadata -> 'domains' ELSE '[]'::jsonb END) d
                     WHERE lower(d) = ${who.host}) AS host_match
      FROM tenants t
      WHERE t.tenant_id IN (SELECT ${who.tenantId}::uuid WHERE ${who.tenantClaimed}::boolean
                            UNION ALL
                            SELECT u.tenant_id FROM users u
                            WHERE NOT ${who.tenantClaimed}::boolean
                              AND lower(u.email) = lower(${who.email}::text) AND u.deleted_at IS NULL)
    ),
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
             m.role AS m_role, cfg.enabled_models, cfg.custom_settings,
             q.quota_id, q.tokens_limit, q.tokens_used, q.requests_limit, q.requests_used, q.reset_at,
             (q.reset_at IS NOT NULL AND q.reset_at <= clock.now_utc) AS reset_due
      FROM clock CROSS JOIN pick
      LEFT JOIN tenants t ON t.tenant_id = CASE
        WHEN ${who.tenantClaimed}::boolean THEN pick.any_tenant
        WHEN pick.n_host = 1 THEN pick.host_tenant
        WHEN pick.n_host = 0 AND pick.n = 1 THEN pick.any_tenant END
      -- Each lookup by key sits behind OFFSET 0 (a planning fence) with the tenant checked outside: left
      -- free, a generic plan may take the (tenant_id) index and filter all of a tenant's users or workspaces.
      LEFT JOIN LATERAL (
        SELECT by_id.user_id, by_id.status, by_id.deleted_at
        FROM (SELECT uu.user_id, uu.tenant_id, uu.status, uu.deleted_at FROM users uu
              WHERE ${who.userId}::uuid IS NOT NULL AND uu.user_id = ${who.userId}::uuid OFFSET 0) by_id
        WHERE by_id.tenant_id = t.tenant_id
        UNION ALL
        SELECT * FROM (
          SELECT by_email.user_id, by_email.status, by_email.deleted_at
          FROM (SELECT uu.user_id, uu.tenant_id, uu.status, uu.deleted_at FROM users uu
                WHERE ${who.userId}::uuid IS NULL AND lower(uu.email) = lower(${who.email}::text) OFFSET 0) by_email
          WHERE by_email.tenant_id = t.tenant_id
          ORDER BY by_email.deleted_at IS NULL DESC, (by_email.status = 'active') DESC
          LIMIT 1) first_by_email
      ) u ON true
      LEFT JOIN LATERAL (
        SELECT named.workspace_id, named.status, named.deleted_at
        FROM (SELECT ww.workspace_id, ww.tenant_id, ww.status, ww.deleted_at FROM workspaces ww
              WHERE ${who.workspaceGiven}::boolean AND ww.workspace_id = ${who.workspaceId}::uuid OFFSET 0) named
        WHERE named.tenant_id = t.tenant_id
        UNION ALL
        SELECT only_one.workspace_id, only_one.status, only_one.deleted_at
        FROM (SELECT ww.workspace_id, ww.tenant_id, ww.status, ww.deleted_at FROM workspaces ww
              WHERE NOT ${who.workspaceGiven}::boolean AND ww.workspace_id = (
                SELECT CASE WHEN count(*) = 1 THEN (array_agg(mine.workspace_id))[1] END
                FROM (SELECT aw.workspace_id, aw.tenant_id, aw.status, aw.deleted_at
                      FROM (SELECT mm.workspace_id FROM workspace_members mm WHERE mm.user_id = u.user_id OFFSET 0) mm
                      JOIN workspaces aw ON aw.workspace_id = mm.workspace_id OFFSET 0) mine
                WHERE mine.tenant_id = t.tenant_id AND mine.status = 'active' AND mine.deleted_at IS NULL)
              OFFSET 0) only_one
        WHERE only_one.tenant_id = t.tenant_id
      ) w ON true
      LEFT JOIN workspace_members m ON m.workspace_id = w.workspace_id AND m.user_id = u.user_id
      LEFT JOIN workspace_config cfg ON cfg.workspace_id = w.workspace_id
      LEFT JOIN workspace_quotas q ON q.workspace_id = w.workspace_id
    ),
    decided AS (
      SELECT ctx.*,
        CASE
          WHEN ${who.tenantClaimed}::boolean AND ctx.tenant_id IS NULL THEN 'tenant_inactive'
          WHEN NOT ${who.tenantClaimed}::boolean AND ctx.n = 0 THEN 'user_inactive'
          WHEN ctx.tenant_id IS NULL THEN 'tenant_ambiguous'
          WHEN ctx.t_status IS DISTINCT FROM 'active' OR ctx.t_deleted IS NOT NULL THEN 'tenant_inactive'
          WHEN ctx.user_id IS NULL OR ctx.u_status IS DISTINCT FROM 'active' OR ctx.u_deleted IS NOT NULL THEN 'user_inactive'
          WHEN NOT ${who.workspaceGiven}::boolean AND ctx.workspace_id IS NULL THEN 'workspace_required'
          WHEN ctx.workspace_id IS NULL THEN 'workspace_not_found'
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

/**
 * The `enabled_models` entries that admit a model: the name itself and every prefix of it followed by `*`
 * (`*`, `g*`, `gp*`, …). Computed here so the statement tests each slot with one `?|` (does the array hold
 * any of these strings) instead of expanding both arrays into function scans. Prefixes are cut at code
 * points, as PostgreSQL's left() cuts characters.
 */
export function entriesAdmitting(slot: ModelSlot): string[] {
  const entries = new Set<string>();
  for (const model of slot) {
    entries.add(model);
    const chars = Array.from(model);
    for (let length = 0; length <= chars.length; length += 1) entries.add(`${chars.slice(0, length).join('')}*`);
  }
  return [...entries];
}

/** ` AND enabled_models ?| <entries>` for each slot: every slot needs one of its models enabled. */
function modelsEnabled(sql: Sql, slots: ModelSlot[]): PendingQuery<Row[]> {
  return slots.reduce<PendingQuery<Row[]>>(
    (test, slot) => sql`${test} AND decided.enabled_models ?| ${entriesAdmitting(slot)}::text[]`, sql``);
}

/** The chat admission: decide, and on admit take the hold, count the request, write chat_usage and chat_sent. */
export function admitChatStatement(
  sql: Sql,
  input: { who: IdentityInput; req: RequestFacts; slots: ModelSlot[]; promptTokens: number; bodyOutputCap: number | null; usageId: string; instanceId: string },
): PendingQuery<DecisionRow[]> {
  const { who, req } = input;
  return sql<DecisionRow[]>`
    WITH ${identityCtes(sql, who, false)},
    sized AS (
      SELECT decided.*,
        LEAST(2147483647, ${input.promptTokens}::bigint + COALESCE(
          CASE jsonb_typeof(decided.custom_settings -> 'maxTokens')
            WHEN 'number' THEN ceil((decided.custom_settings ->> 'maxTokens')::numeric)::bigint
            WHEN 'string' THEN CASE WHEN (decided.custom_settings ->> 'maxTokens') ~ '^[0-9]{1,12}$'
                                    THEN (decided.custom_settings ->> 'maxTokens')::bigint END
          END, ${input.bodyOutputCap}::bigint, 0))::int AS hold,
        COALESCE(jsonb_typeof(decided.enabled_models) = 'array'${modelsEnabled(sql, input.slots)}, false) AS models_ok
      FROM decided
    ),
    decision AS (
      SELECT sized.*, CASE
        WHEN identity_code IS NOT NULL THEN identity_code
        WHEN NOT models_ok THEN 'model_not_enabled'
        WHEN quota_id IS NULL THEN 'quota_not_configured'
        WHEN eff_requests_used >= requests_limit THEN 'quota_exceeded'
        WHEN eff_tokens_used >= tokens_limit OR eff_tokens_used + hold > tokens_limit THEN 'quota_exceeded'
      END AS code
      FROM sized
    ),
    took AS (
      UPDATE workspace_quotas q SET
        requests_used = (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN 0 ELSE q.requests_used END) + 1,
        tokens_used = (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN 0 ELSE q.tokens_used END) + d.hold,
        reset_at = CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN geko_next_reset(q.reset_at, d.now_utc) ELSE q.reset_at END,
        updated_at = d.now_utc
      FROM decision d
      WHERE d.code IS NULL AND q.quota_id = d.quota_id
        AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN 0 ELSE q.requests_used END) < q.requests_limit
        AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN 0 ELSE q.tokens_used END) < q.tokens_limit
        AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN 0 ELSE q.tokens_used END) + d.hold <= q.tokens_limit
      RETURNING q.tokens_limit, q.tokens_used, q.requests_limit, q.requests_used, q.reset_at
    ),
    usage_row AS (
      INSERT INTO chat_usage (usage_id, request_id, tenant_id, workspace_id, user_id, endpoint, model, conversation_id,
                              hold_tokens, hold_prompt_tokens, status, quota_reset_at, instance_id, ip_address, user_agent)
      SELECT ${input.usageId}::uuid, ${req.requestId}, d.tenant_id, d.workspace_id, d.user_id, ${req.endpoint}, ${req.model},
             ${req.conversationId ?? null}::text,
             d.hold, LEAST(d.hold, ${input.promptTokens}::int), 'reserved', took.reset_at, ${input.instanceId}::uuid,
             ${req.ipAddress}, ${req.userAgent}
      FROM decision d CROSS JOIN took
      RETURNING usage_id
    ),
    outcome AS (
      SELECT d.*, took.tokens_used AS new_tokens_used, took.requests_used AS new_requests_used,
             took.reset_at AS new_reset_at, (took.requests_used IS NOT NULL) AS admitted,
             CASE WHEN d.code IS NULL AND took.requests_used IS NULL
                  THEN 'quota_exceeded' ELSE d.code END AS final_code,
             CASE WHEN d.code = 'quota_exceeded' OR (d.code IS NULL AND took.requests_used IS NULL) THEN
               CASE WHEN d.eff_requests_used + (CASE WHEN d.code IS NULL THEN 1 ELSE 0 END) >= d.requests_limit
                    THEN 'requests' ELSE 'tokens' END END AS quota_kind
      FROM decision d LEFT JOIN took ON true
    ),
    audit AS (
      INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                              ip_address, user_agent, status, error_message)
      SELECT gen_random_uuid(), f.tenant_id, f.workspace_id, f.user_id,
             CASE WHEN f.admitted THEN 'chat_sent' ELSE 'chat_denied' END, 'conversation', ${req.conversationId ?? null}::text,
             CASE WHEN f.admitted
               THEN jsonb_build_object('request_id', ${req.requestId}::text, 'endpoint', ${req.endpoint}::text,
                                       'model', ${req.model}::text, 'hold_tokens', f.hold, 'usage_id', ${input.usageId}::text)
               ELSE jsonb_strip_nulls(jsonb_build_object('request_id', ${req.requestId}::text, 'endpoint', ${req.endpoint}::text,
                                       'model', ${req.model}::text, 'code', f.final_code, 'kind', f.quota_kind)) END,
             ${req.ipAddress}, ${req.userAgent},
             CASE WHEN f.admitted THEN 'success' ELSE 'failed' END,
             CASE WHEN f.admitted THEN NULL ELSE f.final_code END
      FROM outcome f
      WHERE f.tenant_id IS NOT NULL
    )
    SELECT f.final_code AS code, f.quota_kind, f.tenant_id, f.workspace_id, f.user_id,
           f.tokens_limit, COALESCE(f.new_tokens_used, f.eff_tokens_used) AS tokens_used,
           f.requests_limit, COALESCE(f.new_requests_used, f.eff_requests_used) AS requests_used,
           COALESCE(f.new_reset_at, f.eff_reset_at) AS reset_at,
           CASE WHEN f.eff_reset_at IS NOT NULL THEN GREATEST(0, ceil(extract(epoch FROM f.eff_reset_at - f.now_utc)))::float8 END AS retry_after,
           f.hold
    FROM outcome f`;
}

/** Resume and steer: the same identity rules, refused when the quota is used up; nothing is held or counted. */
export function checkQuotaStatement(sql: Sql, input: { who: IdentityInput; req: RequestFacts }): PendingQuery<DecisionRow[]> {
  const { who, req } = input;
  return sql<DecisionRow[]>`
    WITH ${identityCtes(sql, who, false)},
    decision AS (
      SELECT decided.*, CASE
        WHEN identity_code IS NOT NULL THEN identity_code
        WHEN quota_id IS NULL THEN 'quota_not_configured'
        WHEN eff_requests_used >= requests_limit OR eff_tokens_used >= tokens_limit THEN 'quota_exceeded'
      END AS code,
      CASE WHEN eff_requests_used >= requests_limit THEN 'requests'
           WHEN eff_tokens_used >= tokens_limit THEN 'tokens' END AS quota_kind
      FROM decided
    ),
    audit AS (
      INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                              ip_address, user_agent, status, error_message)
      SELECT gen_random_uuid(), d.tenant_id, d.workspace_id, d.user_id, 'chat_denied', 'conversation', ${req.conversationId ?? null}::text,
             jsonb_strip_nulls(jsonb_build_object('request_id', ${req.requestId}::text, 'endpoint', ${req.endpoint}::text,
                                                  'model', ${req.model}::text, 'code', d.code, 'kind', d.quota_kind)),
             ${req.ipAddress}, ${req.userAgent}, 'failed', d.code
      FROM decision d
      WHERE d.code IS NOT NULL AND d.tenant_id IS NOT NULL
    )
    SELECT d.code, d.quota_kind, d.tenant_id, d.workspace_id, d.user_id, d.tokens_limit, d.eff_tokens_used AS tokens_used,
           d.requests_limit, d.eff_requests_used AS requests_used, d.eff_reset_at AS reset_at,
           CASE WHEN d.eff_reset_at IS NOT NULL THEN GREATEST(0, ceil(extract(epoch FROM d.eff_reset_at - d.now_utc)))::float8 END AS retry_after,
           NULL::int AS hold
    FROM decision d`;
}

/** GET /_gateway/quota: the caller's workspace quota as the next admission would see it. Writes nothing. */
export function readQuotaStatement(sql: Sql, who: IdentityInput): PendingQuery<DecisionRow[]> {
  return sql<DecisionRow[]>`
    WITH ${identityCtes(sql, who, true)}
    SELECT CASE WHEN d.identity_code IS NOT NULL THEN d.identity_code
                WHEN d.quota_id IS NULL THEN 'quota_not_configured' END AS code,
           NULL::text AS quota_kind, d.tenant_id, d.workspace_id, d.user_id, d.tokens_limit, d.eff_tokens_used AS tokens_used,
           d.requests_limit, d.eff_requests_used AS requests_used, d.eff_reset_at AS reset_at, NULL::int AS retry_after, NULL::int AS hold
    FROM decided d`;
}
