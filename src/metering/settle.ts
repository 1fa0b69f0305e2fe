// Settlement: ONE statement per generation that closes its chat_usage row, corrects the quota by
// (actual - what the row had charged) — or charges the actual to the new period when the quota was reset
// since that charge — and writes the chat_completed audit row. The guard makes it idempotent: a second
// settlement (or a race with the sweeper) finds no row and changes nothing. A row the sweeper already
// closed as `expired` (its process looked dead, or the hold outlived RESERVATION_TTL unheld) is still
// open to the generation's one real settlement: a generation that ends late records what it used, and the
// quota is corrected by the difference from the text part the sweeper charged (DESIGN.md, Metering).
// Under load the meter hands several settlements to one statement (settle-batcher.ts, settleBatch below);
// one alone still goes through settleUsage, whose plan reaches the row by its primary key whatever the
// statistics say (test/query-plans.test.ts).
import type { PendingQuery, Row } from 'postgres';
import { compactSql, type CompactSql } from '../db/compact-sql.ts';
import type { Sql } from '../db/sql.ts';
import type { UsageResult } from './usage-tally.ts';

export type Outcome = 'completed' | 'aborted' | 'error' | 'expired';

const STATUS_OF: Record<Outcome, string> = { completed: 'settled', aborted: 'aborted', error: 'failed', expired: 'expired' };

export interface Settlement {
  usageId: string;
  outcome: Outcome;
  usage: UsageResult;
  conversationId?: string | undefined;
  streamId?: string | undefined;
  /** LibreChat never took the generation: give back the counted request as well as the hold. */
  neverTaken?: boolean;
  reason?: string | undefined;
  /** For metrics and logs only. */
  tenantId?: string;
  workspaceId?: string;
  requestId?: string;
}

/** The largest PostgreSQL `integer`: the type of every token column and counter. */
const MAX_INT = 2_147_483_647;

function countThatFits(value: number): number {
  return Math.min(MAX_INT, Math.max(0, Math.round(value)));
}

/** An id LibreChat gave that the VARCHAR(255) columns can hold (PostgreSQL text holds no NUL), else none. */
function idThatFits(id: string | undefined): string | undefined {
  return id !== undefined && id.length <= 255 && !id.includes('\u0000') ? id : undefined;
}

/**
 * The settlement as its columns can hold it. What LibreChat reports is not trusted to fit: a count past an
 * `integer` or an id past 255 characters would make the statement fail, and a settlement that fails is retried
 * for ever with its hold never settled. Counts are clamped (the chat is charged the most a counter can hold),
 * ids that cannot be stored are left out (model names are made storable where the usage is tallied:
 * usage-tally.ts recordedModel).
 */
export function storableSettlement(s: Settlement): Settlement {
  const { usage } = s;
  return {
    ...s,
    usage: {
      ...usage,
      promptTokens: countThatFits(usage.promptTokens),
      completionTokens: countThatFits(usage.completionTokens),
      totalTokens: countThatFits(usage.totalTokens),
    },
    conversationId: idThatFits(s.conversationId),
    streamId: idThatFits(s.streamId),
    reason: s.reason?.replaceAll('\u0000', ''),
  };
}

/**
 * The chat_completed row's details (DESIGN.md, Audit rows) from the `closed` row of either settlement
 * statement; `outcome` is the SQL that names its outcome. A late end after an expiry says what it corrects.
 */
function completedAuditDetails(sql: CompactSql, outcome: PendingQuery<Row[]>): PendingQuery<Row[]> {
  return sql`jsonb_build_object('request_id', closed.request_id, 'usage_id', closed.usage_id, 'outcome', ${outcome},
                                'endpoint', closed.endpoint, 'model', closed.model,
                                'prompt_tokens', closed.prompt_tokens, 'completion_tokens', closed.completion_tokens,
                                'total_tokens', closed.total_tokens, 'usage_source', closed.usage_source,
                                'hold_tokens', closed.hold_tokens, 'per_model', closed.details -> 'per_model')
             || CASE WHEN closed.late THEN jsonb_build_object('corrects_outcome', 'expired', 'charged_at_expiry', closed.charged)
                     ELSE '{}'::jsonb END`;
}

/** Returns true when this call settled the row, false when it was already settled. */
export async function settleUsage(pool: Sql, given: Settlement): Promise<boolean> {
  const sql = compactSql(pool);
  const s = storableSettlement(given);
  const details = { per_model: s.usage.perModel, ...(s.reason ? { reason: s.reason } : {}) };
  const rows = await sql<{ settled: number }[]>`
    WITH closed AS (
      -- SET expressions read the row as it is when locked (after any wait for the sweeper), so what it had
      -- charged is taken from that version: the whole hold while reserved, the text part once expired.
      UPDATE chat_usage c SET
        status = ${STATUS_OF[s.outcome]}, prompt_tokens = ${s.usage.promptTokens}, completion_tokens = ${s.usage.completionTokens},
        total_tokens = ${s.usage.totalTokens}, usage_source = ${s.usage.source},
        details = ${pool.json(details as unknown as Parameters<typeof pool.json>[0])}::jsonb
                  || CASE WHEN c.status = 'expired' THEN jsonb_build_object('late_after_expiry', jsonb_build_object('charged', c.total_tokens))
                          ELSE '{}'::jsonb END,
        conversation_id = COALESCE(${s.conversationId ?? null}::text, c.conversation_id),
        stream_id = COALESCE(${s.streamId ?? null}::text, c.stream_id),
        settled_at = timezone('UTC', now())
      WHERE c.usage_id = ${s.usageId}::uuid
        AND (c.status = 'reserved' OR (c.status = 'expired' AND c.usage_source = 'hold'))
      RETURNING c.*, COALESCE((c.details -> 'late_after_expiry' ->> 'charged')::int, c.hold_tokens) AS charged,
                c.details ? 'late_after_expiry' AS late
    ),
    quota AS (
      UPDATE workspace_quotas q SET
        tokens_used = LEAST(${MAX_INT}::bigint, GREATEST(0, q.tokens_used::bigint + CASE WHEN q.reset_at IS NOT DISTINCT FROM closed.quota_reset_at
                                                      THEN closed.total_tokens - closed.charged ELSE closed.total_tokens END)),
        requests_used = CASE WHEN ${s.neverTaken === true}::boolean AND NOT closed.late AND q.reset_at IS NOT DISTINCT FROM closed.quota_reset_at
                             THEN GREATEST(0, q.requests_used - 1) ELSE q.requests_used END,
        updated_at = timezone('UTC', now())
      FROM closed WHERE q.workspace_id = closed.workspace_id
      RETURNING q.quota_id
    ),
    audit AS (
      INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                              ip_address, user_agent, status, error_message)
      SELECT gen_random_uuid(), closed.tenant_id, closed.workspace_id, closed.user_id, 'chat_completed', 'conversation',
             closed.conversation_id,
             ${completedAuditDetails(sql, sql`${s.outcome}::text`)},
             closed.ip_address, closed.user_agent,
             ${s.outcome === 'completed' || s.outcome === 'aborted' ? 'success' : 'failed'},
             ${s.outcome === 'completed' || s.outcome === 'aborted' ? null : (s.reason ?? s.outcome)}::text
      FROM closed
    )
    SELECT count(*)::int AS settled FROM closed`;
  return (rows[0]?.settled ?? 0) > 0;
}

/** One settlement as a row of the batch statement's input (jsonb_to_recordset). */
function inputRow(s: Settlement) {
  const success = s.outcome === 'completed' || s.outcome === 'aborted';
  return {
    usage_id: s.usageId, status: STATUS_OF[s.outcome], outcome: s.outcome,
    prompt_tokens: s.usage.promptTokens, completion_tokens: s.usage.completionTokens, total_tokens: s.usage.totalTokens,
    usage_source: s.usage.source, details: { per_model: s.usage.perModel, ...(s.reason ? { reason: s.reason } : {}) },
    conversation_id: s.conversationId ?? null, stream_id: s.streamId ?? null, never_taken: s.neverTaken === true,
    audit_status: success ? 'success' : 'failed', error_message: success ? null : (s.reason ?? s.outcome),
  };
}

/**
 * Settles several generations in ONE statement (one transaction: all of them or none, so a process that
 * dies mid-batch leaves every row open for the sweeper, never half a batch). Per row it does exactly what
 * one settlement does; the quota correction is summed per workspace, each row's share computed against
 * the quota row as locked (its period may have been reset since that row's admission). The guard on
 * chat_usage keeps it exactly once. The usage ids must be distinct. Returns the ids this call settled.
 */
export async function settleBatch(pool: Sql, given: Settlement[]): Promise<Set<string>> {
  const sql = compactSql(pool);
  const batch = given.map(storableSettlement);
  const input = batch.map(inputRow);
  const rows = await sql<{ usage_id: string }[]>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${pool.json(input as unknown as Parameters<typeof pool.json>[0])}::jsonb) AS i(
        usage_id uuid, status text, outcome text, prompt_tokens int, completion_tokens int, total_tokens int,
        usage_source text, details jsonb, conversation_id text, stream_id text, never_taken boolean,
        audit_status text, error_message text)
    ),
    closed AS (
      -- SET expressions read the row as it is when locked (after any wait for the sweeper), so what it had
      -- charged is taken from that version: the whole hold while reserved, the text part once expired.
      UPDATE chat_usage c SET
        status = i.status, prompt_tokens = i.prompt_tokens, completion_tokens = i.completion_tokens,
        total_tokens = i.total_tokens, usage_source = i.usage_source,
        details = i.details
                  || CASE WHEN c.status = 'expired' THEN jsonb_build_object('late_after_expiry', jsonb_build_object('charged', c.total_tokens))
                          ELSE '{}'::jsonb END,
        conversation_id = COALESCE(i.conversation_id, c.conversation_id),
        stream_id = COALESCE(i.stream_id, c.stream_id),
        settled_at = timezone('UTC', now())
      FROM input i
      -- The id list as well as the join: the planner then reaches each row through the primary key, even
      -- with statistics that think chat_usage is tiny (test/query-plans.test.ts).
      WHERE c.usage_id = ANY(${batch.map((s) => s.usageId)}::uuid[]) AND c.usage_id = i.usage_id
        AND (c.status = 'reserved' OR (c.status = 'expired' AND c.usage_source = 'hold'))
      RETURNING c.*, COALESCE((c.details -> 'late_after_expiry' ->> 'charged')::int, c.hold_tokens) AS charged,
                c.details ? 'late_after_expiry' AS late, i.never_taken, i.outcome, i.audit_status, i.error_message
    ),
    quota AS (
      -- One UPDATE per quota row however many of its chats the batch closes; each chat's share is decided
      -- against q.reset_at as locked, exactly as its own statement would have.
      UPDATE workspace_quotas q SET
        tokens_used = LEAST(${MAX_INT}::bigint, GREATEST(0, q.tokens_used::bigint + (
          SELECT sum(CASE WHEN q.reset_at IS NOT DISTINCT FROM k.quota_reset_at THEN k.total_tokens - k.charged ELSE k.total_tokens END)
          FROM closed k WHERE k.workspace_id = q.workspace_id))),
        requests_used = GREATEST(0, q.requests_used - (
          SELECT count(*) FROM closed k
          WHERE k.workspace_id = q.workspace_id AND k.never_taken AND NOT k.late AND q.reset_at IS NOT DISTINCT FROM k.quota_reset_at)),
        updated_at = timezone('UTC', now())
      WHERE q.workspace_id IN (SELECT workspace_id FROM closed)
      RETURNING q.quota_id
    ),
    audit AS (
      INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                              ip_address, user_agent, status, error_message)
      SELECT gen_random_uuid(), closed.tenant_id, closed.workspace_id, closed.user_id, 'chat_completed', 'conversation',
             closed.conversation_id,
             ${completedAuditDetails(sql, sql`closed.outcome`)},
             closed.ip_address, closed.user_agent, closed.audit_status, closed.error_message
      FROM closed
    )
    SELECT usage_id::text FROM closed`;
  return new Set(rows.map((r) => r.usage_id));
}

/**
 * The `chat_policy_violation` audit row (DESIGN.md, Audit rows): what ran that the workspace does not
 * enable. Written before the generation's settlement, so its chat_completed row follows it.
 */
export async function recordPolicyViolation(
  sql: Sql,
  v: { usageId: string; conversationId: string | undefined; code: string; details: Record<string, string | null> },
): Promise<void> {
  await sql`
    INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                            ip_address, user_agent, status, error_message)
    SELECT gen_random_uuid(), c.tenant_id, c.workspace_id, c.user_id, 'chat_policy_violation', 'conversation',
           COALESCE(${v.conversationId ?? null}::text, c.conversation_id),
           ${sql.json(v.details)}::jsonb || jsonb_build_object('request_id', c.request_id, 'usage_id', c.usage_id, 'endpoint', c.endpoint),
           c.ip_address, c.user_agent, 'failed', ${v.code}
    FROM chat_usage c WHERE c.usage_id = ${v.usageId}::uuid`;
}
