// The quota row's own capacity: the gateway's admission and settlement statements (src/admission,
// src/metering), driven straight from the bench through a postgres.js pool the size of the gateway's,
// 64 chats in flight, all on ONE workspace against the same spread over 100 workspaces, in alternating
// rounds. With no HTTP, no upstream and no gateway process sharing the two cores, this is the limit the
// single workspace_quotas row puts on one workspace; the hot_row scenario is the same load end to end.
import { randomUUID } from 'node:crypto';
import { admitChatStatement } from '../../src/admission/statement.ts';
import { createSql, type Sql } from '../../src/db/sql.ts';
import { settleUsage } from '../../src/metering/settle.ts';
import { markInstanceStopped, registerInstance } from '../../src/metering/sweeper.ts';
import type { BenchContext } from '../context.ts';
import { round3 } from '../load.ts';
import { readCpuSecondsTree } from '../processes.ts';

const IN_FLIGHT = 64;

interface RowRun {
  chats: number;
  seconds: number;
  dbCpuSeconds: number;
}

async function oneChat(sql: Sql, ctx: BenchContext, workspaceId: string, instanceId: string): Promise<void> {
  const usageId = randomUUID();
  const [row] = await admitChatStatement(sql, {
    who: { tenantClaimed: false, tenantId: null, userId: null, email: ctx.seed.email, host: '127.0.0.1', workspaceGiven: true, workspaceId },
    req: { requestId: randomUUID(), endpoint: 'agents', model: 'gpt-4o', ipAddress: '127.0.0.1', userAgent: 'geko-bench' },
    slots: [['gpt-4o']], promptTokens: 3, bodyOutputCap: null, usageId, instanceId,
  });
  if (row?.code) throw new Error(`admission refused: ${row.code}`);
  const settled = await settleUsage(sql, {
    usageId, outcome: 'completed',
    usage: { promptTokens: 3, completionTokens: 1, totalTokens: 4, source: 'on_token_usage', perModel: {} },
  });
  if (!settled) throw new Error('settlement found its hold already closed');
}

async function runFor(sql: Sql, ctx: BenchContext, workspaceFor: (i: number) => string, instanceId: string): Promise<RowRun> {
  const cpuBefore = readCpuSecondsTree(ctx.postgresPid) ?? 0;
  const started = performance.now();
  const deadline = started + ctx.cfg.seconds * 1000;
  let chats = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async (_, worker) => {
    for (let i = worker; performance.now() < deadline; i += IN_FLIGHT) {
      await oneChat(sql, ctx, workspaceFor(i), instanceId);
      chats += 1;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  return { chats, seconds, dbCpuSeconds: Math.max(0, (readCpuSecondsTree(ctx.postgresPid) ?? cpuBefore) - cpuBefore) };
}

export async function runQuotaRow(ctx: BenchContext): Promise<Record<string, unknown>> {
  const sql = createSql({ url: ctx.databaseUrl, max: ctx.cfg.dbPoolMax, prepare: true, connectTimeoutMs: 10_000 });
  // A live instance, so the gateway's sweeper does not take these holds for a dead process's.
  const instanceId = randomUUID();
  await registerInstance(sql, instanceId);
  const spread = ctx.seed.spreadWorkspaces;
  const modes: Record<string, (i: number) => string> = {
    one_workspace: () => ctx.seed.mainWorkspace,
    spread_100_workspaces: (i) => spread[i % spread.length]!,
  };
  const runs: Record<string, RowRun[]> = { one_workspace: [], spread_100_workspaces: [] };
  try {
    for (const mode of Object.keys(modes)) await runFor(sql, { ...ctx, cfg: { ...ctx.cfg, seconds: ctx.cfg.warmupSeconds } }, modes[mode]!, instanceId);
    for (let round = 0; round < ctx.cfg.rounds; round += 1) {
      const order = round % 2 === 0 ? Object.keys(modes) : Object.keys(modes).reverse();
      for (const mode of order) {
        await registerInstance(sql, instanceId); // heartbeat
        const run = await runFor(sql, ctx, modes[mode]!, instanceId);
        runs[mode]!.push(run);
        ctx.log(`  quota row round ${round + 1} ${mode}: ${(run.chats / run.seconds).toFixed(0)} admissions+settlements/s`);
      }
    }
  } finally {
    await markInstanceStopped(sql, instanceId).catch(() => undefined);
    await sql.end({ timeout: 5 });
  }
  const rate = (mode: string) => {
    const all = runs[mode]!;
    return all.reduce((n, r) => n + r.chats, 0) / all.reduce((n, r) => n + r.seconds, 0);
  };
  const dbUs = (mode: string) => {
    const all = runs[mode]!;
    return Math.round((all.reduce((n, r) => n + r.dbCpuSeconds, 0) * 1e6) / all.reduce((n, r) => n + r.chats, 0));
  };
  return {
    quota_row_admissions_per_s: Math.round(rate('one_workspace')),
    quota_row_spread_admissions_per_s: Math.round(rate('spread_100_workspaces')),
    quota_row_vs_spread_ratio: round3(rate('one_workspace') / rate('spread_100_workspaces')),
    quota_row_db_cpu_us_per_chat: dbUs('one_workspace'),
    quota_row_spread_db_cpu_us_per_chat: dbUs('spread_100_workspaces'),
    quota_row_basis: `admission + settlement statement per chat, ${IN_FLIGHT} in flight, pool of ${ctx.cfg.dbPoolMax}, driven from the bench (no HTTP)`,
  };
}
