// The hot-row limit: metered chat starts at c=64 all on ONE workspace (every admission and settlement
// updates the same workspace_quotas row, so they serialise on its row lock) against the same load
// spread round-robin over 100 workspaces, in alternating rounds. Admitted/s counts 2xx answers only.
import { alternate, waitForSettlement, warmUp, type BenchContext, type Contender } from '../context.ts';
import { round3 } from '../load.ts';
import { chatStartContender } from './metered.ts';
import type { ContenderTable } from './passthrough.ts';

export interface HotRowResult {
  table: ContenderTable;
  keys: Record<string, unknown>;
}

export async function runHotRow(ctx: BenchContext): Promise<HotRowResult> {
  const spread = ctx.seed.spreadWorkspaces;
  let next = 0;
  const spreadContender = chatStartContender(ctx, 'spread_100_workspaces', ctx.urls.gateway, 'gateway');
  spreadContender.load.rotateHeaders = () => ({ 'x-workspace-id': spread[next++ % spread.length]! });
  const contenders: Contender[] = [chatStartContender(ctx, 'one_workspace', ctx.urls.gateway, 'gateway'), spreadContender];
  await warmUp(ctx, contenders, 64);
  const before = await waitForSettlement(ctx);
  const row = await alternate(ctx, contenders, 64, 'hot row');
  const unsettled = (await waitForSettlement(ctx, 30_000)) - before;
  const one = row.one_workspace!;
  const many = row.spread_100_workspaces!;
  return {
    table: { c64: row },
    keys: {
      hot_row_admissions_per_s: Math.round(one.rps),
      hot_row_p50_ms: round3(one.p50),
      hot_row_p99_ms: round3(one.p99),
      hot_row_failed: one.failed,
      spread_admissions_per_s: Math.round(many.rps),
      spread_p50_ms: round3(many.p50),
      spread_p99_ms: round3(many.p99),
      spread_failed: many.failed,
      hot_row_ratio_vs_spread: round3(one.rps / many.rps),
      hot_row_unsettled: unsettled,
      hot_row_cpu_us_per_chat: { gateway: one.cpu_us_per_req, postgres: one.db_cpu_us_per_req },
      spread_cpu_us_per_chat: { gateway: many.cpu_us_per_req, postgres: many.db_cpu_us_per_req },
    },
  };
}
