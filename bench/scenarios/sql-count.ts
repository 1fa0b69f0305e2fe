// SQL statements per admitted chat and per denied request, from pg_stat_statements: reset, run K chats
// through the gateway, wait until every one is settled, then count the calls of the statements the
// gateway's role (postgres) ran. Excluded: the sweeper/heartbeat (gateway_instances) and postgres.js's
// connect-time type lookups (pg_catalog.pg_type), which belong to no request; the pool is warmed first
// so no connection is opened inside the window. The bench's own queries run as another role.
import type { BenchContext } from '../context.ts';
import { authHeaders, waitForSettlement } from '../context.ts';
import { BENCH_ROLE } from '../database.ts';
import { fanOut, request } from '../http.ts';
import { round3 } from '../load.ts';
import { chatStartBody } from './metered.ts';

interface StatementRow {
  query: string;
  calls: number;
  mean_ms: number;
  plan_ms: number;
}

export interface StatementCounts {
  admission: number;
  settlement: number;
  other: number;
  excluded: number;
  admissionMeanMs: number | null;
  settlementMeanMs: number | null;
  /** Mean planning time per call (pg_stat_statements.track_planning). */
  admissionPlanMs: number | null;
  settlementPlanMs: number | null;
  otherQueries: string[];
}

export async function resetStatements(ctx: BenchContext): Promise<void> {
  await ctx.sql`SELECT pg_stat_statements_reset()`;
}

/** The gateway's statements since the last reset, by kind. */
export async function countStatements(ctx: BenchContext): Promise<StatementCounts> {
  const rows = await ctx.sql<StatementRow[]>`
    SELECT s.query, s.calls::int AS calls, s.mean_exec_time::float8 AS mean_ms,
           (s.total_plan_time / GREATEST(s.calls, 1))::float8 AS plan_ms
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
    WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND r.rolname <> ${BENCH_ROLE}`;
  const counts: StatementCounts = {
    admission: 0, settlement: 0, other: 0, excluded: 0, admissionMeanMs: null, settlementMeanMs: null,
    admissionPlanMs: null, settlementPlanMs: null, otherQueries: [],
  };
  for (const row of rows) {
    const q = row.query;
    if (/gateway_instances|pg_catalog\.pg_type|pg_stat_statements/i.test(q)) counts.excluded += row.calls;
    // The chat admission: one call of geko_admit_chat (its own statements are nested, not counted at track=top).
    else if (/geko_admit_chat|INSERT INTO chat_usage/i.test(q)) {
      counts.admission += row.calls;
      counts.admissionMeanMs = row.mean_ms;
      counts.admissionPlanMs = row.plan_ms;
    } else if (/UPDATE chat_usage/i.test(q)) {
      counts.settlement += row.calls;
      counts.settlementMeanMs = row.mean_ms;
      counts.settlementPlanMs = row.plan_ms;
    } else {
      counts.other += row.calls;
      counts.otherQueries.push(q.replace(/\s+/g, ' ').slice(0, 120));
    }
  }
  return counts;
}

async function postChats(ctx: BenchContext, count: number, workspaceId: string, expect: number): Promise<void> {
  const statuses = await fanOut(count, 4, async () => (await request(`${ctx.urls.gateway}/api/agents/chat/openAI`, {
    method: 'POST', headers: authHeaders(ctx, workspaceId), body: chatStartBody(),
  })).status);
  const wrong = statuses.filter((s) => s !== expect).length;
  if (wrong > 0) throw new Error(`${wrong} of ${count} chat starts did not answer ${expect}: ${JSON.stringify(statuses.slice(0, 5))}`);
}

export async function runSqlCount(ctx: BenchContext): Promise<Record<string, unknown>> {
  const k = ctx.cfg.sqlSampleChats;
  await postChats(ctx, 40, ctx.seed.mainWorkspace, 200); // warm: open the pool's connections, prepare statements
  await postChats(ctx, 8, ctx.seed.denyWorkspace, 429);
  const openBefore = await waitForSettlement(ctx);
  await resetStatements(ctx);
  await postChats(ctx, k, ctx.seed.mainWorkspace, 200);
  const unsettled = (await waitForSettlement(ctx)) - openBefore;
  const admitted = await countStatements(ctx);
  await resetStatements(ctx);
  await postChats(ctx, k, ctx.seed.denyWorkspace, 429);
  const denied = await countStatements(ctx);
  const perChat = (admitted.admission + admitted.settlement + admitted.other) / k;
  ctx.log(`  ${k} admitted chats: ${admitted.admission} admission + ${admitted.settlement} settlement + ${admitted.other} other statements (${unsettled} unsettled)`);
  ctx.log(`  ${k} denied: ${denied.admission + denied.settlement + denied.other} statements`);
  return {
    sql_statements_per_admitted_chat: round3(perChat),
    sql_admission_statements_per_chat: round3(admitted.admission / k),
    sql_settlement_statements_per_chat: round3(admitted.settlement / k),
    sql_other_statements_per_chat: round3(admitted.other / k),
    sql_statements_per_denied: round3((denied.admission + denied.settlement + denied.other) / k),
    sql_sample_chats: k,
    sql_unsettled_in_sample: unsettled,
    sql_other_statements_seen: [...admitted.otherQueries, ...denied.otherQueries],
    admission_statement_mean_ms: admitted.admissionMeanMs === null ? null : round3(admitted.admissionMeanMs),
    settlement_statement_mean_ms: admitted.settlementMeanMs === null ? null : round3(admitted.settlementMeanMs),
    admission_statement_plan_ms: admitted.admissionPlanMs === null ? null : round3(admitted.admissionPlanMs),
    settlement_statement_plan_ms: admitted.settlementPlanMs === null ? null : round3(admitted.settlementPlanMs),
  };
}
