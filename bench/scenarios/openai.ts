// The OpenAI-compatible route in both of its answer forms, JSON (`stream: false`) and SSE (`stream: true`,
// chunks ending with a usage chunk and [DONE]): our gateway (metered: token, admission statement, usage
// tap, settlement statement) against Portkey's gateway (unmetered, no database) proxying the same
// upstream route, plus the upstream direct, at c=1 and 16, all six in one alternating loop per
// concurrency. Portkey drops unknown body fields, so the fake's short scenario (one delta, no delays) is
// set as its default for this phase rather than per request. The CPU ratio compares the gateway plus
// PostgreSQL per metered request with Portkey's own CPU per unmetered request.
import { alternate, authHeaders, unsettledByEndpoint, waitForSettlement, warmUp, type BenchContext, type Contender } from '../context.ts';
import { request } from '../http.ts';
import { round3 } from '../load.ts';
import { BENCH_AGENT_ID } from '../seed.ts';
import { portkeyHeaders } from '../services.ts';
import type { ContenderTable } from './passthrough.ts';

export const OPENAI_PATH = '/api/agents/v1/chat/completions';

export type OpenAiMode = 'json' | 'sse';
export const OPENAI_MODES: OpenAiMode[] = ['json', 'sse'];
export const OPENAI_CONCURRENCIES = [1, 16];

export function openAiBody(model = BENCH_AGENT_ID, mode: OpenAiMode = 'sse'): string {
  return JSON.stringify({ model, stream: mode === 'sse', messages: [{ role: 'user', content: 'hi' }] });
}

/** direct, gateway and (when it runs) portkey, each named `<name>_<mode>`. */
export function openAiContenders(ctx: BenchContext, mode: OpenAiMode = 'sse'): Contender[] {
  const bearer = { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' };
  const body = openAiBody(BENCH_AGENT_ID, mode);
  const list: Contender[] = [
    { name: `direct_${mode}`, load: { url: `${ctx.urls.direct}${OPENAI_PATH}`, method: 'POST', headers: bearer, body }, process: 'fake' },
    { name: `gateway_${mode}`, load: { url: `${ctx.urls.gateway}${OPENAI_PATH}`, method: 'POST', headers: authHeaders(ctx), body }, process: 'gateway' },
  ];
  if (ctx.urls.portkey) {
    const headers = { ...bearer, ...portkeyHeaders(`${ctx.urls.direct}/api/agents/v1`) };
    list.push({ name: `portkey_${mode}`, load: { url: `${ctx.urls.portkey}/v1/chat/completions`, method: 'POST', headers, body }, process: 'portkey' });
  }
  return list;
}

/**
 * One streamed request through a contender, with a model id only this probe uses: the answer must be
 * 200 and carry the fake's chunks for that id, its usage chunk and [DONE], i.e. it reached the upstream.
 */
export async function probeOpenAi(contender: Contender, mode: OpenAiMode = 'sse'): Promise<void> {
  const probeModel = `${BENCH_AGENT_ID}_probe_${Math.random().toString(36).slice(2, 8)}`;
  const { url, headers } = contender.load;
  const res = await request(url, { method: 'POST', headers: headers ?? {}, body: openAiBody(probeModel, mode) });
  const ended = mode === 'sse' ? res.body.includes('[DONE]') : res.body.includes('"chat.completion"');
  const ok = res.status === 200 && res.body.includes(probeModel) && res.body.includes('"prompt_tokens":812') && ended;
  if (!ok) throw new Error(`${contender.name} on the OpenAI route answered ${res.status}: ${res.body.slice(0, 300)}`);
}

export interface OpenAiResult {
  table: ContenderTable;
  keys: Record<string, unknown>;
}

type Cell = `${OpenAiMode}_c${number}`;

/** Per cell (mode × concurrency): the gateway's figures over Portkey's, and each contender's CPU per request. */
function cellFigures(table: ContenderTable, mode: OpenAiMode, c: number) {
  const row = table[`c${c}`]!;
  const g = row[`gateway_${mode}`]!;
  const pk = row[`portkey_${mode}`];
  const gatewayCpu = g.cpu_us_per_req === null || g.db_cpu_us_per_req === null ? null : g.cpu_us_per_req + g.db_cpu_us_per_req;
  return {
    gatewayP99: round3(g.p99),
    portkeyP99: pk ? round3(pk.p99) : null,
    rpsRatio: pk ? round3(g.rps / pk.rps) : null,
    p99Ratio: pk ? round3(g.p99 / pk.p99) : null,
    cpuRatio: pk && gatewayCpu !== null && pk.cpu_us_per_req ? round3(gatewayCpu / pk.cpu_us_per_req) : null,
    cpu: { gateway: g.cpu_us_per_req, postgres: g.db_cpu_us_per_req, portkey: pk?.cpu_us_per_req ?? null, direct_upstream: row[`direct_${mode}`]?.cpu_us_per_req ?? null },
  };
}

const worst = (values: (number | null)[], pick: 'min' | 'max'): number | null =>
  values.some((v) => v === null) || values.length === 0 ? null : (pick === 'min' ? Math.min : Math.max)(...(values as number[]));

export async function runOpenAi(ctx: BenchContext): Promise<OpenAiResult> {
  const contenders = OPENAI_MODES.flatMap((mode) => openAiContenders(ctx, mode));
  for (const mode of OPENAI_MODES) for (const contender of openAiContenders(ctx, mode)) await probeOpenAi(contender, mode);
  const before = await waitForSettlement(ctx);
  await warmUp(ctx, contenders, 16);
  const table: ContenderTable = {};
  for (const c of OPENAI_CONCURRENCIES) table[`c${c}`] = await alternate(ctx, contenders, c, 'openai route');
  const unsettled = (await waitForSettlement(ctx)) - before;
  const cells = Object.fromEntries(OPENAI_MODES.flatMap((mode) => OPENAI_CONCURRENCIES.map((c) => [`${mode}_c${c}` as Cell, cellFigures(table, mode, c)])));
  const by = <K extends keyof ReturnType<typeof cellFigures>>(key: K) => Object.fromEntries(Object.entries(cells).map(([cell, f]) => [cell, f[key]]));
  const all = <K extends 'rpsRatio' | 'p99Ratio' | 'cpuRatio'>(key: K) => Object.values(cells).map((f) => f[key]);
  const keys: Record<string, unknown> = {
    // Worst cell of JSON/SSE × c=1/16 (the targets hold in every cell or not at all).
    openai_route_rps_ratio_vs_portkey: ctx.urls.portkey ? worst(all('rpsRatio'), 'min') : null,
    openai_route_p99_ratio_vs_portkey: ctx.urls.portkey ? worst(all('p99Ratio'), 'max') : null,
    openai_route_cpu_ratio_vs_portkey: ctx.urls.portkey ? worst(all('cpuRatio'), 'max') : null,
    openai_route_cpu_ratio_basis: '(gateway + PostgreSQL CPU per metered request) / Portkey CPU per unmetered request, from /proc, each round until idle again',
    openai_route_rps_ratio_vs_portkey_by_cell: by('rpsRatio'),
    openai_route_p99_ratio_vs_portkey_by_cell: by('p99Ratio'),
    openai_route_cpu_ratio_vs_portkey_by_cell: by('cpuRatio'),
    openai_route_cpu_us_per_req_by_cell: by('cpu'),
    // The headline latencies are the c=16 JSON cell; every cell is in …_by_cell.
    openai_route_p99_ms: cells.json_c16!.gatewayP99,
    portkey_p99_ms: cells.json_c16!.portkeyP99,
    openai_route_p99_ms_by_cell: by('gatewayP99'),
    portkey_p99_ms_by_cell: by('portkeyP99'),
    // Holds left 'reserved' after the load stopped (autocannon cuts its connections mid-answer at the end).
    openai_route_unsettled: unsettled,
    ...(unsettled > 0 ? { openai_route_unsettled_by_endpoint: await unsettledByEndpoint(ctx) } : {}),
  };
  return { table, keys };
}
