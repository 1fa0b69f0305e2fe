// Metered chat start at c=16: POST /api/agents/chat/openAI through the gateway (token check, body read,
// the one admission statement, forward, then in the background the gateway's own stream subscription
// and the settlement statement) against the gateway's pass-through route (GET /api/config), in
// alternating rounds. The same POST direct and through the bare proxy show what the upstream's chat
// start costs by itself. The fake's generation is one short delta, so settlement follows at once.
import { alternate, authHeaders, waitForSettlement, warmUp, type BenchContext, type Contender } from '../context.ts';
import { round3 } from '../load.ts';
import type { ContenderTable } from './passthrough.ts';
import { BENCH_METRICS_TOKEN } from '../services.ts';

/** A LibreChat-style chat start body (what its client sends for a new conversation). */
export function chatStartBody(fake: Record<string, unknown> = { deltas: ['hi'], frameIntervalMs: 0, startDelayMs: 0 }): string {
  return JSON.stringify({
    text: 'hi',
    sender: 'User',
    isCreatedByUser: true,
    parentMessageId: '00000000-0000-0000-0000-000000000000',
    conversationId: null,
    messageId: 'b5a2c6a4-0000-4000-8000-000000000001',
    endpoint: 'openAI',
    endpointType: 'openAI',
    model: 'gpt-4o',
    isContinued: false,
    __fake: fake,
  });
}

export function chatStartContender(ctx: BenchContext, name: string, base: string, process?: Contender['process']): Contender {
  return {
    name,
    load: { url: `${base}/api/agents/chat/openAI`, method: 'POST', headers: authHeaders(ctx), body: chatStartBody() },
    ...(process ? { process } : {}),
  };
}

/** Sum (s) and count of geko_admission_duration_seconds from the gateway's metrics; null if unreadable. */
async function admissionTotals(ctx: BenchContext): Promise<{ sum: number; count: number } | null> {
  try {
    const text = await (await fetch(`${ctx.urls.gateway}/_gateway/metrics`, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } })).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const sum = value('geko_admission_duration_seconds_sum');
    const count = value('geko_admission_duration_seconds_count');
    return Number.isFinite(sum) && Number.isFinite(count) ? { sum, count } : null;
  } catch {
    return null;
  }
}

export interface MeteredResult {
  table: ContenderTable;
  keys: Record<string, unknown>;
}

export async function runMetered(ctx: BenchContext): Promise<MeteredResult> {
  const contenders: Contender[] = [
    { name: 'gateway_passthrough', load: { url: `${ctx.urls.gateway}/api/config` }, process: 'gateway' },
    chatStartContender(ctx, 'gateway_chat_start', ctx.urls.gateway, 'gateway'),
    chatStartContender(ctx, 'direct_chat_start', ctx.urls.direct, 'fake'),
    chatStartContender(ctx, 'bare_proxy_chat_start', ctx.urls.bare, 'bare'),
  ];
  // The same two at a fixed offered load far below saturation: latency without queueing.
  const rate = ctx.cfg.fixedRate;
  const paced: Contender[] = [
    { ...contenders[0]!, name: `gateway_passthrough_${rate}rps`, load: { ...contenders[0]!.load, rate } },
    { ...contenders[1]!, name: `gateway_chat_start_${rate}rps`, load: { ...contenders[1]!.load, rate } },
    { ...contenders[2]!, name: `direct_chat_start_${rate}rps`, load: { ...contenders[2]!.load, rate } },
  ];
  await warmUp(ctx, contenders, 16);
  const before = await waitForSettlement(ctx);
  const row = await alternate(ctx, contenders, 16, 'metered');
  const admissionBefore = await admissionTotals(ctx);
  const pacedRow = await alternate(ctx, paced, 16, `metered ${rate} req/s`);
  const admissionAfter = await admissionTotals(ctx);
  Object.assign(row, pacedRow);
  // One request at a time: what a chat start adds over the bare http-proxy forwarding the same POST.
  const single = await alternate(ctx, [contenders[1]!, contenders[3]!], 1, 'metered c=1');
  const g1 = single.gateway_chat_start!;
  const bare1 = single.bare_proxy_chat_start!;
  const unsettled = (await waitForSettlement(ctx)) - before;
  const g = row.gateway_chat_start!;
  const pass = row.gateway_passthrough!;
  const gPaced = pacedRow[paced[1]!.name]!;
  const passPaced = pacedRow[paced[0]!.name]!;
  const directPaced = pacedRow[paced[2]!.name]!;
  return {
    table: { c1: single, c16: row },
    keys: {
      metered_added_p50_ms_c1: round3(g1.p50 - bare1.p50),
      metered_added_p99_ms_c1: round3(g1.p99 - bare1.p99),
      metered_added_c1_basis: 'gateway POST /api/agents/chat/openAI minus the bare http-proxy forwarding the same POST, c=1',
      // Chat start plus its settlement (counted until the gateway and PostgreSQL were idle again), c=16.
      metered_cpu_us_per_chat: { gateway: g.cpu_us_per_req, postgres: g.db_cpu_us_per_req, bare_proxy_forward: row.bare_proxy_chat_start!.cpu_us_per_req },
      metered_added_p50_ms: round3(g.p50 - pass.p50),
      metered_added_p99_ms: round3(g.p99 - pass.p99),
      metered_added_basis: 'gateway POST /api/agents/chat/openAI minus gateway GET /api/config, c=16',
      metered_added_p50_ms_vs_direct_chat_start: round3(g.p50 - row.direct_chat_start!.p50),
      metered_added_p99_ms_vs_direct_chat_start: round3(g.p99 - row.direct_chat_start!.p99),
      metered_added_p50_ms_vs_bare_proxy_chat_start: round3(g.p50 - row.bare_proxy_chat_start!.p50),
      metered_added_p50_ms_at_fixed_rate: round3(gPaced.p50 - passPaced.p50),
      metered_added_p99_ms_at_fixed_rate: round3(gPaced.p99 - passPaced.p99),
      metered_added_p50_ms_at_fixed_rate_vs_direct_chat_start: round3(gPaced.p50 - directPaced.p50),
      metered_added_p99_ms_at_fixed_rate_vs_direct_chat_start: round3(gPaced.p99 - directPaced.p99),
      // The gateway's own histogram: how much of the added time is the admission statement's round-trip.
      metered_admission_mean_ms_at_fixed_rate: admissionBefore && admissionAfter && admissionAfter.count > admissionBefore.count
        ? round3(((admissionAfter.sum - admissionBefore.sum) * 1000) / (admissionAfter.count - admissionBefore.count)) : null,
      metered_fixed_rate_basis: `the same two routes at ${rate} req/s offered (evenly spaced, up to 16 connections), below saturation`,
      metered_chat_start_rps_c16: Math.round(g.rps),
      metered_chat_start_p50_ms_c16: round3(g.p50),
      metered_chat_start_p99_ms_c16: round3(g.p99),
      metered_unsettled: unsettled,
      // Gateway CPU per chat start includes its background work for it (stream subscription, settlement).
      metered_cpu_us_per_req: { gateway_chat_start: g.cpu_us_per_req, gateway_passthrough: pass.cpu_us_per_req },
    },
  };
}
