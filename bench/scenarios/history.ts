// Admission and settlement cost against history: with audit_logs and chat_usage emptied (TRUNCATE),
// metered chat starts at c=1 (each admitted, streamed and settled by the gateway) alternate with the
// pass-through route as a control; then 10M audit rows and 1M usage rows are seeded and the same is
// measured again; then the tables are emptied once more and measured a third time. The ratio compares
// the large phase with the mean of the two empty ones, which brackets it in time, so warm-up and drift
// (a c=1 p50 of ~2.5 ms moves by ±15% between identical phases here) do not pass for history cost.
// pg_stat_statements gives each phase's mean execution time of the admission and settlement statements.
import { alternate, waitForSettlement, warmUp, type BenchContext, type Contender } from '../context.ts';
import { round3 } from '../load.ts';
import { seedHistory } from '../seed-history.ts';
import { chatStartContender } from './metered.ts';
import { countStatements, resetStatements } from './sql-count.ts';

interface Phase {
  chatP50: number;
  chatP99: number;
  controlP50: number;
  admissionMeanMs: number | null;
  settlementMeanMs: number | null;
  admissionPlanMs: number | null;
}

async function measure(ctx: BenchContext, label: string): Promise<Phase> {
  const contenders: Contender[] = [
    chatStartContender(ctx, 'chat_start', ctx.urls.gateway, 'gateway'),
    { name: 'passthrough', load: { url: `${ctx.urls.gateway}/api/config` }, process: 'gateway' },
  ];
  await warmUp(ctx, contenders, 4); // the c=1 figures are sensitive to a JIT that is not warm yet
  await warmUp(ctx, contenders, 1);
  await waitForSettlement(ctx);
  await resetStatements(ctx);
  const row = await alternate(ctx, contenders, 1, label);
  await waitForSettlement(ctx);
  const statements = await countStatements(ctx);
  return {
    chatP50: row.chat_start!.p50,
    chatP99: row.chat_start!.p99,
    controlP50: row.passthrough!.p50,
    admissionMeanMs: statements.admissionMeanMs,
    settlementMeanMs: statements.settlementMeanMs,
    admissionPlanMs: statements.admissionPlanMs,
  };
}

const r3 = (value: number | null) => (value === null ? null : round3(value));
const mean = (a: number | null, b: number | null) => (a === null || b === null ? null : (a + b) / 2);

async function emptyTables(ctx: BenchContext): Promise<void> {
  await waitForSettlement(ctx);
  await ctx.sql`TRUNCATE audit_logs, chat_usage`;
  // The truncated tables are left un-analyzed, as a fresh install's are: analyzed while empty, the planner
  // would trust "0 pages" and keep a cached seq-scan plan for settlement's UPDATE as the table fills.
  await ctx.sql`VACUUM ANALYZE workspace_quotas, workspace_config, workspace_members, workspaces, users, tenants`.simple();
}

export async function runHistory(ctx: BenchContext): Promise<Record<string, unknown>> {
  await emptyTables(ctx);
  const before = await measure(ctx, 'history empty');
  const t0 = Date.now();
  await seedHistory(ctx.sql, ctx.seed, { audit: ctx.cfg.historyAuditRows, usage: ctx.cfg.historyUsageRows }, ctx.log);
  const seedSeconds = (Date.now() - t0) / 1000;
  const [sizes] = await ctx.sql<{ audit: string; usage: string }[]>`
    SELECT pg_size_pretty(pg_total_relation_size('audit_logs')) AS audit, pg_size_pretty(pg_total_relation_size('chat_usage')) AS usage`;
  const large = await measure(ctx, 'history large');
  await emptyTables(ctx);
  const after = await measure(ctx, 'history empty again');
  const emptyP50 = (before.chatP50 + after.chatP50) / 2;
  return {
    admission_p50_ratio_large_vs_empty: round3(large.chatP50 / emptyP50),
    admission_p50_ms_empty: round3(emptyP50),
    admission_p50_ms_large: round3(large.chatP50),
    admission_p50_ms_phases: { empty_before: round3(before.chatP50), large: round3(large.chatP50), empty_after: round3(after.chatP50) },
    admission_p99_ms_phases: { empty_before: round3(before.chatP99), large: round3(large.chatP99), empty_after: round3(after.chatP99) },
    admission_basis: 'gateway chat start (POST /api/agents/chat/openAI) p50 at c=1; empty = mean of the phases before and after the large one',
    history_control_passthrough_p50_ms: { empty_before: round3(before.controlP50), large: round3(large.controlP50), empty_after: round3(after.controlP50) },
    admission_statement_mean_ms_empty: r3(mean(before.admissionMeanMs, after.admissionMeanMs)),
    admission_statement_mean_ms_large: r3(large.admissionMeanMs),
    settlement_statement_mean_ms_empty: r3(mean(before.settlementMeanMs, after.settlementMeanMs)),
    settlement_statement_mean_ms_large: r3(large.settlementMeanMs),
    admission_statement_plan_ms_empty: r3(mean(before.admissionPlanMs, after.admissionPlanMs)),
    admission_statement_plan_ms_large: r3(large.admissionPlanMs),
    history_rows: { audit_logs: ctx.cfg.historyAuditRows, chat_usage: ctx.cfg.historyUsageRows },
    history_table_sizes: sizes ?? null,
    history_seed_seconds: Math.round(seedSeconds),
  };
}
