// Output: the machine description, issue 6's targets checked against the figures, and the readable
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

/** Issue 6's targets. `holds` is null when the figure is missing (its scenario failed or was skipped). */
export function checkTargets(keys: Keys, concurrencies: number[]): Record<string, TargetCheck> {
  const n = (name: string) => num(keys, name);
  const when = (names: string[], test: () => boolean) => (names.every((name) => n(name) !== null) ? test : null);
  const perC = (prefix: string) => concurrencies.map((c) => `${prefix}_c${c}`);
  return {
    passthrough: check('>= 0.9 of bare http-proxy req/s', n('passthrough_rps_ratio_vs_bare_proxy'),
      when(['passthrough_rps_ratio_vs_bare_proxy'], () => n('passthrough_rps_ratio_vs_bare_proxy')! >= 0.9)),
    metered_p50: check('added p50 < 1 ms (c=16)', n('metered_added_p50_ms'), when(['metered_added_p50_ms'], () => n('metered_added_p50_ms')! < 1)),
    metered_p99: check('added p99 < 5 ms (c=16)', n('metered_added_p99_ms'), when(['metered_added_p99_ms'], () => n('metered_added_p99_ms')! < 5)),
    metered_p50_paced: check('same, at a fixed rate below saturation: p50 < 1 ms', n('metered_added_p50_ms_at_fixed_rate'),
      when(['metered_added_p50_ms_at_fixed_rate'], () => n('metered_added_p50_ms_at_fixed_rate')! < 1)),
    metered_p99_paced: check('same, at a fixed rate below saturation: p99 < 5 ms', n('metered_added_p99_ms_at_fixed_rate'),
      when(['metered_added_p99_ms_at_fixed_rate'], () => n('metered_added_p99_ms_at_fixed_rate')! < 5)),
    sql_admission: check('exactly 1 admission statement per chat', n('sql_admission_statements_per_chat'),
      when(['sql_admission_statements_per_chat'], () => n('sql_admission_statements_per_chat') === 1)),
    sql_settlement: check('exactly 1 settlement statement per chat', n('sql_settlement_statements_per_chat'),
      when(['sql_settlement_statements_per_chat'], () => n('sql_settlement_statements_per_chat') === 1)),
    sql_total: check('2 statements per admitted chat in all', n('sql_statements_per_admitted_chat'),
      when(['sql_statements_per_admitted_chat'], () => n('sql_statements_per_admitted_chat') === 2)),
    sql_denied: check('1 statement per denied request', n('sql_statements_per_denied'), when(['sql_statements_per_denied'], () => n('sql_statements_per_denied') === 1)),
    sse: check('time to first frame within 1 ms of direct', n('sse_first_frame_delta_ms'), when(['sse_first_frame_delta_ms'], () => n('sse_first_frame_delta_ms')! <= 1)),
    openai_rps: check('>= 3x Portkey req/s at every concurrency', perC('openai_route_rps_ratio_vs_portkey').map(n),
      when(perC('openai_route_rps_ratio_vs_portkey'), () => perC('openai_route_rps_ratio_vs_portkey').every((k) => n(k)! >= 3))),
    openai_p99: check('<= 0.5x Portkey p99 at every concurrency', perC('openai_route_p99_ratio_vs_portkey').map(n),
      when(perC('openai_route_p99_ratio_vs_portkey'), () => perC('openai_route_p99_ratio_vs_portkey').every((k) => n(k)! <= 0.5))),
    rss: check('1,000 streams under 200 MB RSS', n('rss_mb_1000_streams'), when(['rss_mb_1000_streams'], () => n('rss_mb_1000_streams')! < 200)),
    history: check('admission p50 with 10M audit rows within 10% of empty', n('admission_p50_ratio_large_vs_empty'),
      when(['admission_p50_ratio_large_vs_empty'], () => n('admission_p50_ratio_large_vs_empty')! <= 1.1)),
    hot_row: check('>= 2,000 admissions/s on one workspace', n('hot_row_admissions_per_s'), when(['hot_row_admissions_per_s'], () => n('hot_row_admissions_per_s')! >= 2000)),
    quota_row: check('same, statements driven directly (the row itself)', n('quota_row_admissions_per_s'),
      when(['quota_row_admissions_per_s'], () => n('quota_row_admissions_per_s')! >= 2000)),
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
  const lines = ['\nIssue 6 targets'];
  for (const [name, t] of Object.entries(targets)) {
    const verdict = t.holds === null ? 'n/a ' : t.holds ? 'HOLDS' : 'MISSES';
    lines.push(`  ${pad(verdict, 7)} ${pad(name, 15)} ${pad(t.target, 50)} ${JSON.stringify(t.value)}`);
  }
  return lines.join('\n');
}

export function formatKeys(keys: Keys, names: string[]): string {
  const lines = ['\nKey figures'];
  for (const name of names) lines.push(`  ${pad(name, 44)} ${JSON.stringify(keys[name] ?? null)}`);
  return lines.join('\n');
}
