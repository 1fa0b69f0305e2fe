// What the README's benchmark table says beside a target the latest run missed: what the profile shows and
// what was tried, with figures (issue 18's "done when"). The figures of the run itself are read from
// latest.json, so they never disagree with the row; the figures of levers tried are their before/after
// measurements, kept with the history in bench/README.md ("Where the misses are").
type Latest = Record<string, unknown>;

const obj = (latest: Latest, key: string): Record<string, unknown> | undefined =>
  (latest[key] !== null && typeof latest[key] === 'object' ? latest[key] as Record<string, unknown> : undefined);
const n = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const us = (value: unknown): string => (n(value) === undefined ? '?' : `${Math.round(n(value)!).toLocaleString('en-US')}`);

/** "JSON c=16: gateway 549 + PostgreSQL 559 µs vs Portkey 602" for one OpenAI-route cell. */
function openaiCell(latest: Latest, cell: string, label: string): string | undefined {
  const cpu = obj(obj(latest, 'openai_route_cpu_us_per_req_by_cell') ?? {}, cell);
  if (!cpu) return undefined;
  return `${label}: gateway ${us(cpu.gateway)} + PostgreSQL ${us(cpu.postgres)} µs vs Portkey ${us(cpu.portkey)}`;
}

const MISS_DETAIL = '[more](bench/README.md#where-the-misses-are-round-g)';

const openaiWhy = (latest: Latest): string => [
  [openaiCell(latest, 'json_c1', 'JSON c=1'), openaiCell(latest, 'json_c16', 'JSON c=16')].filter(Boolean).join('; ') + '.',
  'The gateway\'s own process is at or below Portkey; PostgreSQL\'s share is the contract\'s rows per chat (usage row, 2 audit',
  'rows, the quota row twice, 9 foreign-key checks, 2 commits). Tried: settlement batched and lingering 20 ms, compacted',
  `statements, the admission as one plpgsql function (round G: −26 to −41 % per chat). ${MISS_DETAIL}`,
].join(' ');

/** Keyed by the table's keys; called only for a row whose target the latest run missed. */
export const MISSES: Record<string, (latest: Latest) => string> = {
  passthrough_rps_ratio_vs_bare_proxy: (latest) => MISSES.passthrough_cpu_ratio_vs_bare!(latest),
  passthrough_cpu_ratio_vs_bare: (latest) => {
    const cpu = obj(latest, 'passthrough_cpu_us_per_req_c16') ?? {};
    return `${us(cpu.gateway)} vs ${us(cpu.bare_http_proxy)} µs per request. Profile: ~37 % of the gateway's time is the socket writes `
      + 'the bare proxy makes too, http-proxy\'s pass 15 %. Tried: log writes batched, log lines without pino, less work around '
      + `http-proxy (−15 % together). ${MISS_DETAIL}`;
  },
  metered_added_p50_ms_c1: () => 'The admission round trip (~0.5 ms of PostgreSQL CPU on the critical path) and the gateway\'s reading and '
    + `forwarding. Tried: the admission as one plpgsql function (round trip 648 → 488 µs), compacted statements. ${MISS_DETAIL}`,
  metered_added_p99_ms_c1: () => 'Everything shares 2 cores: the load generator, the upstream, PostgreSQL, and the previous chat\'s '
    + `settlement and subscription. ${MISS_DETAIL}`,
  openai_route_rps_ratio_vs_portkey: openaiWhy,
  openai_route_p99_ratio_vs_portkey: () => 'As the req/s row: the database work per chat that Portkey does not do.',
  openai_route_cpu_ratio_vs_portkey: (latest) => {
    const cells = obj(latest, 'openai_route_cpu_ratio_vs_portkey_by_cell') ?? {};
    const shown = ['json_c1', 'json_c16', 'sse_c1', 'sse_c16'].map((cell) => (n(cells[cell]) === undefined ? '?' : n(cells[cell])!.toFixed(2)));
    return `JSON c=1 / JSON c=16 / SSE c=1 / SSE c=16: ${shown.join(' / ')}. Where the CPU goes and what was tried: the req/s row.`;
  },
  rss_mb_1000_streams: () => '78 MB of it is live heap (snapshot); the rest is V8\'s reserved space, so the figure moves with when V8 '
    + `collects (189–221 MB in five runs alone). ${MISS_DETAIL}`,
  hot_row_admissions_per_s: (latest) => {
    const cpu = obj(latest, 'hot_row_cpu_us_per_chat') ?? {};
    return `CPU-bound, not lock-bound (≥ 0.9 of the spread load): gateway ${us(cpu.gateway)} + PostgreSQL ${us(cpu.postgres)} µs `
      + `per chat on 2 cores that also run the load and the upstream. Tried: the admission as one function (−19 % PostgreSQL CPU on one workspace). ${MISS_DETAIL}`;
  },
};
