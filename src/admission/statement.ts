// The metered statements' SQL. The chat admission is ONE statement, `geko_admit_chat` (sql/migrations/
// 00006_admit_chat.sql): it resolves tenant, user, workspace, membership, config and quota, decides in
// DESIGN.md's order, and writes. Race-freedom: the quota is only taken by an UPDATE whose WHERE re-tests
// every limit against the row's latest committed version (PostgreSQL re-evaluates it after waiting for
// the row lock), so concurrent admissions from any number of processes serialise on the quota row and
// none can pass a limit; the usage and audit rows are written only when it took the row, and a snapshot
// "yes" the UPDATE refused becomes a 429. Resume/steer checks and quota reads are CTE statements on the
// shared identity lookups (identity-ctes.ts), which the function mirrors.
import type { PendingQuery } from 'postgres';
import { compactSql } from '../db/compact-sql.ts';
import type { Sql } from '../db/sql.ts';
import type { ModelSlot } from './chat-request.ts';
import { identityCtes, type IdentityInput } from './identity-ctes.ts';

export type { IdentityInput } from './identity-ctes.ts';

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
  /** The chat admission only: what the workspace enabled when it decided (the stream policy; a refusal names the first model not enabled). */
  enabled_models?: unknown;
  enabled_mcps?: unknown;
  /** On model_not_enabled: the name the first slot with no enabled alternative stands for (its last one). */
  denied_model?: string | null;
  /** The first MCP server or built-in tool enabled_mcps does not admit (mcp_not_enabled), else null. */
  mcp_name?: string | null;
}

/**
 * The `enabled_models` entries that admit a model: the name itself and every prefix of it followed by `*`
 * (`*`, `g*`, `gp*`, …). Computed here so the statement tests each slot with one `?|` (does the array hold
 * any of these strings) instead of expanding both arrays into function scans. Prefixes are cut at code
 * points, as PostgreSQL's left() cuts characters. The list's total length grows with the square of a
 * name's, which is why chat-request.ts only lets names of up to 255 characters reach here.
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

/** The name a refusal gives for a slot: its last alternative (a saved agent's model after the agent id). */
function slotName(slot: ModelSlot): string {
  return slot[slot.length - 1] ?? '';
}

/** Names and, flattened, the entries that would admit each (with the 1-based position of the name each is for). */
function flattened(groups: { name: string; entries: string[] }[]): { names: string[]; entries: string[]; owners: number[] } {
  const entries: string[] = [];
  const owners: number[] = [];
  groups.forEach((group, index) => {
    for (const entry of group.entries) {
      entries.push(entry);
      owners.push(index + 1);
    }
  });
  return { names: groups.map((group) => group.name), entries, owners };
}

/**
 * The chat admission: decide, and on admit take the hold, count the request, write chat_usage and chat_sent
 * (or chat_denied). ONE statement: `geko_admit_chat` (sql/migrations/00006_admit_chat.sql) runs the
 * identity lookups, the rules in DESIGN.md's order and the writes as small statements of its own, each with
 * a plan plpgsql keeps; the model and tool tests get, per name, the entries that would admit it, so the
 * function tests each with one `?|`. A chat that asks for no tools sends empty arrays.
 */
export function admitChatStatement(
  sql: Sql,
  input: {
    who: IdentityInput; req: RequestFacts; slots: ModelSlot[]; promptTokens: number; bodyOutputCap: number | null; usageId: string; instanceId: string;
    /** MCP servers and built-in tools the chat asks for (chat-tools.ts); each must be enabled. */
    tools?: string[];
  },
): PendingQuery<DecisionRow[]> {
  const { who, req } = input;
  const slots = flattened(input.slots.map((slot) => ({ name: slotName(slot), entries: entriesAdmitting(slot) })));
  const tools = flattened((input.tools ?? []).map((tool) => ({ name: tool, entries: entriesAdmitting([tool]) })));
  return sql<DecisionRow[]>`
    SELECT * FROM geko_admit_chat(
      ${who.tenantClaimed}::boolean, ${who.tenantId}::uuid, ${who.userId}::uuid, ${who.email}::text, ${who.host}::text,
      ${who.workspaceGiven}::boolean, ${who.workspaceId}::uuid,
      ${slots.names}::text[], ${slots.entries}::text[], ${slots.owners}::int[], ${slotName(input.slots[0] ?? [])}::text,
      ${tools.names}::text[], ${tools.entries}::text[], ${tools.owners}::int[],
      ${input.promptTokens}::int, ${input.bodyOutputCap}::bigint, ${input.usageId}::uuid, ${input.instanceId}::uuid,
      ${req.requestId}::text, ${req.endpoint}::text, ${req.model}::text, ${req.conversationId ?? null}::text,
      ${req.ipAddress}::text, ${req.userAgent}::text)`;
}

/** Resume and steer: the same identity rules, refused when the quota is used up; nothing is held or counted. */
export function checkQuotaStatement(pool: Sql, input: { who: IdentityInput; req: RequestFacts }): PendingQuery<DecisionRow[]> {
  const { who, req } = input;
  const sql = compactSql(pool);
  return sql<DecisionRow[]>`
    WITH ${identityCtes(pool, who, false)},
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
export function readQuotaStatement(pool: Sql, who: IdentityInput): PendingQuery<DecisionRow[]> {
  const sql = compactSql(pool);
  return sql<DecisionRow[]>`
    WITH ${identityCtes(pool, who, true)}
    SELECT CASE WHEN d.identity_code IS NOT NULL THEN d.identity_code
                WHEN d.quota_id IS NULL THEN 'quota_not_configured' END AS code,
           NULL::text AS quota_kind, d.tenant_id, d.workspace_id, d.user_id, d.tokens_limit, d.eff_tokens_used AS tokens_used,
           d.requests_limit, d.eff_requests_used AS requests_used, d.eff_reset_at AS reset_at, NULL::int AS retry_after, NULL::int AS hold
    FROM decided d`;
}
