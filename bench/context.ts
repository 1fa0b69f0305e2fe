// What every scenario gets (the running services, the seeded identity, the bench's database pool) and
// the shared way to compare contenders: alternating rounds, so drift (thermal, neighbours, GC, a
// growing database) hits every contender alike, with the order rotated each round.
import type { Sql } from '../src/db/sql.ts';
import type { BenchConfig } from './config.ts';
import { runLoad, runPaced, summarise, type LoadOptions, type LoadResult, type LoadSummary } from './load.ts';
import { readCpuSeconds, readCpuSecondsTree, waitUntilIdle } from './processes.ts';
import type { BenchSeed } from './seed.ts';

export interface BenchContext {
  cfg: BenchConfig;
  sql: Sql;
  /** The database as the gateway connects to it (role postgres), for statements driven straight from the bench. */
  databaseUrl: string;
  seed: BenchSeed;
  token: string;
  urls: { direct: string; bare: string; bareUndici: string; gateway: string; portkey: string | null };
  pids: { fake: number; bare: number; bareUndici: number; gateway: number; portkey: number | null };
  /** The PostgreSQL postmaster, whose backends' CPU per request is reported for every run. */
  postgresPid: number;
  /** Replaces the gateway with a fresh process (same database and upstream); updates urls.gateway and pids.gateway. */
  restartGateway(): Promise<void>;
  log(line: string): void;
}

export interface Contender {
  name: string;
  load: Omit<LoadOptions, 'connections' | 'seconds'>;
  /** The process that serves it, whose CPU time per request is reported (direct: the upstream itself). */
  process?: keyof BenchContext['pids'];
}

export type ContenderSummary = LoadSummary & {
  rounds_rps: number[]; cpu_us_per_req: number | null; db_cpu_us_per_req: number | null;
  /** The process's plus PostgreSQL's CPU per request in each round (the spread is the noise). */
  rounds_cpu_us: (number | null)[];
  /** The process's own CPU per request in each round, PostgreSQL left out (a lever on the gateway's own work). */
  rounds_own_cpu_us: (number | null)[];
};

/**
 * Adds `after - before` to an accumulator that turns null once any reading failed. A process tree can
 * lose a child (a PostgreSQL backend closing) between the readings, so a delta is never below 0.
 */
function accumulate(total: number | null | undefined, before: number | null, after: number | null): number | null {
  return total === null || total === undefined || before === null || after === null ? null : total + Math.max(0, after - before);
}

const perRequest = (seconds: number | null | undefined, ok: number) =>
  seconds === null || seconds === undefined || ok === 0 ? null : Math.round((seconds * 1e6) / ok);

/** Headers of an authenticated request for the given workspace. */
export function authHeaders(ctx: BenchContext, workspaceId = ctx.seed.mainWorkspace): Record<string, string> {
  return { authorization: `Bearer ${ctx.token}`, 'x-workspace-id': workspaceId, 'content-type': 'application/json' };
}

/**
 * Runs every contender for `seconds` at `connections`, `rounds` times, rotating the order each round;
 * returns one summary per contender (percentiles over all rounds' samples, requests/s over their time).
 * CPU per request counts from a round's start until its process and PostgreSQL are idle again, so
 * work a round leaves behind (settlement, audit rows, the log write) is charged to it, not the next.
 */
export async function alternate(
  ctx: BenchContext, contenders: Contender[], connections: number, label: string,
): Promise<Record<string, ContenderSummary>> {
  const runs = new Map<string, LoadResult[]>(contenders.map((c) => [c.name, []]));
  const cpu = new Map<string, number | null>(contenders.map((c) => [c.name, c.process ? 0 : null]));
  const dbCpu = new Map<string, number | null>(contenders.map((c) => [c.name, 0]));
  const roundCpu = new Map<string, (number | null)[]>(contenders.map((c) => [c.name, []]));
  const roundOwnCpu = new Map<string, (number | null)[]>(contenders.map((c) => [c.name, []]));
  const served = contenders.flatMap((c) => (c.process && ctx.pids[c.process] ? [ctx.pids[c.process]!] : []));
  await waitUntilIdle(served, [ctx.postgresPid]);
  for (let round = 0; round < ctx.cfg.rounds; round += 1) {
    for (let i = 0; i < contenders.length; i += 1) {
      const contender = contenders[(i + round) % contenders.length]!;
      const pid = contender.process ? ctx.pids[contender.process] : null;
      const before = { own: pid ? readCpuSeconds(pid) : null, db: readCpuSecondsTree(ctx.postgresPid) };
      const options = { ...contender.load, connections, seconds: ctx.cfg.seconds };
      const result = await (options.rate ? runPaced({ ...options, rate: options.rate }) : runLoad(options));
      await waitUntilIdle(pid ? [pid] : [], [ctx.postgresPid]);
      const after = { own: pid ? readCpuSeconds(pid) : null, db: readCpuSecondsTree(ctx.postgresPid) };
      cpu.set(contender.name, accumulate(cpu.get(contender.name), before.own, after.own));
      dbCpu.set(contender.name, accumulate(dbCpu.get(contender.name), before.db, after.db));
      roundCpu.get(contender.name)!.push(perRequest(accumulate(accumulate(0, before.own, after.own), before.db, after.db), result.ok));
      roundOwnCpu.get(contender.name)!.push(perRequest(accumulate(0, before.own, after.own), result.ok));
      runs.get(contender.name)!.push(result);
      const rps = result.ok / result.durationS;
      const bad = result.failed + result.errors;
      ctx.log(`  ${label} c=${connections} round ${round + 1} ${contender.name}: ${rps.toFixed(0)} req/s${bad ? `, ${bad} failed ${JSON.stringify(result.statuses)}` : ''}`);
    }
  }
  const out: Record<string, ContenderSummary> = {};
  for (const [name, results] of runs) {
    const summary = summarise(results);
    out[name] = {
      ...summary,
      rounds_rps: results.map((r) => Math.round(r.ok / r.durationS)),
      cpu_us_per_req: perRequest(cpu.get(name), summary.ok),
      db_cpu_us_per_req: perRequest(dbCpu.get(name), summary.ok),
      rounds_cpu_us: roundCpu.get(name)!,
      rounds_own_cpu_us: roundOwnCpu.get(name)!,
    };
  }
  return out;
}

/** A short unmeasured run of each contender: opens connections, warms the JIT and the pools. */
export async function warmUp(ctx: BenchContext, contenders: Contender[], connections: number): Promise<void> {
  for (const contender of contenders) {
    if (contender.load.rate) continue; // the saturating warm-up of its closed-loop twin is enough
    await runLoad({ ...contender.load, connections, seconds: ctx.cfg.warmupSeconds });
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until no admitted chat is left unsettled, or the number of open holds has not moved for 3 s
 * (holds the gateway will never settle itself: the sweeper closes them after RESERVATION_TTL), or the
 * timeout passes. Returns how many are still open.
 */
export async function waitForSettlement(ctx: BenchContext, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const [row] = await ctx.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM chat_usage WHERE status = 'reserved'`;
    const open = row?.n ?? 0;
    if (open !== last) {
      last = open;
      stableSince = Date.now();
    }
    if (open === 0 || Date.now() > deadline || Date.now() - stableSince > 3_000) return open;
    await sleep(200);
  }
}

/** The open holds by endpoint (for a report of holds the gateway left unsettled). */
export async function unsettledByEndpoint(ctx: BenchContext): Promise<Record<string, number>> {
  const rows = await ctx.sql<{ endpoint: string | null; n: number }[]>`
    SELECT endpoint, count(*)::int AS n FROM chat_usage WHERE status = 'reserved' GROUP BY endpoint`;
  return Object.fromEntries(rows.map((r) => [r.endpoint ?? 'null', r.n]));
}
