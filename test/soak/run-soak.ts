// The load-and-soak driver shared by `npm run soak` (minutes) and the short CI version: a bounded
// number of concurrent clients on loopback start chats (admitted and denied, some reading their stream,
// some leaving early) for a fixed time, while the gateway's RSS and open file descriptors are sampled.
// Afterwards it checks the books: per workspace, SUM(total_tokens) = tokens_used, requests_used = rows,
// nothing left reserved, every chat has its chat_sent and chat_completed audit rows. With a memory budget
// (test/soak/memory-budget.ts), RSS past it is recorded as overBudget: the machine would have been killed.
import { readFileSync, readdirSync } from 'node:fs';
import type { Sql } from '../../src/db/sql.ts';
import { chatBody, postChat } from '../helpers/harness.ts';
import { librechatToken } from '../helpers/jwt.ts';
import { readStream } from '../helpers/metering.ts';
import { seedWorkspace, type SeededWorkspace } from '../helpers/seed.ts';

export interface SoakOptions {
  sql: Sql;
  gatewayUrl: string;
  gatewayPid: number;
  seconds: number;
  concurrency: number;
  /** The gateway's RSS must stay at or below this (MB); passing it sets rssMb.overBudget. */
  rssBudgetMb?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  seconds: number;
  concurrency: number;
  requests: number;
  admitted: number;
  denied: Record<string, number>;
  otherStatuses: Record<string, number>;
  streamsRead: number;
  rssMb: { afterWarmup: number; max: number; end: number; budget: number | null; overBudget: boolean };
  openFds: { start: number; afterWarmup: number; end: number };
  books: { workspaces: number; mismatches: string[]; reserved: number; missingAudit: number; tokensSettled: number };
}

/** A request the gateway has not finished within this is counted as unanswered, and its worker moves on. */
const REQUEST_DEADLINE_MS = 30_000;

/** Resolves with the promise's value, or with `late` when it has not settled within the deadline. */
function withinDeadline<T, L>(promise: Promise<T>, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<L>((resolve) => { timer = setTimeout(() => resolve(late), REQUEST_DEADLINE_MS); });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

/** User + system CPU seconds of a process (/proc/<pid>/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function count(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

async function seedSoakWorkspaces(sql: Sql): Promise<{ ws: SeededWorkspace; token: string }[]> {
  const specs = [
    ...Array.from({ length: 6 }, () => ({ tokensLimit: 50_000_000, requestsLimit: 10_000_000 })),
    { tokensLimit: 5_000, requestsLimit: 10_000_000 }, // runs out of tokens: 429 tokens
    { tokensLimit: 50_000_000, requestsLimit: 40 }, // runs out of requests: 429 requests
    { tokensLimit: 50_000_000, requestsLimit: 10_000_000, models: ['claude-*'] }, // model_not_enabled
    { tokensLimit: 50_000_000, requestsLimit: 10_000_000, role: 'viewer' }, // role_forbidden
  ];
  return Promise.all(specs.map(async (spec) => {
    const ws = await seedWorkspace(sql, spec);
    return { ws, token: await librechatToken(ws.email) };
  }));
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => undefined);
  const targets = await seedSoakWorkspaces(opts.sql);
  const fdStart = openFds(opts.gatewayPid);
  const report: SoakReport = {
    seconds: opts.seconds, concurrency: opts.concurrency, requests: 0, admitted: 0, denied: {}, otherStatuses: {}, streamsRead: 0,
    rssMb: { afterWarmup: 0, max: 0, end: 0, budget: opts.rssBudgetMb ?? null, overBudget: false }, openFds: { start: fdStart, afterWarmup: 0, end: 0 },
    books: { workspaces: targets.length, mismatches: [], reserved: 0, missingAudit: 0, tokensSettled: 0 },
  };
  const started = Date.now();
  const endAt = started + opts.seconds * 1000;
  const warmupAt = started + Math.min(10_000, opts.seconds * 250);
  const sampler = setInterval(() => {
    const rss = rssMb(opts.gatewayPid);
    report.rssMb.max = Math.max(report.rssMb.max, rss);
    if (opts.rssBudgetMb !== undefined && rss > opts.rssBudgetMb) report.rssMb.overBudget = true;
    if (!report.rssMb.afterWarmup && Date.now() >= warmupAt) {
      report.rssMb.afterWarmup = rss;
      report.openFds.afterWarmup = openFds(opts.gatewayPid);
    }
  }, 500);
  let n = 0;
  const worker = async () => {
    while (Date.now() < endAt) {
      const i = n++;
      const target = targets[i % targets.length]!;
      const body = chatBody({ text: `soak ${i}`, __fake: { calls: [{ model: 'gpt-4o', input: 50 + (i % 97), output: 1 + (i % 13) }], deltas: ['a ', 'b ', 'c ', 'd '], frameIntervalMs: 25 } });
      const result = await withinDeadline(postChat(opts.gatewayUrl, { token: target.token, body }).catch(() => undefined), 'late' as const);
      report.requests += 1;
      if (result === 'late') { count(report.otherStatuses, 'chat_unanswered'); continue; }
      if (!result) { count(report.otherStatuses, 'error'); continue; }
      if (result.status === 200) {
        report.admitted += 1;
        if (i % 3 === 0) {
          const stream = readStream(`${opts.gatewayUrl}/api/agents/chat/stream/${String(result.json.streamId)}`, target.token, i % 6 === 0 ? { stopAfterBytes: 300 } : {}).catch(() => undefined);
          if (await withinDeadline(stream, 'late' as const) === 'late') count(report.otherStatuses, 'stream_unanswered');
          report.streamsRead += 1;
        }
      } else if (result.json.error?.code) {
        count(report.denied, result.json.error.code);
      } else {
        count(report.otherStatuses, String(result.status));
      }
    }
  };
  // Each line also gives the interval's rate and the gateway's CPU per request: a cost that grows with the
  // process's age is a leak as much as a growing RSS is.
  let last = { at: started, requests: 0, cpu: cpuSeconds(opts.gatewayPid) };
  const progress = setInterval(() => {
    const now = { at: Date.now(), requests: report.requests, cpu: cpuSeconds(opts.gatewayPid) };
    const served = now.requests - last.requests;
    const rate = Math.round(served / ((now.at - last.at) / 1000));
    const cpuPerRequest = served > 0 ? Math.round(((now.cpu - last.cpu) * 1e6) / served) : '-';
    log(`soak: ${Math.round((now.at - started) / 1000)}s requests=${report.requests} admitted=${report.admitted} req/s=${rate} cpu_us/req=${cpuPerRequest} rss=${rssMb(opts.gatewayPid)}MB fds=${openFds(opts.gatewayPid)}`);
    last = now;
  }, 10_000);
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  clearInterval(progress);
  await waitForNoReserved(opts.sql, 20_000);
  clearInterval(sampler);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  report.rssMb.end = rssMb(opts.gatewayPid);
  if (opts.rssBudgetMb !== undefined && report.rssMb.end > opts.rssBudgetMb) report.rssMb.overBudget = true;
  report.openFds.end = await settledFds(opts.gatewayPid, report.openFds.afterWarmup + FD_SLACK);
  await checkBooks(opts.sql, targets.map((t) => t.ws.workspaceId), report);
  return report;
}

/** Descriptors the gateway may hold beyond its count after warm-up: pooled upstream and client keep-alive sockets. */
const FD_SLACK = 20;

/**
 * The gateway's open descriptors once idle sockets have had time to close (keep-alive sockets of the last
 * seconds' peak close on their own): sampled until at most `bound` or 10 s have passed. A leak stays above.
 */
async function settledFds(pid: number, bound: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  let fds = openFds(pid);
  while (fds > bound && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    fds = openFds(pid);
  }
  return fds;
}

async function waitForNoReserved(sql: Sql, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM chat_usage WHERE status = 'reserved'`;
    if (row!.n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function checkBooks(sql: Sql, workspaceIds: string[], report: SoakReport): Promise<void> {
  const rows = await sql<{ workspace_id: string; tokens_used: number; requests_used: number; settled_tokens: number; usage_rows: number; reserved: number }[]>`
    SELECT q.workspace_id, q.tokens_used, q.requests_used,
           COALESCE((SELECT sum(total_tokens) FROM chat_usage c WHERE c.workspace_id = q.workspace_id), 0)::int AS settled_tokens,
           (SELECT count(*) FROM chat_usage c WHERE c.workspace_id = q.workspace_id AND c.usage_source IS DISTINCT FROM 'not_taken')::int AS usage_rows,
           (SELECT count(*) FROM chat_usage c WHERE c.workspace_id = q.workspace_id AND c.status = 'reserved')::int AS reserved
    FROM workspace_quotas q WHERE q.workspace_id = ANY(${workspaceIds}::uuid[])`;
  for (const row of rows) {
    report.books.reserved += row.reserved;
    report.books.tokensSettled += row.settled_tokens;
    if (row.tokens_used !== row.settled_tokens) report.books.mismatches.push(`${row.workspace_id}: tokens_used ${row.tokens_used} != settled ${row.settled_tokens}`);
    if (row.requests_used !== row.usage_rows) report.books.mismatches.push(`${row.workspace_id}: requests_used ${row.requests_used} != chats ${row.usage_rows}`);
  }
  const [audit] = await sql<{ missing: number }[]>`
    SELECT count(*)::int AS missing FROM chat_usage c
    WHERE c.workspace_id = ANY(${workspaceIds}::uuid[]) AND (
      NOT EXISTS (SELECT 1 FROM audit_logs a WHERE a.tenant_id = c.tenant_id AND a.action = 'chat_sent' AND a.details ->> 'request_id' = c.request_id)
      OR NOT EXISTS (SELECT 1 FROM audit_logs a WHERE a.tenant_id = c.tenant_id AND a.action = 'chat_completed' AND a.details ->> 'request_id' = c.request_id))`;
  report.books.missingAudit = audit!.missing;
}
