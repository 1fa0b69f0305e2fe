// The OpenAI-compatible route, streaming (`stream: true`, chunks ending with a usage chunk and [DONE]):
// our gateway (metered: token, admission statement, usage tap, settlement statement) against Portkey's
// gateway (unmetered, no database) proxying the same upstream route, plus the upstream direct, at
// c=1, 16, 64 in alternating rounds. Portkey drops unknown body fields, so the fake's short scenario
// (one delta, no delays) is set as its default for this phase rather than per request.
import { alternate, authHeaders, unsettledByEndpoint, waitForSettlement, warmUp, type BenchContext, type Contender } from '../context.ts';
import { request } from '../http.ts';
import { round3 } from '../load.ts';
import { BENCH_AGENT_ID } from '../seed.ts';
import { portkeyHeaders } from '../services.ts';
import type { ContenderTable } from './passthrough.ts';

export const OPENAI_PATH = '/api/agents/v1/chat/completions';

export function openAiBody(model = BENCH_AGENT_ID): string {
  return JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] });
}

export function openAiContenders(ctx: BenchContext): Contender[] {
  const bearer = { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' };
  const list: Contender[] = [
    { name: 'direct', load: { url: `${ctx.urls.direct}${OPENAI_PATH}`, method: 'POST', headers: bearer, body: openAiBody() }, process: 'fake' },
    { name: 'gateway', load: { url: `${ctx.urls.gateway}${OPENAI_PATH}`, method: 'POST', headers: authHeaders(ctx), body: openAiBody() }, process: 'gateway' },
  ];
  if (ctx.urls.portkey) {
    const headers = { ...bearer, ...portkeyHeaders(`${ctx.urls.direct}/api/agents/v1`) };
    list.push({ name: 'portkey', load: { url: `${ctx.urls.portkey}/v1/chat/completions`, method: 'POST', headers, body: openAiBody() }, process: 'portkey' });
  }
  return list;
}

/**
 * One streamed request through a contender, with a model id only this probe uses: the answer must be
 * 200 and carry the fake's chunks for that id, its usage chunk and [DONE], i.e. it reached the upstream.
 */
export async function probeOpenAi(contender: Contender): Promise<void> {
  const probeModel = `${BENCH_AGENT_ID}_probe_${Math.random().toString(36).slice(2, 8)}`;
  const { url, headers } = contender.load;
  const res = await request(url, { method: 'POST', headers: headers ?? {}, body: openAiBody(probeModel) });
  const ok = res.status === 200 && res.body.includes(probeModel) && res.body.includes('"prompt_tokens":812') && res.body.includes('[DONE]');
  if (!ok) throw new Error(`${contender.name} on the OpenAI route answered ${res.status}: ${res.body.slice(0, 300)}`);
}

export interface OpenAiResult {
  table: ContenderTable;
  keys: Record<string, unknown>;
}

export async function runOpenAi(ctx: BenchContext): Promise<OpenAiResult> {
  const contenders = openAiContenders(ctx);
  for (const contender of contenders) await probeOpenAi(contender);
  const before = await waitForSettlement(ctx);
  await warmUp(ctx, contenders, 16);
  const table: ContenderTable = {};
  for (const c of ctx.cfg.concurrencies) table[`c${c}`] = await alternate(ctx, contenders, c, 'openai route');
  const unsettled = (await waitForSettlement(ctx)) - before;
  const keys: Record<string, unknown> = {
    openai_route_p99_ms: round3(table.c16!.gateway!.p99),
    openai_route_p50_ms: round3(table.c16!.gateway!.p50),
    openai_route_rps_c16: Math.round(table.c16!.gateway!.rps),
    openai_route_cpu_us_per_req_c16: { gateway: table.c16!.gateway!.cpu_us_per_req, portkey: table.c16!.portkey?.cpu_us_per_req ?? null },
    // Holds left 'reserved' after the load stopped (autocannon cuts its connections mid-answer at the end).
    openai_route_unsettled: unsettled,
    ...(unsettled > 0 ? { openai_route_unsettled_by_endpoint: await unsettledByEndpoint(ctx) } : {}),
    openai_route_rps_ratio_vs_portkey: null,
    portkey_p99_ms: null,
  };
  if (ctx.urls.portkey) {
    const pk = table.c16!.portkey!;
    keys.openai_route_rps_ratio_vs_portkey = round3(table.c16!.gateway!.rps / pk.rps);
    keys.portkey_p99_ms = round3(pk.p99);
    keys.portkey_p50_ms = round3(pk.p50);
    keys.portkey_rps_c16 = Math.round(pk.rps);
    for (const c of ctx.cfg.concurrencies) {
      const row = table[`c${c}`]!;
      keys[`openai_route_rps_ratio_vs_portkey_c${c}`] = round3(row.gateway!.rps / row.portkey!.rps);
      keys[`openai_route_p99_ratio_vs_portkey_c${c}`] = round3(row.gateway!.p99 / row.portkey!.p99);
    }
  }
  return { table, keys };
}
