// The chat admission as it was before geko_admit_chat (sql/migrations/00006_admit_chat.sql): one statement
// of data-modifying CTEs on the shared identity lookups. Kept as the oracle of test/admit-function.test.ts,
// which holds the function to the same decisions, rows and audit rows in random worlds.
import type { PendingQuery, Row } from 'postgres';
import { compactSql, type CompactSql } from '../../src/db/compact-sql.ts';
import type { Sql } from '../../src/db/sql.ts';
import type { ModelSlot } from '../../src/admission/chat-request.ts';
import { identityCtes } from '../../src/admission/identity-ctes.ts';
import { entriesAdmitting, type DecisionRow, type IdentityInput, type RequestFacts } from '../../src/admission/statement.ts';

/** The name a refusal gives for a slot: its last alternative (a saved agent's model after the agent id). */
function slotName(slot: ModelSlot): string {
  return slot[slot.length - 1] ?? '';
}

/**
 * The first slot none of whose alternatives is enabled (by the name it stands for), or NULL when every slot
 * has one: each slot is one `?|` test of the array against the entries that would admit it. A column that is
 * not a JSON array enables nothing.
 */
function firstModelNotEnabled(sql: CompactSql, slots: ModelSlot[]): PendingQuery<Row[]> {
  const tests = slots.reduce<PendingQuery<Row[]>>(
    (test, slot) => sql`${test} WHEN NOT decided.enabled_models ?| ${entriesAdmitting(slot)}::text[] THEN ${slotName(slot)}::text`, sql``);
  return sql`CASE WHEN jsonb_typeof(decided.enabled_models) IS DISTINCT FROM 'array' THEN ${slotName(slots[0] ?? [])}::text${tests} END`;
}

/**
 * The first of `tools` that `enabled_mcps` does not admit, or NULL: the models' rule and test (each name
 * against the entries that would admit it, with one `?|`), over a JSON array only. The entries of all names
 * travel as one flat array with the position of the name each belongs to, so the statement text is the
 * same whatever the number of names; a chat that asks for none keeps the statement it had.
 */
function firstToolNotEnabled(sql: CompactSql, tools: string[]): PendingQuery<Row[]> {
  if (tools.length === 0) return sql`NULL::text`;
  const entries: string[] = [];
  const owners: number[] = [];
  tools.forEach((tool, index) => {
    for (const entry of entriesAdmitting([tool])) {
      entries.push(entry);
      owners.push(index + 1);
    }
  });
  return sql`(
    SELECT t.name FROM unnest(${tools}::text[]) WITH ORDINALITY AS t(name, ord)
    WHERE NOT COALESCE(jsonb_typeof(decided.enabled_mcps) = 'array' AND decided.enabled_mcps ?| ARRAY(
            SELECT e.entry FROM unnest(${entries}::text[], ${owners}::int[]) AS e(entry, owner) WHERE e.owner = t.ord), false)
    ORDER BY t.ord LIMIT 1)`;
}

function quotaTake(sql: CompactSql): PendingQuery<Row[]> {
  return sql`
      UPDATE workspace_quotas q SET
        requests_used = (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN 0 ELSE q.requests_used END) + 1,
        tokens_used = (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN 0 ELSE q.tokens_used END) + d.hold,
        reset_at = CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN geko_next_reset(q.reset_at, d.now_utc) ELSE q.reset_at END,
        updated_at = d.now_utc
      FROM decision d
      WHERE d.code IS NULL AND q.quota_id = d.quota_id
        AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN 0 ELSE q.requests_used END) < q.requests_limit
        AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN 0 ELSE q.tokens_used END) < q.tokens_limit
        AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= d.now_utc THEN 0 ELSE q.tokens_used END)::bigint + d.hold <= q.tokens_limit
      RETURNING q.tokens_limit, q.tokens_used, q.requests_limit, q.requests_used, q.reset_at`;
}

/** The chat admission: decide, and on admit take the hold, count the request, write chat_usage and chat_sent. */
export function cteAdmitChatStatement(
  pool: Sql,
  input: {
    who: IdentityInput; req: RequestFacts; slots: ModelSlot[]; promptTokens: number; bodyOutputCap: number | null; usageId: string; instanceId: string;
    /** MCP servers and built-in tools the chat asks for (chat-tools.ts); each must be enabled. */
    tools?: string[];
  },
): PendingQuery<DecisionRow[]> {
  const { who, req } = input;
  const sql = compactSql(pool);
  return sql<DecisionRow[]>`
    WITH ${identityCtes(pool, who, false)},
    sized AS (
      SELECT decided.*,
        -- Bounded before any cast: an operator's maxTokens of 1e300 or -5 holds 2^31-1 or 0, never an error.
        LEAST(2147483647, ${input.promptTokens}::bigint + COALESCE(
          CASE jsonb_typeof(decided.custom_settings -> 'maxTokens')
            WHEN 'number' THEN GREATEST(0, LEAST(2147483647, ceil((decided.custom_settings ->> 'maxTokens')::numeric)))::bigint
            WHEN 'string' THEN CASE WHEN (decided.custom_settings ->> 'maxTokens') ~ '^[0-9]{1,12}$'
                                    THEN (decided.custom_settings ->> 'maxTokens')::bigint END
          END, ${input.bodyOutputCap}::bigint, 0))::int AS hold,
        ${firstModelNotEnabled(sql, input.slots)} AS denied_model,
        ${firstToolNotEnabled(sql, input.tools ?? [])} AS mcp_denied
      FROM decided
    ),
    -- decision is read three times, so PostgreSQL keeps it as a table: only the columns the rest reads
    -- (each column of a kept CTE costs set-up on every execution).
    decision AS (
      SELECT tenant_id, workspace_id, user_id, quota_id, now_utc, hold, tokens_limit, requests_limit,
        eff_tokens_used, eff_requests_used, eff_reset_at, enabled_models, enabled_mcps, denied_model, mcp_denied, CASE
        WHEN identity_code IS NOT NULL THEN identity_code
        WHEN denied_model IS NOT NULL THEN 'model_not_enabled'
        WHEN mcp_denied IS NOT NULL THEN 'mcp_not_enabled'
        WHEN quota_id IS NULL THEN 'quota_not_configured'
        WHEN eff_requests_used >= requests_limit THEN 'quota_exceeded'
        WHEN eff_tokens_used >= tokens_limit OR eff_tokens_used::bigint + hold > tokens_limit THEN 'quota_exceeded'
      END AS code
      FROM sized
    ),
    took AS (${quotaTake(sql)}),
    usage_row AS (
      INSERT INTO chat_usage (usage_id, request_id, tenant_id, workspace_id, user_id, endpoint, model, conversation_id,
                              hold_tokens, hold_prompt_tokens, status, quota_reset_at, instance_id, ip_address, user_agent)
      SELECT ${input.usageId}::uuid, ${req.requestId}, d.tenant_id, d.workspace_id, d.user_id, ${req.endpoint}, ${req.model},
             ${req.conversationId ?? null}::text,
             d.hold, LEAST(d.hold, ${input.promptTokens}::int), 'reserved', took.reset_at, ${input.instanceId}::uuid,
             ${req.ipAddress}, ${req.userAgent}
      FROM decision d CROSS JOIN took
    ),
    outcome AS (
      SELECT d.tenant_id, d.workspace_id, d.user_id, d.now_utc, d.hold, d.tokens_limit, d.requests_limit, d.eff_tokens_used,
             d.eff_requests_used, d.eff_reset_at, d.enabled_models, d.enabled_mcps, d.denied_model, d.mcp_denied,
             took.tokens_used AS new_tokens_used, took.requests_used AS new_requests_used,
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
                                       'model', ${req.model}::text, 'code', f.final_code, 'kind', f.quota_kind,
                                       'name', CASE WHEN f.final_code = 'mcp_not_enabled' THEN f.mcp_denied END)) END,
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
           f.hold, f.enabled_models, f.enabled_mcps,
           CASE WHEN f.final_code = 'model_not_enabled' THEN f.denied_model END AS denied_model,
           CASE WHEN f.final_code = 'mcp_not_enabled' THEN f.mcp_denied END AS mcp_name
    FROM outcome f`;
}

