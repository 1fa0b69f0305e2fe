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

const MISS_DETAIL = 'details: [bench/README.md](bench/README.md#where-the-misses-are-round-g)';

const openaiWhy = (latest: Latest): string => [
  [openaiCell(latest, 'json_c1', 'JSON c=1'), openaiCell(latest, 'json_c16', 'JSON c=16')].filter(Boolean).join('; ') + '.',
  'The gateway\'s own process is at or below Portkey in every cell; PostgreSQL\'s share is the contract\'s per-chat work',
  '(admission: 5 lookups, the quota row, a usage row and an audit row; settlement: the usage row, the quota row, an audit',
  'row; 9 foreign-key checks, 2 commits), alone 0.5-0.9 of Portkey\'s whole bill. Tried: settlement in batches (-10 %),',
  'compacted statement text and narrower CTEs (-7 to -9 % PostgreSQL per admission), `geko_take_quota` on a busy',
  `workspace (-24 %); batched admission not built (its ceiling is the ~30 % of set-up per statement, none at c=1). ${MISS_DETAIL}`,
].join(' ');

/** Keyed by the table's keys; called only for a row whose target the latest run missed. */
export const MISSES: Record<string, (latest: Latest) => string> = {
  passthrough_rps_ratio_vs_bare_proxy: (latest) => MISSES.passthrough_cpu_ratio_vs_bare!(latest),
  passthrough_cpu_ratio_vs_bare: (latest) => {
    const cpu = obj(latest, 'passthrough_cpu_us_per_req_c16') ?? {};
    return `${us(cpu.gateway)} vs ${us(cpu.bare_http_proxy)} µs per request. Profile: ~40 % of the gateway's busy time is the socket `
      + 'writes the bare proxy makes too, http-proxy\'s pass ~17 %, the request log line 6-8 %. Tried: log writes batched (-7 %), '
      + `the log line without pino's redaction (-7 %). ${MISS_DETAIL}`;
  },
  metered_added_p50_ms_c1: (latest) => `The admission round trip is most of it (the statement's mean: ${n(latest.admission_statement_mean_ms) ?? '?'} ms `
    + 'at 200 req/s); the gateway\'s own work before and after it is the rest. Tried: compacted statement text and narrower CTEs '
    + `(-7 to -9 % PostgreSQL CPU per admission at c=1). ${MISS_DETAIL}`,
  metered_added_p99_ms_c1: () => 'The tail is PostgreSQL, the gateway, the load generator and the upstream on the same 2 cores, and the '
    + `previous chat's settlement running beside the next admission. ${MISS_DETAIL}`,
  openai_route_rps_ratio_vs_portkey: openaiWhy,
  openai_route_p99_ratio_vs_portkey: openaiWhy,
  openai_route_cpu_ratio_vs_portkey: openaiWhy,
  rss_mb_1000_streams: () => 'Measured alone five times: 189-221 MB, when V8 collects decides where the figure lands; the live heap '
    + `with 1,000 streams is ~78 MB (heap snapshot), the rest is V8's reserved young and old space. ${MISS_DETAIL}`,
  hot_row_admissions_per_s: (latest) => {
    const cpu = obj(latest, 'hot_row_cpu_us_per_chat') ?? {};
    return `CPU-bound, not lock-bound (one workspace is ≥ 0.9 of the spread load): gateway ${us(cpu.gateway)} + PostgreSQL `
      + `${us(cpu.postgres)} µs per chat on 2 cores that also run the load and the upstream. Tried: \`geko_take_quota\` `
      + `(-24 % PostgreSQL CPU per admission with 16 in flight on one workspace). ${MISS_DETAIL}`;
  },
};
