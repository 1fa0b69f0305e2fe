// Output: the machine description, issue 18's targets checked against the figures, and the readable
// table printed on stdout (every contender's req/s, p50 and p99 per route and concurrency, the CPU time
// its serving process and PostgreSQL spent per request, then the headline figures and the targets).
import os from 'node:os';
import type { ContenderTable } from './scenarios/passthrough.ts';

export interface Machine {
  cores: number;
  memory_gb: number;
  node: string;
  cpu: string;
  os: string;
  loadavg_at_start: number[];
}

export function describeMachine(): Machine {
  return {
    cores: os.cpus().length,
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg_at_start: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export interface TargetCheck {
  target: string;
  value: unknown;
  holds: boolean | null;
}

type Keys = Record<string, unknown>;
const num = (keys: Keys, name: string): number | null => (typeof keys[name] === 'number' ? (keys[name] as number) : null);

function check(target: string, value: unknown, test: (() => boolean) | null): TargetCheck {
  return { target, value, holds: test === null ? null : test() };
}

/** Issue 18's targets. `holds` is null when the figure is missing (its scenario failed or was skipped). */
export function checkTargets(keys: Keys): Record<string, TargetCheck> {
  const n = (name: string) => num(keys, name);
  const at = (name: string, target: string, test: (v: number) => boolean) => {
    const value = n(name);
    return check(target, keys[name] ?? null, value === null ? null : () => test(value));
  };
  return {
    openai_cpu: at('openai_route_cpu_ratio_vs_portkey', 'gateway+PG CPU per metered req <= Portkey per req, every cell', (v) => v <= 1),
    openai_rps: at('openai_route_rps_ratio_vs_portkey', '>= 1x Portkey req/s, every cell (JSON/SSE, c=1/16)', (v) => v >= 1),
    openai_p99: at('openai_route_p99_ratio_vs_portkey', '<= 1x Portkey p99, every cell', (v) => v <= 1),
    metered_p50_c1: at('metered_added_p50_ms_c1', 'chat start adds < 1 ms p50 over bare http-proxy (c=1)', (v) => v < 1),
    metered_p99_c1: at('metered_added_p99_ms_c1', 'chat start adds < 3 ms p99 over bare http-proxy (c=1)', (v) => v < 3),
    hot_row: at('hot_row_admissions_per_s', '>= 1,500 admissions/s on one workspace, c=64', (v) => v >= 1500),
    hot_row_ratio: at('hot_row_ratio_vs_spread', '>= 0.9 of the same load over 100 workspaces', (v) => v >= 0.9),
    passthrough_cpu: at('passthrough_cpu_ratio_vs_bare', 'pass-through CPU per req <= 1.2x bare http-proxy (c=16)', (v) => v <= 1.2),
    passthrough_rps: at('passthrough_rps_ratio_vs_bare_proxy', 'pass-through req/s >= 0.9x bare http-proxy (c=16)', (v) => v >= 0.9),
    sql_admission: at('sql_admission_statements_per_chat', 'exactly 1 admission statement per chat', (v) => v === 1),
    // Settlements that end together share one statement (src/metering/settle-batcher.ts): at most 1 each.
    sql_settlement: at('sql_settlement_statements_per_chat', 'at most 1 settlement statement per chat', (v) => v <= 1),
    sql_total: at('sql_statements_per_admitted_chat', 'at most 2 statements per admitted chat in all', (v) => v <= 2),
    sql_denied: at('sql_statements_per_denied', '1 statement per denied request', (v) => v === 1),
    sse: at('sse_first_frame_delta_ms', 'time to first frame within 1 ms of direct', (v) => v <= 1),
    rss: at('rss_mb_1000_streams', '1,000 streams under 200 MB RSS', (v) => v < 200),
    history: at('admission_p50_ratio_large_vs_empty', 'admission p50 with 10M audit rows within 10% of empty', (v) => v <= 1.1),
  };
}

const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padL = (text: string, width: number) => (text.length >= width ? text : ' '.repeat(width - text.length) + text);
const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(value >= 100 ? 0 : 2) : '-');

export function formatTable(title: string, table: ContenderTable): string {
  const lines = [`\n${title}`, `  ${pad('contender', 26)}${padL('conns', 6)}${padL('req/s', 10)}${padL('p50 ms', 10)}${padL('p99 ms', 10)}${padL('failed', 8)}${padL('cpu us/req', 12)}${padL('db us/req', 11)}`];
  const names = [...new Set(Object.values(table).flatMap((row) => Object.keys(row)))];
  for (const name of names) {
    for (const [conc, row] of Object.entries(table)) {
      const s = row[name];
      if (!s) continue;
      const cpu = s.cpu_us_per_req === null ? '-' : String(s.cpu_us_per_req);
      const db = s.db_cpu_us_per_req === null ? '-' : String(s.db_cpu_us_per_req);
      lines.push(`  ${pad(name, 26)}${padL(conc.slice(1), 6)}${padL(s.rps.toFixed(0), 10)}${padL(ms(s.p50), 10)}${padL(ms(s.p99), 10)}${padL(String(s.failed), 8)}${padL(cpu, 12)}${padL(db, 11)}`);
    }
  }
  return lines.join('\n');
}

export function formatTargets(targets: Record<string, TargetCheck>): string {
  const lines = ['\nIssue 18 targets'];
  for (const [name, t] of Object.entries(targets)) {
    const verdict = t.holds === null ? 'n/a ' : t.holds ? 'HOLDS' : 'MISSES';
    lines.push(`  ${pad(verdict, 7)} ${pad(name, 16)} ${pad(t.target, 62)} ${JSON.stringify(t.value)}`);
  }
  return lines.join('\n');
}

export function formatKeys(keys: Keys, names: string[]): string {
  const lines = ['\nKey figures'];
  for (const name of names) lines.push(`  ${pad(name, 44)} ${JSON.stringify(keys[name] ?? null)}`);
  return lines.join('\n');
}
