// Metered chat start at c=16: POST /api/agents/chat/openAI through the gateway (token check, body read,
// the one admission statement, forward, then in the background the gateway's own stream subscription
// and the settlement statement) against the gateway's pass-through route (GET /api/config), in
// alternating rounds. The same POST direct and through the bare proxy show what the upstream's chat
// start costs by itself. The fake's generation is one short delta, so settlement follows at once.
import { alternate, authHeaders, waitForSettlement, warmUp, type BenchContext, type Contender } from '../context.ts';
import { round3 } from '../load.ts';
import type { ContenderTable } from './passthrough.ts';

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
  await warmUp(ctx, contenders, 16);
  const before = await waitForSettlement(ctx);
  const row = await alternate(ctx, contenders, 16, 'metered');
  const unsettled = (await waitForSettlement(ctx)) - before;
  const g = row.gateway_chat_start!;
  const pass = row.gateway_passthrough!;
  return {
    table: { c16: row },
    keys: {
      metered_added_p50_ms: round3(g.p50 - pass.p50),
      metered_added_p99_ms: round3(g.p99 - pass.p99),
      metered_added_basis: 'gateway POST /api/agents/chat/openAI minus gateway GET /api/config, c=16',
      metered_added_p50_ms_vs_direct_chat_start: round3(g.p50 - row.direct_chat_start!.p50),
      metered_added_p99_ms_vs_direct_chat_start: round3(g.p99 - row.direct_chat_start!.p99),
      metered_added_p50_ms_vs_bare_proxy_chat_start: round3(g.p50 - row.bare_proxy_chat_start!.p50),
      metered_chat_start_rps_c16: Math.round(g.rps),
      metered_chat_start_p50_ms_c16: round3(g.p50),
      metered_chat_start_p99_ms_c16: round3(g.p99),
      metered_unsettled: unsettled,
      // Gateway CPU per chat start includes its background work for it (stream subscription, settlement).
      metered_cpu_us_per_req: { gateway_chat_start: g.cpu_us_per_req, gateway_passthrough: pass.cpu_us_per_req },
    },
  };
}
