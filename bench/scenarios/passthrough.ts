// Small JSON pass-through: GET /api/config (LibreChat's public startup config) at concurrency 1, 16 and
// 64, direct to the upstream, through the bare http-proxy, through the same floor built on undici's client
// (bench/bare-undici.ts, the alternative measured side by side) and through the gateway, in alternating rounds.
// The headline ratio is the gateway's requests/s over the bare proxy's at c=16; the mean of the ratios
// over all concurrencies is reported beside it.
import { alternate, warmUp, type BenchContext, type Contender, type ContenderSummary } from '../context.ts';
import { round3 } from '../load.ts';

export type ContenderTable = Record<string, Record<string, ContenderSummary>>;

export interface PassthroughResult {
  table: ContenderTable;
  keys: Record<string, unknown>;
}

export function passthroughContenders(ctx: BenchContext): Contender[] {
  return [
    { name: 'direct', load: { url: `${ctx.urls.direct}/api/config` }, process: 'fake' },
    { name: 'bare_http_proxy', load: { url: `${ctx.urls.bare}/api/config` }, process: 'bare' },
    { name: 'bare_undici', load: { url: `${ctx.urls.bareUndici}/api/config` }, process: 'bareUndici' },
    { name: 'gateway', load: { url: `${ctx.urls.gateway}/api/config` }, process: 'gateway' },
  ];
}

export async function runPassthrough(ctx: BenchContext): Promise<PassthroughResult> {
  const contenders = passthroughContenders(ctx);
  await warmUp(ctx, contenders, 16);
  const table: ContenderTable = {};
  for (const c of ctx.cfg.concurrencies) table[`c${c}`] = await alternate(ctx, contenders, c, 'small JSON');
  const ratio = (c: number) => table[`c${c}`]!.gateway!.rps / table[`c${c}`]!.bare_http_proxy!.rps;
  const ratios = ctx.cfg.concurrencies.map(ratio);
  const keys: Record<string, unknown> = {
    passthrough_rps_ratio_vs_bare_proxy: round3(ratio(16)),
    passthrough_rps_ratio_vs_bare_proxy_basis: 'gateway req/s / bare http-proxy req/s at c=16',
    passthrough_rps_ratio_vs_bare_proxy_mean_over_c: round3(ratios.reduce((a, b) => a + b, 0) / ratios.length),
    passthrough_rps_ratio_vs_direct_c16: round3(table.c16!.gateway!.rps / table.c16!.direct!.rps),
    // CPU time each proxy process spent per request at c=16 (its own cost, whatever the scheduling noise).
    passthrough_cpu_us_per_req_c16: {
      gateway: table.c16!.gateway!.cpu_us_per_req, bare_http_proxy: table.c16!.bare_http_proxy!.cpu_us_per_req, bare_undici: table.c16!.bare_undici!.cpu_us_per_req,
    },
    passthrough_cpu_ratio_vs_bare: table.c16!.gateway!.cpu_us_per_req && table.c16!.bare_http_proxy!.cpu_us_per_req
      ? round3(table.c16!.gateway!.cpu_us_per_req / table.c16!.bare_http_proxy!.cpu_us_per_req) : null,
    // The alternative the issue asks to measure when http-proxy is the limit: the same floor on undici's client.
    bare_undici_rps_ratio_vs_bare_proxy: round3(table.c16!.bare_undici!.rps / table.c16!.bare_http_proxy!.rps),
    bare_undici_rps_ratio_vs_bare_proxy_by_c: Object.fromEntries(ctx.cfg.concurrencies.map((c) => [`c${c}`, round3(table[`c${c}`]!.bare_undici!.rps / table[`c${c}`]!.bare_http_proxy!.rps)])),
    passthrough_rps_ratio_vs_bare_undici: round3(table.c16!.gateway!.rps / table.c16!.bare_undici!.rps),
  };
  for (const c of ctx.cfg.concurrencies) {
    const row = table[`c${c}`]!;
    keys[`passthrough_added_p50_ms_vs_direct_c${c}`] = round3(row.gateway!.p50 - row.direct!.p50);
    keys[`passthrough_added_p99_ms_vs_direct_c${c}`] = round3(row.gateway!.p99 - row.direct!.p99);
    keys[`passthrough_added_p50_ms_vs_bare_c${c}`] = round3(row.gateway!.p50 - row.bare_http_proxy!.p50);
  }
  return { table, keys };
}

/** The compact per-contender figures that go into latest.json. */
export function tableJson(table: ContenderTable): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [conc, row] of Object.entries(table)) {
    for (const [name, s] of Object.entries(row)) {
      out[name] ??= {};
      out[name][conc] = {
        rps: Math.round(s.rps), p50_ms: round3(s.p50), p99_ms: round3(s.p99), mean_ms: round3(s.mean),
        ok: s.ok, failed: s.failed, rounds_rps: s.rounds_rps, rounds_cpu_us: s.rounds_cpu_us, cpu_us_per_req: s.cpu_us_per_req, db_cpu_us_per_req: s.db_cpu_us_per_req,
      };
    }
  }
  return out;
}
